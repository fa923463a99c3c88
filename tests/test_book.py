"""Which rows of a tab become leads: every row that holds anything in a column the engine
reads or keeps, however ragged the rows are and whatever falsy value a cell holds."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from forecourt.sync.base import Tab
from forecourt.validators.frames import _grid
from forecourt.validators.headers import ColumnMap

# Values calamine gives: "" for an empty cell; 0, 0.0 and FALSE are values a row can hold.
cells = st.sampled_from(["", None, 0, 0.0, False, "x", " ", 5, True,
                         dt.datetime(2026, 1, 1), dt.time(0, 0)])


@given(st.lists(st.lists(cells, max_size=6), max_size=25), st.integers(0, 3),
       st.sets(st.integers(0, 5), max_size=4))
def test_a_row_is_kept_when_a_read_column_holds_anything(rows, header_index, used):
    rows = [["Name", "Phone"]] * header_index + [["Received"]] + rows
    cm = ColumnMap("leads", "Leads", header_index + 3, header_index,
                   fields={f"f{j}": j for j in used})
    numbers, grid = _grid(Tab("Leads", rows, first_row=3), cm)
    body = rows[header_index + 1:]
    expected = [header_index + 4 + i for i, r in enumerate(body)
                if any(j < len(r) and r[j] is not None and not (isinstance(r[j], str)
                       and r[j] == "") for j in used)]
    width = max(map(len, body), default=0)
    if not any(j < width for j in used):
        expected = []
    assert numbers == expected
    assert len(grid) == len(expected)
    for number, cells_of_row in zip(numbers, grid, strict=True):
        original = body[number - header_index - 4]
        assert list(cells_of_row[:len(original)]) == original


@given(st.text())
def test_stock_numbers_compare_by_their_letters_and_digits(text):
    from forecourt.validators.text import compact_key

    assert compact_key(text) == "".join(ch for ch in text.upper() if ch.isalnum())
