"""The diagnosis a drug line gives as its indication is read from the whole code set with its
axes ("... for cellulitis of right forearm"), and an antineoplastic drug given for a condition
that is not a neoplasm takes no chemotherapy encounter code. Notes written afresh."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

CELLULITIS = """Walk-in infusion 11/12/2026
Allergy: PCN (rash)
cefazolin 2 g IVPB 0915-0945 for cellulitis of left lower leg
"""

LYMPHOMA = """11/13/2026 chemo unit
rituximab given yesterday. Today: bendamustine 90 mg/m2 = 160 mg IV over 60 min for
follicular lymphoma, 1000-1100
"""

LUPUS = """Rheumatology infusion 11/14/2026, wt 58 kg
Lupus nephritis, induction therapy.
1030-1130 cyclophosphamide 500 mg in NS 250 mL IV
"""


def _icd(result) -> list[str]:
    return [c.code for c in result.codes if c.system == "ICD-10-CM"]


def test_indication_on_a_drug_line_is_coded_with_its_axes():
    """R-DX-03: side and site of the indication give L03.116, and no side query is asked."""
    result = code_note(CELLULITIS, Setting.FACILITY, "official")
    assert _icd(result) == ["L03.116"]
    assert not [q for q in result.queries if q.rule == "R-CDI-06"]


def test_neoplasm_indication_keeps_the_chemotherapy_encounter_code():
    """ICD-G I.C.2.e.2: Z51.11 first, then the lymphoma the drug was given for."""
    result = code_note(LYMPHOMA, Setting.FACILITY, "official")
    icd = _icd(result)
    assert icd[0] == "Z51.11"
    assert any(code.startswith("C82.") for code in icd)


def test_lupus_nephritis_cyclophosphamide_is_no_chemotherapy_encounter():
    """Lupus nephritis is M32.14 (Index: Lupus, systemic, with kidney/glomerular disease);
    with no neoplasm on the claim the cyclophosphamide takes no Z51.11 (ICD-G I.C.2.e.2)."""
    result = code_note(LUPUS, Setting.FACILITY, "official")
    assert _icd(result) == ["M32.14"]
    assert any("not a neoplasm" in w for w in result.warnings)
