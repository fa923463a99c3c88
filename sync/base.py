"""What every backend hands the engine: tabs in, rows of values with their locations out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any


def column_index(letter: str) -> int:
    """A -> 0, Z -> 25, AA -> 26 (the inverse of :func:`column_letter`)."""
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1


def quote_sheet(name: str) -> str:
    """``Dealer's Leads`` -> ``'Dealer''s Leads'``, as an A1 reference to another sheet needs
    it (Excel and Google Sheets alike)."""
    return "'" + name.replace("'", "''") + "'"


@cache
def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class Tab:
    """One sheet's values as a rectangle anchored at (first_row, first_col).

    ``rows[i][j]`` sits at Excel row ``first_row + i`` and column ``first_col + j`` (0-based
    column index, so ``column_letter(first_col + j)`` names it). Values are str, float, int,
    bool, datetime, date, time or "" for an empty cell.
    """

    name: str
    rows: list[list[Any]]
    first_row: int = 1
    first_col: int = 0
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)

    def excel_row(self, i: int) -> int:
        return self.first_row + i

    def letter(self, j: int) -> str:
        return column_letter(self.first_col + j)


@dataclass
class Tabs:
    """A workbook as the engine sees it: its source and its tabs in order, and which workbook
    at which revision they were read from (a :class:`~forecourt.sync.backend.WorkbookId`; a
    text that changes whenever the workbook does; None when unknown)."""

    source: str
    tabs: list[Tab]
    kind: str = "xlsx"
    identity: Any = None
    revision: str | None = None
    #: the workbook's own time zone, where it has one (a Google Sheet's ``timeZone``)
    time_zone: str | None = None


def fold_key(value: Any) -> str:
    """A key as backends compare it: text without spaces or dashes, upper case (a VIN typed
    ``wvw zzz…`` is the same car; ``l-abc`` the same lead as ``L-ABC``)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id typed as 1001 is read back as 1001.0
    text = value if isinstance(value, str) else str(value)
    return text.replace(" ", "").replace("-", "").upper()


def cell_text(value: Any) -> str:
    """A cell's value as the engine compares it: text stripped, times to the minute, "" for
    an empty cell (None, NaN, NaT)."""
    if isinstance(value, str):
        return value.strip()
    if value is None or value != value:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1.0 as a spreadsheet stores it, 1 as the engine wrote it
    return str(value).strip()
