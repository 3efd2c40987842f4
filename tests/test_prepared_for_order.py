"""A product line written between a drug's order and the line that gives it ("Regimen:
belimumab 10 mg/kg ... / Calculated dose: 684 mg / Product: Benlysta ..."; "Order: Gammagard
1 g/kg / Pharmacy: 10 g vials x 7, no waste / ... Gammagard started"), met in the
fresh-test corpus and written here afresh in other words: its dose and waste belong to the
ordered drug when it is given, and to no other drug."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

ORDER_THEN_DOSE = """Infusion suite 10/06/2026 - Crohn disease of small intestine
Ordered: infliximab 5 mg/kg IV every 8 weeks (dose 4).
Wt 80 kg.
Total dose 400 mg; vials: 100 mg SDV x 4 reconstituted, nothing wasted.
1305 Remicade started in NS 250 mL via pump
1510 infusion complete
"""

ORDER_NOT_GIVEN = """Clinic 10/07/2026 - cellulitis of left lower leg
Order: vancomycin 15 mg/kg IV.
Total dose 1,250 mg, rounded.
1010-1040 cefazolin IVPB infused
"""


def _hcpcs(result) -> list[tuple]:
    return sorted((c.code, c.units, tuple(c.modifiers)) for c in result.codes
                  if c.system == "HCPCS")


def test_dose_and_waste_written_after_the_order_go_to_the_ordered_drug():
    """The 400 mg total and 'nothing wasted' are the infliximab given at 1305: J1745 per
    10 mg x 40 with JZ (R-UNITS-01, R-MOD-JZ); before, the line had no owner and the units
    were left to the coder."""
    result = code_note(ORDER_THEN_DOSE, Setting.FACILITY, "official")
    [infliximab] = [a for a in result.facts.administrations if a.generic == "infliximab"]
    assert infliximab.dose is not None and infliximab.dose.value == 400
    assert _hcpcs(result) == [("J1745", 40, ("JZ",))]


def test_a_product_line_after_another_drugs_order_is_not_given_to_a_later_drug():
    """Vancomycin was ordered, cefazolin given: the 1,250 mg total is no cefazolin dose,
    so cefazolin's units stay for the coder rather than billed from another drug's line."""
    result = code_note(ORDER_NOT_GIVEN, Setting.FACILITY, "official")
    assert [a.generic for a in result.facts.administrations] == ["cefazolin"]
    [cefazolin] = result.facts.administrations
    assert cefazolin.dose is None
    assert all(code != "J3370" for code, _, _ in _hcpcs(result))
