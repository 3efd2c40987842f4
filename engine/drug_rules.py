"""Drug lines (R-UNITS): HCPCS code by product, route and dose tier, billing units from
the dose given on the date, JW/JZ for discarded drug, MUE plausibility (R-UNITS-05)."""

from __future__ import annotations

import math
import re

from engine.episodes import is_incidental_fluid
from engine.outcome import Outcome
from engine.profiles import Profile
from engine.tables import (
    UNCLASSIFIED_DRUG_CODE,
    DrugCode,
    asp_payment_limit,
    drug_code_rows,
    mue_limit,
)
from notecoder.schema import (
    Assertion,
    CodeLine,
    DrugAdministration,
    Extraction,
    PatientWeight,
    Purpose,
    Quantity,
    Query,
    Route,
    Setting,
    Span,
)

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


def _route_fits(row: DrugCode, admin: DrugAdministration) -> bool:
    """A row fits the documented route: oral rows only oral doses; a row naming another
    route (IM, intravitreal, ...) not a dose documented by a different route."""
    if row.route == "oral" or admin.route == Route.ORAL:
        return row.route == "oral" and admin.route == Route.ORAL
    return not row.route or admin.route is None or row.route == admin.route.value


_ON_DIALYSIS = re.compile(r"(?i)\b(?:(?:hemo)?dialysis|HD|CAPD|CCPD)\b")
_ESRD_QUALIFIER = "esrd on dialysis"
# Erythropoiesis-stimulating agents: on an ESRD claim each line carries JA (IV) or JB (SC).
_ESA_GENERICS = frozenset({"epoetin alfa", "darbepoetin alfa", "epoetin beta"})


def on_dialysis(facts: Extraction) -> bool:
    """The note documents the patient as on dialysis (an affirmed diagnosis naming
    dialysis, HD, CAPD or CCPD): the HCPCS "(for ESRD on dialysis)" codes apply."""
    return any(d.assertion == Assertion.AFFIRMED and _ON_DIALYSIS.search(d.text)
               for d in facts.diagnoses)


def r_units_04_product_code(admin: DrugAdministration, dialysis: bool = False
                            ) -> tuple[list[DrugCode], Outcome]:
    """R-UNITS-04: the product decides the code (biosimilars have their own).

    Returns the candidate rows (several only when they differ by dose tier) for the
    named product, else for the reference product: rows for the documented route,
    the plain code before qualified variants. A generic name alone where several
    products exist gets the reference code and a warning; a drug with no specific code
    gets none (J3490 for coder review). Codes the descriptor reserves for ESRD on dialysis
    are chosen only when `dialysis` (HCPCS descriptors). Source: CMS-17; RULES.md R-UNITS-04.
    """
    rows = [r for r in drug_code_rows(admin.generic) if _route_fits(r, admin)]
    if not rows:
        return [], Outcome()
    product = (admin.product or "").lower()
    named = [r for r in rows if product and r.product == product]
    reference = [r for r in rows if not r.product]
    chosen = named or reference or rows[:1]
    # Permanent J/Q codes before OPPS pass-through (C) and non-Medicare (S) codes, whether
    # or not they carry a qualifier: fosphenytoin is Q2009 per 50 mg phenytoin equivalent,
    # never S0078 (S codes are not payable by Medicare; CMS HCPCS Level II, "S" codes).
    permanent = [r for r in chosen if r.code[0] in "JQ"]
    chosen = permanent or chosen
    # HCPCS descriptors split some drugs by ESRD status ("epoetin alfa, (for non-esrd use)"
    # J0885; "epoetin alfa, 100 units (for esrd on dialysis)" Q4081): the dialysis code
    # only for a patient the note documents on dialysis, else never.
    esrd = [r for r in chosen if _ESRD_QUALIFIER in (r.qualifier or "")]
    chosen = esrd if dialysis and esrd else [r for r in chosen if r not in esrd] or chosen
    plain = [r for r in chosen if not r.qualifier]
    chosen = plain or chosen[:1]
    if not named:
        chosen = [r for r in chosen if r.billing_unit == chosen[0].billing_unit]
    out = Outcome()
    if len({r.product for r in rows}) > 1 and not named:
        out = Outcome.warn(
            f"{admin.id}: product not named; reference-product code {chosen[0].code} used, "
            "confirm the product given (R-UNITS-04)."
        )
    return chosen, out


def r_units_01_dose_tier(rows: list[DrugCode], amount_in: dict[str, float]) -> DrugCode:
    """R-UNITS-01 for dose-tiered codes (one drug, several codes differing only in
    amount, e.g. "up to 40 mg" / "up to 125 mg"): the smallest tier that covers the
    total given in one unit, else the largest tier. Source: HCPCS descriptors; RULES.md
    R-UNITS-01 (units from the dose given)."""
    if len(rows) == 1:
        return rows[0]
    by_size = sorted(rows, key=lambda r: r.billing_amount)
    covering = [r for r in by_size if amount_in.get(r.code, math.inf) <= r.billing_amount
                + _EPSILON]
    return covering[0] if covering else by_size[-1]


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
    # What the note documents ("single-dose vial", "multi-dose vial") decides over the table.
    container = admin.container or code.container
    if container == "multi":
        return [], Outcome()
    if container == "unknown":
        return [], Outcome.warn(
            f"{admin.id}: container type unknown; JW/JZ for coder (R-UNITS-03)."
        )
    wasted_units: int | None = None
    spans = admin.span_of("drug")
    # The documented discarded amount wins over vial arithmetic (a note may name only one
    # of several vials opened: "400 mg + 200 mg vials ... 40 mg wasted").
    if admin.wasted is not None and convert(admin.wasted, code.billing_unit) is not None:
        amount = convert(admin.wasted, code.billing_unit) or 0.0
        wasted_units = math.floor(amount / code.billing_amount + _EPSILON)
        spans += admin.span_of("wasted")
    elif admin.vial_size is not None and convert(admin.vial_size, code.billing_unit) is not None:
        per_vial = convert(admin.vial_size, code.billing_unit) or 0.0
        total = billing_units(per_vial * (admin.vial_count or 1), code, profile)
        if total < given_units and not admin.no_waste_documented:
            # "400 mg vial x1 + 200 mg vial x1" read as one 400 mg vial for a 544 mg dose:
            # the containers read hold less than was given, so they say nothing of waste;
            # JZ would attest no waste that the note never states (CMS JW/JZ FAQ).
            return [], Outcome.warn(
                f"{admin.id}: the containers read hold less than the dose; waste not "
                "documented, JW/JZ for coder (R-UNITS-03)."
            )
        wasted_units = max(0, total - given_units)
        spans += admin.span_of("vial_size")
        if wasted_units and not admin.no_waste_documented:
            # R-UNITS-03: a JW line needs the waste documented; the container alone says
            # only that some may have been discarded (R-CDI-09 asks).
            return [], Outcome.warn(
                f"{admin.id}: container larger than the dose and waste not documented; no JW "
                "line, JW/JZ for coder (R-UNITS-03, R-CDI-09)."
            )
        if admin.no_waste_documented:
            wasted_units = 0
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


_MAX_UNITS_WITHOUT_MUE = 9999  # project ceiling for codes CMS sets no MUE for (S codes)
_SHOWN_UNITS_MAX = 1_000_000


def _shown(units: float) -> str:
    return f"more than {_SHOWN_UNITS_MAX:,}" if units > _SHOWN_UNITS_MAX else f"{units:,.0f}"


def r_units_05_plausible_units(code: DrugCode, ratio: float, name: str,
                               dose: str, spans: list[Span]) -> Outcome | None:
    """R-UNITS-05: units above the CMS practitioner MUE for the code (or not finite) are
    not billed automatically: a warning naming the limit and a query to confirm the dose.
    Returns None when the units are plausible. Source: CMS NCCI MUE (practitioner,
    2026 Q2, `mue_practitioner.csv`); RULES.md R-UNITS-05 and R-CDI-10."""
    from engine.cdi_rules import OTHER, UNDETERMINED  # cdi_rules imports this module

    limit = mue_limit(code.code)
    ceiling = limit if limit is not None else _MAX_UNITS_WITHOUT_MUE
    units = math.ceil(ratio - _EPSILON) if math.isfinite(ratio) else math.inf
    if units <= ceiling:
        return None
    which = f"the CMS MUE of {limit} per day" if limit is not None else (
        f"the project ceiling of {_MAX_UNITS_WITHOUT_MUE} (no CMS MUE)")
    warning = (f"{code.code}: {_shown(units)} units exceed {which}; not billed, coder review "
               "(R-UNITS-05).")
    question = (f"The administration record shows {name} {dose} on this date. Please confirm "
                "the total dose administered.")
    query = Query(rule="R-CDI-10", question=question,
                  options=[f"{dose} as documented", "A different dose: ____", OTHER,
                           UNDETERMINED], evidence=spans)
    return Outcome(warnings=[warning], queries=[query])


def _day(admin: DrugAdministration):
    return admin.start_date  # None: the encounter date


def _dose_in(admin: DrugAdministration, weight: PatientWeight | None, code: DrugCode
             ) -> tuple[float | None, list[Span], Outcome]:
    dose, spans, out = r_units_02_dose_given(admin, weight)
    if dose is None:
        return None, spans, out
    amount = convert(dose, code.billing_unit)
    if amount is None:
        out += Outcome.warn(
            f"{admin.id}: dose unit {dose.unit} cannot be converted to {code.billing_unit}.")
    return amount, spans, out


def r_units_01_drug_line(admins: list[DrugAdministration], code: DrugCode,
                         weight: PatientWeight | None, profile: Profile) -> Outcome:
    """R-UNITS-01: one HCPCS line per code and date, units = total dose given that date
    / billing unit, rounded up; "up to X" codes likewise bill the total (two 4 mg morphine
    pushes: J2270 x1). Evidence cites every administration. Source: CMS-17; CMS Recovery
    Audit issue 0074; HCPCS descriptors ("up to")."""
    out = Outcome()
    cited: dict[tuple[int, int], Span] = {}  # each span once, in order (linear)
    amounts: list[float | None] = []
    for admin in admins:
        amount, dose_spans, found = _dose_in(admin, weight, code)
        out += found
        amounts.append(amount)
        for s in (admin.span_of("drug") or list(admin.evidence)) + dose_spans:
            cited.setdefault((s.start, s.end), s)
    spans = list(cited.values())
    name = admins[0].generic or admins[0].drug_text
    ids = "+".join(a.id for a in admins)
    if any(a is None for a in amounts):
        why = (f"{name}: {code.code} per {code.billing_amount:g} {code.billing_unit}; "
               "units not computable.")
        return out + Outcome(codes=[_line(code, None, "R-UNITS-01", why, spans)])
    total = math.fsum(amounts)  # type: ignore[arg-type]
    if not code.verified:
        out += Outcome.warn(
            f"{ids}: {code.code} row not yet checked against a CMS quarterly file; confirm "
            "the billing unit (notecoder data import-hcpcs) (R-UNITS-01)."
        )
    dose = f"{total:.6g} {code.billing_unit}"
    flagged = r_units_05_plausible_units(code, total / code.billing_amount, name, dose, spans)
    if flagged is not None:
        why = f"{name} {dose}: units above the plausible limit; coder review."
        return out + flagged + Outcome(codes=[_line(code, None, "R-UNITS-05", why, spans)])
    units = billing_units(total, code, profile)
    modifiers: list[str] = []
    discarded = Outcome()
    if len(admins) == 1:
        modifiers, discarded = r_units_03_discarded_drug(admins[0], code, units, profile)
    else:
        for admin, amount in zip(admins, amounts, strict=True):
            mods, waste = r_units_03_discarded_drug(
                admin, code, billing_units(amount, code, profile), profile)  # type: ignore[arg-type]
            discarded += waste
            modifiers = mods if admin is admins[0] else [m for m in modifiers if m in mods]
    rounding = f" (rounded down, profile {profile.name})" if profile.unit_rounding == "down" else ""
    each = f" ({ids} summed on the date)" if len(admins) > 1 else ""
    why = (
        f"{name} {total:g} {code.billing_unit}{each} / {code.billing_amount:g} "
        f"{code.billing_unit} per unit = {units} unit(s){rounding}."
    )
    line = _line(code, units, "R-UNITS-01", why, spans, modifiers)
    return out + Outcome(codes=[line]) + discarded


def _is_flush(admin: DrugAdministration, rows: list[DrugCode]) -> bool:
    """A lock flush (heparin or saline to keep a line open) is part of the administration
    (R-ADMIN-14), never a drug line."""
    return admin.purpose == Purpose.VEHICLE or any("flush" in r.product for r in rows)


def r_units_03_packaged_under_opps(out: Outcome, profile: Profile) -> Outcome:
    """R-UNITS-03 (facility): JW/JZ apply only to drugs separately payable under OPPS; a drug
    whose cost on the date (ASP payment limit x units) is below the packaging threshold is
    estimated packaged, so its lines carry no JW/JZ and no JW line is billed.

    Sources: CMS JW/JZ FAQ (packaged OPPS drugs excluded, via MedLearn); Noridian "Modifier
    JZ" (status indicators G/K only); corpus README convention 4 (packaging estimated from
    the ASP cost per day); profile `opps_packaging_threshold_usd` (CY2025 OPPS: $140).
    """
    given: dict[str, int] = {c.code: c.units or 0 for c in out.codes
                             if c.system == "HCPCS" and "JW" not in c.modifiers}
    kept: list[CodeLine] = []
    warnings: list[str] = []
    for line in out.codes:
        price = asp_payment_limit(line.code) if line.system == "HCPCS" else None
        if price is None or not {"JW", "JZ"} & set(line.modifiers):
            kept.append(line)
            continue
        cost = price * given.get(line.code, 0)
        if cost >= profile.opps_packaging_threshold_usd:
            kept.append(line)
            continue
        if "JW" in line.modifiers:
            warnings.append(f"{line.code}: ${cost:,.2f} on the date, under the OPPS packaging "
                            "threshold: packaged, no JW line (R-UNITS-03).")
            continue
        kept.append(line.model_copy(update={
            "modifiers": [m for m in line.modifiers if m not in ("JW", "JZ")]}))
        warnings.append(f"{line.code}: ${cost:,.2f} on the date, under the OPPS packaging "
                        "threshold: estimated packaged, no JZ (R-UNITS-03).")
    return Outcome(kept, out.queries, out.warnings + warnings)


def code_drug_lines(facts: Extraction, profile: Profile,
                    setting: Setting = Setting.PROFESSIONAL) -> Outcome:
    """HCPCS lines for every drug given (fluids and vehicles are not drug lines here): one
    line per code and date, from the summed dose of its administrations."""
    out = Outcome()
    groups: dict[tuple, list[DrugAdministration]] = {}
    tiers: dict[tuple, list[DrugCode]] = {}
    dialysis = on_dialysis(facts)
    for admin in facts.administrations:
        if admin.is_fluid or is_incidental_fluid(admin):
            continue
        if admin.route == Route.ORAL:
            out += Outcome.warn(f"{admin.id}: {admin.name} given by mouth; no injectable drug "
                                "line (R-UNITS-01).")
            continue
        if admin.route == Route.OTHER:
            out += Outcome.warn(f"{admin.id}: {admin.name} given as drops, topically or inhaled; "
                                "no injectable drug line (R-UNITS-01).")
            continue
        rows, found = r_units_04_product_code(admin, dialysis)
        out += found
        if _is_flush(admin, rows):
            continue
        if not rows:
            spans = admin.span_of("drug") or list(admin.evidence)
            why = (f"{admin.drug_text}: no specific HCPCS code in the table; unclassified, "
                   "coder review.")
            out += Outcome.warn(
                f"{admin.id}: no specific drug code; {UNCLASSIFIED_DRUG_CODE} (R-UNITS-04)."
            )
            out += Outcome(codes=[_line(UNCLASSIFIED_DRUG_CODE, None, "R-UNITS-04", why, spans)])
            continue
        key = (tuple(r.code for r in rows), _day(admin))
        groups.setdefault(key, []).append(admin)
        tiers[key] = rows
    for key, admins in groups.items():
        rows = tiers[key]
        totals = {}
        for row in rows:
            amounts = [_dose_in(a, facts.weight, row)[0] for a in admins]
            totals[row.code] = math.fsum(amounts) if None not in amounts else math.inf
        code = r_units_01_dose_tier(rows, totals)
        out += r_units_01_drug_line(admins, code, facts.weight, profile)
    if setting == Setting.FACILITY:
        out = r_units_03_packaged_under_opps(out, profile)
    return r_units_06_esa_route_modifier(out, facts) if dialysis else out


def r_units_06_esa_route_modifier(out: Outcome, facts: Extraction) -> Outcome:
    """ESA lines for an ESRD patient carry JA (given IV) or JB (given SC): CMS Pub 100-04
    ch. 8 s.60.4.2 and ch. 17 s.80.11 (as Palmetto GBA's JA modifier page cites them). Only
    the "(for ESRD on dialysis)" codes, only with the route documented."""
    routes = {a.generic: a.route for a in facts.administrations}
    esa = {r.code: r.generic for g in _ESA_GENERICS for r in drug_code_rows(g)
           if _ESRD_QUALIFIER in (r.qualifier or "")}
    for line in out.codes:
        if line.system != "HCPCS" or line.code not in esa:
            continue
        mod = {Route.IV: "JA", Route.SC: "JB"}.get(routes.get(esa[line.code]))
        if mod is not None and mod not in line.modifiers:
            line.modifiers.append(mod)
    return out
