"""Policy profiles: named sets of rule settings kept as TOML files in `profiles/`.

The default profile `official` follows CPT/CMS guidance; the others reproduce a
documented alternative (shared/domain/RULES.md section 7).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from notecoder.errors import UnknownProfile

DEFAULT_PROFILE = "official"


class Profile(BaseModel):
    """Settings every rule reads; the defaults are the official values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    additional_hour_min_minutes: int = Field(default=91, ge=61, le=120)
    push_max_minutes: int = Field(default=15, ge=0, le=30)
    hydration_min_minutes: int = Field(default=31, ge=1, le=60)
    report_concurrent_fluid: bool = False
    unit_rounding: Literal["up", "down"] = "up"
    # R-ADMIN-12: complex biologics use the chemotherapy family (CMS Pub 100-04 ch. 12
    # §30.5, CR 13468); "therapeutic" is the payer alternative (96365-96368).
    complex_biologic_codes: Literal["therapeutic", "chemotherapy"] = "chemotherapy"
    # R-ADMIN-11: a stop earlier than the start reads as crossing midnight, but a crossing
    # longer than this is taken as contradictory times (no time-based code, a query).
    max_midnight_crossing_minutes: int = Field(default=720, ge=60, le=1440)
    # R-UNITS-03 on facility claims: a drug costing less than this per day (ASP payment limit
    # x units) is estimated packaged under OPPS (status N), so JW/JZ do not apply. CY2025 OPPS
    # final rule threshold; status indicators (Addendum B) are not in the reference data.
    opps_packaging_threshold_usd: float = Field(default=140.0, ge=0)

    def differences(self) -> dict[str, object]:
        """Settings in which this profile differs from the official defaults."""
        base = Profile(name="", description="").model_dump(exclude={"name", "description"})
        mine = self.model_dump(exclude={"name", "description"})
        return {key: value for key, value in mine.items() if base[key] != value}


def _profile_dir():
    return resources.files("engine") / "profiles"


@cache
def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """Load a bundled profile by name; raises UnknownProfile with the valid names."""
    entry = _profile_dir() / f"{name}.toml"
    if not entry.is_file():
        raise UnknownProfile(
            f"No policy profile named '{name}'; available: {', '.join(profile_names())}."
        )
    return Profile.model_validate(tomllib.loads(entry.read_text(encoding="utf-8")))


def profile_names() -> list[str]:
    """Names of the bundled profiles, default first."""
    names = sorted(p.name[:-5] for p in _profile_dir().iterdir() if p.name.endswith(".toml"))
    return sorted(names, key=lambda n: n != DEFAULT_PROFILE)
