"""`forecourt run` and the other people and programs around a workbook.

Read-only files and folders are never replaced, not even by root (exit 8: a person must act).
Excel's and LibreOffice's lock files name who has the book open; an empty or old one is
called possibly stale (exit 6). One run per workbook at a time: a second one waits, then
exits 9. A killed run's temporary files are removed by the next run, and nobody else's.
Every refusal leaves the workbook byte for byte as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from preserve_books import (
    Run,
    backup_path,
    build_rich,
    hermetic_env,
    listing,
    run_args,
    run_forecourt,
    state_path,
)

TEMP_PREFIX = ".~forecourt-"
DAY = 24 * 3600


def run_with(book: Path, *extra: str, env: dict[str, str] | None = None) -> Run:
    """:func:`run_forecourt` with FORECOURT_* settings of the test's own."""
    args = run_args(book, *extra)
    proc = subprocess.run(args, capture_output=True, cwd=book.parent,
                          env=hermetic_env() | (env or {}), timeout=120)
    return Run(args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
               proc.stderr.decode("utf-8", "replace"))


def refused(run: Run, code: int) -> str:
    """The one-sentence message of a refusal with exit ``code``."""
    assert run.returncode == code, run.detail()
    assert "Traceback" not in run.stderr, run.detail()
    assert "nothing was written" in run.stderr.lower(), run.detail()
    return run.stderr


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def excel_owner_file(name: str, utf16_at: int = 55) -> bytes:
    """Excel's ``~$`` owner file: length byte, the name in the Windows code page padded with
    spaces, then a 2-byte length and the name in UTF-16LE (at 55 in Excel's files, 54 in
    Word's), spaces to 165 bytes."""
    ansi = name.encode("cp1252", "replace")
    head = bytes([len(name)]) + ansi
    head += b" " * (utf16_at - len(head))
    data = head + len(name).to_bytes(2, "little") + name.encode("utf-16-le")
    return data + b" \x00" * ((165 - len(data)) // 2) + b" " * ((165 - len(data)) % 2)


# ---------------------------------------------------------------------------------------------
# Read-only: never replaced, exit 8
# ---------------------------------------------------------------------------------------------


def test_read_only_workbook_is_never_replaced_even_as_root(tmp_path):
    """Root may rename over a read-only file; forecourt checks the mode bits itself."""
    book = build_rich(tmp_path)
    book.chmod(0o444)
    before, names = book.read_bytes(), listing(tmp_path)

    message = refused(run_forecourt(book), 8)

    assert "read-only" in message and book.name in message, message
    assert "make the file writable" in message.lower() and "--out" in message, message
    assert book.read_bytes() == before
    assert stat.S_IMODE(book.stat().st_mode) == 0o444, "the file's mode changed"
    assert listing(tmp_path) == names, "files were written beside a read-only workbook"


@pytest.mark.parametrize("extra", [["--dry-run"], ["--out", "updated.xlsx"]],
                         ids=["dry-run", "out-elsewhere"])
def test_read_only_workbook_can_still_be_read(tmp_path, extra):
    book = build_rich(tmp_path)
    book.chmod(0o444)
    before = book.read_bytes()
    run_forecourt(book, *extra).ok()
    assert book.read_bytes() == before
    if "--out" in extra:
        assert (tmp_path / "updated.xlsx").exists()


def test_read_only_memory_file_is_never_replaced(tmp_path):
    book = build_rich(tmp_path)
    run_forecourt(book).ok()
    memory = state_path(book)
    memory.chmod(0o444)
    before, memory_before = book.read_bytes(), memory.read_bytes()

    message = refused(run_forecourt(book, as_of="2026-11-23 11:00"), 8)

    assert "memory" in message and "read-only" in message and memory.name in message, message
    assert book.read_bytes() == before and memory.read_bytes() == memory_before


def test_read_only_folder_is_refused_even_as_root(tmp_path):
    """Root may create files in a read-only folder; forecourt checks the folder's bits."""
    folder = tmp_path / "books"
    folder.mkdir()
    book = build_rich(folder)
    before, names = book.read_bytes(), listing(folder)
    folder.chmod(0o555)
    try:
        message = refused(run_forecourt(book), 8)
        assert listing(folder) == names, "files were written in a read-only folder"
    finally:
        folder.chmod(0o755)
    assert "folder" in message and "read-only" in message and str(folder) in message, message
    assert "--out" in message, message
    assert book.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# Open in Excel or LibreOffice: who has it, exit 6
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "person"), [
    (excel_owner_file("Dave Smith"), "Dave Smith"),
    (excel_owner_file("Łucja Żak"), "Łucja Żak"),                # UTF-16 copy: any letter
    (excel_owner_file("Jürgen Weiß", utf16_at=54), "Jürgen Weiß"),  # Word's layout
    (b"\x04Dave" + b" " * 50 + b"\xff\xff" + bytes(100), "Dave"),   # code-page copy only
    (bytes(range(200, 256)) * 3, "someone"),                        # nothing readable
], ids=["excel", "utf16-name", "word-layout", "ansi-only", "garbage"])
def test_excel_owner_file_names_the_person(tmp_path, content, person):
    book = build_rich(tmp_path)
    (tmp_path / "~$dealer.xlsx").write_bytes(content)
    before, names = book.read_bytes(), listing(tmp_path)

    message = refused(run_forecourt(book), 6)

    assert f"is open in Excel by {person} " in message, message
    assert "~$dealer.xlsx" in message and "stale" not in message, message
    assert book.read_bytes() == before
    assert listing(tmp_path) == names


@pytest.mark.parametrize(("content", "person"), [
    (b",Dave Smith,dealer-pc,23.11.2026 09:58,file:///home/dave/.config/libreoffice/4;",
     "Dave Smith"),
    ("Łucja Nowak,lucja,biuro,23.11.2026 09:58,file:///C:/Users/lucja/AppData/LibreOffice/4;"
     .encode(), "Łucja Nowak"),
    (rb"Smith\, John,john,pc,23.11.2026 09:58,file:///x;", "Smith, John"),
], ids=["system-user", "profile-name", "escaped-comma"])
def test_libreoffice_lock_names_the_person(tmp_path, content, person):
    book = build_rich(tmp_path)
    (tmp_path / ".~lock.dealer.xlsx#").write_bytes(content)
    before, names = book.read_bytes(), listing(tmp_path)

    message = refused(run_forecourt(book), 6)

    assert f"is open in LibreOffice by {person} " in message, message
    assert "Excel" not in message and "stale" not in message, message
    assert book.read_bytes() == before
    assert listing(tmp_path) == names


@pytest.mark.parametrize("lock_name", ["~$dealer.xlsx", ".~lock.dealer.xlsx#"])
def test_empty_lock_file_is_called_possibly_stale(tmp_path, lock_name):
    book = build_rich(tmp_path)
    lock = tmp_path / lock_name
    lock.write_bytes(b"")
    before = book.read_bytes()

    message = refused(run_forecourt(book), 6)

    assert "looks stale (empty, less than a minute old)" in message, message
    assert "if nobody has the workbook open, delete" in message and str(lock) in message, message
    assert book.read_bytes() == before and lock.exists()


def test_day_old_lock_file_is_called_possibly_stale(tmp_path):
    book = build_rich(tmp_path)
    lock = tmp_path / ".~lock.dealer.xlsx#"
    lock.write_bytes(b",Dave,dealer-pc,22.11.2026 09:58,file:///home/dave/.config/lo/4;")
    day_ago = time.time() - DAY
    os.utime(lock, (day_ago, day_ago))
    before = book.read_bytes()

    message = refused(run_forecourt(book), 6)

    assert "looks open in LibreOffice by Dave, but its lock file looks stale (24 hours old)" \
        in message, message
    assert f"delete {lock} and the run can go ahead" in message, message
    assert book.read_bytes() == before and lock.exists()


def test_how_old_a_lock_must_be_to_look_stale_is_a_setting(tmp_path):
    book = build_rich(tmp_path)
    lock = tmp_path / "~$dealer.xlsx"
    lock.write_bytes(excel_owner_file("Dave"))
    day_ago = time.time() - DAY
    os.utime(lock, (day_ago, day_ago))
    message = refused(run_with(book, env={"FORECOURT_STALE_LOCK_HOURS": "48"}), 6)
    assert "is open in Excel by Dave " in message and "stale" not in message, message


def test_out_beside_a_locked_input_is_written(tmp_path):
    """The input is only read: Excel having it open does not stop --out OTHER.xlsx."""
    book = build_rich(tmp_path)
    (tmp_path / "~$dealer.xlsx").write_bytes(excel_owner_file("Dave"))
    before = book.read_bytes()
    out = tmp_path / "dealer-updated.xlsx"
    run_forecourt(book, "--out", str(out)).ok()
    assert out.exists() and book.read_bytes() == before


def test_out_to_a_locked_output_is_refused(tmp_path):
    book = build_rich(tmp_path)
    out = tmp_path / "report.xlsx"
    shutil.copyfile(book, out)
    (tmp_path / ".~lock.report.xlsx#").write_bytes(b",Sam,office,23.11.2026 09:00,file:///x;")
    before, out_before = book.read_bytes(), out.read_bytes()

    message = refused(run_forecourt(book, "--out", str(out)), 6)

    assert f"{out} is open in LibreOffice by Sam " in message, message
    assert book.read_bytes() == before and out.read_bytes() == out_before


# ---------------------------------------------------------------------------------------------
# One run per workbook: the run lock, exit 9
# ---------------------------------------------------------------------------------------------


def run_lock(book: Path) -> Path:
    return book.with_name(f"{TEMP_PREFIX}{book.name}.lock")


def hold_run_lock(book: Path, pid: int, started: datetime) -> bytes:
    """A run lock as a run with ``pid`` on this computer writes it."""
    data = json.dumps({"pid": pid, "host": socket.gethostname(),
                       "started": started.isoformat(timespec="seconds")}).encode()
    run_lock(book).write_bytes(data)
    return data


def test_a_second_run_waits_then_exits_9_and_changes_nothing(tmp_path):
    book = build_rich(tmp_path)
    held = hold_run_lock(book, os.getpid(), datetime.now())  # this test: alive
    before, names = book.read_bytes(), listing(tmp_path)

    started = time.monotonic()
    message = refused(run_with(book, env={"FORECOURT_RUN_WAIT_SECONDS": "1"}), 9)
    waited = time.monotonic() - started

    assert re.search(rf"another forecourt run on \S*{re.escape(book.name)} is under way "
                     rf"\(pid {os.getpid()} since \d\d:\d\d\); try again later", message), message
    assert waited >= 1, f"gave up after {waited:.2f}s without waiting"
    assert book.read_bytes() == before
    assert run_lock(book).read_bytes() == held, "the other run's lock was touched"
    assert listing(tmp_path) == names


def test_two_runs_at_once_take_turns(tmp_path):
    """A scheduled run and a button press at the same moment: the second waits for the
    first instead of failing on the first one's memory file (exit 7 before run locks)."""
    book = build_rich(tmp_path)
    env = hermetic_env() | {"FORECOURT_RUN_WAIT_SECONDS": "60"}
    procs = [subprocess.Popen(run_args(book, "--json"), cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]

    for code, _out, err in results:
        assert code == 0, err.decode()
    # The second read the book again once the first had written it: nothing left to do.
    assert sorted(json.loads(out)["written"] for _code, out, _err in results) == [False, True]
    assert not run_lock(book).exists()
    assert not [n for n in listing(tmp_path) if n.startswith(TEMP_PREFIX)]
    assert backup_path(book).exists() and state_path(book).exists()


@pytest.mark.parametrize("holder", ["dead-pid", "hours-old"])
def test_stale_run_lock_is_taken_over(tmp_path, holder):
    book = build_rich(tmp_path)
    if holder == "dead-pid":
        pid = dead_pid()
        hold_run_lock(book, pid, datetime.now())
        why = f"its run (pid {pid} since"
    else:  # alive (this test), but no run takes two hours
        hold_run_lock(book, os.getpid(), datetime.now() - timedelta(hours=2))
        why = "it is 2 hours old"
    before = book.read_bytes()

    run = run_forecourt(book).ok()

    assert f"took over the run lock {run_lock(book)}: {why}" in run.stderr, run.detail()
    assert book.read_bytes() != before, "the run did not write"
    assert not run_lock(book).exists(), "the run lock was left behind"


def test_dry_run_takes_no_run_lock(tmp_path):
    book = build_rich(tmp_path)
    held = hold_run_lock(book, os.getpid(), datetime.now())
    before = book.read_bytes()
    run_with(book, "--dry-run", env={"FORECOURT_RUN_WAIT_SECONDS": "30"}).ok()
    assert book.read_bytes() == before and run_lock(book).read_bytes() == held


def test_run_lock_is_removed_when_the_run_fails(tmp_path):
    book = build_rich(tmp_path)
    # The memory's side file cannot be created: exit 7 after the lock was taken.
    state_path(book).with_name(TEMP_PREFIX + state_path(book).name).mkdir()
    before = book.read_bytes()
    run = run_forecourt(book)
    assert run.returncode == 7, run.detail()
    assert not run_lock(book).exists(), "a failed run left its lock"
    assert book.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# What a killed run left behind
# ---------------------------------------------------------------------------------------------


def test_a_killed_runs_leftovers_are_removed_and_nothing_else(tmp_path):
    book = build_rich(tmp_path)
    dead, alive = dead_pid(), os.getpid()
    size = len(book.read_bytes())
    leftovers = {
        f"{TEMP_PREFIX}{dead}-dealer.xlsx": os.urandom(size),       # the workbook being written
        f"{TEMP_PREFIX}dealer.forecourt.sqlite": b"SQLite format 3\x00" + bytes(4000),
        f"{TEMP_PREFIX}dealer.forecourt.bak.xlsx": os.urandom(size),  # the backup being copied
    }
    kept = {
        f"{TEMP_PREFIX}{alive}-dealer.xlsx": b"a live run's",          # another run, alive
        f"{TEMP_PREFIX}{dead}-stock.xlsx": b"another workbook's",      # another workbook
        f"{TEMP_PREFIX}{dead}-5-dealer.xlsx": b"of 5-dealer.xlsx",     # only looks similar
        f"{TEMP_PREFIX}{dead}-dealer.xlsx.bak": b"not ours",
        f"{TEMP_PREFIX}stock.forecourt.sqlite": b"another memory's",
        f"dealer-{dead}.xlsx": b"the dealer's",
        "~dealer.xlsx": b"the dealer's",
        "notes.txt": b"the dealer's",
    }
    for name, data in {**leftovers, **kept}.items():
        (tmp_path / name).write_bytes(data)
    before = book.read_bytes()

    run = run_forecourt(book).ok()

    names = listing(tmp_path)
    assert not set(leftovers) & set(names), names
    for name, data in kept.items():
        assert (tmp_path / name).read_bytes() == data, f"{name} was touched"
    assert "removed the temporary files that a run stopped mid-write had left beside " \
           "dealer.xlsx" in run.stderr, run.detail()
    for name in leftovers:
        assert name in run.stderr, run.detail()
    assert book.read_bytes() != before, "the run did not write"


def test_leftovers_are_left_alone_by_a_refused_or_dry_run(tmp_path):
    book = build_rich(tmp_path)
    debris = tmp_path / f"{TEMP_PREFIX}{dead_pid()}-dealer.xlsx"
    debris.write_bytes(b"half a workbook")
    run_forecourt(book, "--dry-run").ok()
    assert debris.exists(), "a dry run removed files"
    lock = tmp_path / "~$dealer.xlsx"
    lock.write_bytes(excel_owner_file("Dave"))
    refused(run_forecourt(book), 6)
    assert debris.exists(), "a refused run removed files"
