"""`forecourt run --sheet` as a scheduler runs it: the real command in a subprocess, the real
gspread client over real HTTP, against the local Sheets API stand-in
(``FORECOURT_SHEETS_EMULATOR``), within the call budget, with its exit codes; and the same
result on the Sheet as on the same book in an .xlsx file."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import gspread
import pytest
import requests
from openpyxl import Workbook
from sheets_standin import start, stop

from forecourt.sync.sheets_client import rewriting_session

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-23 10:00"
EPOCH = dt.datetime(1899, 12, 30)
LEADS = [["Received", "Name", "Phone", "Source", "Status", "VIN"],
         [dt.datetime(2026, 11, 20, 10, 0), "=HYPERLINK(\"x\")", "+447700900123", "WhatsApp",
          "New", ""],
         [dt.datetime(2026, 11, 23, 9, 58), "+Bob Roe", "+447700900124", "mobile.de", "New", ""],
         [dt.datetime(2026, 11, 21, 15, 0), "Cleo Dunn", "", "AutoScout24", "Contacted", ""],
         [dt.datetime(2026, 10, 1, 11, 0), "Dan Ode", "+447700900126", "Phone", "Won", ""]]
TEAM = [["Name", "Active"], ["Anna", "yes"], ["Ben", "yes"]]


def serial(moment: dt.datetime) -> float:
    return (moment - EPOCH) / dt.timedelta(days=1)


@pytest.fixture(scope="module")
def standin():
    server, base = start(port=0)
    yield base
    stop(server)


@pytest.fixture
def client(standin):
    requests.post(standin + "/_standin/reset", timeout=10)
    return gspread.Client(auth=None, session=rewriting_session(standin))


def make_sheet(client: gspread.Client, leads_title: str = "Leads") -> str:
    """A Sheet with the book's Leads and Team tabs; dates as serials with a date format."""
    sheet = client.create("Autohaus Test")
    leads = sheet.sheet1
    leads.update_title(leads_title)
    leads.update([[serial(v) if isinstance(v, dt.datetime) else v for v in row]
                  for row in LEADS], "A1", raw=True)
    sheet.batch_update({"requests": [{"repeatCell": {
        "range": {"sheetId": leads.id, "startRowIndex": 1, "startColumnIndex": 0,
                  "endColumnIndex": 1},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE_TIME",
                                                        "pattern": "yyyy-mm-dd hh:mm"}}},
        "fields": "userEnteredFormat.numberFormat"}}]})
    sheet.add_worksheet("Team", 10, 4).update(TEAM, "A1")
    return sheet.id


def forecourt(*args: str, standin: str | None, tmp_path: Path,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("FORECOURT_", "GOOGLE_"))}
    environ |= {"XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(ROOT)}
    if standin:
        environ["FORECOURT_SHEETS_EMULATOR"] = standin
    environ |= env or {}
    return subprocess.run([sys.executable, "-m", "forecourt", *args], capture_output=True,
                          text=True, env=environ, cwd=tmp_path, timeout=120)


def calls(standin: str) -> list[dict]:
    answer = requests.get(standin + "/_standin/calls", timeout=10).json()
    return answer.get("calls", answer) if isinstance(answer, dict) else answer


def test_a_run_on_a_sheet_keeps_to_four_calls_and_a_rerun_only_reads(client, standin,
                                                                     tmp_path):
    sheet = make_sheet(client)
    requests.delete(standin + "/_standin/calls", timeout=10)
    first = forecourt("run", "--sheet", sheet, "--as-of", AS_OF, "--json", standin=standin,
                      tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    made = [c["kind"] for c in calls(standin)]
    assert summary["written"] and summary["api_calls"] == len(made) <= 4, made
    assert summary["retries"] == 0 and summary["assigned"] == 3
    assert made[:2] == ["spreadsheets.get", "spreadsheets.values.batchGet"]

    requests.delete(standin + "/_standin/calls", timeout=10)
    again = forecourt("run", "--sheet", sheet, "--as-of", AS_OF, "--json", standin=standin,
                      tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert [c["kind"] for c in calls(standin)] == ["spreadsheets.get",
                                                   "spreadsheets.values.batchGet"]
    assert not summary["written"] and summary["api_calls"] == 2 and summary["assigned"] == 0
    assert list((tmp_path / "state" / "forecourt").glob("sheet-*.forecourt.sqlite"))

    values = client.open_by_key(sheet).worksheet("Leads").get_all_values(
        value_render_option="FORMULA")
    assert values[1][1] == "=HYPERLINK(\"x\")" and values[2][1] == "+Bob Roe"
    formulas = client.http_client.request(
        "get", f"https://sheets.googleapis.com/v4/spreadsheets/{sheet}",
        params={"ranges": "'Leads'!B2:B3", "includeGridData": "true",
                "fields": "sheets(data(rowData(values(userEnteredValue))))"}).json()
    entered = [r["values"][0]["userEnteredValue"] for r in
               formulas["sheets"][0]["data"][0]["rowData"]]
    assert all("stringValue" in e for e in entered), "a name became a formula"


def test_the_sheet_and_the_file_get_the_same_owners_dues_and_states(client, standin,
                                                                   tmp_path):
    sheet = make_sheet(client)
    book = tmp_path / "book.xlsx"
    wb = Workbook()
    wb.active.title = "Leads"
    for row in LEADS:
        wb.active.append(row)
    for cell in wb.active["B"]:
        cell.data_type = "s"  # as typed: text, never a formula
    team = wb.create_sheet("Team")
    for row in TEAM:
        team.append(row)
    wb.save(book)
    on_file = forecourt("run", str(book), "--as-of", AS_OF, "--json", standin=None,
                        tmp_path=tmp_path)
    on_sheet = forecourt("run", "--sheet", sheet, "--as-of", AS_OF, "--json",
                         standin=standin, tmp_path=tmp_path)
    assert on_file.returncode == 0 and on_sheet.returncode == 0, on_sheet.stderr
    a, b = json.loads(on_file.stdout), json.loads(on_sheet.stdout)
    for key in ("leads", "open", "overdue", "due_soon", "stalled", "assigned", "errors",
                "warnings", "cells_written", "columns_added"):
        assert a[key] == b[key], key
    assert a["kpi"]["overall"] == b["kpi"]["overall"]
    rows = client.open_by_key(sheet).worksheet("Leads").get_all_values()
    from openpyxl import load_workbook

    ws = load_workbook(book)["Leads"]
    header = rows[0]
    for r, row in enumerate(rows[1:], start=2):
        for field in ("Lead ID", "Owner", "Next action", "Due", "State"):
            j = header.index(field)
            cell = ws.cell(r, j + 1).value
            text = cell.strftime("%Y-%m-%d %H:%M") if isinstance(cell, dt.datetime) \
                else "" if cell is None else str(cell)
            assert row[j] == text, (r, field)


def test_a_tab_named_like_a_cell_works(client, standin, tmp_path):
    sheet = make_sheet(client, leads_title="A2")
    done = forecourt("run", "--sheet", sheet, "--as-of", AS_OF, "--json", standin=standin,
                     tmp_path=tmp_path, env={"FORECOURT_RUN_WAIT_SECONDS": "0"})
    # A2 is not a leads tab's name: the tab is found by its contents
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["leads"] == 4


def test_a_sheet_that_is_not_there_is_exit_10_in_one_sentence(client, standin, tmp_path):
    done = forecourt("run", "--sheet", "1" + "x" * 40, "--as-of", AS_OF, standin=standin,
                     tmp_path=tmp_path)
    assert done.returncode == 10, done.stderr
    assert "no Google Sheet with the id" in done.stderr and "Traceback" not in done.stderr


def test_no_credentials_is_exit_10_and_says_how_to_give_them(tmp_path):
    done = forecourt("run", "--sheet", "1" + "x" * 40, standin=None, tmp_path=tmp_path)
    assert done.returncode == 10, done.stderr
    assert "--credentials" in done.stderr and "Traceback" not in done.stderr


def test_google_failing_for_a_moment_is_retried_and_counted(client, standin, tmp_path):
    sheet = make_sheet(client)
    requests.post(standin + "/_standin/fail", json={"status": 503, "times": 1}, timeout=10)
    done = forecourt("run", "--sheet", sheet, "--as-of", AS_OF, "--json", standin=standin,
                     tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["retries"] == 1 and summary["written"]


def test_a_url_and_an_id_name_the_same_sheet_and_garbage_is_a_usage_error(client, standin,
                                                                          tmp_path):
    sheet = make_sheet(client)
    url = f"https://docs.google.com/spreadsheets/d/{sheet}/edit#gid=0"
    done = forecourt("run", "--sheet", url, "--as-of", AS_OF, "--dry-run", "--json",
                     standin=standin, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    bad = forecourt("run", "--sheet", "not a sheet", standin=standin, tmp_path=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_the_library_takes_a_gspread_client_or_spreadsheet(client, tmp_path, monkeypatch):
    from forecourt.engine import run

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sheet = make_sheet(client)
    as_of = dt.datetime(2026, 11, 23, 10, 0)
    by_id = run(sheet, client=client, as_of=as_of, dry_run=True)
    by_object = run(client.open_by_key(sheet), as_of=as_of, dry_run=True)
    assert by_id.outcome.summary["assigned"] == by_object.outcome.summary["assigned"] == 3
    assert str(by_id.path).endswith(sheet)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_now_is_the_sheets_own_time_zone(client, tmp_path, monkeypatch, zone):
    """UTC+14 and UTC-11 are a day apart: "now" is the Sheet's wall clock, not this
    computer's, when neither --as-of nor a Settings row says otherwise."""
    from zoneinfo import ZoneInfo

    from forecourt.engine import run

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sheet = make_sheet(client)
    client.open_by_key(sheet).batch_update({"requests": [{"updateSpreadsheetProperties": {
        "properties": {"timeZone": zone}, "fields": "timeZone"}}]})
    before = dt.datetime.now(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)
    result = run(sheet, client=client, dry_run=True)
    after = dt.datetime.now(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)
    as_of = dt.datetime.strptime(result.outcome.summary["as_of"], "%Y-%m-%d %H:%M")
    assert before <= as_of <= after


def test_a_sheet_that_would_pass_the_cell_limit_is_not_written(client, standin, tmp_path,
                                                               monkeypatch):
    from forecourt.engine import run
    from forecourt.errors import CannotWrite
    from forecourt.sync.sheets import SheetsBackend

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sheet = make_sheet(client)
    requests.delete(standin + "/_standin/calls", timeout=10)
    with pytest.raises(CannotWrite, match="more than Google's limit"):
        run(SheetsBackend(sheet, client=client, max_cells=2000),
            as_of=dt.datetime(2026, 11, 23, 10, 0))
    assert [c["kind"] for c in calls(standin)] == ["spreadsheets.get",
                                                   "spreadsheets.values.batchGet"]


def test_another_users_edit_between_read_and_write_is_kept(client, standin, tmp_path,
                                                          monkeypatch):
    """A teammate renames a lead and adds a note on their phone while the run works: the run
    writes only its own cells that change, so the edits stay."""
    from forecourt.engine import run
    from forecourt.sync.sheets import SheetsBackend

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sheet = make_sheet(client)
    backend = SheetsBackend(sheet, client=client)
    read = backend.read

    def read_then_someone_edits(*args, **kwargs):
        tabs = read(*args, **kwargs)
        requests.post(standin + "/_standin/edit", json={
            "spreadsheetId": sheet, "range": "'Leads'!B3:B3", "values": [["Robert Roe"]]},
            timeout=10)
        return tabs

    backend.read = read_then_someone_edits  # the edit lands between our read and write
    run(backend, as_of=dt.datetime(2026, 11, 23, 10, 0))
    rows = client.open_by_key(sheet).worksheet("Leads").get_all_values()
    assert rows[2][1] == "Robert Roe"
    owner = rows[0].index("Owner")
    assert rows[2][owner] in {"Anna", "Ben"}


def test_a_write_is_split_only_where_a_request_would_pass_the_limit(client, standin,
                                                                   tmp_path, monkeypatch):
    """The same run with a small request limit makes more write calls and leaves the same
    cells; with the default limit it is one call of each kind."""
    from forecourt.engine import run
    from forecourt.sync.sheets import SheetsBackend

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    results = []
    for limit in (2_000_000, 3_000):
        sheet = make_sheet(client)
        requests.delete(standin + "/_standin/calls", timeout=10)
        run(SheetsBackend(sheet, client=client, max_request_bytes=limit),
            as_of=dt.datetime(2026, 11, 23, 10, 0), state=tmp_path / f"{limit}.sqlite")
        made = calls(standin)
        assert all(c["bytes"] <= max(limit, 20_000) for c in made if c["bytes"])
        results.append((len(made), client.open_by_key(sheet).worksheet("Leads")
                        .get_all_values()))
    (default_calls, default_cells), (split_calls, split_cells) = results
    assert default_calls == 4 and split_calls > 4
    assert [r[6:] for r in split_cells] == [r[6:] for r in default_cells]
