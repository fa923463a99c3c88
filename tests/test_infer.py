"""Columns known by their contents: what is read from values, what must not be, and the
dealer's say in Settings (validators/infer.py, the Settings 'Column:' rows)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from workbooks import assert_issue, assert_no_issue, find_issues, run_check

from forecourt.sync.base import Tab
from forecourt.validators.headers import map_columns
from forecourt.validators.infer import infer_columns

SOURCES = ["WhatsApp", "AutoTrader", "Phone", "Walk-in", "mobile.de", "Email", "Website",
           "Missed call", "Referral", "Facebook Marketplace"]


def _tab(header: list[str], columns: list[list]) -> Tab:
    return Tab("Leads", [header, *map(list, zip(*columns, strict=True))])


def _inferred(header: list[str], columns: list[list], **known) -> dict[str, str]:
    tab = _tab(header, columns)
    cm = map_columns("leads", tab, 0, "en")
    found = infer_columns("leads", tab, cm, **known)
    return {f.header: f.field for f in found}


def test_a_column_of_source_words_is_the_source():
    assert _inferred(["Name", "How"], [["a"] * 10, SOURCES]) == {"How": "source"}


def test_free_text_mentioning_a_few_sources_is_not_the_source():
    notes = ["saw it on AutoTrader, call after 5", "wants a test drive", "WhatsApp him",
             "needs finance", "has a px", "asked about colour", "Facebook advert", "cash buyer",
             "likes the Golf", "ring Tuesday"]
    assert _inferred(["Name", "Remarks"], [["a"] * 10, notes]) == {}


def test_four_values_are_not_enough_evidence():
    assert _inferred(["Name", "How"], [["a"] * 10, SOURCES[:4] + [""] * 6]) == {}


def test_a_column_that_is_mostly_but_not_clearly_one_kind_is_left_alone():
    half = SOURCES[:6] + ["x", "y", "z", "?"]
    assert _inferred(["Name", "How"], [["a"] * 10, half]) == {}


def test_two_columns_of_phones_leave_it_undecided():
    phones = [f"07700 9001{k:02d}" for k in range(10)]
    assert _inferred(["Name", "A", "B"], [["a"] * 10, phones, phones]) == {}


def test_a_header_match_is_never_overruled():
    phones = [f"07700 9001{k:02d}" for k in range(10)]
    # "Phone" holds source words (a dealer's mistake); "Col" holds the phones: the header wins
    # and the second phone column is not taken either (one column per field).
    assert _inferred(["Phone", "Col"], [SOURCES, phones]) == {}


def test_names_on_the_team_tab_make_the_owner_column():
    who = ["Jas", "Priya", "Tom Baker", "Jas", "", "Priya", "Tom", "Jas", "Priya", "Tom"]
    got = _inferred(["Customer", "Who"], [["a"] * 10, who],
                    team_names=["Jas Singh", "Priya Patel", "Tom Baker"])
    assert got == {"Who": "owner"}


def test_a_vague_header_gives_way_to_plain_contents():
    emails = [f"buyer{k}@example.com" for k in range(10)]
    assert _inferred(["Name", "Info"], [["a"] * 10, emails]) == {"Info": "email"}


def test_a_sparse_column_of_dates_is_not_the_received_time():
    dates = [dt.datetime(2026, 11, k + 1, 10) for k in range(6)] + [""] * 24
    assert _inferred(["Name", "Date?"], [["a"] * 30, dates]) == {}


# ---------------------------------------------------------------------------------------------
# Through `forecourt check`
# ---------------------------------------------------------------------------------------------


def _book(tmp_path: Path, settings: list[list] | None = None, source_header: str = "Route",
          ) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Received", "Name", "Phone", source_header, "Notes"])
    for k in range(12):
        ws.append([dt.datetime(2026, 11, 10 + k % 10, 10, k), f"Buyer {k}", f"+4477009001{k:02d}",
                   SOURCES[k % len(SOURCES)], "call after 5" if k % 3 else "saw on AutoTrader"])
    if settings:
        s = wb.create_sheet("Settings")
        s.append(["Setting", "Value"])
        for row in settings:
            s.append(row)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return path


def test_check_reports_an_inferred_column_and_says_how_to_correct_it(tmp_path):
    data = run_check(_book(tmp_path)).data
    issue = assert_issue(data["issues"], sheet="Leads", row=1, column="D", code="inferred-column")
    assert "Route" in issue["message"] and "Settings" in issue["message"]
    assert_no_issue(data["issues"], code="missing-column")
    column = next(r for r in data["mapping"]["leads"] if r["column"] == "D")
    assert (column["field"], column["how"]) == ("source", "contents")


def test_a_settings_row_names_the_column_and_silences_the_guess(tmp_path):
    data = run_check(_book(tmp_path, [["Column: Route", "source"]])).data
    assert_no_issue(data["issues"], code="inferred-column")
    column = next(r for r in data["mapping"]["leads"] if r["column"] == "D")
    assert (column["field"], column["how"]) == ("source", "settings")


def test_a_settings_row_can_say_ignore(tmp_path):
    data = run_check(_book(tmp_path, [["Column: Route", "ignore"]])).data
    assert "source" not in data["columns"]["leads"]
    missing = assert_issue(data["issues"], code="missing-column")
    assert "Source" in missing["message"] and "Column:" in missing["message"]


def test_a_settings_row_in_german_words_works(tmp_path):
    data = run_check(_book(tmp_path, [["Spalte: Route", "Quelle"]])).data
    column = next(r for r in data["mapping"]["leads"] if r["column"] == "D")
    assert (column["field"], column["how"]) == ("source", "settings")


def test_a_settings_row_naming_no_field_is_a_bad_setting(tmp_path):
    data = run_check(_book(tmp_path, [["Column: Route", "wherever"]])).data
    bad = assert_issue(data["issues"], sheet="Settings", code="bad-setting")
    assert "wherever" in bad["message"]


@pytest.mark.parametrize("header", ["Where from", "Route"])
def test_human_check_output_lists_every_column_with_why(tmp_path, header):
    run = run_check(_book(tmp_path, source_header=header), json_output=False)
    assert run.returncode == 0, run.stderr
    line = next(x for x in run.stdout.splitlines() if header in x)
    assert "-> source" in line
    assert ("contents" in line) == (header == "Route")
    assert not find_issues([], code="x")


def test_a_yes_no_column_without_a_telling_header_does_not_sell_cars(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Received", "Name", "Phone", "Source"])
    ws.append([dt.datetime(2026, 11, 20, 10), "Ann", "+447700900100", "WhatsApp"])
    stock = wb.create_sheet("Stock")
    stock.append(["VIN", "Make", "Status", "Serviced"])
    for k in range(8):
        stock.append([f"WVWZZZAUZJW20451{k}", "VW", "On lot", "yes" if k else "no"])
    wb.save(tmp_path / "b.xlsx")
    data = run_check(tmp_path / "b.xlsx").data
    assert "sold" not in data["columns"]["stock"]
    assert_no_issue(data["issues"], code="sold-conflict")


def test_cars_known_only_by_their_plate_link_and_can_be_sold(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Received", "Name", "Phone", "Source", "Reg"])
    ws.append([dt.datetime(2026, 11, 20, 10), "Ann", "+447700900100", "WhatsApp", "ab12cde"])
    ws.append([dt.datetime(2026, 11, 20, 11), "Bob", "+447700900101", "Phone", "XY99 ZZZ"])
    cars = wb.create_sheet("Cars")
    cars.append(["Reg", "Make", "Model", "Sold?"])
    cars.append(["AB12 CDE", "Ford", "Focus", "yes"])
    cars.append(["CD34 EFG", "Ford", "Focus", "no"])
    wb.save(tmp_path / "b.xlsx")
    data = run_check(tmp_path / "b.xlsx").data
    assert_issue(data["issues"], sheet="Leads", row=3, code="vin-not-in-stock")
    assert_no_issue(data["issues"], sheet="Leads", row=2, code="vin-not-in-stock")
    from forecourt import read_book

    book = read_book(tmp_path / "b.xlsx")
    sold = book.stock.set_index("plate")["status"].to_dict()
    assert sold == {"AB12 CDE": "Sold", "CD34 EFG": None}
    linked = book.leads.set_index("row")["stock_vin"]
    assert linked[2] == book.stock.set_index("plate")["vin"]["AB12 CDE"]


def test_a_column_row_below_the_sla_table_still_counts(tmp_path):
    from forecourt.settings import settings_rows

    rows = settings_rows()[1:] + [["Column: Route", "source"], ["Column: Tag", "-"]]
    data = run_check(_book(tmp_path, rows, source_header="Route")).data
    assert_no_issue(data["issues"], code="bad-setting")
    column = next(r for r in data["mapping"]["leads"] if r["column"] == "D")
    assert (column["field"], column["how"]) == ("source", "settings")


def test_settings_can_name_every_header_of_a_book_forecourt_cannot_read(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["When", "Who", "Tel", "How"])
    for k in range(3):
        ws.append([dt.datetime(2026, 11, 20, 10, k), f"Buyer {k}", f"+4477009001{k:02d}",
                   "WhatsApp"])
    s = wb.create_sheet("Settings")
    for header, fld in (("When", "received at"), ("Who", "name"), ("Tel", "phone"),
                        ("How", "source")):
        s.append([f"Column: {header}", fld])
    wb.save(tmp_path / "b.xlsx")
    run = run_check(tmp_path / "b.xlsx")
    assert run.returncode == 0, run.stderr
    assert run.data["columns"]["leads"] == {"received_at": "A", "name": "B", "phone": "C",
                                            "source": "D"}


def test_a_dealers_state_column_full_of_statuses_is_their_status():
    # "State" is the name of forecourt's own column; a dealer's statuses under it are theirs
    statuses = ["New", "Contacted", "lost - bought elsewhere", "Appt booked Sat", "Won",
                "New", "Quoted", "No answer", "Deposit taken", "Contacted"]
    assert _inferred(["Name", "State"], [["a"] * 10, statuses]) == {"State": "status"}


def test_check_says_which_fields_an_unsure_header_could_be(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Anfragen"
    ws.append(["Eingang", "Name", "Telefon", "Quelle", "Fin."])
    ws.append([dt.datetime(2026, 11, 20, 10), "Anna Nowak", "0151 2345678", "mobile.de", "ja"])
    wb.save(tmp_path / "buch.xlsx")
    data = run_check(tmp_path / "buch.xlsx").data
    column = next(r for r in data["mapping"]["leads"] if r["header"] == "Fin.")
    assert column["field"] is None and "could be finance or vin" in column["why"]
    assert "'Column: Fin.'" in run_check(tmp_path / "buch.xlsx", json_output=False).stdout
