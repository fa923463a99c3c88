"""Applying a :class:`~forecourt.plan.Plan` to an .xlsx/.xlsm file without re-saving it.

openpyxl drops charts and images when it re-saves a workbook and needs ~43 s and 0.9 GB for a
100k-lead book, so this module edits the package instead: every zip part the plan does not
touch is copied unchanged (charts, images, pivot tables, comments, the VBA project...), and the
few parts it does touch are edited as text:

* the edited sheets' XML: only the written cells change; rows are streamed by regex, cells in
  untouched rows are not even parsed; new cells are inline strings (text is never a formula);
* ``xl/styles.xml``: a date format, a bold header and the conditional-format colours are added
  once (found again on later runs, never duplicated);
* workbook.xml, its relationships and [Content_Types].xml: our generated sheets (Issues, KPI,
  Log) with their drawings and charts, replaced on every run.

The result goes to a temporary file in the destination folder, is flushed to disk, and then
renamed over the destination in one step; the previous version is kept as a backup.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import os
import posixpath
import queue
import re
import shutil
import threading
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO

from forecourt.background import Background
from forecourt.errors import UnreadableWorkbook
from forecourt.locks import TEMP_PREFIX
from forecourt.plan import (
    CF_MARKER,
    Chart,
    ConditionalFormat,
    GeneratedSheet,
    Plan,
    SheetEdit,
    Value,
)
from forecourt.sync.base import column_index, column_letter

OWNED_TITLE = "forecourt"
DATE_FORMAT = "yyyy-mm-dd hh:mm"

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_SHEET = NS_REL + "/worksheet"
REL_DRAWING = NS_REL + "/drawing"
REL_CHART = NS_REL + "/chart"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_EPOCH_MICROS = (_EXCEL_EPOCH - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
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


def excel_serial(value: dt.datetime | dt.date) -> float:
    """The serial number of a moment, to the last bit: the nearest float, written in full. (Cut
    to 8 decimals, 14:45 became 14:44:59.9996, which LibreOffice and Sheets show as 14:44.)"""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return (value - _EXCEL_EPOCH) / dt.timedelta(days=1)


def _text(value: str) -> str:
    """Element text: without the characters XML 1.0 forbids, markup escaped. (Not
    xml.sax.saxutils.escape, whose module imports urllib and http.client.)"""
    return (_BAD_XML.sub("", value).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")


# --- styles -------------------------------------------------------------------------------


@dataclass
class Styles:
    """xl/styles.xml as text, with the few entries the engine needs appended once."""

    xml: str
    _date_cache: dict[int, bool] = field(default_factory=dict)

    def _section(self, tag: str) -> tuple[int, int] | None:
        m = re.search(rf"<{tag}\b[^>]*?(/>|>.*?</{tag}>)", self.xml, re.S)
        return (m.start(), m.end()) if m else None

    def _add(self, tag: str, child: str, element: str, after: tuple[str, ...]) -> int:
        """Index of ``element`` among ``tag``'s children, appending it when missing."""
        span = self._section(tag)
        if span is None:
            pos = self._insert_point(after)
            self.xml = self.xml[:pos] + f'<{tag} count="0"></{tag}>' + self.xml[pos:]
            span = self._section(tag)
        assert span is not None
        start, end = span
        block = self.xml[start:end]
        if block.endswith("/>"):
            block = block[:-2].rstrip() + f"></{tag}>"
        body_start = block.index(">") + 1
        body = block[body_start: -len(f"</{tag}>")]
        children = re.findall(rf"<{child}\b[^>]*?(?:/>|>.*?</{child}>)", body, re.S)
        if element in children:
            return children.index(element)
        head = re.sub(r'\bcount="\d+"', f'count="{len(children) + 1}"', block[:body_start])
        if "count=" not in head:
            head = head[:-1] + f' count="{len(children) + 1}">'
        self.xml = self.xml[:start] + head + body + element + f"</{tag}>" + self.xml[end:]
        return len(children)

    def _insert_point(self, after: tuple[str, ...]) -> int:
        for tag in after:
            ends = [m.end() for m in re.finditer(rf"</{tag}>|<{tag}\b[^>]*/>", self.xml)]
            if ends:
                return ends[-1]
        return self.xml.index(">", self.xml.index("<styleSheet")) + 1

    def number_format(self, code: str) -> int:
        for m in re.finditer(r'<numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"',
                             self.xml):
            if m.group(2) == _attr(code):
                return int(m.group(1))
        ids = [int(i) for i in re.findall(r'<numFmt\b[^>]*numFmtId="(\d+)"', self.xml)]
        new_id = max([163, *ids]) + 1
        self._add("numFmts", "numFmt", f'<numFmt numFmtId="{new_id}" formatCode="{_attr(code)}"/>',
                  ())
        return new_id

    def cell_style(self, number_format: str | None = None, bold: bool = False,
                   link: bool = False) -> int:
        """A cellXfs index for a plain cell with this number format / font."""
        fmt_id = self.number_format(number_format) if number_format else 0
        font_id = 0
        if bold:
            font_id = self._add("fonts", "font", '<font><b/><sz val="11"/></font>',
                                ("numFmts",))
        elif link:
            font_id = self._add("fonts", "font",
                                '<font><u/><sz val="11"/><color rgb="FF0563C1"/></font>',
                                ("numFmts",))
        apply_fmt = ' applyNumberFormat="1"' if fmt_id else ""
        apply_font = ' applyFont="1"' if font_id else ""
        xf = (f'<xf numFmtId="{fmt_id}" fontId="{font_id}" fillId="0" borderId="0" xfId="0"'
              f"{apply_fmt}{apply_font}/>")
        return self._add("cellXfs", "xf", xf, ("cellStyleXfs", "borders"))

    def dxf(self, fill: str, font: str | None) -> int:
        font_xml = f'<font><color rgb="FF{font}"/></font>' if font else ""
        element = (f'<dxf>{font_xml}<fill><patternFill patternType="solid">'
                   f'<bgColor rgb="FF{fill}"/></patternFill></fill></dxf>')
        return self._add("dxfs", "dxf", element, ("cellStyles", "cellXfs"))

    def is_date_style(self, index: int) -> bool:
        if index not in self._date_cache:
            self._date_cache[index] = self._is_date_style(index)
        return self._date_cache[index]

    def _is_date_style(self, index: int) -> bool:
        m = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", self.xml, re.S)
        if not m:
            return False
        xfs = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", m.group(1), re.S)
        if index >= len(xfs):
            return False
        fmt = re.search(r'numFmtId="(\d+)"', xfs[index])
        fmt_id = int(fmt.group(1)) if fmt else 0
        if 14 <= fmt_id <= 22 or 45 <= fmt_id <= 47:
            return True
        code = re.search(rf'<numFmt\b[^>]*numFmtId="{fmt_id}"[^>]*formatCode="([^"]*)"',
                         self.xml)
        return bool(code and re.search(r"[dmyhs]", re.sub(r'"[^"]*"|\[[^]]*]', "",
                                                          code.group(1)), re.I))


# --- cells and rows -----------------------------------------------------------------------


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


def _row_cells(edit: SheetEdit, date_style: int) -> tuple[dict[int, list[_Cell]], int, int]:
    """The edit's writes by row, each row's sorted by column with one write per cell (a
    later write to a cell wins, as in :meth:`SheetEdit.cells`); and the largest column and row
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


def edit_sheet(xml: bytes, edit: SheetEdit, styles: Styles, header_row: int | None = None
               ) -> tuple[Iterator[bytes | memoryview], bool]:
    """Apply one :class:`SheetEdit` to a worksheet part: (pieces of the new part, changed?)."""
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


# --- generated sheets ---------------------------------------------------------------------


def generated_sheet_xml(sheet: GeneratedSheet, styles: Styles, drawing_rel: str | None) -> bytes:
    bold = styles.cell_style(bold=True)
    link = styles.cell_style(link=True)
    date_style = styles.cell_style(DATE_FORMAT)
    col_styles = {col: styles.cell_style(fmt) for col, fmt in sheet.formats.items()}
    width = max((len(r) for r in sheet.rows), default=1)
    letters = [column_letter(j) for j in range(width)]
    refs = [_REFS[j] for j in range(width)]
    number_style = [col_styles.get(letter, 0) for letter in letters]  # numbers, by column
    dates_style = [col_styles.get(letter, date_style) for letter in letters]
    links = sheet.links
    rows = []
    for i, values in enumerate(sheet.rows, start=1):
        number = b"%d" % i
        cells = [b'<row r="', number, b'">']
        bold_row = i in sheet.bold_rows
        for j, value in enumerate(values):
            kind = value.__class__
            if links and (i, letters[j]) in links:
                style = link
            elif bold_row:
                style = bold
            elif kind is not bool and isinstance(value, int | float):
                style = number_style[j]
            else:
                style = 0
            tail = _cell_tail(kind, value, style,
                              dates_style[j] if isinstance(value, dt.datetime) else date_style)
            if tail:
                cells += (refs[j], number, tail)
        cells.append(b"</row>")
        rows.append(b"".join(cells))
    parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
             f'xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheetPr><pageSetUpPr fitToPage="1"/>'
             f'</sheetPr><dimension ref="A1:'
             f'{column_letter(max(width - 1, 0))}{max(len(sheet.rows), 1)}"/>'.encode()]
    if sheet.freeze_row:
        parts.append(f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{sheet.freeze_row}"'
                     f' topLeftCell="A{sheet.freeze_row + 1}" activePane="bottomLeft" '
                     f'state="frozen"/></sheetView></sheetViews>'.encode())
    parts.append(b'<sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        cols = "".join(f'<col min="{column_index(c) + 1}" max="{column_index(c) + 1}" width="{w}" '
                       f'customWidth="1"/>' for c, w in
                       sorted(sheet.widths.items(), key=lambda kv: column_index(kv[0])))
        parts.append(f"<cols>{cols}</cols>".encode())
    parts.append(b"<sheetData>" + b"".join(rows) + b"</sheetData>")
    if sheet.links:
        links = "".join(f'<hyperlink ref="{col}{row}" location="{_attr(target)}"/>'
                        for (row, col), target in sorted(sheet.links.items()))
        parts.append(f"<hyperlinks>{links}</hyperlinks>".encode())
    parts.append(b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                 b'footer="0.3"/>')
    # One page wide, as many pages down as it takes; landscape for the KPI sheet's charts.
    parts.append(b'<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" '
                 b'fitToHeight="0"/>')
    breaks = page_breaks(len(sheet.rows), sheet.charts, _page_rows(sheet, width))
    if breaks:
        brks = "".join(f'<brk id="{r}" max="16383" man="1"/>' for r in breaks)
        parts.append(f'<rowBreaks count="{len(breaks)}" manualBreakCount="{len(breaks)}">'
                     f"{brks}</rowBreaks>".encode())
    if drawing_rel:
        parts.append(f'<drawing r:id="{drawing_rel}"/>'.encode())
    parts.append(b"</worksheet>")
    return b"".join(parts)


# Rows of the default height that fit on a landscape A4 page at full size. Fitting the sheet to
# the page's width only ever shrinks it, so a page of this many rows always fits, and no
# automatic break falls between the manual ones.
PAGE_ROWS = 30


# Landscape A4 less the margins above, in points; a column of width w (characters) is about
# 7w + 5 pixels, 0.75 points each (Excel's and LibreOffice's default font).
_PRINT_WIDTH = 842 - 2 * 0.7 * 72
_DEFAULT_WIDTH = 8.43


def _page_rows(sheet: GeneratedSheet, columns: int) -> int:
    """Rows per printed page once the sheet is shrunk to the page's width: the wider the
    sheet, the more rows fit. Estimated a tenth on the safe side (fewer rows), since a page
    that ends before the estimate is cut by the program wherever it likes."""
    right = max([columns, *(column_index(re.match(r"[A-Z]+", c.anchor).group(0)) + c.width_cols
                            for c in sheet.charts if re.match(r"[A-Z]+", c.anchor))])
    points = sum((sheet.widths.get(column_letter(j), _DEFAULT_WIDTH) * 7 + 5) * 0.75
                 for j in range(right))
    scale = min(1.0, 1.1 * _PRINT_WIDTH / points) if points else 1.0
    return max(PAGE_ROWS, int(PAGE_ROWS / scale))


def page_breaks(rows: int, charts: list[Chart], page_rows: int = PAGE_ROWS) -> list[int]:
    """The rows after which a printed page ends (Excel's ``brk id``): every ``page_rows``
    rows, or sooner where a chart would be cut in two (it then starts the next page)."""
    spans = []
    for chart in charts:
        m = re.match(r"[A-Z]+(\d+)", chart.anchor)
        if m:
            top = int(m.group(1)) - 1  # rows above the chart
            spans.append((top, top + chart.height_rows))
    last = max([rows, *(bottom for _, bottom in spans)])
    breaks, start = [], 0
    while start + page_rows < last:
        end = start + page_rows
        cut = [top for top, bottom in spans if top < end < bottom and top > start]
        end = min(cut) if cut else end
        breaks.append(end)
        start = end
    return breaks


def _cell_ref(sheet: str, rng: str) -> str:
    a, _, b = rng.partition(":")
    abs_ = [re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", x) for x in (a, b or a)]
    quoted = "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!{abs_[0]}:{abs_[1]}"


def chart_xml(chart: Chart, sheet: str) -> bytes:
    """A native clustered bar/column chart over ranges of ``sheet``.

    The XML is what openpyxl's chart writer produces for the same chart (categories as a
    string reference), kept as a template so a run does not import openpyxl. No cached
    values: the spreadsheet computes them from the cells when it opens the file.
    """
    series = "".join(
        f'<ser><idx val="{k}" /><order val="{k}" /><tx><v>{_text(s.title)}</v></tx>'
        f'<spPr><a:ln><a:prstDash val="solid" /></a:ln></spPr>'
        f"<cat><strRef><f>{_text(_cell_ref(sheet, chart.categories))}</f></strRef></cat>"
        f"<val><numRef><f>{_text(_cell_ref(sheet, s.values))}</f></numRef></val></ser>"
        for k, s in enumerate(chart.series))
    scaling = '<orientation val="minMax" />' + (
        '<max val="1" /><min val="0" />' if chart.percent_axis else "")
    number_format = '<numFmt formatCode="0%" sourceLinked="0" />' if chart.percent_axis else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<chartSpace xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns="http://schemas.openxmlformats.org/drawingml/2006/chart"><style val="10" />'
        "<chart><title><tx><rich><a:bodyPr /><a:p><a:pPr><a:defRPr /></a:pPr><a:r><a:t>"
        f"{_text(chart.title)}</a:t></a:r></a:p></rich></tx></title><plotArea><barChart>"
        f'<barDir val="{chart.kind}" /><grouping val="clustered" />{series}'
        '<gapWidth val="150" /><axId val="10" /><axId val="100" /></barChart><catAx>'
        '<axId val="10" /><scaling><orientation val="minMax" /></scaling><delete val="0" />'
        '<axPos val="l" /><majorTickMark val="none" /><minorTickMark val="none" />'
        '<crossAx val="100" /><lblOffset val="100" /></catAx><valAx><axId val="100" />'
        f'<scaling>{scaling}</scaling><delete val="0" /><axPos val="l" /><majorGridlines />'
        f'{number_format}<majorTickMark val="none" /><minorTickMark val="none" />'
        '<crossAx val="10" /></valAx></plotArea><legend><legendPos val="b" /></legend>'
        '<plotVisOnly val="1" /><dispBlanksAs val="gap" /></chart></chartSpace>'
    ).encode()


def drawing_xml(charts: list[Chart], rel_ids: list[str]) -> bytes:
    anchors = []
    for k, (chart, rid) in enumerate(zip(charts, rel_ids, strict=True), start=1):
        m = re.match(r"([A-Z]+)(\d+)", chart.anchor)
        assert m
        c0, r0 = column_index(m.group(1)), int(m.group(2)) - 1
        anchors.append(
            f"<xdr:twoCellAnchor><xdr:from><xdr:col>{c0}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{r0}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>"
            f"{c0 + chart.width_cols}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>"
            f"{r0 + chart.height_rows}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{k + 1}" '
            f'name="Chart {k}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr><xdr:xfrm>'
            f'<a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic><a:graphicData '
            f'uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart '
            f'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" r:id="{rid}"/>'
            f"</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>"
            f"</xdr:twoCellAnchor>")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xdr:wsDr '
            'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            f'xmlns:r="{NS_REL}">' + "".join(anchors) + "</xdr:wsDr>").encode()


def rels_xml(rels: list[tuple[str, str, str]]) -> bytes:
    body = "".join(f'<Relationship Id="{rid}" Type="{typ}" Target="{_attr(target)}"/>'
                   for rid, typ, target in rels)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
            f'xmlns="{NS_PKG_REL}">{body}</Relationships>').encode()


# --- the package --------------------------------------------------------------------------


def _rels(xml: bytes) -> list[tuple[str, str, str]]:
    out = []
    for m in re.finditer(rb"<Relationship\b([^>]*?)/?>", xml):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1).decode()))
        out.append((attrs.get("Id", ""), attrs.get("Type", ""), attrs.get("Target", "")))
    return out


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(base_dir, target))


def _rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


@dataclass
class Package:
    """An .xlsx package being edited: parts are read from the source on demand, edited parts
    are held in memory (a big sheet as pieces that mostly point into the original), and
    :meth:`write` streams everything into a new zip."""

    source: Path
    infos: list[zipfile.ZipInfo]
    edited: dict[str, Iterable[bytes | memoryview]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)
    _cache: dict[str, bytes] = field(default_factory=dict)
    _coming: dict[str, Background[bytes]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Package:
        with zipfile.ZipFile(path) as zf:
            return cls(Path(path), zf.infolist())

    def prefetch(self, name: str) -> None:
        """Start inflating part ``name`` in a second thread (zlib leaves the GIL), so a big
        sheet is ready when the edit needs it."""
        if name not in self._cache and name not in self._coming \
                and any(i.filename == name for i in self.infos):
            self._coming[name] = Background(self._read, name, name="forecourt-inflate")

    def _read(self, name: str) -> bytes:
        with zipfile.ZipFile(self.source) as zf:
            return _read_part(zf, name)

    def _original(self, name: str) -> bytes | None:
        if name in self._coming:
            self._cache[name] = self._coming.pop(name).result()
        if name not in self._cache:
            if not any(i.filename == name for i in self.infos):
                return None
            with zipfile.ZipFile(self.source) as zf:
                self._cache[name] = _read_part(zf, name)
        return self._cache[name]

    def has(self, name: str) -> bool:
        if name in self.removed:
            return False
        return name in self.edited or any(i.filename == name for i in self.infos)

    def get(self, name: str) -> bytes:
        if name in self.edited:
            return b"".join(self.edited[name])
        data = self._original(name) if name not in self.removed else None
        if data is None:
            raise KeyError(name)
        return data

    def set(self, name: str, data: bytes) -> None:
        self.removed.discard(name)
        self.edited[name] = [data]
        if data == self._original(name):
            self.dirty.discard(name)
        else:
            self.dirty.add(name)

    def set_pieces(self, name: str, pieces: Iterable[bytes | memoryview], changed: bool
                   ) -> None:
        """An edited part given as pieces (possibly a generator, consumed by :meth:`write`)."""
        self.removed.discard(name)
        self.edited[name] = pieces
        if changed:
            self.dirty.add(name)

    def remove(self, name: str) -> None:
        self.edited.pop(name, None)
        self.dirty.discard(name)
        if any(i.filename == name for i in self.infos):
            self.removed.add(name)

    @property
    def changed(self) -> set[str]:
        """Parts added, removed or different from the file as read."""
        return self.dirty | {n for n in self.removed if self._original(n) is not None
                             and n not in self.edited}

    def sheets(self) -> dict[str, str]:
        """Sheet name -> part path, in workbook order."""
        return sheet_parts(self.get("xl/workbook.xml"), self.get("xl/_rels/workbook.xml.rels"))

    def unused(self, pattern: str) -> str:
        n = 1
        while self.has(pattern.format(n)):
            n += 1
        return pattern.format(n)

    def write(self, dest: Path) -> None:
        """Stream every part into ``dest``: untouched parts are copied in 1 MiB chunks."""
        known = {i.filename for i in self.infos}
        names = [i.filename for i in self.infos if self.has(i.filename)]
        names += sorted((n for n in self.edited if n not in known), key=_part_order)
        by_name = {i.filename: i for i in self.infos}
        with zipfile.ZipFile(self.source) as zin, \
                zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
            for name in names:
                old = by_name.get(name)
                info = zipfile.ZipInfo(name, old.date_time if old else FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                pieces = self.edited.get(name)
                if isinstance(pieces, list):
                    size = most = sum(len(p) for p in pieces)
                else:  # a generator (rewriting can add to the part) or untouched
                    size = old.file_size if old else 0
                    most = size * 2
                # Parts forecourt rewrites, over 256 KB: level 1 is ~3x faster and about a
                # quarter larger (8 MB of leads: 44 ms and 1.33 MB; level 6: 113 ms and
                # 1.06 MB). Parts copied untouched keep level 6 up to 2 MB, so a run does not
                # grow the dealer's other sheets. (_compresslevel is what ZipFile.open reads up
                # to 3.12, compress_level from 3.13.)
                level = 1 if size > ((256 << 10) if pieces is not None else (2 << 20)) else 6
                setattr(info, "compress_level" if hasattr(info, "compress_level")
                        else "_compresslevel", level)
                with zout.open(info, "w", force_zip64=most > (1 << 30)) as out:
                    if pieces is not None:
                        _write_pieces(pieces, out, in_background=most > (4 << 20))
                    else:
                        with zin.open(name) as src:
                            shutil.copyfileobj(src, out, 1 << 20)
        _cell_tail.cache_clear()  # up to ~30 MB of cell XML: not kept past the write


def _chunks(pieces: Iterable[bytes | memoryview]) -> Iterator[bytes | memoryview | bytearray]:
    """Many small pieces (rows) joined into about 1 MiB at a time, for zlib; a piece that
    big already passes as it is (not copied again)."""
    buffer = bytearray()
    for piece in pieces:
        if len(piece) >= (1 << 20):
            if buffer:
                yield buffer
                buffer = bytearray()
            yield piece
            continue
        buffer += piece
        if len(buffer) >= (1 << 20):
            yield buffer
            buffer = bytearray()
    yield buffer


def _write_pieces(pieces: Iterable[bytes | memoryview], out: IO[bytes], *,
                  in_background: bool) -> None:
    """Write pieces to a zip member. ``in_background``: a second thread compresses each MiB
    (zlib releases the GIL) while this one makes the next, so a big sheet's rewriting and
    compressing overlap. (That thread needs the GIL back after each zlib call and file write:
    :func:`forecourt.engine.run` shortens Python's switch interval so it does not wait 5 ms
    each time.)"""
    if not in_background:
        for chunk in _chunks(pieces):
            out.write(chunk)
        return
    ready: queue.Queue[bytes | memoryview | bytearray | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def drain() -> None:
        while (chunk := ready.get()) is not None:
            if not failed:
                try:
                    out.write(chunk)
                except BaseException as exc:  # handed to the writing thread below
                    failed.append(exc)

    worker = threading.Thread(target=drain, name="forecourt-compress", daemon=True)
    worker.start()
    try:
        for chunk in _chunks(pieces):
            if failed:
                break
            ready.put(chunk)
    finally:
        ready.put(None)
        worker.join()
    if failed:
        raise failed[0]


def _read_part(zf: zipfile.ZipFile, name: str) -> bytes:
    """A part's bytes, inflated straight into a buffer of its known size: ``ZipFile.read``
    needs about twice the part's size on the way (100 MB more for the leads sheet of a
    100k-lead book)."""
    info = zf.getinfo(name)
    data = bytearray(info.file_size)
    view = memoryview(data)
    pos = 0
    with zf.open(info) as src:
        while pos < len(data):
            n = src.readinto(view[pos:pos + (1 << 20)])
            if not n:
                break
            pos += n
        if pos != len(data) or src.read(1):
            raise zipfile.BadZipFile(f"{name}: size differs from the zip directory")
    view.release()
    return data  # type: ignore[return-value]  # a bytearray: every bytes method the edit uses


def sheet_parts(workbook_xml: bytes, workbook_rels: bytes) -> dict[str, str]:
    """Sheet name -> worksheet part path, in workbook order."""
    wb = workbook_xml.decode("utf-8")
    rels = {rid: _resolve("xl", target) for rid, _t, target in _rels(workbook_rels)}
    out = {}
    for m in re.finditer(r"<sheet\b([^>]*?)/?>", wb):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if rid in rels:
            out[_unescape(attrs.get("name", ""))] = rels[rid]
    return out


def _part_order(name: str) -> tuple[int, str]:
    return (0 if "worksheets" in name else 1, name)


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def is_ours(part: bytes) -> bool:
    """Whether a worksheet part is one forecourt generated (its A1 is our title)."""
    head = part[:4000]
    m = re.search(rb"<c\b[^>]*\br=\"A1\"[^>]*>(.*?)</c>", head, re.S)
    return bool(m and re.search(rb"<t[^>]*>" + OWNED_TITLE.encode(), m.group(1)))


def _content_types(pkg: Package, add: dict[str, str], drop: set[str]) -> None:
    ct = pkg.get("[Content_Types].xml").decode("utf-8")
    for part in drop:
        ct = re.sub(rf'<Override\b[^>]*PartName="/{re.escape(part)}"[^>]*/>', "", ct)
    for part, typ in add.items():
        if f'PartName="/{part}"' not in ct:
            ct = ct.replace("</Types>", f'<Override PartName="/{part}" ContentType="{typ}"/>'
                                        "</Types>")
    pkg.set("[Content_Types].xml", ct.encode("utf-8"))


def _drop_sheet_extras(pkg: Package, sheet_part: str) -> set[str]:
    """Remove a generated sheet's drawing and charts (they are rebuilt); return removed parts."""
    removed: set[str] = set()
    rels_part = _rels_path(sheet_part)
    if not pkg.has(rels_part):
        return removed
    for _rid, typ, target in _rels(pkg.get(rels_part)):
        if typ == REL_DRAWING:
            drawing = _resolve(posixpath.dirname(sheet_part), target)
            d_rels = _rels_path(drawing)
            if pkg.has(d_rels):
                for _r, t2, chart_target in _rels(pkg.get(d_rels)):
                    if t2 == REL_CHART:
                        chart = _resolve(posixpath.dirname(drawing), chart_target)
                        pkg.remove(chart)
                        removed.add(chart)
                pkg.remove(d_rels)
            pkg.remove(drawing)
            removed.add(drawing)
    pkg.remove(rels_part)
    return removed


def _add_sheet(pkg: Package, name: str, part: str) -> None:
    wb = pkg.get("xl/workbook.xml").decode("utf-8")
    rels_xml_text = pkg.get("xl/_rels/workbook.xml.rels").decode("utf-8")
    ids = [int(x) for x in re.findall(r'Id="rId(\d+)"', rels_xml_text)]
    rid = f"rId{max(ids, default=0) + 1}"
    target = posixpath.relpath(part, "xl")
    rels_xml_text = rels_xml_text.replace(
        "</Relationships>", f'<Relationship Id="{rid}" Type="{REL_SHEET}" Target="{target}"/>'
                            "</Relationships>")
    sheet_ids = [int(x) for x in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', wb)]
    prefix = re.search(rf'xmlns:(\w+)="{re.escape(NS_REL)}"', wb)
    if prefix:
        rattr = prefix.group(1)
    else:
        rattr = "r"
        wb = re.sub(r"<workbook\b", f'<workbook xmlns:r="{NS_REL}"', wb, count=1)
    entry = (f'<sheet name="{_attr(name)}" sheetId="{max(sheet_ids, default=0) + 1}" '
             f'{rattr}:id="{rid}"/>')
    wb = wb.replace("</sheets>", entry + "</sheets>", 1)
    pkg.set("xl/workbook.xml", wb.encode("utf-8"))
    pkg.set("xl/_rels/workbook.xml.rels", rels_xml_text.encode("utf-8"))


def apply_generated(pkg: Package, sheet: GeneratedSheet, styles: Styles) -> str:
    """Write (or rewrite) a generated sheet; returns the sheet name used."""
    sheets = pkg.sheets()
    name = sheet.name
    part = sheets.get(name)
    if part is not None and not is_ours(pkg.get(part) if pkg.has(part) else b""):
        name = f"{sheet.name} (forecourt)"
        part = sheets.get(name)
    removed: set[str] = set()
    if part is None:
        part = pkg.unused("xl/worksheets/sheet{}.xml")
        _add_sheet(pkg, name, part)
    else:
        removed = _drop_sheet_extras(pkg, part)
    add_types = {part: CT_SHEET}
    drawing_rel = None
    if sheet.charts:
        drawing = pkg.unused("xl/drawings/drawing{}.xml")
        chart_rels = []
        for k, chart in enumerate(sheet.charts, start=1):
            chart_part = pkg.unused("xl/charts/chart{}.xml")
            pkg.set(chart_part, chart_xml(chart, name))
            add_types[chart_part] = CT_CHART
            chart_rels.append((f"rId{k}", REL_CHART, "../charts/" + posixpath.basename(chart_part)))
        pkg.set(drawing, drawing_xml(sheet.charts, [r[0] for r in chart_rels]))
        pkg.set(_rels_path(drawing), rels_xml(chart_rels))
        add_types[drawing] = CT_DRAWING
        pkg.set(_rels_path(part), rels_xml([("rId1", REL_DRAWING,
                                             "../drawings/" + posixpath.basename(drawing))]))
        drawing_rel = "rId1"
    pkg.set(part, generated_sheet_xml(sheet, styles, drawing_rel))
    _content_types(pkg, add_types, removed - set(add_types))
    return name


def apply_plan_to_package(pkg: Package, plan: Plan, header_rows: dict[str, int] | None = None,
                          progress: Callable[[str], None] | None = None) -> Package:
    """Stage the plan's changes in ``pkg`` (written by :meth:`Package.write`). The plan's cell
    writes are consumed (emptied) as each sheet is staged, to free them early."""
    say = progress or (lambda _m: None)
    styles = Styles(pkg.get("xl/styles.xml").decode("utf-8"))
    sheets = pkg.sheets()
    for edit in plan.edits:
        part = sheets.get(edit.sheet)
        if part is None:
            raise ValueError(f"sheet {edit.sheet!r} not found in the workbook")
        say(f"writing {edit.cell_count} cells to {edit.sheet}")
        pieces, changed = edit_sheet(pkg.get(part), edit, styles,
                                     (header_rows or {}).get(edit.sheet))
        edit.writes, edit.columns = [], []  # applied: free them before the next sheet
        pkg.set_pieces(part, pieces, changed)
    for sheet in plan.sheets:
        say(f"writing sheet {sheet.name}")
        apply_generated(pkg, sheet, styles)
    pkg.set("xl/styles.xml", styles.xml.encode("utf-8"))
    return pkg


def backup_path(path: Path) -> Path:
    """``BOOK.xlsx`` -> ``BOOK.forecourt.bak.xlsx`` (the version before the last run)."""
    return path.with_name(f"{path.stem}.forecourt.bak{path.suffix}")


def replace_atomically(pkg: Package, dest: Path, *, backup: bool = True,
                       before_replace: Callable[[], None] | None = None) -> None:
    """Write to a temporary file beside ``dest``, flush it to disk, keep the old version as a
    backup, then rename over ``dest`` in one step: a crash leaves the old file or the new one,
    never half of either. ``before_replace`` runs just before the backup and rename; if it
    raises, ``dest`` is left as it was."""
    dest = Path(dest)
    tmp = dest.with_name(f"{TEMP_PREFIX}{os.getpid()}-{dest.name}")
    try:
        pkg.write(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        if dest.exists():
            if dest.stat().st_mode:
                shutil.copymode(dest, tmp)
            if backup:
                bak = backup_path(dest)
                bak_tmp = bak.with_name(TEMP_PREFIX + bak.name)
                shutil.copy2(dest, bak_tmp)
                os.replace(bak_tmp, bak)
        os.replace(tmp, dest)
        if hasattr(os, "O_DIRECTORY"):
            fd = os.open(dest.parent, os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        if tmp.exists():
            tmp.unlink()
