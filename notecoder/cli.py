"""`notecoder` command line: code, extract, profiles.

Exit status: 0 success; 1 a batch finished but some notes failed; 2 bad input or
usage (one sentence on stderr); 3 the LLM endpoint failed for the note; 4 an evaluation
regressed past its baseline; 70 an internal error (no traceback unless
NOTECODER_LOG_LEVEL=DEBUG).
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import sys
from pathlib import Path

from notecoder.config import get_settings
from notecoder.errors import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_LLM,
    EXIT_OK,
    EXIT_PARTIAL,
    InputNotFound,
    InputUnreadable,
    LLMError,
    NotecoderError,
    NoteTooLarge,
)
from notecoder.notes import NOTE_SUFFIXES, decode_note, is_note_name, too_large_message
from notecoder.schema import CodingResult, Setting

log = logging.getLogger("notecoder")
EXTRACTOR_NAMES = ["rules", "llm", "both"]  # notecoder.pipeline.EXTRACTORS, without importing it
SKIPPED_SHOWN = 5  # skipped files named on stderr; the rest counted



class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one sentence, usage on request only
        self.exit(EXIT_INPUT, f"error: {message} (see `notecoder --help`).\n")


def build_parser() -> argparse.ArgumentParser:
    settings = get_settings()
    parser = _Parser(prog="notecoder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    code = sub.add_parser("code", help="Code notes: codes, units, modifiers, evidence, queries.")
    code.add_argument("inputs", nargs="*", metavar="PATH|DIR|GLOB|-",
                      help="note file(s), a directory or a glob (its .txt files; other "
                           "files are skipped and named on stderr), or - for stdin")
    code.add_argument("--facts", metavar="FACTS.json",
                      help="run the engine alone on a facts file (schema version 1)")
    code.add_argument("--json", action="store_true",
                      help="print the JSON contract (JSON Lines for several notes)")
    code.add_argument("--out", metavar="FILE.jsonl",
                      help="batch: append each note's JSON line here as it finishes; notes "
                           "already coded in the file are skipped (a killed batch resumes)")
    _common(code, settings)

    extract = sub.add_parser("extract", help="Print the extracted facts as JSON.")
    extract.add_argument("inputs", nargs=1, metavar="PATH|-")
    extract.add_argument("--extractor", default=settings.extractor, choices=EXTRACTOR_NAMES)
    _replay(extract)

    sub.add_parser("profiles", help="List policy profiles and what each changes.")

    ev = sub.add_parser("eval", help="Score extraction and codes against the gold dataset.")
    ev.add_argument("--dataset", default="datasets/gold", help="gold dataset directory")
    ev.add_argument("--split", choices=["dev", "test", "all"], default="test")
    ev.add_argument("--extractor", default=settings.extractor, choices=EXTRACTOR_NAMES)
    ev.add_argument("--setting", choices=[s.value for s in Setting], default=None,
                    help="override each note's own setting")
    ev.add_argument("--out", default="eval-out", help="directory for metrics.json, diffs.jsonl")
    ev.add_argument("--check", action="store_true",
                    help="only validate the gold files (schema and spans)")
    ev.add_argument("--baseline", metavar="FILE|last",
                    help="fail (exit 4) when a headline metric drops versus this metrics.json "
                         "or the last stored run")
    ev.add_argument("--tolerance", type=float, default=0.01,
                    help="allowed absolute drop per headline metric (default 0.01)")
    ev.add_argument("--history", action="store_true", help="list stored evaluation runs")
    ev.add_argument("--first", type=int, metavar="N",
                    help="score only the first N notes of the split in id order (a replay "
                         "cassette recorded on part of a split)")
    ev.add_argument("--corpus", metavar="FILE",
                    help="score a claim-level JSONL corpus (shared/corpus format) instead")
    _replay(ev)

    serve = sub.add_parser("serve", help="Run the review web app (coder queue, CDI inbox).")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--processes", type=int, default=1,
                       help="web server processes (uvicorn workers); use about one per core")
    serve.add_argument("--with-worker", action="store_true",
                       help="also run a coding worker in this process (single-machine set-up)")

    worker = sub.add_parser("worker", help="Run a coding worker for the review queue.")
    worker.add_argument("--id", default=None,
                        help="stable worker id (default: host name); a worker restarted with "
                             "the same id resumes that worker's unfinished jobs")
    worker.add_argument("--concurrency", type=int, default=2)

    user = sub.add_parser("user", help="Manage review app users.")
    user_sub = user.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    user_add = user_sub.add_parser("add", help="Create a user (asks for the password).")
    user_add.add_argument("username")
    user_add.add_argument("--role", required=True, choices=["coder", "cdi", "admin"])
    _password_stdin(user_add)
    user_sub.add_parser("list", help="List users: id, name, role, active.")
    for name, what in (("disable", "Disable a user: no login, their sessions end."),
                       ("enable", "Enable a disabled user (clears their login backoff).")):
        user_sub.add_parser(name, help=what).add_argument("username")
    reset = user_sub.add_parser("reset-password",
                                help="Set a new password (asks for it); the user's sessions "
                                     "end and their login backoff is cleared.")
    reset.add_argument("username")
    _password_stdin(reset)

    db = sub.add_parser("db", help="Database maintenance.")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser("upgrade", help="Apply database migrations (also done by serve/worker).")

    data = sub.add_parser("data", help="Reference data: refresh the HCPCS drug table.")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    hcpcs = data_sub.add_parser("import-hcpcs",
                                help="Rebuild drug codes from a CMS HCPCS file (or check "
                                     "them against a CMS ASP pricing file).")
    hcpcs.add_argument("file", metavar="FILE",
                       help="the CMS quarterly HCPCS alpha-numeric file (zip or fixed-width "
                            "txt), or an ASP pricing file (CSV)")
    return parser


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input instead of asking")


def _common(parser: argparse.ArgumentParser, settings) -> None:
    parser.add_argument("--setting", choices=[s.value for s in Setting],
                        default=settings.setting.value, help="claim type (default: facility)")
    parser.add_argument("--profile", default=settings.profile,
                        help="policy profile (default: official CPT/CMS)")
    parser.add_argument("--extractor", default=settings.extractor, choices=EXTRACTOR_NAMES,
                        help="fact extractor: rules (default, offline), llm, or both "
                             "(rules coded, LLM disagreements as warnings)")
    _replay(parser)


def _replay(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replay", metavar="CASSETTE.yaml",
                        help="answer LLM requests from recorded traffic (offline; see docs/llm.md)")


def _read_input(source: str) -> str:
    max_bytes = get_settings().max_note_bytes
    if source == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        size = len(data) + _count_rest(sys.stdin.buffer) if len(data) > max_bytes else None
        return decode_note(data, max_bytes, size)
    path = Path(source)
    if not path.is_file():
        raise InputNotFound(f"No note file at '{source}'.")
    try:
        size = path.stat().st_size
        if size > max_bytes:  # the real size, read no further
            raise NoteTooLarge(too_large_message(size, max_bytes))
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise InputUnreadable(f"Cannot read the note file '{source}' ({reason}).") from None
    return decode_note(data, max_bytes)


def _count_rest(stream, limit: int = 1 << 30) -> int:
    """Bytes left on a stream (up to `limit`), to report an oversized note's real size."""
    total = 0
    while total < limit and (chunk := stream.read(1 << 20)):
        total += len(chunk)
    return total


def _expand(inputs: list[str]) -> tuple[list[str], bool]:
    """Paths to code, and whether this is a batch (directory, glob or several paths).

    In a directory or a glob only note files (`NOTE_SUFFIXES`) are coded; the others
    (README.md, gold .json files) are skipped and named on stderr. A file named on the
    command line is coded whatever its name."""
    if len(inputs) == 1 and inputs[0] == "-":
        return inputs, False
    paths: list[str] = []
    skipped: list[str] = []
    batch = len(inputs) > 1
    for item in inputs:
        path = Path(item)
        if path.is_dir() or any(ch in item for ch in "*?["):
            batch = True
            found = _directory_files(path) if path.is_dir() else _glob_files(item)
            paths += [p for p in found if is_note_name(p)]
            skipped += [p for p in found if not is_note_name(p)]
        else:
            paths.append(item)
    if skipped:
        _say_skipped(skipped)
    if not paths:
        kind = f"No note files ({', '.join(NOTE_SUFFIXES)})" if skipped else "No note files"
        raise InputNotFound(f"{kind} found at {', '.join(inputs)}.")
    return paths, batch


def _directory_files(path: Path) -> list[str]:
    """Every file below a directory, hidden ones left out, sorted."""
    return sorted(str(p) for p in path.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.parts))


def _glob_files(pattern: str) -> list[str]:
    return sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).is_file())


def _say_skipped(skipped: list[str]) -> None:
    """One line on stderr naming (the first few of) the files that are not notes."""
    names = ", ".join(Path(p).name for p in skipped[:SKIPPED_SHOWN])
    more = f" and {len(skipped) - SKIPPED_SHOWN} more" if len(skipped) > SKIPPED_SHOWN else ""
    print(f"notecoder: skipped {len(skipped)} file(s) that are not note files "
          f"({', '.join(NOTE_SUFFIXES)}): {names}{more}.", file=sys.stderr)


def _code_one(source: str, args) -> CodingResult:
    from notecoder.pipeline import code_note

    return code_note(_read_input(source), Setting(args.setting), args.profile, args.extractor)


def _run_code(args) -> int:
    from notecoder.pipeline import code_extraction, load_facts

    if args.facts:
        if args.inputs:
            raise NotecoderError("Give either note paths or --facts, not both.")
        path = Path(args.facts)
        if not path.is_file():
            raise InputNotFound(f"No facts file at '{args.facts}'.")
        facts = load_facts(path.read_text(encoding="utf-8", errors="replace"))
        result = code_extraction(facts, Setting(args.setting), args.profile)
        _emit(result, args.json, None)
        return EXIT_OK
    if not args.inputs:
        raise NotecoderError("Give a note path, a directory, a glob, or - for stdin.")
    paths, batch = _expand(args.inputs)
    if not batch:
        from notecoder.pipeline import code_note

        text = _read_input(paths[0])  # read once: stdin cannot be read twice
        result = code_note(text, Setting(args.setting), args.profile, args.extractor)
        _emit(result, args.json, text)
        return EXIT_OK
    return _run_batch(paths, args)


def _resume(out: Path) -> set[str]:
    """Sources already coded in an output file. The file is rewritten with only its
    complete, successful lines: a line cut short by a kill, or a note that failed, is
    dropped here and coded again."""
    done: set[str] = set()
    if not out.is_file():
        return done
    kept: list[str] = []
    for raw in out.read_text(encoding="utf-8").splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict) and "source" in line and "error" not in line \
                and line["source"] not in done:
            done.add(line["source"])
            kept.append(raw)
    partial = out.with_name(out.name + ".partial")
    partial.write_text("".join(f"{raw}\n" for raw in kept), encoding="utf-8")
    partial.replace(out)
    return done


def _code_line(source: str, args) -> dict:
    """One note's JSON line: its result, or its error (one broken note never stops a batch)."""
    try:
        return {"source": source, **_code_one(source, args).model_dump(mode="json")}
    except NotecoderError as exc:
        return {"source": source, "error": str(exc)}
    except Exception as exc:
        log.debug("internal error on a note", exc_info=True)
        return {"source": source, "error": f"internal error ({type(exc).__name__})."}


def _run_batch(paths: list[str], args) -> int:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from rich.console import Console
    from rich.progress import Progress

    from engine import load_profile

    load_profile(args.profile)  # a bad profile is a usage error, not one per note
    if args.extractor != "rules":
        from notecoder.pipeline import llm_extractor

        llm_extractor()  # no endpoint configured is one usage error, not one per note
    out = Path(args.out) if args.out else None
    done = _resume(out) if out else set()
    todo = [p for p in paths if p not in done]
    err = Console(stderr=True)
    if done:
        err.print(f"{len(paths) - len(todo)} note(s) already coded in {out}; skipped.",
                  highlight=False)
    # LLM calls wait on the network: several notes in flight; the offline path is CPU-bound.
    workers = get_settings().llm_concurrency if args.extractor != "rules" else 1
    failed = 0
    sink = out.open("a", encoding="utf-8") if out else None
    stdout = sys.stdout  # taken before the progress display: JSON lines go here, always
    try:
        # The display draws on stderr and must not capture stdout (rich's default when
        # stderr is a terminal), or `code DIR --json > out.jsonl` writes nothing.
        with Progress(console=err, transient=True, redirect_stdout=False,
                      redirect_stderr=False) as progress, \
                ThreadPoolExecutor(max_workers=workers) as pool:
            task = progress.add_task("coding notes", total=len(todo))
            futures = [pool.submit(_code_line, source, args) for source in todo]
            for future in as_completed(futures):
                line = future.result()
                failed += "error" in line
                if sink is not None:
                    sink.write(json.dumps(line) + "\n")
                    sink.flush()
                if args.json:
                    stdout.write(json.dumps(line) + "\n")
                    stdout.flush()
                elif sink is None:
                    _print_summary(line, stdout)
                progress.advance(task)
    finally:
        if sink is not None:
            sink.close()
    if failed:
        err.print(f"{failed} of {len(todo)} note(s) could not be coded.", highlight=False)
    return EXIT_PARTIAL if failed else EXIT_OK


def _print_summary(line: dict, stdout=None) -> None:
    """One note's codes on one line (batch without --json)."""
    if "error" in line:
        print(f"{line['source']}: error: {line['error']}", file=stdout)
        return
    codes = ", ".join(
        c["code"] + ("-" + "-".join(c["modifiers"]) if c["modifiers"] else "")
        + (f" x{c['units']}" if c["units"] and c["system"] != "ICD-10-CM" else "")
        for c in line["codes"]
    )
    print(f"{line['source']}: {codes or 'no codes'}; {len(line['queries'])} query(ies)",
          file=stdout)


def _emit(result: CodingResult, as_json: bool, text: str | None) -> None:
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    from notecoder.report import print_result

    print_result(result, text)


def _run_extract(args) -> int:
    from notecoder.pipeline import extract_note

    facts, warnings = extract_note(_read_input(args.inputs[0]), args.extractor)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    sys.stdout.write(facts.model_dump_json(indent=2) + "\n")
    return EXIT_OK


def _run_profiles(_args) -> int:
    from engine import load_profile, profile_names

    for name in profile_names():
        profile = load_profile(name)
        changes = profile.differences()
        print(f"{name}: {profile.description}")
        for key, value in changes.items():
            print(f"    {key} = {json.dumps(value)}")
        if not changes:
            print("    (official CPT/CMS values)")
    return EXIT_OK


def _run_eval(args) -> int:
    from eval.command import run_eval_command

    return run_eval_command(args)


def _run_data(args) -> int:
    from engine.tables import drug_codes
    from notecoder.hcpcs_import import import_reference_file

    report = import_reference_file(Path(args.file), get_settings().data_dir)
    drug_codes.cache_clear()
    if report.release:
        print(f"rebuilt from {report.release}: {report.codes} drug code(s); of the previous "
              f"table {report.confirmed} row(s) unchanged, {report.changed} with a new billing "
              f"unit, {report.missing} no longer active.")
    else:
        print(f"checked against {Path(args.file).name}: {report.confirmed} row(s) confirmed, "
              f"{report.changed} updated, {report.missing} not in the file, "
              f"{report.unparsed} file row(s) with an unreadable dosage.")
    print(f"table written to {report.written_to} (used from now on; delete it to return to "
          "the bundled table).")
    return EXIT_OK


def _prepare_to_serve(settings) -> None:
    """Private files, migrated and writable database: or one sentence and exit 2."""
    from review.startup import prepare_database

    os.umask(0o077)  # whatever this process creates (SQLite's -wal, -shm) stays private
    for notice in prepare_database(settings):
        print(f"warning: {notice}", file=sys.stderr)


def _run_serve(args) -> int:
    import threading

    import uvicorn

    from notecoder.log_privacy import install_phi_filter, uvicorn_log_config
    from review.app import create_app
    from review.users import count_users

    settings = get_settings()
    _prepare_to_serve(settings)
    app = create_app(settings)
    if count_users(settings.resolved_database_url()) == 0:
        print("No users yet. Create the first admin with:\n"
              "  notecoder user add NAME --role admin", file=sys.stderr)
    stop = threading.Event()
    if args.with_worker:
        from review.jobs import run_worker

        threading.Thread(target=run_worker, args=(settings, None, 2, stop), daemon=True).start()
    else:
        print("No coding worker in this process: notes are coded once `notecoder worker` "
              "runs against the same database (or use `serve --with-worker`).", file=sys.stderr)
    level = settings.log_level.lower()
    log_config = uvicorn_log_config(settings.log_level)
    try:
        if args.processes > 1:
            uvicorn.run("review.app:app_from_environment", factory=True, host=args.host,
                        port=args.port, workers=args.processes, log_level=level,
                        log_config=log_config)
        else:
            config = uvicorn.Config(app, host=args.host, port=args.port, log_level=level,
                                    log_config=log_config)
            install_phi_filter()
            uvicorn.Server(config).run()
    finally:
        stop.set()
    return EXIT_OK


def _run_worker(args) -> int:
    import signal
    import threading

    from review.jobs import run_worker

    settings = get_settings()
    _prepare_to_serve(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_worker(settings, args.id, max(1, args.concurrency), stop)
    except KeyboardInterrupt:
        stop.set()
    return EXIT_OK


def _read_password(args, confirm: bool = True) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Again: ") != password:
        raise NotecoderError("The two passwords differ; nothing was changed.")
    return password


def _run_user(args) -> int:
    from review import users
    from review.db import upgrade

    url = get_settings().resolved_database_url()
    upgrade(url)
    command = args.user_command
    if command == "add":
        user_id = users.add_user(url, args.username, args.role, _read_password(args))
        print(f"user {args.username} ({args.role}) created with id {user_id}.")
    elif command == "list":
        for row in users.list_users(url):
            state = "active" if row["active"] else "disabled"
            print(f"{row['id']}\t{row['username']}\t{row['role']}\t{state}\t"
                  f"{row['created_at']:%Y-%m-%d}")
    elif command in ("disable", "enable"):
        ended = users.set_active(url, args.username, command == "enable")
        print(f"user {args.username} {command}d" +
              (f"; {ended} session(s) ended." if command == "disable" else "."))
    else:
        ended = users.reset_password(url, args.username, _read_password(args))
        print(f"password of {args.username} reset; {ended} session(s) ended.")
    return EXIT_OK


def _run_db(_args) -> int:
    from review.db import upgrade
    from review.jobs import prepare

    settings = get_settings()
    upgrade(settings.resolved_database_url())
    prepare(settings)
    print("database is at the newest migration.")
    return EXIT_OK


def _with_replay(cassette: Path, run) -> int:
    """Run a command with LLM requests answered from a recorded cassette."""
    from extractor.llm.replay import replay_settings, replaying
    from notecoder.pipeline import reset_llm, use_llm_settings

    use_llm_settings(replay_settings(cassette, get_settings()))
    try:
        with replaying(cassette):
            return run()
    finally:
        reset_llm()


def _setting_error(exc: ValueError) -> str:
    """One sentence for a setting with a bad value (a pydantic ValidationError)."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return f"invalid setting ({exc})."
    first = errors()[0]
    name = "NOTECODER_" + "_".join(map(str, first.get("loc", ()))).upper()
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"invalid setting {name}: {message[:1].lower()}{message[1:]}."


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `notecoder` console script."""
    try:
        settings = get_settings()
    except NotecoderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except ValueError as exc:  # pydantic: a setting with a bad value
        print(f"error: {_setting_error(exc)}", file=sys.stderr)
        return EXIT_INPUT
    from notecoder.log_privacy import configure_logging

    configure_logging(settings.log_level)
    args = build_parser().parse_args(argv)
    handlers = {"code": _run_code, "extract": _run_extract, "profiles": _run_profiles,
                "data": _run_data, "eval": _run_eval, "serve": _run_serve,
                "worker": _run_worker, "user": _run_user, "db": _run_db}
    try:
        replay = getattr(args, "replay", None)
        if replay:
            return _with_replay(Path(replay), lambda: handlers[args.command](args))
        return handlers[args.command](args)
    except LLMError as exc:  # the endpoint failed; the input may be fine
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LLM
    except NotecoderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        log.debug("internal error", exc_info=True)
        print(f"error: internal error ({type(exc).__name__}); rerun with "
              "NOTECODER_LOG_LEVEL=DEBUG for details.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
