"""A plan of changes: what the engine wants written, independent of the backend that writes it.

The rules produce a :class:`Plan`; a backend (``forecourt.sync.xlsx`` for .xlsx files, later a
Google Sheet) applies it. Cells are addressed by sheet name, Excel row number and column letter.
Text is always written as text, never as a formula, on every backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

Value = str | float | int | dt.datetime | dt.date | None


class CellWrite(NamedTuple):
    """Set one cell. ``None`` empties it. Datetimes get a date-time number format.

    A named tuple rather than a dataclass: a 100k-lead run plans ~300k of them."""

    row: int
    column: str
    value: Value


class ColumnWrites(NamedTuple):
    """Many cells of one column: ``rows[k]`` gets ``values[k]``, as one :class:`CellWrite`
    each would. The engine plans its own columns this way (100k leads, ~300k cells)."""

    column: str
    rows: list[int]
    values: list[Value]


#: A term every engine-owned conditional-format formula contains (it is always true), so a
#: backend can find and replace its own rules without touching the dealer's.
CF_MARKER = 'N("forecourt")=0'


@dataclass(frozen=True)
class ConditionalFormat:
    """An engine-owned conditional-format rule over a range of the dealer's sheet.

    ``formula`` is written relative to the top-left cell of ``sqref`` (as Excel stores it), e.g.
    ``AND(ISNUMBER($R2),$R2<NOW())`` for ``A2:R500``. ``fill`` and ``font`` are RGB hex.
    """

    sqref: str
    formula: str
    fill: str
    font: str | None = None
    name: str = ""


@dataclass
class SheetEdit:
    """Changes to one of the dealer's own sheets: cells, engine-owned rules, new columns' widths."""

    sheet: str
    writes: list[CellWrite] = field(default_factory=list)
    conditional_formats: list[ConditionalFormat] = field(default_factory=list)
    widths: dict[str, float] = field(default_factory=dict)
    columns: list[ColumnWrites] = field(default_factory=list)

    def cells(self) -> Iterator[CellWrite]:
        """Every write as single cells: ``writes``, then ``columns`` (a later write to the same
        cell wins)."""
        yield from self.writes
        for c in self.columns:
            for row, value in zip(c.rows, c.values, strict=True):
                yield CellWrite(row, c.column, value)

    @property
    def cell_count(self) -> int:
        return len(self.writes) + sum(len(c.rows) for c in self.columns)


@dataclass(frozen=True)
class ChartSeries:
    title: str
    values: str  # a range on the same sheet, e.g. "C5:C9"


@dataclass(frozen=True)
class Chart:
    """A native bar/column chart on a generated sheet, anchored at a cell."""

    title: str
    categories: str  # e.g. "A5:A9"
    series: tuple[ChartSeries, ...]
    anchor: str  # top-left cell, e.g. "J2"
    kind: Literal["col", "bar"] = "col"
    width_cols: int = 8
    height_rows: int = 16
    percent_axis: bool = False


@dataclass
class GeneratedSheet:
    """A sheet the engine owns and rewrites on every run (Issues, KPI, Log).

    ``rows`` start at A1. ``links`` maps (row, column letter) to a location inside the workbook
    (``'Anfragen'!C7``). ``formats`` maps a column letter to a number format for its numbers
    and dates (``0.0%``, ``yyyy-mm-dd hh:mm``).
    """

    name: str
    rows: list[list[Value]]
    links: dict[tuple[int, str], str] = field(default_factory=dict)
    widths: dict[str, float] = field(default_factory=dict)
    bold_rows: set[int] = field(default_factory=set)
    formats: dict[str, str] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    freeze_row: int = 0


@dataclass
class Plan:
    edits: list[SheetEdit] = field(default_factory=list)
    sheets: list[GeneratedSheet] = field(default_factory=list)

    @property
    def cell_count(self) -> int:
        return sum(e.cell_count for e in self.edits)
