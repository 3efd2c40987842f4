"""CDI query suggestions (R-CDI): one small rule per documentation gap.

Every query cites its evidence, is non-leading, offers clinically reasonable
options plus "Other" and "Clinically undetermined", and never mentions payment
or codes. Source: CDI-Q (ACDIS/AHIMA Guidelines for Achieving a Compliant Query
Practice, 2022 update).
"""

from __future__ import annotations

from engine.outcome import Outcome
from notecoder.schema import Assertion, DrugAdministration, Extraction, Method, Purpose, Query

OTHER = "Other (please specify)"
UNDETERMINED = "Clinically undetermined"


def _query(rule: str, question: str, options: list[str], evidence) -> Query:
    return Query(rule=rule, question=question, options=[*options, OTHER, UNDETERMINED],
                 evidence=list(evidence))


def r_cdi_01_stop_time(admin: DrugAdministration) -> Outcome:
    """R-CDI-01: an infusion with a start time but no stop time or duration."""
    if admin.start is None or admin.stop is not None or admin.duration_minutes is not None:
        return Outcome()
    if admin.method in (Method.PUSH, Method.INJECTION) or admin.purpose == Purpose.VEHICLE:
        return Outcome()
    name = admin.generic or admin.drug_text
    question = (
        f"The administration record shows {name} started at {admin.start:%H:%M} with no end "
        "time. Please document when this administration ended."
    )
    spans = admin.span_of("drug", "start") or admin.evidence
    return Outcome(queries=[_query("R-CDI-01", question, ["End time: ____"], spans)])


def r_cdi_02_weight(facts: Extraction) -> Outcome:
    """R-CDI-02: a weight-based dose with no documented patient weight."""
    if facts.weight is not None:
        return Outcome()
    out = Outcome()
    for admin in facts.administrations:
        if admin.dose_per_kg is None or admin.dose is not None:
            continue
        name = admin.generic or admin.drug_text
        question = (
            f"{name} is documented as {admin.dose_per_kg.value:g} {admin.dose_per_kg.unit}/kg. "
            "Please document the patient weight used for this dose, or the total dose given."
        )
        spans = admin.span_of("dose_per_kg", "drug") or admin.evidence
        options = ["Patient weight: ____ kg", "Total dose given: ____"]
        out += Outcome(queries=[_query("R-CDI-02", question, options, spans)])
    return out


def r_cdi_04_sepsis_indicators(facts: Extraction) -> Outcome:
    """R-CDI-04: bacteremia documented, sepsis neither documented nor ruled out."""
    if any(dx.concept == "sepsis" for dx in facts.diagnoses):
        return Outcome()
    out = Outcome()
    for dx in facts.diagnoses:
        if dx.concept != "bacteremia" or dx.assertion != Assertion.AFFIRMED:
            continue
        finding = f"{dx.organism} bacteremia" if dx.organism else "Bacteremia"
        question = (
            f"{finding} is documented. Based on your clinical judgment, please clarify the "
            "condition being treated."
        )
        options = ["Bacteremia without sepsis", "Sepsis"]
        out += Outcome(queries=[_query("R-CDI-04", question, options, dx.evidence)])
        break
    return out


def suggest_queries(facts: Extraction) -> Outcome:
    """Every CDI query the facts call for, in rule order."""
    out = Outcome()
    for admin in facts.administrations:
        out += r_cdi_01_stop_time(admin)
    return out + r_cdi_02_weight(facts) + r_cdi_04_sepsis_indicators(facts)
