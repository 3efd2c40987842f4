"""Score the diagnosis phrase coder on a JSONL phrase set (issue 12).

    python -m eval.dx_phrases datasets/dx_phrases/dev.jsonl [--show all|misses]

Each record: {"id", "phrase", "codes": [expected ICD-10-CM codes], "chapter", "note"?}.
The phrase is split into clauses and given a small phrase-level assertion (the note
pipeline will use the extractor's ConText instead): uncertain clauses ("possible",
"probable", "r/o", "suspected") are not coded (ICD-G IV.H) but the symptoms stated with
them are; negated clauses ("no X", "denies X") give nothing; "h/o", "history of",
"resolved" give the personal-history code where one applies (ICD-G I.C.21.c.4).

Outcomes per record: exact (same set); vaguer (no wrong code, but a returned code is a less
specific code of an expected code's category, or codes are missing); wrong (a returned code
whose category is not expected, or a different / more specific leaf of an expected
category); none (nothing returned while codes were expected).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from engine.dx_codes import choose_codes, r_presumed_links
from extractor.dx_statements import QUALIFIER_AFTER_DASH
from extractor.dx_terms import read_phrase

# "CXR consistent with pneumonia": a finding named before the cue (ICD-G IV.H, as ConText's
# forward cue reads it in a note).
UNCERTAIN = re.compile(r"^\s*(?:(?:[\w/-]+\s+){1,3}?(?=(?:consistent|compatible)\s+with\b|c/w\b))?"
                       r"(?:(?:possible|possibly|probable|probably|likely|suspected|suspect|"
                       r"questionable|r/o|rule out|ruled out|cannot rule out|can't rule out|"
                       r"cannot exclude|consistent with|c/w|compatible with|concern for|"
                       r"concerning for|suspicious for|worrisome for|question of|"
                       r"working diagnosis of|presumed)\b|\?)", re.I)
# "HER2 negative", "ER/PR positive": a receptor status of the neoplasm named with it, not a
# negated condition (ICD-TAB Z17).
RECEPTOR = re.compile(r"^\s*(?:er|pr|pgr|her-?2(?:/neu)?|hr|hormone receptor)\b", re.I)
NEGATED = re.compile(r"^\s*(?:no|denies|denied|negative for|without|not|absence of|free of)\b",
                     re.I)
HISTORY = re.compile(r"\b(?:h/o|hx of|history of|past history of|status post|s/p)\b", re.I)
# "in remission" is not history: remission is an axis of leukemia, lymphoma and myeloma
# codes (C90.01, C91.11, C83.3A; ICD-G I.C.2).
RESOLVED = re.compile(r",?\s*\b(?:resolved|remote|healed|no longer present)\b\.?\s*$", re.I)
# A condition named and then negated: "PE ruled out", "flu swab negative" (not coded).
NEGATED_AFTER = re.compile(r"\b(?:ruled out|r/o'd|excluded|negative|not present|absent|"
                           r"not found|not seen)\s*\.?\s*$", re.I)
# "A vs B" / "A versus B": neither is established (ICD-G IV.H), like "possible".
DIFFERENTIAL = re.compile(r"\s(?:vs\.?|versus)\s", re.I)
# Clause breaks: ",", ";", and "with" when an uncertain clause precedes it.
CLAUSE = re.compile(r"\s*[;,]\s*")


def clauses(phrase: str) -> list[tuple[str, str]]:
    """(assertion, text) per clause: affirmed, uncertain, negated or historical."""
    out = []
    for part in CLAUSE.split(phrase):
        if not part.strip():
            continue
        pieces = [part]
        cue = UNCERTAIN.match(part) or NEGATED.match(part)
        if cue:
            # "probable pneumonia with cough": the symptom after "with" is stated (the "with"
            # of the cue itself, "consistent with", is not that).
            head, rest = part[: cue.end()], part[cue.end():]
            pieces = re.split(r"\s+\bwith\b\s+", rest, maxsplit=1)
            pieces[0] = head + pieces[0]
        for i, piece in enumerate(pieces):
            if i == 0 and (UNCERTAIN.match(piece) or DIFFERENTIAL.search(piece)):
                out.append(("uncertain", piece))
            elif i == 0 and (NEGATED.match(piece) or NEGATED_AFTER.search(piece)) and \
                    not RECEPTOR.match(piece):
                out.append(("negated", piece))
            elif RESOLVED.fullmatch(piece) or RESOLVED.sub("", piece).strip() == "":
                # "Pneumonia, resolved": the clause before is past history.
                if out and out[-1][0] == "affirmed":
                    out[-1] = ("historical", "history of " + out[-1][1])
            elif RESOLVED.search(piece) and not HISTORY.search(piece):
                out.append(("historical", "history of " + RESOLVED.sub("", piece)))
            elif out and out[-1][0] == "affirmed" and i == 0:
                # "lung cancer, right upper lobe": affirmed comma parts are one phrase.
                out[-1] = ("affirmed", out[-1][1] + ", " + piece)
            else:
                out.append(("affirmed", piece))
    return out


# Items and plan text as the note reader cuts an assessment line (`extractor.dx_statements`):
# items at semicolons ("HTN; HLD; DM2"), the plan after a dash, an arrow or a colon ("CAP -
# cont ceftriaxone", "HTN: stable, cont lisinopril").
ITEM = re.compile(r"\s*;\s*")
# As the note reader cuts statements (`extractor.dx_statements._PLAN_CUT`): a dash before a
# qualifier of the condition ("CLL - in remission") is no plan.
PLAN = re.compile(r"\s[-–—]+\s" + QUALIFIER_AFTER_DASH + r"|\s?->|→|=>|:\s")


def _clause_codes(text: str) -> list[str]:
    codes: list[str] = []
    for assertion, clause in clauses(text):
        if assertion in ("uncertain", "negated"):
            continue
        for choice in choose_codes(read_phrase(clause)):
            if choice.code not in codes:
                codes.append(choice.code)
    return codes


def code_phrase(phrase: str) -> list[str]:
    """Codes for one phrase, assertion applied, in order, without repeats.

    Each semicolon item is coded apart; an item that codes nothing as a whole is cut at its
    plan marks and the parts coded apart: plan text ("cont lisinopril") codes nothing, a
    part naming a diagnosis ("Cancer pain - metastatic prostate ca to bone") its own codes.
    Codes of separate items that the classification presumes linked take their combination
    code (`engine.dx_codes.r_presumed_links`, as the claim does)."""
    codes: list[str] = []
    items = [i for i in ITEM.split(phrase) if i.strip()] or [phrase]
    for item in items:
        parts = [p for p in PLAN.split(item) if p.strip()]
        whole = _clause_codes(item)
        if len(parts) > 1 and not whole:
            rest = [c for p in parts[1:] for c in _clause_codes(p)]
            whole = _clause_codes(parts[0]) + rest
        found = whole
        for c in found:
            if c not in codes:
                codes.append(c)
    swap = r_presumed_links(codes)
    return [c for c in dict.fromkeys(swap.get(c, c) for c in codes) if c]


def outcome(expected: list[str], got: list[str]) -> str:
    """exact | vaguer | wrong | none (see the module docstring)."""
    exp, ret = set(expected), set(got)
    if ret == exp:
        return "exact"
    if not ret:
        return "none"
    exp_cats = {c[:3] for c in exp}
    for c in ret - exp:
        if c[:3] not in exp_cats:
            return "wrong"
        # Same category: vaguer only if it is an ancestor-like shorter/unspecified code of
        # an expected one; a sibling leaf or a more specific code is wrong.
        if not any(_less_specific(c, e) for e in exp if e[:3] == c[:3]):
            return "wrong"
    return "vaguer"


def _less_specific(got: str, expected: str) -> bool:
    """True when `got` is a less specific code of `expected`'s category: a prefix of it, or
    an unspecified sibling (the code the tabular gives when the axis is not stated)."""
    g, e = got.replace(".", ""), expected.replace(".", "")
    if e.startswith(g):
        return True
    from engine.icd10cm import description

    common = 0
    while common < min(len(g), len(e)) and g[common] == e[common]:
        common += 1
    return common >= 3 and "unspecified" in description(got).lower()


def score(records: list[dict]) -> tuple[list[dict], Counter]:
    """Per-record results and the totals."""
    rows, totals = [], Counter()
    for r in records:
        got = code_phrase(r["phrase"])
        result = outcome(r["codes"], got)
        totals[result] += 1
        rows.append({"id": r["id"], "phrase": r["phrase"], "expected": r["codes"], "got": got,
                     "outcome": result})
    return rows, totals


def main(argv: list[str] | None = None) -> int:
    """Print per-record outcomes (misses by default) and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--show", choices=["all", "misses", "none"], default="misses")
    args = parser.parse_args(argv)
    records = [json.loads(line) for line in args.path.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    t0 = time.perf_counter()
    rows, totals = score(records)
    elapsed = time.perf_counter() - t0
    for row in rows:
        if args.show == "all" or (args.show == "misses" and row["outcome"] != "exact"):
            print(f"{row['outcome']:6} {row['id']:12} {row['phrase']!r}: expected "
                  f"{','.join(row['expected']) or '-'} got {','.join(row['got']) or '-'}")
    n = len(rows) or 1
    print(f"{args.path}: {len(rows)} phrases  " + "  ".join(
        f"{k} {totals[k]} ({100 * totals[k] / n:.1f} %)" for k in ("exact", "vaguer", "wrong",
                                                                   "none")))
    print(f"{1000 * elapsed / n:.3f} ms per phrase (first phrases parse their main terms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
