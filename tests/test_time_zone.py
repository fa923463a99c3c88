"""A Settings row "Time zone" decides where "now" is when no --as-of is given: a dealer's
book run on a server in another zone still counts its SLAs in the dealer's own hours."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from openpyxl import Workbook
from preserve_books import run_forecourt
from workbooks import assert_issue, run_check

from forecourt.settings import settings_rows


def _book(tmp_path, zone: str):
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Received", "Name", "Phone", "Source", "Status"])
    ws.append([dt.datetime(2026, 11, 20, 10), "Anna Nowak", "+447700900150", "Phone", "New"])
    settings = wb.create_sheet("Settings")
    for row in settings_rows():
        settings.append(["Time zone", zone, ""] if row and row[0] == "Time zone" else row)
    path = tmp_path / f"{zone.replace('/', '-')}.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_now_is_the_clock_in_the_settings_time_zone(tmp_path, zone):
    book = _book(tmp_path, zone)
    before = dt.datetime.now(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None, second=0,
                                                              microsecond=0)
    run = run_forecourt(book, "--json", as_of=None).ok()
    after = dt.datetime.now(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)
    now = dt.datetime.fromisoformat(run.data["as_of"])
    assert before <= now <= after, (zone, now, before, after)  # UTC+14 and UTC-11: a day apart


def test_an_unknown_time_zone_is_a_bad_setting(tmp_path):
    data = run_check(_book(tmp_path, "Europe/Narnia")).data
    issue = assert_issue(data["issues"], sheet="Settings", code="bad-setting")
    assert "Europe/Narnia" in issue["message"]
