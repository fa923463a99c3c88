"""A plan is data: made from one backend it applies to any other holding the same book, a
retry changes nothing more, and applying it changes nothing in it. Rows are found by key when
the sheet changed since the plan was made, and a person's edit made meanwhile is kept."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pytest
from contract_backends import FACTORIES, KINDS, Formula, apply_plan, differences, norm, plan_data
from contract_books import (
    AS_OF,
    BOOKS,
    KEYED,
    MESSY,
    SOLD_GOLF,
    cell,
    field_column,
    lead_rows,
)

from forecourt.engine import run
from forecourt.plan import AppendRows, ColumnWrites, NewColumn, Plan, SheetEdit

PAIRS = list(itertools.product(KINDS, repeat=2))  # the other kind, and a fresh one alike


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
@pytest.mark.parametrize("book", BOOKS, ids=[b.id for b in BOOKS])
def test_a_plan_applied_to_another_backend_gives_the_same_cells(book, source, target,
                                                                 tmp_path):
    made, other = FACTORIES[source], FACTORIES[target]
    first = made.make(book.sheets, tmp_path / source)
    plan = run(first, as_of=AS_OF).outcome.plan
    whole = plan_data(plan)

    second = other.make(book.sheets, tmp_path / target)
    applied, committed = apply_plan(second, plan)

    assert committed.written
    assert not applied.skipped, applied.skipped
    diff = differences(made.sheets(first), other.sheets(second), (source, target))
    assert not diff, "\n".join(diff[:40])
    assert plan_data(plan) == whole, "applying the plan changed it"

    cells, before = other.sheets(second), other.fingerprint(second)
    applied, committed = apply_plan(second, plan)  # a retry

    wrong = differences(cells, other.sheets(second), ("applied", "applied again"))
    if committed.written:
        wrong.append(f"the retry wrote the workbook again ({applied.changed_sheets})")
    if applied.skipped:
        wrong.append(f"the retry took the plan's own values for a person's: {applied.skipped}")
    if other.fingerprint(second) != before:
        wrong.append("the workbook's contents changed")
    assert not wrong, f"{source} plan applied again to {target}:\n" + "\n".join(wrong)
    assert plan_data(plan) == whole, "applying the plan again changed it"


def _set(target, index, value):
    target[index] = value


CHANGES = {
    "column values": lambda p: _set(p.edits[0].columns[0].values, 0, "X"),
    "column keys": lambda p: _set(p.edits[0].columns[0].keys, 0, "L-X"),
    "column rows": lambda p: _set(p.edits[0].columns[0].rows, 0, 99),
    "column expected": lambda p: _set(p.edits[0].columns[0].expected, 0, "X"),
    "due times": lambda p: _set(next(c for c in p.edits[0].columns
                                     if c.values.dtype.kind == "M").values, 0,
                                np.datetime64("2000-01-01")),
    "an edit's columns": lambda p: setattr(p.edits[0], "columns", ()),
    "the plan's sheets": lambda p: setattr(p, "sheets", ()),
    "a generated sheet's links": lambda p: _set(p.sheets[0].links, (1, "A"), "x"),
    "a generated sheet's cells": lambda p: _set(p.sheets[0].rows[0], 0, "X"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_plan_cannot_be_changed_once_made(change, tmp_path):
    plan = run(FACTORIES[KINDS[-1]].make(BOOKS[0].sheets, tmp_path), as_of=AS_OF).outcome.plan
    whole = plan_data(plan)
    with pytest.raises((ValueError, TypeError, AttributeError,
                        dataclasses.FrozenInstanceError)):
        CHANGES[change](plan)
    assert plan_data(plan) == whole


# Rows found by key -------------------------------------------------------------------------

PERSON_ACTION = "Call back after lunch"
LATER = AS_OF + dt.timedelta(hours=1)
GOLF_ON_LOT, BMW = "WVWZZZ1KZ7W654321", "WBA8E9C50GK123456"


def test_rows_are_found_by_key_after_a_person_sorts_and_edits(factory, tmp_path):
    backend = factory.make(KEYED.sheets, tmp_path)
    plan = run(backend, as_of=AS_OF, dry_run=True).outcome.plan  # read, decided, not applied
    edit = plan.edit("Leads")
    read = factory.sheets(backend)["Leads"]
    action = field_column(read, KEYED, "next_action")
    assert "L-1002" in next(c for c in edit.columns if c.column == action).keys.tolist()

    # A person sorts the leads by name, Z to A, and fills in one next action the plan writes.
    data = KEYED.sheets["Leads"][1:]
    ordered = sorted(data, key=lambda r: r[2], reverse=True)
    assert [r[0] for r in ordered] != [r[0] for r in data]
    person = {(i, letter): value for i, row in enumerate(ordered, start=2)
              for letter, value in zip("ABCDEFGHI", row, strict=True)}
    where = 2 + [r[0] for r in ordered].index("L-1002")
    person[where, action] = PERSON_ACTION
    factory.edit(backend, "Leads", person)

    applied, committed = apply_plan(backend, plan, read=False)

    assert committed.written
    assert [(s.sheet, s.key, s.column, s.why, s.found) for s in applied.skipped] == \
        [("Leads", "L-1002", action, "changed since read", PERSON_ACTION)]
    rows = factory.sheets(backend)["Leads"]
    assert [cell(rows, r, "A") for r in lead_rows(rows, KEYED)] == [r[0] for r in ordered], \
        "the person's order was not kept"
    row_of = {cell(rows, r, "A"): r for r in lead_rows(rows, KEYED)}
    for given in data:  # each lead's own cells still on its row
        assert [cell(rows, row_of[given[0]], c) for c in "ABCDEF"] == \
            [norm(v) for v in given[:6]]
    wrong = []
    for writes in edit.columns:
        for key, value in zip(writes.keys.tolist(), writes.python_values(), strict=True):
            found = cell(rows, row_of[key], writes.column)
            want = PERSON_ACTION if (key, writes.column) == ("L-1002", action) else norm(value)
            if found != want:
                wrong.append(f"{key} {writes.column}: {found!r}, the plan wrote {want!r}")
    assert not wrong, f"{factory.kind}:\n" + "\n".join(wrong)


def test_the_engines_own_number_is_not_taken_for_a_persons_edit(factory, tmp_path):
    """The stock's *Buyers waiting* count the engine wrote (1) is read back and compared when
    the workbook changed since the plan was made: a number it wrote is its own, whatever type
    the backend reads it back as."""
    backend = factory.make(MESSY.sheets, tmp_path)
    run(backend, as_of=AS_OF)
    # The buyer of the BMW asks about the Golf on the lot instead.
    factory.edit(backend, "Leads", {(4, "F"): GOLF_ON_LOT})
    plan = run(factory.reopen(backend), as_of=LATER, dry_run=True).outcome.plan
    factory.edit(backend, "Leads", {(9, "I"): "called twice"})  # meanwhile, elsewhere

    applied, committed = apply_plan(backend, plan, read=False)

    assert not applied.skipped, applied.skipped
    stock = factory.sheets(backend)["Stock"]
    waiting = {cell(stock, r, "A"): cell(stock, r, "F") for r in range(2, 6)}
    assert waiting == {SOLD_GOLF: 1, GOLF_ON_LOT: 1, BMW: "", "VF1RFB00X56123456": ""}, \
        f"{factory.kind}: buyers waiting {waiting}"


# A plan made by hand -------------------------------------------------------------------------

d = dt.datetime
APPENDED = ("L-1006", d(2026, 11, 23, 9, 58), "Gus Ray", "+44 7700 900806", "Website", "New")


def hand_made_plan(revision: str | None) -> Plan:
    """Two new columns, writes to them and to an existing column, and one appended lead."""
    due = np.array(["2026-11-24T09:30", "2026-11-25T16:00"], dtype="datetime64[us]")
    edit = SheetEdit(
        "Leads", 1, "A",
        new_columns=(NewColumn("J", "Checked", 10), NewColumn("K", "Call by")),
        columns=(ColumnWrites("J", ["L-1003", "L-1001"], [4, 2], ["yes", "no"], ["", ""]),
                 ColumnWrites("K", ["L-1002", "L-1004"], [3, 5], due, ["", ""]),
                 ColumnWrites("F", ["L-1001"], [2], ["Contacted"], ["New"]),
                 ColumnWrites("I", ["L-1005"], [6], ["=ask Sam"], [""])),
        appends=(AppendRows(tuple("ABCDEF"), (APPENDED[0],), (APPENDED,)),))
    return Plan((edit,), (), revision)


def expected_after_hand_made_plan() -> list[list]:
    rows = [[norm(v) for v in r] for r in KEYED.sheets["Leads"]]
    rows[0] += ["Checked", "Call by"]
    rows[1][5] = "Contacted"
    rows[1] += ["no"]
    rows[2] += ["", d(2026, 11, 24, 9, 30)]
    rows[3] += ["yes"]
    rows[4] += ["", d(2026, 11, 25, 16, 0)]
    rows[5][8] = "=ask Sam"
    rows.append([norm(v) for v in APPENDED])
    for r in rows:
        while r and r[-1] == "":
            r.pop()
    return rows


@pytest.mark.parametrize("revision", ["stale", "current"])
def test_a_hand_made_plan_gives_the_same_cells_and_appends_once(factory, revision, tmp_path):
    """``stale``: the plan names no revision (the backend finds rows by key); ``current``: it
    names the revision the backend is at (row numbers trusted)."""
    backend = factory.make(KEYED.sheets, tmp_path)
    with backend.session(write=False):
        tabs = backend.read()
    plan = hand_made_plan(tabs.revision if revision == "current" else None)
    expected = expected_after_hand_made_plan()

    applied, committed = apply_plan(backend, plan, read=False)

    assert not applied.skipped, applied.skipped
    assert committed.written
    rows = factory.sheets(backend)["Leads"]
    assert rows == expected, "\n".join(
        f"row {i + 1}: {got} != {want}"
        for i, (got, want) in enumerate(itertools.zip_longest(rows, expected)) if got != want)
    assert not isinstance(cell(rows, 6, "I"), Formula)

    applied, committed = apply_plan(backend, plan)  # again

    rows = factory.sheets(backend)["Leads"]
    times = [cell(rows, r, "A") for r in lead_rows(rows, KEYED)].count(APPENDED[0])
    assert times == 1, f"{factory.kind}: after a second apply the appended lead is there " \
        f"{times} times"
    assert rows == expected
    assert committed.written is False
