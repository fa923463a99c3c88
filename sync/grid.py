"""A workbook as grids of values in memory: the second backend, for tests, the demo and any
caller that has its rows in Python already.

It keeps what a spreadsheet would: each sheet's values (row 1 first), the highlighting rules
the engine asked for (in neutral terms: :meth:`GridBackend.highlighted` evaluates them at a
given now), the links, number formats and widths of generated sheets. ``apply`` stages a copy;
``commit`` swaps it in, so a failure before the commit leaves the grids as they were.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from forecourt.errors import UnreadableWorkbook
from forecourt.plan import GeneratedSheet, Highlight, Link, Plan, SheetEdit, python_value
from forecourt.sync.backend import (
    Applied,
    Capabilities,
    Committed,
    KeyIndex,
    Progress,
    Skipped,
    WorkbookId,
    fold_key,
    key_index,
    locate_rows,
    taken_columns,
    trusts,
)
from forecourt.sync.base import Tab, Tabs, cell_text, column_index, is_generated


@dataclass
class _State:
    sheets: dict[str, list[list[Any]]]
    highlights: dict[str, tuple[Highlight, ...]] = field(default_factory=dict)
    links: dict[str, Mapping[tuple[int, str], Link]] = field(default_factory=dict)
    formats: dict[str, Mapping[str, str]] = field(default_factory=dict)
    widths: dict[str, dict[str, float]] = field(default_factory=dict)
    generated: set[str] = field(default_factory=set)

    def copy(self) -> _State:
        """A copy to stage changes in (the rows copied, the rest immutable or replaced)."""
        return _State({n: [list(r) for r in rows] for n, rows in self.sheets.items()},
                      dict(self.highlights), dict(self.links), dict(self.formats),
                      {n: dict(w) for n, w in self.widths.items()}, set(self.generated))


class GridBackend:
    """Sheets as lists of rows of values (``""`` for an empty cell), in order."""

    capabilities = Capabilities(live_highlighting=True, links=True, charts=False,
                                number_formats=True, widths=True, max_cells=None,
                                atomic_commit=True)

    def __init__(self, sheets: Mapping[str, list[list[Any]]], name: str = "memory") -> None:
        from forecourt.store import VolatileStore

        self.identity = WorkbookId("memory", name)
        #: the engine's memory of these grids, kept as long as they are
        self.store = VolatileStore(self.identity)
        self._state = _State({n: [list(r) for r in rows] for n, rows in sheets.items()})
        self._revision = 0
        self._token = secrets.token_hex(4)  # two grids' revisions never look alike
        self._staged: _State | None = None
        self._lock = threading.Lock()

    # reading ------------------------------------------------------------------------------

    @property
    def revision(self) -> str:
        return f"{self._token}-{self._revision}"

    @property
    def sheets(self) -> dict[str, list[list[Any]]]:
        """The committed grids (a person editing the workbook edits these)."""
        return self._state.sheets

    def edit(self, sheet: str, row: int, column: str, value: Any) -> None:
        """A person's edit: one cell, 1-based row, column letter (the revision moves on)."""
        grid = self._state.sheets[sheet]
        _put(grid, row, column_index(column), value)
        self._revision += 1

    def value(self, sheet: str, row: int, column: str) -> Any:
        grid = self._state.sheets[sheet]
        j = column_index(column)
        return grid[row - 1][j] if row - 1 < len(grid) and j < len(grid[row - 1]) else ""

    def highlights(self, sheet: str) -> tuple[Highlight, ...]:
        return self._state.highlights.get(sheet, ())

    def links(self, sheet: str) -> Mapping[tuple[int, str], Link]:
        return self._state.links.get(sheet, {})

    def widths(self, sheet: str) -> dict[str, float]:
        return self._state.widths.get(sheet, {})

    def highlighted(self, sheet: str, row: int, now: dt.datetime) -> list[str]:
        """The kinds of highlighting (overdue, due soon, stalled) row ``row`` shows at
        ``now``, in the order the rules were given."""
        found = []
        for rule in self.highlights(sheet):
            if not rule.first_row <= row <= rule.last_row:
                continue
            if rule.applies(self._at(sheet, row, rule.due), self._at(sheet, row, rule.status),
                            self._at(sheet, row, rule.status_since),
                            self._at(sheet, row, rule.state), now):
                found.append(rule.kind)
        return found

    def _at(self, sheet: str, row: int, column: str | None) -> Any:
        return None if column is None else self.value(sheet, row, column)

    # the backend interface ----------------------------------------------------------------

    @contextlib.contextmanager
    def session(self, *, write: bool, memory: Any = None) -> Iterator[list[str]]:
        if not write:
            yield []
            return
        with self._lock:
            yield []

    def read(self, progress: Progress | None = None,
             while_waiting: Callable[[], None] | None = None) -> Tabs:
        tabs = [Tab(name, [list(r) for r in rows]) for name, rows in self._state.sheets.items()]
        return Tabs(self.identity.key, tabs, kind="grid", identity=self.identity,
                    revision=self.revision)

    def will_write(self, sheets: list[str]) -> None:
        return None

    def apply(self, plan: Plan, progress: Progress | None = None) -> Applied:
        say = progress or (lambda _m: None)
        staged = self._state.copy()
        trust = trusts(plan, self.identity, self.revision)
        applied = Applied()
        dealer_changed = []
        for edit in plan.edits:
            grid = staged.sheets.get(edit.sheet)
            if grid is None and edit.create:
                grid = staged.sheets[edit.sheet] = []
            if grid is None:
                raise UnreadableWorkbook(f"sheet {edit.sheet!r} is no longer in "
                                         f"{self.identity}; nothing was written.",
                                         sheet=edit.sheet)
            say(f"writing {edit.cell_count} cells to {edit.sheet}")
            written, headers = self._apply_edit(grid, edit, trust, applied.skipped)
            applied.count(edit.sheet, written)
            changed = written + headers > 0
            if edit.highlights != staged.highlights.get(edit.sheet, ()):
                staged.highlights[edit.sheet] = edit.highlights
                changed = True
            for c in edit.new_columns:
                if c.width is not None:
                    staged.widths.setdefault(edit.sheet, {})[c.column] = c.width
            if changed:
                dealer_changed.append(edit.sheet)
        generated = []
        for sheet in plan.sheets:
            say(f"writing sheet {sheet.name}")
            name = self._put_generated(staged, sheet)
            if staged.sheets[name] != self._state.sheets.get(name):
                generated.append(name)
        applied.changed_sheets = dealer_changed + generated
        applied.only_generated = bool(generated) and not dealer_changed
        self._staged = staged
        return applied

    def commit(self, before: Callable[[], None] | None = None) -> Committed:
        if self._staged is None:
            raise RuntimeError("commit() without apply()")
        staged, self._staged = self._staged, None
        if before is not None:
            before()
        changed = staged.sheets != self._state.sheets or \
            staged.highlights != self._state.highlights
        if changed:
            self._state = staged
            self._revision += 1
        return Committed(changed, self.identity.key)

    # applying ----------------------------------------------------------------------------

    def _apply_edit(self, grid: list[list[Any]], edit: SheetEdit, trust: bool,
                    skipped: list[Skipped]) -> tuple[int, int]:
        """Write ``edit`` into ``grid``: (cells that changed, headers added)."""
        tab = None if trust else Tab(edit.sheet, [list(r) for r in grid])  # as it was
        index = key_index(tab, edit.header_row, edit.key_column) if tab is not None \
            else KeyIndex({}, set())
        taken = taken_columns(edit, tab)
        skipped.extend(taken)
        off = {t.column for t in taken}
        changed = headers = 0
        for c in edit.new_columns:
            if c.column not in off:
                headers += _put(grid, edit.header_row, column_index(c.column), c.header)
        for writes in edit.columns:
            if writes.column in off:
                continue
            if trust:
                rows: list[int | None] = writes.rows.tolist()
            else:
                located = locate_rows(edit, writes, tab, index)
                rows = located.rows
                skipped.extend(located.skipped)
            j = column_index(writes.column)
            for row, value in zip(rows, writes.python_values(), strict=True):
                if row is not None:
                    changed += _put(grid, row, j, value)
        for block in edit.appends:
            rows_by_key = key_index(Tab(edit.sheet, grid), edit.header_row,
                                    edit.key_column).rows
            for key, values in zip(block.keys, block.values, strict=True):
                row = rows_by_key.get(fold_key(key))
                if row is None:
                    row = _last_row(grid) + 1
                    rows_by_key[fold_key(key)] = row
                for column, value in zip(block.columns, values, strict=True):
                    changed += _put(grid, row, column_index(column), value)
        return changed, headers

    def _put_generated(self, staged: _State, sheet: GeneratedSheet) -> str:
        name = sheet.name
        existing = staged.sheets.get(name)
        if existing is not None and name not in staged.generated \
                and not is_generated(Tab(name, existing)):
            name = f"{sheet.name} (forecourt)"
        staged.sheets[name] = [["" if v is None else python_value(v) for v in row]
                               for row in sheet.rows]
        staged.links[name] = sheet.links
        staged.formats[name] = sheet.formats
        staged.widths[name] = dict(sheet.widths)
        staged.generated.add(name)
        return name


def _last_row(grid: list[list[Any]]) -> int:
    for i in range(len(grid) - 1, -1, -1):
        if any(v not in ("", None) for v in grid[i]):
            return i + 1
    return 0


def _put(grid: list[list[Any]], row: int, j: int, value: Any) -> int:
    """Set a cell (1-based row, 0-based column), growing the grid; 1 if it changed."""
    value = "" if value is None else python_value(value)
    while len(grid) < row:
        grid.append([])
    cells = grid[row - 1]
    if len(cells) <= j:
        if value == "":
            return 0
        cells.extend([""] * (j + 1 - len(cells)))
    old = cells[j]
    cells[j] = value
    return 0 if type(old) is type(value) and cell_text(old) == cell_text(value) else 1

