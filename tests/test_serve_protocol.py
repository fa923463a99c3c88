"""``forecourt serve`` speaks the server side of xlwings' protocol: what a dealer sees after
clicking Run in Excel (VBA), Google Sheets (Apps Script) or Excel on the web (Office Scripts).

Written from the clients' sources (tests/addin_payloads.py builds their payloads) and the
contract of issue 18, not from forecourt/serve.py:

- ``POST /run``: a client's payload in, ``{"actions": [...]}`` out, that do to the workbook what
  ``forecourt run`` does to the same workbook as an .xlsx; ``?sent=`` names the tabs whose
  values the client really sent. ``POST /tabs``: which tabs to send.
- Only ``setValues``, ``rangeClearContents``, ``setRangeColor``, ``setNumberFormat`` and
  ``addSheet``; dates as serial numbers with a number format; text a spreadsheet would read as
  something else goes with a leading ``'``.
- Errors are one plain sentence (VBA shows the body in a MsgBox, Remote.bas L334-335; the
  JavaScript clients throw it, xlwings.js L217-219, xlwings.ts L272-273).

Every answer is applied to a model of the workbook (:func:`apply`), which also checks what
each client needs of an action; "what forecourt run does" is forecourt run itself, on the same
workbook written as an .xlsx with openpyxl (:func:`forecourt_run`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
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
    office_scripts_payload,
    request_headers,
    serial,
    tabs_sent,
    vba_body,
    vba_payload,
)
from fastapi.testclient import TestClient

import forecourt
from forecourt.sync.base import column_letter

TOKEN = "s3cret"
AS_OF = dt.datetime(2026, 12, 7, 11, 0)  # a Monday, open 09:00-18:00 by default
D = dt.datetime

ALLOWED = {"setValues", "rangeClearContents", "setRangeColor", "setNumberFormat", "addSheet"}
# what xlwings' own server sends in every action (xlwings/pro/_xlremote.py append_json_action)
# and the clients read without checking
ACTION_KEYS = {"func", "args", "values", "sheet_position", "start_row", "start_column",
               "row_count", "column_count"}
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384

# the workbooks --------------------------------------------------------------------------------

# English: the leads' rows and columns the tests below name
ANNA, BEN, FORMULA_NAME, CARL_WON, DORA_LOST, EMIL, FAY = range(2, 9)
LEAD_ID, RECEIVED, NAME, PHONE, SOURCE, STATUS, OWNER, NEXT_ACTION, DUE, NOTES = "ABCDEFGHIJ"
DEALER_COLUMNS = (RECEIVED, NAME, PHONE, SOURCE, STATUS, NOTES)
OPEN_ROWS = (ANNA, BEN, FORMULA_NAME, EMIL, FAY)
CLOSED_ROWS = (CARL_WON, DORA_LOST)

ENGLISH = {
    "Leads": [
        ["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Owner", "Next action",
         "Due", "Notes"],
        # WhatsApp (chat, 5 business minutes): due 11:03, not overdue at 11:00
        [None, D(2026, 12, 7, 10, 58), "Anna Becker", "+49 171 5550101", "WhatsApp", "New",
         None, None, None, "Wants a Golf\nCall after 5 pm"],
        # WhatsApp: due 10:55, overdue at 11:00
        [None, D(2026, 12, 7, 10, 50), "Ben Kowalski", "+48 601 555 102", "WhatsApp", "New"],
        # a web form's name that is a formula; portal form: due 09:15, overdue
        [None, D(2026, 12, 7, 9, 0), '=HYPERLINK("http://x")', "+49 171 5550103", "mobile.de",
         "New"],
        ["L-0004", D(2026, 12, 4, 9, 0), "Carl Wagner", "+49 171 5550104", "Phone", "Won"],
        [None, D(2026, 12, 3, 10, 0), "Dora Lang", "+49 171 5550105", "Email", "Lost"],
        # a person's owner, next action and due: they stay
        ["L-0006", D(2026, 12, 7, 9, 30), "Emil Roth", "+49 171 5550106", "Walk-in",
         "Contacted", "Eva", "test drive Tuesday", D(2026, 12, 8, 10, 0)],
        # same phone as Anna (an Issues row quotes "+49..."), an unknown source that is a
        # formula (an Issues row quotes it), a note starting with "@"
        [None, D(2026, 12, 7, 8, 0), "Fay Ott", "+49 171 5550101", '=WEBSERVICE("http://evil")',
         "New", None, None, None, "@home after 6"],
    ],
    "Team": [["Name", "Active"], ["Tom", "yes"], ["Eva", "yes"]],
    # the dealer is in Berlin: a server that reads the clients' "...Z" as UTC moves every
    # date by an hour
    "Settings": [["Setting", "Value"], ["Time zone", "Europe/Berlin"]],
}

GERMAN = {
    "Anfragen": [
        ["Anfrage-Nr", "Eingang", "Name", "Telefon", "Quelle", "Status", "Verkäufer",
         "Nächster Schritt", "Fällig", "Notizen"],
        [None, D(2026, 12, 7, 10, 58), "Jürgen Weiß", "+49 171 5550101", "WhatsApp", "Neu",
         None, None, None, "Möchte einen Golf\nRückruf ab 17 Uhr"],
        [None, D(2026, 12, 7, 10, 50), "Zoë Kowalski", "+48 601 555 102", "WA", "Neu"],
        [None, D(2026, 12, 7, 9, 0), '=HYPERLINK("http://x")', "+49 171 5550103", "mobile.de",
         "Neu"],
        ["A-0004", D(2026, 12, 4, 9, 0), "Carl Wagner", "+49 171 5550104", "Telefon",
         "Verkauft"],
        [None, D(2026, 12, 3, 10, 0), "Dora Lang", "+49 171 5550105", "E-Mail", "Verloren"],
        ["A-0006", D(2026, 12, 7, 9, 30), "Emil Roth", "+49 171 5550106", "Laufkundschaft",
         "Kontaktiert", "Eva", "Probefahrt Dienstag", D(2026, 12, 8, 10, 0)],
    ],
    "Verkäufer": [["Name", "Aktiv"], ["Tom", "ja"], ["Eva", "ja"]],
    "Einstellungen": [["Setting", "Value"], ["Time zone", "Europe/Berlin"]],
}

# a title above the table and the table starting in column B: the clients still send from A1
OFFSET = {
    "Leads": [[None, "Leads, December 2026"], [], [None, *ENGLISH["Leads"][0]],
              *([None, *row] for row in ENGLISH["Leads"][1:5])],
    "Team": ENGLISH["Team"],
}

# a lead about a sold car: its next action names similar cars from the Stock tab
STOCK = {
    "Leads": [
        ["Lead ID", "Received", "Name", "Phone", "Source", "VIN", "Status", "Owner",
         "Next action", "Due"],
        [None, D(2026, 12, 7, 10, 40), "Hana Novak", "+49 171 5550107", "AutoScout24",
         "WVWZZZ1KZAW000001", "New"],
        [None, D(2026, 12, 7, 10, 45), "Ivo Maier", "+49 171 5550108", "WhatsApp",
         "WVWZZZ1KZAW000002", "New"],
    ],
    "Stock": [["VIN", "Make", "Model", "Year", "Body", "Price", "Status"],
              ["WVWZZZ1KZAW000001", "VW", "Golf", 2019, "Hatchback", 15900, "Sold"],
              ["WVWZZZ1KZAW000002", "VW", "Golf", 2020, "Hatchback", 17400, "On lot"],
              ["WVWZZZAUZKW000003", "VW", "Golf", 2018, "Hatchback", 13900, "On lot"]],
    "Team": ENGLISH["Team"],
    "Notes": [["Ideas"], ["ask Tom about the Golf"]],
    "Settings": ENGLISH["Settings"],
}

# a tab the server is not sent, between the leads and the team (Office Scripts fills it with
# the leads' values)
NOTES = {"Leads": ENGLISH["Leads"], "Notes": [["Ideas"], ["call the Golf owner back"]],
         "Team": ENGLISH["Team"], "Settings": ENGLISH["Settings"]}

# the dealer's own tab called KPI: forecourt writes its KPIs beside it
DEALER_KPI = {**ENGLISH, "KPI": [["Our targets"], ["Cars a month", 20]]}

# a 16-digit reference typed as text: VBA sends it as a JSON number (addin_payloads.vba_body)
PORTAL_REF = {**ENGLISH, "Leads": [
    [*ENGLISH["Leads"][0], "Portal ref"],
    [*ENGLISH["Leads"][1], "4711000012345678"],
    *ENGLISH["Leads"][2:],
]}

BOOKS: dict[str, Mapping[str, Sequence[Sequence[Any]]]] = {
    "english": ENGLISH, "german": GERMAN, "offset": OFFSET, "stock": STOCK, "notes": NOTES,
    "dealer_kpi": DEALER_KPI, "portal_ref": PORTAL_REF,
}
LEADS_TAB = {"english": "Leads", "german": "Anfragen", "offset": "Leads", "stock": "Leads",
             "notes": "Leads", "dealer_kpi": "Leads", "portal_ref": "Leads"}

CLIENTS: dict[str, Callable[..., dict[str, Any]]] = {
    "vba": vba_payload, "apps_script": apps_script_payload,
    "office_scripts": office_scripts_payload}
BOOK_NAMES = {"vba": "Leads.xlsm", "apps_script": "Leads", "office_scripts": "Leads.xlsx"}
_BOOK_NUMBERS = itertools.count(1)


def book_name(client: str) -> str:
    """A workbook name of its own: the payload names a workbook only by its name (Leads.xlsx),
    and a server that remembers what it wrote keeps that memory by name."""
    stem, dot, ext = BOOK_NAMES[client].partition(".")
    return f"{stem} {next(_BOOK_NUMBERS)}{dot}{ext}"


# cells ----------------------------------------------------------------------------------------

def a1(row: int, col: int) -> str:
    """0-based row and column -> "B3"."""
    return f"{column_letter(col)}{row + 1}"


def at(address: str) -> tuple[int, int]:
    """"B3" -> 0-based (row, column)."""
    found = re.fullmatch(r"([A-Z]+)(\d+)", address)
    assert found, address
    col = 0
    for ch in found.group(1):
        col = col * 26 + ord(ch) - 64
    return int(found.group(2)) - 1, col - 1


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


DATE_FORMAT = re.compile(r"[yd]", re.IGNORECASE)


# what a spreadsheet makes of text -------------------------------------------------------------

_NUMBER = re.compile(r"""[(]?[-+]?[$€£]?\s?(\d+|\d{1,3}([,.\s\u00a0]\d{3})+)([.,]\d+)?
                         (e[-+]?\d+)?\s?[%€$£]?[)]?""", re.IGNORECASE | re.VERBOSE)
_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}([-/.]\d{1,4})?(\s+\d{1,2}:\d{2}(:\d{2})?)?")
_TIME = re.compile(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s?[ap]\.?m\.?)?", re.IGNORECASE)
_CINT = re.compile(r"\s*[-+]?(&[hH][0-9a-fA-F]+|&[oO][0-7]+|(\d[\d,]*)?\.?\d+)\s*")


def vba_reads_as_a_date(text: str) -> bool:
    """Whether xlwings' VBA ``setValues`` turns this *text* into a date: it tries
    ``WebHelpers.ParseIso`` on every value it writes (Remote.bas L553-555), which only needs
    three dash-separated parts that ``CInt`` takes (WebHelpers.bas L2851-2894): a phone
    number "0171-555-12-34" becomes a day in the year 171."""
    parts = text.split("T")  # VBA.Split is case-sensitive
    day = parts[0].split("-")
    if len(day) < 3 or not all(_CINT.fullmatch(p) for p in day[:3]):
        return False
    if len(parts) == 1:
        return True
    clock = parts[1]
    if "Z" in clock:
        times = clock.replace("Z", "").split(":")
    else:
        k = clock.find("+")
        k = clock.find("-") if k < 0 else k
        if k >= 0:
            offset = clock[k + 1:].split(":")
            if not all(_CINT.fullmatch(p) for p in offset[:2]):
                return False
            clock = clock[:k]
        times = clock.split(":")
    if len(times) > 3:
        return True  # no Case matches: the day alone
    return all(_CINT.fullmatch(p) for p in times[:2])  # seconds go through Val: never fail


def reinterpreted(text: str) -> bool:
    """Whether a spreadsheet (or xlwings' VBA client) would store this text as something other
    than this text: a formula, a number, a date or time, a boolean."""
    if text[:1] in ("=", "+", "-", "@"):
        return True
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return True
    if any(p.fullmatch(stripped) for p in (_NUMBER, _DATE, _TIME)):
        return True
    return vba_reads_as_a_date(text)


# the workbook model ---------------------------------------------------------------------------

@dataclass
class Span:
    """One action's rectangle (0-based) on one tab."""

    tab: str
    func: str
    row: int
    col: int
    rows: int
    cols: int
    arg: Any = None

    def covers(self, row: int, col: int) -> bool:
        return self.row <= row < self.row + self.rows and self.col <= col < self.col + self.cols

    def columns(self) -> range:
        return range(self.col, self.col + self.cols)


@dataclass
class Tab:
    name: str
    cells: dict[tuple[int, int], Any]
    added: bool = False


@dataclass
class Result:
    """The workbook after a click: the tabs, and what the answer did to them."""

    tabs: list[Tab]
    actions: list[dict[str, Any]]
    spans: list[Span] = field(default_factory=list)
    writes: list[tuple[str, str, Any]] = field(default_factory=list)  # tab, cell, as sent
    added: list[str] = field(default_factory=list)

    def tab(self, name: str) -> Tab:
        found = [t for t in self.tabs if t.name == name]
        assert found, f"no tab {name!r}; the workbook has {[t.name for t in self.tabs]}"
        return found[0]

    def value(self, tab: str, address: str) -> Any:
        return self.tab(tab).cells.get(at(address))

    def value_at(self, tab: str, row: int, col: int) -> Any:
        return self.tab(tab).cells.get((row, col))

    def spans_on(self, tab: str, *funcs: str) -> list[Span]:
        return [s for s in self.spans if s.tab == tab and (not funcs or s.func in funcs)]

    def last(self, func: str, tab: str, address: str) -> Any:
        """The argument of the last ``func`` action covering the cell (a colour, a format)."""
        row, col = at(address)
        found = [s.arg for s in self.spans_on(tab, func) if s.covers(row, col)]
        return found[-1] if found else None

    def written(self, tab: str) -> set[str]:
        return {cell for t, cell, _ in self.writes if t == tab}

    def as_book(self) -> dict[str, list[list[Any]]]:
        """The workbook as the clients would read it again: numbers under a date format are
        dates (to the second), as Excel's Range.Value and Sheets' getValues() give them."""
        book: dict[str, list[list[Any]]] = {}
        for tab in self.tabs:
            if not tab.cells:
                book[tab.name] = []
                continue
            n_rows = max(r for r, _ in tab.cells) + 1
            n_cols = max(c for _, c in tab.cells) + 1
            rows: list[list[Any]] = [[None] * n_cols for _ in range(n_rows)]
            for (r, c), value in tab.cells.items():
                fmt = self.last("setNumberFormat", tab.name, a1(r, c))
                if is_number(value) and fmt and DATE_FORMAT.search(fmt):
                    moment = from_serial(value) + dt.timedelta(microseconds=500_000)
                    value = moment.replace(microsecond=0)
                rows[r][c] = value
            book[tab.name] = rows
        return book


def _cells(rows: Sequence[Sequence[Any]]) -> dict[tuple[int, int], Any]:
    return {(i, j): v for i, row in enumerate(rows) for j, v in enumerate(row)
            if v is not None and v != ""}


def _index(value: Any, what: str, where: str, low: int = 0) -> int:
    assert isinstance(value, int) and not isinstance(value, bool), \
        f"{where}: {what} must be an integer, not {value!r}"
    assert value >= low, f"{where}: {what} {value} is below {low}"
    return value


def _add_tab(tabs: list[Tab], new: Tab, position: int, client: str, active: int,
             where: str) -> int:
    """Put a new tab where ``client``'s addSheet puts it; the active tab's index after."""
    if client == VBA:
        # Remote.bas L585-592: `Set mysheet = wb.Sheets.Add` (before the active sheet, and
        # active now), then `mysheet.Move After:=Worksheets(args(1) + 1)`, counted after the add
        tabs.insert(active, new)
        assert position + 1 <= len(tabs), f"{where}: Worksheets({position + 1}) does not exist"
        anchor = tabs[position]
        if anchor is not new:
            tabs.remove(new)
            tabs.insert(tabs.index(anchor) + 1, new)
    elif client == APPS_SCRIPT:
        # xlwings.js L269-272: insertSheet(name, index)
        assert position <= len(tabs), f"{where}: insertSheet at {position} of {len(tabs)}"
        tabs.insert(position, new)
    else:
        # xlwings.ts L395-403: addWorksheet(name) (at the end), then setPosition(args[0])
        assert position <= len(tabs), f"{where}: setPosition({position}) of {len(tabs)}"
        tabs.insert(position, new)
    return tabs.index(new)


def apply(book: Mapping[str, Sequence[Sequence[Any]]], actions: list[Any], *,
          client: str = OFFICE_SCRIPTS, active: int = 0) -> Result:
    """Apply an answer's actions as ``client`` would (its active tab ``active``), checking what
    each of the three clients needs.

    - ``func`` is one of the five allowed (every client runs whatever it is named: VBA
      ``Application.Run action("func")``, Remote.bas L331; Apps Script ``funcs[action.func]``
      over the global scope, xlwings.js L232).
    - Every range has at least one row and column: VBA's GetRange (Remote.bas L371-378) turns
      a zero count into a range reaching *up* into the row above; Google and Office throw.
    - ``values`` is exactly row_count x column_count: VBA sizes its array from the first row
      (Remote.bas L548) and Excel fills a larger range with #N/A; Google and Office throw.
    - No ``null`` among the values: Office Scripts leaves a cell given null unchanged, VBA
      writes a Null variant, Google empties it: three different workbooks.
    - ``addSheet`` puts the new tab where that client puts it (:func:`_add_tab`); later
      ``sheet_position``s count the tabs in that order. Args are [position, a new name]:
      Office needs args[1] (``args[1] !== null`` is true for a missing one, then
      ``.toString()`` throws); a name the workbook has already is refused by all three.
    - Colours are "#RRGGBB" (VBA's HexToRgb, Remote.bas L411-419; Google's setBackground).
    - A string starting with ``'`` is stored without it: the spreadsheets take it as the
      quote prefix that keeps text text.
    """
    assert isinstance(actions, list), f"actions must be a list, not {type(actions).__name__}"
    result = Result(tabs=[Tab(name, _cells(rows)) for name, rows in book.items()],
                    actions=actions)
    for k, action in enumerate(actions):
        assert isinstance(action, dict), f"action {k} is not an object: {action!r}"
        where = f"action {k} ({action.get('func')!r})"
        missing = ACTION_KEYS - action.keys()
        assert not missing, f"{where}: missing {sorted(missing)}, which the clients read"
        func = action["func"]
        assert func in ALLOWED, f"{where}: only {sorted(ALLOWED)} may be sent"
        args = action["args"]
        if func == "addSheet":
            assert isinstance(args, list) and len(args) == 2, f"{where}: args {args!r}"
            position, name = args
            _index(position, "the new tab's position", where)
            assert isinstance(name, str) and 0 < len(name) <= 31, f"{where}: name {name!r}"
            assert not re.search(r"[\[\]:*?/\\]", name), f"{where}: Excel refuses {name!r}"
            assert not name.startswith("'") and not name.endswith("'"), \
                f"{where}: Excel refuses {name!r}"
            taken = {t.name.casefold() for t in result.tabs}
            assert name.casefold() not in taken, \
                f"{where}: the workbook already has a tab {name!r} (names ignore case)"
            active = _add_tab(result.tabs, Tab(name, {}, added=True), position, client, active,
                              where)
            result.added.append(name)
            continue
        position = _index(action["sheet_position"], "sheet_position", where)
        assert position < len(result.tabs), \
            f"{where}: sheet_position {position}, but the workbook has {len(result.tabs)} tabs"
        tab = result.tabs[position]
        span = Span(tab.name, func, _index(action["start_row"], "start_row", where),
                    _index(action["start_column"], "start_column", where),
                    _index(action["row_count"], "row_count", where, 1),
                    _index(action["column_count"], "column_count", where, 1))
        assert span.row + span.rows <= EXCEL_ROWS and span.col + span.cols <= EXCEL_COLUMNS, \
            f"{where}: past the end of a worksheet"
        if func == "setValues":
            values = action["values"]
            assert isinstance(values, list) and len(values) == span.rows and all(
                isinstance(row, list) and len(row) == span.cols for row in values), (
                f"{where}: values are not {span.rows} x {span.cols}: {values!r}"[:300])
            for i, row in enumerate(values):
                for j, value in enumerate(row):
                    assert value is not None, \
                        f"{where}: null at {a1(span.row + i, span.col + j)} (write \"\")"
                    assert isinstance(value, (str, int, float)), f"{where}: {value!r}"
                    assert not isinstance(value, float) or math.isfinite(value), where
                    cell = (span.row + i, span.col + j)
                    result.writes.append((tab.name, a1(*cell), value))
                    stored = value[1:] if isinstance(value, str) and value[:1] == "'" else value
                    if stored == "":
                        tab.cells.pop(cell, None)
                    else:
                        tab.cells[cell] = stored
        elif func == "rangeClearContents":
            for cell in [c for c in tab.cells if span.covers(*c)]:
                del tab.cells[cell]
        elif func == "setRangeColor":
            assert isinstance(args, list) and len(args) >= 1, f"{where}: args {args!r}"
            assert isinstance(args[0], str) and re.fullmatch(r"#[0-9A-Fa-f]{6}", args[0]), \
                f"{where}: colour {args[0]!r} is not #RRGGBB"
            span.arg = args[0].upper()
        elif func == "setNumberFormat":
            assert isinstance(args, list) and len(args) >= 1, f"{where}: args {args!r}"
            assert isinstance(args[0], str) and args[0].strip(), f"{where}: format {args!r}"
            span.arg = args[0]
        result.spans.append(span)
    return result


def same(got: Any, want: Any) -> bool:
    """Whether a cell after the click holds what forecourt run wrote there."""
    if want is None or want == "":
        return got is None or got == ""
    if isinstance(want, (dt.datetime, dt.date)):
        if not isinstance(want, dt.datetime):
            want = dt.datetime.combine(want, dt.time())
        if isinstance(got, dt.datetime):
            return abs(got - want) <= dt.timedelta(seconds=1)
        return is_number(got) and abs(from_serial(got) - want) <= dt.timedelta(seconds=1)
    if is_number(want):
        return is_number(got) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return got == want


def differences(result: Result, want: Mapping[str, list[list[Any]]], tab: str,
                rows: range, cols: range, want_tab: str | None = None) -> list[str]:
    expected = want[want_tab or tab]
    out = []
    for r in rows:
        for c in cols:
            w = expected[r][c] if r < len(expected) and c < len(expected[r]) else None
            got = result.value_at(tab, r, c)
            if not same(got, w):
                out.append(f"{tab}!{a1(r, c)}: {got!r}, forecourt run: {w!r}")
    return out


def extent(rows: Sequence[Sequence[Any]]) -> tuple[range, range]:
    return range(len(rows)), range(max((len(r) for r in rows), default=0))


# the server -----------------------------------------------------------------------------------

def make_app(**options: Any) -> Any:
    """The server under test (imported here, so that the model's own checks at the end of this
    module run without it)."""
    from forecourt.serve import create_app

    return create_app(TOKEN, as_of=AS_OF, **options)


@pytest.fixture(scope="module", autouse=True)
def private_state_folder(tmp_path_factory):
    """Whatever the server keeps between requests stays out of the user's own folders."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "LOCALAPPDATA", "APPDATA"):
            patch.setenv(name, str(home))
        yield


@pytest.fixture(scope="module")
def http():
    """A server for the tests that look at one answer (errors, /tabs, CORS)."""
    with TestClient(make_app()) as client:
        yield client


def fresh_server() -> TestClient:
    """A server of its own for each click: a server that remembers what it wrote (as forecourt
    run's memory does) must not carry one test's workbook into another's."""
    return TestClient(make_app())


def run_request(http: TestClient, payload: Mapping[str, Any], *, sent: str | None = None,
                auth: str | None = TOKEN):
    params = {"sent": sent} if sent is not None else None
    return http.post("/run", content=body(payload), headers=request_headers(payload, auth),
                     params=params)


def answer(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, f"{response.status_code}: {response.text[:1000]}"
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert isinstance(data, dict) and isinstance(data.get("actions"), list), str(data)[:500]
    return data["actions"]


def ask_tabs(http: TestClient, names: Sequence[str], book_name: str = "Leads.xlsx") -> str:
    response = http.post("/tabs", json={"book": book_name, "sheets": list(names)},
                         headers={"Authorization": TOKEN})
    assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
    include = response.json()["include"]
    assert isinstance(include, str), include
    return include


def click(client: str, book: Mapping[str, Sequence[Sequence[Any]]], *,
          http: TestClient | None = None, name: str | None = None, tabs_first: bool = False,
          include: str | None = None, sent: str | None = None, **options: Any) -> Result:
    """What one click on Run does: the client's payload, the answer applied to the book (on
    a server of its own unless ``http`` is given, for a workbook of a name of its own unless
    ``name`` is given). ``tabs_first``: ask /tabs first and send what it says, as forecourt's
    menus do."""
    if http is None:
        with fresh_server() as server:
            return click(client, book, http=server, name=name, tabs_first=tabs_first,
                         include=include, sent=sent, **options)
    name = name or book_name(client)
    if tabs_first:
        include = ask_tabs(http, list(book), name) or None
        sent = include
    payload = CLIENTS[client](name, book, include=include, **options)
    return apply_answer(book, payload, run_request(http, payload, sent=sent))


def apply_answer(book: Mapping[str, Sequence[Sequence[Any]]], payload: Mapping[str, Any],
                 response: Any) -> Result:
    """The answer to ``payload`` applied to ``book`` by the client that sent it."""
    return apply(book, answer(response), client=payload["client"],
                 active=payload["book"]["active_sheet_index"])


@pytest.fixture(scope="module")
def clicked():
    """One click per client and book, shared by the tests that only look at it."""
    done: dict[tuple[str, str], Result] = {}

    def get(client: str, key: str = "english") -> Result:
        if (client, key) not in done:
            done[(client, key)] = click(client, BOOKS[key])
        return done[(client, key)]

    return get


def write_xlsx(book: Mapping[str, Sequence[Sequence[Any]]], path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in book.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                if value is None or value == "":
                    continue
                cell = ws.cell(r, c, value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text, even '=HYPERLINK(...)'
                elif isinstance(value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
    wb.save(path)


@pytest.fixture(scope="module")
def forecourt_run(tmp_path_factory):
    """``forecourt run --as-of AS_OF`` on the book written as an .xlsx: its tabs' values."""
    done: dict[str, dict[str, list[list[Any]]]] = {}

    def get(key: str) -> dict[str, list[list[Any]]]:
        if key not in done:
            folder = tmp_path_factory.mktemp(f"forecourt-run-{key}")
            write_xlsx(BOOKS[key], folder / "book.xlsx")
            forecourt.run(folder / "book.xlsx", as_of=AS_OF, out=folder / "after.xlsx",
                          state=folder / "memory.sqlite")
            after = openpyxl.load_workbook(folder / "after.xlsx")
            done[key] = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)]
                         for ws in after}
        return done[key]

    return get


def generated_tabs(key: str, want: Mapping[str, Any]) -> list[str]:
    return [name for name in want if name not in BOOKS[key]]


def cell_writes(result: Result) -> set[tuple[str, str, Any]]:
    """What a click wrote where, floats to 6 decimals (a tenth of a second in a date)."""
    return {(tab, cell, round(v, 6) if isinstance(v, float) else v)
            for tab, cell, v in result.writes}


def assert_one_sentence(response) -> None:
    """The body is one plain sentence a dealer can read in a message box."""
    text = response.text.strip()
    assert text, f"{response.status_code} with an empty body"
    assert not text.startswith(("{", "[", '"')), f"JSON, not a sentence: {text!r}"
    assert "Traceback" not in text and 'File "' not in text, text
    assert "\n" not in text, f"more than one line: {text!r}"
    assert len(text) <= 400, f"{len(text)} characters: {text!r}"
    assert text[-1] in ".!?", f"not a sentence: {text!r}"
    assert not re.search(r"(?<!e\.g)(?<!i\.e)[.!?]\s+[A-Z]", text), f"two sentences: {text!r}"


client_names = pytest.mark.parametrize("client_name", list(CLIENTS))


# the dealer's tab after a click ---------------------------------------------------------------

@client_names
@pytest.mark.parametrize("key", ["english", "german", "offset", "stock"])
def test_the_dealers_tab_ends_as_forecourt_run_leaves_it(clicked, forecourt_run, client_name,
                                                          key):
    """Every cell of the dealer's own columns, filled or left alone, as forecourt run has it:
    lead ids, owners, next actions, dues (to the second) and everything else unchanged."""
    result, want, tab = clicked(client_name, key), forecourt_run(key), LEADS_TAB[key]
    rows, cols = extent(BOOKS[key][tab])
    assert differences(result, want, tab, rows, cols) == []


@client_names
def test_every_open_lead_gets_an_owner_a_next_action_and_a_due(clicked, client_name):
    result = clicked(client_name)
    for row in OPEN_ROWS:
        assert result.value("Leads", f"{OWNER}{row}") in ("Tom", "Eva"), row
        next_action = result.value("Leads", f"{NEXT_ACTION}{row}")
        assert isinstance(next_action, str) and next_action.strip(), row
        due = result.value("Leads", f"{DUE}{row}")  # Emil's is the person's own date
        assert is_number(due) or row == EMIL and isinstance(due, dt.datetime), (row, due)
    ids = [result.value("Leads", f"{LEAD_ID}{row}") for row in range(ANNA, FAY + 1)]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids), ids
    assert ids[CARL_WON - ANNA] == "L-0004" and ids[EMIL - ANNA] == "L-0006"


@client_names
def test_due_is_a_serial_number_formatted_with_date_and_time(clicked, client_name):
    """Anna's WhatsApp came in at 10:58 (sent as "2026-12-07T10:58:00.000Z", the dealer's
    wall-clock time, whatever the Z says): first reply due 11:03, as a number the spreadsheet
    shows as a date and a time."""
    result = clicked(client_name)
    for row, due in ((ANNA, D(2026, 12, 7, 11, 3)), (BEN, D(2026, 12, 7, 10, 55)),
                     (FORMULA_NAME, D(2026, 12, 7, 9, 15))):
        cell = f"{DUE}{row}"
        value = result.value("Leads", cell)
        assert is_number(value), f"{cell}: {value!r}"
        assert abs(from_serial(value) - due) < dt.timedelta(seconds=1), \
            f"{cell}: {from_serial(value)}, not {due}"
        fmt = result.last("setNumberFormat", "Leads", cell)
        assert fmt is not None, f"{cell} is written as a number with no date format on it"
        assert re.search("y", fmt, re.I) and re.search("d", fmt, re.I) \
            and re.search("h", fmt, re.I), f"{cell}: format {fmt!r} hides the date or time"


@client_names
def test_dates_written_anywhere_are_numbers_under_a_date_format(clicked, forecourt_run,
                                                                  client_name):
    """Every cell forecourt run holds as a date is written as a number with a date format."""
    result, want = clicked(client_name), forecourt_run("english")
    written = {(t, c): v for t, c, v in result.writes}
    for tab in ("Leads", *generated_tabs("english", want)):
        for r, row in enumerate(want[tab]):
            for c, value in enumerate(row):
                if isinstance(value, (dt.datetime, dt.date)) and (tab, a1(r, c)) in written:
                    cell = a1(r, c)
                    assert is_number(written[(tab, cell)]), f"{tab}!{cell}"
                    fmt = result.last("setNumberFormat", tab, cell)
                    assert fmt and DATE_FORMAT.search(fmt), f"{tab}!{cell}: format {fmt!r}"


@client_names
def test_closed_leads_get_no_owner(clicked, client_name):
    result = clicked(client_name)
    for row in CLOSED_ROWS:
        assert f"{OWNER}{row}" not in result.written("Leads"), f"owner written on row {row}"
        assert result.value("Leads", f"{OWNER}{row}") is None


@client_names
def test_a_persons_owner_next_action_and_due_stay(clicked, client_name):
    result = clicked(client_name)
    assert result.value("Leads", f"{OWNER}{EMIL}") == "Eva"
    assert result.value("Leads", f"{NEXT_ACTION}{EMIL}") == "test drive Tuesday"
    assert same(result.value("Leads", f"{DUE}{EMIL}"), D(2026, 12, 8, 10, 0))


@client_names
def test_the_dealers_columns_and_tabs_are_not_touched(clicked, client_name):
    """Received, Name, Phone, Source, Status and Notes keep their values and their formats (a
    note with a line break written back through VBA would come back with a CR: VBA-JSON reads
    "\\n" as vbCrLf, WebHelpers.bas L2464-2465); Team and Settings are not touched at all."""
    result = clicked(client_name)
    dealer = {at(f"{col}1")[1] for col in DEALER_COLUMNS}
    for span in result.spans_on("Leads", "setValues", "rangeClearContents", "setNumberFormat"):
        hit = dealer.intersection(span.columns())
        assert not hit, f"{span.func} on the dealer's column(s) " \
                        f"{sorted(column_letter(c) for c in hit)}: {span}"
    for tab in ("Team", "Settings"):
        assert result.spans_on(tab) == [], f"actions on {tab}: {result.spans_on(tab)}"


@client_names
def test_overdue_rows_are_coloured_and_no_other(clicked, client_name):
    """Ben (due 10:55) and the formula-named lead (due 09:15) are late at 11:00; Anna's due is
    11:03: a server that reads the clients' "10:58:00.000Z" as UTC and moves it to Berlin time
    gets that wrong either way round. A row that is not late may be painted white (the only way
    to take an old red away with these five actions), never red, and a closed lead nothing
    else."""
    result = clicked(client_name)
    overdue_colours = set()
    for row in (BEN, FORMULA_NAME):
        for col in (LEAD_ID, DUE):
            colour = result.last("setRangeColor", "Leads", f"{col}{row}")
            assert colour is not None, f"overdue row {row}: {col}{row} is not coloured"
            overdue_colours.add(colour)
    assert len(overdue_colours) == 1, overdue_colours
    for row in (ANNA, EMIL, FAY, *CLOSED_ROWS):
        for col in "ABCDEFGHIJ":
            colour = result.last("setRangeColor", "Leads", f"{col}{row}")
            assert colour not in overdue_colours, f"{col}{row} coloured as overdue"
            if row in CLOSED_ROWS:
                assert colour in (None, "#FFFFFF"), f"closed lead's {col}{row}: {colour}"


@client_names
def test_text_is_never_written_as_a_formula_number_or_date(clicked, client_name):
    """Every text value is sent so that every client stores it as that text: with a leading
    ``'`` when it starts with = + - @, looks like a number, a date, a time or a boolean, or
    would be taken for a date by VBA's setValues. The Issues sheet quotes the lead's
    '=WEBSERVICE(...)' source and its phone '+49...': both must arrive as text."""
    result = clicked(client_name)
    bad = [(tab, cell, v) for tab, cell, v in result.writes
           if isinstance(v, str) and not v.startswith("'") and reinterpreted(v)]
    assert bad == []
    texts = {v for t in result.tabs for v in t.cells.values() if isinstance(v, str)}
    assert '=WEBSERVICE("http://evil")' in texts
    assert result.value("Leads", f"{NAME}{FORMULA_NAME}") == '=HYPERLINK("http://x")'


@client_names
def test_kpi_issues_and_log_are_added_at_the_end_once(clicked, forecourt_run, client_name):
    result, want = clicked(client_name), forecourt_run("english")
    assert sorted(result.added) == sorted(generated_tabs("english", want))
    assert result.value("KPI", "A1") == want["KPI"][0][0]


@client_names
@pytest.mark.parametrize("active", [0, 1, 2], ids=["from-leads", "from-team", "from-settings"])
def test_new_tabs_come_after_the_dealers_tabs(client_name, active):
    """Whichever tab the dealer clicked Run from: their tabs keep their places, forecourt's go
    after them, in every client. (VBA's addSheet adds before the active sheet and then moves
    the new one after ``Worksheets(args[0] + 1)``, counted with the new sheet in: only
    ``args[0]`` = the number of tabs before the add puts it last, Remote.bas L585-592.)"""
    result = click(client_name, ENGLISH, active=active)
    assert [t.name for t in result.tabs] == [*ENGLISH, *result.added]
    assert result.tab("Settings").cells == _cells(ENGLISH["Settings"])


@client_names
@pytest.mark.parametrize("key", ["english", "german"])
def test_kpi_sheet_is_the_one_forecourt_run_writes(clicked, forecourt_run, client_name, key):
    result, want = clicked(client_name, key), forecourt_run(key)
    kpi = next(name for name in generated_tabs(key, want) if name.startswith("KPI"))
    rows, cols = extent(want[kpi])
    rows = range(max([len(rows), *(r + 1 for r, _ in result.tab(kpi).cells)]))
    assert differences(result, want, kpi, rows, cols) == []


@client_names
def test_issues_and_log_sheets_are_the_ones_forecourt_run_writes(clicked, forecourt_run,
                                                                 client_name):
    result, want = clicked(client_name), forecourt_run("english")
    for tab in ("Issues", "Log"):
        rows, cols = extent(want[tab])
        assert differences(result, want, tab, rows, cols) == [], tab


@pytest.mark.parametrize("key", ["english", "german"])
def test_every_client_gets_the_same_cell_writes(clicked, key):
    """The same workbook clicked from Excel, Google Sheets and Excel on the web, and from Excel
    on the web with its dates in a custom format (sent as serial numbers, xlwings.ts
    L201-208), writes the same values into the same cells."""
    writes = {name: cell_writes(clicked(name, key)) for name in CLIENTS}
    writes["office_scripts, dates in a custom format"] = cell_writes(
        click("office_scripts", BOOKS[key], date_cells=frozenset()))
    first = writes["vba"]
    for name, other in writes.items():
        assert other == first, (name, sorted(other ^ first, key=repr)[:20])


@client_names
def test_everything_stays_inside_the_workbook(clicked, client_name):
    """Only the five allowed actions, each on a tab that exists when it runs, its values the
    size of its range (:func:`apply` checks each action; this test makes it visible)."""
    result = clicked(client_name)
    assert {a["func"] for a in result.actions} <= ALLOWED
    assert result.spans, "the answer does nothing"


def test_vba_reads_every_number_back_as_a_number():
    """VBA-JSON keeps a number of 16 characters or more (17 with a decimal point) as a
    *string* (WebHelpers.bas L2512-2514): ``46363.46041666667``, the serial of 11:03, would
    reach Excel as text that Range.Value may or may not convert, by the PC's locale. Serials
    rounded to ten decimals (a microsecond) are short enough."""

    class Raw(float):
        text = ""

    def raw(text: str) -> Raw:
        number = Raw(text)
        number.text = text
        return number

    with fresh_server() as http:
        response = run_request(http, vba_payload(book_name("vba"), ENGLISH))
    assert response.status_code == 200, response.text[:500]
    data = json.loads(response.text, parse_float=raw, parse_int=raw)
    too_long = [n.text for action in data["actions"] if action["func"] == "setValues"
                for row in action["values"] for n in row
                if isinstance(n, Raw) and len(n.text) >= (17 if "." in n.text else 16)]
    assert too_long == []


# the tabs the client sends ------------------------------------------------------------------

@pytest.mark.parametrize(("names", "needed"), [
    (["Leads", "Stock", "Team", "Settings", "Notes", "Pivot 2026"],
     ["Leads", "Stock", "Team", "Settings"]),
    (["Anfragen", "Bestand", "Verkäufer", "Einstellungen", "Notizen"],
     ["Anfragen", "Bestand", "Verkäufer", "Einstellungen"]),
    (["Zapytania", "Magazyn", "Zespół", "Ustawienia"],
     ["Zapytania", "Magazyn", "Zespół", "Ustawienia"]),
    (["LEADS", "team", "Settings"], ["LEADS", "team", "Settings"]),
    # tabs found by content: the server cannot know which to ask for
    (["Sheet1", "Sheet2", "Sheet3"], ["Sheet1", "Sheet2", "Sheet3"]),
    # the clients trim the include list's items and split it on commas (tabs_sent)
    (["Leads ", "Team", "Settings"], ["Leads ", "Team", "Settings"]),
    (["Leads, 2026", "Team", "Settings"], ["Leads, 2026", "Team", "Settings"]),
], ids=["english", "german", "polish", "spelling", "by-content", "trailing-space", "comma"])
def test_tabs_asks_for_every_tab_the_run_needs(http, names, needed):
    """What the clients make of /tabs' ``include`` (split on commas, items trimmed, names
    compared exactly) sends every tab forecourt reads, spelt as the workbook spells it."""
    include = ask_tabs(http, names)
    sent = tabs_sent(names, include)
    assert [n for n in needed if n not in sent] == [], f"include={include!r} sends {sent}"
    if include:
        unknown = [i for i in (s.strip() for s in include.split(",")) if i not in names]
        assert unknown == [], f"include names tabs the workbook lacks: {unknown}"


@client_names
def test_tabs_then_run_does_what_forecourt_run_does(forecourt_run, client_name):
    """As forecourt's menus do: /tabs, then runPython with its include and ?sent=. The lead
    about the sold Golf gets the similar cars from the Stock tab in its next action."""
    result = click(client_name, STOCK, tabs_first=True)
    want = forecourt_run("stock")
    rows, cols = extent(STOCK["Leads"])
    assert differences(result, want, "Leads", rows, cols) == []
    assert "similar" in str(result.value("Leads", "I2"))


@client_names
def test_a_tab_the_client_did_not_send_is_left_alone(forecourt_run, client_name):
    """Sent with include=Leads,Team,Settings: VBA and Apps Script send Notes as [[]], Office
    Scripts sends it with the *Leads* values (xlwings.ts L152: ``values`` is not reset).
    With ?sent= naming the others, Notes is neither written nor counted as a second leads
    tab."""
    include = "Leads,Team,Settings"
    payload = CLIENTS[client_name](book_name(client_name), NOTES, include=include)
    notes = next(s["values"] for s in payload["sheets"] if s["name"] == "Notes")
    if client_name == "office_scripts":
        leads = next(s["values"] for s in payload["sheets"] if s["name"] == "Leads")
        assert notes == leads  # the quirk, as the client really sends it
    else:
        assert notes == [[]]
    with fresh_server() as http:
        result = apply_answer(NOTES, payload, run_request(http, payload, sent=include))
    assert result.spans_on("Notes") == []
    assert result.tab("Notes").cells == _cells(NOTES["Notes"])
    want = forecourt_run("notes")
    rows, cols = extent(NOTES["Leads"])
    assert differences(result, want, "Leads", rows, cols) == []
    kpi_rows, kpi_cols = extent(want["KPI"])
    assert differences(result, want, "KPI", kpi_rows, kpi_cols) == []


@client_names
def test_the_dealers_own_kpi_tab_is_left_alone(forecourt_run, client_name):
    """A dealer's tab called KPI stays theirs; forecourt's KPIs go where forecourt run puts
    them (``KPI (forecourt)``), also when /tabs did not ask for the dealer's KPI tab."""
    result = click(client_name, DEALER_KPI, tabs_first=True)
    assert result.spans_on("KPI") == []
    assert result.tab("KPI").cells == _cells(DEALER_KPI["KPI"])
    want = forecourt_run("dealer_kpi")
    ours = [name for name in generated_tabs("dealer_kpi", want) if name.startswith("KPI")]
    assert ours and ours[0] in result.added
    rows, cols = extent(want[ours[0]])
    assert differences(result, want, ours[0], rows, cols) == []


@client_names
def test_a_second_click_changes_no_lead_and_adds_no_tab(client_name):
    """Clicking Run again at the same moment: owners are not reshuffled, dues not moved, no
    second KPI/Issues/Log tab (Excel and Google refuse a second tab of the same name), also
    when /tabs leaves the generated tabs out and the client sends them as [[]] or, from
    Office Scripts, with another tab's values."""
    name = book_name(client_name)
    with fresh_server() as http:  # one server, one workbook, two clicks
        book = click(client_name, ENGLISH, http=http, name=name, tabs_first=True).as_book()
        second = click(client_name, book, http=http, name=name, tabs_first=True)
    assert second.added == []
    rows, cols = extent(book["Leads"])
    assert differences(second, book, "Leads", rows, cols) == []
    kpi_rows, kpi_cols = extent(book["KPI"])
    assert differences(second, book, "KPI", kpi_rows, kpi_cols) == []


@pytest.mark.parametrize("client_name", ["vba", "office_scripts"])
def test_formatted_empty_rows_below_the_leads_are_not_leads(clicked, client_name):
    """A Leads tab formatted down to row 500 (borders, a date format on Received) makes VBA and
    Office Scripts send 492 empty rows (their used range counts formatting): no lead ids,
    owners or colours for them, and the same workbook as without."""
    plain = clicked(client_name)
    result = click(client_name, ENGLISH, formatted_to={"Leads": (500, 10)})
    last = len(ENGLISH["Leads"]) - 1  # 0-based
    filled = [(cell, v) for tab, cell, v in result.writes
              if tab == "Leads" and at(cell)[0] > last and v != ""]
    assert filled == []
    coloured = [s for s in result.spans_on("Leads", "setRangeColor") if s.row + s.rows - 1 > last]
    assert coloured == []
    assert {t.name: t.cells for t in result.tabs} == {t.name: t.cells for t in plain.tabs}


@pytest.fixture
def server_in_new_york(monkeypatch, clicked):
    clicked("vba")  # the answer in this machine's own zone, first
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_servers_own_time_zone_does_not_move_the_dealers_dates(clicked,
                                                                    server_in_new_york):
    """The clients' dates are the workbook's wall-clock times; the server's zone is not the
    dealer's. A server in New York gives the same answer."""
    result = click("vba", ENGLISH)
    assert cell_writes(result) == cell_writes(clicked("vba"))


def test_a_long_digit_reference_from_vba_does_not_break_the_run(forecourt_run):
    """A 16-digit reference typed as text reaches the server as a JSON number (VBA-JSON writes
    such text unquoted, WebHelpers.bas L2108-2109): the run goes on, the cell is not
    written back (as a number it would lose its last digit in Excel)."""
    payload = vba_payload(book_name("vba"), PORTAL_REF)
    assert b",4711000012345678]" in vba_body(payload)
    with fresh_server() as http:
        result = apply_answer(PORTAL_REF, payload, run_request(http, payload))
    assert "K2" not in result.written("Leads")
    rows, cols = extent(PORTAL_REF["Leads"])
    assert differences(result, forecourt_run("portal_ref"), "Leads", rows, cols) == []


# errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("auth", "statuses"), [
    (None, {401}), ("wrong", {401, 403}), ("Bearer wrong", {401, 403}), ("s3cret2", {401, 403}),
    ("", {401})], ids=["missing", "wrong", "wrong-bearer", "longer", "empty"])
def test_a_request_without_the_token_is_refused_in_one_sentence(http, auth, statuses):
    payload = vba_payload(book_name("vba"), ENGLISH)
    headers = request_headers(payload, None)
    if auth is not None:
        headers["Authorization"] = auth
    response = http.post("/run", content=body(payload), headers=headers)
    assert response.status_code in statuses
    assert_one_sentence(response)


@pytest.mark.parametrize("auth", ["s3cret", "Bearer s3cret"])
def test_the_token_alone_or_as_bearer_is_accepted(http, auth):
    response = run_request(http, apps_script_payload(book_name("apps_script"), ENGLISH), auth=auth)
    assert response.status_code == 200, response.text[:300]


def _limited(max_bytes: int) -> TestClient:
    return TestClient(make_app(max_bytes=max_bytes))


def _chunks(data: bytes, size: int = 1000):
    for k in range(0, len(data), size):
        yield data[k:k + size]


@pytest.mark.parametrize("how", ["honest", "lying-content-length", "chunked"])
def test_a_body_over_max_bytes_is_413_whatever_content_length_says(how):
    payload = vba_payload(book_name("vba"), ENGLISH)
    raw = body(payload)
    headers = request_headers(payload, TOKEN)
    content: Any = raw
    if how == "lying-content-length":
        headers["Content-Length"] = "100"
    elif how == "chunked":
        content = _chunks(raw)
    with _limited(len(raw) - 1) as http:
        response = http.post("/run", content=content, headers=headers)
    assert response.status_code == 413
    assert_one_sentence(response)


def test_a_body_of_exactly_max_bytes_is_accepted():
    payload = vba_payload(book_name("vba"), ENGLISH)
    raw = body(payload)
    with _limited(len(raw)) as http:
        response = http.post("/run", content=raw, headers=request_headers(payload, TOKEN))
    assert response.status_code == 200, response.text[:300]


def _spill_body() -> bytes:
    book = {**ENGLISH, "Leads": [*ENGLISH["Leads"][:2],
                                 [*ENGLISH["Leads"][2][:6], None, None, None,
                                  XlError("#SPILL!")]]}
    return vba_body(vba_payload(book_name("vba"), book))


def _leading_zero_body() -> bytes:
    book = {**ENGLISH, "Leads": [*ENGLISH["Leads"][:2],
                                 [*ENGLISH["Leads"][2][:3], "00491711234567890"]]}
    return vba_body(vba_payload(book_name("vba"), book))


@pytest.mark.parametrize("raw", [
    b'{"client": "VBA", "sheets": [', b"", b"not json", _spill_body(), _leading_zero_body(),
], ids=["truncated", "empty", "text", "vba-spill-error", "vba-leading-zero-digits"])
def test_malformed_json_is_400_in_one_sentence(http, raw):
    """Truncated or garbled bodies, and the invalid JSON VBA itself writes for a #SPILL! cell
    (``[..,,..]``) or for a text cell of 16+ digits with a leading zero (written unquoted)."""
    response = http.post("/run", content=raw, headers={"Authorization": TOKEN,
                                                       "Content-Type": "application/json"})
    assert response.status_code == 400
    assert_one_sentence(response)


@pytest.mark.parametrize("payload", [
    {}, [], {"client": "VBA", "sheets": "Leads"}, {"client": "VBA", "sheets": [{"name": "Leads"}]},
    {"client": "VBA", "sheets": [{"name": "Leads", "values": "A1"}]},
], ids=["empty-object", "list", "sheets-not-a-list", "no-values", "values-not-a-matrix"])
def test_a_payload_of_the_wrong_shape_is_refused_in_one_sentence(http, payload):
    response = http.post("/run", json=payload, headers={"Authorization": TOKEN})
    assert 400 <= response.status_code < 500
    assert_one_sentence(response)


@client_names
@pytest.mark.parametrize("book", [
    {"Stock": STOCK["Stock"], "Team": ENGLISH["Team"]},
    {"Stock": [], "Team": ENGLISH["Team"], "Leads": ENGLISH["Leads"]},
], ids=["no-leads-tab", "leads-tab-not-sent"])
def test_no_leads_tab_tells_the_dealer_what_to_do(http, client_name, book):
    """In one sentence that names the tab to add or send."""
    include = "Stock,Team" if "Leads" in book else None
    payload = CLIENTS[client_name](book_name(client_name), book, include=include)
    response = run_request(http, payload, sent=include)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert_one_sentence(response)
    assert "lead" in response.text.lower(), response.text


# CORS (Office Scripts' fetch runs in the browser) ----------------------------------------------

def _preflight(http: TestClient, path: str, origin: str):
    return http.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})


@pytest.mark.parametrize("path", ["/run", "/tabs"])
def test_office_scripts_preflight_is_granted(http, path):
    response = _preflight(http, path, OFFICE_SCRIPTS_ORIGIN)
    assert response.status_code in (200, 204), response.text
    assert response.headers.get("access-control-allow-origin") == OFFICE_SCRIPTS_ORIGIN
    methods = {m.strip().upper() for m in
               response.headers.get("access-control-allow-methods", "").split(",")}
    assert "POST" in methods or "*" in methods, methods
    # "*" does not cover Authorization (Fetch standard): it must be named
    allowed = {h.strip().lower() for h in
               response.headers.get("access-control-allow-headers", "").split(",")}
    assert {"authorization", "content-type"} <= allowed, allowed


@pytest.mark.parametrize("origin", [
    "https://evil.example", "https://abc.officescripts.microsoftusercontent.com.evil.example",
    "null"])
def test_other_origins_are_not_granted(http, origin):
    response = _preflight(http, "/run", origin)
    assert response.headers.get("access-control-allow-origin") not in (origin, "*")


def test_answers_and_errors_carry_the_cors_header():
    """fetch() hides any answer without the header: the Office Scripts user would see "Failed
    to fetch" instead of the server's sentence."""
    payload = office_scripts_payload(book_name("office_scripts"), ENGLISH)
    raw = body(payload)
    with _limited(len(raw)) as http:
        ok = http.post("/run", content=raw, headers=request_headers(payload, TOKEN))
        refused = http.post("/run", content=raw, headers=request_headers(payload, None))
        garbled = http.post("/run", content=b"{", headers=request_headers(payload, TOKEN))
    with _limited(len(raw) - 1) as http:
        too_big = http.post("/run", content=raw, headers=request_headers(payload, TOKEN))
    for response, status in ((ok, 200), (refused, 401), (garbled, 400), (too_big, 413)):
        assert response.status_code == status
        assert response.headers.get("access-control-allow-origin") == OFFICE_SCRIPTS_ORIGIN, \
            status


# the model itself ------------------------------------------------------------------------------

def test_reinterpreted_knows_what_spreadsheets_do_to_text():
    for text in ("=1+1", "+491715550101", "-5", "@home", "12", "1.5", "1,234.50", "50%",
                 "2026-12-07", "07.12.2026", "12/7", "10:58", "TRUE", "0171-555-12-34",
                 "2026-12-07T10:58:00.000Z"):
        assert reinterpreted(text), text
    for text in ("first reply", "L-6VUO3GW", "Anna Becker", "Müller-Lüdenscheidt",
                 "0171 5550101", "Window: 2026-11-07 11:00 – 2026-12-07 11:00",
                 "ZVW30-1234567", "D2", "no “First response” column", "'=1+1"):
        assert not reinterpreted(text), text


def test_apply_turns_serial_numbers_back_into_dates():
    actions = [
        {"func": "setValues", "args": [], "values": [[serial(D(2026, 12, 7, 11, 3)), "'+49"]],
         "sheet_position": 0, "start_row": 1, "start_column": 0, "row_count": 1,
         "column_count": 2},
        {"func": "setNumberFormat", "args": ["yyyy-mm-dd hh:mm"], "values": None,
         "sheet_position": 0, "start_row": 1, "start_column": 0, "row_count": 1,
         "column_count": 1},
        {"func": "addSheet", "args": [1, "KPI"], "values": None, "sheet_position": None,
         "start_row": None, "start_column": None, "row_count": None, "column_count": None},
    ]
    result = apply({"S": [["Due", "Phone"]]}, actions)
    assert result.as_book() == {"S": [["Due", "Phone"], [D(2026, 12, 7, 11, 3), "+49"]],
                                "KPI": []}
    assert result.writes == [("S", "A2", serial(D(2026, 12, 7, 11, 3))), ("S", "B2", "'+49")]


@pytest.mark.parametrize("active", [0, 1, 2])
def test_apply_puts_vbas_new_tab_where_remote_bas_does(active):
    """Sheets.Add before the active sheet, then Move After Worksheets(args[0] + 1) counted
    with the new sheet in: the number of tabs puts it last, one less puts it before the last
    (whichever tab was active)."""
    def add(position: int) -> list[str]:
        action = {"func": "addSheet", "args": [position, "KPI"], "values": None,
                  "sheet_position": None, "start_row": None, "start_column": None,
                  "row_count": None, "column_count": None}
        book = {"Leads": [], "Team": [], "Settings": []}
        return [t.name for t in apply(book, [action], client=VBA, active=active).tabs]

    assert add(3) == ["Leads", "Team", "Settings", "KPI"]
    assert add(2) == ["Leads", "Team", "KPI", "Settings"]
