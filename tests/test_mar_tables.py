"""MAR tables in notes: pipe, tab and fixed-column layouts, rows joined by drug."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from extractor.lexicon import DrugName
from extractor.mar_tables import (
    Cell,
    Table,
    classify_action,
    find_drug_names,
    find_tables,
    mar_administrations,
)


def _drug(name: str, generic: str, product: str | None = None) -> DrugName:
    return DrugName(name, generic, product, False)


def _fluid(name: str, generic: str) -> DrugName:
    return DrugName(name, generic, None, True)


FAKE = {
    "cefazolin": _drug("cefazolin", "cefazolin"),
    "ancef": _drug("Ancef", "cefazolin"),
    "rituximab": _drug("rituximab", "rituximab"),
    "rituximab-abbs": _drug("rituximab-abbs", "rituximab", "rituximab-abbs"),
    "truxima": _drug("Truxima", "rituximab", "rituximab-abbs"),
    "infliximab": _drug("infliximab", "infliximab"),
    "ondansetron": _drug("ondansetron", "ondansetron"),
    "zofran": _drug("Zofran", "ondansetron"),
    "vancomycin": _drug("vancomycin", "vancomycin"),
    "ns": _fluid("NS", "sodium chloride"),
    "normal saline": _fluid("normal saline", "sodium chloride"),
    "0.9% sodium chloride": _fluid("0.9% sodium chloride", "sodium chloride"),
}
lookup = FAKE.get


def _cells_exact(text: str, tables: list[Table]) -> None:
    for table in tables:
        assert 0 <= table.start <= table.end <= len(text)
        rows = table.rows + ([table.header] if table.header else [])
        for row in rows:
            assert table.start <= row.start <= row.end <= table.end
            for cell in row.cells.values():
                assert text[cell.start:cell.end] == cell.text
                assert cell.text == cell.text.strip() and cell.text


def _texts(row) -> dict[str, str]:
    return {k: c.text for k, c in row.cells.items()}


def _at(text: str, clock) -> str:
    return text[clock[2]:clock[3]]


# --- finding tables ----------------------------------------------------------------

PIPE = """MAR
| Time | Medication | Dose | Route | Action | RN |
|------|------------|------|-------|--------|----|
| 0930 | ceFAZolin | 2 g / NS 100 mL | IVPB | Started | KM |
| 1010 | ceFAZolin | - | IVPB | Completed | KM |
"""


def test_pipe_table_with_header_names_columns_from_header():
    tables = find_tables(PIPE)
    _cells_exact(PIPE, tables)
    assert len(tables) == 1
    table = tables[0]
    assert table.style == "pipe"
    assert table.columns == ["time", "drug", "dose", "route", "action", "initials"]
    assert [_texts(r) for r in table.rows] == [
        {"time": "0930", "drug": "ceFAZolin", "dose": "2 g / NS 100 mL", "route": "IVPB",
         "action": "Started", "initials": "KM"},
        {"time": "1010", "drug": "ceFAZolin", "dose": "-", "route": "IVPB",
         "action": "Completed", "initials": "KM"},
    ]
    assert table.header is not None and table.header.cells["drug"].text == "Medication"
    assert PIPE[table.start:table.end].startswith("| Time")


def test_pipe_table_without_header_infers_columns_from_cells():
    text = ("Meds given:\n"
            "| 0930 | ceFAZolin | 2 g | IVPB | Started | KM |\n"
            "| 1010 | ceFAZolin | 2 g | IVPB | Completed | KM |\n")
    [table] = find_tables(text)
    _cells_exact(text, [table])
    assert table.header is None
    assert table.columns == ["time", "drug", "dose", "route", "action", "initials"]


def test_pipe_table_without_outer_pipes():
    text = "Time | Drug | Status\n0900 | vancomycin | Started\n1000 | vancomycin | Completed"
    [table] = find_tables(text)
    _cells_exact(text, [table])
    assert table.columns == ["time", "drug", "action"]
    assert _texts(table.rows[1]) == {"time": "1000", "drug": "vancomycin",
                                     "action": "Completed"}


def test_pipe_table_header_aliases():
    text = ("| Date | Admin Time | Order | Dose-Vol | Rte | Event | Rate (mL/hr) | Site | Notes "
            "| By |\n"
            "| 02/14 | 0930 | NS | 1000 mL | IV | Started | 999 | L AC | bolus | KM |\n")
    [table] = find_tables(text)
    assert table.columns == ["date", "time", "drug", "dose", "route", "action", "rate", "site",
                             "comment", "initials"]


def test_single_pipe_line_is_not_a_table():
    assert find_tables("| 0930 | ceFAZolin | 2 g |\n\nNo other rows.") == []


def test_tab_table_with_header():
    text = ("Time\tMed\tAmount\tRoute\tStatus\tInit\n"
            "0905\trituximab-abbs\t700 mg\tIV\tStarted\tJS\n"
            "1320\trituximab-abbs\t\tIV\tCompleted\tJS\n")
    [table] = find_tables(text)
    _cells_exact(text, [table])
    assert table.style == "tab"
    assert table.columns == ["time", "drug", "dose", "route", "action", "initials"]
    assert "dose" not in table.rows[1].cells  # empty cells are left out
    assert table.rows[1].cells["action"] == Cell("Completed", text.index("Completed"),
                                                 text.index("Completed") + 9)


def test_tab_table_without_header():
    text = "0905\tinfliximab\t400 mg\tIV\tStarted\n1105\tinfliximab\t-\tIV\tCompleted\n"
    [table] = find_tables(text, lookup)
    assert table.columns == ["time", "drug", "dose", "route", "action"]


FIXED = """Medication administration
TIME  MEDICATION             DOSE     ROUTE  ACTION     INIT
----  ---------------------  -------  -----  ---------  ----
0905  rituximab-abbs         700 mg   IV     Started    JS
1010  rituximab-abbs         -        IV     Paused     JS
1030  Truxima                -        IV     Restarted  JS
1320  rituximab-abbs         -        IV     Completed  JS
Pt tolerated well.  No reaction noted.
"""


def test_fixed_columns_with_header_and_rule():
    [table] = find_tables(FIXED)
    _cells_exact(FIXED, [table])
    assert table.style == "fixed"
    assert table.columns == ["time", "drug", "dose", "route", "action", "initials"]
    assert len(table.rows) == 4
    assert _texts(table.rows[0]) == {"time": "0905", "drug": "rituximab-abbs",
                                     "dose": "700 mg", "route": "IV", "action": "Started",
                                     "initials": "JS"}
    assert "Pt tolerated" not in FIXED[table.start:table.end]


def test_fixed_columns_without_header():
    text = ("0800   ondansetron   4 mg    IVP    Given\n"
            "0815   vancomycin    1 g     IVPB   Started\n"
            "0945   vancomycin    -       IVPB   Completed\n")
    [table] = find_tables(text, lookup)
    _cells_exact(text, [table])
    assert table.columns == ["time", "drug", "dose", "route", "action"]
    assert table.rows[0].cells["dose"].text == "4 mg"


def test_fixed_columns_lead_in_line_is_not_the_header():
    text = ("MAR:   see below\n"
            "TIME  MEDICATION   DOSE   ACTION\n"
            "0900  vancomycin   1 g    Started\n"
            "1000  vancomycin   -      Completed\n")
    [table] = find_tables(text)
    assert table.header is not None and table.columns == ["time", "drug", "dose", "action"]
    assert len(table.rows) == 2


def test_aligned_prose_is_not_a_fixed_table():
    text = ("Pt seen today.  Feels well.\n"
            "No fevers.      Eating well.\n")
    assert find_tables(text) == []


def test_flowsheet_lines_are_not_a_fixed_table():
    text = "1300  NS 1000 mL bolus started via pump\n1305  zofran 4mg IVP\n"
    assert find_tables(text) == []


def test_crlf_line_endings_keep_offsets():
    text = "| Time | Drug | Action |\r\n| 0900 | NS | Started |\r\n| 1000 | NS | Completed |\r\n"
    [table] = find_tables(text)
    _cells_exact(text, [table])
    assert table.rows[0].cells["action"].text == "Started"


# --- vocabulary --------------------------------------------------------------------

def test_action_words_precedence():
    assert classify_action("Restarted") == "restart"
    assert classify_action("Not given - pt refused") == "not_given"
    assert classify_action("Rate ↑ 100 mL/hr") == "rate_change"
    assert classify_action("Held for reaction") == "held"
    assert classify_action("Infusing") == "other"
    assert classify_action("IVPB started") == "start"
    assert classify_action("Pushed") == "given"


def test_drug_names_tall_man_brand_and_compounds():
    text = "ceFAZolin/NS and Truxima in 0.9% Sodium Chloride"
    found = [(e.generic, text[a:b]) for e, a, b in find_drug_names(text, lookup)]
    assert found == [("cefazolin", "ceFAZolin"), ("sodium chloride", "NS"),
                     ("rituximab", "Truxima"), ("sodium chloride", "0.9% Sodium Chloride")]


# --- joining rows into administrations --------------------------------------------

def test_started_and_completed_rows_are_one_administration():
    [admin] = mar_administrations(PIPE, lookup)
    assert admin.generic == "cefazolin" and admin.status == "given"
    assert admin.kind == "infusion"
    assert (admin.start[:2], admin.stop[:2]) == ((9, 30), (10, 10))
    assert _at(PIPE, admin.start) == "0930" and _at(PIPE, admin.stop) == "1010"
    assert admin.dose.text == "2 g / NS 100 mL"  # the "-" of the later row is not a dose
    assert admin.route.text == "IVPB" and admin.action.text == "Started"
    assert admin.drug.text == "ceFAZolin" and len(admin.rows) == 2
    assert PIPE[admin.drug.start:admin.drug.end] == "ceFAZolin"


def test_pause_restart_adds_paused_minutes_and_brand_joins_generic():
    [admin] = mar_administrations(FIXED, lookup)
    assert admin.generic == "rituximab"
    assert (admin.start[:2], admin.stop[:2], admin.paused_minutes) == ((9, 5), (13, 20), 20)
    assert len(admin.rows) == 4


def test_pause_across_midnight():
    text = ("| Time | Drug | Action |\n"
            "| 2300 | vancomycin | Started |\n"
            "| 2350 | vancomycin | Held for reaction |\n"
            "| 0010 | vancomycin | Resumed |\n"
            "| 0100 | vancomycin | Completed |\n")
    [admin] = mar_administrations(text, lookup)
    assert admin.paused_minutes == 20
    assert (admin.start[:2], admin.stop[:2]) == ((23, 0), (1, 0))


def test_stopped_then_restarted_is_a_pause():
    text = ("| Time | Drug | Action |\n"
            "| 0900 | infliximab | Started |\n"
            "| 0930 | infliximab | Stopped |\n"
            "| 0945 | infliximab | Restarted |\n"
            "| 1100 | infliximab | Completed |\n")
    [admin] = mar_administrations(text, lookup)
    assert admin.paused_minutes == 15 and admin.stop[:2] == (11, 0)


def test_stopped_and_never_restarted_is_the_stop():
    text = ("| Time | Drug | Action |\n"
            "| 0900 | infliximab | Started |\n"
            "| 0930 | infliximab | Stopped |\n")
    [admin] = mar_administrations(text, lookup)
    assert admin.stop[:2] == (9, 30) and admin.paused_minutes == 0


def test_paused_until_completed_counts_as_paused():
    text = ("| Time | Drug | Action |\n"
            "| 0900 | infliximab | Started |\n"
            "| 0930 | infliximab | Paused |\n"
            "| 1000 | infliximab | Completed |\n")
    [admin] = mar_administrations(text, lookup)
    assert admin.paused_minutes == 30 and admin.stop[:2] == (10, 0)


def test_rate_change_row_belongs_to_running_infusion():
    text = ("| Time | Medication | Rate | Action |\n"
            "| 0900 | rituximab | 50 mL/hr | Started |\n"
            "| 0930 | rituximab | 100 mL/hr | Rate ↑ 100 mL/hr |\n"
            "| 1000 | rituximab | 150 mL/hr | Rate change |\n"
            "| 1200 | rituximab | | Completed |\n")
    admins = mar_administrations(text, lookup)
    assert len(admins) == 1 and len(admins[0].rows) == 4
    assert admins[0].stop[:2] == (12, 0)


def test_completed_row_with_range_in_comment_gives_both_times():
    text = ("| Time | Drug | Dose | Action | Comment |\n"
            "| 1325 | rituximab-abbs | 700 mg | Completed | infusion complete 0905-1320 |\n")
    [admin] = mar_administrations(text, lookup)
    assert _at(text, admin.start) == "0905" and _at(text, admin.stop) == "1320"
    assert admin.status == "given"


def test_range_in_comment_closes_a_running_infusion_at_its_end():
    text = ("| Time | Drug | Action | Comment |\n"
            "| 0905 | rituximab | Started | |\n"
            "| 1325 | rituximab | Completed | infusion complete 0905-1320 |\n")
    [admin] = mar_administrations(text, lookup)
    assert _at(text, admin.start) == "0905" and _at(text, admin.stop) == "1320"


def test_not_given_row_with_nothing_started_is_not_an_administration():
    text = ("| Time | Drug | Action |\n"
            "| 0900 | ondansetron | Not given |\n"
            "| 0905 | vancomycin | Patient declined |\n"
            "| 0910 | cefazolin | Held |\n")
    admins = mar_administrations(text, lookup)
    assert [(a.generic, a.status, a.kind) for a in admins] == [
        ("ondansetron", "not_given", "none"), ("vancomycin", "not_given", "none"),
        ("cefazolin", "not_given", "none")]
    assert all(a.start is None and a.stop is None for a in admins)


def test_given_row_is_a_push_at_its_time():
    text = ("| Time | Drug | Dose | Route | Action |\n"
            "| 1305 | Zofran | 4 mg | IVP | Pushed |\n"
            "| 1310 | vancomycin | 1 g | IVPB | Started |\n")
    admins = mar_administrations(text, lookup)
    push = admins[0]
    assert (push.generic, push.kind, push.start[:2], push.stop) == ("ondansetron", "push",
                                                                    (13, 5), None)
    assert admins[1].kind == "infusion" and admins[1].stop is None


def test_ditto_drug_cell_continues_the_row_above():
    text = ("| Time | Drug | Action |\n"
            "| 0900 | vancomycin | Started |\n"
            "| 1000 | \" | Completed |\n")
    [admin] = mar_administrations(text, lookup)
    assert admin.stop[:2] == (10, 0)


def test_two_drugs_interleaved_are_kept_apart():
    text = ("| Time | Drug | Action |\n"
            "| 0900 | vancomycin | Started |\n"
            "| 0905 | ondansetron | Given |\n"
            "| 1000 | vancomycin | Completed |\n")
    admins = mar_administrations(text, lookup)
    assert [(a.generic, a.kind) for a in admins] == [("vancomycin", "infusion"),
                                                    ("ondansetron", "push")]
    assert admins[0].stop[:2] == (10, 0)


def test_start_and_stop_columns():
    text = "| Drug | Start | Stop |\n| infliximab | 0905 | 1107 |\n| NS | 0900 | 1110 |\n"
    admins = mar_administrations(text, lookup)
    assert [(a.generic, a.start[:2], a.stop[:2]) for a in admins] == [
        ("infliximab", (9, 5), (11, 7)), ("sodium chloride", (9, 0), (11, 10))]


def test_event_column_names_the_drug_and_comments_do_not():
    text = ("| Date/Time | Event | Rate | Volume | Comment |\n"
            "| 03/30 09:00 | vancomycin 1 g in 250 mL NS IVPB start | 250 mL/hr | -- | |\n"
            "| 03/30 10:00 | vancomycin IVPB end | -- | -- | |\n"
            "| 03/30 11:20 | Discharge | -- | -- | next vancomycin dose tonight |\n")
    [table] = find_tables(text, lookup)
    assert table.columns == ["time", "action", "rate", "volume", "comment"]
    [admin] = mar_administrations(text, lookup, [table])
    assert (admin.generic, admin.start[:2], admin.stop[:2]) == ("vancomycin", (9, 0), (10, 0))
    assert admin.drug.text == "vancomycin"


def test_unknown_drug_joins_by_its_first_word():
    text = ("| Time | Drug | Action |\n| 0900 | Heparin drip | Started |\n"
            "| 1000 | heparin | Stopped |\n")
    [admin] = mar_administrations(text, lookup)
    assert admin.generic == "heparin" and admin.stop[:2] == (10, 0)


# --- robustness ----------------------------------------------------------------------

_PIECES = st.sampled_from(["|", "\t", "  ", " ", "\n", "\r\n", "0930", "23:59", "2 g",
                           "ceFAZolin", "NS", "Started", "Completed", "Paused", "Restarted",
                           "-", "---", "IV", "1000 mL", "0905-1320", "Not given", "é", "@"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(_PIECES, max_size=60).map("".join)))
def test_arbitrary_text_never_raises_and_offsets_stay_in_bounds(text):
    tables = find_tables(text, lookup)
    _cells_exact(text, tables)
    for admin in mar_administrations(text, lookup):
        for clock in (admin.start, admin.stop):
            if clock is not None:
                assert 0 <= clock[2] < clock[3] <= len(text)
        assert text[admin.drug.start:admin.drug.end] == admin.drug.text
        assert admin.paused_minutes >= 0


def test_large_input_finishes():
    rows = ["TIME  MEDICATION   DOSE    ROUTE  ACTION"]
    for i in range(5000):
        hour, minute = divmod(i % 1440, 60)
        rows.append(f"{hour:02d}{minute:02d}  vancomycin   1 g     IVPB   Started")
        rows.append(f"| {hour:02d}{minute:02d} | NS | 1000 mL | IV | Completed |")
        rows.append("Pt tolerated well.  No reaction.")
        rows.append(f"{hour:02d}{minute:02d}\tZofran\t4 mg\tIVP\tGiven")
    text = "\n".join(rows)
    assert len(rows) > 20000
    tables = find_tables(text, lookup)
    mar_administrations(text, lookup, tables)
    flat = "\n".join(f"{i % 24:02d}00  vancomycin   1 g     IVPB   Started" for i in range(20000))
    [table] = find_tables(flat, lookup)
    assert len(table.rows) == 20000
    assert find_tables("Pt seen.  Doing well.\n" * 20000) == []
