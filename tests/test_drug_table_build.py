"""The HCPCS drug table is built from the CMS HCPCS file: parsing of real CMS records
(`tests/data/HCPC2026_JAN_ANWEB_sample.txt` holds 16 records copied unchanged from
HCPC2026_JAN_ANWEB_01122026.txt), exclusion of terminated codes, and the bundled table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.tables import drug_codes
from notecoder.refdata.drug_descriptor import parse_drug_descriptor
from notecoder.refdata.drug_table import build_drug_rows
from notecoder.refdata.hcpcs_file import read_hcpcs_file
from notecoder.refdata.mue_table import kept_code

SAMPLE = Path(__file__).parent / "data" / "HCPC2026_JAN_ANWEB_sample.txt"
JAN_2026 = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def built() -> dict[str, dict]:
    _, records = read_hcpcs_file(SAMPLE)
    rows, _ = build_drug_rows(records, "HCPC2026_JAN_ANWEB_01122026", JAN_2026)
    return {row["code"]: row for row in rows}


def test_continuation_record_joins_the_long_description():
    _, records = read_hcpcs_file(SAMPLE)
    [pip] = [r for r in records if r.code == "J2543"]
    assert pip.description == ("Injection, piperacillin sodium/tazobactam sodium, "
                               "1 gram/0.125 grams (1.125 grams)")


@pytest.mark.parametrize("code, generic, amount, unit", [
    ("J0696", "ceftriaxone", "250", "mg"),  # "per 250 mg"
    ("J2543", "piperacillin-tazobactam", "1.125", "g"),  # combined dose in brackets
    ("J2919", "methylprednisolone sodium succinate", "5", "mg"),
    ("J1010", "methylprednisolone acetate", "1", "mg"),  # another salt, another drug
    ("J2270", "morphine", "10", "mg"),
    ("J3373", "vancomycin", "10", "mg"),
    ("J7030", "sodium chloride", "1000", "mL"),  # cc -> mL
])
def test_billing_amount_and_generic_from_the_cms_descriptor(built, code, generic, amount, unit):
    row = built[code]
    assert (row["generic"], row["billing_amount"], row["billing_unit"]) == (generic, amount, unit)
    assert row["checked_against"] == "CMS HCPCS 2026 January (HCPC2026_JAN_ANWEB_01122026)"


def test_terminated_codes_are_left_out(built):
    # J2930 (up to 125 mg) ended 2024-03-31, J3370 ended 2025-06-30.
    assert "J2930" not in built and "J3370" not in built
    assert "J2919" in built


def test_up_to_codes_are_flagged(built):
    assert built["J2270"]["up_to"] == "true"
    assert built["J0696"]["up_to"] == "false"


def test_biosimilar_product_and_complex_biologic(built):
    avsola = built["Q5121"]
    assert (avsola["generic"], avsola["product"]) == ("infliximab", "infliximab-axxq")
    assert built["J1745"]["complex_biologic"] == "true"
    assert built["J1745"]["product"] == ""


def test_hormonal_antineoplastic(built):
    leuprolide = built["J9217"]
    assert (leuprolide["drug_class"], leuprolide["hormonal"]) == ("antineoplastic", "true")


def test_oral_code_is_marked_oral(built):
    assert built["J8610"]["route"] == "oral"


def test_esrd_variant_is_a_qualified_code(built):
    assert built["Q4081"]["qualifier"] == "for esrd on dialysis"
    assert built["J0885"]["qualifier"] == ""


def test_descriptor_without_one_amount_is_not_a_drug_row():
    assert parse_drug_descriptor("Netupitant 300 mg and palonosetron 0.5 mg, oral") is None
    assert parse_drug_descriptor("Injection, aldesleukin, per single use vial") is None


def test_units_and_million_units():
    found = parse_drug_descriptor("Injection, penicillin g benzathine, 100,000 units")
    assert (found.amount, found.unit) == (100000, "units")
    found = parse_drug_descriptor("Injection, interferon alfa-2b, recombinant, 1 million units")
    assert (found.amount, found.unit) == (1_000_000, "units")


def test_bundled_table_is_the_generated_one():
    rows = [row for rows in drug_codes().values() for row in rows]
    assert len(rows) >= 1000
    assert {r.checked_against for r in rows} == {
        "CMS HCPCS 2026 January (HCPC2026_JAN_ANWEB_01122026)"}
    codes = {r.code for r in rows}
    assert {"J2919", "J2543", "J3373"} <= codes and not {"J2930", "J3370", "J1170"} & codes


def test_mue_table_keeps_drug_administration_and_em_codes_only():
    assert kept_code("J0696") and kept_code("96365") and kept_code("99285")
    assert not kept_code("96380") and not kept_code("99291") and not kept_code("0001U")
