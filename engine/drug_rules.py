"""Drug lines (R-UNITS): HCPCS code by product, billing units, JW/JZ for discarded drug."""

from __future__ import annotations

import math

from engine.episodes import is_incidental_fluid
from engine.outcome import Outcome
from engine.profiles import Profile
from engine.tables import UNCLASSIFIED_DRUG_CODE, DrugCode, drug_code_rows
from notecoder.schema import CodeLine, DrugAdministration, Extraction, PatientWeight, Quantity, Span

# Factors to a common base per dimension: mass in mg, volume in mL.
_TO_BASE: dict[str, tuple[str, float]] = {
    "g": ("mass", 1000.0),
    "mg": ("mass", 1.0),
    "mcg": ("mass", 0.001),
    "mL": ("volume", 1.0),
    "units": ("units", 1.0),
    "mEq": ("mEq", 1.0),
}
_EPSILON = 1e-9


def convert(quantity: Quantity, unit: str) -> float | None:
    """Value of `quantity` in `unit`, or None when the dimensions differ."""
    source, target = _TO_BASE.get(quantity.unit), _TO_BASE.get(unit)
    if source is None or target is None or source[0] != target[0]:
        return None
    return quantity.value * source[1] / target[1]


def billing_units(amount: float, code: DrugCode, profile: Profile) -> int:
    """Units = amount / billing unit, rounded up, never below 1.

    Source: CMS-17; CMS Recovery Audit issue 0074 (round to the next unit).
    Profile `unit_rounding: down` reproduces seed 004 (D3).
    """
    ratio = amount / code.billing_amount
    units = math.floor(ratio + _EPSILON) if profile.unit_rounding == "down" else math.ceil(
        ratio - _EPSILON
    )
    return max(1, units)


def r_units_04_product_code(admin: DrugAdministration) -> tuple[DrugCode | None, Outcome]:
    """R-UNITS-04: the product decides the code (biosimilars have their own).

    A generic name alone where several products exist gets the reference code
    and a warning; a drug with no specific code gets J3490 for coder review.
    Source: CMS-17; RULES.md R-UNITS-04.
    """
    rows = drug_code_rows(admin.generic)
    if not rows:
        return None, Outcome()
    if admin.product:
        for row in rows:
            if row.product == admin.product.lower():
                return row, Outcome()
    reference = [r for r in rows if not r.product]
    chosen = reference[0] if reference else rows[0]
    out = Outcome()
    if len(rows) > 1 and not admin.product:
        out = Outcome.warn(
            f"{admin.id}: product not named; reference-product code {chosen.code} used, confirm "
            "the product given (R-UNITS-04)."
        )
    return chosen, out


def r_units_02_dose_given(
    admin: DrugAdministration, weight: PatientWeight | None
) -> tuple[Quantity | None, list[Span], Outcome]:
    """R-UNITS-02: the dose given; weight-based doses are mg/kg x documented weight.

    No weight -> no dose (and R-CDI-02 asks for it). Source: CMS-17; RULES.md R-UNITS-02.
    """
    if admin.dose is not None:
        return admin.dose, admin.span_of("dose"), Outcome()
    if admin.dose_per_kg is not None:
        if weight is None:
            return None, [], Outcome.warn(
                f"{admin.id}: weight-based dose with no documented weight; units not computable "
                "(R-UNITS-02)."
            )
        dose = Quantity(value=admin.dose_per_kg.value * weight.kg, unit=admin.dose_per_kg.unit)
        return dose, admin.span_of("dose_per_kg") + weight.evidence[:1], Outcome()
    return None, [], Outcome.warn(
        f"{admin.id}: dose not documented; units for coder (R-UNITS-01)."
    )


def _line(code: DrugCode | str, units: int | None, rule: str, why: str, spans: list[Span],
          modifiers: list[str] | None = None) -> CodeLine:
    number = code if isinstance(code, str) else code.code
    return CodeLine(system="HCPCS", code=number, units=units, modifiers=modifiers or [],
                    rule=rule, rationale=why, evidence=spans)


def r_units_03_discarded_drug(
    admin: DrugAdministration, code: DrugCode, given_units: int, profile: Profile
) -> tuple[list[str], Outcome]:
    """R-UNITS-03: JW line for documented waste from a single-dose container, else JZ.

    Returns the modifiers for the administered line and any JW line. Wasted units =
    container units - administered units; JZ only when the note documents no waste
    (or the container was used up); unknown waste -> no modifier and a warning.
    Multi-dose containers get neither. Source: CMS-17 and the CMS JW/JZ FAQ.
    """
    if code.container == "multi":
        return [], Outcome()
    if code.container == "unknown":
        return [], Outcome.warn(
            f"{admin.id}: container type unknown; JW/JZ for coder (R-UNITS-03)."
        )
    wasted_units: int | None = None
    spans = admin.span_of("drug")
    if admin.vial_size is not None:
        per_vial = convert(admin.vial_size, code.billing_unit)
        if per_vial is not None:
            total = billing_units(per_vial * (admin.vial_count or 1), code, profile)
            wasted_units = max(0, total - given_units)
            spans += admin.span_of("vial_size")
    elif admin.wasted is not None:
        amount = convert(admin.wasted, code.billing_unit)
        if amount is not None:
            wasted_units = math.floor(amount / code.billing_amount + _EPSILON)
            spans += admin.span_of("wasted")
    elif admin.no_waste_documented:
        wasted_units = 0
    if wasted_units is None:
        return [], Outcome.warn(
            f"{admin.id}: single-dose container, waste not documented; JW/JZ for coder "
            "(R-UNITS-03)."
        )
    if wasted_units == 0:
        return ["JZ"], Outcome()
    why = f"{admin.generic}: {wasted_units} unit(s) discarded from a single-dose container."
    return [], Outcome(codes=[_line(code, wasted_units, "R-UNITS-03", why, spans, ["JW"])])


def r_units_01_drug_line(
    admin: DrugAdministration, weight: PatientWeight | None, profile: Profile
) -> Outcome:
    """R-UNITS-01: one HCPCS line per drug given, units = dose / billing unit, rounded up.

    Source: CMS-17; CMS Recovery Audit issue 0074.
    """
    code, out = r_units_04_product_code(admin)
    spans = admin.span_of("drug") or list(admin.evidence)
    if code is None:
        why = f"{admin.drug_text}: no specific HCPCS code in the table; unclassified, coder review."
        out += Outcome.warn(
            f"{admin.id}: no specific drug code; {UNCLASSIFIED_DRUG_CODE} (R-UNITS-04)."
        )
        return out + Outcome(codes=[_line(UNCLASSIFIED_DRUG_CODE, None, "R-UNITS-04", why, spans)])
    dose, dose_spans, found = r_units_02_dose_given(admin, weight)
    out += found
    amount = convert(dose, code.billing_unit) if dose is not None else None
    if dose is not None and amount is None:
        out += Outcome.warn(
            f"{admin.id}: dose unit {dose.unit} cannot be converted to {code.billing_unit}."
        )
    if amount is None:
        why = (f"{admin.generic}: {code.code} per {code.billing_amount:g} {code.billing_unit}; "
               "units not computable.")
        return out + Outcome(codes=[_line(code, None, "R-UNITS-01", why, spans)])
    if not code.verified:
        out += Outcome.warn(
            f"{admin.id}: {code.code} row not yet checked against a CMS quarterly file; confirm "
            "the billing unit (notecoder data import-hcpcs) (R-UNITS-01)."
        )
    units = billing_units(amount, code, profile)
    modifiers, discarded = r_units_03_discarded_drug(admin, code, units, profile)
    rounding = f" (rounded down, profile {profile.name})" if profile.unit_rounding == "down" else ""
    why = (
        f"{admin.generic} {amount:g} {code.billing_unit} / {code.billing_amount:g} "
        f"{code.billing_unit} per unit = {units} unit(s){rounding}."
    )
    line = _line(code, units, "R-UNITS-01", why, spans + dose_spans, modifiers)
    return out + Outcome(codes=[line]) + discarded


def code_drug_lines(facts: Extraction, profile: Profile) -> Outcome:
    """HCPCS lines for every drug given (fluids and vehicles are not drug lines here)."""
    out = Outcome()
    for admin in facts.administrations:
        if admin.is_fluid or is_incidental_fluid(admin):
            continue
        out += r_units_01_drug_line(admin, facts.weight, profile)
    return out
