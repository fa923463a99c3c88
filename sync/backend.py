"""The one interface every backend offers the engine: read the tabs, say what it can do,
apply a plan, commit.

An .xlsx file (:mod:`forecourt.sync.xlsx`), grids of values in memory
(:mod:`forecourt.sync.grid`) and, next, a Google Sheet and an add-in's payload are backends.
The engine, the rules and the CLI talk to this interface only. A run goes:

    with backend.session(write=True) as notes:   # locks: one writer at a time
        tabs = backend.read()                    # values, identity and revision
        ... decide: a Plan ...
        applied = backend.apply(plan)            # staged, not yet visible
        backend.commit(before=memory_saved)      # visible all at once, or not at all

Rows are found by key (:func:`locate_rows`): a backend still at the revision the plan was made
from takes the plan's row numbers as they are; one that changed since finds each key again and
skips a cell that no longer holds what the engine read there (a person's edit, or another
program's), reporting it instead of overwriting it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from forecourt.plan import ColumnWrites, Plan, SheetEdit
from forecourt.sync.base import Tab, Tabs, cell_text, column_index, fold_key, from_serial

Progress = Callable[[str], None]


@dataclass(frozen=True)
class WorkbookId:
    """Which workbook a backend is: an .xlsx file (its path as given), a Google Sheet (its
    spreadsheet id), an add-in's payload (the workbook's name) or grids in memory. The memory
    store is kept per identity."""

    kind: Literal["file", "sheet", "payload", "memory"]
    key: str

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Capabilities:
    """What a backend can show. The engine plans the same either way; a backend leaves out
    what it cannot render and says so here."""

    live_highlighting: bool = True  # renders Highlight rules as the spreadsheet's own formulas
    links: bool = True  # cells of generated sheets that link into the workbook
    charts: bool = True  # the KPI sheet's charts
    number_formats: bool = True  # dates shown as dates, rates as percentages
    widths: bool = True
    max_cells: int | None = None  # the most cells a sheet may hold (None: no limit)
    atomic_commit: bool = True  # a commit shows all of the plan or none of it


@dataclass(frozen=True)
class Skipped:
    """A write a backend did not make: the row's key is gone (or stands on several rows),
    the cell changed since the plan was made (``found`` is what it holds now, ``expected``
    what the engine read), or a column the plan adds holds another header now."""

    sheet: str
    key: str
    column: str
    why: Literal["row not found", "changed since read", "column taken"]
    expected: str = ""
    found: str = ""


@dataclass
class Applied:
    """What :meth:`Backend.apply` staged."""

    #: cells written, by sheet (the dealer's sheets; not counting added headers)
    cells: dict[str, int] = field(default_factory=dict)
    #: sheets that change, the dealer's first, then the generated ones
    changed_sheets: list[str] = field(default_factory=list)
    #: only the generated sheets change (their stamp, the KPIs): none of the dealer's cells
    only_generated: bool = False
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changed_sheets)

    @property
    def cells_written(self) -> int:
        return sum(self.cells.values())

    def count(self, sheet: str, n: int) -> None:
        self.cells[sheet] = self.cells.get(sheet, 0) + n


@dataclass(frozen=True)
class Committed:
    """What :meth:`Backend.commit` made visible: ``written`` False when nothing changed."""

    written: bool
    location: str
    backup: str | None = None


@runtime_checkable
class Backend(Protocol):
    """A workbook the engine can read and write (see the module docstring)."""

    identity: WorkbookId
    capabilities: Capabilities
    #: a backend that keeps the engine's memory itself (grids in memory) offers its store
    #: here; None: the store of :func:`forecourt.store.memory_store` for the identity
    store: Any

    def session(self, *, write: bool, memory: Any = None) -> contextlib.AbstractContextManager[
            list[str]]:
        """Guard one run: refuse a workbook that cannot be written now (open elsewhere,
        read-only, another run under way) and hold it for this run; yields notes for the
        user (a stale lock taken over, debris removed). ``write=False``: read only, no locks.
        ``memory`` is where the memory store keeps its file, when it has one, so that the
        guard covers it too."""
        ...

    def read(self, progress: Progress | None = None,
             while_waiting: Callable[[], None] | None = None) -> Tabs:
        """Every tab's values, with the workbook's identity and revision. A backend that reads
        in the background calls ``while_waiting`` meanwhile (work the caller would do
        later anyway)."""
        ...

    def will_write(self, sheets: list[str]) -> None:
        """A hint, after reading, of the sheets a plan will edit (a backend may start
        preparing them while the plan is made)."""
        ...

    def apply(self, plan: Plan, progress: Progress | None = None) -> Applied:
        """Stage ``plan`` (nothing is visible before :meth:`commit`). The plan is not
        changed: it can be applied to another backend, or again."""
        ...

    def commit(self, before: Callable[[], None] | None = None) -> Committed:
        """Make what :meth:`apply` staged visible, all at once. ``before`` runs just before
        (the memory being saved); if it raises, nothing is made visible."""
        ...


# Finding rows by key ----------------------------------------------------------------------

def trusts(plan: Plan, identity: WorkbookId, revision: str | None) -> bool:
    """Whether a backend may take the plan's row numbers as they are: it is the workbook the
    plan was read from, still at that revision."""
    return plan.revision is not None and revision is not None and plan.source == identity \
        and plan.revision == revision


@dataclass(frozen=True)
class KeyIndex:
    """Key -> row of the rows below the header, and the keys that stand on several rows."""

    rows: dict[str, int]
    repeated: set[str]


def key_index(tab: Tab, header_row: int, key_column: str | None) -> KeyIndex:
    """Every row below ``header_row`` whose key cell holds a key, by its folded key."""
    found: dict[str, int] = {}
    repeated: set[str] = set()
    if key_column is None:
        return KeyIndex(found, repeated)
    j = column_index(key_column) - tab.first_col
    for i, row in enumerate(tab.rows):
        number = tab.excel_row(i)
        if number <= header_row or j < 0 or j >= len(row):
            continue
        key = fold_key(row[j])
        if not key:
            continue
        if key in found:
            repeated.add(key)
        else:
            found[key] = number
    return KeyIndex(found, repeated)


def _same_text(a: Any, b: Any) -> bool:
    return " ".join(cell_text(a).lower().split()) == " ".join(cell_text(b).lower().split())


def taken_columns(edit: SheetEdit, tab: Tab | None) -> list[Skipped]:
    """The columns the plan adds that hold another header now (a person added a column of
    their own there since the plan was made): nothing of the plan goes into them."""
    if tab is None:
        return []
    return [Skipped(edit.sheet, "", c.column, "column taken", "", cell_text(found))
            for c in edit.new_columns
            if (found := _cell(tab, edit.header_row, column_index(c.column)))
            not in ("", None) and not _same_text(found, c.header)]


@dataclass(frozen=True)
class Located:
    """Where one column's writes go: ``rows[k]`` for the k-th write, None where there is
    nothing to write (skipped, or the cell holds the value already)."""

    rows: list[int | None]
    skipped: list[Skipped]


def locate_rows(edit: SheetEdit, writes: ColumnWrites, tab: Tab | None,
                index: KeyIndex | None = None) -> Located:
    """The row of each write of ``writes`` in ``tab`` as it is now (a backend whose sheet
    changed since the plan was made, or another backend).

    - The row the plan read the key at, if it still holds that key; else the row that holds
      it.
    - A key the run gave (its cell was empty) or one on several rows: the row it was read
      at, if that row still holds it (or an empty key cell) and the text the plan's anchors
      name (the lead's name); else skipped, and the next run takes it up again.
    - A cell that already holds the plan's value needs no write (the plan was applied
      before: a retry, the other side of a sync): its row is None, and it is not skipped.
      Otherwise the cell must still hold what the engine read (``expected``); else it is a
      person's edit and is skipped."""
    if index is None:
        index = key_index(tab, edit.header_row, edit.key_column) if tab is not None \
            else KeyIndex({}, set())
    key_j = column_index(edit.key_column) if edit.key_column else None
    anchors = edit.anchors
    anchor_j = column_index(anchors.column) if anchors is not None else None
    anchored = dict(zip(zip(anchors.keys.tolist(), anchors.rows.tolist(), strict=True),
                        anchors.texts.tolist(), strict=True)) \
        if anchors is not None and tab is not None else {}
    j = column_index(writes.column)
    rows: list[int | None] = []
    skipped: list[Skipped] = []
    values = writes.python_values()
    for key, hint, value, expected in zip(writes.keys.tolist(), writes.rows.tolist(), values,
                                          writes.expected.tolist(), strict=True):
        folded = fold_key(key)
        at_hint = fold_key(_cell(tab, hint, key_j)) if tab is not None else ""
        if tab is None:
            row: int | None = hint
        elif folded in index.repeated or folded not in index.rows:
            # which row is meant only the row's own text can tell: the anchor's
            text = anchored.get((key, hint))
            key_there = at_hint == folded if folded in index.repeated else not at_hint
            row = hint if text is not None and key_there \
                and _same_text(_cell(tab, hint, anchor_j), text) else None
        elif at_hint == folded:
            row = hint
        else:
            row = index.rows[folded]
        if row is None:
            rows.append(None)
            skipped.append(Skipped(edit.sheet, key, writes.column, "row not found"))
            continue
        now = _as_text(_cell(tab, row, j), value, expected) if tab is not None else ""
        if now == cell_text(value) and tab is not None:
            rows.append(None)  # holds it already
            continue
        if now != (expected or ""):
            rows.append(None)
            skipped.append(Skipped(edit.sheet, key, writes.column, "changed since read",
                                   expected or "", now))
            continue
        rows.append(row)
    return Located(rows, skipped)


_MINUTE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d$")


def _as_text(found: Any, value: Any, expected: str | None) -> str:
    """A cell as the engine compares it; a serial number (a Google Sheet's moments) as the
    moment, where the plan writes or expects one there."""
    if isinstance(found, int | float) and not isinstance(found, bool) and (
            isinstance(value, dt.datetime) or _MINUTE.match(expected or "")):
        moment = from_serial(found)
        return cell_text(moment + dt.timedelta(seconds=0.5)).rstrip()  # to the nearest second
    return cell_text(found)


def _cell(tab: Tab | None, row: int, j: int | None) -> Any:
    return "" if tab is None else tab.value(row, j)
