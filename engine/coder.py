"""The engine's entry point: facts in, codes and queries out. Pure; no I/O, no clock."""

from __future__ import annotations

from engine.admin_rules import code_administrations
from engine.cdi_rules import suggest_queries
from engine.claim_rules import r_admin_15_plausible_units, r_claim_01_one_line_per_code
from engine.drug_rules import code_drug_lines
from engine.dx_rules import code_diagnoses
from engine.em_rules import code_em
from engine.outcome import Outcome
from engine.profiles import Profile
from notecoder.schema import Extraction, Setting

_SYSTEM_ORDER = {"ICD-10-CM": 0, "CPT": 1, "HCPCS": 2}


def code_facts(facts: Extraction, setting: Setting, profile: Profile) -> Outcome:
    """Codes (ICD-10-CM first-listed first, then CPT, then HCPCS), queries and warnings."""
    admin, initial = code_administrations(facts, setting, profile)
    # R-DX-05: the reason for the initial service leads; without one, note order stands
    # (notes open with the chief complaint or diagnosis line).
    reason = initial.admin.indication if initial else None
    place = facts.place.place if facts.place else None
    em = code_em(facts.em, place, has_procedures=bool(admin.codes), setting=setting)
    result = (
        code_diagnoses(facts, reason, initial)
        + em
        + admin
        + code_drug_lines(facts, profile, setting)
        + suggest_queries(facts, profile)
    )
    plausible = r_admin_15_plausible_units(r_claim_01_one_line_per_code(result.codes))
    result = Outcome(plausible.codes, result.queries + plausible.queries,
                     result.warnings + plausible.warnings)
    # Stable sort keeps rule order inside each system (first-listed diagnosis, E/M first).
    result.codes.sort(key=lambda line: _SYSTEM_ORDER[line.system])
    return result
