"""ICD-10-CM diagnosis codes (R-DX), outpatient rules."""

from __future__ import annotations

from engine.episodes import Episode
from engine.outcome import Outcome
from engine.tables import diagnosis_concepts, drug_code_rows, icd10cm_code_set
from notecoder.schema import Assertion, CodeLine, Diagnosis, Extraction


def r_dx_01_current_condition(dx: Diagnosis) -> Outcome | None:
    """R-DX-01: negated, family-history, hypothetical and historical conditions are not current.

    Returns a warning outcome when the diagnosis must not be coded, else None.
    Source: ICD-G Section I.
    """
    if dx.assertion in (Assertion.NEGATED, Assertion.FAMILY, Assertion.HYPOTHETICAL):
        return Outcome.warn(f"{dx.id}: {dx.assertion.value} condition not coded (R-DX-01).")
    if dx.assertion == Assertion.HISTORICAL:
        return Outcome.warn(f"{dx.id}: historical condition not coded as current (R-DX-01).")
    return None


def r_dx_02_outpatient_uncertain(dx: Diagnosis) -> Outcome | None:
    """R-DX-02: outpatient 'probable / suspected / rule out' diagnoses are not coded.

    Signs and symptoms documented alongside are coded on their own.
    Source: ICD-G Section IV.H.
    """
    if dx.assertion == Assertion.UNCERTAIN:
        return Outcome.warn(
            f"{dx.id}: uncertain diagnosis not coded in an outpatient encounter; code documented "
            "signs and symptoms (R-DX-02)."
        )
    return None


def r_dx_06_codes_for(dx: Diagnosis) -> Outcome:
    """R-DX-03/04/06: codes at the documented specificity, organism combinations included.

    Pneumonia with an organism takes the combination code (J15.212 for MRSA);
    bacteremia takes R78.81 plus the organism code, never a sepsis code.
    Sources: ICD-G I.B.9 (combination codes), I.C.1.d (bacteremia), I.B (specificity).
    """
    concept = diagnosis_concepts().get(dx.concept)
    if concept is None:
        return Outcome.warn(f"{dx.id}: diagnosis concept has no code mapping; coder review.")
    codes = concept.codes_for(dx.organism)
    rule = "R-DX-06" if dx.organism and dx.organism in concept.organisms else "R-DX-03"
    if dx.concept == "bacteremia":
        rule = "R-DX-04"
    due = f" due to {dx.organism}" if dx.organism else ""
    why = f"{dx.concept.replace('_', ' ')}{due}, affirmed [{icd10cm_code_set()}]."
    spans = dx.span_of("text", "organism") or list(dx.evidence)
    lines = [CodeLine(system="ICD-10-CM", code=c, rule=rule, rationale=why, evidence=spans)
             for c in codes]
    return Outcome(codes=lines)


def r_dx_06_combination_subsumes(dx: Diagnosis, coded: set[str]) -> Outcome | None:
    """R-DX-06: a symptom included in a combination code also coded is not coded apart
    (nausea R11.0 with nausea and vomiting R11.2; R11.0 Excludes1 R11.2).

    Source: ICD-G I.B.9 (combination codes), I.A.12.a (Excludes1).
    """
    concept = diagnosis_concepts().get(dx.concept)
    if concept is not None and set(concept.subsumed_by) & coded:
        return Outcome.warn(
            f"{dx.id}: included in a combination code also coded; not coded apart (R-DX-06)."
        )
    return None


def r_dx_05_first_listed(codes: list[CodeLine], reason: list[str]) -> list[CodeLine]:
    """R-DX-05: the diagnosis chiefly responsible for the encounter is listed first.

    `reason` holds the codes of the diagnosis the initial service was given for;
    they move to the front, the rest keep note order. Source: ICD-G Section IV.
    """
    first = [c for c in codes if c.code in reason]
    return first + [c for c in codes if c.code not in reason]


def r_dx_05_chemotherapy_encounter(initial: Episode | None) -> Outcome:
    """R-DX-05: an encounter for antineoplastic chemotherapy lists Z51.11 first.

    Applies when the initial service is an antineoplastic drug (not a complex
    biologic coded with chemotherapy codes by payer profile). Immunotherapy
    (Z51.12) needs a drug-table flag the table does not carry yet: coder review.
    Source: ICD-G Section IV (encounter for chemotherapy); RULES.md R-DX-05.
    """
    if initial is None or initial.family != "chemo":
        return Outcome()
    if not any(r.drug_class == "antineoplastic" for r in drug_code_rows(initial.admin.generic)):
        return Outcome()
    why = (f"Encounter for antineoplastic chemotherapy ({initial.admin.generic}), listed first "
           f"[{icd10cm_code_set()}].")
    line = CodeLine(system="ICD-10-CM", code="Z51.11", rule="R-DX-05", rationale=why,
                    evidence=initial.admin.span_of("drug") or list(initial.admin.evidence))
    return Outcome(codes=[line], warnings=[
        "Z51.11 listed first; if the agent was given as immunotherapy, Z51.12 applies "
        "instead - coder review (R-DX-05)."])


def code_diagnoses(
    facts: Extraction, reason_dx_id: str | None, initial: Episode | None = None
) -> Outcome:
    """ICD-10-CM codes for the encounter, first-listed first, without duplicates."""
    out = Outcome()
    reason: list[str] = []
    seen: set[str] = set()
    excluded = {dx.id: r_dx_01_current_condition(dx) or r_dx_02_outpatient_uncertain(dx)
                for dx in facts.diagnoses}
    coded_concepts = {dx.concept for dx in facts.diagnoses if excluded[dx.id] is None}
    for dx in facts.diagnoses:
        skip = excluded[dx.id] or r_dx_06_combination_subsumes(dx, coded_concepts)
        if skip is not None:
            out += skip
            continue
        coded = r_dx_06_codes_for(dx)
        out.warnings += coded.warnings
        for line in coded.codes:
            if line.code in seen:
                continue
            seen.add(line.code)
            out.codes.append(line)
            if dx.id == reason_dx_id:
                reason.append(line.code)
    out.codes = r_dx_05_first_listed(out.codes, reason)
    return r_dx_05_chemotherapy_encounter(initial) + out
