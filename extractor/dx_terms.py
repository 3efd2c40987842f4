"""Read one diagnosis phrase into a `DiagnosisMention`: its main terms and axes.

Pure: text in, mention out. The main terms are the words of the phrase that head a title
in the generated term index (`engine.icd10cm_terms`), so any wording the tabular or the
curated synonyms know is read, not a fixed phrase list. Misspelt words of six letters or
more are corrected to an index word within a bounded edit distance (1 up to 8 letters, 2
beyond; a transposition counts 1). Axis vocabulary is data: `lexicons/dx_axes.json`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise

from engine.icd10cm import DEFAULT_YEAR
from engine.icd10cm_terms import TermIndex, term_index
from extractor.dx_words import PhraseWords, phrase_words, synonym_words
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

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words
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
        if word in self.words or len(word) < MIN_FUZZY_LENGTH or not word.isalpha():
            return word
        from rapidfuzz.distance import OSA

        bound = 1 if len(word) <= 8 else 2
        best, best_d, tie = word, bound + 1, False
        # A procedure word is corrected only to a word of the same procedure suffix
        # ("colectomy" is never "colostomy", a status code's word).
        suffix = _PROCEDURE_SUFFIX.search(word)
        for n in range(len(word) - bound, len(word) + bound + 1):
            for cand in self._bucket(word[0], n):
                if suffix and not cand.endswith(suffix.group(0)):
                    continue
                d = OSA.distance(word, cand, score_cutoff=bound)
                if d < best_d:
                    best, best_d, tie = cand, d, False
                elif d == best_d and cand != best:
                    tie = True
        # Two index words equally near: do not guess.
        return word if tie or best_d > bound else best


@cache
def _speller(year: str, folder: str | None) -> _Speller:
    index = term_index(year, folder)
    return _Speller(index.words() | synonym_words())


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
    words = set(pw.core)
    return DiagnosisMention(
        text=text, main_terms=main_terms, words=list(pw.core), soft_words=pw.soft,
        negated_words=sorted(pw.negated), axes=axes, bracketed_words=sorted(pw.bracketed),
        history="personal" in words and "history" in words,
        family="family" in words and "history" in words,
    )
