"""Readable terminal report of a coding result (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from notecoder.schema import CodingResult, Span

_SNIPPET = 40


def _quote(text: str | None, spans: list[Span]) -> str:
    if text is None:
        return ", ".join(f"{s.start}-{s.end}" for s in spans)
    parts = []
    for span in spans[:3]:
        piece = " ".join(text[span.start:span.end].split())
        if len(piece) > _SNIPPET:
            piece = piece[: _SNIPPET - 1] + "…"
        parts.append(f"“{piece}”")
    return " ".join(parts)


def print_result(result: CodingResult, text: str | None, console: Console | None = None) -> None:
    """Codes, queries and warnings as tables; evidence quoted from the note when given."""
    console = console or Console()
    table = Table(title=f"Codes ({result.setting.value} claim)", show_lines=False)
    for column in ("System", "Code", "Units", "Mod", "Rule", "Why", "Evidence"):
        table.add_column(column, overflow="fold")
    for line in result.codes:
        units = "?" if line.units is None else str(line.units)
        if line.system == "ICD-10-CM":
            units = ""
        table.add_row(line.system, line.code, units, " ".join(line.modifiers), line.rule,
                      line.rationale, _quote(text, line.evidence))
    console.print(table)
    if result.queries:
        queries = Table(title="CDI query suggestions")
        for column in ("Rule", "Question", "Options", "Evidence"):
            queries.add_column(column, overflow="fold")
        for query in result.queries:
            queries.add_row(query.rule, query.question, " / ".join(query.options),
                            _quote(text, query.evidence))
        console.print(queries)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
