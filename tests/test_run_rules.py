"""`forecourt run` applies DOMAIN.md's rules to a real workbook, seen through the CLI.

Every test builds a small .xlsx with openpyxl, runs ``python -m forecourt run`` on it and
re-opens the RESULT with openpyxl. Expected due times are worked out by hand from DOMAIN.md's
opening hours (Mon-Fri 09:00-18:00, Sat 09:00-14:00, Sun closed, plus the Settings holidays);
the library is never asked. The calendar used throughout:

    Tue 2026-11-17 · Wed 18 · Thu 19 · Fri 20 · Sat 21 · Sun 22 · Mon 23 (AS_OF 10:00) · Tue 24
    · Wed 25 · ... · Fri 2026-12-18

Rules covered: the SLA table row by row (also in German and Polish books, and across a
holiday), routing (inactive people, days off, caps, fair rotation, fallback, the Log sheet),
"a person's entry always wins", losing the memory file, overdue / due soon / stalled with the
live conditional formats, and the ``--json`` summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl import Workbook
from preserve_books import Run, run_forecourt, state_path
from workbooks import run_check

from forecourt.settings import Settings, settings_rows

AS_OF = "2026-11-23 10:00"  # Monday
d = dt.datetime

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def write_book(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """One sheet per entry, rows as given (None / "" = empty cell); the first sheet first."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                if value is not None and value != "":
                    ws.cell(row=r, column=c, value=value)
    wb.save(path)
    return path


def settings_sheet(settings: Settings) -> list[list[Any]]:
    return [[None if v == "" else v for v in row] for row in settings_rows(settings)]


def headers(ws, row: int = 1) -> dict[str, str]:
    """Header text -> column letter of one header row."""
    return {str(c.value): c.column_letter for c in ws[row] if c.value not in (None, "")}


def column_of(ws, *names: str, row: int = 1) -> str:
    found = headers(ws, row)
    for name in names:
        if name in found:
            return found[name]
    raise AssertionError(f"none of the headers {names} in row {row}: {sorted(found)}")


def ok(run: Run) -> Run:
    return run.ok()


def due_cell(ws, letter: str, row: int, where: str):
    """The Due cell, asserted to be a real date-time cell with a date number format."""
    cell = ws[f"{letter}{row}"]
    assert isinstance(cell.value, dt.datetime), (
        f"{where}: Due {letter}{row} is {cell.value!r} ({type(cell.value).__name__}), "
        "not a datetime cell")
    assert cell.is_date, f"{where}: Due {letter}{row} has number format {cell.number_format!r}"
    fmt = cell.number_format.lower()
    assert any(t in fmt for t in ("yy", "dd", "d.", "m/d", "d/m", "mmm")), \
        f"{where}: Due {letter}{row} number format {cell.number_format!r} is not a date format"
    return cell


def cf_formulas(ws) -> list[tuple[str, str]]:
    """(range, formula) of every conditional-format rule on a sheet."""
    return sorted((str(cf.sqref), f) for cf in ws.conditional_formatting for rule in cf.rules
                  for f in rule.formula or ())


def minute(value: Any) -> Any:
    return value.replace(second=0, microsecond=0) if isinstance(value, dt.datetime) else value


def sheet_values(ws) -> list[tuple[Any, ...]]:
    return [tuple(minute(v) for v in row) for row in ws.iter_rows(values_only=True)]


# ---------------------------------------------------------------------------------------------
# 1. Exact due times, one lead row per SLA row of DOMAIN.md
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    received: dt.datetime
    source: str
    status: str
    due: dt.datetime | None
    action: str | None
    last_contact: dt.datetime | None = None
    appointment: dt.datetime | None = None
    trade_in: str | None = None
    valuation: float | None = None


SLA_HEADERS = ["Received", "Name", "Phone", "Source", "Status", "Last contact", "Appointment",
               "Trade-in", "Valuation"]

# How each expected due was worked out is in the comment above the case.
SLA_CASES = (
    # New, chat 5 min: Sat 13:58-14:00 = 2 min, Sun closed, Mon 09:00 + 3 min.
    Case("new-chat-saturday", d(2026, 11, 21, 13, 58), "WhatsApp", "New",
         d(2026, 11, 23, 9, 3), "first reply"),
    # New, missed call 10 min: Fri 17:55-18:00 = 5 min, Sat 09:00 + 5 min.
    Case("new-missed-call-friday-evening", d(2026, 11, 20, 17, 55), "Missed call", "New",
         d(2026, 11, 21, 9, 5), "call back"),
    # New, portal form 15 min: Sunday closed, Mon 09:00 + 15 min.
    Case("new-form-sunday", d(2026, 11, 22, 11, 0), "mobile.de", "New",
         d(2026, 11, 23, 9, 15), "first reply"),
    # New, e-mail 60 min: Wed 17:30-18:00 = 30 min, Thu 09:00 + 30 min.
    Case("new-email-wednesday-evening", d(2026, 11, 18, 17, 30), "Email", "New",
         d(2026, 11, 19, 9, 30), "first reply"),
    # New, walk-in 8 h: Fri 15:00-18:00 = 3 h, Sat 09:00-14:00 = 5 h: ends at Saturday closing.
    Case("new-walk-in", d(2026, 11, 20, 15, 0), "Walk-in", "New",
         d(2026, 11, 21, 14, 0), "follow up after visit"),
    # New, other 8 h: Sat 12:00-14:00 = 2 h, Mon 09:00 + 6 h.
    Case("new-other", d(2026, 11, 21, 12, 0), "Referral", "New",
         d(2026, 11, 23, 15, 0), "first reply"),
    # Trade-in 60 min: Fri 17:30-18:00 = 30 min, Sat 09:30. Walk-in 8 h would be Mon 11:30.
    Case("trade-in-earlier-than-status", d(2026, 11, 20, 17, 30), "Walk-in", "New",
         d(2026, 11, 21, 9, 30), "book valuation", trade_in="Yes"),
    # Same lead with a valuation: the walk-in rule, 0.5 h Fri + 5 h Sat + 2.5 h Mon.
    Case("trade-in-valued", d(2026, 11, 20, 17, 30), "Walk-in", "New",
         d(2026, 11, 23, 11, 30), "follow up after visit", trade_in="Yes", valuation=4500),
    # Chat 5 min (Mon 09:03) beats the trade-in's 60 min (2 min Sat + 58 min Mon = Mon 09:58).
    Case("trade-in-later-than-status", d(2026, 11, 21, 13, 58), "WhatsApp", "New",
         d(2026, 11, 23, 9, 3), "first reply", trade_in="Yes"),
    # Attempting contact, 4 h after last contact Fri 16:00: 2 h Fri, Sat 09:00 + 2 h.
    Case("attempting-contact", d(2026, 11, 20, 10, 0), "Phone", "Attempting contact",
         d(2026, 11, 21, 11, 0), "next attempt", last_contact=d(2026, 11, 20, 16, 0)),
    # Contacted, 8 h after last contact Sat 12:30: 1.5 h Sat, Mon 09:00 + 6.5 h.
    Case("contacted", d(2026, 11, 21, 10, 0), "Email", "Contacted",
         d(2026, 11, 23, 15, 30), "follow up", last_contact=d(2026, 11, 21, 12, 30)),
    # Appointment set: 24 calendar hours before Mon 11:00 = Sunday 11:00 (closed, but calendar).
    Case("appointment-set", d(2026, 11, 19, 10, 0), "AutoScout24", "Appointment set",
         d(2026, 11, 22, 11, 0), "confirm appointment", last_contact=d(2026, 11, 20, 10, 0),
         appointment=d(2026, 11, 23, 11, 0)),
    # Appointment set: 24 h before Sat 10:00 = Fri 10:00, before the booking call (Fri 14:00).
    Case("appointment-set-not-before-last-contact", d(2026, 11, 19, 9, 0), "Phone",
         "Appointment set", d(2026, 11, 20, 14, 0), "confirm appointment",
         last_contact=d(2026, 11, 20, 14, 0), appointment=d(2026, 11, 21, 10, 0)),
    # Appointment confirmed: at the appointment.
    Case("appointment-confirmed", d(2026, 11, 20, 9, 0), "WhatsApp", "Appointment confirmed",
         d(2026, 11, 24, 16, 30), "meet the customer", last_contact=d(2026, 11, 23, 9, 30),
         appointment=d(2026, 11, 24, 16, 30)),
    # Shown, 8 h after the appointment Sat 11:00: 3 h Sat, Mon 09:00 + 5 h.
    Case("shown", d(2026, 11, 18, 10, 0), "Phone", "Shown",
         d(2026, 11, 23, 14, 0), "follow up after visit", last_contact=d(2026, 11, 19, 10, 0),
         appointment=d(2026, 11, 21, 11, 0)),
    # No show, 2 h after the appointment Fri 17:00: 1 h Fri, Sat 09:00 + 1 h.
    Case("no-show", d(2026, 11, 18, 11, 0), "Email", "No show",
         d(2026, 11, 21, 10, 0), "recovery call", last_contact=d(2026, 11, 18, 12, 0),
         appointment=d(2026, 11, 20, 17, 0)),
    # Offer sent, 8 h after last contact Thu 12:00: 6 h Thu, Fri 09:00 + 2 h.
    Case("offer-sent", d(2026, 11, 17, 10, 0), "Website", "Offer sent",
         d(2026, 11, 20, 11, 0), "follow up on offer", last_contact=d(2026, 11, 19, 12, 0)),
    # Deposit taken, 16 h after last contact Fri 12:00: 6 h Fri, 5 h Sat, Mon 09:00 + 5 h.
    Case("deposit-taken", d(2026, 11, 17, 11, 0), "Phone", "Deposit taken",
         d(2026, 11, 23, 14, 0), "paperwork and handover", last_contact=d(2026, 11, 20, 12, 0)),
    # Won, 30 calendar days after Wed 18 Nov 15:20 = Fri 18 Dec 15:20.
    Case("won", d(2026, 11, 16, 10, 0), "Walk-in", "Won",
         d(2026, 12, 18, 15, 20), "retention check-in", last_contact=d(2026, 11, 18, 15, 20)),
    # Lost: nothing to do.
    Case("lost", d(2026, 11, 16, 11, 0), "Email", "Lost", None, None,
         last_contact=d(2026, 11, 17, 10, 0)),
)
SLA_ROW = {case.id: row for row, case in enumerate(SLA_CASES, start=2)}


def build_sla_book(folder: Path) -> Path:
    rows: list[list[Any]] = [SLA_HEADERS]
    for k, c in enumerate(SLA_CASES):
        rows.append([c.received, f"Buyer {k:02d} ({c.id})", f"+44 7700 9001{k:02d}", c.source,
                     c.status, c.last_contact, c.appointment, c.trade_in, c.valuation])
    folder.mkdir(parents=True, exist_ok=True)
    return write_book(folder / "sla.xlsx", {"Leads": rows})


@pytest.fixture(scope="module")
def sla_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sla")
    book = build_sla_book(folder)
    run = ok(run_forecourt(book, "--json"))
    return book, run


@pytest.mark.parametrize("case", SLA_CASES, ids=[c.id for c in SLA_CASES])
def test_due_time_and_next_action_per_sla_row(sla_result, case):
    book, _run = sla_result
    ws = openpyxl.load_workbook(book)["Leads"]
    due_col, action_col = column_of(ws, "Due"), column_of(ws, "Next action")
    row = SLA_ROW[case.id]
    action = ws[f"{action_col}{row}"].value
    if case.due is None:
        assert ws[f"{due_col}{row}"].value is None, f"{case.id}: a Lost lead got a due"
        assert action in (None, ""), f"{case.id}: a Lost lead got a next action {action!r}"
        return
    cell = due_cell(ws, due_col, row, case.id)
    assert minute(cell.value) == case.due, (
        f"{case.id} (row {row}, received {case.received:%a %Y-%m-%d %H:%M}): due "
        f"{cell.value:%a %Y-%m-%d %H:%M}, expected {case.due:%a %Y-%m-%d %H:%M}")
    assert action == case.action, f"{case.id}: next action {action!r}, expected {case.action!r}"


def test_dealer_columns_stay_and_ours_are_added_at_the_right(sla_result):
    book, run = sla_result
    ws = openpyxl.load_workbook(book)["Leads"]
    header_row = [c.value for c in ws[1]]
    assert header_row[:len(SLA_HEADERS)] == SLA_HEADERS
    added = header_row[len(SLA_HEADERS):]
    for name in ("Lead ID", "Owner", "Next action", "Due", "Status since", "State"):
        assert name in added, f"{name!r} not added to the right: {header_row}"
    assert run.data["leads"] == len(SLA_CASES)


def test_due_times_do_not_depend_on_as_of(tmp_path, sla_result):
    """The same book run with a "now" a week later gets the same due times and actions."""
    first, _run = sla_result
    book = build_sla_book(tmp_path / "later")
    ok(run_forecourt(book, "--json", as_of="2026-11-30 16:45"))
    a, b = openpyxl.load_workbook(first)["Leads"], openpyxl.load_workbook(book)["Leads"]
    for col in ("Due", "Next action"):
        ca, cb = column_of(a, col), column_of(b, col)
        for row in SLA_ROW.values():
            assert minute(a[f"{ca}{row}"].value) == minute(b[f"{cb}{row}"].value), (
                f"{col} of row {row} depends on --as-of: {a[f'{ca}{row}'].value!r} vs "
                f"{b[f'{cb}{row}'].value!r}")


HOLIDAY = dt.date(2026, 11, 24)  # Tuesday
HOLIDAY_CASES = (
    # e-mail 60 min: Mon 17:30-18:00 = 30 min, Tue holiday, Wed 09:00 + 30 min.
    ("email", d(2026, 11, 23, 17, 30), "Email", "New", None, d(2026, 11, 25, 9, 30),
     "first reply"),
    # chat 5 min: Mon 17:58-18:00 = 2 min, Tue holiday, Wed 09:00 + 3 min.
    ("chat", d(2026, 11, 23, 17, 58), "WhatsApp", "New", None, d(2026, 11, 25, 9, 3),
     "first reply"),
    # Contacted 8 h after Mon 16:00: 2 h Mon, Tue holiday, Wed 09:00 + 6 h.
    ("contacted", d(2026, 11, 23, 15, 0), "Phone", "Contacted", d(2026, 11, 23, 16, 0),
     d(2026, 11, 25, 15, 0), "follow up"),
)


def test_due_times_skip_a_holiday_from_the_settings_tab(tmp_path):
    rows: list[list[Any]] = [["Received", "Name", "Phone", "Source", "Status", "Last contact"]]
    for k, (_id, received, source, status, last, _due, _action) in enumerate(HOLIDAY_CASES):
        rows.append([received, f"Holiday buyer {k}", f"+44 7700 9002{k:02d}", source, status,
                     last])
    book = write_book(tmp_path / "holiday.xlsx", {
        "Leads": rows,
        "Settings": settings_sheet(Settings(holidays=(HOLIDAY,))),
    })
    ok(run_forecourt(book, as_of="2026-11-25 08:00"))
    ws = openpyxl.load_workbook(book)["Leads"]
    due_col, action_col = column_of(ws, "Due"), column_of(ws, "Next action")
    for row, (case_id, received, *_rest, due, action) in enumerate(HOLIDAY_CASES, start=2):
        cell = due_cell(ws, due_col, row, case_id)
        assert minute(cell.value) == due, (
            f"{case_id} received {received:%a %H:%M} across the holiday {HOLIDAY}: due "
            f"{cell.value:%a %Y-%m-%d %H:%M}, expected {due:%a %Y-%m-%d %H:%M}")
        assert ws[f"{action_col}{row}"].value == action


def test_german_book_gets_german_actions_and_headers(tmp_path):
    book = write_book(tmp_path / "autohaus.xlsx", {"Anfragen": [
        ["Eingang", "Kunde", "Telefon", "Quelle", "Status"],
        [d(2026, 11, 21, 13, 58), "Lukas Becker", "+49 151 23456789", "WhatsApp", "Neu"],
        [d(2026, 11, 20, 17, 55), "Sabine Koch", "+49 160 91234567", "Verpasster Anruf", "Neu"],
        [d(2026, 11, 16, 11, 0), "Petra Hoffmann", "+49 152 34567890", "E-Mail", "Verloren"],
    ]})
    ok(run_forecourt(book))
    ws = openpyxl.load_workbook(book)["Anfragen"]
    header_row = [c.value for c in ws[1]]
    assert header_row[:5] == ["Eingang", "Kunde", "Telefon", "Quelle", "Status"]
    for name in ("Verkäufer", "Nächster Schritt", "Fällig"):
        assert name in header_row[5:], f"German header {name!r} not added: {header_row}"
    due_col, action_col = column_of(ws, "Fällig"), column_of(ws, "Nächster Schritt")
    assert ws[f"{action_col}2"].value == "erste Antwort"
    assert minute(due_cell(ws, due_col, 2, "WhatsApp Sa 13:58").value) == d(2026, 11, 23, 9, 3)
    assert ws[f"{action_col}3"].value == "zurückrufen"
    assert minute(due_cell(ws, due_col, 3, "Anruf Fr 17:55").value) == d(2026, 11, 21, 9, 5)
    assert ws[f"{action_col}4"].value in (None, "")
    assert ws[f"{due_col}4"].value is None


def test_polish_book_gets_polish_actions_and_headers_and_reads_them_back(tmp_path):
    book = write_book(tmp_path / "komis.xlsx", {"Zapytania": [
        ["Data zgłoszenia", "Imię i nazwisko", "Telefon", "Źródło", "Status"],
        [d(2026, 11, 21, 13, 58), "Piotr Kowalski", "+48 600 123 456", "WhatsApp", "Nowy"],
    ]})
    ok(run_forecourt(book))
    wb = openpyxl.load_workbook(book)
    ws = wb["Zapytania"]
    header_row = [c.value for c in ws[1]]
    for name in ("Opiekun", "Następny krok", "Termin"):
        assert name in header_row[5:], f"Polish header {name!r} not added: {header_row}"
    due_col, action_col = column_of(ws, "Termin"), column_of(ws, "Następny krok")
    assert ws[f"{action_col}2"].value == "pierwsza odpowiedź"
    assert minute(due_cell(ws, due_col, 2, "WhatsApp sob. 13:58").value) == d(2026, 11, 23, 9, 3)
    first, rules = sheet_values(ws), cf_formulas(ws)
    assert rules, "no highlighting rules on the Polish leads sheet"

    # "Termin" is the due date in Polish (an appointment in German): the second run must read
    # its own column back as the due, add nothing and change nothing.
    again = ok(run_forecourt(book, "--json"))
    ws2 = openpyxl.load_workbook(book)["Zapytania"]
    assert sheet_values(ws2) == first, "the second run with the same --as-of changed the sheet"
    assert again.data["columns_added"] == [], again.detail()
    assert cf_formulas(ws2) == rules, "the highlighting rules changed or piled up"


# ---------------------------------------------------------------------------------------------
# 2. Routing
# ---------------------------------------------------------------------------------------------

TEAM = [
    ["Name", "Active", "Days", "Stores", "Cap"],
    ["Max", "Yes", "Mon-Fri", "Main", None],   # weekdays only
    ["Ivy", "No", None, "Main", None],         # inactive (would work every day)
    ["Carl", "Yes", "Mon-Sat", "Main", 3],     # capped at 3 open leads
    ["Tess", "Yes", "Tue-Sat", "Main", None],  # off on Mondays (and Sundays)
]
ROUTING_LEADS = [
    ["Received", "Name", "Phone", "Source", "Status", "Store", "Owner"],
    # 2: Carl's own open lead (typed by a person): counts towards his cap.
    [d(2026, 11, 18, 10, 0), "Ann Abbot", "+44 7700 900301", "Phone", "Contacted", "Main",
     "Carl"],
    # 3: Carl's won lead: closed, does not count.
    [d(2026, 11, 17, 10, 0), "Bob Bell", "+44 7700 900302", "Phone", "Won", "Main", "Carl"],
    # 4: a Saturday lead a person gave to Max (who does not work Saturdays): stays Max's.
    [d(2026, 11, 21, 9, 30), "Cat Cole", "+44 7700 900303", "WhatsApp", "New", "Main", "Max"],
    # 5: Friday: Max, Carl and Tess are eligible, nobody assigned yet -> Team order: Max.
    [d(2026, 11, 20, 12, 0), "Dan Dale", "+44 7700 900304", "Email", "New", "Main", None],
    # 6-10: Saturday: Carl and Tess only. 6 Carl (tie, Team order), 7 Tess (rotation),
    # 8 Carl (rotation; now 3 open = cap), 9 and 10 Tess (Carl at cap).
    [d(2026, 11, 21, 10, 0), "Eve Ellis", "+44 7700 900305", "WhatsApp", "New", "Main", None],
    [d(2026, 11, 21, 10, 5), "Fay Ford", "+44 7700 900306", "mobile.de", "New", "Main", None],
    [d(2026, 11, 21, 10, 10), "Gus Gray", "+44 7700 900307", "Email", "New", "Main", None],
    [d(2026, 11, 21, 10, 15), "Hal Hart", "+44 7700 900308", "WhatsApp", "New", "Main", None],
    [d(2026, 11, 21, 10, 20), "Ida Inch", "+44 7700 900309", "Phone", "New", "Main", None],
    # 11: Sunday: nobody works -> the Settings fallback owner (Tess, not first on the Team tab).
    [d(2026, 11, 22, 11, 0), "Jon Jay", "+44 7700 900310", "Email", "New", "Main", None],
    # 12: a lost lead without owner: closed leads are not assigned.
    [d(2026, 11, 21, 11, 0), "Kim Kerr", "+44 7700 900311", "Email", "Lost", "Main", None],
]
EXPECTED_OWNERS = {2: "Carl", 3: "Carl", 4: "Max", 5: "Max", 6: "Carl", 7: "Tess", 8: "Carl",
                   9: "Tess", 10: "Tess", 11: "Tess", 12: None}
SATURDAY_ROWS = (6, 7, 8, 9, 10)
ASSIGNED_ROWS = (5, 6, 7, 8, 9, 10, 11)
FALLBACK_ROW = 11


@pytest.fixture(scope="module")
def routing_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("routing")
    book = write_book(folder / "routing.xlsx", {
        "Leads": ROUTING_LEADS,
        "Team": TEAM,
        "Settings": settings_sheet(Settings(fallback_owner="Tess")),
    })
    run = ok(run_forecourt(book, "--json"))
    return book, run, openpyxl.load_workbook(book)


def test_routing_owners(routing_result):
    _book, run, wb = routing_result
    ws = wb["Leads"]
    owner_col = column_of(ws, "Owner")
    owners = {row: ws[f"{owner_col}{row}"].value for row in EXPECTED_OWNERS}
    assert owners == EXPECTED_OWNERS
    assert run.data["assigned"] == len(ASSIGNED_ROWS)


def test_routing_never_gives_saturday_leads_to_weekday_or_inactive_people(routing_result):
    _book, _run, wb = routing_result
    ws = wb["Leads"]
    owner_col = column_of(ws, "Owner")
    for row in SATURDAY_ROWS:
        assert ws[f"{owner_col}{row}"].value not in ("Max", "Ivy"), f"row {row}"
    assert all(ws[f"{owner_col}{r}"].value != "Ivy" for r in EXPECTED_OWNERS), "inactive Ivy"


def test_routing_cap_holds_and_rotation_spreads(routing_result):
    _book, _run, wb = routing_result
    ws = wb["Leads"]
    owner_col, status_col = column_of(ws, "Owner"), column_of(ws, "Status")
    open_by = {}
    for row in range(2, ws.max_row + 1):
        if ws[f"{status_col}{row}"].value not in ("Won", "Lost", None):
            owner = ws[f"{owner_col}{row}"].value
            open_by[owner] = open_by.get(owner, 0) + 1
    assert open_by.get("Carl", 0) <= 3, f"Carl's cap of 3 open leads broken: {open_by}"
    saturday = [ws[f"{owner_col}{r}"].value for r in SATURDAY_ROWS]
    # Fair rotation alternates while both can take leads.
    assert saturday[:3] == ["Carl", "Tess", "Carl"], saturday


def test_typed_owner_never_changed(routing_result):
    _book, _run, wb = routing_result
    ws = wb["Leads"]
    owner_col = column_of(ws, "Owner")
    assert ws[f"{owner_col}4"].value == "Max"
    assert ws[f"{owner_col}2"].value == "Carl"


def _log_entries(wb) -> dict[int, dict[str, Any]]:
    log = wb["Log"]
    header_at = next(r for r in range(1, 10) if log.cell(r, 1).value
                     and str(log.cell(r, 3).value or "").lower() == "owner")
    keys = [str(c.value).lower() if c.value else "" for c in log[header_at]]
    out = {}
    for values in log.iter_rows(min_row=header_at + 1, values_only=True):
        if values[0] is None:
            continue
        entry = dict(zip(keys, values, strict=False))
        out[int(entry["row"])] = entry
    return out


def test_log_sheet_explains_assignments_and_skips(routing_result):
    _book, _run, wb = routing_result
    assert "Log" in wb.sheetnames
    entries = _log_entries(wb)
    assert sorted(entries) == list(ASSIGNED_ROWS), f"Log rows {sorted(entries)}"
    ws = wb["Leads"]
    id_col = column_of(ws, "Lead ID")
    for row, entry in entries.items():
        assert entry["owner"] == EXPECTED_OWNERS[row], entry
        assert entry["lead id"] == ws[f"{id_col}{row}"].value, entry
        assert isinstance(entry["why"], str) and entry["why"].strip(), f"no reason: {entry}"
    for row in SATURDAY_ROWS:
        skipped = str(entries[row].get("skipped") or "")
        assert "Max" in skipped and "Saturday" in skipped, f"row {row}: {skipped!r}"
        assert "Ivy" in skipped and "inactive" in skipped, f"row {row}: {skipped!r}"
    for row in (9, 10):
        skipped = str(entries[row].get("skipped") or "")
        assert "Carl" in skipped and "cap" in skipped, f"row {row}: {skipped!r}"
    fallback = entries[FALLBACK_ROW]
    assert str(fallback["fallback"]).lower() == "yes", fallback
    text = " ".join(str(v) for v in fallback.values())
    assert "Sunday" in text and "fallback" in text.lower(), fallback


def test_nobody_eligible_gives_fallback_owner_and_an_issue(routing_result):
    _book, run, wb = routing_result
    ws = wb["Leads"]
    owner_col = column_of(ws, "Owner")
    assert ws[f"{owner_col}{FALLBACK_ROW}"].value == "Tess"
    found = [i for i in run.data["issues"] if i["code"] == "no-eligible-owner"]
    assert [i["row"] for i in found] == [FALLBACK_ROW], run.data["issues"]
    issues = wb["Issues"]
    rows = [[c for c in r] for r in issues.iter_rows(values_only=True)]
    hits = [(n, r) for n, r in enumerate(rows, start=1) if "no-eligible-owner" in r]
    assert len(hits) == 1, rows
    at, values = hits[0]
    cell = f"{owner_col}{FALLBACK_ROW}"
    assert cell in values, f"the Issues row does not name the cell {cell}: {values}"
    links = [c.hyperlink.location for c in issues[at] if c.hyperlink is not None]
    assert any(link and link.replace("'", "").endswith(f"Leads!{cell}") for link in links), \
        f"the Issues row does not link to Leads!{cell}: {links}"


def test_fallback_owner_defaults_to_the_first_person_on_the_team_tab(tmp_path):
    book = write_book(tmp_path / "no-settings.xlsx", {"Leads": ROUTING_LEADS, "Team": TEAM})
    run = ok(run_forecourt(book, "--json"))
    ws = openpyxl.load_workbook(book)["Leads"]
    assert ws[f"{column_of(ws, 'Owner')}{FALLBACK_ROW}"].value == "Max"
    assert [i["row"] for i in run.data["issues"] if i["code"] == "no-eligible-owner"] == \
        [FALLBACK_ROW]


# ---------------------------------------------------------------------------------------------
# 3. A person's entry always wins
# ---------------------------------------------------------------------------------------------


def test_a_persons_entry_always_wins(tmp_path):
    book = write_book(tmp_path / "entries.xlsx", {
        "Leads": [
            ["Received", "Name", "Phone", "Source", "Status", "Last contact"],
            [d(2026, 11, 23, 9, 30), "Nina Oak", "+44 7700 900401", "WhatsApp", "New"],
            [d(2026, 11, 23, 9, 0), "Owen Pike", "+44 7700 900402", "Email", "New"],
            [d(2026, 11, 23, 9, 10), "Pia Quay", "+44 7700 900403", "mobile.de", "New"],
        ],
        "Team": [["Name", "Active"], ["Alex", "Yes"]],
    })
    ok(run_forecourt(book))
    wb = openpyxl.load_workbook(book)
    ws = wb["Leads"]
    action, due = column_of(ws, "Next action"), column_of(ws, "Due")
    status, last = column_of(ws, "Status"), column_of(ws, "Last contact")
    since = column_of(ws, "Status since")
    # First run: chat 09:30 + 5 min, e-mail 09:00 + 60 min, form 09:10 + 15 min.
    assert (ws[f"{action}2"].value, minute(ws[f"{due}2"].value)) == \
        ("first reply", d(2026, 11, 23, 9, 35))
    assert (ws[f"{action}3"].value, minute(ws[f"{due}3"].value)) == \
        ("first reply", d(2026, 11, 23, 10, 0))
    assert (ws[f"{action}4"].value, minute(ws[f"{due}4"].value)) == \
        ("first reply", d(2026, 11, 23, 9, 25))
    since_before = minute(ws[f"{since}4"].value)
    rules = cf_formulas(ws)

    # People at work: their own next action, their own due, and a lead moved on.
    ws[f"{action}2"] = "ring after lunch"
    ws[f"{due}3"] = d(2026, 11, 24, 12, 0)
    ws[f"{status}4"] = "Contacted"
    ws[f"{last}4"] = d(2026, 11, 23, 11, 0)
    wb.save(book)

    ok(run_forecourt(book, as_of="2026-11-23 12:00"))
    ws = openpyxl.load_workbook(book)["Leads"]
    assert ws[f"{action}2"].value == "ring after lunch", "a person's next action was replaced"
    assert minute(ws[f"{due}3"].value) == d(2026, 11, 24, 12, 0), "a person's due was replaced"
    assert ws[f"{action}3"].value == "first reply"
    # Contacted: 8 business hours after Mon 11:00 = 7 h Mon + Tue 09:00 + 1 h.
    assert ws[f"{action}4"].value == "follow up"
    assert minute(due_cell(ws, due, 4, "moved to Contacted").value) == d(2026, 11, 24, 10, 0)
    since_after = minute(ws[f"{since}4"].value)
    assert since_after != since_before, "Status since did not change with the status"
    assert d(2026, 11, 23, 11, 0) <= since_after <= d(2026, 11, 23, 12, 0), since_after
    assert cf_formulas(ws) == rules, "the highlighting rules changed or piled up"


# ---------------------------------------------------------------------------------------------
# 4. Memory: losing the SQLite file loses history only
# ---------------------------------------------------------------------------------------------


def test_losing_the_memory_file_loses_no_cell(tmp_path):
    book = write_book(tmp_path / "memory.xlsx", {
        "Leads": [
            ["Received", "Name", "Phone", "Source", "Status", "Last contact"],
            [d(2026, 11, 23, 9, 30), "Quinn Reed", "+44 7700 900501", "WhatsApp", "New"],
            [d(2026, 11, 21, 11, 0), "Rita Shaw", "+44 7700 900502", "Email", "Contacted",
             d(2026, 11, 21, 12, 0)],
            [d(2026, 11, 20, 15, 0), "Sid Tate", "+44 7700 900503", "Phone",
             "Attempting contact", d(2026, 11, 20, 16, 0)],
            [d(2026, 11, 16, 10, 0), "Tina Usher", "+44 7700 900504", "Walk-in", "Won",
             d(2026, 11, 18, 15, 20)],
            [d(2026, 11, 22, 10, 0), "Uma Vane", "+44 7700 900505", "mobile.de", "New"],
        ],
        "Team": [["Name", "Active"], ["Alex", "Yes"], ["Sam", "Yes"]],
    })
    first = ok(run_forecourt(book, "--json"))
    assert first.data["assigned"] == 4
    before = sheet_values(openpyxl.load_workbook(book)["Leads"])
    memory = state_path(book)
    assert memory.exists(), "no memory file beside the workbook"
    memory.unlink()

    second = ok(run_forecourt(book, "--json"))
    after = sheet_values(openpyxl.load_workbook(book)["Leads"])
    assert second.data["assigned"] == 0, "leads were assigned a second time"
    for r, (old, new) in enumerate(zip(before, after, strict=True), start=1):
        assert old == new, f"row {r} changed after the memory was lost:\n{old}\n{new}"
    assert len(after) == len(before)


# ---------------------------------------------------------------------------------------------
# 5 and 6. Overdue, due soon, stalled; live highlighting; the --json summary
# ---------------------------------------------------------------------------------------------

BOARD_HEADERS = ["Received", "Name", "Phone", "Source", "Status", "Last contact", "Due",
                 "Owner"]
# (received, source, status, last contact, typed due, typed owner, expected state words)
BOARD = [
    # 2: chat 09:30 -> due 09:35 < 10:00: overdue.
    (d(2026, 11, 23, 9, 30), "WhatsApp", "New", None, None, None, {"overdue"}),
    # 3: chat 09:58 -> due 10:03, within one business hour: due soon.
    (d(2026, 11, 23, 9, 58), "WhatsApp", "New", None, None, None, {"due soon"}),
    # 4: other 09:50 -> due 17:50: nothing yet.
    (d(2026, 11, 23, 9, 50), "Referral", "New", None, None, None, set()),
    # 5: New since Friday (> 1 day) with a person's due on Wednesday: stalled only.
    (d(2026, 11, 20, 9, 0), "Referral", "New", None, d(2026, 11, 25, 12, 0), None,
     {"stalled"}),
    # 6: New since Friday, chat due Fri 09:05: overdue and stalled.
    (d(2026, 11, 20, 9, 0), "WhatsApp", "New", None, None, None, {"overdue", "stalled"}),
    # 7: Won; its check-in was due 31 Oct (30 days after 1 Oct): never overdue.
    (d(2026, 9, 28, 10, 0), "Walk-in", "Won", d(2026, 10, 1, 10, 0), None, "Alex", set()),
    # 8: Lost with a typed due in the past: never overdue.
    (d(2026, 11, 20, 10, 0), "Email", "Lost", None, d(2026, 11, 20, 12, 0), None, set()),
    # 9: Contacted this morning 09:00 -> due 17:00; a person's owner.
    (d(2026, 11, 23, 8, 30), "Phone", "Contacted", d(2026, 11, 23, 9, 0), None, "Alex", set()),
    # 10: a source nobody knows (warning unknown-source), treated as "other": 08:00 counts
    # from opening, 09:00 + 8 h = 17:00.
    (d(2026, 11, 23, 8, 0), "Carrier pigeon", "New", None, None, None, set()),
]
BOARD_STOCK = [
    ["VIN", "Make", "Model", "Price", "Status"],
    ["WVWZZZ1KZ8W000001", "Volkswagen", "Golf", 12900, "On lot"],
    ["WVWZZZ3CZ9E000002", "Volkswagen", "Passat", 15900, "On lot"],
    ["TMBJJ7NE0L0000003", "Skoda", "Octavia", 14500, "Sold"],
]
CHANNEL = {"WhatsApp": "chat", "Referral": "other", "Walk-in": "walk-in", "Email": "email",
           "Phone": "phone"}


def build_board(folder: Path) -> Path:
    rows: list[list[Any]] = [BOARD_HEADERS]
    for k, (received, source, status, last, due, owner, _state) in enumerate(BOARD):
        rows.append([received, f"Board buyer {k}", f"+44 7700 9006{k:02d}", source, status,
                     last, due, owner])
    return write_book(folder / "board.xlsx", {
        "Leads": rows, "Stock": BOARD_STOCK, "Team": [["Name", "Active"], ["Alex", "Yes"]],
    })


@pytest.fixture(scope="module")
def board_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("board")
    book = build_board(folder)
    check = run_check(book)
    run = ok(run_forecourt(book, "--json"))
    return book, run, check, openpyxl.load_workbook(book)


def _state_words(value: Any) -> set[str]:
    return {w.strip() for w in str(value or "").split(",") if w.strip()}


def test_state_column_overdue_due_soon_stalled(board_result):
    _book, _run, _check, wb = board_result
    ws = wb["Leads"]
    state = column_of(ws, "State")
    for row, case in enumerate(BOARD, start=2):
        got = _state_words(ws[f"{state}{row}"].value)
        assert got == case[-1], f"row {row} ({case[1]}, {case[2]}): state {got}, " \
                                f"expected {case[-1]}"


def test_won_and_lost_are_never_overdue(board_result):
    _book, _run, _check, wb = board_result
    ws = wb["Leads"]
    state, due = column_of(ws, "State"), column_of(ws, "Due")
    assert minute(ws[f"{due}7"].value) == d(2026, 10, 31, 10, 0)  # the Won check-in, past
    assert minute(ws[f"{due}8"].value) == d(2026, 11, 20, 12, 0)  # the person's due, kept
    for row in (7, 8):
        assert "overdue" not in _state_words(ws[f"{state}{row}"].value), f"row {row}"


def test_due_soon_counts_business_hours(tmp_path):
    """Saturday 13:59: one business hour reaches Monday 09:59, so a chat due Monday 09:03 is
    due soon (43 calendar hours away); a lead due Monday 15:00 is not."""
    book = write_book(tmp_path / "saturday.xlsx", {"Leads": [
        ["Received", "Name", "Phone", "Source", "Status"],
        [d(2026, 11, 21, 13, 58), "Vic Wren", "+44 7700 900701", "WhatsApp", "New"],
        [d(2026, 11, 21, 12, 0), "Walt Yale", "+44 7700 900702", "Referral", "New"],
    ]})
    run = ok(run_forecourt(book, "--json", as_of="2026-11-21 13:59"))
    ws = openpyxl.load_workbook(book)["Leads"]
    state, due = column_of(ws, "State"), column_of(ws, "Due")
    assert minute(ws[f"{due}2"].value) == d(2026, 11, 23, 9, 3)
    assert minute(ws[f"{due}3"].value) == d(2026, 11, 23, 15, 0)
    assert _state_words(ws[f"{state}2"].value) == {"due soon"}
    assert _state_words(ws[f"{state}3"].value) == set()
    assert (run.data["due_soon"], run.data["overdue"]) == (1, 0)


def test_live_highlighting_rules_reference_due_and_status(board_result):
    _book, _run, _check, wb = board_result
    ws = wb["Leads"]
    due, status = column_of(ws, "Due"), column_of(ws, "Status")
    formulas = []
    for cf in ws.conditional_formatting:
        covers_leads = any(r.min_row <= 2 and r.max_row >= len(BOARD) + 1 for r in cf.sqref.ranges)
        for rule in cf.rules:
            for f in rule.formula or ():
                formulas.append((covers_leads, f))
    assert formulas, "no conditional-format rules on the leads sheet"
    on_due = [f for cover, f in formulas if cover and f"{due}2" in f.replace("$", "")
              and "NOW()" in f.upper()]
    assert on_due, f"no rule compares the Due column {due} with NOW(): {formulas}"
    assert any(f"{status}2" in f.replace("$", "") for f in on_due), \
        f"the overdue rules ignore the Status column {status}: {on_due}"
    assert any("<NOW()" in f.replace(" ", "").upper() for f in on_due), on_due


def test_json_summary_matches_the_book(board_result):
    _book, run, check, _wb = board_result
    data = run.data
    for key in ("leads", "stock", "open", "overdue", "due_soon", "stalled", "assigned",
                "issues", "kpi"):
        assert key in data, f"--json lacks {key!r}: {sorted(data)}"
    assert "overall" in data["kpi"] and "by_source" in data["kpi"], sorted(data["kpi"])
    open_cases = [c for c in BOARD if c[2] not in ("Won", "Lost")]
    assert data["leads"] == len(BOARD)
    assert data["stock"] == len(BOARD_STOCK) - 1
    assert data["open"] == len(open_cases)
    assert data["overdue"] == sum("overdue" in c[-1] for c in BOARD)
    assert data["due_soon"] == sum("due soon" in c[-1] for c in BOARD)
    assert data["stalled"] == sum("stalled" in c[-1] for c in BOARD)
    assert data["assigned"] == sum(c[5] is None for c in open_cases)
    # Issues as `check --json` reports them (the run adds its own, e.g. no-eligible-owner).
    assert isinstance(data["issues"], list)
    seen = {(i["code"], i.get("sheet"), i.get("row"), i.get("column")) for i in data["issues"]}
    for issue in check.data["issues"]:
        key = (issue["code"], issue.get("sheet"), issue.get("row"), issue.get("column"))
        assert key in seen, f"check reports {issue} but run --json does not"
    assert any(i["code"] == "unknown-source" and i["row"] == len(BOARD) + 1 for i in data["issues"])
    # KPIs over the 30 days before now: every lead but the Won one received in September.
    window = [c for c in BOARD if c[0] > d(2026, 10, 24, 10, 0)]
    overall = data["kpi"]["overall"]
    assert overall["leads"] == len(window)
    by_source = data["kpi"]["by_source"]
    expected: dict[str, int] = {}
    for c in window:
        ch = CHANNEL.get(c[1], "other")
        expected[ch] = expected.get(ch, 0) + 1
    got = {k: v["leads"] for k, v in by_source.items() if v["leads"]}
    assert got.get("chat") == expected["chat"], by_source
    assert got.get("email") == expected["email"] and got.get("phone") == expected["phone"]
    assert sum(got.values()) == len(window), by_source
    # Won lead outside the window; no win inside it.
    assert overall["win_rate"] in (0, 0.0), overall



def test_a_row_copied_with_its_lead_id_is_assigned_and_reported(tmp_path):
    """Dealers copy rows, Lead ID and all: both copies get an owner, the run does not fail,
    and the repeated id is reported."""
    leads = [["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Store", "Owner"]]
    leads += [["L-COPY" if k in (0, 2) else None, d(2026, 11, 20, 12, k), f"Buyer {k}",
               f"+44 7700 90040{k}", "Email", "New", "Main", None] for k in range(4)]
    book = write_book(tmp_path / "copied.xlsx", {"Leads": leads, "Team": TEAM})
    run = ok(run_forecourt(book, "--json"))
    assert run.data["assigned"] == 4
    assert [i["code"] for i in run.data["issues"]].count("duplicate-lead-id") == 1
    ws = openpyxl.load_workbook(book)["Leads"]
    owner = column_of(ws, "Owner")
    assert all(ws[f"{owner}{row}"].value for row in range(2, 6))
    ok(run_forecourt(book))  # and again, with the memory of the first run
