"""Drug names: brands from the CMS ASP crosswalk and the drug dictionary map to the
table's generics; tall-man lettering matches; misspellings followed by a dose are read
within a bounded edit distance, never common words or short words."""

from __future__ import annotations

import pytest

from engine.tables import drug_codes
from extractor.lexicon import drug_names, spelling_distance
from extractor.nlp import parse
from extractor.rules import extract


@pytest.mark.parametrize("brand, generic, product", [
    ("Rocephin", "ceftriaxone", None),
    ("Zosyn", "piperacillin-tazobactam", None),
    ("Kenalog-40", "triamcinolone", None),
    ("Depo-Provera", "medroxyprogesterone", None),
    ("Eligard", "leuprolide", None),
    ("Orencia", "abatacept", None),
    ("Velcade", "bortezomib", None),
    ("Invanz", "ertapenem", None),
    ("Ocrevus", "ocrelizumab", None),
    ("Truxima", "rituximab", "rituximab-abbs"),
    ("Solu-Medrol", "methylprednisolone sodium succinate", None),
])
def test_brand_maps_to_the_generic_of_a_table_row(brand, generic, product):
    entry = drug_names()[brand.lower()]
    assert (entry.generic, entry.product) == (generic, product)
    assert generic in drug_codes()


def test_lexicon_is_generated_at_scale():
    assert len(drug_names()) > 3000


def _drugs(text: str) -> list[tuple[str, str, str | None]]:
    return [(e.text, e._.lexicon_key, e._.spelling_of)
            for e in parse(text).ents if e.label_ == "DRUG"]


def test_tall_man_lettering_matches():
    found = _drugs("ceFAZolin 2 g IV. hydrOXYzine 25 mg IM. vinCRIStine 1.4 mg IV.")
    assert [key for _, key, _ in found] == ["cefazolin", "hydroxyzine", "vincristine"]


def test_short_names_match_only_as_written():
    assert [key for _, key, _ in _drugs("NS 1000 mL bolus")] == ["ns"]
    assert _drugs("ns 1000 mL bolus") == []


@pytest.mark.parametrize("word, distance", [("zofr", 0), ("zofram", 1), ("toradal", 1),
                                            ("cefftriaxxone", 2)])
def test_spelling_distance_bounds(word, distance):
    assert spelling_distance(word) == distance


@pytest.mark.parametrize("text, generic", [
    ("toradal 30mg IM given", "ketorolac"),
    ("zofram 4mg IV push", "ondansetron"),
    ("cefftriaxxone 1 g IV", "ceftriaxone"),  # 13 letters: distance 2
])
def test_misspelling_followed_by_a_dose_is_read_as_the_drug(text, generic):
    [(_, _, spelling)] = _drugs(text)
    assert drug_names()[spelling.lower()].generic == generic


@pytest.mark.parametrize("text", [
    "toradal given IM",  # no dose after it
    "zofrxx 4mg IV push",  # 6 letters at distance 2
    "zofr 4 mg",  # short word
    "Patient 10 mg",  # common word
    "breathing 20 mg",  # common English word near a drug name
])
def test_no_misspelling_read_without_dose_or_beyond_the_bound(text):
    assert not [s for _, _, s in _drugs(text) if s]


def test_administration_read_from_a_misspelling_warns_the_coder():
    facts, warnings = extract("10:00 Ceftriaxone 1 g IV given.\n10:20 Toradal 30mg IM given.\n")
    assert [a.generic for a in facts.administrations] == ["ceftriaxone", "ketorolac"]
    assert "A2: 'Toradal' read as ketorolac (spelling); confirm the drug." in warnings


def test_name_lookup_matches_token_sequences_by_case_rule():
    """Names above three characters match in any case, shorter ones only as written
    (lower-case short names included), multi-word and hyphenated names token by token."""
    import spacy

    from extractor.nlp import NameLookup

    nlp = spacy.blank("en")
    lookup = NameLookup(nlp, [("short", "abc"), ("saline", "NS"), ("ctx", "ceftriaxone"),
                              ("two", "normal saline"), ("pip", "Piperacillin-Tazobactam")])
    doc = nlp("abc ABC NS ns Ceftriaxone NORMAL saline piperacillin-tazobactam normal")
    assert sorted(lookup(doc), key=lambda m: m[1]) == [
        ("short", 0, 1), ("saline", 2, 3), ("ctx", 4, 5), ("two", 5, 7), ("pip", 7, 10)]
