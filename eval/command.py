"""The `notecoder eval` command: load the gold set, score, store the run, write the report,
and apply the regression gate."""

from __future__ import annotations

import sys
from pathlib import Path

from notecoder.config import get_settings
from notecoder.errors import EXIT_OK, EXIT_REGRESSION, InputNotFound, NotecoderError
from notecoder.schema import Setting


def run_eval_command(args) -> int:
    """`notecoder eval`: check, score, store, report and gate one evaluation run."""
    import subprocess

    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress
    from rich.table import Table

    from eval.gate import regressions
    from eval.gold import dataset_hash, load_dataset
    from eval.history import last_run, list_runs, load_baseline_file, record_run
    from eval.run import EvalTotals, evaluate_note, metrics_document, write_outputs

    if getattr(args, "corpus", None):
        return run_corpus_command(Path(args.corpus), args.extractor, Path(args.out))
    db = get_settings().resolved_database_url()
    if args.history:
        return print_history(list_runs(db))
    split = None if args.split == "all" else args.split
    every = load_dataset(Path(args.dataset), split)
    notes = every[:getattr(args, "first", None)]
    # A run on part of a split is stored under its own name (never a full run's baseline).
    split_name = args.split if len(notes) == len(every) else f"{args.split}[:{len(notes)}]"
    if args.check:
        print(f"{len(notes)} gold note(s) valid: schema and every evidence span checked.")
        return EXIT_OK
    if not notes:
        raise NotecoderError(f"No gold notes in split '{args.split}' under {args.dataset}.")
    prompt_version = model = None
    if args.extractor != "rules":
        from extractor.llm.prompt import PROMPT_VERSION
        from notecoder.pipeline import llm_extractor

        prompt_version, model = PROMPT_VERSION, llm_extractor().client.model
    totals, diffs = EvalTotals(), []
    err = Console(stderr=True)
    setting = Setting(args.setting) if args.setting else None
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("evaluating", total=len(notes))
        for gold in notes:
            diffs.append(evaluate_note(gold, args.extractor, setting, totals))
            progress.advance(task)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip() or "unknown"
    meta = {"split": split_name, "extractor": args.extractor, "dataset_hash":
            dataset_hash(notes), "git_commit": commit, "prompt_version": prompt_version,
            "model": model}
    document = metrics_document(totals, len(notes), meta)
    baseline = None
    if args.baseline == "last":
        previous = last_run(db, split_name, args.extractor)
        baseline = previous["headline"] if previous else None
    elif args.baseline:
        if not Path(args.baseline).is_file():
            raise InputNotFound(f"No baseline metrics file at '{args.baseline}'.")
        baseline = load_baseline_file(Path(args.baseline))
    write_outputs(Path(args.out), document, diffs)
    import datetime as dt

    run_id = record_run(db, meta, document["headline"], dt.datetime.now(dt.UTC),
                        document.get("llm"))
    from eval.report_html import render_report

    same_split = [r for r in list_runs(db, limit=50) if r["split"] == split_name]
    report = Path(args.out) / "report.html"
    report.write_text(render_report(document, diffs, same_split), encoding="utf-8")
    table = Table(title=f"notecoder eval - {split_name} split, {len(notes)} notes")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in document["headline"].items():
        table.add_row(escape(key), f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)
    print(f"attribution of code errors: {document['attribution']}; "
          f"written to {args.out}/ (metrics.json, diffs.jsonl, report.html); "
          f"stored as run {run_id}")
    if document.get("llm"):
        cost = document["llm"]
        print(f"LLM reader: {cost['calls_per_note']} calls, {cost['prompt_tokens_per_note']} "
              f"prompt + {cost['completion_tokens_per_note']} answer tokens, "
              f"{cost['seconds_per_note']} s per note ({cost['cache_hits']} cache hits); "
              f"dropped facts {cost['dropped_facts']}; fields left out "
              f"{cost['dropped_fields']}")
    if args.baseline and baseline is None:
        print("no stored run to compare with yet; this run is the first baseline.")
    if baseline is not None:
        dropped = regressions(document["headline"], baseline, args.tolerance)
        if dropped:
            print(f"REGRESSION beyond tolerance {args.tolerance}:", file=sys.stderr)
            for line in dropped:
                print(f"  {line}", file=sys.stderr)
            return EXIT_REGRESSION
        print(f"no headline metric dropped by more than {args.tolerance}.")
    return EXIT_OK


def print_history(runs: list[dict]) -> int:
    """The stored runs as a table, newest first."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="evaluation runs (newest first)")
    for column in ("run", "when (UTC)", "commit", "split", "extractor", "dataset", "code F1",
                   "claim exact", "LLM calls/note", "tokens in/out per note", "s/note"):
        table.add_column(column)
    for run in runs:
        head, cost = run["headline"], run.get("llm") or {}
        table.add_row(str(run["id"]), f"{run['created_at']:%Y-%m-%d %H:%M}", run["git_commit"],
                      run["split"], run["extractor"], run["dataset_hash"],
                      f"{head.get('code_f1', 0):.3f}", f"{head.get('claim_exact_match', 0):.3f}",
                      *(_cost_cells(cost) if cost else ("-", "-", "-")))
    Console().print(table)
    return EXIT_OK


def _cost_cells(cost: dict) -> tuple[str, str, str]:
    """The LLM reader's cost of a run, as history table cells."""
    return (f"{cost.get('calls_per_note', 0):g}",
            f"{cost.get('prompt_tokens_per_note', 0):,.0f} / "
            f"{cost.get('completion_tokens_per_note', 0):,.0f}",
            f"{cost.get('seconds_per_note', 0):.2f}")


def run_corpus_command(path: Path, extractor: str, out_dir: Path) -> int:
    """`notecoder eval --corpus FILE`: score a claim-level corpus written outside the project;
    print the summary and write one line per case (expected, got, wrong bills)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from eval.corpus import load_corpus, score_case, summarise

    if not path.is_file():
        raise InputNotFound(f"No corpus file at '{path}'.")
    results = [score_case(case, extractor) for case in load_corpus(path)]
    summary = summarise(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "corpus-cases.jsonl").open("w", encoding="utf-8") as handle:
        for r in results:
            handle.write(json.dumps({
                "id": r.case.id, "claim_exact": bool(r.score.claim_exact.correct),
                "over_billed": r.score.over_billed.examples, "error": r.error,
                "expected": sorted(f"{c.code}x{c.units}{''.join('-' + m for m in c.modifiers)}"
                                   for c in r.case.codes),
                "got": sorted(f"{c.code}x{c.units}{''.join('-' + m for m in c.modifiers)}"
                              for c in r.got)}) + "\n")
    (out_dir / "corpus-metrics.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    table = Table(title=f"notecoder eval - corpus {path.name}, {summary['cases']} cases")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        table.add_row(name, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)
    print(f"written to {out_dir}/ (corpus-metrics.json, corpus-cases.jsonl)", file=sys.stderr)
    return EXIT_OK
