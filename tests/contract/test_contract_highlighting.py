"""Every backend highlights the same rows the same way at any moment: the .xlsx file's
conditional-format formulas (evaluated by ``tests/highlighting.py``) and the grid's neutral
rules give the same kinds (overdue, due soon, stalled) for every lead row, before its due,
just after it and days later. A closed lead (Won or Lost, in English or German) is never
highlighted."""

from __future__ import annotations

import datetime as dt

import pytest
from contract_backends import KINDS
from contract_books import AS_OF, BOOKS, cell, field_column, is_closed, lead_rows

BOOK_IDS = [b.id for b in BOOKS]
KINDS_SHOWN = {"overdue", "due soon", "stalled"}
H, D = dt.timedelta(hours=1), dt.timedelta(days=1)
# moments around each row's own due time, and fixed ones around the run
AROUND_DUE = (-2 * H, -30 * dt.timedelta(minutes=1), dt.timedelta(0), dt.timedelta(minutes=1),
              3 * D)
FIXED = (AS_OF, AS_OF + 2 * H, AS_OF + 3 * D, AS_OF + 40 * D)


def moments(rows, book) -> list[dt.datetime]:
    due = field_column(rows, book, "due")
    found = set(FIXED)
    for r in lead_rows(rows, book):
        if isinstance(cell(rows, r, due), dt.datetime):
            found.update(cell(rows, r, due) + step for step in AROUND_DUE)
    return sorted(found)


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_every_backend_highlights_the_same_rows_at_every_moment(book, first_runs):
    runs = first_runs(book)
    reference = KINDS[0]
    rows = runs[reference].sheets[book.leads]
    when = moments(rows, book)
    shown = {kind: {} for kind in KINDS}
    for kind, ran in runs.items():
        kinds_at = ran.factory.highlighter(ran.backend, book.leads)
        for r in lead_rows(rows, book):
            for now in when:
                shown[kind][r, now] = kinds_at(r, now)
    for kind in KINDS[1:]:
        differ = [f"row {r} at {now:%a %d %H:%M}: {reference} {sorted(shown[reference][r, now])}"
                  f" != {kind} {sorted(got)}"
                  for (r, now), got in shown[kind].items() if got != shown[reference][r, now]]
        assert not differ, f"{book.id}:\n" + "\n".join(differ[:40])
    for kind in KINDS:
        seen = set().union(*shown[kind].values())
        assert seen == KINDS_SHOWN, f"{kind} shows {sorted(seen)} over the book"


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_a_closed_lead_is_never_highlighted(book, first_runs):
    runs = first_runs(book)
    for kind, ran in runs.items():
        rows = ran.sheets[book.leads]
        status = field_column(rows, book, "status")
        closed = [r for r in lead_rows(rows, book) if is_closed(book, cell(rows, r, status))]
        assert len(closed) >= 2, f"{book.id}: closed rows {closed}"
        kinds_at = ran.factory.highlighter(ran.backend, book.leads)
        lit = [(r, cell(rows, r, status), f"{now:%d %H:%M}", sorted(kinds_at(r, now)))
               for r in closed for now in moments(rows, book) if kinds_at(r, now)]
        assert not lit, f"{kind} highlights closed leads: {lit[:10]}"


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_highlighting_follows_the_due_time_on_every_backend(book, first_runs):
    """An open lead with a due is not overdue half an hour before it, is just after it, and
    is still overdue three days later."""
    for kind, ran in first_runs(book).items():
        rows = ran.sheets[book.leads]
        due, status = field_column(rows, book, "due"), field_column(rows, book, "status")
        kinds_at = ran.factory.highlighter(ran.backend, book.leads)
        for r in lead_rows(rows, book):
            at = cell(rows, r, due)
            if is_closed(book, cell(rows, r, status)) or not isinstance(at, dt.datetime):
                continue
            before = kinds_at(r, at - 30 * dt.timedelta(minutes=1))
            assert "overdue" not in before and "due soon" in before, \
                f"{kind}: row {r} 30 min before its due shows {sorted(before)}"
            for later in (at + dt.timedelta(minutes=1), at + 3 * D):
                got = kinds_at(r, later)
                assert "overdue" in got and "due soon" not in got, \
                    f"{kind}: row {r} at {later} shows {sorted(got)}"
