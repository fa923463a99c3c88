"""The worksheet editor against a model of the cells: whatever the sheet's XML looks like (rows
and cells with or without their optional references, references after other attributes or in
single quotes, styled cells, gaps), the written sheet holds exactly the old cells with the
plan's writes applied, in the order Excel requires."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from forecourt.sync.base import column_index, column_letter
from forecourt.sync.xlsx.package import NS_MAIN, _chunks
from forecourt.sync.xlsx.sheetdata import (
    CellWrite,
    _cell_tail,
    _column_tails,
    edit_sheet,
    excel_serial,
)
from forecourt.sync.xlsx.sheetdata import ColumnCells as ColumnWrites
from forecourt.sync.xlsx.sheetdata import SheetCells as SheetEdit
from forecourt.sync.xlsx.styles import DATE_FORMAT, Styles

# xf 1 has a date format, xf 2 a number format: a date written over xf 2 gets the engine's.
STYLES = (f'<styleSheet xmlns="{NS_MAIN}"><numFmts count="1"><numFmt numFmtId="164" '
          'formatCode="dd/mm/yyyy"/></numFmts><fonts count="1"><font/></fonts><fills count="1">'
          '<fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/>'
          '</cellStyleXfs><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164" '
          'applyNumberFormat="1"/><xf numFmtId="2" applyNumberFormat="1"/></cellXfs>'
          "</styleSheet>")
DATE_XF = 1

datetimes = st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2199, 12, 31))
cell_values = st.one_of(st.integers(-1000, 10**6), st.text("ab <&\"'=é", max_size=4))
write_values = st.one_of(cell_values, st.none(), datetimes,
                         st.floats(-1e9, 1e9, allow_nan=False), st.booleans())


@st.composite
def sheets(draw):
    """(sheet XML, {(row, col): (value, style)}) with optional references left out where the
    format allows it (a row or cell right after the previous one)."""
    cells: dict[tuple[int, int], tuple[object, int | None]] = {}
    rows_xml = []
    previous_row = 0
    explicit = draw(st.booleans())  # every reference written, as most programs do
    # Other writers: the reference after other attributes, attributes in single quotes.
    reordered, q = draw(st.booleans()), draw(st.sampled_from(['"', "'"]))
    for number in sorted(draw(st.sets(st.integers(1, 25), max_size=10))):
        parts = []
        previous_col = -1
        for col in sorted(draw(st.sets(st.integers(0, 8), max_size=6))):
            value = draw(cell_values)
            style = draw(st.sampled_from([None, 0, 1, 2]))
            cells[number, col] = (value, style)
            ref = style_attr = ""
            if explicit or col != previous_col + 1 or draw(st.booleans()):
                ref = f" r={q}{column_letter(col)}{number}{q}"
            if style is not None:
                style_attr = f" s={q}{style}{q}"
            attrs = style_attr + ref if reordered else ref + style_attr
            if isinstance(value, str):
                text = value.replace("&", "&amp;").replace("<", "&lt;")
                parts.append(f'<c{attrs} t="inlineStr"><is><t>{text}</t></is></c>')
            else:
                parts.append(f"<c{attrs}><v>{value}</v></c>")
            previous_col = col
        attrs = ""
        if explicit or number != previous_row + 1 or draw(st.booleans()):
            attrs += f" r={q}{number}{q}"
        if draw(st.booleans()):
            attrs = f" spans={q}1:9{q}" + attrs if reordered else attrs + f" spans={q}1:9{q}"
        rows_xml.append(f"<row{attrs}>{''.join(parts)}</row>" if parts or draw(st.booleans())
                        else f"<row{attrs}/>")
        previous_row = number
    data = "".join(rows_xml)
    xml = (f'<worksheet xmlns="{NS_MAIN}"><dimension ref="A1"/>'
           + (f"<sheetData>{data}</sheetData>" if data else "<sheetData/>")
           + "<pageMargins/></worksheet>")
    return xml.encode(), cells, explicit


columns_written = st.integers(0, 10) | st.integers(60, 70)  # 64 on: letters made, not kept


@st.composite
def edits(draw):
    """A SheetEdit of single cells and whole columns (a column may come twice, in any order)."""
    singles = [CellWrite(r, column_letter(c), v) for r, c, v in draw(st.lists(
        st.tuples(st.integers(1, 30), columns_written, write_values), max_size=8))]
    columns = []
    for col in draw(st.lists(columns_written, max_size=4)):
        rows = sorted(draw(st.sets(st.integers(1, 30), max_size=12)))
        kind = draw(st.sampled_from(["mixed", "datetimes"]))
        values = draw(st.lists(datetimes if kind == "datetimes" else write_values,
                               min_size=len(rows), max_size=len(rows)))
        columns.append(ColumnWrites(column_letter(col), rows, values))
    return SheetEdit("Leads", singles, columns=columns)


def parse(xml: bytes) -> tuple[dict[tuple[int, int], tuple[object, int | None]], list]:
    """The cells as a reader sees them (implicit references resolved), and every row's
    (number, [columns]) in document order."""
    ns = {"m": NS_MAIN}
    root = ET.fromstring(xml)
    cells: dict[tuple[int, int], tuple[object, int | None]] = {}
    order = []
    number = 0
    for row in root.find("m:sheetData", ns):
        number = int(row.get("r", number + 1))
        col = -1
        cols = []
        for c in row:
            ref = c.get("r")
            col = column_index("".join(ch for ch in ref if ch.isalpha())) if ref else col + 1
            cols.append(col)
            style = int(c.get("s")) if c.get("s") is not None else None
            if c.get("t") == "inlineStr":
                value: object = "".join(c.find("m:is", ns).itertext())
            elif c.find("m:v", ns) is not None:
                text = c.find("m:v", ns).text
                value = bool(int(text)) if c.get("t") == "b" else float(text)
            else:
                value = None
            cells[number, col] = (value, style)
        order.append((number, cols))
    return cells, order


def expected(cells, edit: SheetEdit, date_xf: int, header_row: int | None = None):
    """The model of what writing does: a later write to a cell wins; a cell keeps its style
    (a date gets the engine's date style unless the cell already has a date format); an empty
    value removes an unstyled cell and empties a styled one. New cells in the header row take
    the style of the dealer's last header cell left of the first one written."""
    out = {k: (float(v) if isinstance(v, int) else v, s) for k, (v, s) in cells.items()}
    last = {(w.row, column_index(w.column)): w.value for w in edit.cells()}
    header_style = None
    first = min((c for r, c in last if r == header_row), default=None)
    if first is not None:
        left = [c for r, c in cells if r == header_row and c < first]
        header_style = cells[header_row, max(left)][1] if left else None
    for key, value in last.items():
        style = out[key][1] if key in out else header_style if key[0] == header_row else None
        if isinstance(value, dt.datetime):
            style = style if style == DATE_XF else date_xf
            value = excel_serial(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = float(value)
        if value is None or value == "":
            if style:
                out[key] = (None, style)
            else:
                out.pop(key, None)
            continue
        out[key] = (value, style)
    return {k: (v, s or None) for k, (v, s) in out.items()}

@settings(max_examples=300, deadline=None)
@given(sheets(), edits(), st.data())
def test_written_sheet_holds_the_old_cells_with_the_writes_applied(sheet, edit, data):
    xml, cells, explicit = sheet
    header_row = None
    rows = sorted({r for r, _c in cells})
    # A header row is found by its reference (every program writes one); the engine writes
    # its new columns' headers into it.
    if explicit and rows and data.draw(st.booleans()):
        header_row = data.draw(st.sampled_from(rows))
        heading = CellWrite(header_row, column_letter(data.draw(st.integers(0, 12))), "Owner")
        edit.writes.insert(0, heading)
    styles = Styles(STYLES)
    pieces, _changed = edit_sheet(bytearray(xml), edit, styles, header_row)
    written = b"".join(pieces)
    date_xf = styles.cell_style(DATE_FORMAT)
    got, order = parse(written)
    assert {k: (v, s or None) for k, (v, s) in got.items()} == expected(cells, edit, date_xf,
                                                                         header_row)
    numbers = [n for n, _cols in order]
    assert numbers == sorted(set(numbers)), "rows out of order or repeated"
    for _n, cols in order:
        assert cols == sorted(set(cols)), "cells out of order or repeated"


@settings(max_examples=200, deadline=None)
@given(st.lists(datetimes | st.datetimes(), min_size=1, max_size=40), st.integers(1, 300))
def test_a_column_of_datetimes_is_written_as_one_by_one(values, date_style):
    assert _column_tails(values, date_style) == [
        _cell_tail(dt.datetime, v, None, date_style) for v in values]


whole_minutes = st.datetimes(dt.datetime(1899, 12, 30), dt.datetime(2200, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=300, deadline=None)
@given(st.lists(whole_minutes, min_size=1, max_size=40), st.integers(1, 300))
def test_a_column_of_whole_minutes_is_written_as_one_by_one(values, date_style):
    """The engine's due times are whole minutes: their text is built from the day number and
    a table of the minutes of a day, and must match excel_serial's exactly."""
    assert _column_tails(values, date_style) == [
        _cell_tail(dt.datetime, v, None, date_style) for v in values]


def test_a_few_changes_to_a_big_sheet_do_not_copy_it():
    """A rerun changes a few cells of a sheet that can be 80 MB: the long stretches between
    them reach zlib as views of the part, not as copies (twice the sheet in memory)."""
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{"x" * 400}</t></is></c>'
                   f"</row>" for n in range(1, 8001))
    xml = bytearray(f'<worksheet xmlns="{NS_MAIN}"><sheetData>{rows}</sheetData>'
                    f"</worksheet>".encode())
    edit = SheetEdit("Leads", [CellWrite(10, "B", "first"), CellWrite(7990, "B", "second")])
    pieces, changed = edit_sheet(xml, edit, Styles(STYLES))
    chunks = list(_chunks(pieces))
    assert changed and len(xml) > 3 << 20
    assert max(len(c) for c in chunks if not isinstance(c, memoryview)) < 2 << 20
    cells, _order = parse(b"".join(chunks))
    assert cells[10, 1] == ("first", None) and cells[7990, 1] == ("second", None)
    assert len(cells) == 8002
