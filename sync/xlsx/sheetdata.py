"""Editing a worksheet part: only the written cells change.

Rows are streamed by regex, cells in untouched rows are not even parsed; new cells are
inline strings (text is never a formula). Also the sheet's dimension, the widths of added
columns, the style of added headers and forecourt's conditional formats (replaced on every
run).
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from forecourt.errors import UnreadableWorkbook
from forecourt.plan import Value
from forecourt.sync.base import SERIAL_EPOCH, column_index, column_letter
from forecourt.sync.base import serial as excel_serial
from forecourt.sync.xlsx.highlight import CF_MARKER, ConditionalFormat
from forecourt.sync.xlsx.package import AFTER_WRITE
from forecourt.sync.xlsx.styles import DATE_FORMAT, Styles
from forecourt.sync.xlsx.xmltext import _text

# Serials are written in full (cut to 8 decimals, 14:45 became 14:44:59.9996, which LibreOffice
# and Sheets show as 14:44).
_EPOCH_MICROS = (SERIAL_EPOCH - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
_ROW = re.compile(rb"<row\b([^>]*?)(/>|>(.*?)</row>)", re.S)
_CELL = re.compile(rb"<c\b([^>]*?)(/>|>(.*?)</c>)", re.S)
_ATTR_R = re.compile(rb"""\br=["']([A-Z]+)?(\d+)?["']""")
_ATTR_S = re.compile(rb"""\bs=["'](\d+)["']""")
_ROW_NUMBER = re.compile(rb"""\br=["'](\d+)["']""")
_CELL_REF = re.compile(rb'<c r="([A-Z]+)')
# A row or cell without its (optional) reference as first attribute.
_ROW_WITHOUT_REF = re.compile(rb'<row(?! r=")[\s>/]')
_CELL_WITHOUT_REF = re.compile(rb'<c(?! r=")[\s>/]')
_TZINFO = operator.attrgetter("tzinfo")
_FIRST = operator.itemgetter(0)
_COLUMNS: dict[bytes, int] = {}


class CellWrite(NamedTuple):
    """Set one cell. ``None`` empties it. Datetimes get a date-time number format."""

    row: int
    column: str
    value: Value


class ColumnCells(NamedTuple):
    """Many cells of one column: ``rows[k]`` gets ``values[k]``, as one :class:`CellWrite`
    each would (the engine's columns, 100k leads, ~300k cells)."""

    column: str
    rows: list[int]
    values: list[Value]


@dataclass
class SheetCells:
    """A plan's edit of one sheet by row number and column letter, as this module applies it
    (:class:`~forecourt.sync.xlsx.backend.XlsxBackend` finds the rows): cells, forecourt's
    conditional formats, new columns' widths; added headers in ``header_row`` take the style
    of the dealer's headers."""

    sheet: str
    writes: list[CellWrite] = field(default_factory=list)
    conditional_formats: list[ConditionalFormat] = field(default_factory=list)
    widths: dict[str, float] = field(default_factory=dict)
    columns: list[ColumnCells] = field(default_factory=list)
    header_row: int | None = None

    def cells(self) -> Iterator[CellWrite]:
        """Every write as single cells: ``writes``, then ``columns`` (a later write to the
        same cell wins)."""
        yield from self.writes
        for c in self.columns:
            for row, value in zip(c.rows, c.values, strict=True):
                yield CellWrite(row, c.column, value)

    @property
    def cell_count(self) -> int:
        return len(self.writes) + sum(len(c.rows) for c in self.columns)


@lru_cache(maxsize=65536)
def _cell_tail(kind: type, value: Value, style: int | None, date_style: int) -> bytes:
    """A ``<c>`` element after ``<c r="REF`` (b"" for an empty unstyled cell: none at all).
    Text is an inline string: never a formula, whatever it starts with. Cached, since a column
    of owners, actions or states repeats the same few values (``kind`` keeps True apart from
    1)."""
    if isinstance(value, dt.datetime | dt.date):
        return f'" s="{date_style}"><v>{excel_serial(value)!r}</v></c>'.encode()
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'"{s}/>'.encode() if style else b""
    if isinstance(value, bool):
        return f'"{s} t="b"><v>{int(value)}</v></c>'.encode()
    if isinstance(value, int | float):
        return f'"{s}><v>{value!r}</v></c>'.encode()
    return (f'"{s} t="inlineStr"><is><t xml:space="preserve">{_text(str(value))}'
            f"</t></is></c>").encode()


AFTER_WRITE.append(_cell_tail.cache_clear)  # up to ~30 MB of cell XML: not kept past the write



# A cell to write: (column index, value, its XML after ``<c r="REF`` when it has no style).
_Cell = tuple[int, Value, bytes]


def _column_tails(values: list[Value], date_style: int) -> list[bytes]:
    """:func:`_cell_tail` of each value (unstyled). A column of naive datetimes (the engine's
    due times and status dates: mostly different values, so the cache would miss) is computed
    at once, its serial numbers by numpy."""
    if (values and set(map(type, values)) == {dt.datetime}
            and not any(map(_TZINFO, values))):
        import pandas as pd

        try:
            micros = pd.DatetimeIndex(values).as_unit("us").asi8 - _EPOCH_MICROS
        except (ValueError, OverflowError):  # beyond pandas' range (pandas 2: 1677-2262)
            micros = []
        head = f'" s="{date_style}"><v>'
        # Below 2**53 us (until the year 2184) int64 -> float64 is exact and the division is
        # correctly rounded, as timedelta / timedelta is: the same floats as excel_serial.
        if len(micros) and int(abs(micros).max()) < 1 << 53:
            serials = (micros / 86_400_000_000).tolist()
            return (head + f"</v></c>\0{head}".join(map(repr, serials)) + "</v></c>") \
                .encode().split(b"\0")
    return [_cell_tail(v.__class__, v, None, date_style) for v in values]


def _rewrite_row(attrs: bytes, body: bytes | None, number: int, cells: list[_Cell],
                 styles: Styles, date_style: int, header_style: int | None,
                 number_bytes: bytes | None = None) -> bytes:
    """The row with ``cells`` (sorted by column, one each) written: see :func:`_write_cells`."""
    body = body or b""
    if _CELL_WITHOUT_REF.search(body):
        body = _with_cell_refs(body, number)
    if b"spans=" in attrs:  # optional hint that our new cells would contradict
        attrs = re.sub(rb"""\s*\bspans=(["'])[^"']*\1""", b"", attrs)
    out: list[bytes | memoryview] = [b"<row" + attrs + b">"]
    done = _write_cells(body, memoryview(body), 0, len(body),
                        number_bytes or str(number).encode(), cells, styles, date_style,
                        header_style, out)
    out.append(body[done:])
    out.append(b"</row>")
    return b"".join(out)


def _write_cells(xml: bytes, view: memoryview, start: int, end: int, number: bytes,
                 cells: list[_Cell], styles: Styles, date_style: int, new_style: int | None,
                 out: list[bytes | memoryview]) -> int:
    """Write ``cells`` (sorted by column, one each) into the row whose cells are
    ``xml[start:end]``: append to ``out`` that stretch with them written, up to the returned
    position (what follows it is unchanged). Other cells are copied byte for byte, unparsed.

    Cells are found by their reference (``<c r="K5"``) with bytes.find, so a row's other
    cells are never parsed; a new cell (with ``new_style``) goes before the first cell to its
    right.
    """
    find, refs = xml.find, _REFS
    last_col = -1
    tail_at = xml.rfind(b'<c r="', start, end)
    if tail_at != -1:
        m = _CELL_REF.match(xml, tail_at)
        if m:
            last_col = _col(m.group(1))
    done = start  # xml[:done] is in out
    # The first existing cell right of the last write, once looked for: (column, position).
    # Writes left of it are new cells that all go just before it, without another search.
    after_col, after_at = last_col + 1, end
    known_after = False
    for j, value, tail in cells:
        ref = refs[j] + number
        if j > last_col:  # right of every cell: appended
            cell_start = cell_end = end
            style = new_style
        elif known_after and j < after_col:  # left of the same existing cell as the last one
            cell_start = cell_end = after_at
            style = new_style
        else:
            known_after = False
            cell_start = find(ref + b'"', done, end)
            if cell_start != -1:
                tag_end = xml.index(b">", cell_start)
                cell_end = tag_end + 1 if xml[tag_end - 1] == 47 \
                    else xml.index(b"</c>", tag_end) + 4
                sm = _ATTR_S.search(xml, cell_start, tag_end)
                style = int(sm.group(1)) if sm else None
            else:  # a new cell: before the first cell to its right
                after_col, after_at = last_col + 1, end
                for k in range(j + 1, last_col + 1):
                    found = find(refs[k] + number + b'"', done, end)
                    if found != -1:
                        after_col, after_at = k, found
                        break
                known_after = True
                cell_start = cell_end = after_at
                style = new_style
        if style:
            use_date = date_style
            if isinstance(value, dt.datetime | dt.date) and styles.is_date_style(style):
                use_date = style
            tail = _cell_tail(value.__class__, value, style, use_date)
        if cell_start > done:
            out.append(view[done:cell_start])
        if tail:
            out.append(ref + tail)
        done = cell_end
    return done


class _Refs(dict[int, bytes]):
    """Column index -> ``<c r="`` and its letters, made on first use: looked up for every cell
    written."""

    def __missing__(self, j: int) -> bytes:
        ref = self[j] = b'<c r="' + column_letter(j).encode()
        return ref


_REFS = _Refs()


def _col(letters: bytes) -> int:
    """Column index of letters from a sheet (a bytearray slice is copied: it is no dict key)."""
    letters = bytes(letters)
    col = _COLUMNS.get(letters)
    if col is None:
        col = _COLUMNS[letters] = column_index(letters.decode())
    return col


def _with_cell_refs(body: bytes, number: int) -> bytes:
    """Every cell with its reference as its first attribute, ``<c r="K5"``, so cells can be
    found: the format lets a cell leave it out (the cell after the previous one), put it after
    other attributes or quote it with '."""
    out, pos, last = [], 0, 0
    for m in _CELL.finditer(body):
        attrs = m.group(1)
        r = _ATTR_R.search(attrs)
        if r and r.group(1):
            pos = column_index(r.group(1).decode())
        rest = attrs[:r.start()] + attrs[r.end():] if r else attrs
        out.append(body[last:m.start()])
        out.append(f'<c r="{column_letter(pos)}{number}"'.encode() + rest
                   + m.group(0)[2 + len(attrs):])
        last = m.end()
        pos += 1
    return b"".join(out) + body[last:]


def _edit_rows_in_place(xml: bytes, lo: int, hi: int, writes: dict[int, list[_Cell]],
                        styles: Styles, date_style: int, header_row: int | None,
                        header_style: int | None) -> Iterator[bytes]:
    """:func:`_edit_sheet_data` when every row carries its reference (what Excel, LibreOffice,
    openpyxl and forecourt write): each row is edited where it lies in ``xml``, by positions,
    without copying it; the pieces are joined about a MiB at a time. Rows of
    another shape (new, empty, with a spans hint, cells without their reference) go through
    :func:`_rewrite_row`."""
    view = memoryview(xml)
    find, index = xml.find, xml.index
    out: list[bytes | memoryview] = []
    size = 0  # bytes of the untouched stretches in out (the cells written are few and small)
    last = pos = lo  # xml[last:] is still to be copied; rows before pos are done
    for n in sorted(writes):
        number = b"%d" % n
        cells = writes[n]
        row_style = header_style if n == header_row else None
        at = find(b'<row r="' + number + b'"', pos, hi)
        tag_end = index(b">", at) if at != -1 else -1
        close = index(b"</row>", tag_end) if at != -1 and xml[tag_end - 1] != 47 else -1
        if close == -1 or find(b"spans=", at, tag_end) != -1 \
                or _CELL_WITHOUT_REF.search(xml, tag_end, close):
            if at == -1:  # no such row yet: before the first row with a higher number
                at = find(b'<row r="', pos, hi)
                while at != -1:
                    end = index(b'"', at + 8)
                    if int(xml[at + 8:end]) > n:
                        break
                    at = find(b'<row r="', end, hi)
                at = row_end = hi if at == -1 else at
                attrs, body = b' r="' + number + b'"', None
            elif xml[tag_end - 1] == 47:  # <row .../>
                attrs, body, row_end = bytes(view[at + 4:tag_end - 1]), None, tag_end + 1
            else:
                attrs, body, row_end = (bytes(view[at + 4:tag_end]),
                                        bytes(view[tag_end + 1:close]), close + 6)
            out.append(view[last:at])
            size += at - last
            row = _rewrite_row(attrs, body, n, cells, styles, date_style, row_style,
                               number_bytes=number)
            out.append(row)
            last = pos = row_end
        else:
            out.append(view[last:tag_end + 1])
            size += tag_end + 1 - last
            last = _write_cells(xml, view, tag_end + 1, close, number, cells, styles,
                                date_style, row_style, out)
            pos = close + 6
        if size >= (1 << 20) or len(out) >= 4096:
            yield from _joined(out)
            out, size = [], 0
    out.append(view[last:hi])
    yield from _joined(out)


def _joined(pieces: list[bytes | memoryview]) -> Iterator[bytes | memoryview]:
    """Runs of small pieces joined; a piece of a MiB or more (a long untouched stretch of the
    sheet, when few rows change) passes as it is, so it is never copied."""
    run: list[bytes | memoryview] = []
    for piece in pieces:
        if len(piece) >= (1 << 20):
            if run:
                yield b"".join(run)
                run = []
            yield piece
        else:
            run.append(piece)
    if run:
        yield b"".join(run)


def _edit_sheet_data(xml: bytes, lo: int, hi: int, writes: dict[int, list[_Cell]],
                     styles: Styles, date_style: int, header_row: int | None,
                     header_style: int | None) -> Iterator[bytes | memoryview]:
    """The new <sheetData> body, piece by piece: untouched stretches as views of ``xml`` (no
    copy), rewritten rows as new bytes. A generator: rows are rewritten while the zip is being
    written, so a 100k-row sheet never exists twice in memory."""
    view = memoryview(xml)
    pending = sorted(writes)
    last = lo

    def new_row(n: int) -> bytes:
        return _rewrite_row(f' r="{n}"'.encode(), None, n, writes[n], styles, date_style,
                            header_style if n == header_row else None)

    if _ROW_WITHOUT_REF.search(xml, lo, hi) is None:
        yield from _edit_rows_in_place(xml, lo, hi, writes, styles, date_style, header_row,
                                       header_style)
        return

    k = 0
    implicit = 0
    for m in _ROW.finditer(xml, lo, hi):
        attrs = m.group(1)
        r = _ROW_NUMBER.search(attrs)
        number = int(r.group(1)) if r else implicit + 1
        implicit = number
        while k < len(pending) and pending[k] < number:
            yield view[last:m.start()]
            last = m.start()
            yield new_row(pending[k])
            k += 1
        if k < len(pending) and pending[k] == number:
            yield view[last:m.start()]
            yield _rewrite_row(attrs, m.group(3), number, writes[number], styles, date_style,
                               header_style if number == header_row else None)
            last = m.end()
            k += 1
    yield view[last:hi]
    for n in pending[k:]:
        yield new_row(n)


# Elements that come after <conditionalFormatting> in CT_Worksheet, in schema order.
_AFTER_CF = ("dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup",
             "headerFooter", "rowBreaks", "colBreaks", "customProperties", "cellWatches",
             "ignoredErrors", "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF",
             "picture", "oleObjects", "controls", "webPublishItems", "tableParts", "extLst")
_AFTER_COLS = ("sheetData",)


def _first_tag(xml: bytes, tags: tuple[str, ...], start: int) -> int:
    best = len(xml) - len(b"</worksheet>")
    for tag in tags:
        i = xml.find(f"<{tag}".encode(), start)
        while i != -1 and xml[i + len(tag) + 1: i + len(tag) + 2] not in (b" ", b">", b"/"):
            i = xml.find(f"<{tag}".encode(), i + 1)
        if i != -1:
            best = min(best, i)
    end = xml.rfind(b"</worksheet>")
    return min(best, end) if end != -1 else best


def _conditional_formats(rules: list[ConditionalFormat], styles: Styles,
                         existing: bytes) -> bytes:
    priorities = [int(p) for p in re.findall(rb'priority="(\d+)"', existing)]
    priority = max(priorities, default=0)
    blocks = []
    for rule in rules:
        priority += 1
        dxf = styles.dxf(rule.fill, rule.font)
        blocks.append(f'<conditionalFormatting sqref="{rule.sqref}"><cfRule type="expression" '
                      f'dxfId="{dxf}" priority="{priority}"><formula>{_text(rule.formula)}'
                      f"</formula></cfRule></conditionalFormatting>")
    return "".join(blocks).encode()


# Our rules, found by their marker whether the quotes are stored escaped or not.
_MARKER = re.escape(CF_MARKER.encode()).replace(b'"', b'(?:&quot;|")')
_OUR_CF = re.compile(rb"<conditionalFormatting\b[^>]*>(?:(?!</conditionalFormatting>).)*?"
                     + _MARKER + rb".*?</conditionalFormatting>", re.S)


def _row_cells(edit: SheetCells, date_style: int) -> tuple[dict[int, list[_Cell]], int, int]:
    """The edit's writes by row, each row's sorted by column with one write per cell (a
    later write to a cell wins, as in :meth:`SheetCells.cells`); and the largest column and row
    written."""
    rows: defaultdict[int, list[_Cell]] = defaultdict(list)
    max_col, max_row = -1, 0
    unsorted: set[int] = set()  # rows whose cells are not in column order, or repeat one
    for w in edit.writes:  # single cells, before the columns
        j = column_index(w.column)
        tail = _cell_tail(w.value.__class__, w.value, None, date_style)
        rows[w.row].append((j, w.value, tail))
        unsorted.add(w.row)
        max_col = max(max_col, j)
        max_row = max(max_row, w.row)
    last_j = -1
    for c in edit.columns:
        if not c.rows:
            continue
        j = column_index(c.column)
        for row, cell in zip(c.rows, zip(itertools.repeat(j), c.values,
                                         _column_tails(c.values, date_style)), strict=True):
            rows[row].append(cell)
        if j <= last_j:
            unsorted.update(c.rows)
        last_j = max(last_j, j)
        max_col = max(max_col, j)
        max_row = max(max_row, max(c.rows))
    for row in unsorted:
        by_col = {cell[0]: cell for cell in rows[row]}  # the last write of each cell wins
        rows[row] = sorted(by_col.values(), key=_FIRST)
    return dict(rows), max_col, max_row


def edit_sheet(xml: bytes, edit: SheetCells, styles: Styles, header_row: int | None = None
               ) -> tuple[Iterator[bytes | memoryview], bool]:
    """Apply one :class:`SheetCells` to a worksheet part: (pieces of the new part, changed?).
    ``header_row`` defaults to the edit's."""
    if header_row is None:
        header_row = edit.header_row
    if re.search(rb"<\w+:worksheet\b", xml[:2000]):
        raise UnreadableWorkbook(f"sheet {edit.sheet!r} was saved by a program that writes "
                                 "prefixed XML, which forecourt cannot edit safely yet: open "
                                 "the workbook in Excel or LibreOffice, save it, and run again "
                                 "(nothing was written).", sheet=edit.sheet)
    date_style = styles.cell_style(DATE_FORMAT)
    writes, max_col, max_row = _row_cells(edit, date_style)
    header_style = None
    if header_row is not None and header_row in writes:
        header_style = _header_style(xml, header_row, writes[header_row][0][0])

    start = xml.find(b"<sheetData")
    if start == -1:
        raise UnreadableWorkbook(f"sheet {edit.sheet!r} has no cell data part; nothing was "
                                 "written.", sheet=edit.sheet)
    open_end = xml.index(b">", start) + 1
    if xml[open_end - 2: open_end] == b"/>":
        lo = hi = open_end
        head, tail = xml[:start] + b"<sheetData>", b"</sheetData>" + xml[open_end:]
    else:
        lo, hi = open_end, xml.index(b"</sheetData>", open_end)
        head, tail = xml[:lo], xml[hi:]
    body = _edit_sheet_data(xml, lo, hi, writes, styles, date_style, header_row, header_style)
    new_head = _update_dimension(head, max_col, max_row)
    if edit.widths:
        new_head = _add_widths(new_head, edit.widths)
    new_tail = _OUR_CF.sub(b"", tail)
    if edit.conditional_formats:
        pos = _first_tag(new_tail, _AFTER_CF, 0)
        new_tail = new_tail[:pos] + _conditional_formats(edit.conditional_formats, styles,
                                                         new_head + new_tail) + new_tail[pos:]
    # The engine only writes cells whose value differs, so any write is a change.
    changed = bool(writes) or new_head != head or new_tail != tail
    return itertools.chain((new_head,), body, (new_tail,)), changed


def _header_style(xml: bytes, header_row: int, first_new: int) -> int | None:
    """The style of the dealer's last header cell, so added headers look like theirs."""
    m = re.search(rf"""<row\b[^>]*\br=["']{header_row}["'][^>]*>(.*?)</row>""".encode(), xml,
                  re.S)
    if not m:
        return None
    best = None
    for c in _CELL.finditer(m.group(1)):
        r = _ATTR_R.search(c.group(1))
        if r and r.group(1) and column_index(r.group(1).decode()) < first_new:
            s = _ATTR_S.search(c.group(1))
            best = int(s.group(1)) if s else None
    return best


def _update_dimension(head: bytes, max_col: int, max_row: int) -> bytes:
    m = re.search(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"\s*/>', head)
    if not m or max_col < 0:
        return head
    c1, r1 = m.group(1).decode(), int(m.group(2))
    c2 = (m.group(3) or m.group(1)).decode()
    r2 = int(m.group(4) or m.group(2))
    c2 = column_letter(max(column_index(c2), max_col))
    r2 = max(r2, max_row)
    return head[:m.start()] + f'<dimension ref="{c1}{r1}:{c2}{r2}"/>'.encode() + head[m.end():]


def _add_widths(head: bytes, widths: dict[str, float]) -> bytes:
    covered: list[tuple[int, int]] = [(int(a), int(b)) for a, b in
                                      re.findall(rb'<col\b[^>]*\bmin="(\d+)"[^>]*\bmax="(\d+)"',
                                                 head)]
    new = []
    for letter, width in sorted(widths.items(), key=lambda kv: column_index(kv[0])):
        n = column_index(letter) + 1
        if any(a <= n <= b for a, b in covered):
            continue
        new.append(f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>')
    if not new:
        return head
    block = "".join(new).encode()
    if b"</cols>" in head:
        # <col> elements must be sorted by min: ours are to the right of the dealer's columns.
        cols_start = head.index(b"<cols>")
        cols_end = head.index(b"</cols>")
        entries = re.findall(rb"<col\b[^>]*/>", head[cols_start:cols_end]) + \
            re.findall(rb"<col\b[^>]*/>", block)
        entries.sort(key=lambda e: int(re.search(rb'min="(\d+)"', e).group(1)))
        return head[:cols_start] + b"<cols>" + b"".join(entries) + head[cols_end:]
    pos = head.find(b"<sheetData")
    return head[:pos] + b"<cols>" + block + b"</cols>" + head[pos:]
