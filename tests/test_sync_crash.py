"""Fault injection with real processes: ``forecourt sync`` killed with SIGKILL at each of its
checkpoints (``FORECOURT_SYNC_PAUSE`` holds it there) and at random moments; the next sync
must finish the job: every edit of both sides in the result (or the Conflicts tab), no row
twice, the same ids on both sides, and a sync after that writes nothing."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sheets_fixtures
import sync_sides as sides

from forecourt.sync.twoway import CHECKPOINTS, PAUSE_ENV

EXCEL_EDITS = [
    {"op": "set", "key": "L-1002", "column": "Status", "value": "Appointment set"},
    {"op": "set", "key": "L-1004", "column": "Notes", "value": "Excel: bring the V5C"},
    {"op": "add", "row": {"Received": "2026-12-06 09:00", "Name": "Nadia Excel",
                          "Phone": "+44 7700 900001", "Source": "Walk-in", "Status": "New"}},
    {"op": "delete", "key": "L-1008"},
    {"op": "sort", "column": "Name"},
]
SHEET_EDITS = [
    {"op": "set", "key": "L-1003", "column": "Status", "value": "Contacted"},
    {"op": "set", "key": "L-1004", "column": "Notes", "value": "Sheet: called back"},
    {"op": "add", "row": {"Received": "2026-12-06 10:30", "Name": "Piotr Sheet",
                          "Phone": "+48 601 000 002", "Source": "WhatsApp", "Status": "New"}},
    {"op": "add", "row": {"Lead ID": "L-3001", "Received": "2026-12-06 11:00",
                          "Name": "Keyed Sheet", "Email": "k@example.com", "Source": "Email",
                          "Status": "New"}},
    {"op": "add_column", "header": "Colour", "values": {"L-1001": "red", "L-1005": "blue"}},
]
COLUMNS = ["Lead ID", "Received", "Name", "Phone", "Email", "Source", "Status", "Notes"]


@pytest.fixture(scope="module")
def standin():
    return sheets_fixtures.shared()


def _prepare(folder: Path, standin) -> tuple[Path, str]:
    """Both sides synced once, then edited by a person on each."""
    book, sid = sides.synced_pair(folder, standin, "crash")
    sides.edit_excel(book, EXCEL_EDITS)
    sides.edit_sheet(standin, sid, SHEET_EDITS)
    return book, sid


def _state(book: Path, standin, sid: str) -> dict[str, dict[str, str]]:
    """Both sides, checked against each other; the rows by name (created columns only)."""
    _, excel = sides.excel_rows(book)
    s_header, sheet = sides.sheet_rows(standin, sid)
    for side, rows in (("excel", excel), ("sheet", sheet)):
        names = [r["Name"] for r in rows]
        assert len(names) == len(set(names)), f"{side}: a row is there twice: {names}"
        assert all(r["Lead ID"] for r in rows), f"{side}: a row without an id"
    wanted = [*COLUMNS, "Colour"]
    e = {r["Name"]: {c: r.get(c, "") for c in wanted} for r in excel}
    s = {r["Name"]: {c: r.get(c, "") for c in wanted} for r in sheet}
    assert e == s
    return e


def _check_edits(rows: dict[str, dict[str, str]]) -> None:
    by_id = {r["Lead ID"]: r for r in rows.values()}
    assert by_id["L-1002"]["Status"] == "Appointment set"
    assert by_id["L-1003"]["Status"] == "Contacted"
    assert by_id["L-1004"]["Notes"] == "Excel: bring the V5C"  # the conflict: Excel kept
    assert "L-1008" not in by_id
    assert "Nadia Excel" in rows and "Piotr Sheet" in rows and by_id["L-3001"]
    assert by_id["L-1001"]["Colour"] == "red" and by_id["L-1005"]["Colour"] == "blue"
    assert len(rows) == 12  # 10 - 1 deleted + 3 added


def _conflict_listed(book: Path, standin, sid: str) -> None:
    want = ("L-1004", "Notes", "Excel: bring the V5C", "Sheet: called back", "excel")
    assert want in sides.excel_conflicts(book)
    assert want in sides.conflicts_listed(sides.sheet_values(standin, sid, "Conflicts"))


def _finish_and_check(book: Path, standin, sid: str) -> None:
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    rows = _state(book, standin, sid)
    _check_edits(rows)
    _conflict_listed(book, standin, sid)
    again = sides.sync_here(book, sid, standin)
    assert not again["excel"]["written"] and not again["sheet"]["written"], \
        json.dumps([again["excel"], again["sheet"], report["excel"], report["sheet"]])


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_killed_at_a_checkpoint_the_next_sync_finishes(checkpoint, tmp_path, standin):
    book, sid = _prepare(tmp_path, standin)
    marker = tmp_path / "paused"
    proc = sides.start_sync(book, sid, standin.base, "--json",
                            env={PAUSE_ENV: f"{checkpoint}:{marker}"}, output=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert proc.poll() is None, f"the sync ended before {checkpoint}"
            assert time.monotonic() < deadline, f"the sync never reached {checkpoint}"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _finish_and_check(book, standin, sid)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_at_a_random_moment_the_next_sync_finishes(seed, tmp_path, standin):
    book, sid = _prepare(tmp_path, standin)
    proc = sides.start_sync(book, sid, standin.base, "--json", output=subprocess.DEVNULL)
    time.sleep(random.Random(seed).uniform(0.3, 2.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _finish_and_check(book, standin, sid)
