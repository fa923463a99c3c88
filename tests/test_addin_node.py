"""The Google Sheets menu for real, as far as this machine allows: the files `forecourt macros
export` writes (our `forecourt.gs` with forecourt's own words, xlwings' unmodified
`xlwings.js`) run under Node in a fake Apps Script world (tests/node/), calling a real
`forecourt serve` on 127.0.0.1 over HTTP; the fake spreadsheet is checked afterwards."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from preserve_books import hermetic_env

from forecourt.demo import generate_demo
from forecourt.macros import export

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")
RUNNER = ROOT / "tests" / "node" / "run_menu.js"
AS_OF = "2026-12-07 11:00"
TOKEN = "node-test-token"

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`forecourt serve` as a dealer starts it, with a fixed clock."""
    state = tmp_path_factory.mktemp("serve-state")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "forecourt", "serve", "--port", str(port), "--token", TOKEN,
         "--as-of", AS_OF, "--state", str(state)],
        env=hermetic_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("menus")
    export(folder, force=True)
    return folder


def _grid_of(book: Path, url: str) -> dict[str, Any]:
    wb = load_workbook(book, data_only=True)
    sheets = []
    for ws in wb.worksheets:
        values = [[{"date": v.isoformat(timespec="seconds")} if isinstance(v, dt.datetime)
                   else "" if v is None else v for v in row]
                  for row in ws.iter_rows(values_only=True)]
        sheets.append({"name": ws.title, "values": values})
    return {"name": book.name, "timeZone": "UTC", "active": 0, "sheets": sheets,
            "properties": {"FORECOURT_URL": url, "FORECOURT_TOKEN": TOKEN}}


def run_menu(exported: Path, grid: dict[str, Any], folder: Path, *args: str) -> dict[str, Any]:
    (folder / "in.json").write_text(json.dumps(grid), encoding="utf-8")
    scripts = f"{exported / 'google' / 'xlwings.js'},{exported / 'google' / 'forecourt.gs'}"
    proc = subprocess.run(
        [NODE, str(RUNNER), "--scripts", scripts, "--grid", str(folder / "in.json"),
         "--out", str(folder / "out.json"), *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TZ": "UTC"})
    assert proc.returncode == 0, proc.stderr
    return json.loads((folder / "out.json").read_text(encoding="utf-8"))


def _sheet(out: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in out["sheets"] if s["name"] == name)


def _column(sheet: dict[str, Any], header: str) -> list[Any]:
    j = sheet["values"][0].index(header)
    return [row[j] if j < len(row) else "" for row in sheet["values"][1:]]


def test_run_now_from_the_google_menu_fills_the_sheet_through_a_real_server(
        tmp_path: Path, server: str, exported: Path) -> None:
    book = generate_demo(tmp_path / "Team.xlsx", 60, as_of=dt.datetime(2026, 12, 7, 11, 0))
    grid = _grid_of(book, server)
    grid["sheets"][0]["values"][5][2] = '=IMPORTXML("http://evil.example","//a")'  # a name
    # a Sheet's grid ends at its last column: forecourt's new columns need room made first
    grid["sheets"][0]["maxColumns"] = len(grid["sheets"][0]["values"][0])

    out = run_menu(exported, grid, tmp_path, "--call", "forecourtRunNow")

    assert out["error"] is None and out["alerts"] == [], (out["error"], out["alerts"])
    assert [r["url"].split("?")[0].rsplit("/", 1)[1] for r in out["requests"]] == \
        ["tabs", "run"] and all(r["status"] == 200 for r in out["requests"])
    assert out["toasts"], "no 'done' message"
    names = [s["name"] for s in out["sheets"]]
    assert names[:4] == ["Leads", "Stock", "Team", "Settings"] and {"KPI", "Issues",
                                                                    "Log"} <= set(names)
    leads = _sheet(out, "Leads")
    statuses, owners = _column(leads, "Status"), _column(leads, "Owner")
    open_rows = [i for i, s in enumerate(statuses) if s not in ("Won", "Lost")]
    assert open_rows and all(owners[i] for i in open_rows)
    due = _column(leads, "Due")
    assert all(isinstance(due[i], dict) and "date" in due[i] for i in open_rows)
    j_due = leads["values"][0].index("Due")
    letter = chr(ord("A") + j_due)
    assert any(a.startswith(letter) and "yy" in f for a, f in leads["numberFormats"].items())
    assert leads["values"][5][2] == '=IMPORTXML("http://evil.example","//a")'
    assert not any(s.get("formulas") for s in out["sheets"]), "text became a formula"
    fills = {c for c in leads.get("backgrounds", {}).values()}
    assert fills - {"#FFFFFF", "#ffffff"}, "no overdue row coloured"
    kpi = _sheet(out, "KPI")
    assert str(kpi["values"][0][0]).lower().startswith("forecourt")

    # the next Run now sends only the tabs the server needs, and finds nothing more to write
    again = run_menu(exported, out, tmp_path, "--call", "forecourtRunNow")
    assert again["error"] is None, again["error"]
    assert "&sent=" in again["requests"][1]["url"]
    for name in ("Leads", "Stock", "Team", "Issues"):
        assert _sheet(again, name)["values"] == _sheet(out, name)["values"], name


def test_the_google_menu_shows_the_server_s_sentence_when_the_token_is_wrong(
        tmp_path: Path, server: str, exported: Path) -> None:
    grid = {"name": "Team", "timeZone": "UTC", "sheets": [{"name": "Leads", "values": [
        ["Received", "Name"]]}], "properties": {"FORECOURT_URL": server,
                                               "FORECOURT_TOKEN": "not-the-token"}}
    out = run_menu(exported, grid, tmp_path, "--call", "forecourtRunNow")
    assert out["alerts"] and "token is missing or wrong" in out["alerts"][0]
    assert _sheet(out, "Leads")["values"] == [["Received", "Name"]]


@pytest.mark.parametrize(("headers", "status", "stamped"), [
    (["Anfrage-Nr", "Eingang", "Name", "Status", "Erste Antwort", "Letzter Kontakt",
      "Status seit"], "Kontaktiert", (True, True, True)),
    (["ID", "Data zgłoszenia", "Imię i nazwisko", "Etap", "Pierwsza odpowiedź",
      "Ostatni kontakt", "Status od"], "Próba kontaktu", (True, False, True)),
    (["Lead ID", "Received", "Name", "Status", "First response", "Last contact",
      "Status since"], "Lost", (False, False, True)),
    # "Last contact notes" is notes, not the last contact; "(date/time)" leaves a header as is
    (["Lead ID", "Received", "Name", "Status", "First response (date/time)",
      "Last contact notes", "Status since"], "Contacted - left voicemail", (True, False, True)),
    (["Lead ID", "Received", "Name", "Status", "First response", "Last contact",
      "Status since"], "Appointment cancelled", (False, False, False)),
    # a stock tab (it has a price) with a "Last updated" column is never stamped
    (["VIN", "Make", "Price", "Status", "Last updated", "Since", "Notes"], "Won",
     (False, False, False)),
])
def test_a_status_changed_on_the_phone_stamps_the_times_with_forecourt_s_own_words(
        tmp_path: Path, exported: Path, headers: list[str], status: str,
        stamped: tuple[bool, bool, bool]) -> None:
    grid = {"name": "Team", "timeZone": "UTC", "sheets": [{"name": "Leads", "values": [
        ["Our leads"], headers,
        ["L-1", {"date": "2026-12-07T09:00:00"}, "Anna", "New", "", "", ""]]}]}
    edit = {"sheet": "Leads", "a1": "D3", "value": status, "oldValue": "New",
            "now": "2026-12-07T10:15:00"}
    out = run_menu(exported, grid, tmp_path, "--edit", json.dumps(edit))
    assert out["error"] is None, out["error"]
    row = _sheet(out, "Leads")["values"][2]
    got = tuple(isinstance(v, dict) and v.get("date", "").startswith("2026-12-07T10:15")
                for v in row[4:7])
    assert got == stamped, row


def test_the_node_suite_of_the_google_menu_passes() -> None:
    """tests/node/: our onEdit stamping and the fake Apps Script world, checked against
    xlwings.js' own behaviour (run with `TZ=UTC node --test tests/node/`)."""
    proc = subprocess.run([NODE, "--test", str(ROOT / "tests" / "node")], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TZ": "UTC",
                                                       "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout
