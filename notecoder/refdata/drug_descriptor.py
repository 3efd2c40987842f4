"""Parse a CMS HCPCS drug descriptor into name, product, billing amount and unit, route.

    "Injection, ceftriaxone sodium, per 250 mg"                  -> ceftriaxone sodium, 250 mg
    "Injection, piperacillin sodium/tazobactam sodium, 1 gram/0.125 grams (1.125 grams)"
                                                                 -> 1.125 g (combined dose)
    "Injection, infliximab-axxq, biosimilar, (avsola), 10 mg"    -> product infliximab-axxq
    "Injection, morphine sulfate, up to 10 mg"                   -> 10 mg, up_to
    "Methotrexate; oral, 2.5 mg"                                 -> route oral
    "5% dextrose/water (500 ml = 1 unit)"                        -> 500 mL

Descriptors without one measurable billing amount (per vial, per dose, fixed
combinations, "not otherwise specified" with no amount) return None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNIT_WORDS = {
    "mg": "mg", "milligram": "mg", "milligrams": "mg",
    "g": "g", "gm": "g", "gram": "g", "grams": "g",
    "mcg": "mcg", "microgram": "mcg", "micrograms": "mcg",
    "ml": "mL", "cc": "mL",
    "unit": "units", "units": "units", "iu": "units",
    "meq": "mEq",
}
_NUMBER = r"\d[\d,]*(?:\.\d+)?|\.\d+"
_AMOUNT = re.compile(
    rf"(?P<up_to>up\s+to\s+)?(?P<value>{_NUMBER})\s*(?P<million>million\s+)?"
    r"(?P<unit>milligrams?|micrograms?|grams?|mg|mcg|gm|g|ml|cc|units?|iu|meq)\b",
    re.I)
# "(500 ml = 1 unit)": the billing amount is the volume one unit stands for.
_EQUALS_UNIT = re.compile(rf"\((?P<value>{_NUMBER})\s*(?P<unit>ml|cc)\s*=\s*1\s+unit\)", re.I)
# "1 gram/0.125 grams (1.125 grams)": the combined dose in brackets is the unit.
_COMBINED = re.compile(rf"\((?P<value>{_NUMBER})\s*(?P<unit>grams?|gm|g|mg)\)", re.I)
_ROUTES = [
    ("oral", re.compile(r"\boral\b|\bper os\b|\borally\b", re.I)),
    ("IV", re.compile(r"\bintravenous\b|\biv\b", re.I)),
    ("SC", re.compile(r"\bsubcutaneous\b|\bsc\b|\bsubq\b", re.I)),
    ("IM", re.compile(r"\bintramuscular\b|\bim\b", re.I)),
    ("inhalation", re.compile(r"\binhalation\b", re.I)),
    ("intravitreal", re.compile(r"\bintravitreal\b|\bintraocular\b", re.I)),
    ("intrathecal", re.compile(r"\bintrathecal\b|\bepidural\b", re.I)),
    ("nasal", re.compile(r"\bnasal\b", re.I)),
    ("topical", re.compile(r"\btopical\b|\bophthalmic\b|\bpatch\b", re.I)),
    ("intravesical", re.compile(r"\bintravesical\b", re.I)),
    ("intra-articular", re.compile(r"\bintra-articular\b|\bintraarticular\b", re.I)),
    ("implant", re.compile(r"\bimplant\b|\binsert\b|\bintrauterine\b", re.I)),
    ("rectal", re.compile(r"\brectal\b|\bsuppository\b", re.I)),
]
_LEADS = re.compile(r"^(?:injection|infusion|inj\.?|oral)\s*[,;]?\s*", re.I)
_NAME_TAILS = re.compile(
    r"\s+(?:injection|infusion|for injection|oral|parenteral|implant|solution|"
    r"for depot suspension|inhalation solution)$", re.I)
_BIOSIMILAR = re.compile(r"^(?P<base>[a-z0-9 ]+?)-(?P<suffix>[a-z]{4})$")
# Bracketed words that qualify a code rather than name a product.
_NOT_A_BRAND = re.compile(
    r"e\.g\.|i\.e\.|%|\b(?:use|esrd|for|unit|units|ml|mg|gram|grams|per|not|only|other|"
    r"including|without|with|list|separately|percent|vial|dose|human|recombinant|"
    r"synthetic|lyophilized|sterile|pf|preservative|liquid|powder)\b", re.I)
# Qualifiers that mark the reference / general-use code rather than a variant.
_REFERENCE_QUALIFIERS = re.compile(
    r"^(?:not otherwise specified|nos|excludes biosimilar|biosimilar|"
    r"\(?(?:for )?non-esrd use\)?|powder or solution|per|for depot suspension)$", re.I)


@dataclass(frozen=True)
class DrugDescriptor:
    """What a CMS drug descriptor says about the drug and its billing unit."""

    name: str  # nonproprietary name as written, lower case ("ceftriaxone sodium")
    product: str  # biosimilar name with suffix or bracketed brand, "" for none
    amount: float
    unit: str  # g, mg, mcg, mL, units, mEq
    up_to: bool
    route: str  # IV, SC, IM, oral, other named routes, "" when none
    qualifier: str  # remaining descriptor words that set this code apart, "" for none
    brand: str = ""  # first bracketed brand or maker ("avsola", "fresenius kabi"), "" if none


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def billing_amount(text: str) -> tuple[float, str, bool] | None:
    """(amount, unit, up_to) of the descriptor's billing unit, or None."""
    equals = _EQUALS_UNIT.search(text)
    if equals:
        return _value(equals["value"]), "mL", False
    amounts = list(_AMOUNT.finditer(text))
    if not amounts:
        return None
    combined = _COMBINED.search(text)
    if combined and len(amounts) >= 3 and combined.start() > amounts[0].start():
        return _value(combined["value"]), _UNIT_WORDS[combined["unit"].lower()], False
    last = amounts[-1]
    # Two doses joined by "and"/"/" with no combined total: a fixed combination, no unit.
    between = text[amounts[-2].end():last.start()] if len(amounts) >= 2 else ""
    if len(amounts) >= 2 and re.search(r"\band\b|/", between) and "," not in between:
        return None
    value = _value(last["value"]) * (1_000_000 if last["million"] else 1)
    if value <= 0:
        return None
    return value, _UNIT_WORDS[last["unit"].lower()], bool(last["up_to"])


def descriptor_route(text: str) -> str:
    """The first route the descriptor names (oral before IV: "oral" codes are never
    injections), or ""."""
    for route, pattern in _ROUTES:
        if pattern.search(text):
            return route
    return ""


def _thousands(text: str, at: int) -> bool:
    """True when the comma at `at` separates thousands ("100,000 units")."""
    return (text[at] == "," and 0 < at < len(text) - 3 and text[at - 1].isdigit()
            and text[at + 1:at + 4].isdigit())


def _segments(text: str) -> list[str]:
    """Comma/semicolon segments, keeping bracketed text (which may hold commas) and
    thousands separators whole."""
    parts, depth, begin = [], 0, 0
    for at, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if char in ",;" and depth == 0 and not _thousands(text, at):
            parts.append(text[begin:at].strip())
            begin = at + 1
    parts.append(text[begin:].strip())
    return [p for p in parts if p]


def _brands(segment: str) -> tuple[str, list[str], list[str]]:
    """Segment without its bracketed parts, the brackets that look like brand names, and
    the other brackets that qualify the code ("for esrd on dialysis")."""
    brands, qualifiers = [], []
    for inner in re.findall(r"\(([^()]*)\)", segment):
        words = inner.strip().lower()
        if words and not _NOT_A_BRAND.search(words) and not re.search(r"\d", words):
            brands.append(words)
        elif words and not re.search(r"\d", words) and not _REFERENCE_QUALIFIERS.match(words):
            qualifiers.append(words)
    return re.sub(r"\s*\([^()]*\)", "", segment).strip(), brands, qualifiers


def parse_drug_descriptor(text: str) -> DrugDescriptor | None:
    """Name, product, billing amount/unit, up-to flag, route and qualifier of a CMS drug
    descriptor; None when it names no single measurable billing amount."""
    amount = billing_amount(text)
    if amount is None:
        return None
    body = _LEADS.sub("", text.strip())
    segments = _segments(body)
    if not segments:
        return None
    name_segment, brands, rest = _brands(segments[0])
    name = _NAME_TAILS.sub("", name_segment.lower()).strip(" ,;")
    name = _AMOUNT.sub("", name).strip(" ,;")  # "Ringers lactate infusion, up to 1000 cc"
    name = re.sub(r"\s+", " ", name)
    if not name or not re.search(r"[a-z]{3}", name):
        return None
    for segment in segments[1:]:
        plain, more, bracketed = _brands(segment)
        brands += more
        rest += bracketed
        plain = _AMOUNT.sub("", plain).strip(" ,;")
        plain = re.sub(r"^per$|^per\s+", "", plain).strip(" /()")
        if plain and not _REFERENCE_QUALIFIERS.match(plain):
            rest.append(plain.lower())
    route = descriptor_route(text)
    qualifier = ", ".join(r for r in rest if not any(p.fullmatch(r) for _, p in _ROUTES))
    product = ""
    biosimilar = _BIOSIMILAR.match(name)
    if biosimilar:
        product = name
    elif brands:
        product = brands[0]
    value, unit, up_to = amount
    return DrugDescriptor(name=name, product=product, amount=value, unit=unit, up_to=up_to,
                          route=route, qualifier=qualifier, brand=brands[0] if brands else "")


def base_name(name: str) -> str:
    """The name without a biosimilar suffix ("infliximab-dyyb" -> "infliximab")."""
    match = _BIOSIMILAR.match(name)
    return match["base"] if match else name
