"""Dates as dealers type them: real dates, Excel serials, text in their own format."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.validators.normalise import guess_day_first, to_datetimes

moments = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
DAY_FIRST = ["%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
MONTH_FIRST = ["%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"]


@given(moments, st.sampled_from(DAY_FIRST))
def test_day_first_text_round_trips(moment, fmt):
    assert to_datetimes([moment.strftime(fmt)], day_first=True)[0] == pd.Timestamp(moment)


@given(moments, st.sampled_from(MONTH_FIRST))
def test_month_first_text_round_trips(moment, fmt):
    assert to_datetimes([moment.strftime(fmt)], day_first=False)[0] == pd.Timestamp(moment)


@given(moments)
def test_excel_serial_numbers_are_dates(moment):
    serial = (moment - dt.datetime(1899, 12, 30)) / dt.timedelta(days=1)
    assert to_datetimes([serial])[0] == pd.Timestamp(moment)


@given(moments)
def test_real_dates_and_datetimes_pass_through(moment):
    out = to_datetimes([moment, moment.date()])
    assert out[0] == pd.Timestamp(moment)
    assert out[1] == pd.Timestamp(moment.date())


cells = st.one_of(moments, moments.map(lambda d: d.date()), st.just(""), st.none(),
                  moments.map(lambda d: d.strftime("%d.%m.%Y %H:%M")),
                  st.sampled_from(["soon", " "]),
                  st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2001, 1, 1)),
                  moments.map(lambda d: d.replace(tzinfo=dt.timezone(dt.timedelta(hours=2)))))


@given(st.lists(cells, max_size=20))
def test_a_column_reads_as_its_cells_one_by_one(column):
    """A column of real dates takes a faster way than one with text in it: both read every
    cell as it reads alone."""
    whole = to_datetimes(column).tolist()
    alone = [to_datetimes([v])[0] for v in column]
    assert [None if pd.isna(v) else v for v in whole] == [None if pd.isna(v) else v
                                                          for v in alone]


@pytest.mark.parametrize("junk", ["gestern", "soon", "31.02.2026", "12", "", None, True, 3.5])
def test_unreadable_or_empty_is_missing(junk):
    assert pd.isna(to_datetimes([junk])[0])


def test_day_first_is_guessed_from_the_data():
    assert guess_day_first(["23/11/2026", "01/02/2026"]) is True
    assert guess_day_first(["11/23/2026", "01/02/2026"]) is False
    assert guess_day_first(["01/02/2026"], country="US") is False
    assert guess_day_first(["01/02/2026"], country="DE") is True
