"""Choose ICD-10-CM codes for a diagnosis mention from the whole code set (issue 12).

Facts in, codes out: a `DiagnosisMention` (extractor/dx_terms.py) -> `DiagnosisCodeChoice`s.
Each step is one small rule citing the ICD-10-CM Official Guidelines for Coding and
Reporting FY2026 ("ICD-G") or the tabular ("ICD-TAB"):

1. `r_most_specific_entry` (I.B.2, I.B.13, I.B.18): per main term, the title whose words
   the phrase states most fully; a title that needs a word the phrase does not state is
   never taken (never guess an axis); the unspecified code is taken instead and the axes a
   more specific sibling needs are listed (CDI query, R-CDI-06 generalised).
2. `r_combination_code` (I.B.9): a code whose words another chosen code already accounts
   for is not coded apart (E11.22 takes the CKD, J44.1 the exacerbation).
3. `r_code_first_use_additional` (I.A.13, I.B.7): a code a chosen code's "code first" /
   "use additional code" note names is kept with it (E11.22 + N18.31, D63.1 + N18.4),
   etiology first.
4. `r_organism_code` (I.C.1, ICD-TAB B95-B97): the organism code when the note asks for it
   and no chosen code names the organism; B95-B97 are never coded alone.
5. `r_adverse_effect_drug` (I.C.19.e.5.a): D64.81 / D70.1 "use additional code ...
   (T45.1X5)" -> T45.1X5A (7th character A while the condition is actively treated).
6. `r_sepsis_stated` (I.C.1.d): A40/A41 only when sepsis is stated; bacteremia is R78.81.
7. `r_signs_symptoms_integral` (I.B.4-5): R00-R99 codes are dropped beside a definitive
   diagnosis, unless a chosen code's note asks for them (D70 -> R50.81).
8. `r_excludes1` (I.A.12.a): two codes in an Excludes1 pair are never both kept.
9. `r_history` (I.C.21.c.4, I.C.2.d): "history of" keeps only personal-history codes
   (Z85-Z87), "family history of" only Z80-Z84.
10. `r_seventh_character` (I.C.19.a): a code needing a 7th character gets it from the
    stated encounter; none stated -> no code and "encounter" listed as missing.

Every returned code is checked billable in the code set before it leaves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

from engine.icd10cm import DEFAULT_YEAR, CodeRange, CodeSet, code_refs, code_set, is_neoplasm
from engine.icd10cm_drugs import Substance, drug_table
from engine.icd10cm_terms import MainTerm, TermEntry, TermIndex, term_index
from extractor.dx_terms import axes_vocabulary, axis_of_word
from extractor.dx_words import prepare, split_words, synonyms, title_terms
from notecoder.schema import DiagnosisCodeChoice, DiagnosisMention

HISTORY_FILE = "dx_history_codes.json"
ENCOUNTER_CHARACTER = {"initial": "initial encounter", "subsequent": "subsequent encounter",
                       "sequela": "sequela"}
# Words that never make a title wrong when the phrase states them and the title does not.
NEUTRAL_WORDS = frozenset({"non", "small", "cell", "history", "personal", "primary", "left",
                           "right", "bilateral", "acute", "chronic", "female", "site",
                           "unspecified", "organism", "disease", "disorder", "abdominal",
                           "uncontrolled", "controlled", "stable", "known", "new", "active",
                           "current", "mild", "moderate", "severe", "worsening", "improving",
                           "resolved", "treated", "lung", "cancer", "initial", "encounter",
                           "subsequent", "sequela", "closed", "routine", "healing",
                           # Course and workup words that never change the code.
                           "unclear", "source", "documented", "first", "episode", "x1", "x2",
                           "x3", "day", "week", "month", "year", "repleting", "replacing",
                           "po", "iv", "generalized", "taken", "prescribed", "completed",
                           "treatment", "deep",
                           # The biting animal is an external cause (W54-W55), not part of
                           # the injury code (Index: Bite - see Wound, open).
                           "dog", "cat", "animal",
                           # "great toe": no cellulitis or ulcer code names the great toe.
                           "great",
                           # Lab values a phrase quotes beside its diagnosis.
                           "egfr", "gfr", "crcl", "a1c", "hba1c", "hgb", "ferritin",
                           # Toxicity grades and "peripheral" neuropathy qualify, never code.
                           "grade", "peripheral",
                           # Histology and course words that neoplasm and IBD site codes do
                           # not carry ("high-grade serous carcinoma of left ovary": C56.2).
                           "remission", "serous", "ductal", "lobular", "invasive",
                           "papillary", "mucinous", "high", "squamous",
                           # Musculoskeletal site codes are by joint ("gout, right first MTP
                           # joint": M10.071 ankle and foot); small-cell staging words.
                           "joint", "extensive", "limited", "terminal",
                           # A part of an organ no code of the condition splits ("left
                           # proximal ureteral calculus": N20.1); where a code does (upper /
                           # lower end of a bone) the synonym file maps the word to it.
                           "proximal", "distal",
                           # "Schizophrenia, paranoid type": the subtype word says the type.
                           "type",
                           # Paraprotein types of a myeloma ("IgG kappa multiple myeloma").
                           "igg", "iga", "igm", "kappa", "lambda",
                           # Pace and frequency words no title splits by ("gastric
                           # angiodysplasia with slow bleeding": K31.811), and a lab value.
                           "slow", "occasional", "ongoing", "intermittent", "tsat",
                           # A treatment's schedule ("ESRD on HD three times weekly, MWF").
                           "weekly", "daily", "monthly", "time", "times", "twice", "three", "mwf",
                           "tts", "tiw"})
# "lower" / "upper" that a limb word adds ("leg" -> "lower limb") state the limb, never a
# part of it: they count only for a title that names the limb ("Cellulitis of left lower
# limb"), not for "lower leg" (I82.4Z-) or "upper arm" titles.
LIMB_LEVELS = frozenset({"lower", "upper"})
# A grade a title does not name qualifies the condition ("grade 2 neuropathy"), as "grade"
# does (NEUTRAL_WORDS); a title that names it ("Second degree ... grade/stage II") uses it.
_GRADES = frozenset(f"grade{n}{x}" for n in "1234" for x in ("", "a", "b"))
# Adverse effects the guidelines pair with a drug code although the tabular note is absent
# (ICD-G I.C.2.c.2: anemia due to antineoplastic chemotherapy -> D64.81 + T45.1X5-).
ADVERSE_EFFECT_PAIRS = {"D64.81": "T45.1X5"}
# Axes a title leaves open with "unspecified" that are not sites ("unspecified type of
# pneumonia"): between otherwise equal titles, the one leaving the axis open is the default.
OPEN_AXES = frozenset({"type", "severity", "stage", "trimester", "organism", "degree",
                       "episode", "phase", "level",
                       # The whole-site defaults ("Osteitis deformans of unspecified bone"
                       # M88.9, not "of unspecified shoulder" M88.819, for a phrase naming
                       # no bone).
                       "bone", "site"})


@dataclass
class TermMatch:
    """The best title under one main term for a phrase, and what it accounts for."""

    key: str
    entry: TermEntry
    explained: frozenset[str]  # stated words (core) the title accounts for
    defaults: int  # "without X" groups assumed, not stated
    # What the missing axes are computed from (only for the codes that are output).
    _axes_from: tuple | None = field(default=None, repr=False)
    _missing: list[str] | None = field(default=None, repr=False)
    rule: str = "I.B.2 most specific code"
    # Stated words other titles of the term use but this one does not.
    doubtful: frozenset[str] = frozenset()

    @property
    def code(self) -> str:
        return self.entry.code

    @property
    def missing_axes(self) -> list[str]:
        """Axes a more specific sibling needs and the phrase lacks (R-CDI-06 generalised)."""
        if self._missing is None:
            self._missing = _missing_axes(*self._axes_from) if self._axes_from else []
        return self._missing


def _entry_words(e: TermEntry, key: str) -> frozenset[str]:
    return e.words | {key}


def _stated(mention: DiagnosisMention) -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    core = frozenset(mention.words)
    soft = frozenset(mention.soft_words) - core
    return core, soft, mention.soft_words


def r_most_specific_entry(mention: DiagnosisMention, mt: MainTerm, within=None
                          ) -> TermMatch | None:
    """ICD-G I.B.2 / I.B.13 / I.B.18: the title under the main term that the phrase supports
    most fully, every required word stated; else None.

    Ties go to the title that assumes fewest "without X" defaults and names fewest words (the
    unspecified code). A stated word that other titles of the term use but the chosen one
    does not means the phrase was not understood: no code (a wrong code is worse than none).
    Axes that a more specific sibling needs and the phrase lacks are returned as missing.
    """
    core, soft, soft_from = _stated(mention)
    stated = core | soft
    negated = frozenset(mention.negated_words)
    sat, full, implied, other = _candidates(mt, stated)
    best: tuple | None = None
    plain_best = 0  # most stated words a title accounts for without an assumed "other"
    plain_category = ""
    for ei in full + mt.no_required + implied + other:
        e = mt.entries[ei]
        is_other = ei in other and ei not in full
        if e.billable not in (1, 7) or (within is not None and not within(e.code)):
            continue
        if _states_negative(e, core, mt.key):
            continue  # "without X" but X is stated
        if _other_acuity(e, core, mt.key):
            continue  # an acute title for a condition stated chronic, or the reverse
        words = _entry_words(e, mt.key)
        levels = frozenset() if "limb" in words else _limb_levels(soft_from)
        usable = soft - levels
        if levels and any(g & levels and not g & (core | usable) for g in e.required):
            continue  # "lower" of "leg" -> "lower limb" is no "lower leg" (I82.4Z-)
        direct = words & core
        explained = direct | {s for w in words & usable for s in soft_from[w].split()}
        neg_stated = sum(1 for g in e.negative if g & negated)
        defaults = len(e.negative) - neg_stated
        if is_other and (len(explained) + neg_stated <= plain_best
                         or e.code[:2] != plain_category[:2]):
            continue
        if not is_other and len(explained) + neg_stated > plain_best:
            plain_best, plain_category = len(explained) + neg_stated, e.code[:3]
        open_axes = len(e.optional & OPEN_AXES)  # "unspecified type": the unspecified code
        site_soft = sum(1 for w in words & soft if set(soft_from[w].split()) & _site_words())
        # On a tie of stated words, the title whose words carry meaning wins over one that
        # accounts for a course word ("acute alcoholic gastritis": K29.20 "Alcoholic
        # gastritis", not K29.00 "Acute gastritis", Index: Gastritis, alcoholic).
        score = (len(direct) + neg_stated, len(direct - NEUTRAL_WORDS), len(explained),
                 site_soft, -defaults, open_axes, -len(words), e.source == "t", e.code)
        if best is None or score[:8] > best[0][:8] or (score[:8] == best[0][:8]
                                                        and score[8] < best[0][8]):
            best = (score, e, frozenset(explained), defaults)
    if best is None:
        return None
    _, e, explained, defaults = best
    if (e.code[:1] == "Z" and len(explained) < 2 and not _whole_title(e, mt.key)) \
            or e.code[:2] == "Y9":
        # "observation, VS WNL" (Z39.0), "activity as tolerated" (Y93.9): an encounter,
        # status or activity code needs more than one stated word, unless the word is the
        # whole title (`_whole_title`), and Y90-Y99 are external-cause details an injury
        # code would carry, never a note's diagnosis.
        return None
    if e.source == "i" and defaults and not e.required and not (
            explained - {mt.key} - NEUTRAL_WORDS - _ACUITY) and _own_without(e, negated):
        # "acute attack": G40.109's inclusion term "Attacks without alteration of
        # consciousness" names the condition by its own "without" clause; stating only the
        # term's word does not state it (the Index's "Attack" alone leads nowhere).
        return None
    match = TermMatch(mt.key, e, explained, defaults)
    # A word another entry of the same code holds is no sign of another code ("hyperemesis
    # gravidarum with dehydration ... (metabolic disturbance)": O21.1's title and its
    # inclusion term "... with metabolic disturbance such as dehydration").
    unexplained = (core - explained - NEUTRAL_WORDS - _GRADES - _organism_stated(mention)
                   - set(mention.bracketed_words)) & (mt.vocabulary - _entry_words(e, mt.key)
                                                      - mt.code_words.get(e.code, frozenset()))
    match.doubtful = unexplained & _near_vocabulary(mt, sat, stated) if unexplained else \
        frozenset()
    match._axes_from = (mt, e, sat, stated)
    return match


def _own_without(e: TermEntry, negated: frozenset[str]) -> bool:
    """An unstated "without X" group of an inclusion term that the code's title does not
    hold: the inclusion term's own defining clause, not a default of the code ("Hyperthyroidism
    NOS" under E05.90 "... without thyrotoxic crisis or storm" defaults as the title does)."""
    title = re.findall(r"[a-z]+", code_set().description(e.code).lower())
    return any(not g & negated and not any(t.startswith(w) for w in g for t in title)
               for g in e.negative)


_DRUG_COURSE = frozenset({"long", "term", "chronic", "prolonged", "daily"})
_TITLE_FILLER = frozenset({"unspecified", "status", "of", "and", "the"})


def _whole_title(e: TermEntry, key: str) -> bool:
    """A one-word status the title is all of (ICD-TAB Z59.00 "Homelessness, unspecified",
    Z56.0 "Unemployment, unspecified"; Z66 "Do not resuscitate" for "DNR", its initials):
    the word states the code, as the Index entry of the same word does. A title with any
    other word ("Stress, not elsewhere classified" Z73.3, "Immunization not carried out
    ...") still needs more than the one word."""
    if e.required:
        return False
    words = [w for w in re.findall(r"[a-z]+", code_set().description(e.code).lower())
             if w not in _TITLE_FILLER]
    return words == [key] or (len(words) == len(key) >= 3
                              and "".join(w[0] for w in words) == key)


@lru_cache(maxsize=1024)
def _candidates(mt: MainTerm, stated: frozenset[str]):
    """(word groups each entry has stated, fully stated entries, organ-implied entries,
    "other" entries) of a main term for a set of stated words; cached, since a phrase's
    terms are searched again for code-first notes and missing encounters."""
    sat: dict[int, int] = {}
    by_word = mt.by_word
    for w in stated:
        for ei, gi in by_word.get(w, ()):
            sat[ei] = sat.get(ei, 0) | (1 << gi)
    need = mt.need
    full = [ei for ei, mask in sat.items() if mask == need[ei]]
    return sat, full, _site_implied(mt, sat, stated), _other_needed(mt, sat)


def _limb_levels(soft_from: dict[str, str]) -> frozenset[str]:
    """The soft "lower" / "upper" that only a limb word added ("leg" -> "lower limb")."""
    also = synonyms().also
    return frozenset(w for w in LIMB_LEVELS & soft_from.keys()
                     if all("limb" in also.get(s, "") for s in soft_from[w].split()))


def _near_vocabulary(mt: MainTerm, sat: dict[int, int], stated: frozenset[str]
                     ) -> frozenset[str]:
    """Words of the titles the phrase nearly states: every required word group stated but
    at most one. A stated word only such a title uses is a sign of a more specific code the
    phrase was meant to reach ("Crohn's disease of small and large bowel": K50.8-); a word
    only far titles use ("large" of "Congenital stricture of large intestine") is not."""
    out: set[str] = set()
    need = mt.need
    for ei, mask in sat.items():
        if (need[ei] & ~mask).bit_count() <= 1 and mt.entries[ei].billable in (1, 7):
            out |= mt.entries[ei].words
    for ei in mt.no_required:
        out |= mt.entries[ei].words
    return frozenset(out)


def _site_implied(mt: MainTerm, sat: dict[int, int], stated: frozenset[str]) -> list[int]:
    """ICD-G I.B.13 (Index: "Diverticulitis K57.92", "Otitis externa H60.9-"): a main term
    whose titles mostly name one organ is coded without it when the phrase names no site;
    the organ is implied. Only organ words (`dx_axes.json` site) that most of the term's
    titles require may be implied, and only when the phrase states no site word the term
    uses."""
    if stated & _site_words() & mt.vocabulary:
        return []
    out = []
    for ei, gi in _organ_groups(mt):
        if sat.get(ei, 0) | (1 << gi) == mt.need[ei]:
            out.append(ei)
    return out


_ORGAN_GROUPS: dict[int, list[tuple[int, int]]] = {}


def _organ_groups(mt: MainTerm) -> list[tuple[int, int]]:
    """(entry, group) pairs whose group is one organ word most of the term's titles need."""
    got = _ORGAN_GROUPS.get(id(mt))
    if got is None:
        sites = _site_words()
        complete = [e for e in mt.entries if e.billable in (1, 7)]
        share: dict[str, int] = {}
        for e in complete:
            for w in {w for g in e.required for w in g} & sites:
                share[w] = share.get(w, 0) + 1
        organs = {w for w, n in share.items() if 3 * n > len(complete)}
        got = [(ei, gi) for ei, e in enumerate(mt.entries) for gi, g in enumerate(e.required)
               if len(g) == 1 and g <= organs]
        _ORGAN_GROUPS[id(mt)] = got
    return got


def _other_needed(mt: MainTerm, sat: dict[int, int]) -> list[int]:
    """ICD-G I.A.9.a ("Other" codes: specified, but no specific code): a title whose only
    unstated word is "other" ("Other pulmonary embolism with acute cor pulmonale") is a
    candidate; `r_most_specific_entry` takes it only when it accounts for more stated words
    than every title that needs no "other" (the unspecified code cannot hold them) and is
    in the same block as the best of those (I26.09 over I26.99, Z85.038 over Z85.9)."""
    need = mt.need
    return sorted(ei for ei, gi in mt.other_group.items()
                  if (mask := sat.get(ei)) is not None and mask | (1 << gi) == need[ei]
                  and not mask & (1 << gi))


def _site_words() -> frozenset[str]:
    return frozenset(axes_vocabulary()["site"])


def _other_acuity(e: TermEntry, core: frozenset[str], key: str) -> bool:
    """ICD-G I.B.8 (acute and chronic conditions have their own subentries): a title that
    names one acuity is never the code of a condition stated with only the other ("Chronic
    DVT right femoral vein" is never I82.411 "Acute embolism ...")."""
    said = _ACUITY & core
    if len(said) != 1:
        return False
    named = _ACUITY & _entry_words(e, key)
    return bool(named) and not named & said


_ACUITY = frozenset({"acute", "chronic"})


def _states_negative(e: TermEntry, core: frozenset[str], key: str) -> bool:
    """True when the phrase states a "without X" word of the entry that the entry does not
    also name positively ("without rupture of ear drum, right ear": "ear" is the site)."""
    positive = set(e.optional) | {key}
    for g in e.required:
        positive |= g
    return any((g - positive) & core for g in e.negative)


_BOTH = frozenset({"both"})


def _missing_axes(mt: MainTerm, chosen: TermEntry, sat: dict[int, int],
                  stated: frozenset[str]) -> list[str]:
    """Axes (laterality, stage, type, ...) that siblings more specific than `chosen` need."""
    axis = axis_of_word()
    chosen_words = _entry_words(chosen, mt.key) & stated
    missing: set[str] = set()
    need = mt.need
    for ei, mask in sat.items():
        open_bits = need[ei] & ~mask
        if not open_bits or open_bits.bit_count() > 2:
            continue
        e = mt.entries[ei]
        if e.code == chosen.code or e.billable not in (1, 7):
            continue
        unmet = [g for gi, g in enumerate(e.required) if open_bits & (1 << gi)]
        if all(g <= _BOTH for g in unmet):
            continue  # "both small and large intestine" (K57.5-) names a site, not a side
        axes = {axis.get(w) for g in unmet for w in g}
        if None in axes or "sex" in axes or len(axes) != 1:
            continue
        if not chosen_words <= _entry_words(e, mt.key):
            continue
        missing |= axes
    return sorted(missing)


def r_combination_code(matches: list[TermMatch]) -> tuple[list[TermMatch], list[TermMatch]]:
    """ICD-G I.B.9: a code whose stated words another chosen code accounts for is not coded
    apart; returns (kept, set aside). Larger accounts first."""
    ordered = sorted(matches, key=lambda m: (-len(m.explained), m.defaults, m.code))
    kept: list[TermMatch] = []
    aside: list[TermMatch] = []
    for m in ordered:
        if any(k.code == m.code for k in kept):
            continue
        if any(m.explained <= k.explained for k in kept):
            aside.append(m)
        else:
            kept.append(m)
    for k in kept:
        if k.rule.startswith("I.B.2") and any(a.explained < k.explained for a in aside):
            k.rule = "I.B.9 combination code"
    return kept, aside


def r_unspecified_sibling(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.B.2 (the most specific code) and I.A.9.b (unspecified codes only when the
    record gives no more): one phrase never takes a code and its "unspecified" sibling under
    the same subcategory ("Acute angle-closure glaucoma, right eye (acute attack)": H40.211,
    not also H40.219 from the bracketed word)."""
    by_parent: dict[str, list[TermMatch]] = {}
    for m in kept:
        by_parent.setdefault(cs.parent(m.code) or m.code, []).append(m)
    drop = set()
    for group in by_parent.values():
        if len(group) < 2:
            continue
        vague = [m for m in group if "unspecified" in cs.description(m.code).lower()]
        if len(vague) < len(group):
            drop |= {id(m) for m in vague}
    return [m for m in kept if id(m) not in drop]


def r_note_partners(cs: CodeSet, mention: DiagnosisMention, matches: list[TermMatch],
                    index: TermIndex) -> list[TermMatch]:
    """ICD-G I.A.13 / I.B.7 (etiology and manifestation, "code first" / "use additional
    code") with I.A.15 ("with" and the presumed links of I.C.9.a): a chosen code's note
    names the codes a phrase may state with it, so the title the phrase supports best
    within each named range, under the phrase's own main terms, is a candidate too
    ("Chronic HFrEF with HTN": I50.22's "code first ... due to hypertension (I11.0)" finds
    "Hypertensive heart failure" under "failure"). The usual rules then choose."""
    have = {m.code for m in matches}
    out: list[TermMatch] = []
    for m in matches:
        for note in cs.code_first(m.code) + cs.use_additional(m.code):
            # One code per note line ("code to identify site of ulcer (L97.4-, L97.5-)"): the
            # best title over its ranges.
            best: TermMatch | None = None
            if any(r.holds(c) for r in code_refs(note) for c in have):
                continue  # the note is answered already
            identify = note in cs.use_additional(m.code) and "to identify" in note
            for r in code_refs(note):
                if "B95" <= r.first[:3] <= "B97" or r.first[:1] == "Z":
                    continue  # organisms and status codes have rules of their own
                implied = (_range_words(cs, r.first, r.last) - set(mention.words)
                           if identify else frozenset())
                # Words every code of the range has ("Non-pressure chronic ulcer of ..." for
                # E11.621's "use additional code to identify site of ulcer (L97.4-, L97.5-)")
                # are said by the note: they may meet a title's requirement, but account for
                # no word of the phrase. A "code first ... such as" note says nothing exists.
                # The note may also name a manifestation code ("dementia in other diseases
                # classified elsewhere", F02.80 of G30.9's note), never reached by words.
                implied |= {"elsewhereclassified"}
                said = mention.model_copy(update={"soft_words": {
                    **{w: "" for w in implied}, **mention.soft_words}})
                for key in mention.main_terms:
                    mt = index.term(key)
                    found = r_most_specific_entry(said, mt, within=r.holds) if mt else None
                    if found is None or found.code in have or not (found.explained - {key}):
                        continue
                    if best is None or (len(found.explained), -found.defaults) > (
                            len(best.explained), -best.defaults):
                        best = found
            if best is not None:
                have.add(best.code)
                out.append(best)
    return out


@lru_cache(maxsize=4096)
def _range_words(cs: CodeSet, first: str, last: str) -> frozenset[str]:
    """The title words every complete code of a note's range shares (none for a range of
    more than one category or of no codes)."""
    if first[:3] != last[:3]:
        return frozenset()
    r = CodeRange(first, last)
    stack, common = [first[:3]], None
    while stack:
        code = stack.pop()
        stack.extend(cs.children(code))
        if cs.is_billable(code) and r.holds(code):
            words = {w for t in title_terms(cs.description(code)) for g in t.required
                     for w in g} | {t.key for t in title_terms(cs.description(code))}
            common = words if common is None else common & words
    return frozenset(common or ())


def _referenced(cs: CodeSet, by: str, code: str) -> str | None:
    """"code_first" / "use_additional" when a note of `by` names `code`, else None."""
    for kind, notes in (("code_first", cs.code_first(by)), ("use_additional",
                                                            cs.use_additional(by))):
        for note in notes:
            if any(r.holds(code) for r in code_refs(note)):
                return kind
    return None


def r_code_first_use_additional(cs: CodeSet, kept: list[TermMatch], aside: list[TermMatch],
                                mention: DiagnosisMention | None = None,
                                index: TermIndex | None = None) -> list[TermMatch]:
    """ICD-G I.A.13 / I.B.7: a set-aside code that a kept code's "code first" or "use
    additional code" note names is coded with it (E11.22 + N18.x, I12.9 + N18.x,
    D63.1 + N18.x); a "code first" code is listed before the code that names it."""
    out = list(kept)
    for a in aside:
        for k in kept:
            kind = _referenced(cs, k.code, a.code)
            if kind is None or any(o.code == a.code for o in out):
                continue
            if _note_answered(cs, k, a, out):
                continue
            a.rule = f"I.A.13 {kind.replace('_', ' ')} ({k.code})"
            if kind == "code_first":
                out.insert(out.index(k), a)
            else:
                out.insert(out.index(k) + 1, a)
    for a in aside:
        # I.A.13 at the manifestation: a stated condition whose own "code first" note names
        # the combination code kept for it (K31.84 Gastroparesis: "code first ... diabetes
        # (E11.43)") is coded after it: "Diabetic gastroparesis" -> E11.43, K31.84.
        for k in list(out):
            if any(o.code == a.code for o in out) or a.code[:1] in "RZ":
                continue
            # The note names the code itself (not a category: J18.9's "code first, if
            # applicable, associated influenza (J10.0-)" is answered by J10.00 alone).
            named = any(r.first == r.last == k.code for note in cs.code_first(a.code)
                        for r in code_refs(note))
            if named and _referenced(cs, k.code, a.code) is None:
                a.rule = f"I.A.13 code first ({k.code}) at the manifestation"
                out.insert(out.index(k) + 1, a)
    if mention is not None and index is not None:
        # A note's range ("N18.1-N18.4, N18.9") searched under the phrase's main terms: the
        # stage of CKD that I12.9 / E11.22 ask for is under the same main term as I12.9.
        for k in list(out):
            refs = [(kind, r, n) for kind, notes in (("code_first", cs.code_first(k.code)),
                                                     ("use_additional",
                                                      cs.use_additional(k.code)))
                    for n in notes for r in code_refs(n)]
            for kind, r, note in refs:
                if any(o.code[:3] == r.first[:3] or any(x.holds(o.code) for x in code_refs(note))
                       for o in out):
                    continue  # the note is answered (N18.31 for "N18.1-N18.4, N18.9")
                for key in mention.main_terms:
                    mt = index.term(key)
                    found = r_most_specific_entry(mention, mt, within=r.holds) if mt else None
                    claimed = set().union(*(o.explained for o in out))
                    if found is None or found.doubtful - claimed or any(
                            o.code == found.code for o in out):
                        continue
                    if not (found.explained - {found.key}) or found.code[:1] == "Z" or \
                            _note_answered(cs, k, found, out):
                        continue
                    found.rule = f"I.A.13 {kind.replace('_', ' ')} ({k.code})"
                    pos = out.index(k)
                    out.insert(pos if kind == "code_first" else pos + 1, found)
                    break
    if mention is not None:
        # A single code a note names ("fever (R50.81)") whose main term the phrase states.
        stated = set(mention.words)
        for k in list(out):
            for note in cs.use_additional(k.code) + cs.code_first(k.code):
                for r in code_refs(note):
                    if r.first != r.last or not cs.is_billable(r.first):
                        continue
                    key = _title_key(cs.description(r.first))
                    if key and key in stated and key not in k.explained \
                            and _note_words_stated(note, cs.description(r.first), stated) \
                            and not any(o.code == r.first for o in out):
                        bare = _bare_code_match(cs, r.first,
                                                f"I.A.13 use additional code ({k.code})", {key})
                        if not _note_answered(cs, k, bare, out):
                            out.insert(out.index(k) + 1, bare)
    return out


_NOTE_FILLER = frozenset({"if", "applicable", "to", "identify", "code", "any", "associated",
                          "with", "the", "of", "and", "or", "such", "as", "a", "an", "in"})
_SEVERITY = frozenset({"mild", "moderate", "severe"})


def _note_words_stated(note: str, title: str, stated: set[str]) -> bool:
    """ICD-G I.A.13: a "use additional code" note's words say when its code applies
    ("dementia with anxiety (F02.84)"): every word before "without" is stated and none
    after it ("dementia without behavioral disturbance (F02.80)" for "dementia in
    Alzheimer's disease"), and a severity the title names (F02.A4 "mild") is stated."""
    head = note.split("(", 1)[0]
    wanted, _, unwanted = head.lower().partition(" without ")
    need = set(split_words(prepare(wanted))) - _NOTE_FILLER
    avoid = set(split_words(prepare(unwanted))) - _NOTE_FILLER
    severity = set(split_words(prepare(title))) & _SEVERITY
    return need <= stated and not avoid & stated and severity <= stated


def _note_answered(cs: CodeSet, k: TermMatch, candidate: TermMatch, out: list[TermMatch]
                   ) -> bool:
    """True when another code `k`'s notes name already accounts for all the candidate
    does: the note is answered by a fuller code (I13.0 holds the I11.0 that I50.22's "code
    first" names; N18.32 the N18.9 of I12.9's "use additional")."""
    return any(o is not k and o.code != candidate.code and _referenced(cs, k.code, o.code)
               and o.explained >= candidate.explained for o in out)


@lru_cache(maxsize=8192)
def _title_key(title: str) -> str:
    """The main term of a tabular title ("" when it has none)."""
    terms = title_terms(title)
    return terms[0].key if terms else ""


def _bare_code_match(cs: CodeSet, code: str, rule: str, words=()) -> TermMatch:
    entry = TermEntry(code, 1, (), frozenset(), (), "t")
    return TermMatch(key="", entry=entry, explained=frozenset(words), defaults=0, rule=rule)


def r_organism_code(cs: CodeSet, mention: DiagnosisMention, kept: list[TermMatch]
                    ) -> list[TermMatch]:
    """ICD-TAB B95-B97 note, ICD-G I.C.1: B95-B97 identify the organism of a disease coded
    elsewhere, so they are never coded alone; one is added after a code whose "use
    additional code (B95-B97)" note applies when no chosen code names the organism, else
    (the block's own note: "supplementary or additional codes to identify the infectious
    agent(s) in diseases classified elsewhere") after the first condition code the phrase
    says the organism caused ("MRSA cellulitis right arm": L03.113, B95.62; "H. pylori
    gastritis": K29.70, B96.81). R78.81 bacteremia takes the organism too (R-DX-05 profile
    default `add`); symptom and status codes never do."""
    kept = [m for m in kept if not ("B95" <= m.code[:3] <= "B97")]
    organism = mention.axes.organism
    code = axes_vocabulary()["organism_codes"].get(organism or "")
    if not code:
        return kept
    words = next((set(w) for n, w in _organism_words() if n == organism), set())
    if any(words <= set(_entry_words(m.entry, m.key)) | _title_words(cs.description(m.code))
           for m in kept):
        return kept  # a combination code names the organism (J15.212, A41.02)
    out = list(kept)
    host = next((m for m in kept if _referenced(cs, m.code, code) == "use_additional"
                 or m.code == "R78.81"), None)
    rule = "use additional code"
    if host is None:
        host = next((m for m in kept if m.code[:1] not in "RSTVWXYZ"), None)
        rule = "B95-B97 block note"
        if host is not None and _category_names(cs, host.code[:3], frozenset(words)):
            # The category has a code naming the organism (J21.0 RSV bronchiolitis) the
            # phrase did not reach: no organism code beside a sibling (vaguer, not wrong).
            host = None
    if host is not None:
        out.insert(out.index(host) + 1, _bare_code_match(
            cs, code, f"I.C.1 organism, {rule} ({host.code})", words))
    return out


@lru_cache(maxsize=2048)
def _category_names(cs: CodeSet, category: str, words: frozenset[str]) -> bool:
    """True when a complete code of the category has a title naming all `words`."""
    stack = [category]
    while stack:
        code = stack.pop()
        stack.extend(cs.children(code))
        if cs.is_billable(code) and words <= _title_words(cs.description(code)):
            return True
    return False


@lru_cache(maxsize=8192)
def _title_words(title: str) -> frozenset[str]:
    return frozenset(w for t in title_terms(title) for g in t.required for w in g) | \
        frozenset(t.key for t in title_terms(title))


def _organism_stated(mention: DiagnosisMention) -> set[str]:
    organism = mention.axes.organism
    return next((set(w) for n, w in _organism_words() if n == organism), set())


def r_understood(mention: DiagnosisMention, matches: list[TermMatch], known: frozenset[str],
                 also_accounted: frozenset[str] = frozenset()) -> list[TermMatch]:
    """ICD-G I.B.1 (find the term, then verify it in the tabular): a title is kept only when
    every stated word its main term could have used is accounted for, by it or by a larger
    match; and the phrase is coded only when no stated word the index knows is left over.
    A main term that is an axis word ("acute", "left", "kidney") is never a diagnosis.
    A wrong code is worse than none."""
    axis = axis_of_word()
    # A main term that is an axis word counts only with a condition word of its own
    # ("Overactive bladder" N32.81, "varicose veins"), never alone ("left kidney").
    ordered = sorted((m for m in matches if m.key not in axis or m.explained - axis.keys()
                      - NEUTRAL_WORDS - {m.key}),
                     key=lambda m: (-len(m.explained), m.defaults, m.code))
    accounted: set[str] = set(also_accounted)
    out: list[TermMatch] = []
    changed = True
    while changed:  # "AKI on CKD 3b": a title's doubtful words may be another's condition
        changed = False
        for m in ordered:
            if m in out or m.doubtful - accounted:
                continue
            out.append(m)
            accounted |= m.explained
            changed = True
        if changed:
            continue
        # Two titles each holding the other's doubtful words ("iron deficiency anemia in
        # pregnancy": O99.019 + D50.9; "Hypertensive heart disease with CHF": I11.0 holds
        # "hypertensive", I50.9 "congestive") are accepted together.
        waiting = [m for m in ordered if m not in out]
        for a, b in ((a, b) for i, a in enumerate(waiting) for b in waiting[i + 1:]
                     if a.code != b.code):
            if not (a.doubtful - accounted - b.explained) and not (
                    b.doubtful - accounted - a.explained):
                out += [a, b]
                accounted |= a.explained | b.explained
                changed = True
                break
    out.sort(key=ordered.index)
    left = set(mention.words) - accounted - NEUTRAL_WORDS - _GRADES - _organism_stated(mention)
    left = {w for w in left if not _is_number(w)}  # "CKD stage 4 (eGFR 22)": a value
    left -= set(mention.bracketed_words)
    left = {w for w in left if w in known and w not in axis_of_word()}
    if left & COURSE_WORDS:
        left -= _unused_course_words(out)
    return out if not left else []


# A flare or exacerbation is an axis only of the conditions whose titles name it (asthma
# J45.-1, COPD J44.1, bronchiectasis J47.1); "UC flare", "RA flare" are coded as the
# condition (Index: no "with exacerbation" under Colitis, ulcerative or Arthritis,
# rheumatoid), the word changing no code.
COURSE_WORDS = frozenset({"exacerbation"})


def _unused_course_words(kept: list[TermMatch]) -> frozenset[str]:
    """The course words no title in the category of a kept code names."""
    if not kept:
        return frozenset()
    used: set[str] = set()
    for m in kept:
        if m._axes_from is None:
            return frozenset()
        used |= {w for e in m._axes_from[0].entries if e.code[:3] == m.code[:3]
                 for w in COURSE_WORDS & e.words}
    return COURSE_WORDS - used


def _is_number(word: str) -> bool:
    return word.replace(".", "", 1).isdigit()


def _organism_words():
    from extractor.dx_terms import _organisms

    return _organisms()


def r_adverse_effect_drug(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.C.19.e.5.a: an adverse effect is coded by its nature, followed by the T36-T50
    code with 5th/6th character 5 that the note names (D64.81, D70.1 -> T45.1X5); 7th
    character A while the condition is under active treatment.

    A note that says "if applicable" (D75.81 Myelofibrosis, E88.3 Tumor lysis syndrome: "code
    for adverse effect, if applicable, to identify drug (T45.1X5)") applies only when a drug
    caused the condition: the title says so itself (D70.1 "secondary to cancer
    chemotherapy", D75.82- "heparin induced"), or the phrase names the drug, which
    `r_drug_table_code` codes. A myelofibrosis with no drug named is D75.81 alone."""
    out = list(kept)
    for m in kept:
        notes = [n for n in cs.use_additional(m.code) if "adverse effect" in n
                 and ("if applicable" not in n or _TITLE_NAMES_DRUG.search(cs.description(m.code)))]
        if m.code in ADVERSE_EFFECT_PAIRS:
            notes.append(f"({ADVERSE_EFFECT_PAIRS[m.code]})")
        for note in notes:
            for r in code_refs(note):
                if r.first == r.last and r.first.startswith("T") and cs.needs_seventh(r.first):
                    full = cs.with_seventh(r.first, "A")
                    if full and not any(o.code == full for o in out):
                        out.insert(out.index(m) + 1, _bare_code_match(
                            cs, full, f"I.C.19.e.5.a adverse effect ({m.code})"))
    return out


# A title that names a drug or therapy as the cause of its condition (ICD-G I.C.19.e.5.a).
_TITLE_NAMES_DRUG = re.compile(r"(?i)\b(?:chemotherapy|antineoplastic|drugs?|induced|"
                               r"anticoagulants?|neuroleptic|anesthesia|serum|medicaments?)\b")
_POISONING = re.compile(r"\b(?:overdos\w*|od|poisoning|poisoned|ingestion|ingested|"
                        r"intoxication)\b")
_ALCOHOL_INTOXICATION = re.compile(r"\b(?:alcohol\w*|etoh|ethanol)\b.*\bintoxicat\w*|"
                                   r"\bintoxicat\w*.*\b(?:alcohol\w*|etoh|ethanol)\b")
_POISONING_NOT_INTOXICATION = re.compile(r"\b(?:overdos\w*|od|poisoning|poisoned|ingest\w*|"
                                         r"toxic effect)\b")
_UNDERDOSING = re.compile(r"\b(?:underdos\w*|subtherapeutic|missed doses?|ran out of|"
                          r"not taking)\b")
_SELF_HARM = re.compile(r"\b(?:intentional(?:ly)?|self[- ]?harm|suicid\w*)\b")
_ASSAULT = re.compile(r"\bassault\w*")
_UNDETERMINED = re.compile(r"\b(?:undetermined|cannot be determined)\b")
# An adverse-effect cue before the substance ("due to X", "reaction to X") or right after
# it ("X-induced", "X related").
_CAUSE_BEFORE = re.compile(r"\b(?:adverse effects? of|side effects? of|due to|d/t|2/2|"
                           r"secondary to|"
                           r"caused by|reaction to|anaphylaxis to|from|after)\b")
_CAUSE_AFTER = re.compile(r"[\s-]*(?:induced|related|associated|side effects?)\b")
# Manifestations the Index codes apart when a drug properly taken caused them.
_DRUG_MANIFESTATION = {"T78.2": "T88.6", "T78.40": "T88.7"}


@dataclass(frozen=True)
class DrugCause:
    """A Table of Drugs substance the phrase names as poisoning or as cause of its condition."""

    substance: Substance
    column: str  # "accidental", "self_harm", "assault", "undetermined", "adverse_effect"
    words: frozenset[str]  # the phrase words naming the substance


def drug_cause(mention: DiagnosisMention, year: str = DEFAULT_YEAR,
               folder: str | None = None) -> DrugCause | None:
    """ICD-G I.C.19.e.5: the substance of a poisoning ("overdose", "poisoning", "ingestion":
    intent as stated, accidental when unstated, I.C.19.e.5.b; undetermined only when the
    record says so) or of an adverse effect ("due to", "induced", "reaction to", "taken as
    prescribed", I.C.19.e.5.a); None when the phrase names no substance of the Table or
    does not say it caused anything ("pneumonia, on warfarin")."""
    table = drug_table(year, folder)
    found = table.find(mention.words)
    if found is None:
        found = table.find(_generic_names(mention.words))
    if found is None:
        found = table.find(_antineoplastic_class(_generic_names(mention.words)))
    if found is None:
        return None
    sub, start, end = found
    words = frozenset(mention.words[start:end])
    if words & _organism_stated(mention):
        return None  # "MRSA": methicillin names the organism, not a drug given
    text = mention.text.lower()
    if _UNDERDOSING.search(text):
        column = "underdosing"
    elif _POISONING.search(text):
        if _ALCOHOL_INTOXICATION.search(text) and not _POISONING_NOT_INTOXICATION.search(text):
            # Index: Intoxication, alcoholic (acute) F10.92- (F10.12-/F10.22- with abuse or
            # dependence); T51 Excludes2 acute alcohol intoxication: no toxic-effect code.
            return None
        column = ("self_harm" if _SELF_HARM.search(text) else "assault"
                  if _ASSAULT.search(text) else "undetermined"
                  if _UNDETERMINED.search(text) else "accidental")
    elif _caused_by(text, mention.words[start], mention.words[end - 1]):
        column = "adverse_effect"
    else:
        return None
    if not sub.codes.get(column):
        return None
    return DrugCause(sub, column, words)


def r_underdosing_intent(cs: CodeSet, mention: DiagnosisMention) -> list[TermMatch]:
    """ICD-G I.C.19.e.5.c: noncompliance codes give the intent of an underdosing: Z91.120 /
    Z91.128 intentional (due to financial hardship / other), Z91.138 unintentional; none
    when the phrase does not say."""
    text = mention.text.lower()
    if re.search(r"\bunintentional\w*|\baccidental\w*", text):
        code = "Z91.138"
    elif re.search(r"\bintentional\w*", text):
        code = "Z91.120" if re.search(r"\bfinancial|\bafford|\bcost\b", text) else "Z91.128"
    else:
        return []
    rule = "I.C.19.e.5.c underdosing intent"
    return [_bare_code_match(cs, code, rule)] if cs.is_billable(code) else []


def _is_drug_code(code: str) -> bool:
    """T36-T65: poisoning, adverse effect and underdosing by substance."""
    return "T36" <= code[:3] <= "T65"


def _caused_by(text: str, first: str, last: str) -> bool:
    """True when the text names the substance (its first and last words, or a brand
    name read as it) as a cause: a cue before it or right after it."""
    begin = _word_at(text, first)
    finish = _word_at(text, last, begin[0] if begin else 0)
    if begin is None or finish is None:
        return False
    return (_CAUSE_BEFORE.search(text, 0, begin[0]) is not None
            or _CAUSE_AFTER.match(text, finish[1]) is not None)


def _word_at(text: str, word: str, after: int = 0) -> tuple[int, int] | None:
    """(start, end) of the first text word at or after `after` that reads as `word`."""
    from extractor.dx_words import phrase_words

    for m in re.finditer(r"[a-z0-9]+", text[after:]):
        said = _generic_names([m.group(0)])
        if word in phrase_words(m.group(0)).core or word in (said + _antineoplastic_class(said)):
            return after + m.start(), after + m.end()
    return None


def _generic_names(words: list[str]) -> list[str]:
    """Brand names read as their generic (Tylenol -> acetaminophen), one word for one."""
    from extractor.lexicon import drug_names

    names = drug_names()
    out = []
    for w in words:
        entry = names.get(w)
        out.append(entry.generic if entry is not None and " " not in entry.generic else w)
    return out


def _antineoplastic_class(words: list[str]) -> list[str]:
    """Drugs the HCPCS table flags antineoplastic (oxaliplatin, carboplatin) read as the
    Table of Drugs' "antineoplastic" row, which lists few of them by name."""
    from engine.tables import drug_codes

    codes = drug_codes()
    return ["antineoplastic" if any(c.drug_class == "antineoplastic" for c in codes.get(w, ()))
            else w for w in words]


def r_drug_table_code(cs: CodeSet, mention: DiagnosisMention, cause: DrugCause | None,
                      kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.C.19.e.5 with the Table of Drugs and Chemicals: a poisoning code is listed
    first and replaces any less specific poisoning title (I.C.19.e.5.b); an adverse effect
    code follows the condition it caused, never alone (I.C.19.e.5.a), and anaphylaxis or
    an allergic reaction to a drug properly given is T88.6 / T88.7 (Index: Anaphylaxis,
    due to drug; Allergy, drug, correct substance properly administered). 7th character:
    the stated encounter, else A (I.C.19.a: active treatment)."""
    if cause is None:
        return kept
    char = {"initial": "A", "subsequent": "D", "sequela": "S"}.get(
        mention.axes.encounter or "initial", "A")
    code = cs.with_seventh(cause.substance.codes[cause.column], char)
    if code is None or not cs.is_billable(code):
        return kept
    rule = f"I.C.19.e.5 Table of Drugs ({' '.join(cause.substance.words)}, {cause.column})"
    drug = _bare_code_match(cs, code, rule, cause.words)
    others = [m for m in kept if not _is_drug_code(m.code)]
    if cause.column == "underdosing":
        # I.C.19.e.5.c: the condition first, the underdosing code, then the intent (Z91.12-
        # intentional, Z91.13- unintentional) where the phrase states it.
        intent = r_underdosing_intent(cs, mention)
        return [*others, drug, *intent] if others else kept
    if cause.column != "adverse_effect":
        return [drug, *others]
    out = []
    for m in others:
        stem = next((k for k in _DRUG_MANIFESTATION if m.code.startswith(k)), None)
        if stem is not None:
            full = cs.with_seventh(_DRUG_MANIFESTATION[stem], char)
            if full and cs.is_billable(full):
                m = _bare_code_match(cs, full, f"I.C.19.e.5.a drug manifestation ({m.code})",
                                     m.explained)
        out.append(m)
    return [*out, drug] if out else kept


def _cue_words(mention: DiagnosisMention) -> frozenset[str]:
    """Phrase words that state intent or cause, never a condition of their own."""
    return frozenset(mention.words) & _CAUSE_WORDS


_CAUSE_WORDS = frozenset({"underdosing", "subtherapeutic", "financial", "hardship", "ran",
                          "out", "missed", "dose", "taking", "after",
                          "overdose", "od", "poisoning", "ingestion", "intoxication",
                          "accidental", "unintentional", "intentional", "self", "harm",
                          "suicide", "attempt", "assault", "undetermined", "adverse",
                          "effect", "reaction", "induced", "taken", "prescribed"})


def r_sepsis_stated(mention: DiagnosisMention, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.C.1.d: sepsis codes (A40, A41) only when the phrase states sepsis; a localized
    infection with an organism ("MRSA septic arthritis") or bacteremia is never A41.x."""
    if "sepsis" in mention.words:
        return kept
    return [m for m in kept if m.code[:3] not in ("A40", "A41")]


def r_severe_sepsis_code(mention: DiagnosisMention, matches: list[TermMatch],
                         index: TermIndex) -> list[TermMatch]:
    """ICD-G I.C.1.d.1.b: severe sepsis (sepsis with organ dysfunction, septic shock) takes
    an R65.2- code beside the sepsis code that names the organism ("severe sepsis due to
    MRSA pneumonia": A41.02 and R65.20; "septic shock due to E. coli UTI": A41.51 and
    R65.21); both titles under "sepsis" are candidates, whichever won the term."""
    words = set(mention.words)
    mt = index.term("sepsis")
    if "sepsis" not in words or not words & {"severe", "shock"} or mt is None:
        return []
    out = []
    for within in (lambda c: c.startswith("R65.2"), lambda c: c[:3] in ("A40", "A41")):
        if any(within(m.code) for m in matches):
            continue
        found = r_most_specific_entry(mention, mt, within=within)
        if found is not None and (found.code[:1] == "A" or found.explained & {"severe",
                                                                               "shock"}):
            out.append(found)
    return out


def r_severe_sepsis_first(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.C.1.d.1.b / I.C.1.d.4 (and the R65.2 "code first underlying infection"
    note): severe sepsis and septic shock are never first; the systemic infection is coded
    first, and when the phrase names none, the note's "sepsis NOS" code (A41.9)."""
    severe = next((m for m in kept if m.code.startswith("R65.2")), None)
    if severe is None:
        # Sepsis and the localized infection behind it, no organ dysfunction ("sepsis
        # secondary to cellulitis of R leg"): the systemic infection first (I.C.1.d.4).
        systemic = [m for m in kept if m.code[:3] in ("A40", "A41")]
        return systemic + [m for m in kept if m not in systemic]
    systemic = [m for m in kept if m is not severe and (m.code[:3] in ("A40", "A41") or "sepsis"
                in cs.description(m.code).lower())]
    if systemic:  # the systemic infection, the localized infection, then R65.2-
        return systemic + [m for m in kept if m not in systemic and m is not severe] + [severe]
    refs = [r for note in cs.code_first(severe.code) if "sepsis NOS" in note
            for r in code_refs(note)]
    if not refs or not cs.is_billable(refs[0].first):
        return kept
    first = _bare_code_match(cs, refs[0].first, f"I.C.1.d.4 systemic infection first "
                                                f"({severe.code})", {"sepsis"})
    return [first, *(m for m in kept if m is not severe), severe]


def r_pain_by_site(mention: DiagnosisMention, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-TAB R52 Excludes1 ("localized pain, unspecified type - code to pain by site"):
    "Pain, unspecified" is never the code of a pain the phrase puts at a site or side ("left
    ear pain"); with no site code found, nothing is coded."""
    if not (mention.axes.site or mention.axes.laterality):
        return kept
    return [m for m in kept if m.code != "R52"]


def r_signs_symptoms_integral(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.B.4-5: signs and symptoms (R00-R99) routinely part of a definitive diagnosis
    are not coded beside it ("gastroenteritis with nausea and vomiting" -> K52.9 only),
    unless a chosen code's note asks for them (D70.1 + R50.81) or the symptom code's own
    "code first" note says it accompanies another condition (R65.21 severe sepsis with
    septic shock, I.C.1.d.1.b)."""
    definitive = [m for m in kept if not _is_symptom(m.code)]
    if not definitive:
        return kept
    out = []
    for m in kept:
        if _is_symptom(m.code) and not cs.code_first(m.code) and not any(
                _referenced(cs, d.code, m.code) for d in definitive):
            continue
        out.append(m)
    return out


# Symptom codes outside chapter 18 (Index: Myalgia M79.1-, Pain, limb M79.6-, Pain, joint
# M25.5-): treated like R00-R99 beside a definitive diagnosis.
SYMPTOM_PREFIXES = ("R", "M79.1", "M79.6", "M25.5")


def _is_symptom(code: str) -> bool:
    return code.startswith(SYMPTOM_PREFIXES)


def r_anemia_in_neoplastic_disease(kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.C.2.c.1 (Index: Anemia, in neoplastic disease D63.0): anemia "in" a chronic
    disease that is a coded neoplasm (C00-D49) is D63.0, listed after the neoplasm (D63.0
    "code first neoplasm"), not D63.8."""
    neoplasm = next((m for m in kept if is_neoplasm(m.code)), None)
    if neoplasm is None:
        return kept
    out = []
    for m in kept:
        if m.code == "D63.8":
            m = TermMatch(m.key, TermEntry("D63.0", 1, (), frozenset(), (), "t"), m.explained,
                          0, rule=f"I.C.2.c.1 anemia in neoplastic disease ({neoplasm.code})")
        out.append(m)
    return out


def r_sibling_with_named_symptom(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.A.15 ("with") and the sibling's "use additional code for associated
    symptoms" note: a title chosen by its "without X" default ("BPH without lower urinary
    tract symptoms", N40.0) gives way to the "with X" sibling whose note names a symptom
    the phrase states ("BPH with urinary retention": N40.1, and R33.8, the code the note
    names, for the retention the phrase called R33.9)."""
    out = list(kept)
    for m in kept:
        if not m.defaults or m not in out:
            continue
        parent = cs.parent(m.code)
        for sib in cs.children(parent) if parent else []:
            if sib == m.code or not cs.is_billable(sib):
                continue
            named = [r for note in cs.use_additional(sib) for r in code_refs(note)
                     if r.first == r.last and cs.is_billable(r.first)]
            for k in out:
                ref = next((r for r in named if k is not m and k.code[:3] == r.first[:3]
                            and _is_symptom(k.code)), None)
                if ref is None:
                    continue
                rule = f"I.A.15 with, {sib} use additional code"
                out[out.index(m)] = _bare_code_match(cs, sib, rule, m.explained | k.explained)
                out[out.index(k)] = _bare_code_match(cs, ref.first, rule, k.explained)
                return out
    return out


# The tabular's blocks of acute lower respiratory infections: "Influenza and pneumonia
# (J09-J18)" and "Other acute lower respiratory infections (J20-J22)".
LOWER_RESPIRATORY_INFECTIONS = (CodeRange("J09", "J18"), CodeRange("J20", "J22"))


def r_copd_lower_respiratory_infection(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-TAB J44.0 "Chronic obstructive pulmonary disease with (acute) lower respiratory
    infection" ("code also to identify the infection"; I.A.15 "with"): COPD stated with a
    pneumonia or acute bronchitis is J44.0, the infection coded too; an exacerbation keeps
    J44.1 beside it (both when both are documented)."""
    infection = [m for m in kept if any(r.holds(m.code) for r in LOWER_RESPIRATORY_INFECTIONS)]
    copd = [m for m in kept if m.code in ("J44.9", "J44.1")]
    if not infection or not copd or any(m.code == "J44.0" for m in kept) or not \
            cs.is_billable("J44.0"):
        return kept
    with_lri = _bare_code_match(cs, "J44.0", f"ICD-TAB J44.0 COPD with {infection[0].code}",
                                copd[0].explained)
    out = [m for m in kept if m.code != "J44.9"]
    at = out.index(copd[0]) if copd[0] in out else out.index(infection[0])
    return [*out[:at], with_lri, *out[at:]]


def r_covid_acute_bronchitis(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.C.1.g.1.c.iii: acute bronchitis confirmed as due to COVID-19 is U07.1 with
    J20.8 (acute bronchitis due to other specified organisms), not J20.9."""
    covid = [m for m in kept if m.code == "U07.1"]
    if not covid or not cs.is_billable("J20.8"):
        return kept
    # I.C.1.g.1: U07.1 first, then its manifestations.
    return covid + [_bare_code_match(cs, "J20.8", "I.C.1.g.1.c.iii acute bronchitis due to "
                                                  "COVID-19", m.explained)
                    if m.code == "J20.9" else m for m in kept if m.code != "U07.1"]


def r_chronic_pain(cs: CodeSet, mention: DiagnosisMention, kept: list[TermMatch]
                   ) -> list[TermMatch]:
    """ICD-G I.C.6.b.1.a: a pain stated chronic whose site code does not say so ("Chronic R
    knee pain" M25.561) takes G89.29 (other chronic pain) after it; neoplasm-related and
    specified chronic pain syndromes have their own G89 codes and are not touched."""
    if "chronic" not in mention.words or any(m.code.startswith("G89") for m in kept):
        return kept
    pain = [m for m in kept if "pain" in cs.description(m.code).lower()
            and "chronic" not in cs.description(m.code).lower()]
    if not pain or not cs.is_billable("G89.29"):
        return kept
    at = kept.index(pain[-1]) + 1
    chronic = _bare_code_match(cs, "G89.29", "I.C.6.b.1.a chronic pain", {"chronic"})
    return [*kept[:at], chronic, *kept[at:]]


def r_excludes1(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.A.12.a: codes in an Excludes1 pair are never reported together; the code
    that accounts for more of the phrase stays."""
    out = list(kept)
    for a in kept:
        for b in kept:
            if a is b or a not in out or b not in out:
                continue
            if any(r.holds(b.code) for note in cs.excludes1(a.code) for r in code_refs(note)):
                loser = a if len(a.explained) < len(b.explained) else b
                out.remove(loser)
                if loser.explained - set().union(*(o.explained for o in out)) - \
                        NEUTRAL_WORDS:
                    # The phrase says what the set-aside code held ("PE with cor
                    # pulmonale": I27.81 is "cor pulmonale without embolism"): the pair
                    # has a code of its own the phrase did not reach; code nothing.
                    return []
    return out


_OSTEOPOROSIS_WITH_FRACTURE = {"M81.0": "M80.0", "M81.8": "M80.8"}


def r_osteoporotic_fracture(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """Index: Fracture, pathological, due to osteoporosis M80.-; ICD-TAB M81 Excludes1
    osteoporosis with current pathological fracture (M80.-) and M84.4 Excludes1 pathological
    fracture in osteoporosis (M80.-): "pathologic fx L femur d/t osteoporosis" is M80.052-,
    the one combination code at the fracture's site, not M84.452- + M81.0. Only where the
    osteoporosis code and a pathological-fracture code of a named site are both chosen."""
    base = next((_OSTEOPOROSIS_WITH_FRACTURE[m.code] for m in kept
                 if m.code in _OSTEOPOROSIS_WITH_FRACTURE), None)
    fracture = next((m for m in kept if m.code.startswith("M84.4")), None)
    if base is None or fracture is None:
        return kept
    site = cs.description(fracture.code).partition(", ")[2].lower()
    if not site:
        return kept
    stack, found = [base], None
    while stack and found is None:
        code = stack.pop()
        stack.extend(cs.children(code))
        if cs.description(code).lower().endswith(", " + site):
            found = code
    if found is None:
        return kept
    osteoporosis = next(m for m in kept if m.code in _OSTEOPOROSIS_WITH_FRACTURE)
    combined = _bare_code_match(cs, found, "I.B.9 combination code (M80, pathological "
                                "fracture due to osteoporosis)",
                                fracture.explained | osteoporosis.explained)
    return [combined if m is fracture else m for m in kept if m is not osteoporosis]


def r_hyperemesis_metabolic(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-TAB O21.1 (hyperemesis gravidarum before the 20th week "with metabolic disturbance
    such as carbohydrate depletion, dehydration, electrolyte imbalance") and E87 Excludes1
    electrolyte imbalance associated with hyperemesis gravidarum (O21.1): "HEG w/
    hypokalemia" is O21.1, which holds the hypokalemia (I.B.9), not O21.0 + E87.6."""
    if not any(m.code == "O21.0" for m in kept):
        return kept
    metabolic = [m for m in kept if m.code.startswith(("E86.", "E87."))]
    if not metabolic:
        return kept
    hyperemesis = next(m for m in kept if m.code == "O21.0")
    words = hyperemesis.explained.union(*(m.explained for m in metabolic))
    combined = _bare_code_match(cs, "O21.1", "I.B.9 combination code (O21.1 with metabolic "
                                "disturbance)", words)
    gone = {id(m) for m in metabolic}
    return [combined if m is hyperemesis else m for m in kept if id(m) not in gone]


_DIABETES_HYPOGLYCEMIA = re.compile(r"E(?:0[89]|1[013])\.64")


def r_diabetic_hypoglycemia(kept: list[TermMatch]) -> list[TermMatch]:
    """Index: Diabetes, with, hypoglycemia (E11.649); ICD-TAB E16.2 and E16.0 Excludes1
    diabetes with hypoglycemia: hypoglycemia in a diabetic, drug-induced or not, is the
    diabetes code's, never also E16.- ("T2DM w/ hypoglycemia from insulin": E11.649 and the
    drug's T38.3X5A, not E16.0)."""
    if not any(_DIABETES_HYPOGLYCEMIA.match(m.code) for m in kept):
        return kept
    return [m for m in kept if not m.code.startswith("E16.")]


def r_history(mention: DiagnosisMention, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.C.21.c.4 (history codes), I.C.2.d (excised malignancy -> Z85): a "history of"
    phrase keeps only personal-history codes (Z85-Z87), "family history of" only Z80-Z84;
    no current-condition code is reported for it. A past procedure that leaves a status
    ("h/o gastric bypass" Z98.84, "hx of R THA" Z96.641) keeps its status code: I.C.21.c.3
    status codes say a patient carries the after-effect of a procedure, which a history of
    the procedure states."""
    if mention.family:
        return [m for m in kept if "Z80" <= m.code[:3] <= "Z84"]
    if mention.history:
        out = [m for m in kept if "Z85" <= m.code[:3] <= "Z87" or m.code in OTHER_HISTORY_CODES
               or m.code[:3] in STATUS_AFTER_PROCEDURE]
        # I.A.9.a: "Other specified postprocedural states" (Z98.890) only when no code of
        # the block names the state ("h/o gastric bypass": Z98.84 alone).
        if any(m.code[:3] in STATUS_AFTER_PROCEDURE and m.code != "Z98.890" for m in out):
            out = [m for m in out if m.code != "Z98.890"]
        return out
    return [m for m in kept if not ("Z80" <= m.code[:3] <= "Z87")]


# Status after a procedure (ICD-TAB Z89 acquired absence of limb, Z90 of organs, Z93
# artificial opening, Z95 cardiac and vascular implants, Z96 other functional implants, Z98
# other postprocedural states).
STATUS_AFTER_PROCEDURE = frozenset({"Z89", "Z90", "Z93", "Z95", "Z96", "Z98"})
# History codes outside Z85-Z87 ("History of falling" Z91.81; ICD-G I.C.21.c.4 lists
# Z91.4-, Z91.5-, Z91.8- and Z92.- among the history codes).
OTHER_HISTORY_CODES = frozenset({"Z91.81", "Z91.82", "Z91.410", "Z91.411", "Z91.412",
                                 "Z91.419", "Z91.42", "Z91.49", "Z91.51", "Z91.52",
                                 "Z92.21", "Z92.3", "Z92.241", "Z92.25", "Z92.82"})


@cache
def history_codes() -> dict[str, str]:
    """Condition code prefix -> personal-history code (`engine/tables/dx_history_codes.json`)."""
    path = resources.files("engine") / "tables" / HISTORY_FILE
    return {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items()
            if not k.startswith("_")}


def r_history_code(mention: DiagnosisMention, current: list[TermMatch], known: frozenset[str],
                   cs: CodeSet | None = None) -> list[TermMatch]:
    """ICD-G I.C.21.c.4 (history codes), I.C.9.e.4 (old MI I25.2), I.C.2.d (Z85): a
    "history of" / "family history of" phrase whose condition has no history title in the
    index is coded by the history code of the condition's category: `dx_history_codes.json`
    (pneumonia -> Z87.01, DVT -> Z86.718, MI -> I25.2), else the history code whose
    tabular inclusion term says "Conditions classifiable to" the condition's code
    (`classifiable_history`: C43.9 -> Z85.820, C18.9 -> Z80.0 in a family history).
    Every current code must have one, else nothing is coded."""
    current = [m for m in current if not ("Z80" <= m.code[:3] <= "Z87")]
    kept, _ = r_combination_code(r_understood(mention, current, known,
                                              _treatment_words(mention) | HISTORY_WORDS))
    table = {} if mention.family else history_codes()
    out: list[TermMatch] = []
    for m in kept:
        plain = m.code.replace(".", "")
        hits = [k for k in table if plain.startswith(k.replace(".", ""))]
        code = table[max(hits, key=len)] if hits else (
            classifiable_history(cs, m.code, mention.family) if cs is not None else None)
        if code is None:
            return []
        if not any(o.code == code for o in out):
            out.append(TermMatch(m.key, TermEntry(code, 1, (), frozenset(), (), "t"),
                                 m.explained | {"history", "personal", "family"}, 0,
                                 rule=f"I.C.21.c.4 history of {m.code}"))
    return out


def classifiable_history(cs: CodeSet, code: str, family: bool) -> str | None:
    """The complete history code (Z80-Z84 family, Z85-Z87 personal) whose inclusion term
    "Conditions classifiable to ..." holds `code` most narrowly; None when the narrowest
    such range belongs to a subcategory with several codes (Z86.7 "I00-I99")."""
    best: tuple[int, str, bool] | None = None
    for r, history, billable in _classifiable_ranges(cs, family):
        if r.holds(code):
            width = len(r.first.replace(".", "")) + (r.first == r.last)
            if best is None or width > best[0]:
                best = (width, history, billable)
    return best[1] if best is not None and best[2] else None


_CLASSIFIABLE: dict[tuple[int, bool], list] = {}


def _classifiable_ranges(cs: CodeSet, family: bool) -> list[tuple[object, str, bool]]:
    key = (id(cs), family)
    got = _CLASSIFIABLE.get(key)
    if got is None:
        got = []
        stack = ["Z80", "Z81", "Z82", "Z83", "Z84"] if family else ["Z85", "Z86", "Z87"]
        while stack:
            code = stack.pop()
            stack.extend(cs.children(code))
            for term in cs.inclusion_terms(code):
                if "classifiable to" in term.lower() and "except" not in term.lower():
                    got += [(r, code, cs.is_billable(code)) for r in code_refs(term)]
        _CLASSIFIABLE[key] = got
    return got


HISTORY_WORDS = frozenset({"family", "history", "personal"})
# Words of a diagnosis line that say what today's visit does for the condition ("Iron
# infusion for IDA", "here for IVIG, CIDP", "Crohn's on infliximab maintenance"): no
# condition of their own, and never a reason to code anything.
VISIT_WORDS = frozenset({"infusion", "transfusion", "injection", "here", "today", "visit",
                         "maintenance", "scheduled", "due", "dose", "ivig", "tx", "rx"})


def _visit_words(mention: DiagnosisMention) -> frozenset[str]:
    """Visit and status words of the phrase ("s/p" of a status code, "infusion")."""
    out = VISIT_WORDS & frozenset(mention.words)
    if re.search(r"\bs/p\b|\bstatus post\b", mention.text.lower()):
        out |= {"status", "post"}
    return out
# "s/p resection", "s/p lumpectomy and XRT", "completed treatment": how a past condition was
# treated, in a history phrase; no condition of its own.
_TREATED = re.compile(r"\b(?:s/p|status post|after|following|completed|treated with|"
                      r"post)\b[^,;]*")


def _treatment_words(mention: DiagnosisMention) -> frozenset[str]:
    """Words of a history phrase that say how the condition was treated (I.C.2.d)."""
    if not (mention.history or mention.family):
        return frozenset()
    from extractor.dx_words import phrase_words

    out: set[str] = {"status", "post"}
    for m in _TREATED.finditer(mention.text.lower()):
        out.update(phrase_words(m.group(0)).core)
    return frozenset(out) & frozenset(mention.words)


def r_seventh_character(cs: CodeSet, mention: DiagnosisMention, m: TermMatch) -> str | None:
    """ICD-G I.C.19.a: the 7th character follows the stated encounter (initial, subsequent,
    sequela); I.C.19.c.1: a fracture not stated open is closed, and a subsequent encounter
    has routine healing unless delayed healing, nonunion or malunion is stated (the first
    character of those meanings: "open fracture NOS" is type I or II). No encounter stated
    -> None (never guessed)."""
    encounter = mention.axes.encounter
    if encounter is None and m.code[:3] in ACTIVE_TREATMENT_DEFAULT:
        encounter = "initial"
    if encounter is None:
        return None
    wanted = ENCOUNTER_CHARACTER[encounter]
    words = set(mention.words)
    course = next((q for q in HEALING_COURSES if q in words), None)
    is_open = "open" in words and "closed" not in words
    for char, meaning in sorted(cs.seventh_characters(m.code).items()):
        if not meaning.startswith(wanted) or (
                ("open" in meaning) != is_open and "fracture" in meaning):
            continue
        if all((q in meaning) == (q == course) for q in HEALING_COURSES):
            return cs.with_seventh(m.code, char)
    return None


# Healing stated for a subsequent fracture encounter (I.C.19.c.1): the 7th character's own
# words.
HEALING_COURSES = ("delayed", "nonunion", "malunion")
# ICD-G I.C.19.a (7th character A "while the patient is receiving active treatment"),
# I.C.19.e: allergic and adverse reactions (T78), complications of infusion and
# transfusion (T80) and of care (T88) are coded for the visit that treats them: A unless
# another encounter is stated. Injuries keep needing a stated encounter.
ACTIVE_TREATMENT_DEFAULT = frozenset({"T78", "T80", "T88"})
SEVENTH_WORDS = frozenset({*HEALING_COURSES, "open", "closed", "routine", "healing"})


def _code_first_order(cs: CodeSet, kept: list[TermMatch]) -> list[TermMatch]:
    """ICD-G I.A.13: the code a "code first" note names goes before the code with the note,
    and the code a "use additional code" note names after it (C61 + Z19.1, not Z19.1
    first because the phrase put "castration-sensitive" first)."""
    out = list(kept)
    for a in kept:
        for b in kept:
            if a is b:
                continue
            kind = _referenced(cs, a.code, b.code)
            if kind == "code_first" and out.index(b) > out.index(a):
                out.remove(b)
                out.insert(out.index(a), b)
            elif kind == "use_additional" and out.index(b) < out.index(a):
                out.remove(b)
                out.insert(out.index(a) + 1, b)
    # Z16 "code first the infection": resistance to antimicrobials follows every code of
    # the phrase (the infection and its organism, B95-B97).
    return [m for m in out if not m.code.startswith("Z16")] + \
        [m for m in out if m.code.startswith("Z16")]


_METS = r"(?:mets|metastas[ie]s|metastatic disease)"
_SPREAD = [  # (pattern, whether the primary site is named first)
    re.compile(rf"^(?P<p>.+?)[\s,]+(?:with|w/|w)\s+(?P<s>.+?)\s+{_METS}\s*$"),
    re.compile(rf"^(?P<p>.+?)\s+{_METS}\s+(?:to|in)\s+(?:the\s+)?(?P<s>.+?)\s*$"),
    re.compile(r"^metastatic\s+(?P<p>.+?)\s+(?:to|in|involving)\s+(?:the\s+)?(?P<s>.+?)\s*$"),
    re.compile(r"^(?P<p>)metastatic\s+(?:to|in|involving)\s+(?:the\s+)?(?P<s>.+?)\s*$"),
    re.compile(r"^(?P<p>.+?)\s+metastatic\s+(?:to|in|involving)\s+(?:the\s+)?(?P<s>.+?)\s*$"),
    re.compile(rf"^(?P<s>.+?)\s+{_METS}\s+(?:from|of|2/2)\s+(?:an?\s+|the\s+)?(?P<p>.+?)\s*$"),
]
_UNKNOWN_PRIMARY = re.compile(r"^(?:unknown|unspecified|occult)(?:\s+primary)?(?:\s+site)?$")


def r_primary_and_secondary(mention: DiagnosisMention) -> tuple[str, list[str]] | None:
    """ICD-G I.C.2 (primary and secondary malignant neoplasms are coded apart; I.C.2.d: an
    unknown primary is C80.1): "colon cancer with liver metastases", "metastatic breast cancer
    to bone", "bone mets from unknown primary" -> (primary phrase, secondary phrases); the
    other comma parts of a line that states the spread in one part ("Encounter for chemo,
    metastatic breast ca to liver") follow as phrases of their own."""
    text = _RECEPTOR.sub(" ", re.sub(r"\([^()]*\)", " ", mention.text.lower()))
    text = " ".join(re.sub(r"\btriple[- ]negative\b|\btnbc\b", " ", text).split()).strip(" .;,/")
    parts = [p.strip(" .;/") for p in text.split(",")]
    for candidate, others in [(text, [])] + [
            (p, parts[:i] + parts[i + 1:]) for i, p in enumerate(parts) if len(parts) > 1]:
        for pattern in _SPREAD:
            m = pattern.match(candidate)
            if m is None:
                continue
            primary = m.group("p")
            if _UNKNOWN_PRIMARY.match(primary):
                primary = "malignant neoplasm, unspecified"
            sites = [x for x in re.split(r"\s*(?:,|\band\b|/|&)\s*", m.group("s")) if x]
            return primary, [f"secondary malignant neoplasm of {site}" for site in sites] + \
                [o for o in others if o]
    return _metastatic_with_sites(parts)


_METASTATIC_PRIMARY = re.compile(r"^metastatic\s+(?!to\b|in\b|disease\b)(?P<p>.+)$")
_SITE_METS = re.compile(rf"^(?P<s>.+?)\s+{_METS}$")


def _metastatic_with_sites(parts: list[str]) -> tuple[str, list[str]] | None:
    """"Metastatic adenocarcinoma of the sigmoid colon, liver metastases": the cancer called
    metastatic is the primary, and the part naming where it spread is the secondary (ICD-G
    I.C.2; Index: Metastasis, from specified site - see Neoplasm, malignant, by site). Only
    when another part names the secondary site: "metastatic colon cancer" alone is left to
    the term reading."""
    for i, part in enumerate(parts):
        m = _METASTATIC_PRIMARY.match(part)
        if m is None:
            continue
        others = parts[:i] + parts[i + 1:]
        sites = [s.group("s") for s in map(_SITE_METS.match, others) if s is not None]
        if sites:
            rest = [o for o in others if o and _SITE_METS.match(o) is None]
            return m.group("p"), [f"secondary malignant neoplasm of {s}" for s in sites] + rest
    return None


# A receptor and its status: "ER+", "PR-", "HER2 negative", "ER/PR positive", "HR+".
_RECEPTOR = re.compile(r"\b(er|pr|pgr|her-?2(?:/neu)?|hr|hormone receptor)\b"
                       r"(?:\s*/\s*(er|pr|pgr)\b)?"
                       r"[\s:-]*(positive|pos|negative|neg|\+|-)(?![a-z])", re.I)
RECEPTOR_WORDS = frozenset({"er", "pr", "pgr", "her2", "her", "2", "neu", "hr", "hormone",
                            "receptor", "positive", "pos", "negative", "neg", "triple",
                            "status"})
_RECEPTOR_NAMES = {"pgr": "pr", "hormone receptor": "hr"}


def receptor_status(text: str) -> dict[str, str]:
    """Receptor -> "+" / "-" as the phrase states them ("ER+/PR-/HER2-", "ER/PR positive,
    HER2 negative", "HR+/HER2-"); "triple negative" is the combined HR-/HER2- status the
    Z17.421 inclusion terms name, "triple positive" each receptor positive."""
    s = text.lower()
    out: dict[str, str] = {}
    if re.search(r"\btriple[- ]negative\b|\btnbc\b", s):
        out.update(hr="-", her2="-")
    if re.search(r"\btriple[- ]positive\b", s):
        out.update(er="+", pr="+", her2="+")
    for m in _RECEPTOR.finditer(s):
        sign = "+" if m.group(3) in ("positive", "pos", "+") else "-"
        for name in (m.group(1), m.group(2)):
            if name:
                name = re.sub(r"-|/neu", "", name)
                out[_RECEPTOR_NAMES.get(name, name)] = sign
    return out


@cache
def _receptor_codes(year: str, folder: str | None) -> dict[frozenset, str]:
    """{(receptor, sign), ...} -> Z17 code, read from the Z17 titles and inclusion terms
    ("[ER+]", "PR-", "HR+ with HER2-"), never typed by hand."""
    cs = code_set(year, folder)
    out: dict[frozenset, str] = {}
    stack = ["Z17"]
    while stack:
        code = stack.pop()
        stack.extend(cs.children(code))
        if not cs.is_billable(code):
            continue
        for text in [cs.description(code), *cs.inclusion_terms(code)]:
            found = frozenset((r.lower(), s)
                              for r, s in re.findall(r"\b(ER|PR|HER2|HR)([+-])", text))
            if found:
                out.setdefault(found, code)
    return out


def r_receptor_status(cs: CodeSet, mention: DiagnosisMention, out: list[DiagnosisCodeChoice],
                      year: str = DEFAULT_YEAR, folder: str | None = None
                      ) -> list[DiagnosisCodeChoice]:
    """ICD-TAB Z17 ("code first malignant neoplasm"; "use one code, as available, for each
    receptor"; Z17.4-: "when only a combined receptor status is documented"): the stated
    receptor status of a neoplasm whose note asks for Z17 (C50 breast) follows it; a
    combined HR status takes the HR/HER2 code, never one per receptor beside it. A Z17 code
    the term index found for the words alone ("HR" -> Z17.41-) is dropped: the index reads
    no sign, so its child would be a guess; only the stated statuses are coded."""
    out = [c for c in out if not c.code.startswith("Z17")]
    status = receptor_status(mention.text)
    host = next((c for c in out if any(r.first.startswith("Z17") for n in
                                       cs.use_additional(c.code) for r in code_refs(n))), None)
    if not status or host is None:
        return out
    table = _receptor_codes(year, folder)
    wanted: list[frozenset] = []
    if "hr" in status:
        if "her2" in status:
            wanted.append(frozenset({("hr", status["hr"]), ("her2", status["her2"])}))
    else:
        wanted += [frozenset({(r, status[r])}) for r in ("er", "pr", "her2") if r in status]
    added = [table[w] for w in wanted if w in table and cs.is_billable(table[w])]
    codes = [DiagnosisCodeChoice(code=c, description=cs.description(c), term="receptor",
                                 words=sorted(RECEPTOR_WORDS & set(mention.words)),
                                 rule=f"ICD-TAB Z17 receptor status ({host.code})",
                                 missing_axes=[], code_set=cs.release)
             for c in added if all(o.code != c for o in out)]
    # After the neoplasm codes (primary and secondary), before anything else.
    at = max(i for i, c in enumerate(out) if c is host or c.code[:1] == "C") + 1
    return out[:at] + codes + out[at:]


_ON_DRUG = re.compile(r"\b(?:on|maintained on|long[- ]term(?: use of)?|chronic)\s+"
                      r"(?:long[- ]term\s+|daily\s+|chronic\s+)?([a-z][a-z ]*[a-z])")


@cache
def _long_term_codes(year: str, folder: str | None) -> dict[str, str]:
    """Drug name -> its Z79 code: `curated/dx_long_term_drugs.csv` names the class as the
    Z79 title writes it ("anticoagulants"); the code is read from the code set's own titles
    ("Long term (current) use of anticoagulants" -> Z79.01), never typed by hand."""
    from notecoder.refdata.long_term_drugs import long_term_drug_rows

    cs = code_set(year, folder)
    by_class: dict[str, str] = {}
    stack = ["Z79"]
    while stack:
        code = stack.pop()
        kids = cs.children(code)
        stack.extend(kids)
        title = cs.description(code).lower()
        if cs.is_billable(code) and " use of " in title:
            by_class[title.split(" use of ", 1)[1]] = code
    out = {}
    for row in long_term_drug_rows():
        code = by_class.get(row["long_term_use_of"].lower())
        if code is None:
            raise ValueError(f"no Z79 title 'use of {row['long_term_use_of']}' in {year}")
        out[row["drug"].lower()] = code
    return out


def long_term_drug(cs: CodeSet, mention: DiagnosisMention, year: str = DEFAULT_YEAR,
                   folder: str | None = None) -> tuple[tuple[str, ...], frozenset[str]] | None:
    """The Z79 codes of the drugs a phrase says the condition is treated with ("A-fib on
    apixaban", "DM2 on insulin and metformin") and the words naming them; None when it
    names none."""
    table = _long_term_codes(year, folder)
    codes: list[str] = []
    named: set[str] = set()
    for m in _ON_DRUG.finditer(mention.text.lower()):
        words = m.group(1).split()
        i = 0
        while i < len(words):  # "insulin and metformin": every drug of the list
            for n in range(min(3, len(words) - i), 0, -1):
                name = " ".join(words[i:i + n])
                code = table.get(name)
                if code is not None and cs.is_billable(code):
                    if code not in codes:
                        codes.append(code)
                    named.update(name.split())
                    i += n - 1
                    break
            i += 1
    return (tuple(codes), frozenset(named)) if codes else None


def r_long_term_drug(cs: CodeSet, kept: list[TermMatch],
                     drug: tuple[tuple[str, ...], frozenset[str]] | None) -> list[TermMatch]:
    """ICD-G I.C.21.c.3 (Z79: a drug taken long term for a chronic condition) and
    I.C.4.a.3 (diabetes control by insulin / oral drugs; both Z79.4 and Z79.84 when insulin
    and an oral drug are both used): each drug's Z79 code (`long_term_drug`) after the
    condition, never alone. I.C.15.i: no Z79 control code beside gestational diabetes
    (O24.4-), whose codes say the control."""
    if drug is None or not kept:
        return kept
    out = list(kept)
    gestational = any(k.code.startswith("O24.4") for k in kept)
    for code in drug[0]:
        if any(k.code == code for k in out) or (gestational and code in GDM_CONTROL):
            continue
        out.append(_bare_code_match(cs, code, "I.C.21.c.3 long-term drug therapy"))
    return out


# ICD-G I.C.15.i: "Codes Z79.4, Z79.84 and Z79.85 should not be assigned with codes from
# subcategory O24.4".
GDM_CONTROL = frozenset({"Z79.4", "Z79.84", "Z79.85"})


_BMI = re.compile(r"\bbmi\s*(?:of|is|=|:)?\s*(\d{2}(?:\.\d)?)\b")
_BMI_RANGE = re.compile(r"\[bmi\] (\d+(?:\.\d)?)(?:-(\d+(?:\.\d)?)| or (less|greater)), adult")
# Conditions a BMI code may accompany (ICD-G I.B.14, I.C.21.c.3): weight conditions.
_WEIGHT_CODES = ("E66", "R63.6", "E44", "E43", "R64")


@cache
def _bmi_codes(year: str, folder: str | None) -> list[tuple[float, float, str]]:
    """(low, high, code) of every adult BMI code, read from the Z68 titles."""
    cs = code_set(year, folder)
    out, stack = [], ["Z68"]
    while stack:
        code = stack.pop()
        stack.extend(cs.children(code))
        m = _BMI_RANGE.search(cs.description(code).lower())
        if m is None or not cs.is_billable(code):
            continue
        low = float(m.group(1))
        high = float(m.group(2)) if m.group(2) else (low if m.group(3) == "less" else 999.0)
        if m.group(3) == "less":
            low = 0.0
        out.append((low, high, code))
    return sorted(out)


def r_body_mass_index(cs: CodeSet, mention: DiagnosisMention, kept: list[TermMatch],
                      year: str = DEFAULT_YEAR, folder: str | None = None) -> list[TermMatch]:
    """ICD-G I.B.14 / I.C.21.c.3: a stated adult BMI adds its Z68 code after a weight
    condition (obesity, overweight, malnutrition); never alone."""
    m = _BMI.search(mention.text.lower())
    if m is None or not any(k.code.startswith(_WEIGHT_CODES) for k in kept):
        return kept
    value = float(m.group(1))
    for low, high, code in _bmi_codes(year, folder):
        if low <= value <= high + 0.05:
            if any(k.code == code for k in kept):
                return kept
            return [*kept, _bare_code_match(cs, code, "I.B.14 BMI with its condition")]
    return kept


def r_pregnancy_chapter(mention: DiagnosisMention, kept: list[TermMatch],
                        index: TermIndex) -> list[TermMatch]:
    """ICD-G I.C.15.a.1: a condition stated in a pregnancy is coded from chapter 15 first
    (O99.01- anemia complicating pregnancy, then D50.9 for its type), unless the provider
    says the pregnancy is incidental (Z33.1 only then)."""
    words = set(mention.words)
    if not words & {"pregnancy", "pregnant"}:
        return kept
    incidental = "incidental" in words
    out = [m for m in kept if incidental or m.code != "Z33.1"]
    if incidental:
        return out
    if any(m.code.startswith("O") for m in out):  # chapter 15 codes are listed first
        return sorted(out, key=lambda m: not m.code.startswith("O"))
    others = [m for m in out if not m.code.startswith("Z3A")]
    for m in others:
        mt = index.term(m.key) if m.key else None
        found = r_most_specific_entry(mention, mt, within=lambda c: c.startswith("O")) \
            if mt else None
        if found is not None and not found.doubtful - m.explained - {"pregnancy"}:
            found.rule = "I.C.15.a.1 condition in pregnancy"
            return [found, *out]
    return out


def _trimester(weeks: int) -> str:
    """ICD-G I.C.15.a.3: first trimester before 14 weeks 0 days, second 14 weeks 0 days to
    before 28 weeks 0 days, third from 28 weeks 0 days."""
    return "first" if weeks < 14 else "second" if weeks < 28 else "third"


def _with_trimester(mention: DiagnosisMention) -> DiagnosisMention:
    """The stated weeks of gestation read as the trimester the O-code titles name."""
    weeks = mention.axes.gestation_weeks
    if weeks is None:
        return mention
    # Soft words that account for themselves: a title naming the trimester outranks
    # "unspecified trimester", but a title with no trimester axis is not outranked by one
    # that has it (O24.419 gestational diabetes, not O24.913, at 30 weeks).
    said = {w: w for w in (_trimester(weeks), "trimester") if w not in mention.words}
    return mention.model_copy(update={"soft_words": {**mention.soft_words, **said}})


def r_weeks_of_gestation(cs: CodeSet, mention: DiagnosisMention, kept: list[TermMatch]
                         ) -> list[TermMatch]:
    """ICD-TAB Z3A (weeks of gestation, code first the pregnancy complication O09-O9A) and
    ICD-G I.C.15.b.3: a pregnancy code with stated weeks adds Z3A.nn after it (Z3A.01 under
    8 weeks, Z3A.49 over 42)."""
    weeks = mention.axes.gestation_weeks
    if weeks is None or not any(m.code.startswith(("O0", "O1", "O2", "O3", "O4", "O6",
                                                   "O7", "O8", "O9")) for m in kept):
        return kept
    code = "Z3A.01" if weeks < 8 else "Z3A.49" if weeks > 42 else f"Z3A.{weeks:02d}"
    if not cs.is_billable(code) or any(m.code == code for m in kept):
        return kept
    return [*kept, _bare_code_match(cs, code, "ICD-TAB Z3A weeks of gestation",
                                    (str(weeks), "week"))]


# Z88 "Allergy status to ..." by the Table of Drugs class of the substance (T-code prefix),
# most specific prefix first; any other drug is Z88.8.
_ALLERGY_STATUS_BY_CLASS = (("T36.0", "Z88.0"), ("T36", "Z88.1"), ("T37.0", "Z88.2"),
                            ("T37", "Z88.3"), ("T41", "Z88.4"), ("T40.0", "Z88.5"),
                            ("T40.2", "Z88.5"), ("T40.3", "Z88.5"), ("T40.4", "Z88.5"),
                            ("T40.6", "Z88.5"), ("T39", "Z88.6"), ("T50.A", "Z88.7"),
                            ("T50.B", "Z88.7"), ("T50.Z", "Z88.7"))
_ALLERGY_WORDS = frozenset({"allergy", "allergic", "allergies"})
# Words of an allergic reaction happening now (T78.-, T88.6/T88.7), not of a status.
_REACTION_WORDS = frozenset({"reaction", "anaphylaxis", "anaphylactic", "angioedema"})


def r_allergy_status(cs: CodeSet, mention: DiagnosisMention, out: list[DiagnosisCodeChoice],
                     year: str = DEFAULT_YEAR, folder: str | None = None
                     ) -> list[DiagnosisCodeChoice]:
    """ICD-TAB Z88 (Allergy status to drugs, medicaments and biological substances; ICD-G
    I.C.21.c.3 status codes): "Allergy: codeine", "allergic to ceftriaxone" states an allergy
    status, coded Z88.- by the drug's class in the Table of Drugs (codeine T40.2- -> Z88.5
    narcotic agent, ceftriaxone T36.1- -> Z88.1 other antibiotic), never T78.40 "Allergy,
    unspecified", which is a reaction happening now. A reaction stated with it ("allergic
    reaction to PCN") and a status already coded (Z88.0 for "PCN allergy") are left alone."""
    stated = set(mention.words) - set(mention.bracketed_words)
    if not stated & _ALLERGY_WORDS or stated & _REACTION_WORDS or mention.negated_words:
        return out
    if any(c.code.startswith(("Z88", "Z91.0")) for c in out):
        return out
    # A condition the drug caused ("Allergic urticaria due to amoxicillin": L50.0 +
    # T36.0X5A) is a reaction now, not a status; only "allergy" itself may be replaced.
    if drug_cause(mention, year, folder) is not None or any(
            not c.code.startswith(("T78.4", "T88.7")) for c in out):
        return out
    found = drug_table(year, folder).find(mention.words) or drug_table(year, folder).find(
        _generic_names(mention.words))
    if found is None:
        return out
    sub = found[0]
    # A medicament has an adverse-effect column; a chemical (latex T65.81-) is no drug and
    # its allergy is a Z91.0- status the titles give.
    tcode = sub.codes.get("adverse_effect", "")
    if not tcode.startswith("T"):
        return out
    code = next((z for prefix, z in _ALLERGY_STATUS_BY_CLASS if tcode.startswith(prefix)),
                "Z88.8")
    if not cs.is_billable(code):
        return out
    return [DiagnosisCodeChoice(
        code=code, description=cs.description(code), term="allergy",
        words=sorted(stated & (_ALLERGY_WORDS | set(sub.words))),
        rule=f"ICD-TAB Z88 allergy status by drug class ({tcode})", code_set=cs.release)]


def choose_codes(mention: DiagnosisMention, year: str = DEFAULT_YEAR,
                 folder: str | None = None) -> list[DiagnosisCodeChoice]:
    """The codes for one mention, most specific the phrase supports, each checked billable."""
    out = _condition_codes(mention, year, folder)
    cs = code_set(year, folder)
    out = r_allergy_status(cs, mention, out, year, folder)
    return r_receptor_status(cs, mention, out, year, folder)


def _condition_codes(mention: DiagnosisMention, year: str, folder: str | None
                     ) -> list[DiagnosisCodeChoice]:
    spread = r_primary_and_secondary(mention)
    if spread is not None:
        from extractor.dx_terms import read_phrase

        primary, secondary = spread
        out: list[DiagnosisCodeChoice] = []
        for phrase in ([primary] if primary else []) + secondary:
            for choice in _condition_codes(read_phrase(phrase, year, folder), year, folder):
                if all(c.code != choice.code for c in out):
                    out.append(choice.model_copy(update={
                        "rule": f"{choice.rule}; I.C.2 primary and secondary sites apart"}))
        if any(c.code.startswith(("C77", "C78", "C79")) for c in out):
            # I.C.2.e.2: the chemotherapy / immunotherapy encounter is listed first.
            return sorted(out, key=lambda c: not c.code.startswith("Z51.1"))
    cs = code_set(year, folder)
    index: TermIndex = term_index(year, folder)
    cause = drug_cause(mention, year, folder)
    if cause is not None and cause.column == "adverse_effect":
        # A condition a drug caused: the "drug-induced" title where the term has one
        # (E16.0 "Drug-induced hypoglycemia without coma", not E16.2).
        by = " ".join(w for w in mention.words if w in cause.words)
        mention = mention.model_copy(update={"soft_words": {
            **mention.soft_words, "drug": by, "induced": by, "medicament": by}})
    mention = _with_trimester(mention)
    pregnant = bool(set(mention.words) & {"pregnancy", "pregnant"})
    matches = []
    for key in mention.main_terms:
        if cause is not None and key in ("effect", "adverse"):
            continue  # "(adverse effect, taken as prescribed)" says why, it is no condition
        mt = index.term(key)
        if mt is None:
            continue
        m = r_most_specific_entry(mention, mt)
        if m is not None:
            matches.append(m)
        if pregnant:
            # I.C.15.a.1: the chapter 15 code and the code of the condition itself
            # ("anemia complicating pregnancy" + "iron deficiency anemia").
            for within in (lambda c: c[:1] == "O", lambda c: c[:1] != "O"):
                other = r_most_specific_entry(mention, mt, within=within)
                if other is not None and all(x.code != other.code for x in matches):
                    matches.append(other)
    matches += r_note_partners(cs, mention, matches, index)
    matches += r_severe_sepsis_code(mention, matches, index)
    # B95-B97 are supplementary only; r_organism_code adds them where a note asks.
    matches = [m for m in matches if not ("B95" <= m.code[:3] <= "B97")]
    current = matches
    matches = r_history(mention, matches)

    # "due to long-term omeprazole": the course of the causing drug, no condition's words.
    cause_words = cause.words | _cue_words(mention) | _DRUG_COURSE if cause else frozenset()
    if mention.axes.gestation_weeks is not None:
        weeks = mention.axes.gestation_weeks
        cause_words |= {str(weeks), "week", _trimester(weeks), "trimester"}
    drug = long_term_drug(cs, mention, year, folder) if cause is None else None
    if drug is not None:  # the drug a condition is treated with long term is no condition
        cause_words |= drug[1]
    if _BMI.search(mention.text.lower()):
        cause_words |= {"bmi", "body", "mass", "index", *(w for w in mention.words
                                                          if w.replace(".", "").isdigit())}
    if receptor_status(mention.text):  # "ER+/PR-/HER2-": receptor status, no condition
        cause_words |= RECEPTOR_WORDS
    cause_words |= _treatment_words(mention) | _visit_words(mention)
    if mention.axes.encounter is not None:  # the 7th character's words (r_seventh_character)
        cause_words |= SEVENTH_WORDS & frozenset(mention.words)
    matches = r_understood(mention, matches, index.words(), cause_words)
    if (mention.history or mention.family) and (not matches or any(
            "unspecified" in cs.description(m.code).lower() for m in matches)):
        # The history code of the condition's own category where no history title fits, or
        # only an "unspecified" one does (Z80.1 for a family history of lung cancer, not the
        # Z80.9 the title "Family history of malignant neoplasm, unspecified" gives).
        derived = r_understood(mention, r_history_code(mention, current, index.words(), cs),
                               index.words(), cause_words)
        matches = derived or matches
    if cause is not None:  # the Table gives the drug's code; titles found by words do not
        matches = [m for m in matches if not _is_drug_code(m.code)]
    kept, aside = r_combination_code(matches)
    kept = r_unspecified_sibling(cs, kept)
    kept = r_code_first_use_additional(cs, kept, aside, mention, index)
    kept = r_sepsis_stated(mention, kept)
    kept = r_severe_sepsis_first(cs, kept)
    kept = r_sibling_with_named_symptom(cs, kept)
    kept = r_signs_symptoms_integral(cs, kept)
    kept = r_pain_by_site(mention, kept)
    kept = r_excludes1(cs, kept)
    kept = r_diabetic_hypoglycemia(kept)
    kept = r_osteoporotic_fracture(cs, kept)
    kept = r_hyperemesis_metabolic(cs, kept)
    kept = r_copd_lower_respiratory_infection(cs, kept)
    kept = r_covid_acute_bronchitis(cs, kept)
    kept = r_chronic_pain(cs, mention, kept)
    kept = r_anemia_in_neoplastic_disease(kept)
    kept = r_organism_code(cs, mention, kept)
    kept = r_adverse_effect_drug(cs, kept)
    kept = _code_first_order(cs, kept)
    kept = r_drug_table_code(cs, mention, cause, kept)
    kept = r_pregnancy_chapter(mention, kept, index)
    kept = r_weeks_of_gestation(cs, mention, kept)
    kept = r_long_term_drug(cs, kept, drug)
    kept = r_body_mass_index(cs, mention, kept, year, folder)
    out: list[DiagnosisCodeChoice] = []
    for m in kept:
        code = m.code
        missing = list(m.missing_axes)
        rule = m.rule
        if cs.needs_seventh(code):
            full = r_seventh_character(cs, mention, m)
            if full is None:
                continue  # the 7th character is an axis the phrase does not give
            code, rule = full, f"{rule}; I.C.19.a 7th character"
        if not cs.is_billable(code) or any(c.code == code for c in out):
            continue
        out.append(DiagnosisCodeChoice(
            code=code, description=cs.description(code), term=m.key,
            words=sorted(m.explained), rule=rule, missing_axes=missing, code_set=cs.release))
    return out


def missing_encounter(mention: DiagnosisMention, year: str = DEFAULT_YEAR,
                      folder: str | None = None) -> bool:
    """True when a title the phrase supports needs a 7th character the phrase does not give
    (the engine asks for the encounter instead of coding; R-CDI-06)."""
    if mention.axes.encounter is not None:
        return False
    cs = code_set(year, folder)
    index = term_index(year, folder)
    for key in mention.main_terms:
        mt = index.term(key)
        m = r_most_specific_entry(mention, mt) if mt is not None else None
        if m is not None and cs.needs_seventh(m.code) and \
                m.code[:3] not in ACTIVE_TREATMENT_DEFAULT:
            return True
    return False


def _ckd_stage_5(n18: str) -> bool:
    return n18 in ("N18.5", "N18.6")


DROPPED = ""  # r_presumed_links: the code is held in the combination code, not reported
# Hypertension combined with heart disease and/or CKD (ICD-TAB I11-I13).
HYPERTENSIVE_COMBINATION = ("I11.", "I12.", "I13.")


def r_presumed_links(codes: list[str]) -> dict[str, str]:
    """Codes of separate statements the classification presumes linked, as replacements
    {old code: combination code} (ICD-G I.C.9.a: hypertension with heart failure I11.0,
    with chronic kidney disease I12.-, with both I13.-, "even in the absence of provider
    documentation explicitly linking them"; I.A.15 and I.C.4.a: "with" in the Alphabetic
    Index links diabetes and chronic kidney disease, E11.9 -> E11.22). A problem list "HTN;
    CKD 3a" is I12.9 + N18.31, "DM2; CKD 3a" E11.22 + N18.31. The stage and heart-failure
    codes stay (the I12/I13/E11.22 "use additional code" notes ask for them); a code the
    combination holds and an Excludes1 note bars beside it maps to DROPPED."""
    have = set(codes)
    ckd = next((c for c in codes if c.startswith("N18.")), None)
    heart_failure = any(c.startswith("I50.") for c in codes)
    out: dict[str, str] = {}
    if "I10" in have and (ckd or heart_failure):
        if ckd and heart_failure:
            out["I10"] = "I13.2" if _ckd_stage_5(ckd) else "I13.0"
        elif ckd:
            out["I10"] = "I12.0" if _ckd_stage_5(ckd) else "I12.9"
        else:
            out["I10"] = "I11.0"
    if any(c.startswith(("K70.3", "K74.6", "K76.6", "K70.4")) for c in codes):
        # Index: Varix, esophagus, in (due to) cirrhosis of liver / portal hypertension
        # I85.1- (I.A.15: "in" links them as "with" does): secondary esophageal varices.
        for plain, linked in (("I85.00", "I85.10"), ("I85.01", "I85.11")):
            if plain in have:
                out[plain] = linked
    if ckd is not None and (_ckd_stage_5(ckd) or (ckd == "N18.5" and "Z99.2" in have)):
        # ICD-TAB I12.0 / I13.2: hypertensive CKD "with stage 5 chronic kidney disease or end
        # stage renal disease"; I12.9 / I13.0 are for stages 1-4 or unspecified.
        for plain, linked in (("I12.9", "I12.0"), ("I13.0", "I13.2")):
            if plain in have:
                out[plain] = linked
    if ckd == "N18.5" and "Z99.2" in have:
        # ICD-TAB N18.6 inclusion "Chronic kidney disease requiring chronic dialysis": "CKD 5
        # on HD" is end stage renal disease (with Z99.2 for the dialysis status).
        out["N18.5"] = "N18.6"
    if ckd:
        for plain, linked in (("E11.9", "E11.22"), ("E10.9", "E10.22"), ("E13.9", "E13.22")):
            if plain in have:
                out[plain] = linked
    elif "I73.9" in have:
        # Index: Diabetes, with, peripheral angiopathy E11.51; ICD-TAB I73 Excludes1 diabetic
        # (peripheral) angiopathy (E08-E13 with .51-.52): "T2DM; PAD" is E11.51 alone.
        for plain, linked in (("E11.9", "E11.51"), ("E10.9", "E10.51"), ("E13.9", "E13.51")):
            if plain in have:
                out[plain] = linked
                out["I73.9"] = DROPPED
    if "I10" in have and any(c.startswith(HYPERTENSIVE_COMBINATION) for c in codes):
        # "Hypertensive CKD" gave I12.9 and "HTN" elsewhere gave I10: the combination code
        # states the hypertension (I.C.9.a), so I10 is not coded beside it.
        out["I10"] = DROPPED
    # A replacement the list already holds leaves the replaced code nothing to add.
    return {a: DROPPED if b in have else b for a, b in out.items()}
