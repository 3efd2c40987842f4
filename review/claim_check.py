"""What stands between a claim and finalise, in words a coder reads (issue 14 item 5).

The engine's warnings name facts by internal id ("A2: single-dose container ...") and the
injection guard by character offsets ("Characters 10-42 read as ..."). Here each warning
is rewritten with the drug or diagnosis as the note writes it (the quoted text), given
that fact's evidence spans, and attached to the code line it concerns (the line whose
evidence overlaps the fact's, or whose code the warning starts with).

An issue blocks finalise until it is resolved or acknowledged:

- units unknown on a billed drug or administration line: resolved only by an edit giving
  the units, or a rejection;
- a warning: acknowledged, or resolved by rejecting the line it sits on; deciding a line
  (accept, edit) acknowledges the warnings shown beside it;
- an open CDI query (suggested or sent): answered, or acknowledged by the coder;
- a code the validator flagged (`review.codes`): acknowledged, or the line rejected.

Acknowledgements are audit events (`ACK_ACTION`, key only, never note text).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from review.db import LineStatus, QueryStatus

ACK_ACTION = "claim.acknowledge"
_FACT_ID = re.compile(r"\b([A-Z]\d{1,3})\b(?![.\d])")
_LEADING_IDS = re.compile(r"^\s*([A-Z]\d{1,3}(?:/[A-Z]\d{1,3})*):\s*")
_OFFSETS = re.compile(r"\bCharacters (\d+)-(\d+)")
_LEADING_CODE = re.compile(r"^\s*([A-Z0-9]{4,5}(?:\.[A-Z0-9]{1,4})?):")
QUOTE_CHARS = 60


@dataclass
class Issue:
    """One thing to resolve or acknowledge before finalise."""

    key: str  # "warning:<hash>", "query:<id>", "flag:<line id>", "units:<line id>"
    kind: str  # units | warning | query | flag
    text: str  # in words a coder reads
    line_id: int | None = None
    evidence: list[dict] = field(default_factory=list)
    acknowledged: bool = False
    can_acknowledge: bool = True

    @property
    def open(self) -> bool:
        return not self.acknowledged

    def as_dict(self) -> dict:
        return {"key": self.key, "kind": self.kind, "text": self.text, "line_id": self.line_id,
                "evidence": self.evidence, "acknowledged": self.acknowledged,
                "can_acknowledge": self.can_acknowledge}


def _facts(result: dict | None) -> dict[str, dict]:
    """Every fact of a stored CodingResult by id."""
    facts = (result or {}).get("facts") or {}
    found: dict[str, dict] = {}
    for value in facts.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "id" in item:
                found[str(item["id"])] = item
    return found


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…"


def _fact_words(fact: dict, note: str) -> str:
    """A fact as the note writes it: the drug, the diagnosis, else its first evidence."""
    for name in ("drug_text", "text", "organism"):
        if fact.get(name):
            return _quote(str(fact[name]))
    spans = fact.get("evidence") or []
    if spans:
        return f"“{_quote(note[spans[0]['start']:spans[0]['end']])}”"
    return "a documented item"


def _spans(fact: dict) -> list[dict]:
    spans = [*(fact.get("evidence") or []), *(fact.get("field_spans") or {}).values()]
    seen: dict[tuple[int, int], dict] = {}
    for span in spans:
        seen.setdefault((int(span["start"]), int(span["end"])), {
            "start": int(span["start"]), "end": int(span["end"])})
    return list(seen.values())


def translate(warning: str, result: dict | None, note: str) -> tuple[str, list[dict], list[str]]:
    """(the warning in a coder's words, its evidence spans, the fact ids it names)."""
    facts = _facts(result)
    evidence: list[dict] = []
    named: list[str] = []
    text = warning
    leading = _LEADING_IDS.match(text)
    if leading:
        ids = leading.group(1).split("/")
        named += [i for i in ids if i in facts]
        words = " and ".join(_fact_words(facts[i], note) for i in ids if i in facts)
        text = (f"{words}: " if words else "") + text[leading.end():]

    def offsets(match: re.Match) -> str:
        start, end = int(match.group(1)), int(match.group(2))
        evidence.append({"start": start, "end": end})
        return f"The text “{_quote(note[start:end])}”"

    text = _OFFSETS.sub(offsets, text)

    def fact_id(match: re.Match) -> str:
        fid = match.group(1)
        if fid not in facts:
            return fid
        named.append(fid)
        return _fact_words(facts[fid], note)

    text = _FACT_ID.sub(fact_id, text)
    for fid in dict.fromkeys(named):
        evidence += _spans(facts[fid])
    if text[:1].islower():
        text = text[0].upper() + text[1:]
    return text, evidence, list(dict.fromkeys(named))


def _overlaps(a: list[dict], b: list[dict]) -> bool:
    return any(x["start"] < y["end"] and y["start"] < x["end"] for x in a for y in b)


def _line_for(warning: str, evidence: list[dict], ids: list[str], lines: list) -> int | None:
    """The code line a warning concerns: the code it starts with, else the line whose
    evidence overlaps the fact's (a drug's HCPCS line first, a diagnosis's ICD line)."""
    code = _LEADING_CODE.match(warning)
    if code:
        for line in lines:
            if line.code == code.group(1):
                return line.id
    if not evidence:
        return None
    order = ("ICD-10-CM", "CPT", "HCPCS") if any(i.startswith("D") for i in ids) else (
        "HCPCS", "CPT", "ICD-10-CM")
    for system in order:
        for line in lines:
            if line.system == system and _overlaps(line.evidence or [], evidence):
                return line.id
    return None


def warning_key(raw: str) -> str:
    return "warning:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def issues(note, lines: list, queries: list, acknowledged: set[str],
           validator_flags: dict[int, str] | None = None) -> list[Issue]:
    """Every issue of the claim in line order (claim-wide ones last), each marked
    acknowledged or not; rejected lines raise none."""
    found: list[Issue] = []
    live = [x for x in lines if x.status != LineStatus.REJECTED]
    for raw in (note.result or {}).get("warnings", []):
        text, evidence, ids = translate(raw, note.result, note.text)
        line_id = _line_for(raw, evidence, ids, lines)
        rejected = line_id is not None and all(x.id != line_id for x in live)
        key = warning_key(raw)
        found.append(Issue(key, "warning", text, line_id, evidence,
                           acknowledged=rejected or key in acknowledged))
    for line in live:
        if line.system != "ICD-10-CM" and line.units is None:
            found.append(Issue(f"units:{line.id}", "units",
                               f"{line.system} {line.code}: units unknown. Edit the line with "
                               "the units given, or reject it.", line.id, [],
                               can_acknowledge=False))
        flag = line.flag or (validator_flags or {}).get(line.id)
        if flag:
            key = f"flag:{line.id}"
            found.append(Issue(key, "flag", flag, line.id, [],
                               acknowledged=key in acknowledged))
    for query in queries:
        if query.status in (QueryStatus.SUGGESTED, QueryStatus.SENT):
            key = f"query:{query.id}"
            found.append(Issue(key, "query", f"CDI query open ({query.status}): "
                               f"{query.question}", None, list(query.evidence or []),
                               acknowledged=key in acknowledged))
    order = {x.id: n for n, x in enumerate(lines)}
    found.sort(key=lambda i: order.get(i.line_id, len(order)) if i.line_id else len(order))
    return found


def blocking(found: list[Issue]) -> list[Issue]:
    """The issues that still block finalise."""
    return [i for i in found if i.open]
