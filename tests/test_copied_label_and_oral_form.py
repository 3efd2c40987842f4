"""Two ways a note names a drug not given today by injection, met in the fresh3 corpus
and written here afresh: a bracketed label alone on its line heading copied text ("[Pasted
from 05/02 visit]" ... "[end pasted]"), and an injectable solution swallowed ("IV solution
given orally"). RULES.md: nothing is billed from text that is not a record of what was
given today, nor from a PO dose."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

PASTED_LABEL = """Infusion clinic - daily antibiotic visit 05/03/2026
[Pasted from visit of 05/02/2026]
   Metoclopramide 10 mg IV push 0905. LR 1 L bolus 0910-1015 for poor intake.
[end pasted]
0930 cefepime 2 g in NS 100 mL IVPB started
1002 cefepime complete
"""

LABEL_THEN_PARAGRAPH = """Clinic 05/04/2026
[Carried forward from prior note]
Ketorolac 30 mg IM given R deltoid at 1010.

1100 ceftriaxone 1 g IM L ventrogluteal
"""

SWALLOWED = """ED 05/05/2026 - croup
2210 dexamethasone 0.6 mg/kg = 9 mg PO (injectable solution: IV formulation given orally)
2230 racemic epinephrine neb
"""


def _codes(text: str) -> list[str]:
    result = code_note(text, Setting.FACILITY, "official")
    return [c.code for c in result.codes if c.system in ("CPT", "HCPCS")]


def test_lines_under_a_bracketed_copy_label_are_not_billed():
    codes = _codes(PASTED_LABEL)
    assert "J2765" not in codes and "96374" not in codes and "96360" not in codes
    assert "96365" in codes


def test_a_copy_label_with_no_closer_ends_at_the_paragraph():
    """The copied paragraph is not billed; today's injection after the blank line is."""
    codes = _codes(LABEL_THEN_PARAGRAPH)
    assert "J1885" not in codes
    assert "J0696" in codes and codes.count("96372") == 1


def test_an_injectable_solution_swallowed_is_an_oral_dose():
    result = code_note(SWALLOWED, Setting.FACILITY, "official")
    [dex] = [a for a in result.facts.administrations if "dexamethasone" in (a.generic or "")]
    assert dex.route == "oral"
    assert not any(c.code in ("J1100", "96374") for c in result.codes)
