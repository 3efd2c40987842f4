"""Read one diagnosis phrase into a `DiagnosisMention`: its main terms and axes.

Pure: text in, mention out. The main terms are the words of the phrase that head a title
in the generated term index (`engine.icd10cm_terms`), so any wording the tabular or the
curated synonyms know is read, not a fixed phrase list. Misspelt words of six letters or
more are corrected to an index word within a bounded edit distance (1 up to 8 letters, 2
beyond; a transposition counts 1); a five-letter word only by one letter it lacks. Axis
vocabulary is data: `lexicons/dx_axes.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise

from engine.icd10cm import DEFAULT_YEAR
from engine.icd10cm_terms import TermIndex, term_index
from extractor.dx_words import PhraseWords, phrase_words, synonym_words, synonyms
from notecoder.schema import DiagnosisAxes, DiagnosisMention

AXES_FILE = "dx_axes.json"
MIN_FUZZY_LENGTH = 6


@cache
def axes_vocabulary() -> dict:
    """The axis vocabulary (`extractor/lexicons/dx_axes.json`)."""
    path = resources.files("extractor") / "lexicons" / AXES_FILE
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def axis_of_word() -> dict[str, str]:
    """Word -> the axis it states (laterality, stage, type, ...), for missing-axis reports."""
    vocab = axes_vocabulary()
    out: dict[str, str] = {}
    for axis in ("laterality", "acuity", "type", "severity", "encounter"):
        for words in vocab[axis].values():
            for w in words:
                out[w] = axis
    for w in vocab["site"]:
        out.setdefault(w, "site")
    for n in ("1", "2", "3", "3a", "3b", "4", "5"):
        out[f"stage{n}"] = "stage"
    out["endstage"] = "stage"
    out["female"] = out["male"] = "sex"
    return out


@cache
def _organisms() -> list[tuple[str, tuple[str, ...]]]:
    from extractor.dx_words import prepare, split_words

    out = []
    for name, phrases in axes_vocabulary()["organism"].items():
        for p in phrases:
            out.append((name, tuple(split_words(prepare(p)))))
    # Longest names first: "methicillin resistant staphylococcus aureus" before "staphylococcus".
    return sorted(out, key=lambda x: -len(x[1]))


_PROCEDURE_SUFFIX = re.compile(r"(?:ectomy|ostomy|otomy|plasty|scopy|graphy|pexy|rrhaphy)$")


class _Speller:
    """Bounded-edit-distance correction to the index's words; the candidate lists of a
    first letter are built the first time a word with that letter needs correcting."""

    def __init__(self, words: frozenset[str], titles: Callable[[str], int] = lambda w: 0,
                 same: dict[str, str] | None = None) -> None:
        self.words = words
        self.titles = titles  # a word -> the titles under it as a main term (0: none)
        self.same = same or {}  # synonym "word" rows: two spellings of one word
        self.buckets: dict[tuple[str, int], list[str]] = {}
        self._letters: set[str] = set()

    def _bucket(self, letter: str, n: int) -> list[str]:
        if letter not in self._letters:
            self._letters.add(letter)
            for w in self.words:
                if w[0] == letter and len(w) >= MIN_FUZZY_LENGTH - 1 and w.isalpha():
                    self.buckets.setdefault((letter, len(w)), []).append(w)
        return self.buckets.get((letter, n), [])

    @lru_cache(maxsize=4096)  # noqa: B019 - one speller per index, kept for the process
    def correct(self, word: str) -> str:
        if word in self.words or not word.isalpha() or len(word) < MIN_FUZZY_LENGTH - 1:
            return word
        from rapidfuzz.distance import OSA

        # A five-letter word is corrected only by one letter it lacks ("astma" -> "asthma"):
        # a changed letter of a word that short reaches too many other words.
        short = len(word) < MIN_FUZZY_LENGTH
        bound = 1 if len(word) <= 8 else 2
        best_d, near = bound + 1, []
        # A procedure word is corrected only to a word of the same procedure suffix
        # ("colectomy" is never "colostomy", a status code's word).
        suffix = _PROCEDURE_SUFFIX.search(word)
        lengths = [len(word) + 1] if short else range(len(word) - bound, len(word) + bound + 1)
        for n in lengths:
            for cand in self._bucket(word[0], n):
                if suffix and not cand.endswith(suffix.group(0)):
                    continue
                d = OSA.distance(word, cand, score_cutoff=bound)
                if d < best_d:
                    best_d, near = d, [cand]
                elif d == best_d:
                    near.append(cand)
        return self._one_of(word, near) if best_d <= bound else word

    def _one_of(self, word: str, near: list[str]) -> str:
        """The correction among equally near index words, or the word itself when they are
        truly different words (never guess): two spellings of one word ("diabetes" /
        "diabetic", a synonym "word" row) are one; else a main term with ten times the
        titles of every other wins, since a diagnosis phrase names its condition
        ("migrane": "migraine", 129 titles, not the "migran" of erythema migrans, 5)."""
        kinds = {self.same.get(c, c) for c in near}
        if len(kinds) == 1:
            return next(iter(kinds)) if len(near) > 1 else near[0]
        sizes = sorted(((self.titles(c), c) for c in near), reverse=True)
        # One main term of many titles beside words that head few or none.
        return sizes[0][1] if sizes[0][0] >= 10 * max(sizes[1][0], 1) else word


@cache
def _speller(year: str, folder: str | None) -> _Speller:
    index = term_index(year, folder)

    def titles(word: str) -> int:
        mt = index.term(word)
        return len(mt.entries) if mt is not None else 0

    return _Speller(index.words() | synonym_words(), titles, synonyms().word)


PREGNANCY_WORDS = frozenset({"pregnancy", "pregnant", "gravidarum", "gestational", "gestation",
                             "trimester", "intrauterine", "abortion", "miscarriage",
                             "antepartum", "preeclampsia", "eclampsia", "placenta", "labor"})


def _gestation_weeks(core: tuple[str, ...] | list[str]) -> int | None:
    """Weeks of gestation stated next to a pregnancy word ("hyperemesis gravidarum, 10
    weeks"); a duration in any other phrase ("cough x 2 weeks") is not one."""
    if not set(core) & PREGNANCY_WORDS:
        return None
    for a, b in pairwise(core):
        if a.isdigit() and b == "week" and int(a) <= 50:
            return int(a)
    for w in core:
        m = _WEEKS_TOKEN.fullmatch(w)
        if m:
            return int(m.group(1))
    return None


_WEEKS_TOKEN = re.compile(r"(\d{1,2})w(?:\d d?)?(?:\dd)?")
# "G2P1 at 28w2d", "IUP 10 wks", "EGA 34 weeks": a line that dates a pregnancy.
_NOTE_WEEKS = re.compile(
    r"(?i)\b(?:pregnan\w*|g\d+\s*p\d+|iup|ega|gestation(?:al age)?|ga)\b[^\n]{0,40}?"
    r"\b(\d{1,2})\s*(?:w(?:ee)?ks?|weeks?|w)(?=\b|\d)")


def note_gestation_weeks(text: str) -> int | None:
    """Weeks of gestation the note states once for the pregnancy ("32 y/o G2P1 at 28w2d"),
    for pregnancy diagnoses that do not repeat them; None when no line or two lines
    disagree."""
    found = {int(m.group(1)) for m in _NOTE_WEEKS.finditer(text) if int(m.group(1)) <= 50}
    return found.pop() if len(found) == 1 else None


def _axes(pw: PhraseWords) -> DiagnosisAxes:
    vocab = axes_vocabulary()
    words = set(pw.core)
    allw = words | set(pw.soft)

    def first(axis: str) -> str | None:
        for value, ws in vocab[axis].items():
            if any(w in words for w in ws):
                return value
        return None

    lat = first("laterality")
    if "left" in words and "right" in words:
        lat = "bilateral"
    acuity = first("acuity")
    if "acute" in words and "chronic" in words:
        acuity = "acute_on_chronic"
    stage = next((w[5:] for w in pw.core if w.startswith("stage") and len(w) > 5), None)
    if "endstage" in words:
        stage = "esrd"
    severity = " ".join(v for v, ws in vocab["severity"].items() if any(w in words for w in ws))
    organism = None
    seq = " ".join(pw.core)
    for name, name_words in _organisms():
        if " ".join(name_words) in seq:
            organism = name
            break
    behaviour = first("behaviour")
    if "personal" in words and "history" in words:
        behaviour = "history"
    site = [w for w in pw.core if w in set(vocab["site"])]
    weeks = _gestation_weeks(pw.core)
    intractable = True if "intractable" in words else (False if "intractable" in pw.negated
                                                       else None)
    return DiagnosisAxes(
        laterality=lat, site=site, acuity=acuity, stage=stage, type=first("type"),
        severity=severity or None, complications=[], without=sorted(pw.negated),
        intractable=intractable, organism=organism, encounter=first("encounter"),
        behaviour=behaviour if (behaviour != "primary" or "neoplasm" in allw) else None,
        gestation_weeks=weeks,
    )


_ENCOUNTER_WORDS = frozenset({"encounter", "routine", "healing", "delayed", "nonunion",
                              "malunion"})


def _multiple_sites_listed(pw):
    """"RA of multiple joints (hands, wrists, knees)": a bracket that lists two or more
    sites beside "multiple" (or "polyarticular") names the sites the "multiple sites" code
    covers (Index: Arthritis, rheumatoid, multiple site M05.79); they are not one site's
    code (M05.73- wrist), so the listed site words leave the phrase."""
    if "multiple" not in pw.core and "multiple" not in pw.soft:
        return pw
    listed = pw.bracketed & frozenset(axes_vocabulary()["site"])
    if len(listed) < 2:
        return pw
    return replace(pw, core=tuple(w for w in pw.core if w not in listed),
                   bracketed=pw.bracketed - listed)


# Joint sites of the musculoskeletal chapter's site axis (ICD-TAB M05-M19 5th character).
_JOINTS = frozenset({"shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "foot",
                     "mcp", "pip", "mtp"})
_SIDES = frozenset({"right", "left", "bilateral", "both"})


def _has_multiple_site_title(index: TermIndex, key: str) -> bool:
    mt = index.term(key)
    return mt is not None and any(any("multiple" in g for g in e.required)
                                  for e in mt.entries if e.code[:1] == "M")


def _joints_of_several_sites(pw: PhraseWords, index: TermIndex, main_terms: list[str]
                             ) -> PhraseWords | None:
    """"seropositive RA (RF+, CCP+) hands, wrists, knees": joints of two or more sites, for
    a condition with a "multiple sites" code, are that code (Index: Arthritis, rheumatoid,
    with rheumatoid factor, multiple site M05.79), never one of them (M05.74- hand): the
    words with the joints and sides replaced by "multiple site", or None. The sibling of
    `_multiple_sites_listed`, for a list that does not say "multiple"."""
    joints = _JOINTS & set(pw.core)
    if len(joints) < 2 or "multiple" in pw.core or not any(
            _has_multiple_site_title(index, k) for k in main_terms if k not in joints):
        return None
    core = tuple(w for w in pw.core if w not in joints and w not in _SIDES)
    return replace(pw, core=(*core, "multiple", "site"), soft={},
                   bracketed=pw.bracketed - joints - _SIDES)


# A possessive name ("Raynaud's", "Hashimoto's"): an eponym.
_EPONYM = re.compile(r"\b[A-Z][a-z]+['’]s\b")


def _eponym_title(mention: DiagnosisMention, noun: str, year: str, folder: str | None) -> bool:
    """True when a title under `noun` needs the phrase's eponym as its only required word."""
    mt = term_index(year, folder).term(noun)
    if mt is None or noun not in mention.main_terms:
        return False
    stated = set(mention.words) - {noun}
    return any(len(e.required) == 1 and e.required[0] & stated for e in mt.entries)


def read_phrase(text: str, year: str = DEFAULT_YEAR, folder: str | None = None
                ) -> DiagnosisMention:
    """A diagnosis phrase -> its main terms, words and axes (no code is chosen here)."""
    index: TermIndex = term_index(year, folder)
    speller = _speller(year, folder)
    pw = _multiple_sites_listed(phrase_words(text, known=speller.correct))
    axes = _axes(pw)
    # "initial encounter", "subsequent encounter ... routine healing" state the 7th
    # character (I.C.19.a), never an "Encounter for ..." Z code.
    encounter_words = _ENCOUNTER_WORDS if axes.encounter is not None else frozenset()
    main_terms = [w for w in dict.fromkeys([*pw.core, *pw.soft])
                  if w in index and w not in encounter_words]
    several = _joints_of_several_sites(pw, index, main_terms)
    if several is not None:
        pw = several
        axes = _axes(pw)
        main_terms = [w for w in dict.fromkeys(pw.core) if w in index]
    if not main_terms and _EPONYM.search(text):
        # "Raynaud's", "Crohn's": an eponym written without its noun is the eponym's
        # disease or syndrome (Index: "Raynaud's disease, phenomenon, syndrome I73.00").
        for noun in ("disease", "syndrome"):
            found = read_phrase(f"{text} {noun}", year, folder)
            if _eponym_title(found, noun, year, folder):
                return found.model_copy(update={"text": text})
    words = set(pw.core)
    return DiagnosisMention(
        text=text, main_terms=main_terms, words=list(pw.core), soft_words=pw.soft,
        negated_words=sorted(pw.negated), axes=axes, bracketed_words=sorted(pw.bracketed),
        history="personal" in words and "history" in words,
        family="family" in words and "history" in words,
    )
