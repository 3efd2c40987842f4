"""Re-record the LLM cassettes from a real OpenAI-compatible server (see docs/llm.md).

    NOTECODER_LLM_BASE_URL=http://127.0.0.1:8765/v1 NOTECODER_LLM_MODEL=... \\
    NOTECODER_LLM_MODE=json_object_schema .venv/bin/python tests/cassettes/record.py \\
        --server "llama-cpp-python 0.3.x server" --provenance "..."

Each cassette is written fresh with its .meta.json (settings, server, model provenance,
date). The traffic is real: nothing here writes a response by hand. A note whose call
fails is recorded as it failed (the replay then shows the same error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from eval.gold import load_dataset
from extractor.llm.prompt import PROMPT_VERSION
from extractor.llm.replay import meta_path, recorded_settings, recording
from notecoder.config import Settings
from notecoder.errors import NotecoderError
from notecoder.pipeline import extract_note, reset_llm, use_llm_settings
from tests.llm_notes import (
    CASSETTES,
    EXAMPLES,
    INJECTION_NOTES,
    LONG_NOTE,
    LONG_NOTE_CHUNK_TOKENS,
    MODE_NOTES,
    ROOT,
)


def record(name: str, notes: list[tuple[str, str]], settings: Settings, about: dict,
           append: bool = False) -> None:
    """Record `notes` into cassette `name` (fresh, or with `append` added to what it holds:
    the same settings, the earlier notes' outcomes kept in its .meta.json)."""
    cassette = CASSETTES / f"{name}.yaml"
    earlier: dict = {}
    if append and meta_path(cassette).is_file():
        earlier = json.loads(meta_path(cassette).read_text(encoding="utf-8"))
        if earlier["settings"] != recorded_settings(settings):
            raise SystemExit(f"{name}: --append with other settings than it was recorded with")
    use_llm_settings(settings)
    outcomes = dict(earlier.get("notes", {}))
    started = time.perf_counter()
    stopped = False
    with recording(cassette, append=append):
        try:
            for label, text in notes:
                t0 = time.perf_counter()
                try:
                    facts, warnings = extract_note(text, "llm")
                    outcomes[label] = {"facts": len(facts.facts()), "dropped": len(warnings),
                                       "seconds": round(time.perf_counter() - t0, 2)}
                except NotecoderError as exc:
                    outcomes[label] = {"error": type(exc).__name__,
                                       "seconds": round(time.perf_counter() - t0, 2)}
                print(f"{name}: {label}: {outcomes[label]}", flush=True)
        except KeyboardInterrupt:  # Ctrl-C (SIGINT) keeps the notes recorded so far
            stopped = True
    reset_llm()
    meta = {"settings": recorded_settings(settings), "prompt_version": PROMPT_VERSION,
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started + earlier.get("seconds", 0), 1),
            "notes": outcomes,
            **({"stopped_after": len(outcomes)} if stopped else {}), **about}
    meta_path(cassette).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the server software and version")
    parser.add_argument("--provenance", required=True,
                        help="the model: name, size, licence, where it came from")
    parser.add_argument("--only", nargs="*", help="cassette names to record (default: all)")
    parser.add_argument("--limit", type=int,
                        help="record the eval-test notes only up to this many (in id order)")
    parser.add_argument("--prefix", default="",
                        help="before each cassette's name: another model's set (gemma-)")
    parser.add_argument("--start", type=int, default=0,
                        help="skip each cassette's first notes, up to this many (with "
                             "--append: go on after a stopped recording)")
    parser.add_argument("--append", action="store_true",
                        help="add to the cassettes instead of writing them fresh")
    args = parser.parse_args()
    base = Settings().model_copy(update={"llm_cache": False})
    if not base.llm_base_url or not base.llm_model:
        print("set NOTECODER_LLM_BASE_URL and NOTECODER_LLM_MODEL first", file=sys.stderr)
        return 2
    about = {"server": args.server, "model_provenance": args.provenance}
    gold = load_dataset(ROOT / "datasets" / "gold", "test")
    jobs = {
        "examples": ([(p.name, p.read_text(encoding="utf-8")) for p in EXAMPLES], base),
        "injection": (list(INJECTION_NOTES.items()), base),
        "long-note": ([("long_note", LONG_NOTE)], base.model_copy(update={
            "llm_chunk_tokens": LONG_NOTE_CHUNK_TOKENS})),
        "eval-test": ([(g.note.id, g.note.text) for g in gold][:args.limit], base),
        # The other structured-output modes, on a few short notes (slow to record).
        "modes-json-schema-strict": (MODE_NOTES, base.model_copy(update={
            "llm_mode": "json_schema", "llm_strict": True})),
        "modes-tools": (MODE_NOTES, base.model_copy(update={"llm_mode": "tools"})),
    }
    for name, (notes, settings) in jobs.items():
        if args.only and name not in args.only:
            continue
        record(args.prefix + name, notes[args.start:], settings, about, args.append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
