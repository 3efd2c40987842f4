"""engine.icd10cm: the generated FY2026 code table against the CMS tabular it came from."""

from __future__ import annotations

import gzip
from importlib import resources

import pytest

from engine import icd10cm
from engine.icd10cm import code_refs, code_set

icd = pytest.importorskip("simple_icd_10_cm")  # the `test` extra


def test_release_is_fy2026():
    assert icd10cm.release().startswith("ICD-10-CM FY2026")
    assert code_set().source == "simple-icd-10-cm 1.5.0"


def test_every_code_billable_title_and_parent_match_the_tabular():
    cs = code_set()
    bad = []
    for code in icd.get_all_codes(True):
        if not icd.is_category_or_subcategory(code):
            continue
        if cs.is_billable(code) != icd.is_leaf(code) or cs.description(code) != " ".join(
                icd.get_description(code).split()):
            bad.append(code)
    assert bad == []


@pytest.mark.parametrize("code, billable", [
    ("E11.22", True), ("E11.2", False), ("E11", False), ("T45.1X5A", True), ("T45.1X5", False),
    ("M1A.9XX0", True), ("S52.501A", True), ("S52.501Z", False), ("M81.3", False),
    ("G35", False), ("G35.D", True), ("e1122", True),
])
def test_is_billable(code, billable):
    assert icd10cm.is_billable(code) is billable


def test_seventh_character_title_is_base_title_plus_definition():
    assert icd10cm.description("T45.1X5A") == (
        "Adverse effect of antineoplastic and immunosuppressive drugs, initial encounter")
    assert icd10cm.seventh_characters("S52.501")["A"].startswith("initial encounter")
    assert "T45.1X5A" in icd10cm.children("T45.1X5")


def test_notes_are_inherited_from_ancestors():
    assert any("B95-B97" in n for n in icd10cm.use_additional("N39.0"))
    assert any("N18.1-N18.6" in n for n in icd10cm.use_additional("E11.22"))
    assert any("Z79.4" in n for n in icd10cm.use_additional("E11.22"))  # from E11
    assert any("N18" in n for n in icd10cm.code_first("D63.1"))
    assert any("R11.2" in n for n in icd10cm.excludes1("R11.0")) or icd10cm.excludes1("R11.0")


def test_code_refs_ranges():
    (r,) = code_refs("code (B95-B97), to identify infectious agent.")
    assert r.holds("B96.20") and r.holds("B95.62") and not r.holds("B98.0")
    refs = code_refs("stage of chronic kidney disease (N18.1-N18.4, N18.9)")
    assert any(x.holds("N18.31") for x in refs) and any(x.holds("N18.9") for x in refs)
    assert not any(x.holds("N18.6") for x in refs)
    (r,) = code_refs("(N18.-)")
    assert r.holds("N18.4")


def test_another_year_is_read_from_a_folder(tmp_path):
    src = resources.files("engine") / "tables" / "icd10cm_fy2026_codes.tsv.gz"
    (tmp_path / "icd10cm_fy2099_codes.tsv.gz").write_bytes(src.read_bytes())
    other = code_set("fy2099", str(tmp_path))
    assert other.is_billable("N10")
    with pytest.raises(icd10cm.UnknownCodeSet):
        code_set("fy1999")


def test_generated_tables_are_fresh():
    """Rebuilding from simple-icd-10-cm and the curated synonyms gives the packaged bytes."""
    from notecoder.refdata.build_icd_index import render

    for name, data in render(icd).items():
        packaged = (resources.files("engine") / "tables" / name).read_bytes()
        assert gzip.decompress(packaged) == gzip.decompress(data), f"{name} is stale"
