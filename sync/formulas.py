"""The owner's formulas, as the sync carries them to the Sheet.

A formula that refers only to cells of its own row (``=G5*1.2``, ``=IF(J5="Won",H5,"")``,
``=TODAY()-B5``) is carried as a formula, re-pointed to the row and the columns the Sheet holds
the same cells at (:func:`carry`). Any other (another row, another sheet, a whole column, a
defined name, an array formula) goes across as its value. The xlsx reader gives values only;
:func:`xlsx_formulas` finds the formula cells of a sheet's XML, shared formulas (Excel's
filled-down ones) expanded. Formulas are read and moved by openpyxl's tokenizer and translator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from forecourt.sync.base import column_index, column_letter

_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"')
_F = re.compile(rb"<f(\s[^>]*?)?(?:/>|>(.*?)</f>)", re.S)
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
#: a cell reference, or a range of two, with their ``$`` anchors
_A1 = re.compile(r"(\$?)([A-Z]{1,3})(\$?)([0-9]{1,7})")
_RANGE = re.compile(rf"{_A1.pattern}(?::{_A1.pattern})?")


def carry(formula: str, row: int, to_row: int, column: Callable[[str], str | None]
          ) -> str | None:
    """``formula`` (with or without its "=") of a cell of row ``row``, re-pointed to row
    ``to_row`` and the columns ``column(letter)`` gives (None: that column is not there); None
    when it refers to anything but cells of its own row (another row, another sheet, a whole
    column, a defined name, a table), or when a range of it would not hold the same columns.

    The formula is read by openpyxl's tokenizer (strings, functions and operators as Excel
    reads them); only its references are rewritten."""
    from openpyxl.formula.tokenizer import Token, Tokenizer

    text = formula if formula.startswith("=") else "=" + formula
    try:
        tokens = Tokenizer(text).items
    except Exception:  # noqa: BLE001 - openpyxl raises bare exceptions on bad formulas
        return None
    out = ["="]
    for token in tokens:
        value = token.value
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            m = _RANGE.fullmatch(value)
            if m is None:  # another sheet, a whole column or row, a name, a table
                return None
            refs = [m.groups()[:4]] + ([m.groups()[4:]] if m.group(6) else [])
            if any(int(r[3]) != row for r in refs):
                return None
            letters = [column(r[1]) for r in refs]
            if None in letters:
                return None
            if len(refs) == 2:  # the range must hold the same columns, in the same order
                first, last = column_index(refs[0][1]), column_index(refs[1][1])
                mapped = [column(column_letter(k)) for k in range(first, last + 1)]
                start = column_index(letters[0])  # type: ignore[arg-type]
                if None in mapped or [column_index(x) for x in mapped] != list(  # type: ignore
                        range(start, start + len(mapped))):
                    return None
            value = ":".join(f"{r[0]}{letter}{r[2]}{to_row}"
                             for r, letter in zip(refs, letters, strict=True))
        out.append(value)
    return "".join(out)


def shift(formula: str, rows: int, columns: int) -> str | None:
    """A shared formula's text (without "=") as a cell ``rows`` below and ``columns`` right
    of its first cell holds it (relative references move, $-anchored ones stay), by
    openpyxl's translator; None when it cannot be read."""
    from openpyxl.formula.translate import Translator

    try:
        moved = Translator("=" + formula, origin="A1").translate_formula(
            row_delta=rows, col_delta=columns)
    except Exception:  # noqa: BLE001 - openpyxl raises bare exceptions on bad formulas
        return None
    return moved[1:] if moved.startswith("=") else moved


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
