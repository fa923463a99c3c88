"""The Settings tab: what forecourt writes, it reads back; edits are taken, bad ones reported."""

import datetime as dt

from forecourt.settings import Settings, parse_duration, settings_from_rows, settings_rows


def _read(rows):
    return settings_from_rows(list(enumerate(rows, start=1)))


def test_written_settings_read_back_as_the_defaults():
    for language in ("en", "de", "pl"):
        settings, problems = _read(settings_rows(language=language))
        assert problems == []
        assert settings == Settings(language=language)


def test_dealer_edits_are_taken():
    rows = settings_rows()
    edited = []
    for row in rows:
        row = list(row)
        if row and row[0] == "Saturday":
            row[1] = "closed"
        if row and row[0] == "New lead, chat":
            row[1] = "3 min"
        if row and row[0] == "Holiday":
            row[1] = dt.date(2026, 12, 24)
        edited.append(row)
    settings, problems = _read(edited)
    assert problems == []
    assert settings.opening_hours[5] is None
    assert settings.rule("New lead, chat").minutes == 3
    assert settings.holidays == (dt.date(2026, 12, 24),)


def test_bad_values_are_reported_and_the_default_kept():
    settings, problems = _read([["Monday", "all day"], ["KPI window (days)", "lots"]])
    assert [p.row for p in problems] == [1, 2]
    assert settings.opening_hours[0] == (dt.time(9), dt.time(18))
    assert settings.kpi_window_days == 30


def test_durations():
    assert parse_duration("5 min") == (5, False)
    assert parse_duration("8 h") == (480, False)
    assert parse_duration("24 h before") == (1440, True)
    assert parse_duration("30 days") == (43200, False)
    assert parse_duration("2 godz") == (120, False)
    assert parse_duration("soon") is None


def test_closed_every_day_is_a_bad_setting_and_the_default_hours_stay():
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    rows = [[r[0], "closed"] if r and r[0] in days else list(r) for r in settings_rows()]
    settings, problems = _read(rows)
    assert settings.opening_hours == Settings().opening_hours
    assert any("closed every day" in p.message for p in problems), problems


def test_a_holiday_typed_below_the_sla_table_is_a_holiday():
    rows = [*map(list, settings_rows()), ["Holiday", dt.date(2026, 12, 24)]]
    settings, problems = _read(rows)
    assert problems == []
    assert dt.date(2026, 12, 24) in settings.holidays
