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

    def value(self, row: int, j: int | None) -> Any:
        """The cell at ``row`` (1-based) and column index ``j`` (0-based, from A); "" outside
        the rectangle."""
        if j is None:
            return ""
        i, jj = row - self.first_row, j - self.first_col
        return self.rows[i][jj] if 0 <= i < len(self.rows) and 0 <= jj < len(self.rows[i]) \
            else ""

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


#: day 0 of a spreadsheet's serial numbers (Excel, LibreOffice and Google Sheets alike)
SERIAL_EPOCH = dt.datetime(1899, 12, 30)


def serial(value: dt.datetime | dt.date) -> float:
    """A moment as a spreadsheet serial number (days since 1899-12-30, wall-clock), to the last
    bit: correctly rounded, as ``timedelta / timedelta`` is."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return (value.replace(tzinfo=None) - SERIAL_EPOCH) / dt.timedelta(days=1)


def from_serial(number: float) -> dt.datetime:
    return SERIAL_EPOCH + dt.timedelta(days=number)


def is_generated(tab: Tab) -> bool:
    """A sheet forecourt wrote itself: its A1 starts with "forecourt"."""
    first = tab.rows[0][0] if tab.rows and tab.rows[0] and tab.first_row == 1 \
        and tab.first_col == 0 else ""
    return isinstance(first, str) and first.lower().startswith("forecourt")


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
