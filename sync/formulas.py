"""The owner's formulas, as the sync carries them to the Sheet.

A formula that refers only to cells of its own row (``=G5*1.2``, ``=IF(J5="Won",H5,"")``,
``=TODAY()-B5``) is carried as a formula, re-pointed to the row and the columns the Sheet holds
the same cells at (:func:`carry`). Any other (another row, another sheet, a whole column, a
defined name, an array formula) goes across as its value. The xlsx reader gives values only;
:func:`xlsx_formulas` finds the formula cells of a sheet's XML, shared formulas (Excel's
filled-down ones) expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from forecourt.sync.base import column_index, column_letter

#: an A1 reference (``$`` anchors allowed), not part of a longer name or a function call
_REF = re.compile(r"(?<![A-Za-z0-9_.])(\$?)([A-Z]{1,3})(\$?)([0-9]{1,7})(?![A-Za-z0-9_(.])")
_WORD = re.compile(r"[A-Za-z_\\][A-Za-z0-9_.]*")
_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"')
_F = re.compile(rb"<f(\s[^>]*?)?(?:/>|>(.*?)</f>)", re.S)
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


def _outside_strings(text: str) -> list[tuple[int, int]]:
    """The spans of ``text`` outside its string literals ("..." with "" inside)."""
    spans, start, i = [], 0, 0
    while i < len(text):
        if text[i] == '"':
            spans.append((start, i))
            i += 1
            while i < len(text):
                if text[i] == '"' and text[i + 1:i + 2] == '"':
                    i += 2
                elif text[i] == '"':
                    break
                else:
                    i += 1
            start = i + 1
        i += 1
    spans.append((start, len(text)))
    return spans


def _map_refs(text: str, each: Callable[[re.Match[str]], str | None]) -> str | None:
    """``text`` with every reference outside string literals replaced by ``each(match)``;
    None when ``each`` says a reference cannot be carried, or a piece of the formula is not a
    reference, a function, a number or a string (another sheet, a defined name, a table)."""
    out = []
    last = 0
    for a, b in _outside_strings(text):
        piece = text[a:b]
        if "!" in piece or "[" in piece or "#" in piece:
            return None  # another sheet or workbook, a table, an error literal
        refs = list(_REF.finditer(piece))
        spans = [(m.start(), m.end()) for m in refs]
        for w in _WORD.finditer(piece):
            if any(s <= w.start() < e for s, e in spans):
                continue
            after = piece[w.end():w.end() + 1]
            if after == "(" or w.group().upper() in ("TRUE", "FALSE"):
                continue
            return None  # a defined name, a whole column (A:A), a whole row (5:5)
        if re.search(r"(?<![A-Za-z0-9_.$])\$?[0-9]+:\$?[0-9]+", piece):
            return None
        out.append(text[last:a])
        pos = 0
        for m in refs:
            new = each(m)
            if new is None:
                return None
            out.append(piece[pos:m.start()] + new)
            pos = m.end()
        out.append(piece[pos:])
        last = b
    out.append(text[last:])
    return "".join(out)


def carry(formula: str, row: int, to_row: int, column: Callable[[str], str | None]
          ) -> str | None:
    """``formula`` (with or without its "=") of a cell of row ``row``, re-pointed to row
    ``to_row`` and the columns ``column(letter)`` gives (None: that column is not there); None
    when it refers to anything but its own row, or cannot be read."""
    text = formula[1:] if formula.startswith("=") else formula

    def each(m: re.Match[str]) -> str | None:
        if int(m.group(4)) != row:
            return None
        letter = column(m.group(2))
        if letter is None:
            return None
        return f"{m.group(1)}{letter}{m.group(3)}{to_row}"

    for a, b in _outside_strings(text):  # a range must hold the same columns, in order
        for m in re.finditer(r"\$?([A-Z]{1,3})\$?[0-9]+:\$?([A-Z]{1,3})\$?[0-9]+", text[a:b]):
            first, last = column_index(m.group(1)), column_index(m.group(2))
            mapped = [column(column_letter(k)) for k in range(first, last + 1)]
            if None in mapped or [column_index(x) for x in mapped] != list(  # type: ignore[arg-type]
                    range(column_index(mapped[0]), column_index(mapped[0]) + len(mapped))):
                return None
    moved = _map_refs(text, each)
    return None if moved is None else "=" + moved


def shift(formula: str, rows: int, columns: int) -> str | None:
    """A shared formula's text as a cell ``rows`` below and ``columns`` right of its first
    cell holds it (relative references move, $-anchored ones stay)."""

    def each(m: re.Match[str]) -> str | None:
        col, row = m.group(2), int(m.group(4))
        if not m.group(1):
            j = column_index(col) + columns
            if j < 0:
                return None
            col = column_letter(j)
        if not m.group(3):
            row += rows
            if row < 1:
                return None
        return f"{m.group(1)}{col}{m.group(3)}{row}"

    return _map_refs(formula, each)


def xlsx_formulas(xml: bytes) -> dict[tuple[int, int], str | None]:
    """(row, column index) -> the formula (without "=") of every formula cell of a
    worksheet's XML; None for one that cannot be read alone (an array formula)."""
    out: dict[tuple[int, int], str | None] = {}
    shared: dict[bytes, tuple[int, int, str]] = {}
    pending: list[tuple[int, int, bytes]] = []
    for m in _F.finditer(xml):
        start = xml.rfind(b"<c ", 0, m.start())
        c = _CELL.match(xml, start) if start >= 0 else None
        if c is None:
            continue
        row, j = int(c.group(2)), column_index(c.group(1).decode())
        attrs = dict(_ATTR.findall(m.group(1) or b""))
        text = unescape(m.group(2).decode("utf-8")) if m.group(2) else ""
        kind = attrs.get(b"t", b"normal")
        if kind == b"shared":
            si = attrs.get(b"si", b"")
            if text:
                shared[si] = (row, j, text)
                out[(row, j)] = text
            else:
                pending.append((row, j, si))
        elif kind == b"normal" and text:
            out[(row, j)] = text
        else:
            out[(row, j)] = None
    for row, j, si in pending:
        master = shared.get(si)
        out[(row, j)] = None if master is None else shift(master[2], row - master[0],
                                                            j - master[1])
    return out
