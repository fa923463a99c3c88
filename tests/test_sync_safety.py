"""The sync's safety rules with real processes and real files: a workbook open in Excel, a
side changed while the sync works, a stale lock, the scheduled job stopped by SIGTERM, the
status file and ``--status``."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import zoneinfo
from pathlib import Path

import pytest
import sheets_fixtures
import sync_sides as sides

from forecourt.locks import run_lock_path
from forecourt.sync.twoway import PAUSE_ENV, sync_paths


@pytest.fixture(scope="module")
def standin():
    return sheets_fixtures.shared()


def _value(rows: list[dict[str, str]], key: str, column: str) -> str:
    return next(r[column] for r in rows if r["Lead ID"] == key)


def test_workbook_open_in_excel_syncs_the_sheet_and_leaves_the_file_for_later(
        tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    sides.edit_excel(book, [{"op": "set", "key": "L-1001", "column": "Notes",
                             "value": "from the owner"}])
    sides.edit_sheet(standin, sid, [{"op": "set", "key": "L-1002", "column": "Status",
                                     "value": "Won"}])
    owner = sides.open_in_excel(book)
    before = book.read_bytes()
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 14, err
    assert book.read_bytes() == before  # not a byte of the open workbook changed
    assert "open in Excel by Anna Owner" in report["excel"]["deferred"]
    assert report["sheet"]["written"] and not report["complete"]
    _, sheet = sides.sheet_rows(standin, sid)
    assert _value(sheet, "L-1001", "Notes") == "from the owner"  # the Sheet got Excel's edit

    owner.unlink()  # closed: the next run finishes the job
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    _, excel = sides.excel_rows(book)
    assert _value(excel, "L-1002", "Status") == "Won"
    assert _value(excel, "L-1001", "Notes") == "from the owner"
    code, again, err = sides.run_sync(book, sid, standin.base)
    assert code == 0 and not again["excel"]["written"] and not again["sheet"]["written"]


def _paused(book: Path, sid: str, base: str, point: str, marker: Path) -> subprocess.Popen:
    proc = sides.start_sync(book, sid, base, "--json", env={PAUSE_ENV: f"{point}:{marker}"})
    deadline = time.monotonic() + 90
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    return proc


def test_a_teammate_typing_during_the_sync_is_not_overwritten(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    sides.edit_excel(book, [{"op": "set", "key": "L-1003", "column": "Notes",
                             "value": "owner's note"}])
    marker = tmp_path / "paused"
    proc = _paused(book, sid, standin.base, "after-read", marker)
    sides.edit_sheet(standin, sid, [{"op": "set", "key": "L-1003", "column": "Notes",
                                     "value": "typed meanwhile"}])
    marker.unlink()
    out, err = proc.communicate(timeout=120)
    report = json.loads(out.splitlines()[-1])
    assert proc.returncode == 14, err
    assert "changed while this sync worked" in report["sheet"]["deferred"]
    _, sheet = sides.sheet_rows(standin, sid)
    assert _value(sheet, "L-1003", "Notes") == "typed meanwhile"  # kept, not overwritten
    code, report, err = sides.run_sync(book, sid, standin.base)  # the next run: a conflict
    assert code == 0, err
    assert report["conflict_count"] == 1
    want = ("L-1003", "Notes", "owner's note", "typed meanwhile", "excel")
    assert want in sides.excel_conflicts(book)


def test_the_workbook_saved_during_the_sync_is_not_overwritten(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    sides.edit_sheet(standin, sid, [{"op": "set", "key": "L-1005", "column": "Status",
                                     "value": "Contacted"}])
    marker = tmp_path / "paused"
    proc = _paused(book, sid, standin.base, "after-sheet", marker)
    sides.edit_excel(book, [{"op": "set", "key": "L-1006", "column": "Notes",
                             "value": "saved meanwhile"}])
    saved = book.read_bytes()
    marker.unlink()
    out, err = proc.communicate(timeout=120)
    report = json.loads(out.splitlines()[-1])
    assert proc.returncode == 14, err
    assert "changed while this sync worked" in report["excel"]["deferred"]
    assert book.read_bytes() == saved
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    for rows in (sides.excel_rows(book)[1], sides.sheet_rows(standin, sid)[1]):
        assert _value(rows, "L-1005", "Status") == "Contacted"
        assert _value(rows, "L-1006", "Notes") == "saved meanwhile"


def test_a_lock_left_by_a_killed_sync_is_taken_over_and_said(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    lock = run_lock_path(sync_paths(book, sid).base)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename,
                                "started": "2026-12-07T09:00:00", "token": "x"}))
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    assert any("took over the run lock" in n for n in report["notes"]), report["notes"]
    assert not lock.exists()


def test_a_sync_under_way_makes_a_second_one_wait_then_give_up(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    marker = tmp_path / "paused"
    proc = _paused(book, sid, standin.base, "after-read", marker)
    try:
        code, report, err = sides.run_sync(book, sid, standin.base,
                                           env={"FORECOURT_RUN_WAIT_SECONDS": "1"})
        assert code == 9, err
        assert "under way" in report["error"]
    finally:
        marker.unlink()
        proc.communicate(timeout=120)
    assert proc.returncode == 0


def test_every_runs_until_sigterm_then_finishes_cleanly(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    proc = sides.start_sync(book, sid, standin.base, "--every", "1s")
    lines = []
    deadline = time.monotonic() + 120
    while len(lines) < 2:
        if proc.poll() is not None or time.monotonic() >= deadline:
            proc.kill()
            pytest.fail(f"the job ended or hung before two syncs: {lines} "
                        f"{proc.communicate(timeout=60)}")
        lines.append(proc.stdout.readline())
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (lines, out, err)
    assert all(" synced: " in line and "Sheets API calls" in line for line in lines), \
        (lines, err)
    assert out.strip().splitlines()[-1] == "stopped", (out, err)
    status = json.loads(sync_paths(book, sid).status.read_text())
    assert status["result"] == "synced" and status["consecutive_failures"] == 0


def test_status_says_loudly_when_syncs_keep_failing(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    book.rename(tmp_path / "moved.xlsx")
    for n in range(3):
        code, report, err = sides.run_sync(book, sid, standin.base)
        assert code == 3 and report["consecutive_failures"] == n + 1
    proc = subprocess.run([sys.executable, "-m", "forecourt", "sync", str(book), "--sheet",
                           sid, "--status"], capture_output=True, text=True)
    assert proc.returncode == 3
    assert "ATTENTION: the last 3 syncs failed in a row" in proc.stdout
    (tmp_path / "moved.xlsx").rename(book)
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0 and report["consecutive_failures"] == 0
    proc = subprocess.run([sys.executable, "-m", "forecourt", "sync", str(book), "--sheet",
                           sid, "--status"], capture_output=True, text=True)
    assert proc.returncode == 0 and "ATTENTION" not in proc.stdout


def test_a_conflicting_cell_is_flagged_on_both_sides(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    sides.edit_excel(book, [{"op": "set", "key": "L-1007", "column": "Notes", "value": "E"}])
    sides.edit_sheet(standin, sid, [{"op": "set", "key": "L-1007", "column": "Notes",
                                     "value": "S"}, {"op": "sort", "column": "Name"}])
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0 and report["conflict_count"] == 1, err

    import openpyxl

    wb = openpyxl.load_workbook(book)
    ws = wb["Leads"]
    header = [c.value for c in ws[1]]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "L-1007")
    cell = f"{openpyxl.utils.get_column_letter(header.index('Notes') + 1)}{row}"
    flagged = [str(cf.sqref) for cf in ws.conditional_formatting
               if any("forecourt" in (r.formula or [""])[0] and r.dxf.fill is not None
                      and r.dxf.fill.bgColor.rgb.endswith("F8CBAD") for r in cf.rules)]
    assert flagged == [cell]

    values = sides.sheet_values(standin, sid)
    s_row = next(i for i, r in enumerate(values, start=1) if r and r[0] == "L-1007")
    notes = values[0].index("Notes")
    meta = standin.api("get", f"/{sid}", params={"fields": "sheets(properties(title),"
                                                            "conditionalFormats)"})
    rules = next(s for s in meta["sheets"] if s["properties"]["title"] == "Leads")
    ranges = [r["ranges"] for r in rules["conditionalFormats"]
              if abs(r["booleanRule"]["format"]["backgroundColor"].get("blue", 0)
                     - 0xAD / 255) < 1e-3]
    assert ranges == [[{"sheetId": ranges[0][0]["sheetId"], "startRowIndex": s_row - 1,
                        "endRowIndex": s_row, "startColumnIndex": notes,
                        "endColumnIndex": notes + 1}]]


def test_a_sheet_in_another_time_zone_gets_a_note(tmp_path, standin):
    # the workbook's Settings say Europe/London
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    standin.api("post", f"/{sid}:batchUpdate", json={"requests": [{
        "updateSpreadsheetProperties": {"properties": {"timeZone": "Europe/Berlin"},
                                        "fields": "timeZone"}}]})
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    assert any("time zone is Europe/Berlin" in n and "read in Europe/London" in n
               for n in report["notes"]), report["notes"]


def test_the_job_backs_off_while_the_quota_is_used_up(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    controls = f"{standin.base}/_standin/quota"
    standin.controls.post(controls, json={"per_minute": 1, "retry_after": 600,
                                          "scope": "all"}, timeout=30).raise_for_status()
    try:
        proc = sides.start_sync(book, sid, standin.base, "--every", "1s")
        lines = []
        deadline = time.monotonic() + 120
        while sum("quota is used up: waiting" in x for x in lines) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    finally:
        standin.controls.post(controls, json={"per_minute": None}, timeout=30)
    assert proc.returncode == 11
    failed = [x for x in lines if " failed (exit 11)" in x]
    waits = [x.split("waiting ")[1].split(" ")[0] for x in lines if "waiting" in x]
    assert failed and waits[:2] == ["0:00:01", "0:00:02"], lines  # doubling, up to an hour


def test_a_conflict_says_when_each_side_was_last_changed(tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    sides.edit_excel(book, [{"op": "set", "key": "L-1009", "column": "Notes", "value": "E"}])
    london = zoneinfo.ZoneInfo("Europe/London")  # the test workbook's Settings time zone
    saved = dt.datetime.fromtimestamp(book.stat().st_mtime, london).strftime("%Y-%m-%d %H:%M")
    sides.edit_sheet(standin, sid, [{"op": "set", "key": "L-1009", "column": "Notes",
                                     "value": "S"}])
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    (conflict,) = report["conflicts"]
    assert conflict["excel_saved"] == saved
    assert conflict["sheet_changed"][:10] == dt.datetime.now(london).strftime("%Y-%m-%d")
    rows = sides.sheet_values(standin, sid, "Conflicts")
    header = next(r for r in rows if r[:2] == ["Found", "Tab"])
    assert header[8:10] == ["Excel saved", "Sheet changed"]
    assert [r for r in rows if r and r[2:3] == ["L-1009"]][0][8] == saved


def test_while_the_workbook_is_open_a_teammates_later_edit_is_kept(tmp_path, standin):
    """The Sheet got the owner's edit while the workbook was open; a teammate then changed
    it again: the teammate saw the owner's value, so theirs is the newer edit and stays."""
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    sides.edit_excel(book, [{"op": "set", "key": "L-1001", "column": "Notes",
                             "value": "owner's"}])
    owner = sides.open_in_excel(book)
    code, _, err = sides.run_sync(book, sid, standin.base)
    assert code == 14, err
    sides.edit_sheet(standin, sid, [
        {"op": "set", "key": "L-1001", "column": "Notes", "value": "team, after the owner"},
        {"op": "set", "key": "L-1002", "column": "Status", "value": "Lost"}])
    code, _, err = sides.run_sync(book, sid, standin.base)  # still open
    assert code == 14, err
    owner.unlink()
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0 and report["conflict_count"] == 0, (err, report["conflicts"])
    for rows in (sides.excel_rows(book)[1], sides.sheet_rows(standin, sid)[1]):
        assert _value(rows, "L-1001", "Notes") == "team, after the owner"
        assert _value(rows, "L-1002", "Status") == "Lost"
    again = sides.sync_here(book, sid, standin)
    assert not again["excel"]["written"] and not again["sheet"]["written"]


def test_a_lead_added_without_an_id_and_edited_while_left_for_later_stays_one(
        tmp_path, standin):
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    sides.edit_excel(book, [{"op": "add", "row": {
        "Received": "2026-12-06 09:00", "Name": "New Buyer", "Source": "Walk-in",
        "Email": "buyer@example.com", "Status": "New"}}])
    owner = sides.open_in_excel(book)
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 14, err
    given = next(r["Lead ID"] for r in sides.sheet_rows(standin, sid)[1]
                 if r["Name"] == "New Buyer")
    owner.unlink()  # closed, after the owner typed the phone (the row still has no id here)
    sides.edit_excel(book, [{"op": "set", "key": "", "column": "Phone",
                             "value": "+44 7700 900999"}])
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    for rows in (sides.excel_rows(book)[1], sides.sheet_rows(standin, sid)[1]):
        buyers = [r for r in rows if r["Name"] == "New Buyer"]
        assert [(r["Lead ID"], r["Phone"]) for r in buyers] == [(given, "+44 7700 900999")]


def _settled(book: Path, sid: str, standin) -> dict[str, dict[str, str]]:
    """The last sync with both sides writable, and the rows both then hold (the same)."""
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    excel = {r["Name"]: r for r in sides.excel_rows(book)[1]}
    sheet = {r["Name"]: r for r in sides.sheet_rows(standin, sid)[1]}
    assert len(excel) == len(sides.excel_rows(book)[1]), "a row twice in the workbook"
    assert len(sheet) == len(sides.sheet_rows(standin, sid)[1]), "a row twice on the Sheet"
    columns = ["Lead ID", "Name", "Phone", "Status", "Notes"]
    assert {n: [r.get(c) for c in columns] for n, r in excel.items()} == \
        {n: [r.get(c) for c in columns] for n, r in sheet.items()}
    again = sides.sync_here(book, sid, standin)
    assert not again["excel"]["written"] and not again["sheet"]["written"]
    return excel


def test_while_a_side_is_behind_over_several_syncs_nothing_is_lost_or_doubled(
        tmp_path, standin):
    """Sequences an adversarial helper found wrong in the first version of "behind": a row
    added and deleted again on the Sheet while the workbook is open; a row deleted over two
    deferred syncs; a lead without an id edited and sorted while its side was behind; a row
    the behind side deleted while the other side had edited it."""
    book, sid = sides.synced_pair(tmp_path, standin, "safety")
    owner = sides.open_in_excel(book)
    sides.edit_sheet(standin, sid, [
        {"op": "add", "row": {"Lead ID": "L-3001", "Name": "Gone Again", "Source": "Phone",
                              "Phone": "+44 7700 900301", "Received": "2026-12-06 09:00"}},
        {"op": "set", "key": "L-1006", "column": "Notes", "value": "team's note"},
        {"op": "delete", "key": "L-1007"}])
    sides.edit_excel(book, [{"op": "add", "row": {
        "Name": "Nadia", "Phone": "+44 7700 900001", "Source": "Walk-in",
        "Received": "2026-12-06 10:00"}}])
    assert sides.run_sync(book, sid, standin.base)[0] == 14
    sides.edit_sheet(standin, sid, [
        {"op": "delete", "key": "L-3001"},
        {"op": "set", "key": next(r["Lead ID"] for r in sides.sheet_rows(standin, sid)[1]
                                  if r["Name"] == "Nadia"), "column": "Status",
         "value": "Contacted"}])
    sides.edit_excel(book, [{"op": "set", "key": "", "column": "Phone",
                             "value": "+44 7700 900002"},
                            {"op": "sort", "column": "Name", "descending": True},
                            {"op": "delete", "key": "L-1006"}])  # never saw the team's note
    assert sides.run_sync(book, sid, standin.base)[0] == 14
    owner.unlink()
    rows = _settled(book, sid, standin)
    assert "Gone Again" not in rows and "Amelia Hughes" not in rows  # L-1007: deleted
    assert rows["Nadia"]["Phone"] == "+44 7700 900002"
    assert rows["Nadia"]["Status"] == "Contacted"
    assert rows["Lukas Schneider"]["Notes"] == "team's note"  # L-1006 came back, edited
