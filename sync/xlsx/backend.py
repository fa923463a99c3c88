"""The .xlsx/.xlsm file as a backend (:class:`~forecourt.sync.backend.Backend`).

Reading is :mod:`.reader`; a plan is staged in the zip :class:`~.package.Package` (only the
parts it changes are edited, see :mod:`.sheetdata` and :mod:`.generated`) and committed by
writing a temporary file beside the workbook and renaming it over the workbook in one step,
the previous version kept as ``BOOK.forecourt.bak.xlsx``. Around a run, :meth:`session` keeps
the file safe: a read-only or open workbook is refused, one run per workbook holds the run
lock, and what killed runs left beside it is removed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from forecourt import locks
from forecourt.errors import CannotWrite, ChangedSinceRead
from forecourt.plan import Plan, SheetEdit
from forecourt.sync.backend import (
    Applied,
    Capabilities,
    Committed,
    KeyIndex,
    Progress,
    WorkbookId,
    fold_key,
    key_index,
    locate_rows,
    taken_columns,
    trusts,
)
from forecourt.sync.base import Tab, Tabs, cell_text, column_index
from forecourt.sync.xlsx.apply import apply_plan_to_package
from forecourt.sync.xlsx.highlight import conditional_formats
from forecourt.sync.xlsx.package import TEMP_PREFIX, Package, backup_path, replace_atomically
from forecourt.sync.xlsx.reader import PendingTabs, check_package, read_tabs, revision_of
from forecourt.sync.xlsx.sheetdata import CellWrite, ColumnCells, SheetCells

_log = logging.getLogger("forecourt")


class XlsxBackend:
    """An .xlsx/.xlsm file: read from ``path``, written to ``out`` (default ``path``).

    ``tabs`` are ``path``'s values when the caller has read them already, or is reading them
    (:class:`~.reader.PendingTabs`)."""

    capabilities = Capabilities(live_highlighting=True, links=True, charts=True,
                                number_formats=True, widths=True, max_cells=1_048_576 * 16_384,
                                atomic_commit=True)
    store = None  # the memory lives beside the file: forecourt.store.memory_store

    def __init__(self, path: Path | str, *, out: Path | str | None = None,
                 tabs: Tabs | PendingTabs | None = None) -> None:
        self.path = Path(path)
        self.dest = Path(out) if out else self.path
        self.identity = WorkbookId("file", str(self.dest))
        self._tabs = tabs
        self._pkg: Package | None = None
        self._revision: str | None = None
        self._staged: tuple[Package, Applied] | None = None

    # around a run ----------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self, *, write: bool, memory: Path | None = None) -> Iterator[list[str]]:
        """Only the destination is guarded: with ``out`` elsewhere the input is only read
        (it may be open or read-only). A dry run only reads: no guard."""
        if not write:
            yield []
            return
        locks.check_writable(self.dest, memory)
        locks.check_not_open(self.dest)
        lock = locks.take_run_lock(self.dest)
        try:
            notes = [lock.took_over] if lock.took_over else []
            if lock.waited:  # the run that held the lock may have replaced the book since
                self._tabs = None
            bak = backup_path(self.dest)
            side = [bak.with_name(TEMP_PREFIX + bak.name)]
            if memory is not None:
                side.append(Path(memory).with_name(TEMP_PREFIX + Path(memory).name))
            removed = locks.remove_debris(self.dest, side)
            if removed:
                notes.append(locks.removed_note(self.dest, removed))
            yield notes
        finally:
            lock.release()

    def read(self, progress: Progress | None = None,
             while_waiting: Callable[[], None] | None = None) -> Tabs:
        """The file's values. The revision is the file's before reading began, and only if it
        is still the same after: a file saved meanwhile (or tabs the caller read, from a file
        at an unknown revision) has none, so the plan's rows will be found by key."""
        tabs, self._tabs = self._tabs, None  # the caller owns the values from here on
        if isinstance(tabs, PendingTabs):
            before = tabs.revision
            if while_waiting is not None and not tabs.done():
                while_waiting()
            tabs = tabs.result()  # raises what reading raised: missing, unreadable, ...
        elif tabs is None:
            before = revision_of(self.path)
            tabs = read_tabs(self.path)
        else:
            before = None
        after = revision_of(self.path)
        self._revision = after if before == after else None
        tabs.identity, tabs.revision = self.identity, self._revision
        return tabs

    def will_write(self, sheets: list[str]) -> None:
        """Open the package now and inflate the sheets to edit in a second thread while the
        plan is made."""
        self._pkg = Package.read(self.path)
        parts = self._pkg.sheets()
        for sheet in sheets:
            if sheet in parts:
                self._pkg.prefetch(parts[sheet])

    # writing ---------------------------------------------------------------------------

    def apply(self, plan: Plan, progress: Progress | None = None) -> Applied:
        """Stage ``plan`` in the package. The file must still be the one the plan was made
        from, else the rows are found again by key and a cell a person changed meanwhile is
        skipped (reported in ``skipped``)."""
        say = progress or (lambda _m: None)
        current = revision_of(self.path)
        pkg = self._pkg if self._pkg is not None and current is not None \
            and current == self._revision else None
        self._pkg = None
        if pkg is None:
            check_package(self.path)
            current = revision_of(self.path)
            pkg = Package.read(self.path)
        applied = Applied()
        tabs = None
        locate = not trusts(plan, self.identity, current)
        if locate or any(e.appends for e in plan.edits):  # rows to find, or the table's end
            tabs = {t.name: t for t in read_tabs(self.path).tabs}
            if revision_of(self.path) != current:
                raise ChangedSinceRead(f"{self.path} changed while forecourt was reading it "
                                       "(another program saved it); nothing was written: run "
                                       "again.", path=self.path)
        edits = (self._positional(e, tabs.get(e.sheet) if tabs is not None else None, locate,
                                  applied) for e in plan.edits)
        parts = pkg.sheets()
        dealer_parts = {parts[e.sheet] for e in plan.edits if e.sheet in parts}
        names = apply_plan_to_package(pkg, edits, plan.sheets, progress=say)
        only_generated = not pkg.changed & dealer_parts
        written = bool(pkg.changed) or self.dest != self.path
        applied.only_generated = written and self.dest == self.path and only_generated
        applied.changed_sheets = [] if not written else names if applied.only_generated \
            else sorted(n for n, part in parts.items() if part in pkg.changed
                        and n not in names) + names
        self._staged = (pkg, applied)
        self._revision = current
        return applied

    def _positional(self, edit: SheetEdit, tab: Tab | None, locate: bool,
                    applied: Applied) -> SheetCells:
        """The edit by row number and column letter, as the sheet editor takes it: the plan's
        row numbers, or (``locate``) the rows found by key in ``tab``, the sheet as it is."""
        taken = taken_columns(edit, tab) if locate else []
        applied.skipped.extend(taken)
        off = {t.column for t in taken}
        writes = [CellWrite(edit.header_row, c.column, c.header) for c in edit.new_columns
                  if c.column not in off and (tab is None or cell_text(
                      _cell(tab, edit.header_row, c.column)) != cell_text(c.header))]
        index = key_index(tab, edit.header_row, edit.key_column) if tab is not None \
            else KeyIndex({}, set())
        columns = []
        for c in edit.columns:
            if c.column in off:
                continue
            values = c.python_values()
            if not locate:
                columns.append(ColumnCells(c.column, c.rows.tolist(), values))
                applied.count(edit.sheet, len(values))
                continue
            located = locate_rows(edit, c, tab, index)
            applied.skipped.extend(located.skipped)
            keep = [k for k, row in enumerate(located.rows) if row is not None]
            columns.append(ColumnCells(c.column, [located.rows[k] for k in keep],
                                       [values[k] for k in keep]))
            applied.count(edit.sheet, len(keep))
        if edit.appends and tab is not None:
            rows_by_key = index.rows
            end = max(tab.first_row + len(tab.rows) - 1, edit.header_row)
            for block in edit.appends:
                for key, row_values in zip(block.keys, block.values, strict=True):
                    row = rows_by_key.get(fold_key(key))
                    if row is None:  # a key the sheet has is written in place, never twice
                        end += 1
                        row = rows_by_key[fold_key(key)] = end
                    cells = [CellWrite(row, column, value) for column, value
                             in zip(block.columns, row_values, strict=True)
                             if cell_text(_cell(tab, row, column)) != cell_text(value)]
                    writes += cells
                    applied.count(edit.sheet, len(cells))
        return SheetCells(edit.sheet, writes, conditional_formats(edit.highlights, edit.flags),
                          {c.column: c.width for c in edit.new_columns if c.width is not None
                           and c.column not in off},
                          columns, header_row=edit.header_row)

    def commit(self, before: Callable[[], None] | None = None) -> Committed:
        if self._staged is None:
            raise RuntimeError("commit() without apply()")
        (pkg, applied), self._staged = self._staged, None
        written = applied.changed or self.dest != self.path
        if not written:
            if before is not None:
                before()
            return Committed(False, str(self.dest))
        backup = self.dest == self.path and not applied.only_generated

        def then_check(before: Callable[[], None] | None = before) -> None:
            if before is not None:  # the memory, saved meanwhile: it may take seconds
                before()
            if revision_of(self.path) != self._revision:  # saved, moved or deleted since
                raise ChangedSinceRead(
                    f"{self.path} changed while forecourt was working on it (another program "
                    "saved, moved or deleted it); nothing was written: run again.",
                    path=self.path)

        try:
            replace_atomically(pkg, self.dest, backup=backup, before_replace=then_check)
        except OSError as exc:
            raise CannotWrite(f"{self.dest} could not be written ({exc}); it was not changed "
                              "(is the disk full, or the folder read-only?).",
                              path=self.dest) from exc
        return Committed(True, str(self.dest), str(backup_path(self.dest)) if backup else None)


def _cell(tab: Tab | None, row: int, column: str) -> object:
    return "" if tab is None else tab.value(row, column_index(column))
