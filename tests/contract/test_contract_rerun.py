"""Running again: a second run at the same moment writes nothing, on every backend; and after a
person's edits a second run keeps them and recomputes only the engine's own values."""

from __future__ import annotations

import datetime as dt

import pytest
from contract_backends import FACTORIES, KINDS, differences
from contract_books import AS_OF, BOOKS, cell, field_column

from forecourt.engine import run

BOOK_IDS = [b.id for b in BOOKS]
PERSON_ACTION = "Bring the car round for a test drive"
LATER = AS_OF + dt.timedelta(hours=1)


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_a_second_run_at_the_same_moment_writes_nothing(book, factory, tmp_path):
    backend = factory.make(book.sheets, tmp_path)
    assert run(backend, as_of=AS_OF).written
    cells, before = factory.sheets(backend), factory.fingerprint(backend)

    again = run(factory.reopen(backend), as_of=AS_OF)

    assert again.written is False, \
        f"{factory.kind}: the second run wrote {again.outcome.summary.get('changed_sheets')}"
    assert again.outcome.summary.get("changed_sheets") == []
    assert not again.outcome.summary.get("skipped")
    diff = differences(cells, factory.sheets(backend), ("first run", "second run"))
    assert not diff, "\n".join(diff[:40])
    assert factory.fingerprint(backend) == before, \
        f"{factory.kind}: the workbook changed though no cell did"


def _after_a_persons_edits(book, made, where):
    """First run; a person changes one lead's owner and next action and moves another lead's
    status on; a second run an hour later. Returns the cells after each run and the owner the
    person chose."""
    backend = made.make(book.sheets, where)
    run(backend, as_of=AS_OF)
    first = made.sheets(backend)
    rows = first[book.leads]
    owner, action, status = (field_column(rows, book, f)
                             for f in ("owner", "next_action", "status"))
    chosen = next(n for n in book.team if n != cell(rows, book.person_row, owner))
    made.edit(backend, book.leads, {(book.person_row, owner): chosen,
                                    (book.person_row, action): PERSON_ACTION,
                                    (book.moved_row, status): book.moved_to})
    second = run(made.reopen(backend), as_of=LATER)
    assert second.written
    return first, made.sheets(backend), chosen


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_a_persons_entry_wins_and_a_moved_lead_gets_the_engines_new_next_action(book, tmp_path):
    after = {}
    for kind, made in FACTORIES.items():
        first, second, chosen = _after_a_persons_edits(book, made, tmp_path / kind)
        before, rows = first[book.leads], second[book.leads]
        owner, action, due, status = (field_column(rows, book, f)
                                      for f in ("owner", "next_action", "due", "status"))
        p, m = book.person_row, book.moved_row
        assert cell(rows, p, owner) == chosen, f"{kind}: the person's owner was replaced"
        assert cell(rows, p, action) == PERSON_ACTION, \
            f"{kind}: the person's next action became {cell(rows, p, action)!r}"
        assert cell(rows, m, status) == book.moved_to
        assert str(cell(rows, m, action)).startswith(book.moved_action), \
            f"{kind}: the moved lead's next action is {cell(rows, m, action)!r}"
        assert not str(cell(before, m, action)).startswith(book.moved_action)
        assert isinstance(cell(rows, m, due), dt.datetime) and cell(rows, m, due) > LATER, \
            f"{kind}: the moved lead's due is {cell(rows, m, due)!r}"
        assert cell(rows, m, due) != cell(before, m, due)
        after[kind] = second
    reference = KINDS[0]
    for kind in KINDS[1:]:
        diff = differences(after[reference], after[kind], (reference, kind))
        assert not diff, "\n".join(diff[:40])
