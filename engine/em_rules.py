"""E/M visit code (stated level only) and modifier 25 (R-MOD-01)."""

from __future__ import annotations

from engine.outcome import Outcome
from notecoder.schema import CodeLine, EMVisit, Place, Setting

_OFFICE = {"new": "9920{}", "established": "9921{}"}
_ED = "9928{}"


def stated_em_code(em: EMVisit, place: Place | None) -> str | None:
    """The E/M code the note states, directly or as a level with the patient status.

    Office/outpatient new 99202-99205 (level 1 no longer exists), established
    99211-99215; emergency department 99281-99285. Source: RULES.md section 5
    (the engine codes an E/M level only when the note states it).
    """
    if em.stated_code:
        return em.stated_code
    level = em.stated_level
    if level is None:
        return None
    if place == Place.EMERGENCY_DEPARTMENT:
        return _ED.format(level)
    if em.patient_status is None or (em.patient_status == "new" and level == 1):
        return None
    return _OFFICE[em.patient_status].format(level)


def r_mod_01_modifier_25(em: EMVisit, has_procedures: bool, place: Place | None = None,
                         setting: Setting = Setting.FACILITY) -> list[str]:
    """R-MOD-01: -25 on the E/M only for a significant, separately identifiable E/M on the
    same day as a procedure; never on the administration code.

    Separately identifiable when the note says so, or states the E/M with modifier 25
    ("99214-25", "E/M 99214 with modifier 25"); an ED facility level on a facility claim with
    drug administration carries it (corpus convention 3). Sources: NCCI-11; CMS-12 §30.6.7;
    seed 001.
    """
    if not has_procedures:
        return []
    ed_facility = place == Place.EMERGENCY_DEPARTMENT and setting == Setting.FACILITY
    stated = "25" in em.stated_modifiers
    return ["25"] if em.separately_identifiable or stated or ed_facility else []


def code_em(em: EMVisit | None, place: Place | None, has_procedures: bool,
            setting: Setting = Setting.FACILITY) -> Outcome:
    """The E/M line when the level is stated; otherwise a warning for the coder."""
    if em is None:
        return Outcome()
    code = stated_em_code(em, place)
    if code is None:
        return Outcome.warn(f"{em.id}: E/M documented; level for coder (R-MOD-01).")
    if code == "99211" and has_procedures:
        return Outcome.warn(f"{em.id}: 99211 is never reported with a drug administration "
                            "service (CMS-12 §30.6.7); not coded (R-MOD-01).")
    modifiers = r_mod_01_modifier_25(em, has_procedures, place, setting)
    if has_procedures and not modifiers:
        return Outcome.warn(
            f"{em.id}: E/M documented with a procedure but not shown to be separately "
            "identifiable; not coded, coder review (R-MOD-01)."
        )
    why = "E/M level stated in the note"
    if modifiers:
        why += "; separately identifiable from the pre-administration assessment (-25)"
    line = CodeLine(system="CPT", code=code, units=1, modifiers=modifiers, rule="R-MOD-01",
                    rationale=why + ".", evidence=list(em.evidence))
    return Outcome(codes=[line])
