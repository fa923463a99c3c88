"""Business time: SLA clocks run only in opening hours, skipping closed days and holidays.

A WhatsApp message at Saturday 13:58 with a 5-minute SLA is due Monday 09:03. Times are the
dealer's local wall-clock time (naive datetimes); a duration that ends exactly at closing time
is due at closing time, not at the next opening.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

Hours = tuple[dt.time, dt.time] | None
Window = tuple[dt.datetime, dt.datetime]
_MAX_DAYS = 3660  # a year of closed days is a configuration error, not a loop
_MISSING = object()
_DAY = dt.timedelta(days=1)
_EPOCH = dt.datetime(1970, 1, 1)
_US = dt.timedelta(microseconds=1)
_US_PER_DAY = 86_400_000_000
_US_PER_MINUTE = 60_000_000
_EXACT = 2**53  # microsecond totals below this convert to float exactly


@dataclass(frozen=True)
class OpeningHours:
    """Weekly hours (0 = Monday) plus closed dates.

    Windows are cached per date on the instance (a few thousand dates at most), so ``week``
    must not be changed after construction (:meth:`of` takes a copy).
    """

    week: Mapping[int, Hours]
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        self._new_caches()

    def _new_caches(self) -> None:
        # Caches, not fields: they take no part in equality, repr, copies or pickles.
        # Frozen, hence object.__setattr__.
        object.__setattr__(self, "_windows", {})  # date -> window or None
        object.__setattr__(self, "_after", {})  # date -> first usable window after that date

    def __getstate__(self) -> dict:
        return {"week": self.week, "holidays": self.holidays}

    def __setstate__(self, state: dict) -> None:
        object.__setattr__(self, "week", state["week"])
        object.__setattr__(self, "holidays", state["holidays"])
        self._new_caches()

    @classmethod
    def of(cls, week: Mapping[int, Hours], holidays: Iterable[dt.date] = ()) -> OpeningHours:
        if not any(week.get(d) for d in range(7)):
            raise ValueError("opening hours are closed every day of the week")
        return cls(dict(week), frozenset(holidays))

    def window(self, day: dt.date) -> Window | None:
        """Opening and closing moment of ``day``, or None when closed."""
        found = self._windows.get(day, _MISSING)
        if found is _MISSING:
            found = self._windows[day] = self._window(day)
        return found  # type: ignore[return-value]

    def _window(self, day: dt.date) -> Window | None:
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
        return self._next_open(moment)[0]

    def _next_open(self, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """:meth:`next_open` of ``moment``, and the closing time of that day's window."""
        day = moment.date()
        w = self.window(day)
        if w is not None and moment < w[1]:
            return max(moment, w[0]), w[1]
        return self._opening_after(day)

    def _opening_after(self, day: dt.date) -> Window:
        """The window of the first day after ``day`` still open after midnight: where
        :meth:`next_open` goes from a moment of ``day`` past that day's opening hours."""
        found = self._after.get(day)
        if found is None:
            current = day
            for _ in range(_MAX_DAYS - 1):
                current += _DAY
                w = self.window(current)
                if w is not None and dt.datetime.combine(current, dt.time()) < w[1]:
                    found = self._after[day] = w
                    break
            else:
                raise ValueError("no opening hours within ten years")
        return found

    def add(self, start: dt.datetime, minutes: float) -> dt.datetime:
        """The moment ``minutes`` of opening time after ``start``."""
        if minutes < 0:
            return self.subtract(start, -minutes)
        remaining = dt.timedelta(minutes=minutes)
        moment, close = self._next_open(start)
        for _ in range(_MAX_DAYS):
            end = moment + remaining
            if end <= close:
                return end
            remaining -= close - moment
            # From closing time the next opening is on a later day.
            moment, close = self._opening_after(close.date())
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

    def minutes_between_many(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """:meth:`minutes_between` of each pair of two datetime64 arrays, all at once.

        The same floats as the pairwise calls on the moments as datetimes (to the microsecond);
        NaN where either moment is NaT.
        """
        s = np.asarray(start).astype("datetime64[us]")
        e = np.asarray(end).astype("datetime64[us]")
        out = np.full(s.shape, np.nan)
        known = ~(np.isnat(s) | np.isnat(e))
        if not known.any():
            return out
        s, e = s[known].astype(np.int64), e[known].astype(np.int64)  # microseconds from 1970
        back = e < s
        lo, hi = np.where(back, e, s), np.where(back, s, e)
        first_day, last_day = lo // _US_PER_DAY, hi // _US_PER_DAY
        base = int(first_day.min())
        span = int(last_day.max()) - base + 1
        # Each day's window in microseconds; a closed day is an empty window at its midnight.
        day = _EPOCH.date() + dt.timedelta(days=base)
        opens = np.empty(span, dtype=np.int64)
        closes = np.empty(span, dtype=np.int64)
        for k in range(span):
            w = self.window(day)
            if w is None:
                opens[k] = closes[k] = (base + k) * _US_PER_DAY
            else:
                opens[k], closes[k] = (w[0] - _EPOCH) // _US, (w[1] - _EPOCH) // _US
            day += _DAY
        before = np.concatenate(([0], np.cumsum(np.maximum(closes - opens, 0))))
        i, j = first_day - base, last_day - base

        def overlap(k: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
            return np.maximum(np.minimum(closes[k], hi) - np.maximum(opens[k], lo), 0)

        # First day, then (when the span has more days) the whole days between and the last.
        total = overlap(i, lo, hi)
        more = j > i
        i, j = i[more], j[more]
        total[more] += before[j] - before[i + 1] + overlap(j, lo[more], hi[more])
        minutes = total / _US_PER_MINUTE
        huge = total >= _EXACT
        if huge.any():  # beyond float precision: divide as Python does, from the exact integer
            minutes[huge] = [int(t) / _US_PER_MINUTE for t in total[huge]]
        out[known] = np.where(back, -minutes, minutes)
        return out

    def add_many(self, start: np.ndarray, minutes: float) -> np.ndarray:
        """:meth:`add` of every moment of a datetime64 array at once (NaT stays NaT)."""
        return self._shift_many(start, minutes, back=minutes < 0)

    def subtract_many(self, end: np.ndarray, minutes: float) -> np.ndarray:
        """:meth:`subtract` of every moment of a datetime64 array at once (NaT stays NaT);
        0 minutes stays at or before the moment, as :meth:`subtract` does."""
        return self._shift_many(end, -minutes, back=True)

    def _shift_many(self, start: np.ndarray, minutes: float, back: bool) -> np.ndarray:
        """:meth:`add` (``back`` False) or :meth:`subtract` of ``-minutes`` (True) of every
        moment at once: the same moments as the single calls.

        Opening minutes are laid end to end: each window's start is given its count of
        opening microseconds before it, so a due time is a position on that line plus the
        duration, found back with a binary search.
        """
        s = np.asarray(start).astype("datetime64[us]")
        out = np.full(s.shape, np.datetime64("NaT"), dtype="datetime64[us]")
        known = ~np.isnat(s)
        if not known.any():
            return out

        def one(x: dt.datetime) -> dt.datetime:
            return self.subtract(x, -minutes) if back else self.add(x, minutes)

        if any(h is not None and h[1] <= h[0] for h in self.week.values()):
            out[known] = [one(x) for x in s[known].tolist()]
            return out
        length = dt.timedelta(minutes=abs(minutes)) // _US
        us = s[known].astype(np.int64)
        first, last = int(us.min()) // _US_PER_DAY - 1, int(us.max()) // _US_PER_DAY + 1
        span = last - first
        while last - first <= span + _MAX_DAYS:  # each round widens the days by over 2x
            opens, closes = self._windows_between(first, last)
            before = np.concatenate(([0], np.cumsum(closes - opens)))
            if back:  # from the last window opening before the moment
                k = np.searchsorted(opens, us, side="left") - 1
                if len(opens) and (k >= 0).all():
                    target = before[k] + np.minimum(us, closes[k]) - opens[k] - length
                    if (target >= 0).all():
                        j = np.minimum(np.searchsorted(before[:-1], target, side="right") - 1, k)
                        break
                first -= 2 * (last - first) + 14
            else:  # from the first window closing after the moment
                k = np.searchsorted(closes, us, side="right")
                if (k < len(opens)).all():
                    target = before[k] + np.maximum(us, opens[k]) - opens[k] + length
                    if (target <= before[-1]).all():
                        j = np.maximum(np.searchsorted(before[1:], target, side="left"), k)
                        break
                last += 2 * (last - first) + 14
        else:  # years of closed days (a near-empty week): the single-moment loop decides
            out[known] = [one(x) for x in s[known].tolist()]
            return out
        out[known] = (opens[j] + target - before[j]).astype("datetime64[us]")
        return out

    def _windows_between(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        """(opening, closing) microseconds since 1970 of the open days from day number
        ``first`` to ``last`` (days since 1970), in order."""
        opens, closes = [], []
        day = _EPOCH.date() + dt.timedelta(days=first)
        for _ in range(first, last + 1):
            w = self.window(day)
            if w is not None:
                opens.append((w[0] - _EPOCH) // _US)
                closes.append((w[1] - _EPOCH) // _US)
            day += _DAY
        return np.array(opens, dtype=np.int64), np.array(closes, dtype=np.int64)
