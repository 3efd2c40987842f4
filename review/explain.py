"""Codes that explain themselves (issue 14 item 4): what a code means, its MUE, look-up.

- ICD-10-CM: the official tabular title of the configured code set (`engine.icd10cm`).
- HCPCS Level II: the CMS descriptor of the drug table in use (`engine.tables`).
- CPT: the project's own short wording of the codes the engine knows (`CPT_WORDS`). These
  are paraphrases written for this project, never AMA CPT descriptor text.
- Units: the CMS practitioner MUE (`engine.tables.mue_limit`), the most units a day.
"""

from __future__ import annotations

from functools import cache

from review.codes import DEFAULT_CODE_SET, KNOWN_CPT, CodeSetKey

LOOKUP_LIMIT = 20

_LEVELS = {1: "minimal", 2: "straightforward", 3: "low", 4: "moderate", 5: "high"}

# Our own words for each CPT code the engine can put on a claim (a test keeps the keys in
# step with review.codes.KNOWN_CPT). Short, plain, and not the AMA descriptors.
CPT_WORDS: dict[str, str] = {
    "96360": "Hydration by IV, first hour",
    "96361": "Hydration by IV, each added hour",
    "96365": "IV infusion for therapy or diagnosis, first hour",
    "96366": "IV infusion for therapy or diagnosis, each added hour",
    "96367": "IV infusion, a further drug given in sequence, first hour",
    "96368": "IV infusion running at the same time as another (concurrent)",
    "96369": "Infusion under the skin, first hour, pump set-up included",
    "96370": "Infusion under the skin, each added hour",
    "96371": "Infusion under the skin, added pump set-up at a new site",
    "96372": "Injection under the skin or into a muscle, for therapy or diagnosis",
    "96373": "Injection into an artery",
    "96374": "IV push, one drug or the first of several",
    "96375": "IV push, each added sequential push of a new drug",
    "96376": "IV push, each added sequential push, same drug",
    "96401": "Chemotherapy injection under the skin or into a muscle, not hormonal",
    "96402": "Chemotherapy injection under the skin or into a muscle, hormonal",
    "96409": "Chemotherapy IV push, one drug or the first",
    "96411": "Chemotherapy IV push, each added drug",
    "96413": "Chemotherapy IV infusion, first hour",
    "96415": "Chemotherapy IV infusion, each added hour",
    "96416": "Chemotherapy infusion started on a pump that runs more than 8 hours",
    "96417": "Chemotherapy IV infusion, each added drug in sequence, first hour",
    "96521": "Refill and upkeep of a portable pump",
    "96522": "Refill and upkeep of an implanted pump or reservoir",
    "96523": "Clearing a blocked implanted venous access device",
    **{f"9920{n}": f"Office or outpatient visit, new patient, {_LEVELS[n]} decision-making"
       for n in range(2, 6)},
    "99211": "Office or outpatient visit, established patient, no physician needed",
    **{f"9921{n}": f"Office or outpatient visit, established patient, {_LEVELS[n]} "
                   "decision-making" for n in range(2, 6)},
    **{f"9928{n}": f"Emergency department visit, level {n} of 5" for n in range(1, 6)},
}


@cache
def _hcpcs_descriptions() -> dict[str, str]:
    from engine.tables import UNCLASSIFIED_DRUG_CODE, drug_codes

    found = {UNCLASSIFIED_DRUG_CODE: "Unclassified drugs"}
    for rows in drug_codes().values():
        for row in rows:
            found.setdefault(row.code, row.description)
    return found


def description(system: str, code: str, code_set: CodeSetKey = DEFAULT_CODE_SET) -> str:
    """What the code means in words ("" when unknown): official titles for ICD-10-CM and
    HCPCS, the project's own wording for CPT."""
    code = (code or "").strip().upper()
    if system == "ICD-10-CM":
        from engine.icd10cm import code_set as load_code_set

        return load_code_set(*code_set).description(code)
    if system == "HCPCS":
        return _hcpcs_descriptions().get(code, "")
    if system == "CPT":
        return CPT_WORDS.get(code, "")
    return ""


def mue(system: str, code: str) -> int | None:
    """The most units of the code a day (CMS practitioner MUE), or None (no MUE; ICD)."""
    if system == "ICD-10-CM":
        return None
    from engine.tables import mue_limit

    return mue_limit(code)


def lookup(system: str, text: str, code_set: CodeSetKey = DEFAULT_CODE_SET,
           limit: int = LOOKUP_LIMIT) -> list[dict[str, str]]:
    """Codes for type-ahead: those starting with `text`, else whose words hold it."""
    text = text.strip()[:60]
    if not text:
        return []
    if system == "ICD-10-CM":
        from engine.icd10cm import code_set as load_code_set

        found = load_code_set(*code_set).search(text, limit)
    else:
        table = CPT_WORDS if system == "CPT" else _hcpcs_descriptions()
        codes = sorted(KNOWN_CPT) if system == "CPT" else sorted(table)
        upper, words = text.upper(), text.lower().split()
        found = [(c, table.get(c, "")) for c in codes if c.startswith(upper)]
        if not found:
            found = [(c, table.get(c, "")) for c in codes
                     if all(w in table.get(c, "").lower() for w in words)]
        found = found[:limit]
    return [{"code": code, "description": words} for code, words in found]
