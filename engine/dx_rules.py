"""ICD-10-CM diagnosis codes (R-DX), outpatient rules."""

from __future__ import annotations

from functools import lru_cache

from engine.cdi_rules import cdi_query
from engine.episodes import Episode, treated_malignancies
from engine.icd10cm import DEFAULT_YEAR, code_refs, code_set, is_neoplasm
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


def _as_current(dx: Diagnosis) -> Diagnosis:
    """A historical diagnosis read as current (`engine.episodes.treated_malignancies`)."""
    mention = dx.mention.model_copy(update={"history": False}) if dx.mention else None
    return dx.model_copy(update={"assertion": Assertion.AFFIRMED, "mention": mention})


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


_HISTORY_CODES = ("Z85", "Z86", "Z87")
# Axes worth a CDI query when the code needs them and the record is silent (issue 12: side,
# stage, type); a missing site or complication is the coder's to read, not a query.
QUERIED_AXES = ("laterality", "stage", "type")
_LATERALITY_OPTIONS = ["Left", "Right", "Bilateral"]


# Which ICD-10-CM code set codes a claim: (year, folder of generated tables or None for the
# packaged FY2026 one); a setting (NOTECODER_ICD10CM_CODE_SET, NOTECODER_ICD10CM_TABLES_DIR).
CodeSetRef = tuple[str, str | None]
DEFAULT_CODE_SET: CodeSetRef = (DEFAULT_YEAR, None)


@lru_cache(maxsize=4096)
def _choices(mention_json: str, year: str, folder: str | None) -> tuple:
    from engine.dx_codes import choose_codes  # imports the reader's vocabulary: not at start
    from notecoder.schema import DiagnosisMention

    return tuple(choose_codes(DiagnosisMention.model_validate_json(mention_json), year,
                              folder))


def choices_for(mention, code_set_ref: CodeSetRef = DEFAULT_CODE_SET) -> list:
    """`engine.dx_codes.choose_codes`, remembered per phrase reading (the reader asks it
    whether a piece names a codable condition, the engine asks again to code it)."""
    key = mention.model_copy(update={"span": None}).model_dump_json()
    return list(_choices(key, *code_set_ref))


def r_dx_03_codes_from_code_set(dx: Diagnosis,
                                code_set_ref: CodeSetRef = DEFAULT_CODE_SET) -> Outcome:
    """R-DX-03/04/05 from the whole ICD-10-CM code set: the most specific billable code the
    phrase's words and axes support (`engine.dx_codes.choose_codes`: combination codes,
    code-first/use-additional pairs, organism codes, Excludes1, 7th characters, sepsis only
    when stated). A historical phrase keeps only personal-history codes (Z85-Z87, R-DX-01).
    An axis a more specific code needs and the phrase does not give is asked in a CDI query
    (R-CDI-06, generalised from laterality to any axis); the axis is never guessed.
    Sources: ICD-G I.B (specificity), I.B.9, I.A.12.a, I.C.1.d, I.C.21.c.4; RULES.md R-DX-03."""
    choices = choices_for(dx.mention, code_set_ref)
    if dx.assertion == Assertion.HISTORICAL:
        choices = [c for c in choices if c.code.startswith(_HISTORY_CODES)]
        if not choices:
            return Outcome.warn(f"{dx.id}: historical condition not coded as current (R-DX-01).")
    if not choices:
        return Outcome.warn(f"{dx.id}: no ICD-10-CM code the documented words fully support; "
                            "coder review (R-DX-03).")
    spans = list(dx.evidence)
    out = Outcome()
    for choice in choices:
        # R-DX-04: organism combinations and bacteremia (R78.81, never sepsis), as before.
        rule = "R-DX-04" if choice.code == "R78.81" or (
            dx.organism and choice.code[:1] in "AJB") else "R-DX-03"
        why = (f"{choice.description} [{choice.code_set}]: from the term '{choice.term}' "
               f"({', '.join(choice.words) or 'no modifiers'}); {choice.rule}.")
        out.codes.append(CodeLine(system="ICD-10-CM", code=choice.code, rule=rule,
                                  rationale=why, evidence=spans))
        asked = [a for a in choice.missing_axes if a in QUERIED_AXES]
        if asked:
            out += _axis_query(dx, choice.description, asked)
    return out


def _axis_query(dx: Diagnosis, description: str, axes: list[str]) -> Outcome:
    """R-CDI-06 (generalised): the record does not state an axis the code needs."""
    named = ", ".join(a.replace("_", " ") for a in axes)
    question = (f"The diagnosis is coded as '{description}'. The record does not state the "
                f"{named}. Please document the {named}, if known.")
    options = (list(_LATERALITY_OPTIONS) if axes == ["laterality"]
               else [f"{named.capitalize()} documented: ____", "Not applicable to this patient"])
    return Outcome(queries=[cdi_query("R-CDI-06", question, options, dx.evidence[:1])])


def r_dx_06_integral_symptoms(lines: list[CodeLine], narrative: set[str]) -> list[CodeLine]:
    """R-DX-06 / ICD-G I.B.4-5: signs and symptoms (R00-R99) read from the narrative of a note
    with no assessment section are routinely part of a definitive diagnosis also read there
    ("vomiting/diarrhea x 1 day" beside norovirus gastroenteritis) and are not coded apart.
    Symptoms a provider lists as diagnostic statements are kept."""
    definitive = any(not c.code.startswith(("R", "Z")) for c in lines)
    if not definitive:
        return lines
    return [c for c in lines if not (c.code.startswith("R") and c.code in narrative)]


def r_dx_06_unsited_pain(lines: list[CodeLine]) -> list[CodeLine]:
    """ICD-G I.B.4-5 (and ICD-TAB R52 Excludes1: localized pain is coded by site): "pain"
    with no site beside a definitive diagnosis of the note ("left ureteral calculus, 6 mm,
    pain controlled") is the pain of that condition, not a problem of its own, so R52
    Pain, unspecified is not coded beside a code outside chapter 18 and Z."""
    if not any(c.system == "ICD-10-CM" and not c.code.startswith(("R", "Z")) for c in lines):
        return lines
    return [c for c in lines if not (c.system == "ICD-10-CM" and c.code == "R52")]


def r_dx_08_presumed_links(lines: list[CodeLine],
                           code_set_ref: CodeSetRef = DEFAULT_CODE_SET) -> list[CodeLine]:
    """ICD-G I.C.9.a / I.A.15: hypertension and heart failure or CKD, and diabetes and CKD,
    stated as separate diagnoses are coded to their combination code
    (`engine.dx_codes.r_presumed_links`); the line keeps its evidence. An I10 beside a
    combination code the note already gave (I11-I13) is dropped."""
    from engine.dx_codes import DROPPED, r_presumed_links

    icd = [line.code for line in lines if line.system == "ICD-10-CM"]
    swap = r_presumed_links(icd)
    if not swap:
        return lines
    cs = code_set(*code_set_ref)
    out = []
    for line in lines:
        new = swap.get(line.code) if line.system == "ICD-10-CM" else None
        if new == DROPPED:
            continue
        if new is None or not cs.is_billable(new):
            out.append(line)
            continue
        out.append(line.model_copy(update={
            "code": new, "rule": f"{line.rule}; R-DX-08 I.C.9.a presumed link",
            "rationale": f"{cs.description(new)} ({line.code} with "
                         f"{', '.join(sorted(set(icd) - {line.code}))}; "
                         "ICD-G I.C.9.a / I.A.15 presumed link)"}))
    return out


def r_dx_09_unspecified_beside_specific(lines: list[CodeLine],
                                        code_set_ref: CodeSetRef = DEFAULT_CODE_SET
                                        ) -> list[CodeLine]:
    """ICD-G I.A.9.b / I.B.2: an "unspecified" code is for a record that says no more, so
    it is not reported beside a code under the same parent that the record specifies
    ("hypertensive CKD" gives N18.9 through I12.9's use-additional note; "CKD stage 4"
    elsewhere in the note gives N18.4: N18.4 alone). The same holds for a "without X" code
    the record's other mention of the condition states "with" (I.A.15 "with")."""
    cs = code_set(*code_set_ref)
    icd = [line.code for line in lines if line.system == "ICD-10-CM"]

    def vaguer(code: str) -> bool:
        # The unspecified child of its parent (N18.9, M79.609), not a combination whose
        # title leaves one detail open (R11.2 "Nausea with vomiting, unspecified").
        title = cs.description(code).lower()
        parent = cs.parent(code)
        # "HbSC disease" in the header (D57.20 "... without crisis") beside "HbSC disease with
        # vaso-occlusive pain crisis" (D57.219): the "without" was a default.
        if parent and " without " in f" {title} " and any(
                other != code and other.startswith(parent)
                and " without " not in f" {cs.description(other).lower()} " for other in icd):
            return True
        if not code.endswith("9") or "unspecified" not in title:
            return False
        return any(other != code and other.startswith(parent)
                   and "unspecified" not in cs.description(other).lower() for other in icd)

    return [line for line in lines if line.system != "ICD-10-CM" or not vaguer(line.code)]


def r_dx_06_excludes1_note(lines: list[CodeLine],
                           code_set_ref: CodeSetRef = DEFAULT_CODE_SET) -> list[CodeLine]:
    """ICD-G I.A.12.a: two codes of the claim in an Excludes1 pair are never both reported;
    the one listed first stays (the other diagnosis wording is the coder's to review)."""
    cs = code_set(*code_set_ref)
    kept: list[CodeLine] = []
    for line in lines:
        if line.system == "ICD-10-CM" and any(
                k.system == "ICD-10-CM" and _excludes(cs, k.code, line.code) for k in kept):
            continue
        kept.append(line)
    return kept


def _excludes(cs, a: str, b: str) -> bool:
    return any(r.holds(b) for note in cs.excludes1(a) for r in code_refs(note)) or any(
        r.holds(a) for note in cs.excludes1(b) for r in code_refs(note))


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


def _not_for_a_neoplasm(reason: list[str], coded: list[CodeLine]) -> bool:
    """The drug's diagnosis (`reason`) is not a neoplasm; with none linked, no code on the
    claim names a neoplasm, a personal history of one (Z85) or an adverse effect of an
    antineoplastic (T45.1X5-), and at least one condition is coded."""
    if reason:
        return not any(is_neoplasm(code) for code in reason)
    codes = [c.code for c in coded]
    return bool(codes) and not any(is_neoplasm(c) or c.startswith(("Z85", "T45.1X5"))
                                   for c in codes)


def r_dx_05_chemotherapy_encounter(initial: Episode | None, reason: list[str],
                                   coded: list[CodeLine]) -> Outcome:
    """R-DX-05 (rule book R-DX-06): an encounter chiefly for antineoplastic therapy lists its
    Z code first: Z51.12 (antineoplastic immunotherapy) when the initial service is an
    antineoplastic monoclonal antibody or fusion protein (drug table `complex_biologic`, e.g.
    pembrolizumab, rituximab for lymphoma), else Z51.11 (chemotherapy). A complex biologic
    given for a non-neoplastic condition is not antineoplastic: no Z51.1- (Excludes2). The
    same holds for an antineoplastic drug the note gives for a condition that is not a
    neoplasm (`reason`: the codes of the diagnosis the initial service was given for, e.g.
    cyclophosphamide for lupus nephritis), or, with none linked, beside only conditions that
    are not neoplasms (`_not_for_a_neoplasm`): no Z51.1-, and the coder is told why. Source:
    ICD-G I.C.2.e.2 (an encounter
    for chemotherapy or immunotherapy "for the treatment of a neoplasm"), Section IV;
    ICD-TAB Z51.1. A hormonal antineoplastic (leuprolide, goserelin, fulvestrant: drug table
    `hormonal`, 96402) is hormone therapy, not chemotherapy or immunotherapy: no Z51.1-,
    the neoplasm is listed first (ICD-TAB Z51.11 "encounter for antineoplastic
    chemotherapy"; hormone therapy is long-term drug use, Z79.81-/Z79.89-, ICD-G I.C.21.c.3)."""
    if initial is None or initial.family != "chemo":
        return Outcome()
    rows = [r for r in drug_code_rows(initial.admin.generic) if r.drug_class == "antineoplastic"]
    if not rows or all(r.hormonal for r in rows):
        return Outcome()
    if _not_for_a_neoplasm(reason, coded):
        return Outcome.warn(
            f"{initial.admin.id}: {initial.admin.generic} given for a condition that is not a "
            "neoplasm; no Z51.1- encounter code (R-DX-05, ICD-G I.C.2.e.2).")
    immunotherapy = any(r.complex_biologic for r in rows)
    code = "Z51.12" if immunotherapy else "Z51.11"
    kind = "immunotherapy" if immunotherapy else "chemotherapy"
    why = (f"Encounter for antineoplastic {kind} ({initial.admin.generic}), listed first "
           f"[{icd10cm_code_set()}].")
    line = CodeLine(system="ICD-10-CM", code=code, rule="R-DX-05", rationale=why,
                    evidence=initial.admin.span_of("drug") or list(initial.admin.evidence))
    return Outcome(codes=[line])


def r_dx_07_long_term_biologic(facts: Extraction, coded: list[CodeLine]) -> Outcome:
    """R-DX-07: a complex biologic (monoclonal antibody, fusion protein) the note documents as
    long-term maintenance therapy for a chronic non-neoplastic condition adds Z79.620
    (long term current use of an immunosuppressive biologic), secondary. Not when the
    encounter is for antineoplastic therapy (Z51.1-), not for a one-off or short course.
    Other long-term drugs (Z79.4 insulin, Z79.84 oral hypoglycemics, Z79.83 bisphosphonates)
    are for the coder from the medication list. Source: ICD-G I.C.21.c.3; ICD-TAB Z79.620;
    RULES.md R-DX-07."""
    if any(c.code.startswith("Z51.1") for c in coded):
        return Outcome()
    for admin in facts.administrations:
        if not admin.long_term or admin.generic is None:
            continue
        rows = drug_code_rows(admin.generic)
        if any(r.complex_biologic for r in rows) and not any(
                r.drug_class == "antineoplastic" and not r.complex_biologic for r in rows):
            why = (f"Long term current use of an immunosuppressive biologic ({admin.generic}, "
                   f"documented as maintenance therapy) [{icd10cm_code_set()}].")
            spans = admin.span_of("drug") or list(admin.evidence)
            return Outcome(codes=[CodeLine(system="ICD-10-CM", code="Z79.620", rule="R-DX-07",
                                           rationale=why, evidence=spans)])
    return Outcome()


def r_dx_07_long_term_control(facts: Extraction, lines: list[CodeLine],
                              code_set_ref: CodeSetRef = DEFAULT_CODE_SET) -> list[CodeLine]:
    """R-DX-07 for a drug the note says the patient goes on taking (a home-medication list,
    "T2DM on metformin", "continue insulin") or a dose given today as part of long-term
    therapy ("continuous ADT, Eligard every 3 months; due today"): its Z79 code is added
    after the coded condition the classification pairs it with, and only then: the
    condition's own "use additional code" note names the Z79 code, or the Z79 code's "code
    first" note names the condition (Z79.81-: "code first, if applicable, malignant neoplasm
    of prostate (C61)"). E11's note names control by insulin (Z79.4), oral drugs (Z79.84)
    and injectable non-insulin drugs (Z79.85), so "T2DM - continue metformin" is E11.9,
    Z79.84; E10 has no such note, so type 1 diabetes takes no Z79.4 (I.C.4.a.3); O24.4- has
    none either (I.C.15.i); I82.5- names Z79.01 for a chronic thrombosis on an
    anticoagulant. A drug no such note links to a coded condition ("home meds: apixaban"
    beside cellulitis) adds nothing: the notes are the instruction, so no Z79 code is
    inferred from a medication list alone. Source: ICD-G I.A.13 ("code first" / "use
    additional code"), I.C.4.a.3, I.C.21.c.3; ICD-TAB E08-E13, O24, I82, Z79.81 notes;
    RULES.md R-DX-07."""
    from engine.dx_codes import _long_term_codes

    taken = [(m.name, m.text, list(m.evidence)) for m in facts.medications]
    taken += [(a.generic, a.generic, a.span_of("drug") or list(a.evidence))
              for a in facts.administrations if a.long_term and a.generic]
    if not taken:
        return lines
    cs = code_set(*code_set_ref)
    table = _long_term_codes(*code_set_ref)
    out = list(lines)
    present = {line.code for line in lines if line.system == "ICD-10-CM"}
    for name, text, evidence in taken:
        z = table.get(name.lower())
        if z is None or z in present or not cs.is_billable(z):
            continue
        firsts = [r for note in cs.code_first(z) for r in code_refs(note)]
        owners = [i for i, line in enumerate(out) if line.system == "ICD-10-CM"
                  and not line.code.startswith("Z79")
                  and (any(r.holds(z) for note in cs.use_additional(line.code)
                           for r in code_refs(note))
                       or any(r.holds(line.code) for r in firsts))]
        if not owners:
            continue
        owner = out[owners[0]]
        why = (f"{cs.description(z)} ({text}, documented as taken long term; paired with "
               f"{owner.code} by the tabular's notes) [{icd10cm_code_set()}].")
        line = CodeLine(system="ICD-10-CM", code=z, rule="R-DX-07", rationale=why,
                        evidence=evidence)
        # After the condition and the codes that follow it (its other Z79 lines).
        at = owners[-1] + 1
        while at < len(out) and out[at].code.startswith("Z79"):
            at += 1
        out.insert(at, line)
        present.add(z)
    return out


def code_diagnoses(
    facts: Extraction, reason_dx_id: str | None, initial: Episode | None = None,
    code_set_ref: CodeSetRef = DEFAULT_CODE_SET,
) -> Outcome:
    """ICD-10-CM codes for the encounter, first-listed first, without duplicates."""
    out = Outcome()
    reason: list[str] = []
    seen: set[str] = set()
    treated = treated_malignancies(facts)
    if treated:  # under treatment today: current, not history (ICD-G I.C.2.d)
        facts = facts.model_copy(update={"diagnoses": [
            _as_current(dx) if dx.id in treated else dx for dx in facts.diagnoses]})
    excluded = {dx.id: r_dx_01_current_condition(dx) or r_dx_02_outpatient_uncertain(dx)
                for dx in facts.diagnoses}
    coded_concepts = {dx.concept for dx in facts.diagnoses if excluded[dx.id] is None}
    narrative: set[str] = set()
    for dx in facts.diagnoses:
        if dx.mention is not None:
            skip = (r_dx_01_current_condition(dx) if dx.assertion != Assertion.HISTORICAL
                    else None) or r_dx_02_outpatient_uncertain(dx)
        else:
            skip = excluded[dx.id] or r_dx_06_combination_subsumes(dx, coded_concepts)
        if skip is not None:
            out += skip
            continue
        coded = (r_dx_03_codes_from_code_set(dx, code_set_ref) if dx.mention is not None
                 else r_dx_06_codes_for(dx))
        out.warnings += coded.warnings
        out.queries += coded.queries
        if not dx.statement:  # a phrase of the narrative, or a lexicon mention outside one
            narrative.update(line.code for line in coded.codes)
        for line in coded.codes:
            if line.code in seen:
                continue
            seen.add(line.code)
            out.codes.append(line)
            if dx.id == reason_dx_id:
                reason.append(line.code)
    out.codes = r_dx_06_integral_symptoms(out.codes, narrative)
    out.codes = r_dx_06_unsited_pain(out.codes)
    out.codes = r_dx_08_presumed_links(out.codes, code_set_ref)
    out.codes = r_dx_09_unspecified_beside_specific(out.codes, code_set_ref)
    out.codes = r_dx_06_excludes1_note(r_dx_05_first_listed(out.codes, reason), code_set_ref)
    out.codes = r_dx_07_long_term_control(facts, out.codes, code_set_ref)
    encounter = r_dx_05_chemotherapy_encounter(initial, reason, out.codes)
    combined = encounter + out + r_dx_07_long_term_biologic(facts, encounter.codes + out.codes)
    # One line per code: a diagnosis phrase may state what a rule adds (Z79.620 "on
    # maintenance vedolizumab", Z51.11 "C1D1 FOLFOX"); the first line keeps its evidence.
    first: dict[str, CodeLine] = {}
    for line in combined.codes:
        first.setdefault(line.code, line)
    combined.codes = list(first.values())
    return combined
