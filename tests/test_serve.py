"""`forecourt serve`'s Run now, seen from the spreadsheet: the workbook a menu sends, the
server's answer applied as the client applies it, and the workbook that results, compared
with what `forecourt run` makes of the same workbook as a file."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from addin_client import ClientBook
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from forecourt.demo import generate_demo
from forecourt.engine import run
from forecourt.macros import xlwings_dir
from forecourt.serve import create_app
from forecourt.sync.base import cell_text
from forecourt.sync.payload import ALLOWED, as_text

AS_OF = dt.datetime(2026, 12, 7, 11, 0)
TOKEN = "s3cret-token"


def _grids(path: Path) -> dict[str, list[list]]:
    wb = load_workbook(path, data_only=True)
    return {ws.title: [["" if v is None else v for v in row]
                       for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _text(grid: list[list]) -> list[list[str]]:
    out = [[cell_text(v) for v in row] for row in grid]
    for row in out:
        while row and row[-1] == "":
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


@pytest.fixture
def server(tmp_path: Path) -> TestClient:
    return TestClient(create_app(TOKEN, as_of=AS_OF, state=tmp_path / "state"))


def run_now(server: TestClient, book: ClientBook) -> list[dict]:
    answer = server.post("/run", json=book.payload(), headers={"Authorization": TOKEN})
    assert answer.status_code == 200, answer.text
    actions = answer.json()["actions"]
    book.apply(actions)
    return actions


@pytest.mark.parametrize("client", ["VBA", "Google Apps Script", "Microsoft Office Scripts"])
def test_run_now_leaves_the_workbook_as_forecourt_run_leaves_the_file(
        tmp_path: Path, server: TestClient, client: str) -> None:
    book_path = generate_demo(tmp_path / "Dealer.xlsx", 120, as_of=AS_OF)
    before = _grids(book_path)
    ran = tmp_path / "ran.xlsx"
    shutil.copy(book_path, ran)
    run(ran, as_of=AS_OF)
    expected = _grids(ran)

    book = ClientBook.of("Dealer.xlsx", before, client)
    actions = run_now(server, book)

    assert {a["func"] for a in actions} <= set(ALLOWED)
    assert list(book.sheets)[:4] == list(before)  # the dealer's tabs stay where they were
    for sheet in ("Leads", "Stock", "Team", "Issues"):
        assert _text(book.grid(sheet)) == _text(expected[sheet]), sheet
    kpi = _text(book.grid("KPI"))
    assert kpi[:3] == _text(expected["KPI"])[:3] and len(kpi) == len(_text(expected["KPI"]))
    assert not book.formulas()
    # overdue rows are filled, as the file's highlighting rule shows them
    leads = book.sheets["Leads"]
    filled = {i for (i, _j), c in leads.items() if c.fill and c.fill != "#FFFFFF"}
    assert filled, "no overdue row coloured"


@pytest.mark.parametrize("client", ["VBA", "Google Apps Script", "Microsoft Office Scripts"])
def test_a_second_run_now_writes_nothing_new(server: TestClient, tmp_path: Path,
                                             client: str) -> None:
    book = ClientBook.of("Dealer.xlsx", _grids(generate_demo(tmp_path / "d.xlsx", 80,
                                                             as_of=AS_OF)), client)
    first = run_now(server, book)
    assert any(a["func"] == "setValues" for a in first)
    second = run_now(server, book)
    writes = [a for a in second if a["func"] in ("setValues", "addSheet", "rangeClearContents")
              and list(book.sheets)[a["sheet_position"]] != "Log"]
    assert writes == [], writes[:3]


def test_a_status_closed_in_the_sheet_loses_its_colour_at_the_next_run_now(
        server: TestClient, tmp_path: Path) -> None:
    book = ClientBook.of("Dealer.xlsx", _grids(generate_demo(tmp_path / "d.xlsx", 80,
                                                             as_of=AS_OF)))
    run_now(server, book)
    leads = book.sheets["Leads"]
    header = [c.value for (i, j), c in sorted(leads.items()) if i == 0]
    status_j = header.index("Status")
    row = next(i for (i, j), c in sorted(leads.items())
               if j == 0 and i > 0 and c.fill not in (None, "#FFFFFF"))
    leads[row, status_j].value = "Won"
    again = run_now(server, book)
    assert any(a["func"] == "setRangeColor" and a["args"] == ["#FFFFFF"]
               and a["start_row"] <= row < a["start_row"] + a["row_count"] for a in again)
    assert leads[row, 0].fill == "#FFFFFF"


def test_text_that_looks_like_a_formula_number_or_date_stays_text(
        server: TestClient) -> None:
    evil = '=HYPERLINK("http://evil.example","click")'
    grids = {
        "Leads": [["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Owner",
                   "Next action", "Due", "Notes"],
                  ["", AS_OF - dt.timedelta(hours=3), evil, "+49 171 2345678", "WhatsApp",
                   "New", "", "", "", "@admin -1"],
                  ["", AS_OF - dt.timedelta(hours=2), "-Ann", "", "Walk-in", "New", "", "",
                   "", "2026-12-01"]],
        "Team": [["Name", "Active"], ["=cmd|' /C calc'!A0", "yes"], ["Bea", "yes"]],
    }
    book = ClientBook.of("Evil.xlsx", grids)
    actions = run_now(server, book)
    sent = [v for a in actions if a["func"] == "setValues" for row in a["values"]
            for v in row if isinstance(v, str)]
    assert all(not re.match(r"[=+\-@]", v) for v in sent), [v for v in sent if v[:1] in "=+-@"]
    assert not book.formulas()
    assert book.value("Leads", "C2") == evil
    owners = {book.value("Leads", "G2"), book.value("Leads", "G3")}
    assert owners <= {"=cmd|' /C calc'!A0", "Bea"} and "" not in owners


@pytest.mark.parametrize(("text", "sent"), [
    ("=1+1", "'=1+1"), ("+49 171", "'+49 171"), ("-5", "'-5"), ("@x", "'@x"),
    ("0171 2345", "'0171 2345"), ("2026-12-07", "'2026-12-07"), ("TRUE", "'TRUE"),
    ("10%", "'10%"), ("Dec 7", "'Dec 7"), ("'quoted", "''quoted"),
    ("Anna Kowalska", "Anna Kowalska"), ("follow up", "follow up"), ("Jan Nowak", "Jan Nowak"),
    ("#N/A", "'#N/A"), ("&H7-1-1", "'&H7-1-1"), ("Jan-2026", "'Jan-2026"),
    ("\uff1d1+1", "'\uff1d1+1"), ("\u00a0=1", "'\u00a0=1"),
])
def test_text_is_sent_so_that_every_client_keeps_it_as_text(text: str, sent: str) -> None:
    assert as_text(text) == sent


def _handlers() -> dict[str, set[str]]:
    """The action names each installed client implements (not those that only throw)."""
    root = xlwings_dir()
    js = (root / "js" / "xlwings.js").read_text(encoding="utf-8")
    ts = (root / "js" / "xlwings.ts").read_text(encoding="utf-8")
    vba = (root / "addin" / "Remote.bas").read_text(encoding="utf-8", errors="replace")

    def bodies(text: str, pattern: str) -> dict[str, str]:
        found = list(re.finditer(pattern, text, re.MULTILINE))
        return {m.group(1): text[m.end():found[k + 1].start() if k + 1 < len(found) else None]
                for k, m in enumerate(found)}

    out = {}
    for client, funcs in (
            ("xlwings.js", bodies(js, r"^function (\w+)\(workbook, action\)")),
            ("xlwings.ts", {n: b for n, b in bodies(
                ts, r"^function (\w+)\(workbook: ExcelScript\.Workbook, action: Action\)"
            ).items() if f"registerCallback({n});" in ts}),
            ("Remote.bas", bodies(vba, r"^Sub (\w+)\(wb As Workbook, action As Dictionary\)"))):
        out[client] = {n for n, body in funcs.items()
                       if not re.search(r"^\s*throw\b", body.split("\n}")[0], re.MULTILINE)}
    return out


def test_every_action_the_server_can_send_is_implemented_by_all_three_clients() -> None:
    handlers = _handlers()
    assert set(handlers) == {"xlwings.js", "xlwings.ts", "Remote.bas"}
    for client, names in handlers.items():
        assert "setValues" in names and len(names) > 10, (client, sorted(names))
        assert set(ALLOWED) <= names, (client, set(ALLOWED) - names)
    # the check can fail: what one client lacks or only throws is not counted
    assert "addTable" not in handlers["xlwings.js"]
    assert "alert" not in handlers["xlwings.ts"]


def test_sync_now_from_the_workbook_open_in_excel_writes_the_team_s_edits_into_it(
        tmp_path: Path) -> None:
    import sheets_fixtures
    import sync_sides as sides

    from forecourt.serve import SyncTarget
    from forecourt.sync.sheets import SheetsBackend

    standin = sheets_fixtures.shared()
    book, sid = sides.synced_pair(tmp_path, standin, "serve")
    sides.edit_excel(book, [{"op": "set", "key": "L-1001", "column": "Notes",
                             "value": "from the owner"}])  # saved by the menu before it calls
    sides.edit_sheet(standin, sid, [{"op": "set", "key": "L-1002", "column": "Status",
                                     "value": "Won"}])
    owner = sides.open_in_excel(book)
    before = book.read_bytes()
    as_of = dt.datetime.strptime(sides.AS_OF, "%Y-%m-%d %H:%M")
    server = TestClient(create_app(TOKEN, as_of=as_of, state=tmp_path / "state", sync=SyncTarget(
        book, sid, backend=SheetsBackend(sid, client=standin.client))))
    client = ClientBook.of(book.name, _grids(book))

    answer = server.post("/sync", json=client.payload(), headers={"Authorization": TOKEN})
    assert answer.status_code == 200, answer.text
    client.apply(answer.json()["actions"])

    assert book.read_bytes() == before  # the open file is not touched
    header = [c.value for (i, j), c in sorted(client.sheets["Leads"].items()) if i == 0]
    rows = {r[0]: dict(zip(header, r, strict=False)) for r in client.grid("Leads")[1:]}
    assert rows["L-1002"]["Status"] == "Won"  # the teammate's edit, in the open workbook
    assert "Conflicts" in client.sheets and "KPI" in client.sheets
    _, sheet = sides.sheet_rows(standin, sid)
    assert next(r for r in sheet if r["Lead ID"] == "L-1001")["Notes"] == "from the owner"

    # the owner saves and closes; the scheduled sync finds both sides alike
    wb = load_workbook(book)
    ws = wb["Leads"]
    for i, row in enumerate(client.grid("Leads")):
        for j, v in enumerate(row):
            if ws.cell(i + 1, j + 1).value != (v if v != "" else None):
                ws.cell(i + 1, j + 1).value = v if v != "" else None
    wb.save(book)
    owner.unlink()
    report = sides.sync_here(book, sid, standin)
    assert report["complete"] and report["conflict_count"] == 0, report
    _, excel = sides.excel_rows(book)
    assert next(r for r in excel if r["Lead ID"] == "L-1002")["Status"] == "Won"
    _, sheet = sides.sheet_rows(standin, sid)
    assert next(r for r in sheet if r["Lead ID"] == "L-1002")["Status"] == "Won"


def test_serve_refuses_another_address_than_this_machine_without_a_token() -> None:
    import subprocess
    import sys

    from preserve_books import hermetic_env

    done = subprocess.run([sys.executable, "-m", "forecourt", "serve", "--host", "0.0.0.0"],
                          capture_output=True, text=True, env=hermetic_env(), timeout=60)
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in done.stderr


def test_sync_now_from_another_google_sheet_is_refused_in_a_sentence(tmp_path: Path) -> None:
    from forecourt.serve import SyncTarget

    server = TestClient(create_app(TOKEN, as_of=AS_OF, state=tmp_path / "state", sync=SyncTarget(
        tmp_path / "Leads.xlsx", "1TheTeamSheetIdxxxxxxxxxxxxxxxxxx")))
    book = ClientBook.of("Other", {"Leads": [["Received", "Name"]]}, "Google Apps Script")
    answer = server.post("/sync", json=book.payload(), headers={"Authorization": TOKEN},
                         params={"id": "1AnotherSheetIdxxxxxxxxxxxxxxxxxxx"})
    assert answer.status_code == 409
    assert answer.text.startswith("This Google Sheet is not the one this forecourt server syncs")
