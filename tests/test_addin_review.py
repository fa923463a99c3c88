"""An independent review of the add-in (issue 18): regression tests for the defects found, and
pins of behaviour checked and found right.

A test marked "DEFECT" fails on the code as reviewed; the others pass and pin what was checked.
Workbooks are applied as a client applies the server's answers (tests/addin_client.py)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from addin_client import Cell, ClientBook
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from forecourt.macros import export, words
from forecourt.serve import create_app
from forecourt.sync.payload import as_text
from forecourt.validators.text import fold

AS_OF = dt.datetime(2026, 12, 7, 11, 0)
TOKEN = "review-token"
AUTH = {"Authorization": TOKEN}
HEADER = ["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Owner", "Next action",
          "Due"]
ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")


def _lead(n: int, hours: float, status: str = "New", owner: str = "") -> list[Any]:
    return [f"L-{n}", AS_OF - dt.timedelta(hours=hours), f"Person {n}", f"+49 171 23456{n:02d}",
            "WhatsApp", status, owner, "", ""]


def _server(tmp_path: Path, as_of: dt.datetime = AS_OF) -> TestClient:
    return TestClient(create_app(TOKEN, as_of=as_of, state=tmp_path / "state"))


def _press(server: TestClient, book: ClientBook, *, tabs: bool = True,
           book_id: str | None = None) -> list[dict]:
    """The menu's Run now: POST /tabs, then /run with ?sent= and the client's include; the
    menus send the workbook's id (the Sheet's id, the workbook's full path) as ?id=."""
    include = ""
    ids = {"id": book_id} if book_id else {}
    if tabs:
        answer = server.post("/tabs", json={"book": book.name, "sheets": list(book.sheets)},
                             headers=AUTH, params=ids)
        assert answer.status_code == 200, answer.text
        include = answer.json()["include"]
    params = {**ids, **({"sent": include} if include else {})}
    names = include.split(",") if include else None
    if names is not None and book.client != "VBA":  # xlwings.js / xlwings.ts trim the names
        names = [n.strip() for n in names]
    answer = server.post("/run", json=book.payload(include=names), headers=AUTH,
                         params=params)
    assert answer.status_code == 200, answer.text
    actions = answer.json()["actions"]
    book.apply(actions)
    return actions


def _column(book: ClientBook, sheet: str, header: str) -> dict[str, Any]:
    grid = book.grid(sheet)
    j = grid[0].index(header)
    return {row[0]: row[j] if j < len(row) else "" for row in grid[1:]}


def _add_row(book: ClientBook, sheet: str, values: list[Any]) -> None:
    cells = book.sheets[sheet]
    i = max(r for r, _ in cells) + 1
    for j, v in enumerate(values):
        if v != "":
            cells[i, j] = Cell(v, number_format="m/d/yyyy h:mm"
                               if isinstance(v, dt.datetime) else None)


# ---- DEFECT: /tabs keeps sending an old list of tabs ---------------------------------------

@pytest.mark.parametrize("client", ["VBA", "Google Apps Script"])
def test_a_team_tab_added_after_the_first_run_now_is_read_by_the_next(
        tmp_path: Path, client: str) -> None:
    """DEFECT: /tabs answers the tabs the last run found; a Team (Stock, Settings) tab the
    dealer adds afterwards is never sent, so every later Run now ignores it (no owners)."""
    server = _server(tmp_path)
    book = ClientBook.of("Dealer.xlsx", {"Leads": [HEADER, _lead(1, 3)]}, client)
    _press(server, book)
    book.sheets["Team"] = ClientBook.of("t", {"T": [["Name", "Active"], ["Zed", "yes"]]}
                                        ).sheets["T"]
    _add_row(book, "Leads", _lead(2, 1)[:6])
    _press(server, book)
    assert _column(book, "Leads", "Owner")["L-2"] == "Zed"


@pytest.mark.parametrize("client", ["VBA", "Google Apps Script"])
def test_a_tab_whose_name_ends_in_a_space_is_still_read(tmp_path: Path, client: str) -> None:
    """DEFECT: the server strips the names in ?sent= (and xlwings.js/.ts trim the include
    list), so "Team " is treated as not sent from the second Run now on, and dropped from the
    tabs asked for ever after: new leads get no owner."""
    server = _server(tmp_path)
    team = [["Name", "Active"], ["Zed", "yes"]]
    book = ClientBook.of("Dealer.xlsx", {"Leads": [HEADER, _lead(1, 3)], "Team ": team}, client)
    _press(server, book)
    _press(server, book)
    _add_row(book, "Leads", _lead(2, 1)[:6])
    _press(server, book)
    assert _column(book, "Leads", "Owner")["L-2"] == "Zed"


# ---- DEFECT: the memory (and the fills) are keyed by the workbook's name only ----------------

def test_two_workbooks_of_the_same_name_do_not_share_their_history(tmp_path: Path) -> None:
    """DEFECT: the memory is per book *name*: workbook B's KPI shows the contact rate of
    workbook A's leads with the same ids (both New in B: the rate must be 0)."""
    server = _server(tmp_path)
    team = [["Name", "Active"], ["Zed", "yes"]]
    a = ClientBook.of("Leads.xlsx", {"Leads": [HEADER, _lead(1, 30, "Won", "Zed"),
                                               _lead(2, 30, "Won", "Zed")], "Team": team})
    b = ClientBook.of("Leads.xlsx", {"Leads": [HEADER, _lead(1, 30, "New", "Zed"),
                                               _lead(2, 30, "New", "Zed")], "Team": team},
                      "Google Apps Script")
    _press(server, a, tabs=False, book_id=r"C:\Users\anna\Leads.xlsx")
    _press(server, b, tabs=False, book_id="1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789")
    kpi = b.grid("KPI")
    top = next(i for i, r in enumerate(kpi) if r[0] == "Overall")
    header, overall = kpi[top], kpi[top + 1]
    assert overall[header.index("Contact rate")] == 0


def test_two_workbooks_of_the_same_name_do_not_share_their_fills(tmp_path: Path) -> None:
    """DEFECT: the rows forecourt filled in workbook A are painted white in workbook B of the
    same name (over the dealer's own fill), though forecourt never filled them there."""
    server = _server(tmp_path)
    team = [["Name", "Active"], ["Zed", "yes"]]
    a = ClientBook.of("Leads.xlsx", {"Leads": [HEADER, _lead(1, 30)], "Team": team})
    b = ClientBook.of("Leads.xlsx", {"Leads": [HEADER, _lead(1, 0.01, "Won")], "Team": team})
    b.sheets["Leads"][1, 0].fill = "#00FF00"
    _press(server, a, tabs=False, book_id=r"C:\Users\anna\Leads.xlsx")
    assert a.sheets["Leads"][1, 0].fill not in (None, "#FFFFFF")
    actions = _press(server, b, tabs=False, book_id=r"D:\Shop\Leads.xlsx")
    assert not [x for x in actions if x["func"] == "setRangeColor"]
    assert b.sheets["Leads"][1, 0].fill == "#00FF00"


# ---- DEFECT: Run now's memory is not the file's --------------------------------------------

def _save(path: Path, grids: dict[str, list[list[Any]]]) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for name, grid in grids.items():
        ws = wb.create_sheet(name)
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                ws.cell(i + 1, j + 1).value = None if v == "" else v
    wb.save(path)


def _file_grids(path: Path) -> dict[str, list[list[Any]]]:
    wb = load_workbook(path)
    return {ws.title: [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]
            for ws in wb.worksheets}


def test_forecourt_run_after_run_now_recomputes_what_run_now_wrote(tmp_path: Path) -> None:
    """DEFECT: Run now keeps its memory apart from the file's BOOK.forecourt.sqlite, so the
    scheduled `forecourt run` (or `forecourt sync`) on the saved workbook takes what Run now
    wrote for a person's entry: after the status moves on, the next action and due stay
    stale ("first reply", overdue) where two `forecourt run`s give "follow up"."""
    from forecourt.engine import run

    later = AS_OF + dt.timedelta(hours=5)
    grids = {"Leads": [HEADER, _lead(1, 1)], "Team": [["Name", "Active"], ["Zed", "yes"]]}

    alone = tmp_path / "alone" / "Leads.xlsx"
    alone.parent.mkdir()
    _save(alone, grids)
    run(alone, as_of=AS_OF)
    wb = load_workbook(alone)
    wb["Leads"]["F2"] = "Contacted"
    wb.save(alone)
    run(alone, as_of=later)
    expected = _file_grids(alone)["Leads"][1][7:9]
    assert expected[0] == "follow up"

    menu = tmp_path / "menu" / "Leads.xlsx"
    menu.parent.mkdir()
    _save(menu, grids)
    book = ClientBook.of("Leads.xlsx", _file_grids(menu))
    _press(_server(tmp_path), book, tabs=False, book_id=str(menu))
    saved = {n: book.grid(n) for n in book.sheets}
    saved["Leads"][1][5] = "Contacted"  # the person's change, saved with Run now's values
    _save(menu, saved)
    run(menu, as_of=later)
    assert _file_grids(menu)["Leads"][1][7:9] == expected


# ---- DEFECT: a dealer's tab named like a generated one in another case ------------------------

@pytest.mark.parametrize("mine", ["kpi", "log", "issues"])
def test_no_sheet_is_added_under_a_name_the_workbook_has_in_another_case(
        tmp_path: Path, mine: str) -> None:
    """DEFECT: Excel and Google Sheets compare sheet names case-insensitively; a dealer's
    "kpi"/"log"/"issues" tab makes the server answer addSheet "KPI"/"Log"/"Issues", which the
    client refuses (VBA: "That name is already taken"), so Run now never completes. (The file
    path gives the generated sheet another name.)"""
    book = ClientBook.of("Dealer.xlsx", {"Leads": [HEADER, _lead(1, 3)],
                                         "Team": [["Name", "Active"], ["Zed", "yes"]],
                                         mine: [["my own notes"], ["x", 1]]})
    answer = _server(tmp_path).post("/run", json=book.payload(), headers=AUTH)
    assert answer.status_code == 200, answer.text
    taken = {n.casefold() for n in book.sheets}
    added = [a["args"][1] for a in answer.json()["actions"] if a["func"] == "addSheet"]
    assert added and all(n.casefold() not in taken for n in added), added


# ---- DEFECT: the stamping knows fewer words than the engine ---------------------------------

STATUS_TEXTS = ["Contacted - left voicemail", "Kontaktiert (Tel.)", "Lost - bought elsewhere",
                "Termin vereinbart 12.12.", "Offer sent 12/12"]
HEADER_TEXTS = ["First response (date/time)", "Letzter Kontakt (Datum)", "Status since (date)",
                "Lead status (current)"]


def test_the_stamping_knows_the_status_words_and_headers_the_engine_reads() -> None:
    """DEFECT: the scripts (forecourt.gs, forecourt.bas) look up the exact folded text in the
    exported word lists, while the engine also reads "header words" ("Kontaktiert (Tel.)" is
    Contacted, "First response (date/time)" is the first-response column): such a status
    change is counted by the KPIs but never stamped."""
    from validators.headers import match_header
    from validators.normalise import canonical_value

    exported = words()
    statuses: dict[str, str] = exported["statuses"]  # type: ignore[assignment]
    headers = {w: f for f, ws in exported["headers"].items() for w in ws}  # type: ignore[union-attr]

    def longest(text: str, known: dict[str, str]) -> str | None:
        """The scripts' lookup: the longest leading words of the folded text that are known."""
        parts = fold(text).split()
        return next((known[" ".join(parts[:n])] for n in range(len(parts), 0, -1)
                     if " ".join(parts[:n]) in known), None)

    missed = []
    for text in STATUS_TEXTS:
        engine = canonical_value(text, "status")
        assert engine is not None, text
        if longest(text, statuses) != engine:
            missed.append(text)
    for text in HEADER_TEXTS:
        engine_fields = {f for f, _lang in match_header("leads", text)[0]}
        assert engine_fields, text
        if longest(text, headers) not in engine_fields:
            missed.append(text)
    assert not missed, missed


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_the_google_stamping_stamps_a_status_the_engine_reads(tmp_path: Path) -> None:
    """DEFECT (the same, through the exported forecourt.gs under Node): "Kontaktiert (Tel.)"
    under a title row stamps nothing."""
    export(tmp_path / "menus")
    google = tmp_path / "menus" / "google"
    grid = {"name": "Book", "timeZone": "UTC", "sheets": [{"name": "Anfragen", "values": [
        ["Autohaus Müller – Anfragen", "", "", "", ""],
        ["Lead ID", "Status", "Erstkontakt", "Letzter Kontakt", "Status seit"],
        ["L-1", "Neu", "", "", ""]]}]}
    (tmp_path / "in.json").write_text(json.dumps(grid), encoding="utf-8")
    out = {}
    for value in ("Kontaktiert", "Kontaktiert (Tel.)"):
        subprocess.run(
            [NODE, str(ROOT / "tests" / "node" / "run_menu.js"), "--scripts",
             f"{google / 'xlwings.js'},{google / 'forecourt.gs'}", "--grid",
             str(tmp_path / "in.json"), "--out", str(tmp_path / "out.json"), "--edit",
             json.dumps({"sheet": "Anfragen", "a1": "B3", "value": value,
                         "now": "2026-12-07T10:00:00"})],
            check=True, capture_output=True, timeout=60, env={"TZ": "UTC", "PATH": "/usr/bin"})
        result = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
        assert result["error"] is None, result["error"]
        out[value] = result["sheets"][0]["values"][2][2:]
    stamped = [{"date": "2026-12-07T10:00:00"}] * 3
    assert out["Kontaktiert"] == stamped  # the exact word works
    assert out["Kontaktiert (Tel.)"] == stamped


# ---- DEFECT: answers that are not one sentence, a token that can never match -----------------

def test_deeply_nested_json_is_answered_with_a_sentence() -> None:
    """DEFECT: json.loads raises RecursionError (not ValueError) on deep nesting: the answer
    is a bare 500 "Internal Server Error" instead of the 400 sentence."""
    server = TestClient(create_app(TOKEN), raise_server_exceptions=False)
    answer = server.post("/run", content=b"[" * 100_000 + b"]" * 100_000, headers=AUTH)
    assert answer.status_code == 400, (answer.status_code, answer.text)


def test_a_token_with_a_non_ascii_letter_is_refused_up_front_or_works() -> None:
    """DEFECT: headers are decoded as Latin-1 and the token compared as UTF-8, so a token such
    as "pässwort" sent by a UTF-8 client (Apps Script, VBA-Web) is refused every time, with
    "the token is missing or wrong"."""
    try:
        app = create_app("pässwort")
    except ValueError:
        return  # refused when the server starts: fine
    answer = TestClient(app).post("/tabs", json={"book": "b", "sheets": ["Leads"]},
                                  headers={"Authorization": "pässwort".encode()})
    assert answer.status_code == 200, answer.text


# ---- Pins: checked and right -------------------------------------------------------------------

@pytest.mark.parametrize(("header", "status"), [
    (None, 401), ("", 401), ("Basic " + TOKEN, 401), (TOKEN + "x", 401), (TOKEN[:-1], 401),
    (TOKEN.upper(), 401), ("Bearer " + TOKEN, 200), (f"  {TOKEN}  ", 200)])
def test_authorization_header_variants(header: str | None, status: int) -> None:
    server = TestClient(create_app(TOKEN))
    headers = {} if header is None else {"Authorization": header}
    answer = server.post("/tabs", json={"book": "b", "sheets": ["Leads"]}, headers=headers)
    assert answer.status_code == status


def test_an_empty_token_refuses_everything() -> None:
    server = TestClient(create_app(""))
    assert server.post("/tabs", json={"book": "b", "sheets": []},
                       headers={"Authorization": ""}).status_code == 503


@pytest.mark.parametrize(("origin", "allowed"), [
    ("https://abc.officescripts.microsoftusercontent.com", True),
    ("https://evil.com/.officescripts.microsoftusercontent.com", False),
    ("https://x.officescripts.microsoftusercontent.com.evil.com", False),
    ("http://x.officescripts.microsoftusercontent.com", False),
    ("https://x.officescripts.microsoftusercontent.com:444", False),
    ("https://evilofficescripts.microsoftusercontent.com", False),
    ("null", False)])
def test_cors_answers_only_office_scripts(origin: str, allowed: bool) -> None:
    server = TestClient(create_app(TOKEN))
    answer = server.options("/run", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert (answer.headers.get("access-control-allow-origin") == origin) is allowed


def test_a_chunked_body_over_the_limit_is_refused() -> None:
    server = TestClient(create_app(TOKEN, max_bytes=1000))

    def chunks():
        for _ in range(50):
            yield b"x" * 100
    answer = server.post("/run", content=chunks(), headers=AUTH)
    assert answer.status_code == 413 and "too big" in answer.text


@pytest.mark.parametrize("text", ["\t=1+1", "\n=1+1", " =1+1", "\u00a0=1+1", "\u3000=1",
                                  "+1", "-1", "@SUM(A1)", "=cmd|' /C calc'!A0", "'=1"])
def test_text_with_a_formula_behind_white_space_is_sent_as_text(text: str) -> None:
    assert as_text(text) == "'" + text


@pytest.mark.parametrize("client", ["VBA", "Google Apps Script", "Microsoft Office Scripts"])
def test_a_person_s_edits_between_two_run_nows_stand(tmp_path: Path, client: str) -> None:
    server = _server(tmp_path)
    team = [["Name", "Active"], ["Zed", "yes"], ["Yan", "yes"]]
    book = ClientBook.of("Dealer.xlsx", {"Leads": [HEADER, _lead(1, 30), _lead(2, 30),
                                                   _lead(3, 30)], "Team": team}, client)
    _press(server, book)
    leads = book.sheets["Leads"]
    leads[1, 6] = Cell("Manual Person")
    leads[2, 7] = Cell("call the wife")
    leads[3, 8] = Cell(dt.datetime(2026, 12, 24, 9, 0), number_format="m/d/yyyy h:mm")
    leads[3, 5] = Cell("Offer sent")
    leads[1, 5] = Cell("Lost")
    _press(server, book)
    assert _column(book, "Leads", "Owner")["L-1"] == "Manual Person"
    assert _column(book, "Leads", "Next action")["L-2"] == "call the wife"
    assert _column(book, "Leads", "Due")["L-3"] == dt.datetime(2026, 12, 24, 9, 0)
    assert leads[1, 0].fill in (None, "#FFFFFF")  # closed: no colour
    assert not book.formulas()


def test_sync_now_keeps_unsaved_edits_of_the_open_workbook(tmp_path: Path) -> None:
    """An unsaved note on a row the team changed, and an unsaved new row where the sync would
    add the team's new lead: neither is overwritten, and neither is lost at the next sync."""
    import sheets_fixtures
    import sync_sides as sides

    from forecourt.serve import SyncTarget
    from forecourt.sync.sheets import SheetsBackend

    standin = sheets_fixtures.shared()
    book, sid = sides.synced_pair(tmp_path, standin, "review")
    sides.edit_sheet(standin, sid, [
        {"op": "set", "key": "L-1002", "column": "Notes", "value": "from the team"},
        {"op": "add", "row": {"Lead ID": "L-2000", "Received": "2026-12-07 09:00",
                              "Name": "Team Lead", "Phone": "+48 600 100 200",
                              "Source": "WhatsApp", "Status": "New", "Notes": "team lead"}}])
    owner = sides.open_in_excel(book)
    as_of = dt.datetime.strptime(sides.AS_OF, "%Y-%m-%d %H:%M")
    server = TestClient(create_app(TOKEN, as_of=as_of, state=tmp_path / "state",
                                   sync=SyncTarget(book, sid, backend=SheetsBackend(
                                       sid, client=standin.client))))
    client = ClientBook.of(book.name, _file_grids(book))
    leads = client.sheets["Leads"]
    header = [c.value for (i, _j), c in sorted(leads.items()) if i == 0]
    notes = header.index("Notes")
    row_of = {c.value: i for (i, j), c in leads.items() if j == 0}
    leads[row_of["L-1002"], notes] = Cell("unsaved owner note")
    last = max(i for i, _ in leads) + 1
    leads[last, 0], leads[last, notes] = Cell("L-9999"), Cell("unsaved new lead")

    answer = server.post("/sync", json=client.payload(), headers=AUTH)
    assert answer.status_code == 200, answer.text
    client.apply(answer.json()["actions"])
    after = _column(client, "Leads", "Notes")
    assert after["L-1002"] == "unsaved owner note" and after["L-9999"] == "unsaved new lead"

    wb = load_workbook(book)  # the owner saves and closes; the scheduled sync
    ws = wb["Leads"]
    for i, row in enumerate(client.grid("Leads")):
        for j, v in enumerate(row):
            ws.cell(i + 1, j + 1).value = None if v == "" else v
    wb.save(book)
    owner.unlink()
    assert sides.sync_here(book, sid, standin)["complete"]
    for side in (sides.excel_rows(book)[1], sides.sheet_rows(standin, sid)[1]):
        got = {r["Lead ID"]: r["Notes"] for r in side}
        assert got["L-1002"] == "unsaved owner note"
        assert got["L-9999"] == "unsaved new lead" and got["L-2000"] == "team lead"
