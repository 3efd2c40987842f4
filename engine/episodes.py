"""Turn documented administrations into billable episodes (kind, family, minutes).

This is where an administration is classified before any code is chosen:
incidental fluid is set aside (R-ADMIN-05), short infusions become pushes
(R-ADMIN-01), short hydration is dropped (R-ADMIN-04), and infusions without
usable times are held back (R-ADMIN-11). Pure functions; no I/O.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from engine.outcome import Outcome
from engine.profiles import Profile
from engine.tables import diagnosis_concepts, drug_code_rows
from notecoder.schema import (
    Assertion,
    DrugAdministration,
    Extraction,
    Method,
    Purpose,
    Relation,
    Route,
)

Family = Literal["chemo", "therapeutic", "hydration"]
Kind = Literal["infusion", "sc_infusion", "push", "injection", "intra_arterial", "pump"]


class Rank(IntEnum):
    """Facility hierarchy for the initial service (CMS-4 §230.2; CPT-DA)."""

    HYDRATION = 1
    THERAPEUTIC_INJECTION = 2
    THERAPEUTIC_PUSH = 3
    THERAPEUTIC_INFUSION = 4
    CHEMO_INJECTION = 5
    CHEMO_PUSH = 6
    CHEMO_INFUSION = 7


_RANKS: dict[tuple[Family, Kind], Rank] = {
    ("hydration", "infusion"): Rank.HYDRATION,
    ("therapeutic", "injection"): Rank.THERAPEUTIC_INJECTION,
    ("therapeutic", "intra_arterial"): Rank.THERAPEUTIC_INJECTION,
    ("therapeutic", "sc_infusion"): Rank.THERAPEUTIC_INFUSION,
    ("chemo", "intra_arterial"): Rank.CHEMO_INJECTION,
    ("chemo", "sc_infusion"): Rank.CHEMO_INFUSION,
    ("therapeutic", "push"): Rank.THERAPEUTIC_PUSH,
    ("therapeutic", "infusion"): Rank.THERAPEUTIC_INFUSION,
    ("chemo", "injection"): Rank.CHEMO_INJECTION,
    ("chemo", "push"): Rank.CHEMO_PUSH,
    ("chemo", "infusion"): Rank.CHEMO_INFUSION,
    ("chemo", "pump"): Rank.CHEMO_INFUSION,
}
PROLONGED_PUMP_MINUTES = 8 * 60  # 96416 starts an infusion of more than 8 hours


@dataclass(frozen=True)
class Episode:
    """One reportable administration, classified and timed."""

    admin: DrugAdministration
    family: Family
    kind: Kind
    minutes: int | None  # None for pushes/injections without times
    begin: int | None  # minutes from midnight of the first day, for order and overlap
    stated_time: bool  # minutes came from a stated duration, not clock times
    order: int  # position in the note

    @property
    def rank(self) -> Rank:
        return _RANKS[(self.family, self.kind)]

    @property
    def end(self) -> int | None:
        if self.begin is None or self.minutes is None:
            return None
        return self.begin + self.minutes

    @property
    def drug(self) -> str:
        return self.admin.name.lower()

    def overlaps(self, other: Episode) -> bool:
        """True when both have clock intervals and they overlap in time."""
        if None in (self.begin, self.end, other.begin, other.end):
            return False
        return self.begin < other.end and other.begin < self.end  # type: ignore[operator]

    def label(self) -> str:
        """Short description for rationales: drug and times, no note text beyond that."""
        admin = self.admin
        when = ""
        if admin.start and admin.stop:
            when = f" {admin.start:%H:%M}-{admin.stop:%H:%M}"
        if self.minutes is not None:
            when += f" ({self.minutes} min{', stated' if self.stated_time else ''})"
        return f"{admin.name}{when}"


def contradictory_times(admin: DrugAdministration, profile: Profile) -> bool:
    """Stop before start that would make an implausibly long midnight crossing (R-ADMIN-11)."""
    minutes = admin.clock_minutes
    return (admin.crosses_midnight and minutes is not None
            and minutes > profile.max_midnight_crossing_minutes)


def is_incidental_fluid(admin: DrugAdministration) -> bool:
    """Fluid given only as vehicle, KVO or flush (R-ADMIN-05)."""
    return admin.purpose == Purpose.VEHICLE


_CANCER_WORDS = re.compile(r"\b(?:cancer|carcinoma|adenocarcinoma|neoplasm|malignan\w*|"
                           r"lymphoma|leuka?emia|myeloma|sarcoma|melanoma|metasta\w*|"
                           r"tumou?r|glioblastoma|NSCLC|DLBCL|CLL|AML|CML)\b", re.I)


def _is_malignancy(d) -> bool:
    concepts = diagnosis_concepts()
    return bool((d.concept in concepts and concepts[d.concept].neoplasm)
                or _CANCER_WORDS.search(d.text)
                or _CANCER_WORDS.search(d.concept.replace("_", " ")))


def cancer_diagnoses(facts: Extraction) -> frozenset[str]:
    """Ids of affirmed diagnoses that are malignancies (lexicon flag or the words used), and
    of the one malignancy under treatment today though written as history
    (`treated_malignancies`)."""
    return frozenset(d.id for d in facts.diagnoses
                     if d.assertion == Assertion.AFFIRMED and _is_malignancy(d)
                     ) | treated_malignancies(facts)


def treated_malignancies(facts: Extraction) -> frozenset[str]:
    """R-DX-01 / ICD-G I.C.2.d: a malignancy is history (Z85) only when it was excised or
    eradicated and no further treatment is directed to it; one under treatment is coded as
    current. So when an antineoplastic drug (drug table `antineoplastic`: chemotherapy or
    hormonal, such as leuprolide ADT) is injected or infused today, and the note's only
    malignancy is written as history ("Oncologic history: adenocarcinoma of prostate ...
    ADT"), that malignancy is current. With two or more historical malignancies nothing is
    assumed, and an affirmed one is the treated one."""
    if any(d.assertion == Assertion.AFFIRMED and _is_malignancy(d) for d in facts.diagnoses):
        return frozenset()
    if not any(a.route != Route.ORAL and any(r.drug_class == "antineoplastic"
                                             for r in drug_code_rows(a.generic))
               for a in facts.administrations):
        return frozenset()
    historical = [d.id for d in facts.diagnoses
                  if d.assertion == Assertion.HISTORICAL and _is_malignancy(d)]
    return frozenset(historical) if len(historical) == 1 else frozenset()


_FLUID_NEED = re.compile(r"\b(?:dehydrat\w*|hypovol\w*|volume (?:loss|depletion)|"
                         r"hypotens\w*|orthostat\w*|vomiting|diarrh\w*|hyperemesis|"
                         r"rhabdo\w*|sepsis|septic|hypercalc\w*|AKI|acute kidney)\b", re.I)


def documents_fluid_need(facts: Extraction) -> bool:
    """R-ADMIN-05 (NOR-HYD): hydration needs a documented need: an affirmed diagnosis or sign
    of fluid loss (dehydration, vomiting, hypotension, ...)."""
    return any(d.assertion == Assertion.AFFIRMED and (
        _FLUID_NEED.search(d.text) or _FLUID_NEED.search(d.concept.replace("_", " ")))
        for d in facts.diagnoses)


def drug_family(admin: DrugAdministration, profile: Profile,
                cancer_dx: frozenset[str] = frozenset()) -> Family:
    """The administration family of a drug (R-ADMIN-12).

    Chemotherapy family: antineoplastics (CPT-DA: also for non-cancer conditions, e.g.
    methotrexate); hormonal antineoplastics only when a cancer is documented (Noridian JF,
    2011, as reported by AAPC Oncology Coding Alert: GnRH analogs for endometriosis are not
    chemotherapy administration; corpus wd-17); complex biologics (monoclonal antibodies and
    other drugs flagged in the table) given IV under the default profile (CMS Pub 100-04
    ch. 12 §30.5, TDL 12397 / CR 13468), or always when given for a cancer. An SC/IM
    injection of a non-antineoplastic biologic (denosumab) stays a therapeutic injection.
    Profile `complex_biologic_codes = "therapeutic"` is the payer alternative (D8).
    """
    if admin.is_fluid or admin.purpose == Purpose.HYDRATION:
        return "hydration"
    if admin.purpose == Purpose.CHEMOTHERAPY:
        return "chemo"
    rows = drug_code_rows(admin.generic)
    antineoplastic = [r for r in rows if r.drug_class == "antineoplastic"]
    if antineoplastic:
        if all(r.hormonal for r in antineoplastic) and not cancer_dx:
            return "therapeutic"
        return "chemo"
    if not any(r.complex_biologic for r in rows):
        return "therapeutic"
    if admin.indication in cancer_dx:
        return "chemo"
    injected = admin.route in (Route.SC, Route.IM) or admin.method == Method.INJECTION
    if profile.complex_biologic_codes == "chemotherapy" and not injected:
        return "chemo"
    return "therapeutic"


def _kind(admin: DrugAdministration, minutes: int | None, profile: Profile) -> Kind | None:
    if admin.route == Route.INTRA_ARTERIAL:
        return "intra_arterial"
    if admin.route == Route.SC and admin.method == Method.INFUSION:
        # 96369 needs a timed SC infusion; a short one is an injection.
        if minutes is None:
            return None
        return "sc_infusion" if minutes > profile.push_max_minutes else "injection"
    if admin.route in (Route.SC, Route.IM) or admin.method == Method.INJECTION:
        return "injection"
    if admin.method == Method.PUSH:
        return "push"
    if minutes is None:
        return None
    # R-ADMIN-01: an IV infusion of push_max_minutes or less is reported as a push.
    return "push" if minutes <= profile.push_max_minutes else "infusion"


def build_episodes(facts: Extraction, profile: Profile) -> tuple[list[Episode], Outcome]:
    """Classify every administration; return reportable episodes and the reasons for the rest."""
    episodes: list[Episode] = []
    notes = Outcome()
    cancer_dx = cancer_diagnoses(facts)
    need_for_fluid = documents_fluid_need(facts)
    day_offset, previous_start = 0, None
    for order, admin in enumerate(facts.administrations):
        if admin.route not in (None, Route.IV, Route.SC, Route.IM, Route.INTRA_ARTERIAL):
            notes += Outcome.warn(f"{admin.id}: route {admin.route} is outside this engine.")
            continue
        if is_incidental_fluid(admin):
            notes += Outcome.warn(
                f"{admin.id}: fluid used as vehicle/KVO/flush is not reported (R-ADMIN-05)."
            )
            continue
        if admin.is_fluid and admin.purpose != Purpose.HYDRATION and not need_for_fluid:
            notes += Outcome.warn(
                f"{admin.id}: fluid with no documented need for hydration (no dehydration or "
                "volume loss, not called hydration or a bolus) is not reported as hydration; "
                "coder review (R-ADMIN-05)."
            )
            continue
        # Only the drug's running time counts: documented pauses are removed (RULES.md 1).
        minutes, stated = admin.running_minutes, False
        if minutes is None and admin.duration_minutes is not None:
            minutes, stated = admin.duration_minutes, True
            notes += Outcome.warn(
                f"{admin.id}: time taken from a stated duration, not clock times (R-ADMIN-11)."
            )
        begin = None
        if admin.start is not None:
            start = admin.start.hour * 60 + admin.start.minute
            # Notes are chronological: a start far earlier than the last one is the next day.
            if previous_start is not None and start + day_offset < previous_start - 12 * 60:
                day_offset += 24 * 60
            begin = start + day_offset
            previous_start = begin
        if admin.start is not None and admin.stop is None and admin.duration_minutes is None:
            minutes = None
        if contradictory_times(admin, profile):
            notes += Outcome.warn(
                f"{admin.id}: stop time earlier than start; read as crossing midnight it would "
                f"exceed {profile.max_midnight_crossing_minutes} min, so the times are taken as "
                "contradictory - no time-based code (R-ADMIN-11)."
            )
            if admin.method != Method.PUSH or admin.route != Route.IV:
                continue
            # R-ADMIN-01/11: a push stated as one is not a time-based service; its times
            # ("ordered 14:20 ... given 14:22" read back to front) only drop out.
            minutes, stated = None, False
        family = drug_family(admin, profile, cancer_dx)
        if family == "hydration" and admin.relation == Relation.CONCURRENT:
            # Documented as running with a drug: kept so R-ADMIN-05/08 can decide, times or not.
            episodes.append(Episode(admin, family, "infusion", minutes, begin, stated, order))
            continue
        if family == "chemo" and admin.device is not None and (
                minutes is None or minutes > PROLONGED_PUMP_MINUTES):
            # A pump the patient leaves with: its start is the service, not its hours.
            episodes.append(Episode(admin, family, "pump", minutes, begin, stated, order))
            continue
        kind = _kind(admin, minutes, profile)
        if kind is None:
            notes += Outcome.warn(
                f"{admin.id}: no stop time or duration, so no time-based code (R-ADMIN-11)."
            )
            continue
        if family == "hydration" and kind != "infusion":
            notes += Outcome.warn(f"{admin.id}: fluid given as a push/injection is not hydration.")
            continue
        if family == "hydration" and (minutes or 0) < profile.hydration_min_minutes:
            notes += Outcome.warn(
                f"{admin.id}: hydration of {minutes} min does not reach "
                f"{profile.hydration_min_minutes} min and is not reported (R-ADMIN-04)."
            )
            continue
        episodes.append(Episode(admin, family, kind, minutes, begin, stated, order))
    return episodes, notes


class OverlapIndex:
    """The clock intervals of a set of infusions, sorted once, to ask whether an episode
    overlaps any other in O(log n) (the prefix of infusions begun before it ends)."""

    def __init__(self, others: list[Episode]) -> None:
        timed = sorted((o for o in others if o.kind == "infusion" and o.begin is not None
                        and o.end is not None), key=lambda o: o.begin)
        self.begins = [o.begin for o in timed]
        # Per prefix, the two latest ends with their episodes (one may be the asker).
        self.best: list[tuple[tuple[int, int], tuple[int, int]]] = []
        first, second = (-1, 0), (-1, 0)
        for o in timed:
            entry = (o.end, id(o))
            if entry[0] > first[0]:
                first, second = entry, first
            elif entry[0] > second[0]:
                second = entry
            self.best.append((first, second))

    def overlaps_any(self, episode: Episode) -> bool:
        if episode.begin is None or episode.end is None:
            return False
        k = bisect.bisect_left(self.begins, episode.end)  # others begun before it ends
        if k == 0:
            return False
        first, second = self.best[k - 1]
        latest = second if first[1] == id(episode) else first
        return latest[0] > episode.begin


def runs_concurrently(episode: Episode, others: OverlapIndex) -> bool:
    """Documented as concurrent, or overlapping in clock time with another infusion."""
    if episode.admin.relation == Relation.CONCURRENT:
        return True
    return others.overlaps_any(episode)
