"""No PHI in any log line above DEBUG: a logging filter on every handler and logger the CLI
and the web app configure (root, uvicorn, SQLAlchemy, DBOS, ours).

Above DEBUG the filter
- drops SQLAlchemy's statement and parameter lines (`sqlalchemy.engine` at INFO);
- withholds the `[parameters: ...]` of SQLAlchemy errors and pydantic's `input_value=...`
  in every message;
- rewrites a record's traceback so that each exception shows its type and a message only
  when the type is known to carry no data (ours, SQLAlchemy's without parameters,
  validation errors as locations and types, OS errors without file names, Unicode errors);
  other messages are withheld ("rerun with NOTECODER_LOG_LEVEL=DEBUG").
DEBUG records pass unchanged: DEBUG is the one level that may show note text.
"""

from __future__ import annotations

import copy
import logging
import re
import sys
import traceback
from typing import Any

WITHHELD = "(message withheld above DEBUG; rerun with NOTECODER_LOG_LEVEL=DEBUG)"
_PARAMETERS = re.compile(r"\[parameters: .*?(?=\n\(Background on this error|\Z)", re.DOTALL)
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|\]|\Z)", re.DOTALL)
# Loggers configured by the CLI, uvicorn, SQLAlchemy and DBOS (their handlers get the filter).
LOGGERS = ("", "notecoder", "review", "uvicorn", "uvicorn.error", "uvicorn.access",
           "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "dbos", "alembic")
# Their messages are made by Python or by us and hold no data from a request or a note.
_SAFE_TYPES = (OverflowError, ZeroDivisionError, MemoryError, RecursionError,
               NotImplementedError, UnicodeError)


def scrub(message: str) -> str:
    """`message` with SQL parameters and validation inputs withheld."""
    message = _PARAMETERS.sub("[parameters withheld]", message)
    return _INPUT_VALUE.sub("input_value=<withheld>", message)


def safe_message(exc: BaseException) -> str:
    """What an exception may say above DEBUG."""
    from notecoder.errors import NotecoderError

    if isinstance(exc, (NotecoderError, *_SAFE_TYPES)):
        return scrub(str(exc))
    if isinstance(exc, OSError):
        return f"[Errno {exc.errno}] {exc.strerror}" if exc.strerror else WITHHELD
    module = type(exc).__module__
    if module.startswith(("sqlalchemy", "sqlite3", "psycopg")):
        orig = getattr(exc, "orig", None)
        first = str(orig if orig is not None else exc).splitlines()[:1]
        # Only the first line: PostgreSQL's DETAIL line names row values.
        return scrub(first[0]) if first else ""
    if module.startswith(("pydantic", "fastapi")) and hasattr(exc, "errors"):
        try:
            errors = exc.errors()
            where = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('type')}"
                              for e in errors[:10])
            return f"{len(errors)} validation error(s): {where}"
        except Exception:
            return WITHHELD
    if module.startswith(("starlette", "fastapi")) and hasattr(exc, "status_code"):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, ValueError) and type(exc).__name__ == "JSONDecodeError":
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return WITHHELD


def safe_traceback(exc: BaseException) -> str:
    """The traceback of `exc` and its causes, each message as `safe_message` says."""
    chain: list[tuple[BaseException, bool]] = []  # (exception, it caused the one before)
    seen: set[int] = set()
    current: BaseException | None = exc
    caused = False
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, caused))
        caused = current.__cause__ is not None
        current = current.__cause__ or (None if current.__suppress_context__
                                        else current.__context__)
    parts: list[str] = []
    was_cause = None  # whether the exception printed last caused this one
    for item, caused_next in reversed(chain):
        if was_cause is not None:
            parts.append("\nThe above exception was the direct cause of the following "
                         "exception:\n\n" if was_cause else "\nDuring handling of the above "
                         "exception, another exception occurred:\n\n")
        was_cause = caused_next
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        name = type(item).__module__ + "." + type(item).__qualname__
        parts.append(f"{name.removeprefix('builtins.')}: {safe_message(item)}\n")
    return "".join(parts).rstrip("\n")


class PHIFilter(logging.Filter):
    """Makes a record above DEBUG safe to log (see the module docstring); idempotent."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG or getattr(record, "phi_checked", False):
            return True
        if record.name.startswith("sqlalchemy.engine") and record.levelno < logging.WARNING:
            return False  # SQL statements and their parameters
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep only the format
            message = str(record.msg)
        scrubbed = scrub(message)
        if scrubbed != message:  # else keep msg and args (uvicorn's formatters read args)
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        record.phi_checked = True
        return True


_FILTER = PHIFilter()


def _add(holder: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, PHIFilter) for f in holder.filters):
        holder.addFilter(_FILTER)


def install_phi_filter() -> None:
    """Put the filter on every configured logger and handler (repeat after a library adds
    handlers: DBOS, uvicorn); safe to call often."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    loggers += [item for item in logging.root.manager.loggerDict.values()
                if isinstance(item, logging.Logger)]
    for logger in loggers:
        _add(logger)
        for handler in logger.handlers:
            _add(handler)
    if logging.lastResort is not None:
        _add(logging.lastResort)


def configure_logging(level: str) -> None:
    """The CLI's and the web processes' logging: stderr at `level`, PHI filter everywhere,
    SQLAlchemy's statement log off unless DEBUG."""
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    # A handler that fails prints the exception being handled, unfiltered: never do that.
    logging.raiseExceptions = False
    if level != "DEBUG":
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    install_phi_filter()


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration at `level` with the PHI filter on its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"phi": {"()": "notecoder.log_privacy.PHIFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["phi"]
    for logger in config["loggers"].values():
        logger["level"] = level
    return config
