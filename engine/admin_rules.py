"""Drug-administration codes (R-ADMIN): hydration, infusion, push, injection, chemotherapy.

One small function per rule; each cites its source and puts its rule id in the
codes it returns. Wording is our own paraphrase; no CPT descriptor text.
"""

from __future__ import annotations

import math

from engine.episodes import (
    Episode,
    Family,
    Kind,
    OverlapIndex,
    build_episodes,
    runs_concurrently,
)
from engine.outcome import Outcome
from engine.profiles import Profile
from engine.tables import drug_code_rows
from notecoder.schema import CodeLine, Extraction, Method, Place, Setting, Span

_INITIAL: dict[tuple[Family, Kind], str] = {
    ("therapeutic", "infusion"): "96365",
    ("chemo", "infusion"): "96413",
    ("therapeutic", "push"): "96374",
    ("chemo", "push"): "96409",
    ("therapeutic", "injection"): "96372",
    ("chemo", "injection"): "96401",
    ("therapeutic", "sc_infusion"): "96369",
    ("therapeutic", "intra_arterial"): "96373",
    ("hydration", "infusion"): "96360",
}
_ADDITIONAL_HOUR: dict[Family, str] = {
    "therapeutic": "96366",
    "chemo": "96415",
    "hydration": "96361",
}
_SEQUENTIAL: dict[Family, str] = {"therapeutic": "96367", "chemo": "96417"}
_PUSH_NEW_DRUG: dict[Family, str] = {"therapeutic": "96375", "chemo": "96411"}
_PUSH_SAME_DRUG = "96376"
_CONCURRENT = "96368"
_SAME_DRUG_PUSH_GAP_MINUTES = 30


def _cite(episode: Episode, *fields: str) -> list[Span]:
    """Evidence for an administration code: the drug mention plus the named fields."""
    admin = episode.admin
    spans = admin.span_of("drug", *fields)
    return spans or list(admin.evidence)


def _cpt(code: str, units: int, rule: str, why: str, spans: list[Span]) -> CodeLine:
    return CodeLine(system="CPT", code=code, units=units, rule=rule, rationale=why, evidence=spans)


def additional_hour_units(minutes: int, threshold: int) -> int:
    """Units of the additional-hour code for one infusion lasting `minutes`.

    The first extra unit needs `threshold` total minutes (official 91: more than
    30 minutes beyond the first hour), each further unit 60 more minutes.
    Source: CPT-DA (a unit of time is attained when the mid-point is passed);
    RULES.md R-ADMIN-03: 16-90 -> 0, 91-150 -> 1, 151-210 -> 2.
    """
    if minutes < threshold:
        return 0
    return (minutes - threshold) // 60 + 1


def secondary_hydration_units(minutes: int, profile: Profile) -> int:
    """Units of 96361 for hydration given after another initial service.

    Source: CPT-DA; CMS-4 §230.2; RULES.md R-ADMIN-04: ceil((minutes - 30) / 60)
    for minutes above 30 (31-90 -> 1, 91-150 -> 2, 151-210 -> 3).
    """
    base = profile.hydration_min_minutes - 1
    if minutes <= base:
        return 0
    return math.ceil((minutes - base) / 60)


_SC_ADDITIONAL_HOUR = "96370"
_SC_ADDITIONAL_PUMP = "96371"


def r_admin_03_additional_hours(episode: Episode, profile: Profile) -> Outcome:
    """R-ADMIN-03: each additional hour of the same infusion past the mid-point.

    Source: CPT-DA; seed 002 (16-90 min = initial only). Threshold is the
    profile's `additional_hour_min_minutes` (official 91, seed documents 90: D1).
    """
    if episode.minutes is None or episode.kind not in ("infusion", "sc_infusion"):
        return Outcome()
    units = additional_hour_units(episode.minutes, profile.additional_hour_min_minutes)
    if units == 0:
        return Outcome()
    code = _SC_ADDITIONAL_HOUR if episode.kind == "sc_infusion" else _ADDITIONAL_HOUR[
        episode.family]
    why = (
        f"{episode.label()}: {units} additional hour(s) beyond the first; each needs more "
        f"than 30 minutes past the hour ({profile.additional_hour_min_minutes}+ min for the first)."
    )
    return Outcome(codes=[_cpt(code, units, "R-ADMIN-03", why, _cite(episode, "start", "stop",
                                                                      "duration"))])


def r_admin_02_initial_infusion(episode: Episode, profile: Profile) -> Outcome:
    """R-ADMIN-02 / R-ADMIN-10: initial infusion of a drug lasting more than the push limit.

    Therapeutic 96365, chemotherapy or complex biologic (by profile) 96413.
    Source: CPT-DA; CMS-12 §30.5.
    """
    code = _INITIAL[(episode.family, "infusion")]
    rule = "R-ADMIN-10" if episode.family == "chemo" else "R-ADMIN-02"
    kind = "chemotherapy/complex biologic" if episode.family == "chemo" else "therapeutic"
    why = f"{episode.label()}: initial {kind} IV infusion, first hour."
    out = Outcome(codes=[_cpt(code, 1, rule, why, _cite(episode, "start", "stop", "duration"))])
    return out + r_admin_03_additional_hours(episode, profile)


def r_admin_01_push(
    episode: Episode, previous_same_drug: Episode | None, initial: bool, setting: Setting
) -> Outcome:
    """R-ADMIN-01: IV push (or infusion of 15 minutes or less).

    Initial 96374 (chemo 96409); a new drug 96375 (chemo 96411); the same drug
    more than 30 minutes after its earlier push 96376, facility only.
    Source: CPT-DA; CMS-12 §30.5; CMS-4 §230.2.
    """
    how = "IV push" if episode.admin.method is not None else "IV infusion of 15 min or less"
    spans = _cite(episode, "method", "start", "stop", "duration")
    if initial:
        code = _INITIAL[(episode.family, "push")]
        return Outcome(codes=[_cpt(code, 1, "R-ADMIN-01", f"{episode.label()}: initial {how}.",
                                   spans)])
    if previous_same_drug is None:
        code = _PUSH_NEW_DRUG[episode.family]
        why = f"{episode.label()}: {how} of a new drug after the initial service."
        return Outcome(codes=[_cpt(code, 1, "R-ADMIN-01", why, spans)])
    if setting == Setting.PROFESSIONAL:
        return Outcome.warn(
            f"{episode.admin.id}: repeat push of the same drug is not reported on a professional "
            "claim (R-ADMIN-01)."
        )
    previous = previous_same_drug
    gap = None
    if episode.begin is not None and previous.begin is not None:
        gap = episode.begin - previous.begin
    if gap is None or gap <= _SAME_DRUG_PUSH_GAP_MINUTES:
        return Outcome.warn(
            f"{episode.admin.id}: repeat push of the same drug not documented as more than "
            "30 minutes after the earlier push; not reported (R-ADMIN-01)."
        )
    why = f"{episode.label()}: same drug pushed again {gap} min after the earlier push."
    return Outcome(codes=[_cpt(_PUSH_SAME_DRUG, 1, "R-ADMIN-01", why, spans)])


def r_admin_04_hydration(episode: Episode, profile: Profile, initial: bool) -> Outcome:
    """R-ADMIN-04: hydration of more than 30 minutes.

    Initial 96360 plus 96361 per additional hour (R-ADMIN-03); after another
    initial service, 96361 with ceil((min - 30) / 60) units.
    Source: CPT-DA; CMS-4 §230.2.
    """
    minutes = episode.minutes or 0
    spans = _cite(episode, "purpose", "start", "stop", "duration")
    if initial:
        why = f"{episode.label()}: initial hydration of more than 30 minutes."
        out = Outcome(codes=[_cpt("96360", 1, "R-ADMIN-04", why, spans)])
        return out + r_admin_03_additional_hours(episode, profile)
    units = secondary_hydration_units(minutes, profile)
    if units == 0:
        return Outcome.warn(f"{episode.admin.id}: hydration too short to report (R-ADMIN-04).")
    why = f"{episode.label()}: hydration after the initial service, {units} hour unit(s)."
    return Outcome(codes=[_cpt("96361", units, "R-ADMIN-04", why, spans)])


def r_admin_05_concurrent_fluid(episode: Episode, profile: Profile, reported: bool) -> Outcome:
    """R-ADMIN-05: fluid running with a drug infusion is not hydration and is not reported.

    Source: CPT-DA; NCCI-11. Profile `report_concurrent_fluid` (seed 001, D2)
    reports it as the encounter's one concurrent infusion instead.
    """
    if not profile.report_concurrent_fluid:
        return Outcome.warn(
            f"{episode.admin.id}: fluid running concurrently with a drug infusion is not "
            "reported separately (R-ADMIN-05)."
        )
    if reported:
        return Outcome.warn(f"{episode.admin.id}: concurrent infusion already reported once.")
    why = f"{episode.label()}: fluid concurrent with a drug infusion (profile {profile.name}, D2)."
    return Outcome(codes=[_cpt(_CONCURRENT, 1, "R-ADMIN-08", why,
                               _cite(episode, "relation", "start", "stop"))])


def r_admin_07_sequential_infusion(
    episode: Episode, same_drug_infused_before: bool, profile: Profile
) -> Outcome:
    """R-ADMIN-07: a new drug infused after the initial service, through the same access.

    96367 (chemo 96417) once per new drug, plus additional hours on its own time
    (96366 / 96415). The same drug infused again is not a new sequential service.
    Source: CPT-DA.
    """
    if same_drug_infused_before:
        return Outcome.warn(
            f"{episode.admin.id}: same drug as an earlier infusion; not a new sequential "
            "service (R-ADMIN-07)."
        )
    code = _SEQUENTIAL[episode.family]
    why = f"{episode.label()}: sequential infusion of a new drug, first hour."
    out = Outcome(codes=[_cpt(code, 1, "R-ADMIN-07", why,
                              _cite(episode, "start", "stop", "duration", "relation"))])
    return out + r_admin_03_additional_hours(episode, profile)


def r_admin_07_short_part_of_infusion(episode: Episode, infused: set[str]) -> bool:
    """R-ADMIN-07 / R-ADMIN-01: an IV infusion of 15 minutes or less (not a stated push) of
    a drug the encounter also infuses for longer ("iron sucrose 25 mg test portion over 10
    min, observe 30 min, then the remaining 275 mg over 1 h") is part of that drug's
    infusion: the same drug infused again is no new service, and 96375 is for a new drug.
    Source: CPT-DA (sequential codes are for a new drug or substance); RULES.md R-ADMIN-07."""
    return episode.admin.method != Method.PUSH and episode.drug in infused


def r_admin_08_concurrent_infusion(episode: Episode, reported: bool) -> Outcome:
    """R-ADMIN-08: a drug infused at the same time as another: 96368, once per encounter.

    Source: CPT-DA; NCCI-11.
    """
    if reported:
        return Outcome.warn(
            f"{episode.admin.id}: concurrent infusion is reported once per encounter (R-ADMIN-08)."
        )
    if episode.family == "chemo":
        return Outcome.warn(
            f"{episode.admin.id}: concurrent chemotherapy infusion needs coder review (R-ADMIN-08)."
        )
    why = f"{episode.label()}: drug infused at the same time as another infusion."
    return Outcome(codes=[_cpt(_CONCURRENT, 1, "R-ADMIN-08", why,
                               _cite(episode, "relation", "start", "stop"))])


def r_admin_08_chemo_beside_non_chemo(episode: Episode, chemo_overlap: OverlapIndex) -> bool:
    """R-ADMIN-08: a chemotherapy infusion that runs at the same time as non-chemotherapy
    infusions only (irinotecan 10:55-12:25 beside leucovorin 10:55-12:25) is coded as the
    new chemotherapy drug it is (96417 after the initial service), and the non-chemotherapy
    drug takes the concurrent code 96368: CPT has no concurrent chemotherapy code, and 96368
    is the therapeutic family's concurrent add-on. Source: CPT-DA (96368 reported with
    96413 for a concurrent non-chemotherapy infusion); RULES.md R-ADMIN-08."""
    return episode.family == "chemo" and not chemo_overlap.overlaps_any(episode)


def r_admin_09_injection(episode: Episode) -> Outcome:
    """R-ADMIN-09: SC or IM injection 96372 each (chemotherapy 96401, assumed non-hormonal);
    intra-arterial 96373.

    Source: CPT-DA.
    """
    if episode.kind == "intra_arterial":
        if episode.family == "chemo":
            return Outcome.warn(f"{episode.admin.id}: intra-arterial chemotherapy is outside "
                                "this engine; coder review (R-ADMIN-09).")
        why = f"{episode.label()}: intra-arterial injection."
        return Outcome(codes=[_cpt("96373", 1, "R-ADMIN-09", why, _cite(episode, "route"))])
    code = _INITIAL[(episode.family, "injection")]
    route = episode.admin.route or "SC/IM"
    hormonal = episode.family == "chemo" and any(
        r.hormonal for r in drug_code_rows(episode.admin.generic))
    if hormonal:
        code = "96402"  # CPT-DA: SC/IM hormonal antineoplastic
    kind = " hormonal antineoplastic" if hormonal else (
        " antineoplastic" if episode.family == "chemo" else "")
    why = f"{episode.label()}: {route}{kind} injection."
    return Outcome(codes=[_cpt(code, 1, "R-ADMIN-09", why, _cite(episode, "route", "method"))])


def r_admin_09_sc_infusion(episode: Episode, profile: Profile, initial: bool) -> Outcome:
    """R-ADMIN-09 (SC infusion): 96369 initial including pump set-up, 96370 each additional
    hour (R-ADMIN-03), 96371 for an additional pump set-up at a new SC site.

    Source: CPT-DA.
    """
    spans = _cite(episode, "route", "start", "stop", "duration")
    if not initial:
        why = f"{episode.label()}: additional SC infusion pump set-up at a new site."
        return Outcome(codes=[_cpt(_SC_ADDITIONAL_PUMP, 1, "R-ADMIN-09", why, spans)])
    why = f"{episode.label()}: initial SC infusion, first hour, pump set-up included."
    out = Outcome(codes=[_cpt("96369", 1, "R-ADMIN-09", why, spans)])
    return out + r_admin_03_additional_hours(episode, profile)


def _hierarchy_key(e: Episode) -> tuple:
    """Highest rank first, then the earliest start, then note order (R-ADMIN-06)."""
    return (-e.rank, e.begin is None, e.begin or 0, e.order)


def r_admin_06_initial_service(
    episodes: list[Episode], setting: Setting, place: Place | None
) -> tuple[Episode, Outcome]:
    """R-ADMIN-06: one initial service per encounter.

    Facility: the highest in the hierarchy (chemo > therapeutic > hydration;
    infusion > push > injection), whatever the order given; ties go to the
    earliest. Professional: the primary reason for the encounter; when the note
    does not say, the hierarchy with a warning. Sources: CMS-4 §230.2; CPT-DA;
    CMS-12 §30.5; NCCI-11 (no professional 96360-96379 in a facility setting).
    """
    initial = min(episodes, key=_hierarchy_key)
    out = Outcome()
    if setting == Setting.PROFESSIONAL:
        if len({e.rank for e in episodes}) > 1:
            out += Outcome.warn(
                "Primary reason for the encounter not stated; initial service chosen by the "
                "facility hierarchy - confirm (R-ADMIN-06)."
            )
        if place in (Place.EMERGENCY_DEPARTMENT, Place.HOSPITAL_OUTPATIENT):
            out += Outcome.warn(
                "Professional claim requested for an ED/hospital outpatient note: physicians do "
                "not report 96360-96379 for facility nursing services (NCCI-11, R-ADMIN-06)."
            )
    return initial, out


def _code_initial(episode: Episode, profile: Profile, setting: Setting) -> Outcome:
    if episode.family == "hydration":
        return r_admin_04_hydration(episode, profile, initial=True)
    if episode.kind == "sc_infusion":
        return r_admin_09_sc_infusion(episode, profile, initial=True)
    if episode.kind == "infusion":
        return r_admin_02_initial_infusion(episode, profile)
    if episode.kind == "push":
        return r_admin_01_push(episode, None, initial=True, setting=setting)
    return r_admin_09_injection(episode)


def code_administrations(
    facts: Extraction, setting: Setting, profile: Profile
) -> tuple[Outcome, Episode | None]:
    """All administration codes of one encounter, and the encounter's lead service (the
    initial service, or an injection that outranks it in the hierarchy)."""
    episodes, out = build_episodes(facts, profile)
    drug_infusions = [e for e in episodes if e.kind == "infusion" and e.family != "hydration"]
    overlap = OverlapIndex(drug_infusions)  # one sort: linear in administrations, not n^2
    chemo_overlap = OverlapIndex([e for e in drug_infusions if e.family == "chemo"])
    concurrent_fluids = [
        e for e in episodes if e.family == "hydration" and runs_concurrently(e, overlap)
    ]
    fluid_ids = {id(e) for e in concurrent_fluids}
    pumps = [e for e in episodes if e.kind == "pump"]
    episodes = [e for e in episodes if e.kind != "pump"]
    if pumps and any(s.kind.startswith("pump_refill") for s in facts.access_services):
        # A refill of a pump already running is its maintenance (96521/96522), not the
        # start of a new prolonged infusion (96416): R-ADMIN-17.
        out += Outcome.warn(f"{pumps[0].admin.id}: pump refilled, not started; no 96416 "
                            "(R-ADMIN-16, R-ADMIN-17).")
        pumps = []
    candidates = [e for e in episodes if id(e) not in fluid_ids]
    candidates = [e for e in candidates if not (e.family == "hydration" and e.minutes is None)]
    if not candidates:
        for fluid in concurrent_fluids:
            out += Outcome.warn(f"{fluid.admin.id}: concurrent fluid with no drug infusion coded.")
        out += r_admin_16_prolonged_pump(pumps)
        return out + r_admin_17_access_services(facts, out, pumps), None

    place = facts.place.place if facts.place else None
    initial, chosen = r_admin_06_initial_service(r_admin_06_initial_candidates(candidates),
                                                 setting, place)
    # The encounter's lead service for its diagnoses (R-DX-05: Z51.11 for an SC bortezomib
    # beside an IV zoledronic acid) is the hierarchy's, injections included.
    lead = min(candidates, key=_hierarchy_key)
    out += chosen + _code_initial(initial, profile, setting)
    concurrent_reported = False
    for fluid in concurrent_fluids:  # add-on codes follow the initial service
        result = r_admin_05_concurrent_fluid(fluid, profile, concurrent_reported)
        concurrent_reported = concurrent_reported or bool(result.codes)
        out += result
    infused_drugs = {initial.drug} if initial.kind == "infusion" else set()
    infused_all = {e.drug for e in candidates if e.kind == "infusion"}
    last_push: dict[str, Episode] = {initial.drug: initial} if initial.kind == "push" else {}
    rest = [e for e in candidates if e is not initial]
    for episode in sorted(rest, key=lambda e: (e.begin is None, e.begin or 0, e.order)):
        if episode.family == "hydration":
            out += r_admin_04_hydration(episode, profile, initial=False)
        elif episode.kind == "infusion":
            if runs_concurrently(episode, overlap) and not r_admin_08_chemo_beside_non_chemo(
                    episode, chemo_overlap):
                result = r_admin_08_concurrent_infusion(episode, concurrent_reported)
                concurrent_reported = concurrent_reported or bool(result.codes)
                out += result
            else:
                out += r_admin_07_sequential_infusion(episode, episode.drug in infused_drugs,
                                                      profile)
            infused_drugs.add(episode.drug)
        elif episode.kind == "push" and r_admin_07_short_part_of_infusion(episode, infused_all):
            out += Outcome.warn(
                f"{episode.admin.id}: {episode.label()} is a short part (a test portion) of "
                "the same drug's infusion, not a push of a new drug; not reported apart "
                "(R-ADMIN-07).")
        elif episode.kind == "push":
            out += r_admin_01_push(episode, last_push.get(episode.drug), initial=False,
                                   setting=setting)
            last_push[episode.drug] = episode
        elif episode.kind == "sc_infusion":
            out += r_admin_09_sc_infusion(episode, profile, initial=False)
        else:
            out += r_admin_09_injection(episode)
    out += r_admin_16_prolonged_pump(pumps)
    out += r_admin_17_access_services(facts, out, pumps)
    return out + r_mod_03_separate_sites(drug_infusions), lead


_STANDALONE_KINDS = ("injection", "intra_arterial")


def r_admin_06_initial_candidates(episodes: list[Episode]) -> list[Episode]:
    """R-ADMIN-06: an SC/IM injection (96372, 96401, 96402) or intra-arterial injection is
    a service of its own, reported per injection, never the initial service an IV add-on
    code hangs on: the sequential and subsequent add-ons (96361, 96366-96368, 96375, 96376,
    96411, 96415, 96417) are reported only with an initial IV code (96360, 96365, 96374,
    96409, 96413). So with any IV service in the encounter, the initial service is chosen
    among the IV services ("SC bortezomib 96401 + zoledronic acid 18 min" is 96401 + 96365,
    not 96401 + 96367). Source: CPT-DA (the add-on codes' "use in conjunction with" notes,
    as the CMS NCCI add-on code edits list their primary codes); RULES.md R-ADMIN-08."""
    iv = [e for e in episodes if e.kind not in _STANDALONE_KINDS]
    return iv or episodes


def r_admin_16_prolonged_pump(pumps: list[Episode]) -> Outcome:
    """R-ADMIN-16: starting a chemotherapy infusion of more than 8 hours through a portable
    or implanted pump is 96416, once; the pump's own hours earn no 96415.

    Source: CPT-DA (96416 initiates a prolonged infusion requiring a pump; corpus README:
    "96416 covers the start of a portable pump running more than 8 h"); RULES.md D10
    (96416 is not the concurrent code); CMS practitioner MUE 96416 = 1.
    """
    if not pumps:
        return Outcome()
    first = pumps[0]
    why = f"{first.label()}: prolonged chemotherapy infusion started through a pump."
    out = Outcome(codes=[_cpt("96416", 1, "R-ADMIN-16", why, _cite(first, "start", "duration"))])
    for extra in pumps[1:]:
        out += Outcome.warn(f"{extra.admin.id}: a second pump start the same day is reported "
                            "once (MUE 1) - coder review (R-ADMIN-16).")
    return out


_ACCESS_CODES = {"pump_refill_portable": "96521", "pump_refill_implanted": "96522",
                 "port_flush": "96523"}


def r_admin_17_access_services(facts: Extraction, coded: Outcome,
                               pumps: list[Episode]) -> Outcome:
    """R-ADMIN-17: pump refill/maintenance (96521 portable, 96522 implanted) and a port or
    catheter flush alone (96523); a pump disconnect earns no code of its own.

    96523 is column 2 of NCCI practitioner PTP edits with modifier indicator 0 against the
    drug-administration codes, so it is reported only when no other administration service
    is; 96521/96522 are bundled into 96416 (indicator 0). Sources: NCCI PTP practitioner
    2026 Q2 (shared/refdata/ncci); corpus README (pump disconnect and port flush bundled
    with another service the same day); R-ADMIN-14 (flush at the end is included).
    """
    out = Outcome()
    other = any(c.system == "CPT" and c.code.startswith("96") for c in coded.codes) or pumps
    for service in facts.access_services:
        code = _ACCESS_CODES.get(service.kind)
        if code is None:
            if not other:
                out += Outcome.warn(f"{service.id}: pump disconnect alone - no code of its own; "
                                    "coder review (R-ADMIN-17).")
            continue
        if code == "96523" and other:
            out += Outcome.warn(f"{service.id}: port/catheter flush is included in the other "
                                "administration services (NCCI PTP 0; R-ADMIN-17).")
            continue
        if code in ("96521", "96522") and pumps:
            out += Outcome.warn(f"{service.id}: pump refill is bundled with the pump start 96416 "
                                "(NCCI PTP 0; R-ADMIN-17).")
            continue
        why = {"96521": "refill/maintenance of a portable pump",
               "96522": "refill/maintenance of an implanted pump",
               "96523": "port or catheter flush with no other administration service"}[code]
        out += Outcome(codes=[CodeLine(system="CPT", code=code, units=1, rule="R-ADMIN-17",
                                       rationale=why + ".", evidence=list(service.evidence))])
        if code == "96523":
            other = True  # once a day
    return out


def r_mod_03_separate_sites(infusions: list[Episode]) -> Outcome:
    """R-MOD-03 / R-ADMIN-06: two infusions at the same time through separately documented
    IV sites may justify a second initial service with modifier 59/XU, only when the
    second site was medically necessary; the engine never adds it on its own.

    Sources: CPT-DA (one initial service unless two IV sites are required); NCCI-11.
    """
    for i, first in enumerate(infusions):
        for second in infusions[i + 1:]:
            sites = (first.admin.site, second.admin.site)
            if all(sites) and sites[0].lower() != sites[1].lower() and first.overlaps(second):
                return Outcome.warn(
                    f"{first.admin.id}/{second.admin.id}: separate IV sites documented for "
                    "concurrent infusions; a second initial service with modifier 59/XU "
                    "applies only if the second site was medically necessary - coder review "
                    "(R-ADMIN-06, R-MOD-03)."
                )
    return Outcome()
