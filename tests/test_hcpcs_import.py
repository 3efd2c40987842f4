"""`notecoder data import-hcpcs`: rebuild the drug table from a CMS HCPCS file, or refresh
billing units from a CMS ASP-format file.

The file below is written by hand in the CMS ASP layout (title lines, then a header
row); its J3373 dosage is deliberately changed to prove updates reach the engine.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from engine.tables import drug_codes
from notecoder.cli import main
from notecoder.config import get_settings

ASP = """\
"ASP Pricing File, test quarter",,,,
"Payment limits for HCPCS codes",,,,
HCPCS Code,Short Description,HCPCS Code Dosage,Payment Limit,Co-insurance Percentage
J0696,"Ceftriaxone sodium injection",250 MG,0.5,20
J3373,"Inj vancomycin hcl 10 mg",1000 MG,2.0,20
J3489,"Zoledronic acid",1 MG,10.0,20
96365,"(CPT row, never read)",1 EA,1,20
J9999,"Odd dosage row",SEE NOTE,1,20
"""


SAMPLE = Path(__file__).parent / "data" / "HCPC2026_JAN_ANWEB_sample.txt"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    drug_codes.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()
    drug_codes.cache_clear()


def test_import_updates_units_and_records_source(data_dir, tmp_path, capsys):
    asp = tmp_path / "asp_test.csv"
    asp.write_text(ASP)
    assert main(["data", "import-hcpcs", str(asp)]) == 0
    out = capsys.readouterr().out
    assert "2 row(s) confirmed, 1 updated" in out and "1 file row(s) with an unreadable" in out
    rows = {r["code"]: r for r in csv.DictReader((data_dir / "hcpcs_drugs.csv").open())}
    assert rows["J3373"]["billing_amount"] == "1000"
    assert rows["J0696"]["checked_against"] == "CMS ASP file asp_test.csv"
    assert "96365" not in rows
    [vanc] = [row for row in drug_codes()["vancomycin"] if row.code == "J3373"]
    assert vanc.billing_amount == 1000  # the engine now uses the refreshed table


def test_import_rejects_a_file_that_is_not_an_asp_file(data_dir, tmp_path, capsys):
    bad = tmp_path / "notes.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    assert main(["data", "import-hcpcs", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "expected a CMS ASP pricing file" in err
    assert not (data_dir / "hcpcs_drugs.csv").exists()


def test_import_hcpcs_rebuilds_the_table_from_a_cms_file(data_dir, tmp_path, capsys):
    newer = tmp_path / "HCPC2026_APR_ANWEB.txt"
    newer.write_bytes(SAMPLE.read_bytes())
    assert main(["data", "import-hcpcs", str(newer)]) == 0
    assert "rebuilt from HCPC2026_APR_ANWEB" in capsys.readouterr().out
    with (data_dir / "hcpcs_drugs.csv").open() as handle:
        rows = {r["code"]: r for r in csv.DictReader(handle)}
    assert "J2919" in rows and "J2930" not in rows
    assert rows["J0696"]["checked_against"] == "CMS HCPCS 2026 April (HCPC2026_APR_ANWEB)"
    assert rows["J0696"]["container"] == "single"  # curated value carried over
    assert {r.code for rows in drug_codes().values() for r in rows} == set(rows)
