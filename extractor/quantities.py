"""Quantity grammar: clock times, time ranges, durations, amounts and weights in note text.

Every finding carries exact character offsets into the original text
(`text[f.start:f.end] == f.text`). This module only finds and normalises; other
code decides which drug a quantity belongs to.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_I = re.IGNORECASE


@dataclass(frozen=True)
class ClockTime:
    hour: int
    minute: int
    start: int
    end: int
    text: str

    @property
    def minutes(self) -> int:
        return self.hour * 60 + self.minute


@dataclass(frozen=True)
class TimeRange:
    first: ClockTime
    second: ClockTime
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Duration:
    minutes: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Amount:
    value: float
    unit: str
    per_kg: bool
    kind: str
    start: int
    end: int
    text: str
    per_m2: bool = False  # "375 mg/m2": a dose per square metre of body surface


@dataclass(frozen=True)
class Weight:
    value: float
    unit: str
    start: int
    end: int
    text: str

    @property
    def kg(self) -> float:
        return self.value if self.unit == "kg" else self.value / 2.2046


_MERIDIEM = r"(?:\s?(?P<{n}>[ap])(?:m|\.\s?m\.)(?![a-z])|(?P<{n}s>[ap])(?![a-z]))"
_COLON_TIME = (r"(?<![\d:./])(?P<{h}>[01]?\d|2[0-3]):(?P<{m}>[0-5]\d)(?![\d:])"
               r"(?:" + _MERIDIEM + r")?")
_HOUR_MERIDIEM = r"(?<![\d:./])(?P<{h}>1[0-2]|0?[1-9])\s?(?P<{n}>[ap])(?:m|\.\s?m\.)(?![a-z])"
_MILITARY = r"(?<![\d$#.,/:])(?P<{h}>[01]\d|2[0-3])(?P<{m}>[0-5]\d)(?!\d|[.,]\d|/|\s?%)"

# A bare four-digit number is a time only with a suffix (h, hr, hrs), an @ before it,
# inside a range, or after a time cue word on the same line within 25 characters;
# otherwise 2024 would read as 20:24 and 1000 (mL) as 10:00.
_TIME_CUE = re.compile(
    r"(?:\b(?:at|start(?:ed|ing)?|begin|began|initiated|hung|stop(?:ped)?|end(?:ed)?|"
    r"complete[d]?|finished|discontinued|d/c|dc'd|until|till|from|to|time|infused|infusion|"
    r"given|administered|pushed|push|off)\b|@)[^\n]{0,25}$", _I)
_UNIT_AFTER = re.compile(
    r"\s?(?:mg|g|gm|grams?|mcg|µg|ug|ml|mL|cc|l\b|liters?|units?|u\b|meq|kg|lbs?|pounds|%|"
    r"mmol|iu)", _I)
_MIL_SUFFIX = re.compile(r"\s?(?:h|hr|hrs|hours)\b", _I)
_LINE_LEAD = re.compile(r"[\s\-*•>]*")
# "1410 Zofran 4 mg", "1104 5-FU 804 mg" (a name that starts with a digit and a hyphen).
_WORD_AFTER = re.compile(r"\s*[:\-]?\s+(?:[A-Za-z]|\d-[A-Za-z])")


def _compile(template: str, **names: str) -> re.Pattern[str]:
    return re.compile(template.format(**names), _I)


_RE_COLON = _compile(_COLON_TIME, h="h", m="m", n="n", ns="ns")
_RE_HOUR = _compile(_HOUR_MERIDIEM, h="h", n="n")
_RE_MIL = _compile(_MILITARY, h="h", m="m")


def _resolve(hour: int, meridiem: str | None) -> int:
    if meridiem is None:
        return hour
    meridiem = meridiem.lower()
    if meridiem == "a":
        return 0 if hour == 12 else hour
    return hour if hour == 12 else hour + 12


def _meridiem(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    return groups.get("n") or groups.get("ns")


def _military_ok(text: str, match: re.Match[str], in_range: bool) -> bool:
    if _UNIT_AFTER.match(text, match.end()):
        return False
    if in_range:
        return True
    if re.match(r"\s?[-/]\s?\d", text[match.end():match.end() + 4]):
        return False  # a date such as 2024-11-24
    before = text[max(0, match.start() - 12):match.start()]
    if re.search(r"\b(?:x|#|\$)\s*$", before, _I) or re.search(r"\d\s*[/-]\s*$", before):
        return False
    if _MIL_SUFFIX.match(text, match.end()) or before.rstrip().endswith("@"):
        return True
    line_start = text.rfind("\n", 0, match.start()) + 1
    if _LINE_LEAD.fullmatch(text[line_start:match.start()]) and _WORD_AFTER.match(
            text, match.end()):
        return True  # a timed charting line: "1410 Zofran 4 mg IVP given."
    return bool(_TIME_CUE.search(text[line_start:match.start()]))


def _clock(text: str, start: int, end: int, hour: int, minute: int) -> ClockTime:
    return ClockTime(hour, minute, start, end, text[start:end])


def _all_times(text: str, military_in_range: set[int] | None = None) -> list[ClockTime]:
    found: list[ClockTime] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in _RE_COLON.finditer(text):
        if re.match(r"\s?(?:mg|ml|g|units?)\b", text[m.end():], _I):
            continue  # ratios like "1:1000" are not times
        end = m.end() if _meridiem(m) else m.end("m")
        hour = _resolve(int(m.group("h")), _meridiem(m))
        if _meridiem(m) and int(m.group("h")) > 12:
            continue
        found.append(_clock(text, m.start(), end, hour, int(m.group("m"))))
        taken.append((m.start(), end))
    for m in _RE_HOUR.finditer(text):
        if free(m.start(), m.end()):
            found.append(_clock(text, m.start(), m.end(), _resolve(int(m.group("h")),
                                                                 m.group("n")), 0))
            taken.append((m.start(), m.end()))
    for m in _RE_MIL.finditer(text):
        if not free(m.start(), m.end()):
            continue
        in_range = military_in_range is not None and m.start() in military_in_range
        if not _military_ok(text, m, in_range):
            continue
        end = m.end()
        suffix = _MIL_SUFFIX.match(text, end)
        if suffix:
            end = suffix.end()
        found.append(_clock(text, m.start(), end, int(m.group("h")), int(m.group("m"))))
        taken.append((m.start(), end))
    for m in _DOTTED.finditer(text):
        if free(m.start(), m.end()) and _dotted_ok(text, m, found):
            found.append(_clock(text, m.start(), m.end(), int(m.group("h")), int(m.group("m"))))
            taken.append((m.start(), m.end()))
    for m in _RE_WORDS.finditer(text):
        if m.group("rel") and m.group("rel").lower() in ("to", "before") and not \
                _TIME_INTRO.search(text, max(0, m.start() - 16), m.start()):
            continue
        if free(m.start(), m.end()):
            hour, minute = _word_time(m)
            found.append(_clock(text, m.start(), m.end(), hour, minute))
            taken.append((m.start(), m.end()))
    return sorted(found, key=lambda t: t.start)


# European clock times with a dot ("Start 09.10 - End 10.41"): two-digit hour and minutes,
# never a decimal with a unit, a date ("22.02.2026") or a bare number; only after a time
# word or a dash from another dotted time.
_DOTTED = re.compile(r"(?<![\d.,/])(?P<h>[01]\d|2[0-3])\.(?P<m>[0-5]\d)(?!\d|[.,]\d)", _I)
_DOTTED_CUE = re.compile(r"\b(?:start(?:ed|s)?|end(?:ed|s)?|stop(?:ped|s)?|from|at|until|till|"
                         r"time|began|begun|finished|complete[ds]?|off|on)\s*:?\s*$", _I)


def _dotted_ok(text: str, m: re.Match[str], found: list[ClockTime]) -> bool:
    if _UNIT_AFTER.match(text, m.end()) or re.match(r"\s?%", text[m.end():m.end() + 2]):
        return False
    before = text[max(0, m.start() - 16):m.start()]
    if _DOTTED_CUE.search(before):
        return True
    return bool(re.search(r"[-–]\s*$", before)) and any(
        t.end <= m.start() and "." in t.text and
        re.fullmatch(r"\s*[-–]\s*", text[t.end:m.start()]) for t in found)


# Dictated notes write times in words: "at a quarter past two", "twenty to three", "half
# past four", "three o'clock". The hour stays as written (12-hour, no am/pm guessed), so
# times of one note keep their order and the minutes between them.
_WORD_HOURS = {w: n for n, w in enumerate(("one", "two", "three", "four", "five", "six",
                                            "seven", "eight", "nine", "ten", "eleven",
                                            "twelve"), start=1)}
_MINUTES = {"five": 5, "ten": 10, "quarter": 15, "a quarter": 15, "twenty": 20,
            "twenty-five": 25, "twenty five": 25, "half": 30}
_HOUR_WORD = "(?P<hour>" + "|".join(sorted(_WORD_HOURS, key=len, reverse=True)) + ")"
_RE_WORDS = re.compile(
    r"\b(?:(?P<min>a quarter|quarter|half|twenty[- ]five|twenty|ten|five)\s+(?P<rel>past|after|"
    r"to|before)\s+" + _HOUR_WORD + r"|" + _HOUR_WORD.replace("hour", "oclock") +
    r"\s+o'?\s?clock)\b(?!\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|times|"
    r"mg|ml|mL|units?|%|percent|out of|/))", _I)
# "five to ten minutes" is a count: a "to"/"before" time needs a word that introduces a time.
_TIME_INTRO = re.compile(r"\b(?:at|by|from|until|till|around|about|approximately|since|"
                         r"and|then)\s+$|@\s*$", _I)


def _word_time(m: re.Match[str]) -> tuple[int, int]:
    if m.group("oclock"):
        return _WORD_HOURS[m.group("oclock").lower()], 0
    hour = _WORD_HOURS[m.group("hour").lower()]
    minutes = _MINUTES[m.group("min").lower().replace("-", " ").replace("twenty five",
                                                                          "twenty-five")]
    if m.group("rel").lower() in ("to", "before"):
        return (hour - 1) or 12, 60 - minutes
    return hour, minutes


_RANGE_JOIN = re.compile(r"^\s*(?:-|–|—|to|until|till|through)\s*$", _I)
_MIL_PAIR = re.compile(
    r"(?<![\d$#.,/:-])(?:[01]\d|2[0-3])[0-5]\d\s*(?:-|–|—|to|until)\s*(?:[01]\d|2[0-3])[0-5]\d"
    r"(?!\d|[.,]\d|/|\s?(?:mg|ml|g|units?|%))", _I)


def find_clock_times(text: str) -> list[ClockTime]:
    """Clock times in any common form (10:15, 10:15 AM, 9am, 1015, 2215 hrs)."""
    return _all_times(text, _military_range_starts(text))


def _military_range_starts(text: str) -> set[int]:
    starts: set[int] = set()
    for m in _MIL_PAIR.finditer(text):
        starts.add(m.start())
        second = re.search(r"(?:[01]\d|2[0-3])[0-5]\d$", m.group(0))
        if second:
            starts.add(m.start() + second.start())
    return starts


def find_time_ranges(text: str) -> list[TimeRange]:
    """Pairs of times joined by a dash, 'to' or 'until' (optionally after 'from')."""
    times = find_clock_times(text)
    ranges: list[TimeRange] = []
    used: set[int] = set()
    for a, b in itertools.pairwise(times):
        if a.start in used:
            continue
        if not _RANGE_JOIN.match(text[a.end:b.start]):
            continue
        first = a
        # "9:00-11:15 AM": a trailing meridiem applies to an unmarked first time.
        if not re.search(r"[ap]\.?\s?m?\.?$", a.text, _I) and re.search(r"[ap]\.?\s?m?\.?$",
                                                                          b.text, _I):
            pm = b.hour >= 12
            hour = a.hour
            if pm and hour < 12 and hour + 12 <= b.hour:
                hour += 12
            first = ClockTime(hour, a.minute, a.start, a.end, a.text)
        start = a.start
        lead = re.search(r"\bfrom\s*$", text[max(0, a.start - 6):a.start], _I)
        if lead:
            start = a.start - (len(text[max(0, a.start - 6):a.start]) - lead.start())
        ranges.append(TimeRange(first, b, start, b.end, text[start:b.end]))
        used.update({a.start, b.start})
    return ranges


_NUMBER_WORDS = {"one": 1.0, "an": 1.0, "a": 1.0, "two": 2.0, "three": 3.0, "four": 4.0,
                 "half an": 0.5, "half a": 0.5}
_NUM = r"(?:\d+(?:\.\d+)?|\.\d+|one|two|three|four|an|a|half an|half a)"
_HOURS = r"(?:hours?|hrs?|h)"
_MINS = r"(?:minutes?|mins?|m)"
_DURATION = re.compile(
    r"(?:(?P<lead>\b(?:over|x|for|infused over|ran over|run over)\s*)?)"
    r"(?:(?P<h>" + _NUM + r")\s*-?\s*" + _HOURS + r"(?:\s*(?:and\s*)?(?P<hm>\d+)\s*-?\s*"
    + _MINS + r")?|(?P<m>\d+)\s*-?\s*" + _MINS + r")\b(?!\s*(?:ago|/|per))",
    _I,
)


def _num(value: str) -> float:
    return _NUMBER_WORDS.get(value.lower()) or float(value)


def find_durations(text: str) -> list[Duration]:
    """Stated durations ('over 30 minutes', 'infused over 1 hr', '2 h 10 min').

    The span includes a leading 'over', 'x' or 'for' when present. Frequencies
    (q8h, every 8 hours, per hour) and rates are not durations.
    """
    found: list[Duration] = []
    for m in _DURATION.finditer(text):
        before = text[max(0, m.start() - 8):m.start()].lower()
        if re.search(r"(?:\bq|every|per|/|\bat)\s*$", before) or re.search(r"\bq\d", text[m.start():
                                                                                     m.end()]):
            continue
        if m.group("h") is None and m.group("m") is None:
            continue
        unit_text = text[m.start():m.end()]
        if m.group("lead") is None and re.fullmatch(r"\d+\s*-?\s*(?:h|m)", unit_text, _I):
            continue  # bare "8h"/"5m" without a lead word is too ambiguous
        if m.group("h") is not None:
            minutes = _num(m.group("h")) * 60 + (int(m.group("hm")) if m.group("hm") else 0)
        else:
            minutes = float(m.group("m"))
        found.append(Duration(round(minutes), m.start(), m.end(), text[m.start():m.end()]))
    return found


# "1,5 g", "0,9 %" (a decimal comma, European style: one or two digits after it) is 1.5, never
# 5; "1,500 mg" (three digits) is a thousands separator.
_VALUE = (r"(?P<v>\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\d,])\d{1,4},\d{1,2}(?![\d,])|\d+(?:\.\d+)?"
          r"|(?<!\.)\.\d+)")
_AMOUNT = re.compile(
    _VALUE + r"\s?(?P<u>mcg|µg|ug|mg|gm|grams?|g|meq|units?|ml|cc|liters?|litres?|l)"
    r"(?:(?P<perkg>\s?(?:/|per)\s?kg)|(?P<perm2>\s?(?:/|per)\s?(?:m2|m²|m\^2|sq\.?\s?m\b))"
    r"|(?P<conc>\s?/\s?(?:mL|ml|cc)\b))?"
    r"(?P<rate>\s?(?:/|per)\s?(?:hr|hour|h)\b)?(?![a-z])"
    # "vancomycin MIC 1 mg/l", "trough 14,8 mg/L", "glucose 82 mg/dL": a lab value, no dose.
    r"(?!\s?/\s?(?:l|dl)\b)",
    _I,
)
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")


def _value(v: str) -> float:
    """The number of a value match: a decimal comma read as a point, thousands commas
    dropped."""
    return float(v.replace(",", ".")) if _DECIMAL_COMMA.fullmatch(v) else float(v.replace(",", ""))


_GAUGES = {str(n) for n in range(14, 27)}
_GAUGE_AFTER = re.compile(r"\s*(?:[LR]\s+)?(?:PIV|IV\b|AC\b|antecubital|angio\w*|cath\w*|"
                          r"needle|gauge|butterfly|peripheral|placed|inserted|"
                          # "20g R hand", "22g left forearm": a catheter at its site.
                          r"(?:(?:right|left|rt|lt|R|L)\.?\s+)(?:hand|forearm|wrist|arm|upper arm|"
                          r"AC\b|antecubital|EJ\b|external jugular|foot|dorsum))", _I)
_GAUGE_BEFORE = re.compile(r"(?:PIV|IV|angio\w*|cath\w*)\s*$", _I)
_UNIT_NAMES = {"mcg": "mcg", "µg": "mcg", "ug": "mcg", "mg": "mg", "gm": "g", "gram": "g",
               "grams": "g", "g": "g", "meq": "mEq", "unit": "units", "units": "units",
               "ml": "mL", "cc": "mL", "liter": "mL", "liters": "mL", "litre": "mL",
               "litres": "mL", "l": "mL"}


_MILLION_UNITS = re.compile(r"(?<![\w.,])(?P<v>\d+(?:\.\d+)?)\s?(?:million|mill?\.?)\s?"
                            r"(?:units?|u)\b", _I)


def _after_leader(text: str, at: int) -> bool:
    """A value after dot leaders ("ENOX100......92 MG", a fixed-column export), not after
    a decimal point or a digit."""
    return text[at].isdigit() and text[max(0, at - 2):at] == ".."


def find_amounts(text: str) -> list[Amount]:
    """Doses, volumes and rates with normalised units ('1 g', '5 mg/kg', '125 mL/hr',
    '2.4 million units')."""
    found: list[Amount] = [
        Amount(float(m.group("v")) * 1e6, "units", False, "dose", m.start(), m.end(),
               m.group(0)) for m in _MILLION_UNITS.finditer(text) if float(m.group("v")) > 0]
    millions = [(a.start, a.end) for a in found]
    for m in _AMOUNT.finditer(text):
        if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] in ".,") \
                and not _after_leader(text, m.start()):
            continue
        if any(s <= m.start() < e for s, e in millions):
            continue
        if (m.group("u").lower() == "g" and m.group("v") in _GAUGES
                and (_GAUGE_AFTER.match(text, m.end())
                     or _GAUGE_BEFORE.search(text[max(0, m.start() - 12):m.start()]))):
            continue  # "22g PIV" is a catheter gauge, not a dose
        value = _value(m.group("v"))
        if value <= 0:
            continue
        raw = m.group("u").lower()
        unit = _UNIT_NAMES[raw]
        if raw in ("l", "liter", "liters", "litre", "litres"):
            value *= 1000
        per_kg = m.group("perkg") is not None
        per_m2 = m.group("perm2") is not None
        if m.group("rate") is not None and unit == "mL":
            found.append(Amount(value, "mL/hr", False, "rate", m.start(), m.end(),
                                text[m.start():m.end()]))
            continue
        # "100 units/mL", "40 mg/mL" (per one mL: a strength, never a dose; "5 mg/100 mL" is
        # a dose in its volume and reads as both).
        if m.group("conc") is not None and unit != "mL":
            found.append(Amount(value, f"{unit}/mL", False, "concentration", m.start(), m.end(),
                                text[m.start():m.end()]))
            continue
        if m.group("rate") is not None:  # "50 mg/h": a dosing rate, never a dose given
            found.append(Amount(value, f"{unit}/hr", False, "dose_rate", m.start(), m.end(),
                                text[m.start():m.end()]))
            continue
        end = m.end() if per_kg or per_m2 else m.end("u")
        kind = "volume" if unit == "mL" else "dose"
        found.append(Amount(value, unit, per_kg, kind, m.start(), end, text[m.start():end],
                            per_m2))
    return sorted(found, key=lambda a: a.start)


_WEIGHT = re.compile(
    r"(?<![\d,.])(?P<v>\d+(?:\.\d+|,\d{1,2}(?!\d))?)\s?(?P<u>kg|kgs|kilograms?|lbs?|pounds?)\b"
    r"(?!\s?/)", _I)


def find_weights(text: str) -> list[Weight]:
    """Patient weights in kg or lb ('Wt 80 kg', '176 lbs'); never the '/kg' of a dose."""
    found: list[Weight] = []
    for m in _WEIGHT.finditer(text):
        before = text[max(0, m.start() - 6):m.start()]
        if re.search(r"(?:/|per)\s*$", before, _I) or (m.start() > 0 and
                                                        text[m.start() - 1].isalnum()):
            continue
        unit = "kg" if m.group("u").lower().startswith("k") else "lb"
        found.append(Weight(_value(m.group("v")), unit, m.start(), m.end(),
                            text[m.start():m.end()]))
    return found
