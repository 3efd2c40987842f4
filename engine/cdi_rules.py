"""CDI query suggestions (R-CDI): one small rule per documentation gap.

Every query cites its evidence, is non-leading, offers clinically reasonable
options plus "Other" and "Clinically undetermined", and never mentions payment
or codes. Source: CDI-Q (ACDIS/AHIMA Guidelines for Achieving a Compliant Query
Practice, 2022 update).
"""

from __future__ import annotations

import re

from engine.drug_rules import convert
from engine.episodes import contradictory_times, is_incidental_fluid
from engine.outcome import Outcome
from engine.profiles import Profile
from engine.tables import diagnosis_concepts, drug_code_rows
from notecoder.schema import (
    Assertion,
    Diagnosis,
    DrugAdministration,
    Extraction,
    Method,
    Purpose,
    Query,
    Route,
)

# Words a compliant query never uses (CDI-Q: no mention of payment, billing or codes);
# also checked on a specialist's own wording before a query is sent (review/service.py).
NON_COMPLIANT_WORDS = re.compile(r"\b(pay|payment|reimburse\w*|bill\w*|revenue|codes?|coding|"
                                 r"cpt|icd|hcpcs|drg|\$)", re.IGNORECASE)

OTHER = "Other (please specify)"
UNDETERMINED = "Clinically undetermined"


def cdi_query(rule: str, question: str, options: list[str], evidence) -> Query:
    """A query with the standard closing options (other, clinically undetermined)."""
    return Query(rule=rule, question=question, options=[*options, OTHER, UNDETERMINED],
                 evidence=list(evidence))


def r_cdi_01_stop_time(admin: DrugAdministration, profile: Profile) -> Outcome:
    """R-CDI-01: an infusion with a start time but no stop time or duration, or with
    contradictory times (stop before start, not a plausible midnight crossing)."""
    if contradictory_times(admin, profile):
        name = admin.name
        question = (
            f"The administration record shows {name} from {admin.start:%H:%M} to "
            f"{admin.stop:%H:%M}; the end time is earlier than the start. Please clarify the "
            "start and end times of this administration."
        )
        spans = admin.span_of("drug", "start", "stop") or admin.evidence
        return Outcome(queries=[cdi_query("R-CDI-01", question, ["Start ____ End ____"], spans)])
    if admin.start is None or admin.stop is not None or admin.duration_minutes is not None:
        return Outcome()
    if (admin.method in (Method.PUSH, Method.INJECTION) or admin.purpose == Purpose.VEHICLE
            or admin.route in (Route.ORAL, Route.OTHER)):
        # a push, a vehicle, a dose by mouth or drops have no end time to ask for
        return Outcome()
    name = admin.name
    question = (
        f"The administration record shows {name} started at {admin.start:%H:%M} with no end "
        "time. Please document when this administration ended."
    )
    spans = admin.span_of("drug", "start") or admin.evidence
    return Outcome(queries=[cdi_query("R-CDI-01", question, ["End time: ____"], spans)])


def r_cdi_02_weight(facts: Extraction) -> Outcome:
    """R-CDI-02: a weight-based dose with no documented patient weight."""
    if facts.weight is not None:
        return Outcome()
    out = Outcome()
    for admin in facts.administrations:
        if admin.dose_per_kg is None or admin.dose is not None:
            continue
        name = admin.name
        question = (
            f"{name} is documented as {admin.dose_per_kg.value:g} {admin.dose_per_kg.unit}/kg. "
            "Please document the patient weight used for this dose, or the total dose given."
        )
        spans = admin.span_of("dose_per_kg", "drug") or admin.evidence
        options = ["Patient weight: ____ kg", "Total dose given: ____"]
        out += Outcome(queries=[cdi_query("R-CDI-02", question, options, spans)])
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
        out += Outcome(queries=[cdi_query("R-CDI-04", question, options, dx.evidence)])
        break
    return out


def _name(dx: Diagnosis) -> str:
    return dx.text


def r_cdi_03_organism_not_in_diagnosis(facts: Extraction) -> Outcome:
    """R-CDI-03: a culture names an organism, the infection diagnosis names none."""
    out = Outcome()
    concepts = diagnosis_concepts()
    for culture in facts.cultures:
        for dx in facts.diagnoses:
            concept = concepts.get(dx.concept)
            if concept is None or not concept.infection or dx.organism is not None:
                continue
            if dx.assertion != Assertion.AFFIRMED:
                continue
            specimen = f"{culture.specimen} " if culture.specimen else ""
            question = (
                f"The record documents {_name(dx)} and a {specimen}culture result of "
                f"{culture.organism}. Please clarify the organism, if any, responsible for "
                f"the {_name(dx)}."
            )
            options = [f"{_name(dx)} due to {culture.organism}",
                       f"{_name(dx)}, organism not identified"]
            spans = [*dx.evidence[:1], *culture.evidence[:1]]
            out += Outcome(queries=[cdi_query("R-CDI-03", question, options, spans)])
    return out


def r_cdi_05_uncertain_diagnosis_treated(facts: Extraction) -> Outcome:
    """R-CDI-05: an uncertain diagnosis is the documented reason for a drug given."""
    uncertain = {dx.id: dx for dx in facts.diagnoses if dx.assertion == Assertion.UNCERTAIN}
    out = Outcome()
    asked: set[str] = set()
    for admin in facts.administrations:
        dx = uncertain.get(admin.indication or "")
        if dx is None or dx.id in asked:
            continue
        asked.add(dx.id)
        name = admin.name
        question = (
            f"{name} was given for {_name(dx)}, documented as uncertain. Based on your "
            "clinical judgment, please clarify the condition being treated."
        )
        options = [f"{_name(dx)}, confirmed", f"{_name(dx)}, ruled out"]
        spans = [*dx.evidence[:1], *admin.span_of("drug")]
        out += Outcome(queries=[cdi_query("R-CDI-05", question, options, spans)])
    return out


def r_cdi_06_laterality(facts: Extraction) -> Outcome:
    """R-CDI-06: the diagnosis needs a site and side for a specific code, and none is given."""
    out = Outcome()
    concepts = diagnosis_concepts()
    for dx in facts.diagnoses:
        concept = concepts.get(dx.concept)
        if concept is None or not concept.needs_laterality or dx.laterality is not None:
            continue
        if dx.assertion != Assertion.AFFIRMED:
            continue
        question = f"{_name(dx)} is documented. Please document the site and side affected."
        options = ["Left: site ____", "Right: site ____", "Bilateral: site ____"]
        out += Outcome(queries=[cdi_query("R-CDI-06", question, options, dx.evidence[:1])])
    return out


def r_cdi_07_indication(facts: Extraction) -> Outcome:
    """R-CDI-07: drugs given and no current or uncertain diagnosis documented at all."""
    if any(dx.assertion in (Assertion.AFFIRMED, Assertion.UNCERTAIN) for dx in facts.diagnoses):
        return Outcome()
    out = Outcome()
    for admin in facts.administrations:
        if admin.is_fluid or is_incidental_fluid(admin) or admin.route in (Route.ORAL,
                                                                            Route.OTHER):
            continue  # a dose by mouth or drops are billed on no line here: nothing to support
        name = admin.name
        question = f"{name} was administered. Please document the condition being treated."
        out += Outcome(queries=[cdi_query("R-CDI-07", question, ["Condition: ____"],
                                       admin.span_of("drug") or admin.evidence)])
    return out


def r_cdi_08_infusion_or_push(admin: DrugAdministration) -> Outcome:
    """R-CDI-08: an IV drug with no method and no times or duration ('given IV')."""
    if admin.is_fluid or is_incidental_fluid(admin) or admin.method is not None:
        return Outcome()
    if admin.route not in (None, Route.IV) or admin.start or admin.duration_minutes:
        return Outcome()
    name = admin.name
    question = (f"{name} is documented as given intravenously. Please document how it was "
                "given and, for an infusion, the start and end times.")
    options = ["IV push", "IV infusion, start ____ end ____"]
    return Outcome(queries=[cdi_query("R-CDI-08", question, options,
                                   admin.span_of("drug", "route") or admin.evidence)])


def r_cdi_09_waste_not_documented(admin: DrugAdministration) -> Outcome:
    """R-CDI-09: single-dose vial larger than the dose given, and no waste documented."""
    if admin.vial_size is None or admin.dose is None:
        return Outcome()
    if admin.wasted is not None or admin.no_waste_documented:
        return Outcome()
    rows = drug_code_rows(admin.generic)
    if not rows or rows[0].container != "single":
        return Outcome()
    vial = convert(admin.vial_size, admin.dose.unit)
    if vial is None or vial * (admin.vial_count or 1) <= admin.dose.value:
        return Outcome()
    name = admin.name
    question = (f"{name} {admin.dose.value:g} {admin.dose.unit} was given from single-dose "
                "vial(s) holding more. Please document the amount discarded, if any.")
    options = ["Amount discarded: ____", "None discarded (remainder used as documented)"]
    return Outcome(queries=[cdi_query("R-CDI-09", question, options,
                                   admin.span_of("drug", "vial_size") or admin.evidence)])


def suggest_queries(facts: Extraction, profile: Profile) -> Outcome:
    """Every CDI query the facts call for, in rule order."""
    out = Outcome()
    for admin in facts.administrations:
        out += r_cdi_01_stop_time(admin, profile)
    out += r_cdi_02_weight(facts) + r_cdi_03_organism_not_in_diagnosis(facts)
    out += r_cdi_04_sepsis_indicators(facts) + r_cdi_05_uncertain_diagnosis_treated(facts)
    out += r_cdi_06_laterality(facts) + r_cdi_07_indication(facts)
    for admin in facts.administrations:
        out += r_cdi_08_infusion_or_push(admin) + r_cdi_09_waste_not_documented(admin)
    return out
