"""The demo as grids in memory (``demo_backend``) and as a file (``generate_demo``): the same
values, and the engine tells the same story on both. Also ``create_workbook``, which writes the
file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine

from forecourt.demo import demo_backend, generate_demo
from forecourt.engine import run
from forecourt.locks import TEMP_PREFIX
from forecourt.sync.grid import GridBackend
from forecourt.sync.xlsx.create import NewSheet, create_workbook
from forecourt.validators.vocabulary import LEAD_FIELDS, STOCK_FIELDS, TAB_NAMES

AS_OF = dt.datetime(2026, 11, 23, 10, 0)  # a Monday, 10:00 (as tests/test_demo.py)
INJECTION = '=HYPERLINK("http://x")'
COUNTS = ("leads", "stock", "open", "overdue", "due_soon", "stalled", "assigned",
          "fallback_assigned", "cells_written", "errors", "warnings")

Rows = list[list[Any]]


def norm(value: Any) -> Any:
    """A cell as both backends can hold it: "" for empty, numbers as floats, times to the
    minute (a number of days in the file), a date as midnight (a file gives a datetime)."""
    if value is None or (isinstance(value, str) and value == ""):
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return (value + dt.timedelta(seconds=30)).replace(second=0, microsecond=0)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return value


def tidy(rows: list[list[Any]]) -> Rows:
    """Normalised values, without empty cells at the end of a row or empty rows at the end."""
    out = []
    for row in rows:
        values = [norm(v) for v in row]
        while values and values[-1] == "":
            values.pop()
        out.append(values)
    while out and not out[-1]:
        out.pop()
    return out


def file_sheets(path: Path) -> dict[str, Rows]:
    """Every sheet of ``path``, in order, read with python-calamine from A1."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return {name: tidy(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
                for name in book.sheet_names}
    finally:
        book.close()


def grid_sheets(backend: GridBackend) -> dict[str, Rows]:
    return {name: tidy(rows) for name, rows in backend.sheets.items()}


def first_differences(a: dict[str, Rows], b: dict[str, Rows]) -> list[str]:
    """Where two workbooks' values differ, cell by cell (at most one cell per sheet)."""
    found = [f"sheets {list(a)} != {list(b)}"] if list(a) != list(b) else []
    for name in a.keys() & b.keys():
        x, y = a[name], b[name]
        if len(x) != len(y):
            found.append(f"{name}: {len(x)} rows != {len(y)} rows")
        for i, (rx, ry) in enumerate(zip(x, y, strict=False), 1):
            if rx != ry:
                j = next((j for j, (u, v) in enumerate(zip(rx, ry, strict=False)) if u != v),
                         min(len(rx), len(ry)))
                found.append(f"{name}!row {i} column {j + 1}: "
                             f"{rx[j] if j < len(rx) else None!r} != "
                             f"{ry[j] if j < len(ry) else None!r}")
                break
    return found


def names_in(rows: Rows, language: str) -> list[Any]:
    j = rows[0].index(LEAD_FIELDS["name"][language][0])
    return [row[j] if j < len(row) else "" for row in rows[1:]]


# The same values ----------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "de", "pl"])
def test_grids_and_file_hold_the_same_values(tmp_path, language):
    grid = demo_backend(120, seed=3, as_of=AS_OF, language=language)
    path = generate_demo(tmp_path / "demo.xlsx", 120, seed=3, as_of=AS_OF, language=language)
    assert list(grid.sheets) == [TAB_NAMES[k][language][0]
                                 for k in ("leads", "stock", "team", "settings")]
    assert first_differences(grid_sheets(grid), file_sheets(path)) == []


def test_grids_are_rectangles_of_values_without_none():
    grid = demo_backend(40, as_of=AS_OF)
    for name, rows in grid.sheets.items():
        assert len({len(row) for row in rows}) == 1, name
        assert not any(v is None for row in rows for v in row), name
    leads = grid.sheets["Leads"]
    received = leads[0].index(LEAD_FIELDS["received_at"]["en"][0])
    assert all(type(row[received]) is dt.datetime for row in leads[1:])
    eta = grid.sheets["Stock"][0].index(STOCK_FIELDS["eta"]["en"][0])
    assert any(type(row[eta]) is dt.date for row in grid.sheets["Stock"][1:])


def test_same_arguments_same_grids_and_as_of_defaults_to_now():
    assert demo_backend(30, as_of=AS_OF).sheets == demo_backend(30, as_of=AS_OF).sheets
    assert demo_backend(30, as_of=AS_OF).sheets != demo_backend(30, seed=8, as_of=AS_OF).sheets
    before = dt.datetime.now().replace(second=0, microsecond=0)
    leads = demo_backend(30).sheets["Leads"]
    latest = max(row[1] for row in leads[1:])
    assert before - dt.timedelta(days=61) < latest <= dt.datetime.now()


def test_bad_arguments_are_refused_as_by_generate_demo():
    with pytest.raises(ValueError, match="language"):
        demo_backend(10, as_of=AS_OF, language="fr")
    with pytest.raises(ValueError, match="negative"):
        demo_backend(-1, as_of=AS_OF)


# The engine on both -------------------------------------------------------------------------

@pytest.fixture(scope="module", params=[("en", 300), ("pl", 120)], ids=["en-300", "pl-120"])
def both_run(request, tmp_path_factory):
    """(language, grid backend after a run, file after a run, the two summaries)."""
    language, size = request.param
    grid = demo_backend(size, as_of=AS_OF, language=language)
    path = generate_demo(tmp_path_factory.mktemp("demo-backend") / "demo.xlsx", size,
                         as_of=AS_OF, language=language)
    on_grid = run(grid, as_of=AS_OF).outcome.summary
    on_file = run(path, as_of=AS_OF).outcome.summary
    return language, grid, path, on_grid, on_file


def test_the_engine_counts_the_same_on_grids_and_file(both_run):
    language, grid, path, on_grid, on_file = both_run
    assert on_grid["leads"] > 0 and on_grid["assigned"] > 0 and on_grid["overdue"] > 0
    assert {k: on_grid[k] for k in COUNTS} == {k: on_file[k] for k in COUNTS}
    assert on_grid["columns_added"] == on_file["columns_added"]
    assert on_grid["kpi"] == on_file["kpi"]


def test_the_dealers_tabs_hold_the_same_cells_after_the_run(both_run):
    language, grid, path, *_ = both_run
    in_grid, in_file = grid_sheets(grid), file_sheets(path)
    assert list(in_grid) == list(in_file)  # the generated sheets too, in the same order
    dealer = [TAB_NAMES[k][language][0] for k in ("leads", "stock", "team", "settings")]
    assert first_differences({n: in_grid[n] for n in dealer},
                             {n: in_file[n] for n in dealer}) == []
    leads = in_grid[TAB_NAMES["leads"][language][0]]
    header = leads[0]
    assert LEAD_FIELDS["state"][language][0] in header  # the engine's columns are there
    owner = header.index(LEAD_FIELDS["owner"][language][0])
    assert sum(1 for row in leads[1:] if row[owner] == "") < len(leads) * 0.2


def test_a_formula_like_name_stays_text_in_both(both_run):
    language, grid, path, *_ = both_run
    sheet = TAB_NAMES["leads"][language][0]
    in_grid = [v for v in names_in(grid.sheets[sheet], language)
               if isinstance(v, str) and v.startswith("=")]
    assert in_grid == [INJECTION]
    assert [v for v in names_in(file_sheets(path)[sheet], language)
            if isinstance(v, str) and v.startswith("=")] == [INJECTION]
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        ws = wb[sheet]
        column = next(ws.iter_rows(max_row=1, values_only=True)).index(
            LEAD_FIELDS["name"][language][0])
        cells = [row[column] for row in ws.iter_rows(min_row=2)
                 if isinstance(row[column].value, str) and row[column].value.startswith("=")]
        assert [(c.value, c.data_type) for c in cells] == [(INJECTION, "s")]
    finally:
        wb.close()


# create_workbook --------------------------------------------------------------------------

def test_create_workbook_writes_values_formats_widths_and_frozen_header(tmp_path):
    when = dt.datetime(2026, 3, 4, 5, 6)
    sheets = [
        NewSheet("Data", [["at", "day", "text", "n"],
                          [when, dt.date(2026, 3, 5), "=1+1", 7],
                          [None, "", "plain", 2.5],
                          ["=SUM(A1:A2)", when, "", None]],
                 widths={"A": 17, "C": 30}, datetime_columns={"A"}, date_columns={"B"},
                 freeze_header=True),
        NewSheet("Other", [["on", dt.date(2026, 1, 1)], [], [True]]),
    ]
    path = create_workbook(tmp_path / "new.xlsx", sheets)
    assert path == tmp_path / "new.xlsx"
    assert [p.name for p in tmp_path.iterdir()] == ["new.xlsx"]
    wb = openpyxl.load_workbook(path)
    ws = wb["Data"]
    assert wb.sheetnames == ["Data", "Other"]
    assert ws.freeze_panes == "A2" and wb["Other"].freeze_panes is None
    assert ws.column_dimensions["A"].width == 17 and ws.column_dimensions["C"].width == 30
    assert ws["A2"].value == when and ws["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["B2"].value == dt.datetime(2026, 3, 5) and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["B4"].value == when and ws["B4"].number_format == "yyyy-mm-dd"  # its column's
    for ref, text in (("C2", "=1+1"), ("A4", "=SUM(A1:A2)")):  # text, never a formula
        assert ws[ref].value == text and ws[ref].data_type == "s", ref
        assert ws[ref].quotePrefix, ref
    assert ws["A3"].value is None and ws["B3"].value is None and ws["C4"].value is None
    assert ws["D2"].value == 7 and ws["D3"].value == 2.5
    assert wb["Other"]["B1"].is_date and wb["Other"]["A3"].value is True
    wb.close()


def test_create_workbook_replaces_a_file_in_one_step(tmp_path, monkeypatch):
    path = tmp_path / "book.xlsx"
    create_workbook(path, [NewSheet("A", [["old"]])])
    create_workbook(path, [NewSheet("A", [["new"]])])
    assert file_sheets(path) == {"A": [["new"]]}
    before = path.read_bytes()

    def half_then_fail(self, filename):  # a full disk, half-way through writing
        Path(filename).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        create_workbook(path, [NewSheet("A", [["newer"]])])
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_create_workbook_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(ValueError, match="two sheets"):
        create_workbook(tmp_path / "x.xlsx", [NewSheet("A", []), NewSheet("a", [])])
    with pytest.raises(ValueError, match="at least one sheet"):
        create_workbook(tmp_path / "x.xlsx", [])
    assert list(tmp_path.iterdir()) == []
