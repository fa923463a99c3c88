"""Business time: SLA clocks run only in opening hours, skipping closed days and holidays.

A WhatsApp message at Saturday 13:58 with a 5-minute SLA is due Monday 09:03. Times are the
dealer's local wall-clock time (naive datetimes); a duration that ends exactly at closing time
is due at closing time, not at the next opening.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Hours = tuple[dt.time, dt.time] | None
_MAX_DAYS = 3660  # a year of closed days is a configuration error, not a loop


@dataclass(frozen=True)
class OpeningHours:
    """Weekly hours (0 = Monday) plus closed dates."""

    week: Mapping[int, Hours]
    holidays: frozenset[dt.date] = frozenset()

    @classmethod
    def of(cls, week: Mapping[int, Hours], holidays: Iterable[dt.date] = ()) -> OpeningHours:
        if not any(week.get(d) for d in range(7)):
            raise ValueError("opening hours are closed every day of the week")
        return cls(dict(week), frozenset(holidays))

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """Opening and closing moment of ``day``, or None when closed."""
        if day in self.holidays:
            return None
        hours = self.week.get(day.weekday())
        if not hours:
            return None
        return dt.datetime.combine(day, hours[0]), dt.datetime.combine(day, hours[1])

    def is_open(self, moment: dt.datetime) -> bool:
        w = self.window(moment.date())
        return w is not None and w[0] <= moment < w[1]

    def next_open(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` if the dealer is open then, else the next opening."""
        day = moment.date()
        for _ in range(_MAX_DAYS):
            w = self.window(day)
            if w is not None and moment < w[1]:
                return max(moment, w[0])
            day += dt.timedelta(days=1)
            moment = dt.datetime.combine(day, dt.time())
        raise ValueError("no opening hours within ten years")

    def add(self, start: dt.datetime, minutes: float) -> dt.datetime:
        """The moment ``minutes`` of opening time after ``start``."""
        if minutes < 0:
            return self.subtract(start, -minutes)
        remaining = dt.timedelta(minutes=minutes)
        moment = self.next_open(start)
        for _ in range(_MAX_DAYS):
            close = self.window(moment.date())[1]  # type: ignore[index]
            if moment + remaining <= close:
                return moment + remaining
            remaining -= close - moment
            moment = self.next_open(close)
        raise ValueError("no opening hours within ten years")

    def subtract(self, end: dt.datetime, minutes: float) -> dt.datetime:
        """The moment ``minutes`` of opening time before ``end``."""
        remaining = dt.timedelta(minutes=minutes)
        moment = end
        day = end.date()
        for _ in range(_MAX_DAYS):
            w = self.window(day)
            if w is not None and moment > w[0]:
                moment = min(moment, w[1])
                if moment - remaining >= w[0]:
                    return moment - remaining
                remaining -= moment - w[0]
            day -= dt.timedelta(days=1)
            moment = dt.datetime.combine(day, dt.time.max)
        raise ValueError("no opening hours within ten years")

    def minutes_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Opening minutes from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        if end < start:
            return -self.minutes_between(end, start)
        total = dt.timedelta()
        day = start.date()
        while day <= end.date():
            w = self.window(day)
            if w is not None:
                lo, hi = max(w[0], start), min(w[1], end)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total / dt.timedelta(minutes=1)
