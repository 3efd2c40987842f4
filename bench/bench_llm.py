"""LLM path figures: calls per note, prompt and answer tokens per call, cache hit rate,
latency per call.

    python bench/bench_llm.py                       # on the recorded cassettes (offline)
    python bench/bench_llm.py --live NOTES_DIR      # against NOTECODER_LLM_BASE_URL

Offline, every note of each cassette is extracted twice through the real client with a
fresh cache: the first pass counts HTTP calls per note (replayed), the second pass
must make none (cache hit rate). Latency per call on the recorded server comes from the
wall time measured while recording (the cassette's .meta.json) divided by the calls
the cassette holds for that note. `--live` measures the same against a running server.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASSETTES = ROOT / "tests" / "cassettes"


def _notes_in(cassette: Path) -> tuple[list[str], int, dict[str, list[int]]]:
    """The distinct note texts the cassette's requests carried, in recorded order, the
    number of requests it holds (re-asks included), and per request the prompt and answer
    tokens the server counted and the answer limit sent."""
    import yaml

    from extractor.llm.replay import note_sent
    from extractor.llm.tokens import estimate_tokens

    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    seen: list[str] = []
    tokens: dict[str, list] = {"prompt": [], "answer": [], "limit": [], "cached": [],
                               "estimate_ratio": []}
    for item in data["interactions"]:
        note = note_sent(item["request"]["body"])
        if note not in seen:
            seen.append(note)
        body = json.loads(item["request"]["body"])
        usage = json.loads(item["response"]["body"]["string"]).get("usage") or {}
        prompt = int(usage.get("prompt_tokens") or 0)
        tokens["prompt"].append(prompt)
        tokens["answer"].append(int(usage.get("completion_tokens") or 0))
        tokens["limit"].append(int(body.get("max_tokens") or 0))
        # Prompt tokens the server reused from its cache (the shared instructions and
        # covering examples at the head of each prompt).
        tokens["cached"].append(int((usage.get("prompt_tokens_details") or {})
                                    .get("cached_tokens") or 0))
        if prompt:
            tokens["estimate_ratio"].append(request_estimate(body, estimate_tokens) / prompt)
    return seen, len(data["interactions"]), tokens


def request_estimate(body: dict, estimate_tokens) -> int:
    """Estimated prompt tokens of one request: every message's text and, in tools mode,
    the examples' tool-call arguments (message text alone counted 0.64 x the server's
    figure on the recorded tools-mode prompts: the examples' answers are in the calls).
    The tool definitions are left out: whether the server renders them into the prompt is
    its chat template's choice (the recorded chatml-tools template does not)."""
    total = 0
    for message in body["messages"]:
        total += estimate_tokens(message.get("content") or "")
        for call in message.get("tool_calls") or []:
            total += estimate_tokens(call.get("function", {}).get("arguments") or "")
    return total


def _two_passes(notes: list[str], settings, run) -> dict:
    from notecoder.errors import NotecoderError
    from notecoder.pipeline import extract_note, llm_extractor, reset_llm, use_llm_settings

    use_llm_settings(settings)
    results = {}
    for name in ("first", "second"):
        before = llm_extractor().client.requests
        hits_before = llm_extractor().cache.hits if llm_extractor().cache else 0
        failed, start = 0, time.perf_counter()
        with run():
            for text in notes:
                try:
                    extract_note(text, "llm")
                except NotecoderError:
                    failed += 1
        hits = (llm_extractor().cache.hits if llm_extractor().cache else 0) - hits_before
        results[name] = {"calls": llm_extractor().client.requests - before, "failed": failed,
                         "seconds": time.perf_counter() - start, "hit_rate": hits / len(notes)}
    reset_llm()
    return results


def offline() -> None:
    from extractor.llm.replay import replay_settings, replaying
    from notecoder.config import Settings

    per_call: list[float] = []
    for cassette in sorted(CASSETTES.glob("*.yaml")):
        meta = json.loads(cassette.with_suffix(".meta.json").read_text(encoding="utf-8"))
        notes, recorded_calls, tokens = _notes_in(cassette)
        with tempfile.TemporaryDirectory() as tmp:
            settings = replay_settings(cassette, Settings(data_dir=Path(tmp))).model_copy(
                update={"llm_cache": True, "llm_cache_path": Path(tmp) / "cache.sqlite"})
            got = _two_passes(notes, settings, lambda c=cassette: replaying(c))
        recorded = sum(v["seconds"] for v in meta["notes"].values())
        calls = got["first"]["calls"]
        per_call.append(recorded / recorded_calls)
        recorded_notes = len(meta["notes"])
        print(f"{cassette.stem:16s} {recorded_notes:3d} note(s), {recorded_calls} recorded calls = "
              f"{recorded_calls / recorded_notes:.2f} calls/note, {recorded:.0f} s live = "
              f"{recorded / recorded_calls:.1f} s/call | replay of {len(notes)} request "
              f"text(s): {calls} calls, {got['first']['failed']} failed, "
              f"{got['first']['seconds']:.2f} s; again: {got['second']['calls']} calls, "
              f"cache hit rate {got['second']['hit_rate']:.2f}")
        ratio = tokens["estimate_ratio"] or [0.0]
        print(f"{'':16s} prompt tokens/call median {statistics.median(tokens['prompt']):.0f} "
              f"(mean {statistics.mean(tokens['prompt']):.0f}; reused from the server's "
              f"prompt cache median {statistics.median(tokens['cached']):.0f}), answer "
              f"tokens/call median {statistics.median(tokens['answer']):.0f}, answer limit "
              f"sent median {statistics.median(tokens['limit']):.0f}; estimated/counted "
              f"prompt tokens {min(ratio):.2f}-{max(ratio):.2f} (mode "
              f"{meta['settings']['llm_mode']}, model {meta['settings']['llm_model']})")
        print(f"{'':16s} recorded on {meta['server']}")
    if per_call:
        print(f"latency per call on the recorded server: median over cassettes "
              f"{statistics.median(per_call):.1f} s")


def live(notes_dir: Path) -> None:
    from contextlib import nullcontext

    from notecoder.config import Settings

    notes = [p.read_text(encoding="utf-8") for p in sorted(notes_dir.glob("*.txt"))]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings().model_copy(update={
            "llm_cache": True, "llm_cache_path": Path(tmp) / "cache.sqlite"})
        got = _two_passes(notes, settings, nullcontext)
    calls = got["first"]["calls"]
    print(f"live {settings.llm_base_url} model {settings.llm_model}: {len(notes)} notes, "
          f"{calls} calls = {calls / max(1, len(notes)):.2f} calls/note, "
          f"{got['first']['seconds'] / max(1, calls):.1f} s/call, "
          f"{got['first']['failed']} failed; second pass {got['second']['calls']} calls, "
          f"cache hit rate {got['second']['hit_rate']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", metavar="NOTES_DIR", type=Path,
                        help="measure against the configured server instead of cassettes")
    args = parser.parse_args()
    if args.live:
        live(args.live)
    else:
        offline()


if __name__ == "__main__":
    main()
