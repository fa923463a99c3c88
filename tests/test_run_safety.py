"""`forecourt run` never leaves the dealer without a whole workbook.

Open in Excel (or LibreOffice): nothing is written. Killed at any moment: the file at the book's
path is the old workbook or the new one, never half of either. ``--dry-run`` writes nothing,
``--out`` leaves the input alone, ``--state`` moves the memory, and files that are not readable
workbooks are refused with the exit codes of ``check`` and left as they were.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import signal
import sqlite3
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from preserve_books import (
    ADDED_LEAD_HEADERS,
    JSON_KEYS,
    LEADS,
    LEADS_SHEET,
    OPEN_ROWS,
    assert_parts_preserved,
    backup_path,
    build_big,
    build_rich,
    hermetic_env,
    listing,
    run_args,
    run_forecourt,
    state_path,
    zip_parts,
)
from workbooks import (
    build_empty_file,
    build_empty_leads_tab,
    build_encrypted,
    build_random_bytes,
    build_shopping_list,
    build_truncated_xlsx,
    build_zip_without_workbook,
    missing_path,
)

# Temporary files of an interrupted write may only carry this documented prefix.
TEMP_PREFIX = ".~forecourt-"
EXCEL_OWNER_FILE = b"\x04Dave" + b" " * 50 + b"\x04\x00D\x00a\x00v\x00e\x00" + bytes(100)
LIBREOFFICE_LOCK = b"Dave,dealer-pc,dave,23.11.2026 09:58,file:///home/dave/.config/libreoffice/4;"


# ---------------------------------------------------------------------------------------------
# Open in Excel: exit 6, nothing written
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("owner_file", "content"), [
    ("~$dealer.xlsx", EXCEL_OWNER_FILE),              # Excel, on Windows and macOS
    (".~lock.dealer.xlsx#", LIBREOFFICE_LOCK),        # LibreOffice, on Linux
], ids=["excel-owner-file", "libreoffice-lock"])
def test_workbook_open_elsewhere_is_refused_and_nothing_written(tmp_path, owner_file, content):
    book = build_rich(tmp_path)
    (tmp_path / owner_file).write_bytes(content)
    before, names = book.read_bytes(), listing(tmp_path)

    run = run_forecourt(book)

    assert run.returncode == 6, run.detail()
    assert "Traceback" not in run.stderr, run.detail()
    message = run.stderr.lower()
    assert "open" in message and book.name.lower() in message, run.detail()
    assert book.read_bytes() == before, "the workbook was changed"
    assert listing(tmp_path) == names, "files were written (backup, memory or temp)"


def test_owner_file_of_another_workbook_does_not_block(tmp_path):
    book = build_rich(tmp_path)
    (tmp_path / "~$stock-2025.xlsx").write_bytes(EXCEL_OWNER_FILE)
    run_forecourt(book).ok()


# ---------------------------------------------------------------------------------------------
# Killed mid-write: the old workbook or the new one, nothing in between
# ---------------------------------------------------------------------------------------------

KILL_AT = (0.3, 0.55, 0.7, 0.8, 0.88, 0.94, 0.98)  # fractions of a full run's wall time
REFINE = 3  # extra kills between the last "original" and the first "new" outcome


def _comparable(data: bytes) -> dict[str, bytes]:
    """The package's parts without docProps (a save time may differ between two runs)."""
    return {n: b for n, b in zip_parts(data).items() if not n.startswith("docProps/")}


@dataclass
class Trial:
    delay: float
    killed_while_running: bool
    outcome: str  # "original", "new" or what else was found
    leftovers: list[str]
    problems: list[str]

    def __str__(self) -> str:
        when = "while running" if self.killed_while_running else "after it had finished"
        left = f"; left behind: {self.leftovers}" if self.leftovers else ""
        bad = f"  <-- {'; '.join(self.problems)}" if self.problems else ""
        return f"kill at {self.delay:5.2f}s {when}: {self.outcome}{left}{bad}"


def _reset(folder: Path, book: Path, data: bytes) -> None:
    for p in folder.iterdir():
        p.unlink()
    book.write_bytes(data)


def _kill_after(book: Path, delay: float, input_bytes: bytes, expected: bytes) -> Trial:
    """Start `run` on a fresh copy of the input, SIGKILL it after ``delay`` seconds, and judge
    what is left at the book's path and beside it."""
    folder = book.parent
    _reset(folder, book, input_bytes)
    proc = subprocess.Popen(run_args(book), cwd=folder, env=hermetic_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(delay)
    running = proc.poll() is None
    if running:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and anything it started, nothing else
    proc.wait(timeout=60)

    problems: list[str] = []
    if not book.exists():
        outcome = "BOOK MISSING"
        problems.append(f"{book.name} does not exist")
    else:
        data = book.read_bytes()
        if data == input_bytes:
            outcome = "original"
        elif data == expected:
            outcome = "new"
        else:
            try:
                same = _comparable(data) == _comparable(expected)
            except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
                outcome = f"BROKEN ({type(exc).__name__}: {exc})"
                problems.append(outcome)
            else:
                outcome = "new" if same else "DIFFERENT from both the input and a full run"
                if not same:
                    problems.append(outcome)
        if outcome == "new":
            bak = backup_path(book)
            if not bak.exists() or bak.read_bytes() != input_bytes:
                problems.append("replaced, but the backup is "
                                f"{'missing' if not bak.exists() else 'not the input'}")
    known = {book.name, backup_path(book).name}
    leftovers = [n for n in listing(folder)
                 if n not in known and not n.startswith(state_path(book).name)]
    stray = [n for n in leftovers if not n.startswith(TEMP_PREFIX)]
    if stray:
        problems.append(f"files left without the temp prefix {TEMP_PREFIX!r}: {stray}")
    return Trial(delay, running, outcome, leftovers, problems)


def test_killed_mid_write_leaves_a_whole_workbook(tmp_path):
    source = build_big(tmp_path, 3000)
    input_bytes = source.read_bytes()
    # Every trial runs in the same folder under the same name, from the same clean start.
    folder = tmp_path / "work"
    folder.mkdir()
    book = folder / source.name
    _reset(folder, book, input_bytes)
    started = time.monotonic()
    run_forecourt(book).ok()
    full = time.monotonic() - started
    expected = book.read_bytes()
    assert expected != input_bytes, "a full run wrote nothing"

    trials = [_kill_after(book, f * full, input_bytes, expected) for f in KILL_AT]
    # The write happens between the last kill that left the original and the first that found
    # the new workbook: aim a few more kills at that window.
    before = [t.delay for t in trials if t.outcome == "original" and t.killed_while_running]
    after = [t.delay for t in trials if t.outcome == "new"]
    if before and after and min(after) > max(before):
        low, high = max(before), min(after)
        trials += [_kill_after(book, low + (high - low) * k / (REFINE + 1), input_bytes,
                               expected) for k in range(1, REFINE + 1)]

    report = f"full run: {full:.2f}s\n" + "\n".join(f"  {t}" for t in trials)
    print(report)
    assert not any(t.problems for t in trials), report
    assert any(t.killed_while_running for t in trials), \
        "every run finished before it was killed: nothing was tested\n" + report


# ---------------------------------------------------------------------------------------------
# --dry-run, --out, --state
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("json_output", [False, True], ids=["summary", "json"])
def test_dry_run_writes_nothing_but_reports(tmp_path, json_output):
    book = build_rich(tmp_path)
    before, names = book.read_bytes(), listing(tmp_path)
    run = run_forecourt(book, "--dry-run", *(["--json"] if json_output else [])).ok()
    assert book.read_bytes() == before, "--dry-run changed the workbook"
    assert listing(tmp_path) == names, "--dry-run wrote files (backup, memory or temp)"
    assert run.stdout.strip(), run.detail()
    if json_output:
        data = run.data
        assert all(k in data for k in JSON_KEYS), sorted(data)
        assert data["leads"] == len(LEADS) and data["open"] == len(OPEN_ROWS), data


def test_out_writes_the_result_elsewhere_and_leaves_the_input_alone(tmp_path):
    book = build_rich(tmp_path)
    before = book.read_bytes()
    out = tmp_path / "dealer-updated.xlsx"
    run_forecourt(book, "--out", str(out)).ok()
    assert book.read_bytes() == before, "--out changed the input"
    assert out.exists(), "--out wrote nothing there"
    assert_parts_preserved(zip_parts(before), zip_parts(out))
    wb = openpyxl.load_workbook(io.BytesIO(out.read_bytes()), read_only=True)
    try:
        headers = next(wb[LEADS_SHEET].iter_rows(min_row=1, max_row=1, values_only=True))
    finally:
        wb.close()
    assert set(ADDED_LEAD_HEADERS) <= set(headers), headers


def test_state_option_puts_the_memory_there(tmp_path):
    book = build_rich(tmp_path)
    memory = tmp_path / "memory" / "dealer-state.sqlite"
    memory.parent.mkdir()
    run_forecourt(book, "--state", str(memory)).ok()
    assert memory.exists(), "no memory file at --state"
    assert not state_path(book).exists(), "the memory was still written beside the book"


def test_a_half_written_memory_left_by_a_killed_run_is_replaced(tmp_path):
    """The memory is saved without a journal into a side file; a run killed meanwhile leaves
    that file half-written, and the next run must start it afresh, not open it."""
    book = build_rich(tmp_path)
    side = state_path(book).with_name(TEMP_PREFIX + state_path(book).name)
    side.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    run_forecourt(book).ok()
    assert not side.exists()
    with sqlite3.connect(state_path(book)) as db:
        assert db.execute("SELECT COUNT(*) FROM status").fetchone()[0] > 0


def test_memory_that_cannot_be_saved_leaves_the_workbook_as_it_was(tmp_path):
    """The memory is saved while the workbook is written; the workbook is renamed into place
    only once the memory is safe, so a failed save changes nothing."""
    book = build_rich(tmp_path)
    before = book.read_bytes()
    # The memory loads (there is none yet) but its side file cannot be created.
    blocked = state_path(book).with_name(TEMP_PREFIX + state_path(book).name)
    blocked.mkdir()
    result = run_forecourt(book)
    assert result.returncode == 7, result.detail()
    assert "memory" in result.stderr and "not changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert book.read_bytes() == before
    assert not backup_path(book).exists() and not state_path(book).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)] \
        == [blocked.name], "a temporary workbook was left behind"


# ---------------------------------------------------------------------------------------------
# Refusals: the exit codes of check, and the file as it was
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("builder", "exit_code"), [
    (missing_path, 3),
    (build_empty_file, 4),
    (build_truncated_xlsx, 4),
    (build_random_bytes, 4),
    (build_encrypted, 4),
    (build_zip_without_workbook, 4),
    (build_shopping_list, 5),
    (build_empty_leads_tab, 5),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_refused_files_are_left_as_they_were(tmp_path, builder, exit_code):
    path = builder(tmp_path)
    existed = path.exists()
    before = path.read_bytes() if existed else None
    names = listing(tmp_path)
    run = run_forecourt(path)
    assert run.returncode == exit_code, run.detail()
    assert "Traceback" not in run.stderr and run.stderr.strip(), run.detail()
    assert path.name in run.stderr, f"stderr does not name the file\n{run.detail()}"
    if existed:
        assert path.read_bytes() == before, "the file was changed"
    else:
        assert not path.exists(), "run created the missing file"
    assert listing(tmp_path) == names, "files were written beside a refused workbook"


def test_a_sheet_with_prefixed_xml_is_refused_cleanly(tmp_path):
    """Some .NET writers store <x:worksheet>; forecourt refuses to edit it rather than guess."""
    src = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Received", "Name", "Phone", "Source"])
    ws.append(["2026-11-23 09:00", "Ann", "+441134960000", "WhatsApp"])
    wb.save(src)
    book = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(book, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = text.replace('xmlns="', 'xmlns:x="', 1)
                text = re.sub(r"<(/?)(?!\?)([a-zA-Z])", r"<\1x:\2", text)
                data = text.encode()
            zout.writestr(info, data)
    before = book.read_bytes()
    result = run_forecourt(book)
    assert result.returncode == 4, result.stderr
    assert "prefixed XML" in result.stderr and "Traceback" not in result.stderr
    assert book.read_bytes() == before


def _locked_state(monkeypatch, failures: int) -> list[str]:
    """os.replace refuses the memory file ``failures`` times, as Windows does while a virus
    scanner or a database browser holds it (no such locks on Linux: simulated here)."""
    real = os.replace
    refused: list[str] = []

    def replace(src, dst):
        if str(dst).endswith(".forecourt.sqlite") and len(refused) < failures:
            refused.append(str(dst))
            raise PermissionError(13, "The process cannot access the file", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return refused


def test_a_memory_file_locked_for_a_moment_is_replaced_on_a_retry(tmp_path, monkeypatch):
    from forecourt.engine import run

    book = build_rich(tmp_path)
    refused = _locked_state(monkeypatch, failures=2)
    result = run(book, as_of=dt.datetime(2026, 11, 23, 10))
    assert result.written and len(refused) == 2
    assert state_path(book).exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_a_memory_file_that_stays_locked_is_exit_7_and_the_new_memory_is_kept(tmp_path,
                                                                             monkeypatch):
    from forecourt.cli import exit_code_of
    from forecourt.engine import run
    from forecourt.errors import CannotWrite, ExitCode

    book = build_rich(tmp_path)
    before = book.read_bytes()
    _locked_state(monkeypatch, failures=99)
    with pytest.raises(CannotWrite) as caught:
        run(book, as_of=dt.datetime(2026, 11, 23, 10))
    side = state_path(book).with_name(TEMP_PREFIX + state_path(book).name)
    assert exit_code_of(caught.value) == ExitCode.CANNOT_WRITE
    assert str(side) in str(caught.value) and "was written" in str(caught.value)
    assert book.read_bytes() != before, "the workbook is in place (it was renamed first)"
    with sqlite3.connect(side) as db:  # the new memory, whole, for a person to put in place
        assert db.execute("SELECT COUNT(*) FROM status").fetchone()[0] > 0


def test_a_run_from_python_leaves_the_switch_interval_as_it_found_it(tmp_path):
    """Only the ``forecourt`` command shortens Python's switch interval for its threads; a
    program that calls the engine keeps its own setting, whether the run succeeds or fails."""
    import sys

    from forecourt.engine import run
    from forecourt.errors import ForecourtError
    from forecourt.starter import write_starter

    before = sys.getswitchinterval()
    sys.setswitchinterval(0.003)
    try:
        book = write_starter(tmp_path / "book.xlsx")
        run(book, as_of=dt.datetime(2026, 11, 23, 10))
        assert sys.getswitchinterval() == pytest.approx(0.003)
        with pytest.raises(ForecourtError):
            run(tmp_path / "missing.xlsx")
        assert sys.getswitchinterval() == pytest.approx(0.003)
    finally:
        sys.setswitchinterval(before)
