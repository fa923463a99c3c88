"""One run of the engine on the same book leaves the same cells through every backend: the
dealer's leads and stock tabs, and the generated Issues, KPI and Log sheets. The backends are
compared with each other, not with hard-coded values; then a few things a dealer would notice
are checked on each backend's result."""

from __future__ import annotations

import datetime as dt

import pytest
from contract_backends import KINDS, Formula, differences, norm, tidy
from contract_books import (
    BOOKS,
    MESSY,
    SOLD_GOLF,
    cell,
    field_column,
    header_column,
    is_closed,
    lead_rows,
)

BOOK_IDS = [b.id for b in BOOKS]
GENERATED = ("KPI", "Issues", "Log")
# summary entries that name the workbook rather than say what the run decided
LOCAL = {"file", "notes"}


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_every_backend_leaves_the_same_cells_in_every_sheet(book, first_runs):
    runs = first_runs(book)
    reference = KINDS[0]
    for kind in KINDS[1:]:
        diff = differences(runs[reference].sheets, runs[kind].sheets, (reference, kind))
        assert not diff, f"{book.id}: {reference} and {kind} differ:\n" + "\n".join(diff[:40])


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_every_backend_writes_the_generated_sheets_and_the_dealers_tabs(book, first_runs):
    for kind, ran in first_runs(book).items():
        names = list(ran.sheets)
        assert set(GENERATED) <= set(names), f"{kind}: sheets {names}"
        assert names[: len(book.sheets)] == list(book.sheets), \
            f"{kind}: the dealer's tabs are no longer first and in order: {names}"
        for sheet in GENERATED:
            assert ran.sheets[sheet], f"{kind}: {sheet} is empty"
            assert "forecourt" in str(ran.sheets[sheet][0][0]).lower(), \
                f"{kind}: {sheet}!A1 is {ran.sheets[sheet][0][:1]}"


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_every_backend_reports_the_same_summary(book, first_runs):
    runs = first_runs(book)
    summaries = {kind: {k: v for k, v in ran.result.outcome.summary.items() if k not in LOCAL}
                 for kind, ran in runs.items()}
    reference = KINDS[0]
    for kind in KINDS[1:]:
        differ = sorted(k for k in summaries[reference].keys() | summaries[kind].keys()
                        if summaries[reference].get(k) != summaries[kind].get(k))
        assert not differ, f"{book.id}: {reference} and {kind} summaries differ in {differ}"
    for kind, ran in runs.items():
        assert ran.result.written, f"{kind}: the first run wrote nothing"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_every_open_lead_has_an_owner_a_next_action_and_a_due(book, kind, first_runs):
    rows = first_runs(book)[kind].sheets[book.leads]
    owner, action, due, status = (field_column(rows, book, f)
                                  for f in ("owner", "next_action", "due", "status"))
    team = set(book.team)
    checked = 0
    for r in lead_rows(rows, book):
        if is_closed(book, cell(rows, r, status)):
            continue
        checked += 1
        assert cell(rows, r, owner) in team, f"{kind}: row {r} owner {cell(rows, r, owner)!r}"
        assert isinstance(cell(rows, r, action), str) and cell(rows, r, action).strip(), \
            f"{kind}: row {r} has no next action"
        assert isinstance(cell(rows, r, due), dt.datetime), \
            f"{kind}: row {r} due is {cell(rows, r, due)!r}, not a date and time"
    assert checked >= 4


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_the_dealers_own_cells_stay_exactly_as_they_were(book, kind, first_runs):
    """Names, phones, notes, statuses, a title row, the stock's cars: the engine writes only
    its own columns; a text starting with = + - @ is still that text, not a formula."""
    sheets = first_runs(book)[kind].sheets
    changed = []
    for tab, given in book.sheets.items():
        rows = sheets[tab]
        for i, values in enumerate(tidy(given)):
            for j, value in enumerate(values):
                found = rows[i][j] if i < len(rows) and j < len(rows[i]) else ""
                if value != "" and (found != value or type(found) is not type(value)):
                    changed.append(f"{tab} row {i + 1} col {j + 1}: {value!r} -> {found!r}")
    assert not changed, f"{kind} changed the dealer's cells:\n" + "\n".join(changed)


@pytest.mark.parametrize("kind", KINDS)
def test_a_name_that_looks_like_a_formula_stays_text(kind, first_runs):
    rows = first_runs(MESSY)[kind].sheets["Leads"]
    name = header_column(rows, MESSY.header_row, "Customer")
    for r in (3, 4, 7):
        given = MESSY.sheets["Leads"][r - 1][1]
        assert given[0] in "=+-", given
        found = cell(rows, r, name)
        assert not isinstance(found, Formula), f"{kind}: {name}{r} became the formula {found}"
        assert found == given, f"{kind}: {name}{r} is {found!r}, not {given!r}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_lead_about_a_sold_car_is_offered_a_similar_car_in_stock(kind, first_runs):
    sheets = first_runs(MESSY)[kind].sheets
    leads, stock = sheets["Leads"], sheets["Stock"]
    action = field_column(leads, MESSY, "next_action")
    vin = field_column(leads, MESSY, "vin")
    row = next(r for r in lead_rows(leads, MESSY)
               if str(cell(leads, r, vin)).replace("-", "").upper() == SOLD_GOLF)
    text = cell(leads, row, action)
    assert "Golf" in text and "654321" in text, f"{kind}: next action {text!r}"
    waiting = header_column(stock, 1, "Buyers waiting")
    counts = {cell(stock, r, "A"): norm(cell(stock, r, waiting)) for r in range(2, 6)}
    assert counts["WBA8E9C50GK123456"] == 1, f"{kind}: buyers waiting {counts}"


@pytest.mark.parametrize("book", BOOKS, ids=BOOK_IDS)
def test_every_backend_links_each_issue_to_its_cell_and_sizes_the_columns_it_adds(book,
                                                                                  first_runs):
    """The Issues sheet's links and the widths of the columns forecourt adds are the same
    through every backend, and each link names a cell of the dealer's that exists."""
    runs = first_runs(book)
    links = {kind: ran.factory.links(ran.backend, "Issues") for kind, ran in runs.items()}
    reference = links[KINDS[0]]
    assert reference or book is not MESSY, f"{book.id}: no issue links to its cell"
    for kind in KINDS[1:]:
        assert links[kind] == reference, f"{book.id}: {KINDS[0]} and {kind} link differently"
    sheets = runs[KINDS[0]].sheets
    for target in reference.values():
        sheet, ref = target.rsplit("!", 1)
        assert sheet.strip("'").replace("''", "'") in sheets, target
    plan = runs[KINDS[0]].result.outcome.plan
    for edit in plan.edits:
        added = [c.column for c in edit.new_columns]
        widths = {kind: ran.factory.widths(ran.backend, edit.sheet, added)
                  for kind, ran in runs.items()}
        assert all(w == widths[KINDS[0]] for w in widths.values()), widths
        assert all(v and v >= 10 for v in widths[KINDS[0]].values()), widths
