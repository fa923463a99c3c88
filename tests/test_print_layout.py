"""Generated sheets print one page wide, charts whole; forecourt's own columns are as wide as
what forecourt writes in them."""

from __future__ import annotations

import re
import zipfile

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from preserve_books import run_forecourt
from workbooks import build_english

from forecourt.plan import Chart, ChartSeries
from forecourt.sync.xlsx.generated import PAGE_ROWS, page_breaks


def _stacked(gaps_and_heights: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Charts one below the other (as on the KPI sheet): (top row, height in rows)."""
    out, row = [], 1
    for gap, height in gaps_and_heights:
        row += gap
        out.append((row, height))
        row += height
    return out


charts = st.lists(st.tuples(st.integers(0, 40), st.integers(4, PAGE_ROWS)),
                  max_size=6).map(_stacked)


@given(st.integers(0, 400), charts)
def test_no_page_is_too_long_and_no_chart_is_cut(rows, spans):
    placed = [Chart("c", "A1:A2", (ChartSeries("s", "B1:B2"),), f"J{top}", height_rows=h)
              for top, h in spans]
    breaks = page_breaks(rows, placed)
    edges = [0, *breaks]
    last = max([rows, *(top - 1 + h for top, h in spans)])
    assert all(b - a <= PAGE_ROWS for a, b in zip(edges, [*breaks, last], strict=True))
    for top, h in spans:
        first, after = top - 1, top - 1 + h  # rows above the chart, the row after it
        # cut only where no page could hold it: it starts a page and is taller than one
        assert not any(first < b < after for b in breaks) or first in edges


def test_generated_sheets_print_one_page_wide_and_added_columns_fit_their_text(tmp_path):
    book = build_english(tmp_path)
    run_forecourt(book, as_of="2026-11-23 10:07").ok()
    wb = load_workbook(book)
    for name in ("KPI", "Issues", "Log"):
        ws = wb[name]
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), name
    leads = wb["Sheet1"]
    header = [c.value for c in leads[1]]
    col = header.index("Next action")
    letter = leads.cell(1, col + 1).column_letter
    longest = max(len(str(r[col])) for r in leads.iter_rows(min_row=2, values_only=True)
                  if r[col])
    assert leads.column_dimensions[letter].width >= min(longest, 60)
    # the dealer's own columns keep the width they had (none was set: the default)
    with zipfile.ZipFile(book) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    widths = dict(re.findall(r'<col min="(\d+)" max="\d+" width="([\d.]+)"', sheet))
    assert all(int(n) > 9 for n in widths), widths  # only forecourt's columns (after I)


def test_a_sheet_shrunk_to_the_page_width_fits_more_rows_on_a_page():
    from forecourt.plan import GeneratedSheet
    from forecourt.sync.xlsx.generated import _page_rows

    narrow = GeneratedSheet("KPI", [["x"] * 5])
    wide = GeneratedSheet("KPI", [["x"] * 40])
    assert _page_rows(narrow, 5) == PAGE_ROWS
    assert _page_rows(wide, 40) > 2 * PAGE_ROWS  # 40 columns shrink to well under half
