"""Code tables: every ICD-10-CM code the engine can emit is billable (FY2026), and every
drug name in the extractor lexicon resolves to a HCPCS row."""

from __future__ import annotations

import simple_icd_10_cm as icd

from engine.tables import diagnosis_concepts, drug_codes
from extractor.lexicon import diagnosis_phrases, drug_names


def _billable(code: str) -> bool:
    # refdata.md: billable = valid, a leaf, and not a chapter or block.
    return (icd.is_valid_item(code) and icd.is_leaf(code)
            and not icd.is_chapter_or_block(code))


def test_every_emittable_icd10cm_code_is_billable():
    codes = set()
    for concept in diagnosis_concepts().values():
        codes.update(concept.codes)
        for variant in concept.organisms.values():
            codes.update(variant)
    bad = sorted(c for c in codes if not _billable(c))
    assert bad == []


def test_icd10cm_descriptions_match_cms_text():
    for concept in diagnosis_concepts().values():
        assert icd.get_description(concept.codes[0]) == concept.description


def test_every_lexicon_concept_has_a_code_mapping():
    assert set(diagnosis_phrases()) <= set(diagnosis_concepts())


def test_every_drug_name_resolves_to_a_hcpcs_row():
    table = drug_codes()
    for entry in drug_names().values():
        assert entry.generic in table, entry
        if entry.product:
            assert entry.product in {row.product for row in table[entry.generic]}, entry


def test_hcpcs_rows_are_well_formed():
    for rows in drug_codes().values():
        for row in rows:
            assert row.billing_amount > 0
            assert row.billing_unit in {"g", "mg", "mcg", "units", "mL", "mEq"}
            assert row.container in {"single", "multi", "unknown"}
            assert len(row.code) == 5


def test_table_covers_60_drugs_and_every_row_says_what_it_was_checked_against():
    rows = [row for rows in drug_codes().values() for row in rows]
    drugs = {row.generic for row in rows if row.drug_class != "fluid"}
    assert len(drugs) >= 60
    assert all(row.checked_against for row in rows)
    assert len({row.code for row in rows}) == len(rows)  # one row per code
