"""Regression gate: which headline metrics dropped by more than the tolerance."""

from __future__ import annotations

# Counts of wrong bills: any increase is a regression, whatever the tolerance.
LOWER_IS_BETTER = frozenset({"over_billed_lines", "over_billed_units", "over_billed_notes"})


def regressions(current: dict, baseline: dict, tolerance: float) -> list[str]:
    """One line per headline metric that fell by more than `tolerance` (absolute).

    Only metrics present in both runs and scored as fractions are compared; counts
    such as `notes` are not quality metrics.
    """
    dropped = []
    for name in sorted(LOWER_IS_BETTER & set(baseline) & set(current)):
        before, after = baseline[name], current[name]
        if isinstance(before, int) and isinstance(after, int) and after > before:
            dropped.append(f"{name}: {before} -> {after} (+{after - before}; wrong bills)")
    for name, before in sorted(baseline.items()):
        after = current.get(name)
        if name == "notes" or not isinstance(before, float) or not isinstance(after, float):
            continue
        if before - after > tolerance:
            dropped.append(f"{name}: {before:.3f} -> {after:.3f} (-{before - after:.3f})")
    return dropped
