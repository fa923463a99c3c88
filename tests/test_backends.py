"""The backend interface around a run: a workbook that changes between reading and writing is
never overwritten, each workbook identity has its own memory, and a plan stays whole after a
run so that it can be applied again."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from forecourt.cli import exit_code_of
from forecourt.engine import run
from forecourt.errors import ChangedSinceRead, ExitCode
from forecourt.store import SqliteStore, VolatileStore, memory_store
from forecourt.sync.backend import Backend, WorkbookId
from forecourt.sync.grid import GridBackend
from forecourt.sync.xlsx import XlsxBackend

AS_OF = dt.datetime(2026, 11, 23, 10, 0)
LEADS = [["Received", "Name", "Phone", "Source", "Status"],
         [dt.datetime(2026, 11, 20, 10, 0), "Ann Lee", "+447700900123", "WhatsApp", "New"],
         [dt.datetime(2026, 11, 23, 9, 58), "Bob Roe", "+447700900124", "mobile.de", "New"]]
TEAM = [["Name", "Active"], ["Anna", "yes"], ["Ben", "yes"]]


def write_book(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    for row in LEADS:
        ws.append(row)
    team = wb.create_sheet("Team")
    for row in TEAM:
        team.append(row)
    wb.save(path)
    return path


def test_both_backends_are_backends(tmp_path):
    assert isinstance(XlsxBackend(write_book(tmp_path / "b.xlsx")), Backend)
    assert isinstance(GridBackend({"Leads": LEADS}), Backend)


def test_a_workbook_saved_by_another_program_meanwhile_is_not_overwritten(tmp_path):
    """Between apply and commit somebody saves the file: the commit refuses (exit 12), the
    other program's file stays as it saved it and the memory is not written."""
    book = write_book(tmp_path / "b.xlsx")
    backend = XlsxBackend(book)
    with backend.session(write=True):
        backend.read()
        plan = run(GridBackend({"Leads": LEADS, "Team": TEAM}), as_of=AS_OF).outcome.plan
        backend.apply(plan)
        theirs = load_workbook(book)
        theirs["Leads"]["B2"] = "Ann Lee-Smith"
        time.sleep(0.01)
        theirs.save(book)
        saved = book.read_bytes()
        with pytest.raises(ChangedSinceRead) as caught:
            backend.commit()
    assert book.read_bytes() == saved
    assert exit_code_of(caught.value) == ExitCode.CHANGED
    assert "changed while forecourt was working on it" in str(caught.value)


def test_a_run_keeps_its_plan_whole_to_apply_it_again(tmp_path):
    """The plan a run returns still holds every write: applied to a copy of the book as it
    was, it gives the same workbook values as the run did."""
    book = write_book(tmp_path / "b.xlsx")
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(book.read_bytes())
    result = run(book, as_of=AS_OF)
    assert result.written and result.outcome.plan.cell_count > 0
    other = XlsxBackend(copy)
    with other.session(write=True):
        other.read()
        applied = other.apply(result.outcome.plan)
        other.commit()
    assert not applied.skipped
    ours = [[c.value for c in row] for row in load_workbook(book)["Leads"].iter_rows()]
    theirs = [[c.value for c in row] for row in load_workbook(copy)["Leads"].iter_rows()]
    assert ours == theirs


def test_each_workbook_identity_has_its_own_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    book = tmp_path / "Autohaus.xlsx"
    beside = memory_store(WorkbookId("file", str(book)))
    sheet = memory_store(WorkbookId("sheet", "1AbC-xyz/../evil"))
    other = memory_store(WorkbookId("sheet", "2Other"))
    assert isinstance(beside, SqliteStore) and beside.path == tmp_path / "Autohaus.forecourt.sqlite"
    assert isinstance(sheet, SqliteStore) and sheet.path.parent == other.path.parent
    assert sheet.path != other.path and str(tmp_path / "state") in str(sheet.path)
    assert "/" not in sheet.path.name and ".." not in sheet.path.name.split(".")[0:1]
    assert memory_store(WorkbookId("sheet", "2Other"), tmp_path / "x.sqlite").path == \
        tmp_path / "x.sqlite"
    assert isinstance(memory_store(WorkbookId("memory", "grids")), VolatileStore)


def test_a_sheets_memory_is_saved_in_the_state_folder(tmp_path, monkeypatch):
    """A backend whose identity is a spreadsheet id keeps its memory in the user's state
    folder: the second run finds the first run's owners there (nothing assigned again)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    class SheetLike(GridBackend):
        def __init__(self, sheets: dict) -> None:
            super().__init__(sheets, name="1SheetId")
            self.identity = WorkbookId("sheet", "1SheetId")
            self.store = None  # as a Google Sheet: the memory lives in the state folder

    grids = SheetLike({"Leads": LEADS, "Team": TEAM})
    first = run(grids, as_of=AS_OF)
    assert first.outcome.summary["assigned"] == 2
    assert first.state is not None and first.state.exists()
    assert first.state.parent == tmp_path / "state" / "forecourt"
    second = run(grids, as_of=AS_OF)
    assert second.outcome.summary["assigned"] == 0 and not second.written


def test_the_library_leaves_the_memory_it_was_given_alone(tmp_path):
    grids = GridBackend({"Leads": LEADS, "Team": TEAM})
    before = grids.store.load()
    run(grids, as_of=AS_OF)
    assert before.assignments == () and len(before.written) == 0
    assert len(grids.store.load().assignments) == 2


def test_a_dry_run_takes_no_lock_and_writes_nothing(tmp_path):
    book = write_book(tmp_path / "b.xlsx")
    lock = book.with_name("~$b.xlsx")  # open in Excel: a dry run only reads, so it may
    lock.write_bytes(b"\x05Owner" + b" " * 100)
    mtime = os.stat(book).st_mtime_ns
    result = run(book, as_of=AS_OF, dry_run=True)
    assert not result.written and os.stat(book).st_mtime_ns == mtime
    assert result.outcome.plan.cell_count > 0


# Finding rows when the sheet changed since the plan was made ------------------------------

def planned(sheets: dict) -> tuple[GridBackend, object]:
    """A grid holding ``sheets`` and the plan of a dry run on it."""
    grids = GridBackend(sheets)
    return grids, run(grids, as_of=AS_OF, dry_run=True).outcome.plan


def apply_now(backend, plan):
    with backend.session(write=True):
        backend.read()
        applied = backend.apply(plan)
        backend.commit()
    return applied


def column_of(grid: list[list], header: str) -> int:
    return grid[0].index(header)


def test_lead_ids_typed_as_numbers_are_found_by_key(tmp_path):
    """1001 is read back from a file as 1001.0: still the key 1001."""
    rows = [["Lead ID", *LEADS[0]]] + [[1001 + i, *r] for i, r in enumerate(LEADS[1:])]
    book = tmp_path / "b.xlsx"
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.active.title = "Leads"
    team = wb.create_sheet("Team")
    for row in TEAM:
        team.append(row)
    wb.save(book)
    plan = run(book, as_of=AS_OF, dry_run=True).outcome.plan
    os.utime(book, ns=(time.time_ns(), time.time_ns() + 10**9))  # the file moved on
    applied = apply_now(XlsxBackend(book), plan)
    assert not applied.skipped, applied.skipped
    ws = load_workbook(book)["Leads"]
    owners = [c.value for c in ws["G"][1:3]]
    assert ws["G1"].value == "Owner" and all(owners), owners


def test_a_plan_from_another_workbook_never_overwrites_a_persons_entry():
    """Two grids holding the same book are two workbooks: a plan made on one finds a person's
    owner on the other and leaves it."""
    sheets = {"Leads": [["Lead ID", *LEADS[0]]] + [[f"L-{i}", *r] for i, r in
                                                  enumerate(LEADS[1:])], "Team": TEAM}
    _, plan = planned(sheets)
    other = GridBackend(sheets)
    other.edit("Leads", 1, "G", "Owner")
    other.edit("Leads", 2, "G", "Zoe")
    applied = apply_now(other, plan)
    assert other.value("Leads", 2, "G") == "Zoe"
    assert [(s.key, s.why) for s in applied.skipped] == [("L-0", "changed since read")]


def test_a_key_on_two_rows_writes_each_rows_own_values_or_nothing():
    sheets = {"Leads": [["Lead ID", *LEADS[0]], ["L-1", *LEADS[1]], ["L-1", *LEADS[2]]],
              "Team": TEAM}
    grids, plan = planned(sheets)
    grid = grids.sheets["Leads"]
    grid[1], grid[2] = grid[2], grid[1]  # a person sorted them: which L-1 is which?
    grids.edit("Leads", 1, "A", "Lead ID")
    applied = apply_now(grids, plan)
    assert {s.why for s in applied.skipped} == {"row not found"}
    owner = 6  # the first column forecourt adds
    assert all(len(r) <= owner or r[owner] == "" for r in grids.sheets["Leads"][1:])


def test_a_row_inserted_above_a_lead_without_id_gets_nothing_of_it():
    """The run gave Ann and Bob ids; before they are written a person inserts Cat above Ann.
    Cat is never given Ann's id, owner or due, Ann never Bob's."""
    grids, plan = planned({"Leads": [list(r) for r in LEADS], "Team": TEAM})
    cat = [dt.datetime(2026, 11, 23, 9, 0), "Cat New", "+447700900125", "walk-in", "New"]
    grids.sheets["Leads"].insert(1, cat)
    grids.edit("Leads", 1, "A", "Received")
    applied = apply_now(grids, plan)
    rows = grids.sheets["Leads"]
    assert rows[1][:5] == cat and all(v == "" for v in rows[1][5:])
    names = {r[1]: r for r in rows[1:]}
    ids = column_of(rows, "Lead ID")
    assert all(len(names[n]) <= ids or names[n][ids] == "" for n in ("Ann Lee", "Bob Roe")), \
        "an id written onto another person"
    assert applied.skipped and {s.why for s in applied.skipped} == {"row not found"}


def test_a_column_a_person_added_meanwhile_is_left_to_them():
    grids, plan = planned({"Leads": [list(r) for r in LEADS], "Team": TEAM})
    grids.edit("Leads", 1, "F", "Car seen")
    grids.edit("Leads", 3, "F", "yes")
    applied = apply_now(grids, plan)
    rows = grids.sheets["Leads"]
    assert rows[0][5] == "Car seen" and rows[2][5] == "yes" and rows[1][5] == ""
    assert any(s.why == "column taken" and s.column == "F" for s in applied.skipped)
