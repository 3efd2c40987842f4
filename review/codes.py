"""A code the coder types (an edit, a line added by hand), checked per code system.

- ICD-10-CM: billable in the configured code set (NOTECODER_ICD10CM_CODE_SET), else refused.
- CPT: five characters (digits, or four digits and F/T); the drug administration and E/M
  codes the engine knows (`KNOWN_CPT`) pass, any other well-formed code needs the coder's
  confirmation and is flagged on the line and in the export.
- HCPCS Level II: a letter and four digits; codes in the drug table pass, any other needs a
  confirmation and is flagged.
- Units: a whole number from 1 (ICD-10-CM lines have none).

No code descriptions here (and never AMA CPT descriptor text).
"""

from __future__ import annotations

import re
from functools import cache

from notecoder.errors import NotecoderError

SYSTEMS = ("CPT", "HCPCS", "ICD-10-CM")
MAX_UNITS = 2**31 - 1  # what an INTEGER column holds everywhere
CodeSetKey = tuple[str, str | None]  # (fiscal year, folder of generated tables or None)
DEFAULT_CODE_SET: CodeSetKey = ("fy2026", None)

_CPT = re.compile(r"\d{4}[0-9FT]")
_HCPCS = re.compile(r"[A-V]\d{4}")


def _codes(*ranges: tuple[int, int]) -> frozenset[str]:
    return frozenset(str(n) for first, last in ranges for n in range(first, last + 1))


# What engine/admin_rules.py and engine/em_rules.py can put on a claim (a test keeps the
# two in step): hydration, therapeutic/diagnostic and chemotherapy administration, pump
# refills; office/outpatient E/M (new 99202-99205, established 99211-99215) and emergency
# department levels 99281-99285.
KNOWN_CPT = _codes((96360, 96361), (96365, 96376), (96401, 96402), (96409, 96409),
                   (96411, 96411), (96413, 96413), (96415, 96417), (96521, 96523),
                   (99202, 99205), (99211, 99215), (99281, 99285))


class InvalidCode(NotecoderError):
    """A code or units the claim cannot hold (one sentence for the coder)."""


@cache
def drug_table_codes() -> frozenset[str]:
    """Every HCPCS code of the drug table in use (bundled or imported)."""
    from engine.tables import UNCLASSIFIED_DRUG_CODE, drug_codes

    return frozenset({UNCLASSIFIED_DRUG_CODE} | {row.code for rows in drug_codes().values()
                                                 for row in rows})


def check_units(system: str, units: int | None) -> None:
    """Units of a line: none for ICD-10-CM; else a whole number from 1 (or unknown)."""
    if units is None:
        return
    if system == "ICD-10-CM":
        raise InvalidCode("An ICD-10-CM line has no units.")
    if units < 1:
        raise InvalidCode("Units must be 1 or more.")
    if units > MAX_UNITS:
        raise InvalidCode(f"Units must be at most {MAX_UNITS:,}.")


def check_code(system: str, code: str, confirmed: bool = False,
               code_set: CodeSetKey = DEFAULT_CODE_SET) -> str | None:
    """Refuse a code the system cannot hold; the flag for a code the engine does not know
    (which needs `confirmed`), or None for a known code."""
    if system not in SYSTEMS:
        raise InvalidCode(f"Unknown code system '{system}'.")
    if not code or len(code) > 16 or not code.replace(".", "").isalnum():
        raise InvalidCode(f"'{code}' is not a code.")
    if system == "ICD-10-CM":
        _check_icd(code, code_set)
        return None
    if system == "CPT":
        shape, known, what = _CPT, KNOWN_CPT, "administration or E/M code notecoder knows"
    else:
        shape, known, what = _HCPCS, drug_table_codes(), "code in the HCPCS drug table"
    if not shape.fullmatch(code):
        raise InvalidCode(_format_message(system, code))
    if code in known:
        return None
    if not confirmed:
        raise InvalidCode(f"{system} {code} is not an {what}; tick 'Keep an unknown code' "
                          "to keep it anyway (the line is flagged in the export).")
    return f"{system} {code} is not an {what}; kept on the coder's confirmation."


def _format_message(system: str, code: str) -> str:
    if system == "CPT":
        return f"'{code}' is not a CPT code (five characters: digits, or four digits and F/T)."
    return f"'{code}' is not a HCPCS Level II code (a letter and four digits)."


def _check_icd(code: str, code_set: CodeSetKey) -> None:
    from engine.icd10cm import code_set as load_code_set

    codes = load_code_set(*code_set)
    if not codes.is_billable(code):
        raise InvalidCode(f"'{code}' is not a billable ICD-10-CM code ({codes.release}).")
