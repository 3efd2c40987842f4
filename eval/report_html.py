"""Self-contained HTML evaluation report: inline CSS and SVG charts, no network, no JS.

Opens from disk. Shows the headline table, per-code F1, per-field F1, the trend of
code F1 over stored runs, and every note whose claim differed, with attribution.
Note text is not included (the report may be shared beyond the coding team).
"""

from __future__ import annotations

from html import escape

_BAR_W, _ROW_H = 360, 18


def _bars(title: str, rows: list[tuple[str, float, str]]) -> str:
    """Horizontal bar chart of values in [0, 1]; rows are (label, value, note)."""
    height = _ROW_H * len(rows) + 10
    parts = [f'<h2>{escape(title)}</h2>',
             f'<svg width="{_BAR_W + 330}" height="{height}" role="img" '
             f'aria-label="{escape(title)}">']
    for i, (label, value, note) in enumerate(rows):
        y = i * _ROW_H + 4
        width = max(1, round(value * _BAR_W))
        colour = "#2e7d32" if value >= 0.95 else "#f9a825" if value >= 0.8 else "#c62828"
        parts.append(
            f'<text x="0" y="{y + 12}" font-size="12">{escape(label)}</text>'
            f'<rect x="170" y="{y}" width="{width}" height="{_ROW_H - 5}" fill="{colour}"/>'
            f'<text x="{176 + _BAR_W}" y="{y + 12}" font-size="12">{value:.3f} '
            f'{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _trend(runs: list[dict]) -> str:
    """Line of code F1 over stored runs, oldest to newest."""
    points = [(r["id"], float(r["headline"].get("code_f1", 0.0))) for r in reversed(runs)]
    if len(points) < 2:
        return "<h2>Trend</h2><p>One run stored so far; the trend appears from the second.</p>"
    width, height = 560, 160
    step = (width - 60) / (len(points) - 1)
    coords = [(40 + i * step, height - 20 - v * (height - 40)) for i, (_, v) in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1565c0">'
                   f'<title>run {rid}: {v:.3f}</title></circle>'
                   for (x, y), (rid, v) in zip(coords, points, strict=True))
    return (f'<h2>Trend: code F1 over {len(points)} runs</h2>'
            f'<svg width="{width}" height="{height}" role="img" aria-label="trend">'
            f'<line x1="40" y1="{height - 20}" x2="{width - 20}" y2="{height - 20}" '
            f'stroke="#999"/><line x1="40" y1="20" x2="{width - 20}" y2="20" stroke="#eee"/>'
            f'<text x="0" y="24" font-size="11">1.0</text>'
            f'<text x="0" y="{height - 16}" font-size="11">0.0</text>'
            f'<polyline points="{line}" fill="none" stroke="#1565c0" stroke-width="2"/>'
            f'{dots}</svg>')


def _llm_cost(cost: dict | None, runs: list[dict]) -> str:
    """The LLM reader's cost in this run (per note and in all, drops by reason, agreement
    precision) and in the stored runs that had one; nothing on the offline path."""
    if not cost:
        return ""
    rows = [("calls per note", cost["calls_per_note"]),
            ("chunks per note", cost.get("chunks_per_note", "-")),
            ("prompt tokens per note", cost["prompt_tokens_per_note"]),
            ("answer tokens per note", cost["completion_tokens_per_note"]),
            ("prompt tokens per call", cost["prompt_tokens_per_call"]),
            ("seconds per note", cost["seconds_per_note"]),
            ("calls / cache hits in all", f"{cost['calls']} / {cost['cache_hits']}"),
            ("tokens in / out in all", f"{cost['prompt_tokens']} / {cost['completion_tokens']}")]
    table = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in rows)
    drops = "".join(f"<tr><td>{escape(k)}</td><td>{n}</td></tr>"
                    for k, n in [*cost["dropped_facts"].items(), *cost["dropped_fields"].items()])
    def precision(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    agreement = "".join(
        f"<tr><td>{escape(k)}</td><td>{v['lines']}</td><td>{precision(v['precision'])}</td></tr>"
        for k, v in cost["agreement_precision"].items())
    history = "".join(
        f"<tr><td>{r['id']}</td><td>{escape(str(r['extractor']))}</td>"
        f"<td>{escape(str(r.get('model')))}</td><td>{r['llm']['calls_per_note']}</td>"
        f"<td>{r['llm']['prompt_tokens_per_note']} / {r['llm']['completion_tokens_per_note']}"
        f"</td><td>{r['llm']['seconds_per_note']}</td></tr>" for r in runs if r.get("llm"))
    return f"""<h2>LLM reader cost</h2><table><tr><th>figure</th><th>value</th></tr>{table}</table>
<h2>LLM facts and fields left out, by reason</h2>
<table><tr><th>reason</th><th>count</th></tr>{drops or '<tr><td colspan="2">none</td></tr>'}
</table>
<h2>Claim lines by agreement of the readers</h2>
<table><tr><th>found by</th><th>lines</th><th>precision</th></tr>{agreement}</table>
<h2>LLM cost in stored runs</h2>
<table><tr><th>run</th><th>extractor</th><th>model</th><th>calls/note</th>
<th>tokens in / out per note</th><th>s/note</th></tr>{history}</table>"""


def render_report(document: dict, diffs: list[dict], runs: list[dict]) -> str:
    """The report page for one evaluation run."""
    meta, head = document["meta"], document["headline"]
    headline_rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{v:.3f}</td></tr>" if isinstance(v, float)
        else f"<tr><td>{escape(k)}</td><td>{v}</td></tr>" for k, v in head.items())
    codes = document["codes"]["codes"]
    code_rows = [(k, v["f1"], f"tp {v['tp']} fp {v['fp']} fn {v['fn']}")
                 for k, v in sorted(codes.items())]
    fields = document["extraction"]["fields"]
    field_rows = [(k.replace("administration.", "admin."), v["f1"],
                   f"tp {v['tp']} fp {v['fp']} fn {v['fn']}")
                  for k, v in sorted(fields.items()) if v["tp"] + v["fp"] + v["fn"]]
    wrong = [d for d in diffs if d["differences"] or d["error"]]
    diff_rows = "".join(
        f"<tr><td>{escape(d['id'])}</td><td>"
        + "<br>".join(escape(f"{x['kind']} {x['code']} ({x['cause']})") for x in d["differences"])
        + (f"<br>error: {escape(d['error'])}" if d["error"] else "") + "</td></tr>"
        for d in wrong) or '<tr><td colspan="2">Every claim matched the gold claim.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>notecoder evaluation - {escape(str(meta.get('split')))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1000px; }}
table {{ border-collapse: collapse; margin: 8px 0 20px; }}
td, th {{ border: 1px solid #ddd; padding: 4px 10px; font-size: 13px; text-align: left; }}
th {{ background: #f4f4f4; }} h1 {{ font-size: 22px; }} h2 {{ font-size: 16px; margin-top: 24px; }}
.meta {{ color: #555; font-size: 13px; }}
</style></head><body>
<h1>notecoder evaluation: {escape(str(meta.get('split')))} split, {head.get('notes')} notes</h1>
<p class="meta">commit {escape(str(meta.get('git_commit')))} · extractor
{escape(str(meta.get('extractor')))} · dataset {escape(str(meta.get('dataset_hash')))}
· prompt {escape(str(meta.get('prompt_version')))} · model {escape(str(meta.get('model')))}</p>
<h2>Headline</h2><table><tr><th>metric</th><th>value</th></tr>{headline_rows}</table>
<p class="meta">Code errors attributed to extraction: {document['attribution']['extraction']},
to the engine: {document['attribution']['engine']} (the engine is also run on gold facts).</p>
{_trend(runs)}
{_llm_cost(document.get("llm"), runs)}
{_bars("Per-code F1", code_rows)}
{_bars("Per-field F1 (extraction)", field_rows)}
<h2>Notes whose claim differed</h2>
<table><tr><th>note</th><th>differences (cause)</th></tr>{diff_rows}</table>
</body></html>
"""
