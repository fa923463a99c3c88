"""A plan of changes: what the engine wants written, as data any backend can apply.

The rules produce a :class:`Plan`; a backend (:mod:`forecourt.sync`: an .xlsx file, grids in
memory, later a Google Sheet) applies it. A plan is immutable: it can be applied to any number
of backends, and applied again after a failure, without being rebuilt.

* Rows are addressed by **key** (the lead id; the VIN or stock number on the stock tab). Each
  write also carries the row it was read at (``rows``: exact as long as the backend is still at
  the revision the plan was made from) and the value the engine read there (``expected``), so
  a backend whose sheet changed since can find the row and tell a person's edit from its own.
* Adding columns (:class:`NewColumn`) and appending rows (:class:`AppendRows`) are steps.
* Highlighting, links and widths are neutral: a :class:`Highlight` says "overdue / due soon /
  stalled over these columns"; each backend renders its own formula.

Text is always written as text, never as a formula, on every backend.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from forecourt.sync.base import quote_sheet

Value = str | float | int | bool | dt.datetime | dt.date | None


def _frozen(values: Any, dtype: Any = object) -> np.ndarray:
    """``values`` as a read-only 1-D array: an array is made read-only as it is (the engine
    hands over arrays it made for the plan, so nothing is copied at 100k rows), anything else
    is copied into one."""
    array = values if isinstance(values, np.ndarray) else np.array(list(values), dtype=dtype)
    if array.ndim != 1:
        raise ValueError("a column of writes must be one-dimensional")
    array.setflags(write=False)
    view = array.view()  # a view of a read-only array cannot be made writable again
    view.setflags(write=False)
    return view


class FrozenList(list):
    """A list that cannot be changed (it still compares equal to a list with the same items):
    a generated sheet's rows, which every backend reads and none may change."""

    def _frozen(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("a plan's generated sheet cannot be changed")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _frozen  # type: ignore[assignment]
    append = extend = insert = pop = remove = clear = sort = reverse = _frozen  # type: ignore

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))


def _mapping(value: Mapping | None) -> Mapping:
    return MappingProxyType(dict(value or {}))


def python_value(value: Any) -> Value:
    """A plan value as plain Python (a datetime64 as a datetime, NaT and NaN as None)."""
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else value.astype("datetime64[us]").astype(object)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True, eq=False)
class ColumnWrites:
    """Cells of one column of a keyed table: the row of ``keys[k]`` gets ``values[k]``.

    ``rows[k]`` is where that key was read, ``expected[k]`` what the engine found there, as
    the text it compares (dates to the minute, "" for an empty cell). ``values`` is an object
    array, or a ``datetime64`` one for a column of times (NaT empties the cell).
    """

    column: str
    keys: np.ndarray
    rows: np.ndarray
    values: np.ndarray
    expected: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _frozen(self.keys))
        object.__setattr__(self, "rows", _frozen(self.rows, np.int64))
        object.__setattr__(self, "values", _frozen(self.values))
        object.__setattr__(self, "expected", _frozen(self.expected))
        if not len(self.keys) == len(self.rows) == len(self.values) == len(self.expected):
            raise ValueError(f"column {self.column}: keys, rows, values and expected differ "
                             "in length")

    def __len__(self) -> int:
        return len(self.keys)

    def python_values(self) -> list[Value]:
        """``values`` as plain Python (datetimes, None where empty)."""
        if self.values.dtype.kind == "M":
            return self.values.astype("datetime64[us]").astype(object).tolist()
        out = self.values.tolist()
        return [None if v is not None and v != v else v for v in out]


@dataclass(frozen=True, eq=False)
class Anchors:
    """What identifies the rows a key cannot find in a sheet that changed since the plan was
    made: leads the run gave an id (their key cell was empty) and keys on several rows (a row
    copied with its id). ``texts[k]`` is what the ``column`` cell (the name) held in row
    ``rows[k]``, the row of ``keys[k]``; a backend writes such a row only where it still
    holds that text."""

    column: str
    keys: np.ndarray
    rows: np.ndarray
    texts: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _frozen(self.keys))
        object.__setattr__(self, "rows", _frozen(self.rows, np.int64))
        object.__setattr__(self, "texts", _frozen(self.texts))


@dataclass(frozen=True)
class NewColumn:
    """A column the engine adds at the right of a table: ``header`` in the header row."""

    column: str
    header: str
    width: float | None = None


@dataclass(frozen=True, eq=False)
class AppendRows:
    """Rows added below a table: the row of ``keys[i]`` holds ``values[i][j]`` under
    ``columns[j]``. A key the backend already has is written in place instead (an append is
    never applied twice)."""

    columns: tuple[str, ...]
    keys: tuple[str, ...]
    values: tuple[tuple[Value, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "keys", tuple(self.keys))
        object.__setattr__(self, "values", tuple(tuple(v) for v in self.values))
        if len(self.keys) != len(self.values) or any(len(v) != len(self.columns)
                                                     for v in self.values):
            raise ValueError("every appended row needs a key and one value per column")


HighlightKind = Literal["overdue", "due soon", "stalled"]


@dataclass(frozen=True)
class Highlight:
    """A live highlighting rule over the rows ``first_row``..``last_row`` (columns A to
    ``last_column``), in neutral terms; each backend renders it as its own formula with the
    spreadsheet's "now", so rows change colour between runs too.

    A row is highlighted when its lead is open (the ``status`` cell, trimmed, is none of
    ``closed``; case does not matter) and:

    * ``overdue``: the ``due`` cell holds a time before now;
    * ``due soon``: the ``due`` cell holds a time not before now and either less than
      ``soon_hours`` clock hours ahead or the ``state`` cell contains ``soon_word`` (the run
      found it due within the next business hour);
    * ``stalled``: the status is one of ``statuses`` ("" counts as New) and the
      ``status_since`` cell holds a time more than ``days`` days before now.

    Without a status column every lead is open and New.
    """

    kind: HighlightKind
    first_row: int
    last_row: int
    last_column: str
    due: str
    status_since: str
    status: str | None
    state: str | None
    closed: tuple[str, ...]
    fill: str
    font: str | None = None
    statuses: tuple[str, ...] = ()
    days: float = 0.0
    soon_hours: float = 1.0
    soon_word: str = ""

    @functools.cached_property
    def _closed_words(self) -> frozenset[str]:
        return frozenset(w.lower() for w in self.closed)

    @functools.cached_property
    def _status_words(self) -> frozenset[str]:
        return frozenset(w.lower() for w in self.statuses)

    def applies(self, due: Any, status: Any, since: Any, state: Any, now: dt.datetime) -> bool:
        """Whether a row with these cell values is highlighted at ``now`` (the meaning every
        backend's formula must have; times are naive wall-clock datetimes)."""
        text = status.strip().lower() if isinstance(status, str) else \
            "" if status is None else str(status).strip().lower()
        if self.status is not None and text in self._closed_words:
            return False
        if self.kind == "stalled":
            is_status = "" in self.statuses if self.status is None \
                else text in self._status_words
            return is_status and isinstance(since, dt.datetime) \
                and (now - since) / dt.timedelta(days=1) > self.days
        if not isinstance(due, dt.datetime):
            return False
        if self.kind == "overdue":
            return due < now
        said = self.state is not None and isinstance(state, str) and bool(self.soon_word) \
            and self.soon_word.lower() in state.lower()
        return due >= now and (due < now + dt.timedelta(hours=self.soon_hours) or said)


class Formula(str):
    """A formula a backend writes as a formula (``=E7*1.2``): the sync carries the owner's
    formulas that refer only to their own row to the Sheet this way. Any other text is
    written as text, even when it starts with "=", on every backend."""


class Link(str):
    """A place inside the workbook a cell links to: a cell of a sheet. Its text is the A1
    reference Excel and Google Sheets both read (``'Dealer''s Leads'!C7``)."""

    sheet: str
    row: int
    column: str

    def __new__(cls, sheet: str, row: int, column: str) -> Link:
        link = super().__new__(cls, f"{quote_sheet(sheet)}!{column}{row}")
        link.sheet, link.row, link.column = sheet, int(row), column
        return link

    def __reduce__(self) -> tuple[Any, ...]:
        return (Link, (self.sheet, self.row, self.column))


#: the fill of a cell the sync flags (a conflict)
FLAG_FILL = "F8CBAD"


@dataclass(frozen=True, eq=False)
class SheetEdit:
    """Changes to one of the dealer's own sheets (a keyed table: the leads or the stock).

    ``key_column`` is where the rows' keys are (None: the table has none yet; the plan's
    writes to ``key_field``'s column give them)."""

    sheet: str
    header_row: int
    key_column: str | None
    new_columns: tuple[NewColumn, ...] = ()
    columns: tuple[ColumnWrites, ...] = ()
    appends: tuple[AppendRows, ...] = ()
    highlights: tuple[Highlight, ...] = ()
    anchors: Anchors | None = None
    #: a backend without this sheet creates it (the sync's first write to a new Sheet)
    create: bool = False
    #: columns whose data cells a backend that can protects with a warning (values the owner's
    #: workbook computes, carried as values: an edit there would be replaced)
    protect: tuple[str, ...] = ()
    #: cells to mark (A1 references, ``D7``): the sync's conflicts, filled with
    #: :data:`FLAG_FILL` by a live rule every backend that can replaces on each write
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("new_columns", "columns", "appends", "highlights", "protect", "flags"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def cell_count(self) -> int:
        return sum(len(c) for c in self.columns) + len(self.new_columns) \
            + sum(len(a.keys) * len(a.columns) for a in self.appends)


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


@dataclass(frozen=True)
class GeneratedSheet:
    """A sheet the engine owns and rewrites on every run (Issues, KPI, Log).

    ``rows`` start at A1 (read-only lists). ``links`` maps (row, column letter) to a
    :class:`Link` inside the workbook. ``formats`` maps a column letter to a number format for
    its numbers and dates (``0.0%``, ``yyyy-mm-dd hh:mm``).
    """

    name: str
    rows: list[list[Value]]
    links: Mapping[tuple[int, str], Link] = field(default_factory=dict)
    widths: Mapping[str, float] = field(default_factory=dict)
    bold_rows: frozenset[int] = frozenset()
    formats: Mapping[str, str] = field(default_factory=dict)
    charts: tuple[Chart, ...] = ()
    freeze_row: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", FrozenList(FrozenList(r) for r in self.rows))
        object.__setattr__(self, "links", _mapping(self.links))
        object.__setattr__(self, "widths", _mapping(self.widths))
        object.__setattr__(self, "bold_rows", frozenset(self.bold_rows))
        object.__setattr__(self, "formats", _mapping(self.formats))
        object.__setattr__(self, "charts", tuple(self.charts))


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything one run writes. ``source`` and ``revision`` name the workbook and the read
    it was made from: only that workbook, still at that revision, may trust the plan's row
    numbers; any other finds the rows by key."""

    edits: tuple[SheetEdit, ...] = ()
    sheets: tuple[GeneratedSheet, ...] = ()
    revision: str | None = None
    source: Any = None  # a forecourt.sync.backend.WorkbookId

    def __post_init__(self) -> None:
        object.__setattr__(self, "edits", tuple(self.edits))
        object.__setattr__(self, "sheets", tuple(self.sheets))

    @property
    def cell_count(self) -> int:
        return sum(e.cell_count for e in self.edits)

    def edit(self, sheet: str) -> SheetEdit | None:
        return next((e for e in self.edits if e.sheet == sheet), None)

