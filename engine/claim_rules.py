"""Claim-level rules: one line per code, and administration units a payer would find
plausible (R-ADMIN-15). Pure functions over the engine's code lines."""

from __future__ import annotations

from engine.outcome import Outcome
from engine.tables import mue_limit
from notecoder.schema import CodeLine, Query, Span


def r_claim_01_one_line_per_code(codes: list[CodeLine]) -> list[CodeLine]:
    """One claim line per CPT code and modifier set, its units summed (96375 x2, not two
    lines of 1), evidence from every line, in first-appearance order.

    Source: CMS-1500 / UB-04 claim instructions (units field: number of times the service
    was given on the date); the independent corpus lists codes this way ("96375x2").
    """
    merged: dict[tuple, CodeLine] = {}
    order: list[tuple] = []
    out: list[CodeLine] = []
    for line in codes:
        if line.system != "CPT" or line.units is None:
            out.append(line)
            continue
        key = (line.code, tuple(sorted(line.modifiers)))
        if key not in merged:
            merged[key] = line
            order.append(key)
            out.append(line)
            continue
        first = merged[key]
        evidence = list(first.evidence) + [s for s in line.evidence if s not in first.evidence]
        combined = first.model_copy(update={
            "units": first.units + line.units, "evidence": evidence,
            "rationale": f"{first.rationale} {line.rationale}"})
        out[out.index(first)] = combined
        merged[key] = combined
    return out


def r_admin_15_plausible_units(codes: list[CodeLine]) -> Outcome:
    """R-ADMIN-15: an administration line whose units exceed the CMS practitioner MUE for
    its code (96366 x45, MUE 8) is not billed automatically: units become null, the coder is
    told the limit, and a CDI query asks to confirm the times.

    Source: CMS NCCI Medically Unlikely Edits, practitioner services (2026 Q2,
    shared/refdata/ncci/practitioner_mue); CDI-Q (open question for a documentation gap).
    """
    out = Outcome()
    for line in codes:
        limit = mue_limit(line.code) if line.system == "CPT" else None
        # MUE 0 ("CMS Policy": not payable to practitioners, e.g. the facility-only 96376)
        # says nothing about a facility claim; the rules already keep it off professional ones.
        if not limit or line.units is None or line.units <= limit:
            out.codes.append(line)
            continue
        out.codes.append(line.model_copy(update={
            "units": None,
            "rationale": f"{line.rationale} Units withheld: {line.units} exceed the CMS MUE of "
                         f"{limit} per day."}))
        out.warnings.append(f"{line.code}: {line.units} units exceed the CMS MUE of {limit} per "
                            "day; not billed, coder review (R-ADMIN-15).")
        out.queries.append(Query(
            rule="R-CDI-01",
            question=("The administration record supports more time than is plausible for one "
                      "day. Please confirm the start and end times of this administration."),
            options=["Start ____ End ____", "Other (please specify)", "Clinically undetermined"],
            evidence=list(line.evidence) or [Span(start=0, end=1)]))
    return out
