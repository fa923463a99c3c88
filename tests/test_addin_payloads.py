"""Self-checks of tests/addin_payloads.py: the payloads are the ones xlwings' clients build."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from addin_payloads import (
    APPS_SCRIPT,
    OFFICE_SCRIPTS,
    OFFICE_SCRIPTS_ORIGIN,
    VBA,
    XlError,
    apps_script_payload,
    body,
    from_serial,
    js_body,
    office_scripts_payload,
    request_headers,
    serial,
    tabs_sent,
    vba_body,
    vba_payload,
)

D = dt.datetime
BOOK = {
    "Leads": [["Lead ID", "Received", "Name"], ["", D(2026, 12, 7, 10, 58), "Anna Becker"]],
    "Notes": [["Ideas"], ["call the Golf owner back"]],
    "Team": [["Name", "Active"], ["Tom", "yes"]],
    "Empty": [],
}
BUILDERS = {"vba": vba_payload, "apps_script": apps_script_payload,
            "office_scripts": office_scripts_payload}
# xlwings' own server reads dates with this pattern (xlwings/pro/_xlremote.py L393)
XLWINGS_DATETIME = re.compile(
    r"^(-?(?:[1-9][0-9]*)?[0-9]{4})-(1[0-2]|0[1-9])-(3[01]|0[1-9]|[12][0-9])T(2[0-3]|[01][0-9])"
    r":([0-5][0-9]):([0-5][0-9])(\.[0-9]+)?(Z|[+-](?:2[0-3]|[01][0-9]):[0-5][0-9])?$")


def values(payload: dict, name: str) -> list:
    return next(s["values"] for s in payload["sheets"] if s["name"] == name)


# serial numbers ----------------------------------------------------------------------------

def test_serial_counts_days_from_1899_12_30():
    assert serial(dt.date(2026, 12, 7)) == 46363
    assert isinstance(serial(dt.date(2026, 12, 7)), int)
    assert serial(D(2026, 12, 7, 12, 0)) == 46363.5
    assert serial(dt.time(6, 0)) == 0.25
    assert serial(dt.date(1900, 3, 1)) == 61  # Excel's 1900-02-29 is day 60


def test_from_serial_reads_back_what_serial_wrote():
    for moment in (D(2026, 12, 7, 10, 58), D(2026, 12, 7, 11, 3, 59), D(1999, 1, 1)):
        assert from_serial(serial(moment)) == moment


# the shape every client gives --------------------------------------------------------------

@pytest.mark.parametrize(("builder", "client", "sheet_keys"), [
    (vba_payload, VBA, ["name", "pictures", "tables", "values"]),
    (apps_script_payload, APPS_SCRIPT, ["name", "values", "pictures", "tables"]),
    (office_scripts_payload, OFFICE_SCRIPTS, ["name", "values", "pictures", "tables"]),
])
def test_payload_keys_in_the_clients_order(builder, client, sheet_keys):
    payload = builder("Leads.xlsx", BOOK, active=2, selection="B3:C4")
    assert list(payload) == ["client", "version", "book", "names", "sheets"]
    assert payload["client"] == client
    assert payload["book"] == {"name": "Leads.xlsx", "active_sheet_index": 2,
                               "selection": "B3:C4"}
    assert payload["names"] == []
    assert [s["name"] for s in payload["sheets"]] == list(BOOK)
    assert all(list(s) == sheet_keys for s in payload["sheets"])
    json.loads(body(payload))  # this book makes valid JSON for every client


def test_versions_are_the_installed_clients():
    assert vba_payload("b", BOOK)["version"] == "dev"  # Main.bas as installed
    assert apps_script_payload("b", BOOK)["version"] == "0.37.8"
    assert office_scripts_payload("b", BOOK)["version"] == "0.37.8"


# VBA -----------------------------------------------------------------------------------------

def test_vba_empty_cells_are_null_and_empty_or_excluded_tabs_are_one_empty_row():
    payload = vba_payload("b", BOOK, exclude="Notes")
    assert values(payload, "Leads") == [["Lead ID", "Received", "Name"],
                                        [None, "2026-12-07T10:58:00.000Z", "Anna Becker"]]
    assert values(payload, "Notes") == [[]]
    assert values(payload, "Empty") == [[]]


def test_vba_one_cell_at_a1_is_a_one_by_one_matrix():
    assert values(vba_payload("b", {"S": [["only"]]}), "S") == [["only"]]
    assert values(vba_payload("b", {"S": [[42.0]]}), "S") == [[42]]


def test_vba_values_always_start_at_a1():
    sheet = [[], [], [None, None, "title in C3"]]
    assert values(vba_payload("b", {"S": sheet}), "S") == [
        [None, None, None], [None, None, None], [None, None, "title in C3"]]


def test_vba_formatted_rows_below_the_data_are_sent_as_nulls():
    payload = vba_payload("b", {"S": [["a", "b"]]}, formatted_to={"S": (3, 3)})
    assert values(payload, "S") == [["a", "b", None], [None, None, None], [None, None, None]]
    only_formats = vba_payload("b", {"S": []}, formatted_to={"S": (2, 2)})
    assert values(only_formats, "S") == [[None, None], [None, None]]


def test_vba_dates_are_wall_clock_iso_with_millis_and_a_meaningless_z():
    sheet = [[D(2026, 12, 7, 10, 58), dt.date(2026, 12, 7), dt.time(10, 0),
              D(2026, 12, 7, 10, 58, 59, 600_000)]]
    row = values(vba_payload("b", {"S": sheet}), "S")[0]
    assert row == ["2026-12-07T10:58:00.000Z", "2026-12-07T00:00:00.000Z",
                   "1899-12-30T10:00:00.000Z", "2026-12-07T10:59:00.000Z"]
    assert all(XLWINGS_DATETIME.match(v) for v in row)


def test_vba_numbers_have_fifteen_significant_digits():
    row = values(vba_payload("b", {"S": [[0.1 + 0.2, 5.0, 12500, True, 1 / 3]]}), "S")[0]
    assert row == [0.3, 5, 12500, True, 0.333333333333333]
    assert isinstance(row[1], int) and row[3] is True


def test_vba_body_is_ascii_with_upper_case_escapes():
    raw = vba_body(vba_payload("Bücher.xlsm", {"Verkäufer": [["Jürgen / Weiß", 'a"b\n']]}))
    assert raw.isascii()
    assert b'"Verk\\u00E4ufer"' in raw
    assert b'"J\\u00FCrgen / Wei\\u00DF"' in raw  # "/" is not escaped
    assert json.loads(raw)["sheets"][0]["values"] == [["Jürgen / Weiß", 'a"b\n']]


def test_vba_body_writes_long_digit_text_without_quotes():
    sheet = [["4711000012345678", "00491711234567890", "1234567890123"]]
    payload = vba_payload("b", {"S": sheet})
    assert values(payload, "S") == [sheet[0]]  # the dict keeps the text
    raw = vba_body(payload)
    assert b"[4711000012345678," in raw  # 16 digits: a JSON number, not a string
    assert b'"1234567890123"' in raw  # 13 digits: a string as it should be
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)  # 00491711234567890: a leading zero is not JSON
    ok = json.loads(vba_body(vba_payload("b", {"S": [sheet[0][:1]]})))
    assert ok["sheets"][0]["values"] == [[4711000012345678]]


def test_vba_body_writes_an_unknown_error_as_nothing():
    known = json.loads(vba_body(vba_payload("b", {"S": [[XlError("#N/A"), 1]]})))
    assert known["sheets"][0]["values"] == [["#N/A", 1]]
    raw = vba_body(vba_payload("b", {"S": [[1, XlError("#SPILL!"), 2]]}))
    assert b"[[1,,2]]" in raw
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)


def test_vba_include_and_exclude_together_send_nothing():
    with pytest.raises(ValueError, match="not both"):
        vba_payload("b", BOOK, include="Leads", exclude="Notes")


# Google Apps Script --------------------------------------------------------------------------

def test_apps_script_empty_cells_are_empty_strings_and_an_empty_tab_is_one_cell():
    payload = apps_script_payload("b", BOOK, include="Leads, Team")
    assert values(payload, "Leads")[1] == ["", "2026-12-07T10:58:00.000Z", "Anna Becker"]
    assert values(payload, "Notes") == [[]]  # excluded
    assert values(apps_script_payload("b", BOOK), "Empty") == [[""]]


def test_apps_script_sends_content_only_and_truncates_seconds():
    sheet = [[D(2026, 12, 7, 10, 58, 59, 900_000), None], [None, None]]
    assert values(apps_script_payload("b", {"S": sheet}), "S") == [["2026-12-07T10:58:59.000Z"]]


# Office Scripts ------------------------------------------------------------------------------

def test_office_scripts_sends_an_excluded_tab_with_the_previous_tabs_values():
    payload = office_scripts_payload("b", BOOK, include="Leads,Team")
    assert values(payload, "Notes") == values(payload, "Leads")
    assert values(payload, "Empty") == values(payload, "Team")
    first_excluded = office_scripts_payload("b", BOOK, include="Team")
    assert values(first_excluded, "Leads") == [[]]
    assert values(first_excluded, "Notes") == [[]]


def test_office_scripts_empty_tab_is_one_empty_cell():
    assert values(office_scripts_payload("b", BOOK), "Empty") == [[""]]


def test_office_scripts_dates_outside_date_formats_are_serial_numbers():
    received = D(2026, 12, 7, 10, 58)
    by_category = office_scripts_payload("b", BOOK)
    custom = office_scripts_payload("b", BOOK, date_cells=frozenset())
    assert values(by_category, "Leads")[1][1] == "2026-12-07T10:58:00.000Z"
    assert values(custom, "Leads")[1][1] == serial(received)
    only_b2 = office_scripts_payload("b", {"S": [[46363.5, 46363.5]]},
                                     date_cells={("S", 0, 1)})
    assert values(only_b2, "S") == [[46363.5, "2026-12-07T12:00:00.000Z"]]


def test_office_scripts_dates_keep_their_milliseconds():
    sheet = [[D(2026, 12, 7, 10, 58, 59, 123_000), dt.time(10, 0), dt.date(2026, 12, 7)]]
    row = values(office_scripts_payload("b", {"S": sheet}), "S")[0]
    assert row == ["2026-12-07T10:58:59.123Z", "1899-12-30T10:00:00.000Z",
                   "2026-12-07T00:00:00.000Z"]
    assert all(XLWINGS_DATETIME.match(v) for v in row)


def test_office_scripts_formatted_cells_widen_the_values():
    payload = office_scripts_payload("b", {"S": [["a"]]}, formatted_to={"S": (2, 2)})
    assert values(payload, "S") == [["a", ""], ["", ""]]


# the same dates from every client ------------------------------------------------------------

@pytest.mark.parametrize("builder", BUILDERS.values(), ids=BUILDERS)
def test_a_date_at_midnight_and_a_minute_look_the_same_from_every_client(builder):
    sheet = [[D(2026, 12, 7, 10, 58), dt.date(2026, 12, 7)]]
    assert values(builder("b", {"S": sheet}), "S") == [
        ["2026-12-07T10:58:00.000Z", "2026-12-07T00:00:00.000Z"]]


# include -------------------------------------------------------------------------------------

def test_tabs_sent_trims_the_list_but_not_the_names():
    names = ["Leads ", "Team", "LEADS"]
    assert tabs_sent(names, " Team , Leads ") == ["Team"]
    assert tabs_sent(names, "") == names
    assert tabs_sent(names, None, "Team") == ["Leads ", "LEADS"]
    assert tabs_sent(["Leads, 2026", "Team"], "Leads, 2026,Team") == ["Team"]


# the wire ------------------------------------------------------------------------------------

def test_request_headers_per_client():
    vba = request_headers(vba_payload("b", BOOK), "s3cret")
    assert vba["Authorization"] == "s3cret" and vba["Content-Type"] == "application/json"
    office = request_headers(office_scripts_payload("b", BOOK), "Bearer s3cret")
    assert office["Origin"] == OFFICE_SCRIPTS_ORIGIN
    assert office["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in request_headers(apps_script_payload("b", BOOK), None)


def test_js_body_is_utf8_json():
    raw = js_body(apps_script_payload("b", {"Verkäufer": [["Jürgen"]]}))
    assert "Verkäufer".encode() in raw
    assert json.loads(raw)["sheets"][0]["values"] == [["Jürgen"]]
