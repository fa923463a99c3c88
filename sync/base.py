"""What every backend hands the engine: tabs in, rows of values with their locations out."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any


def column_index(letter: str) -> int:
    """A -> 0, Z -> 25, AA -> 26 (the inverse of :func:`column_letter`)."""
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1


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
    """A workbook as the engine sees it: its source and its tabs in order."""

    source: str
    tabs: list[Tab]
    kind: str = "xlsx"
