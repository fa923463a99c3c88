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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from forecourt.plan import ColumnWrites, Plan, SheetEdit
from forecourt.sync.base import Tab, Tabs, cell_text, column_index, fold_key

Progress = Callable[[str], None]


@dataclass(frozen=True)
class WorkbookId:
    """Which workbook a backend is: an .xlsx file (its absolute path), a Google Sheet (its
    spreadsheet id), an add-in's payload (the workbook's name) or grids in memory. The memory
    store is kept per identity."""

    kind: Literal["file", "sheet", "payload", "memory"]
    key: str

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Capabilities:
    """What a backend can show. The engine plans the same either way; a backend leaves out
    what it cannot render and says so here (the contract suite checks what it claims)."""

    live_highlighting: bool = True  # renders Highlight rules as the spreadsheet's own formulas
    links: bool = True  # cells of generated sheets that link into the workbook
    charts: bool = True  # the KPI sheet's charts
    number_formats: bool = True  # dates shown as dates, rates as percentages
    widths: bool = True
    max_cells: int | None = None  # the most cells a workbook may hold (None: no limit)
    atomic_commit: bool = True  # a commit shows all of the plan or none of it


@dataclass(frozen=True)
class Skipped:
    """A write a backend did not make: the row's key is gone, or the cell changed since the
    plan was made (``found`` is what it holds now, ``expected`` what the engine read)."""

    sheet: str
    key: str
    column: str
    why: Literal["row not found", "changed since read"]
    expected: str = ""
    found: str = ""


@dataclass
class Applied:
    """What :meth:`Backend.apply` staged."""

    cells_written: int = 0
    #: sheets that change, the dealer's first, then the generated ones
    changed_sheets: list[str] = field(default_factory=list)
    #: only the generated sheets change (their stamp, the KPIs): none of the dealer's cells
    only_generated: bool = False
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changed_sheets)


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


@contextlib.contextmanager
def no_guard() -> Iterator[list[str]]:
    yield []


# Finding rows by key ----------------------------------------------------------------------

def key_index(tab: Tab, header_row: int, key_column: str | None) -> dict[str, int]:
    """Key -> row number of every row below ``header_row`` whose key cell holds one (the
    first row wins when a key repeats)."""
    found: dict[str, int] = {}
    if key_column is None:
        return found
    j = column_index(key_column) - tab.first_col
    for i, row in enumerate(tab.rows):
        number = tab.excel_row(i)
        if number <= header_row or j < 0 or j >= len(row):
            continue
        key = fold_key(row[j])
        if key and key not in found:
            found[key] = number
    return found


@dataclass(frozen=True)
class Located:
    """Where one column's writes go: ``rows[k]`` for the k-th write, None where there is
    nothing to write (skipped, or the cell holds the value already)."""

    rows: list[int | None]
    skipped: list[Skipped]


def locate_rows(edit: SheetEdit, writes: ColumnWrites, tab: Tab | None) -> Located:
    """The row of each write of ``writes`` in ``tab`` as it is now (a backend whose sheet
    changed since the plan was made). A key found in the key column gives its row; a key not
    found there writes where the plan read it only if that row still has no key (a lead the
    run gave its id). A cell that already holds the plan's value needs no write (the plan was
    applied before: a retry, the other side of a sync): its row is None, and it is not
    skipped. Otherwise the cell must still hold what the engine read (``expected``); else it
    is a person's edit and is skipped."""
    index = key_index(tab, edit.header_row, edit.key_column) if tab is not None else {}
    key_j = column_index(edit.key_column) if edit.key_column else None
    j = column_index(writes.column)
    rows: list[int | None] = []
    skipped: list[Skipped] = []
    values = writes.python_values()
    for key, hint, value, expected in zip(writes.keys.tolist(), writes.rows.tolist(), values,
                                          writes.expected.tolist(), strict=True):
        row = index.get(fold_key(key))
        if row is None and (tab is None or not fold_key(_cell(tab, hint, key_j))):
            row = hint
        if row is None:
            rows.append(None)
            skipped.append(Skipped(edit.sheet, key, writes.column, "row not found"))
            continue
        now = cell_text(_cell(tab, row, j)) if tab is not None else ""
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


def _cell(tab: Tab | None, row: int, j: int | None) -> Any:
    if tab is None or j is None:
        return ""
    i, jj = row - tab.first_row, j - tab.first_col
    if 0 <= i < len(tab.rows) and 0 <= jj < len(tab.rows[i]):
        return tab.rows[i][jj]
    return ""
