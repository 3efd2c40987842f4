"""Lexicons kept as data files: drug names, diagnosis phrases, organisms, ConText cues."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class DrugName:
    """A surface form of a drug and what it normalises to."""

    name: str
    generic: str
    product: str | None
    is_fluid: bool


def _lexicon(name: str):
    return resources.files("extractor") / "lexicons" / name


@cache
def drug_names() -> dict[str, DrugName]:
    """Lower-cased surface form -> drug name entry."""
    names: dict[str, DrugName] = {}
    with _lexicon("drugs.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            entry = DrugName(
                name=row["name"].strip(),
                generic=row["generic"].strip().lower(),
                product=row["product"].strip().lower() or None,
                is_fluid=row["kind"].strip() == "fluid",
            )
            names[entry.name.lower()] = entry
    return names


@cache
def fuzzy_guard_words() -> frozenset[str]:
    """Common English words never read as a misspelled drug name (generated file)."""
    entry = _lexicon("fuzzy_guard.txt")
    if not entry.is_file():
        return frozenset()
    lines = entry.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


@cache
def _diagnosis_data() -> dict:
    return json.loads(_lexicon("diagnoses.json").read_text(encoding="utf-8"))


def diagnosis_phrases() -> dict[str, list[str]]:
    """Concept id -> phrases that name it."""
    return dict(_diagnosis_data()["concepts"])


def organism_phrases() -> dict[str, list[str]]:
    """Organism name -> phrases that name it."""
    return dict(_diagnosis_data()["organisms"])


@cache
def phrase_index() -> dict[str, tuple[str, str]]:
    """Lower-cased phrase -> (label, normalised value) for diagnoses and organisms."""
    index: dict[str, tuple[str, str]] = {}
    for concept, phrases in diagnosis_phrases().items():
        for phrase in phrases:
            index[phrase.lower()] = ("PROBLEM", concept)
    for organism, phrases in organism_phrases().items():
        for phrase in phrases:
            index[phrase.lower()] = ("ORGANISM", organism)
    return index


def context_rules() -> list[dict]:
    """Our ConText rules (added to the defaults, replacing a default of the same literal)."""
    data = json.loads(_lexicon("context_rules.json").read_text(encoding="utf-8"))
    return list(data["context_rules"])


def context_default_rules() -> list[dict]:
    """medspaCy's default ConText rules (copied unchanged, MIT; see the file's comment)."""
    data = json.loads(_lexicon("context_defaults.json").read_text(encoding="utf-8"))
    return list(data["context_rules"])


def spelling_distance(word: str) -> int:
    """Largest edit distance at which `word` may be read as a misspelled drug name:
    1 for 5-7 letters, 2 for 8 or more, 0 (never) for shorter words."""
    if len(word) >= 8:
        return 2
    return 1 if len(word) >= 5 else 0
