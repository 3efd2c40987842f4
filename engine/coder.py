"""The engine's entry point: facts in, codes and queries out. Pure; no I/O, no clock."""

from __future__ import annotations

from engine.admin_rules import code_administrations
from engine.cdi_rules import suggest_queries
from engine.claim_rules import r_admin_15_plausible_units, r_claim_01_one_line_per_code
from engine.drug_rules import code_drug_lines
from engine.dx_rules import DEFAULT_CODE_SET, CodeSetRef, code_diagnoses
from engine.em_rules import code_em
from engine.outcome import Outcome
from engine.profiles import Profile
from notecoder.schema import Extraction, Place, Setting

_SYSTEM_ORDER = {"ICD-10-CM": 0, "CPT": 1, "HCPCS": 2}
_FACILITY_PLACES = (Place.EMERGENCY_DEPARTMENT, Place.HOSPITAL_OUTPATIENT)


def r_admin_08_physician_in_facility(facts: Extraction, place: Place, profile: Profile,
                                     code_set_ref: CodeSetRef = DEFAULT_CODE_SET) -> Outcome:
    """R-ADMIN-08: on a professional claim for an ED or hospital outpatient encounter the
    physician reports no drug administration (the facility's nursing service) and no drug
    (the facility supplies it): only the E/M (no -25: no procedure on this claim, D26) and
    the diagnoses. Sources: CPT-DA (quoted in Noridian A52953); RULES.md R-ADMIN-08; seed 003.
    """
    em = code_em(facts.em, place, has_procedures=False, setting=Setting.PROFESSIONAL)
    result = (code_diagnoses(facts, None, None, code_set_ref) + em
              + suggest_queries(facts, profile))
    if facts.administrations:
        result += Outcome.warn(
            "Professional claim for an ED/hospital outpatient note: the physician reports no "
            "drug administration or drug codes (the facility's service); E/M and diagnoses "
            "only (R-ADMIN-08).")
    result.codes.sort(key=lambda line: _SYSTEM_ORDER[line.system])
    return result


def code_facts(facts: Extraction, setting: Setting, profile: Profile,
               code_set_ref: CodeSetRef = DEFAULT_CODE_SET) -> Outcome:
    """Codes (ICD-10-CM first-listed first, then CPT, then HCPCS), queries and warnings."""
    place = facts.place.place if facts.place else None
    if setting == Setting.PROFESSIONAL and place in _FACILITY_PLACES:
        return r_admin_08_physician_in_facility(facts, place, profile, code_set_ref)
    admin, initial = code_administrations(facts, setting, profile)
    # R-DX-05: the reason for the initial service leads; without one, note order stands
    # (notes open with the chief complaint or diagnosis line).
    reason = initial.admin.indication if initial else None
    em = code_em(facts.em, place, has_procedures=bool(admin.codes), setting=setting)
    result = (
        code_diagnoses(facts, reason, initial, code_set_ref)
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
