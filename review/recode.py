"""Re-coding after new documentation is a diff (issue 14 item 6).

A CDI answer or an addendum adds text to a note and the worker codes it again. The new
coding's lines are matched to the previous coding's by code system and the engine's own
suggestion (not the coder's edit of it):

- the same suggestion (code, units, modifiers) again: the line keeps the coder's decision
  (accepted, edited with its values and reason, rejected) and is not marked;
- the same code with other units or modifiers: marked "changed", with what the claim had
  there before, and waits for a decision;
- a code the previous coding did not suggest: marked "new";
- a line the coder had kept (accepted or edited) that the re-coding no longer suggests:
  carried over marked "removed", waiting for a decision (accept keeps it, reject drops it);
- lines the coder added by hand: carried over as they were.

Nothing here touches the database; the worker (`review.service`) adds the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from review.db import CodeLineRow, LineChange, LineStatus

MANUAL_RULE = "MANUAL"
KEPT = (LineStatus.ACCEPTED, LineStatus.EDITED)
REMOVED_WHY = ("The new documentation no longer supports this line; accept it to keep it "
               "on the claim, or reject it.")


@dataclass
class Diff:
    """How many lines of a re-coding kept a decision, changed, are new, were dropped."""

    kept: int = 0
    changed: int = 0
    new: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"kept": self.kept, "changed": self.changed, "new": self.new,
                "removed": self.removed}

    @property
    def any_change(self) -> bool:
        return bool(self.changed or self.new or self.removed)


def line_view(line: CodeLineRow) -> dict:
    """A line's claim values and decision, as the audit trail records them."""
    return {"system": line.system, "code": line.code, "units": line.units,
            "modifiers": list(line.modifiers or []), "status": line.status,
            "reason": line.reason}


def suggestion(system: str, code: str, units: int | None, modifiers: Iterable[str]) -> dict:
    """The engine's own line, as stored in `CodeLineRow.suggested`."""
    return {"system": system, "code": code, "units": units, "modifiers": list(modifiers)}


def _engine_view(line: CodeLineRow) -> dict:
    """What the engine suggested for a line (lines coded before migration 0005 have no
    `suggested`: their claim values stand in)."""
    if line.suggested is not None:
        return line.suggested
    return suggestion(line.system, line.code, line.units, line.modifiers or [])


def _match(new: CodeLineRow, candidates: list[CodeLineRow]) -> CodeLineRow | None:
    """The previous line this new line continues: the same suggestion, else the same code."""
    wanted = new.suggested or {}
    same_code = [old for old in candidates if old.system == new.system
                 and _engine_view(old)["code"] == wanted.get("code")]
    exact = [old for old in same_code if _engine_view(old) == wanted]
    return (exact or same_code or [None])[0]


def _keep_decision(old: CodeLineRow, new: CodeLineRow) -> None:
    new.code, new.units, new.modifiers = old.code, old.units, list(old.modifiers or [])
    new.status, new.reason, new.flag = old.status, old.reason, old.flag
    new.decided_by, new.decided_at = old.decided_by, old.decided_at


def _carried(old: CodeLineRow, **changes) -> CodeLineRow:
    """A copy of a previous line for the new version (position and version set later)."""
    values = {"system": old.system, "code": old.code, "units": old.units,
              "modifiers": list(old.modifiers or []), "rule": old.rule,
              "rationale": old.rationale, "evidence": list(old.evidence or []),
              "status": old.status, "reason": old.reason, "decided_by": old.decided_by,
              "decided_at": old.decided_at, "suggested": old.suggested, "flag": old.flag,
              "agreement": old.agreement}
    values.update(changes)
    return CodeLineRow(**values)


def carry_over(old_lines: list[CodeLineRow], new_lines: list[CodeLineRow]
               ) -> tuple[list[CodeLineRow], Diff]:
    """Carry the coder's decisions from the previous coding onto the new lines (changed in
    place) and mark what changed; returns the previous lines to add again (hand-added
    ones, and kept ones no longer suggested) and the counts."""
    diff = Diff()
    unmatched = [old for old in old_lines if old.rule != MANUAL_RULE]
    for new in new_lines:
        old = _match(new, unmatched)
        if old is None:
            new.change = LineChange.NEW
            diff.new += 1
            continue
        unmatched.remove(old)
        if _engine_view(old) == new.suggested:
            _keep_decision(old, new)
            diff.kept += old.status != LineStatus.SUGGESTED
        else:
            new.change, new.previous = LineChange.CHANGED, line_view(old)
            diff.changed += 1
    extra = [_carried(old, change=None) for old in old_lines if old.rule == MANUAL_RULE]
    for old in unmatched:
        if old.status in KEPT:
            extra.append(_carried(old, status=LineStatus.SUGGESTED, change=LineChange.REMOVED,
                                  previous=line_view(old), rationale=REMOVED_WHY,
                                  reason=None, decided_by=None, decided_at=None))
            diff.removed += 1
    return extra, diff
