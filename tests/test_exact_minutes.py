"""Every date-time forecourt writes shows its exact minute: a due of 14:45 is 14:45 in Excel,
LibreOffice and Google Sheets, not 14:44 (a serial cut to 8 decimals is 14:44:59.9996, and
spreadsheets show the minute that has begun)."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from preserve_books import run_forecourt
from workbooks import build_english

from forecourt.sync.xlsx.sheetdata import _cell_tail, _column_tails

EPOCH = dt.datetime(1899, 12, 30)
minutes = st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2199, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0))


def _serial(tail: bytes) -> float:
    return float(tail.split(b"<v>")[1].split(b"</v>")[0])


def _shown_minute(serial: float) -> dt.datetime:
    """The minute a spreadsheet shows for a serial under a format without seconds: the moment
    to 10 microseconds (a float near day 100000 is 1.5 us apart from the next; LibreOffice
    showed 14:44 for 14:44:59.9996), then the minute it falls in."""
    moment = EPOCH + dt.timedelta(days=serial) + dt.timedelta(microseconds=10)
    return moment.replace(second=0, microsecond=0)


@settings(max_examples=500)
@given(minutes)
def test_a_written_minute_is_the_nearest_serial_and_shown_as_that_minute(moment):
    serial = _serial(_cell_tail(dt.datetime, moment, None, 3))
    exact = Fraction((moment - EPOCH) // dt.timedelta(minutes=1), 1440)
    assert serial == float(exact)  # the nearest float: nothing cut off
    assert _shown_minute(serial) == moment


@settings(max_examples=200)
@given(st.lists(minutes, min_size=1, max_size=30))
def test_a_column_of_minutes_is_shown_minute_by_minute(moments):
    shown = [_shown_minute(_serial(t)) for t in _column_tails(moments, 3)]
    assert shown == moments


def test_every_minute_of_a_day_survives(tmp_path):
    day = dt.datetime(2026, 11, 23)
    moments = [day + dt.timedelta(minutes=m) for m in range(1440)]
    assert [_shown_minute(_serial(t)) for t in _column_tails(moments, 3)] == moments


def test_libreoffice_shows_the_minutes_forecourt_wrote(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is not installed: install libreoffice-calc-nogui "
                    "(.ci/run does) to run this test")
    book = build_english(tmp_path)
    run_forecourt(book, as_of="2026-11-23 10:07").ok()
    ws = load_workbook(book)["Sheet1"]
    header = [c.value for c in ws[1]]
    due = header.index("Due")
    written = [row[due] for row in ws.iter_rows(min_row=2, values_only=True)]
    formats = [row[due].number_format for row in ws.iter_rows(min_row=2)]
    assert any(isinstance(v, dt.datetime) for v in written), written
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true",
         "--outdir", str(tmp_path / "csv"), str(book)],
        capture_output=True, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    with (tmp_path / "csv" / "dealer.csv").open(encoding="utf-8") as f:
        shown = [row[due] for row in list(csv.reader(f))[1:]]
    for value, text, fmt in zip(written, shown, formats, strict=True):
        if not isinstance(value, dt.datetime):
            continue
        assert value.second == 0 and value.microsecond == 0, value  # the engine's minutes
        # the minute as LibreOffice shows it, whatever the date order of the format
        assert value.strftime("%H:%M") in text, (value, text, fmt)
