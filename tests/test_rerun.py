"""A rerun that changes none of the dealer's cells says what it did change (the generated
sheets' figures and stamp), and keeps the backup of the last run that changed their cells."""

from __future__ import annotations

from openpyxl import load_workbook
from preserve_books import backup_path, run_forecourt
from workbooks import build_english


def _stamp(book) -> str:
    ws = load_workbook(book)["KPI"]
    return next(str(c.value) for row in ws.iter_rows() for c in row
                if c.value and "2026" in str(c.value))


def test_a_rerun_that_only_refreshes_the_generated_sheets_says_so_and_keeps_the_backup(
        tmp_path):
    book = build_english(tmp_path)
    original = book.read_bytes()
    first = run_forecourt(book, as_of="2026-11-23 10:07").ok()
    assert "wrote" in first.stdout and "cells" in first.stdout
    assert backup_path(book).read_bytes() == original
    after_first = book.read_bytes()

    second = run_forecourt(book, as_of="2026-11-23 10:08").ok()
    line = second.stdout.strip().splitlines()[-1]
    assert "0 cells" not in second.stdout
    assert "KPI" in line and "Issues" in line and "none of your own cells changed" in line, line
    assert "10:08" in _stamp(book)
    # the backup is still the dealer's book as it was before forecourt first changed it
    assert backup_path(book).read_bytes() == original
    assert book.read_bytes() != after_first

    third = run_forecourt(book, "--json", as_of="2026-11-23 10:08").ok()
    assert third.data["written"] is False and third.data["changed_sheets"] == []
