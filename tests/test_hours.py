"""Opening-hours arithmetic: the SLA clock runs only while the dealer is open."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.hours import OpeningHours
from forecourt.settings import DEFAULT_HOURS

XMAS = {dt.date(2026, 12, 24), dt.date(2026, 12, 25), dt.date(2026, 12, 26)}
HOURS = OpeningHours.of(DEFAULT_HOURS, XMAS)
moments = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31))
durations = st.integers(min_value=0, max_value=60 * 24 * 10)


def at(text):
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        ("2026-11-21 13:58", 5, "2026-11-23 09:03"),  # Saturday afternoon -> Monday
        ("2026-11-23 10:00", 10, "2026-11-23 10:10"),
        ("2026-11-23 17:55", 5, "2026-11-23 18:00"),  # ends at closing, not next morning
        ("2026-11-23 17:55", 15, "2026-11-24 09:10"),
        ("2026-11-23 21:30", 15, "2026-11-24 09:15"),  # evening
        ("2026-11-22 11:00", 60, "2026-11-23 10:00"),  # Sunday
        ("2026-12-23 17:30", 60, "2026-12-28 09:30"),  # Christmas holidays, then Sunday
        ("2026-11-20 12:00", 8 * 60, "2026-11-21 11:00"),  # 8 business hours over a Friday
    ],
)
def test_due_times(start, minutes, due):
    assert HOURS.add(at(start), minutes) == at(due)


@given(moments, durations)
def test_adding_n_minutes_spends_exactly_n_opening_minutes(start, minutes):
    due = HOURS.add(start, minutes)
    assert due >= start
    assert HOURS.minutes_between(start, due) == pytest.approx(minutes)


@given(moments, durations, durations)
def test_adding_in_two_steps_is_adding_once(start, a, b):
    assert HOURS.add(HOURS.add(start, a), b) == HOURS.add(start, a + b)


@given(moments, durations, durations)
def test_later_start_or_longer_sla_is_never_due_earlier(start, a, b):
    lo, hi = sorted((a, b))
    assert HOURS.add(start, lo) <= HOURS.add(start, hi)


@given(moments, st.integers(min_value=1, max_value=60 * 24 * 10))
def test_a_due_time_is_inside_opening_hours(start, minutes):
    due = HOURS.add(start, minutes)
    window = HOURS.window(due.date())
    assert window is not None and window[0] < due <= window[1]


@given(moments, durations)
def test_subtract_undoes_add_when_starting_open(start, minutes):
    start = HOURS.next_open(start)
    assert HOURS.minutes_between(HOURS.subtract(HOURS.add(start, minutes), minutes), start) == 0


def test_always_closed_is_refused():
    with pytest.raises(ValueError):
        OpeningHours.of({d: None for d in range(7)})


times = st.integers(min_value=0, max_value=23 * 60 + 59).map(lambda m: dt.time(m // 60, m % 60))
day_hours = st.one_of(st.none(), st.tuples(times, times).filter(lambda h: h[0] < h[1]))
weeks = st.lists(day_hours, min_size=7, max_size=7).filter(any)
holidays = st.sets(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31)),
                   max_size=40)


@given(weeks, holidays, st.lists(st.one_of(st.none(), moments), min_size=1, max_size=20),
       st.integers(min_value=-60 * 24 * 10, max_value=60 * 24 * 10))
def test_many_moments_at_once_are_the_single_results(week, closed, starts, minutes):
    """The vectorised arithmetic the engine uses for 100k leads gives the very same due times
    as the one-at-a-time definition, on any week, holidays, moments and durations."""
    hours = OpeningHours.of(dict(enumerate(week)), closed)
    moments = np.array(starts, dtype="datetime64[us]")
    try:
        expected = [None if s is None else hours.add(s, minutes) for s in starts]
    except ValueError:  # no opening hours within ten years (a week open for a minute)
        with pytest.raises(ValueError):
            hours.add_many(moments, minutes)
        return
    assert hours.add_many(moments, minutes).astype(object).tolist() == expected


@given(weeks, holidays, st.lists(st.one_of(st.none(), moments), min_size=1, max_size=20),
       st.integers(min_value=0, max_value=60 * 24 * 10))
def test_subtracting_many_moments_at_once_is_subtracting_each(week, closed, ends, minutes):
    """Rules counted back from their anchor ("confirm 24 h before the appointment"), 0 minutes
    included: subtracting 0 stays at or before the moment, adding 0 may move forward."""
    hours = OpeningHours.of(dict(enumerate(week)), closed)
    moments = np.array(ends, dtype="datetime64[us]")
    try:
        expected = [None if e is None else hours.subtract(e, minutes) for e in ends]
    except ValueError:
        with pytest.raises(ValueError):
            hours.subtract_many(moments, minutes)
        return
    assert hours.subtract_many(moments, minutes).astype(object).tolist() == expected
