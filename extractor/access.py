"""Access and device services documented without a drug given through them: a port or
catheter flush, a pump refill, a pump disconnect (RULES.md R-ADMIN-14 and the pump/port
rules in docs/rules-additions.md decide what, if anything, they bill)."""

from __future__ import annotations

import re

from notecoder.schema import AccessService, Span

_I = re.IGNORECASE
_SERVICES: list[tuple[str, re.Pattern[str]]] = [
    ("pump_refill_implanted", re.compile(
        r"\b(?:implanted|intrathecal|SynchroMed|programmable)\b[^\n.]{0,40}\b(?:pump|reservoir)"
        r"\b[^\n.]{0,30}\brefill(?:ed|ing)?\b|\brefill(?:ed|ing)?\b[^\n.]{0,30}\b(?:implanted|"
        r"intrathecal|SynchroMed)\b[^\n.]{0,20}\bpump\b", _I)),
    ("pump_refill_portable", re.compile(
        r"\b(?:pump|reservoir|cassette|CADD)\b[^\n.]{0,30}\b(?:refill(?:ed|ing)?|re-?filled|"
        r"replaced|exchanged?|changed?|swapped)\b|\b(?:refill(?:ed|ing)?|exchange|change)\b"
        r"[^\n.]{0,20}\b(?:pump|reservoir|cassette)\b|\bnew[ \t]+(?:cassette|reservoir)\b", _I)),
    ("pump_disconnect", re.compile(
        r"\b(?:pump|CADD|infusor|elastomeric)\b[^\n.]{0,30}\bdisconnect(?:ed|ion)?\b|"
        r"\bdisconnect(?:ed|ion)?\b[^\n.]{0,20}\b(?:pump|CADD|infusor)\b", _I)),
    ("port_flush", re.compile(
        r"\b(?:port|PICC|central line|CVC|Hickman|catheter|port-a-cath|mediport)\b[^\n.;]{0,25}"
        r"\bflush(?:ed|ing)?\b|\bflush(?:ed|ing)?\b[^\n.;]{0,20}\b(?:port|PICC|central line|CVC|"
        r"Hickman|mediport)\b", _I)),
]


_PLANNED = re.compile(r"[^\n.;]{0,6}\b(?:scheduled|planned|due|tomorrow|on \d|in \d+ ?(?:h|hours?|"
                      r"days?)|at home)\b", _I)


def extract_access_services(text: str, not_today: list[Span]) -> list[AccessService]:
    """One fact per documented service kind (its first mention), outside text that is not
    a record of today (copied-forward visits, plans)."""
    found: list[AccessService] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _SERVICES:
        for match in pattern.finditer(text):
            start, end = match.start(), match.end()
            if any(s.start <= start < s.end for s in not_today):
                continue
            if _PLANNED.match(text, end):
                continue  # "disconnect scheduled 02/27": not a service today
            if any(a < end and start < b for a, b in taken):
                continue  # a refill already read is not also a flush or disconnect
            span = Span(start=start, end=end)
            found.append(AccessService(id=f"S{len(found) + 1}", evidence=[span],
                                       field_spans={"text": span}, text=match.group(0),
                                       kind=kind))
            taken.append((start, end))
            break
    return found
