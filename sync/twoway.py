"""The two-way sync: the owner's Excel workbook and the team's Google Sheet brought to the same
content, the engine run once on the merged result, and both sides written.

A sync (:func:`sync`) goes:

1. hold the pair's sync lock (one sync per workbook and Sheet at a time); read both sides;
2. per synced tab (Leads by lead id, Stock by VIN or stock number, Team by name; the
   Settings tab and the dealer's other tabs stay the owner's, in Excel), each side's rows
   by key, merged three-way per cell against the base of the last successful sync
   (:mod:`forecourt.sync.merge`, the base in :mod:`forecourt.sync.sync_base`);
3. the merged content laid out as each side will hold it (a *view*): a side's rows stay where
   they are, the rows it gains go below its last row, the columns it gains right of its last
   column, and a row deleted is emptied (rows never move: the dealer's formulas, formats and
   filters stay where they were);
4. the engine plans once, on the Excel view; its writes go into both views, into the Sheet's
   by key and header;
5. per side, one plan of the cells its view holds differently from what was read;
6. the new base committed, in one transaction, with what each side still lacks of it
   ("behind": the values it holds instead, its rows missing or to be emptied, its rows
   without an id and the ids they get); then the Sheet re-checked (one call) and written,
   then the file (atomically, after checking its size, time and hash); each side written is
   cleared of its "behind". A side that changed since it was read, or a workbook open in
   Excel, is left for the next run, and said so.

The next sync merges each side as it really is: where a side behind still holds what it held,
it is taken to hold the base (it gets it now); where a person edited it since, the value they
edited is that cell's base (an edit made without seeing the other side's value is a conflict,
never an overwrite). Killed at any point, the next sync finishes the job the same way; a row
added without an id is found again by its content, else by its position, on the side that has
not got its id yet. A test may pause a sync at a checkpoint (:data:`PAUSE_ENV`) to kill it
there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forecourt.errors import ChangedSinceRead, ConflictStop, ForecourtError, WorkbookLocked
from forecourt.plan import (
    ColumnWrites,
    Formula,
    GeneratedSheet,
    Highlight,
    Link,
    NewColumn,
    Plan,
    SheetEdit,
)
from forecourt.sync import sync_base
from forecourt.sync.base import (
    Tab,
    Tabs,
    cell_text,
    column_index,
    column_letter,
    fold_key,
    from_serial,
    is_generated,
)
from forecourt.sync.merge import (
    PROVISIONAL,
    Conflict,
    Merged,
    Row,
    RowDelete,
    Table,
    _differs,
    fold_header,
    merge,
)

#: test-only: ``CHECKPOINT:FILE`` makes a sync create FILE at that checkpoint and wait there
#: while FILE exists (so a test can kill it at a known moment, or change a side meanwhile and
#: let it go on by deleting FILE)
PAUSE_ENV = "FORECOURT_SYNC_PAUSE"
CHECKPOINTS = ("after-read", "after-sheet", "after-excel", "before-base")
CONFLICTS_SHEET = "Conflicts"
#: conflicts are listed in the Conflicts tab (and counted as open) this many days
CONFLICT_DAYS = 14
#: the words in a header that make ``check`` warn it may be private
PRIVATE_WORDS = re.compile(
    r"\b(cost|costs|purchase|bought|buy price|margin|profit|markup|einkauf\w*|ek|marge|"
    r"gewinn|koszt\w*|zakup\w*|mar[zż]a|zysk)\b", re.I)

Progress = Callable[[str], None]


# Where a pair's files live --------------------------------------------------------------------

@dataclass(frozen=True)
class SyncPaths:
    """The files of one pair (a workbook and a Sheet), beside the workbook and its memory:
    the base (SQLite) and the status (JSON); the sync lock is the base's run lock."""

    base: Path
    status: Path


def sync_paths(book: Path | str, sheet_id: str) -> SyncPaths:
    book = Path(book)
    digest = hashlib.sha1(sheet_id.encode()).hexdigest()[:8]
    return SyncPaths(book.with_name(f"{book.name}.sync-{digest}.forecourt.sqlite"),
                     book.with_name(f"{book.name}.sync-{digest}.status.json"))


def private_candidates(headers: Iterable[str], private: Iterable[str]) -> list[str]:
    """Headers that look like a cost or a margin but are not listed as private."""
    kept = {fold_header(h) for h in private}
    return [h for h in headers if PRIVATE_WORDS.search(str(h)) and fold_header(h) not in kept]


def private_column_issues(book: Any) -> list[Any]:
    """``check``'s warnings: the columns of the synced tabs whose header looks like a cost or
    a margin and that the Settings do not keep private."""
    from forecourt.issues import make_issue

    out = []
    for kind in ("leads", "stock", "team"):
        info = book.tabs.get(kind)
        if info is None:
            continue
        headers = {how[2]: info.columns[f] for f, how in info.how.items() if how[2]}
        headers.update(info.extra)
        for header in private_candidates(headers, book.settings.private_columns):
            out.append(make_issue(
                "shared-cost-column", info.sheet, info.header_row, headers[header],
                f"the column {header!r} looks like a cost or a margin: `forecourt sync` would "
                "share it with the team's Google Sheet. To keep it in this workbook only, add "
                f"it to the Settings row 'Private columns'", header))
    return out


# What a sync reports ----------------------------------------------------------------------------

@dataclass
class SideReport:
    """One side of a sync: what it brought (rows and cells the merge took from it) and what
    was written to it."""

    rows_taken: int = 0
    cells_taken: int = 0
    rows_added: int = 0
    rows_deleted: int = 0
    cells_written: int = 0
    written: bool = False
    deferred: str | None = None  # why this side was left for the next run
    api_calls: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class SyncResult:
    excel: SideReport
    sheet: SideReport
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    revived: int = 0
    notes: list[str] = field(default_factory=list)
    tabs: list[str] = field(default_factory=list)
    base_committed: bool = False
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.base_committed

    def to_dict(self) -> dict[str, Any]:
        return {"excel": self.excel.to_dict(), "sheet": self.sheet.to_dict(),
                "conflicts": self.conflicts, "conflict_count": len(self.conflicts),
                "revived": self.revived, "tabs": self.tabs, "notes": self.notes,
                "complete": self.complete,
                "rows_deferred": (self.excel.rows_added + self.excel.rows_deleted
                                  if self.excel.deferred else 0)
                + (self.sheet.rows_added + self.sheet.rows_deleted
                   if self.sheet.deferred else 0),
                "engine": {k: self.summary.get(k) for k in
                           ("as_of", "leads", "open", "overdue", "due_soon", "assigned")
                           if k in self.summary}}


# Checkpoints ------------------------------------------------------------------------------------

def checkpoint(name: str) -> None:
    """Where a test may pause the sync to kill it (``FORECOURT_SYNC_PAUSE=name:FILE``)."""
    wanted = os.environ.get(PAUSE_ENV, "")
    if not wanted:
        return
    point, _, marker = wanted.partition(":")
    if point != name or not marker:
        return
    Path(marker).write_text(str(os.getpid()))
    while Path(marker).exists():  # until killed, or let go
        time.sleep(0.05)


# Grids --------------------------------------------------------------------------------------

def _grid(tab: Tab | None) -> list[list[Any]]:
    """A tab's values as rows from A1 (a copy)."""
    if tab is None:
        return []
    pad = [""] * tab.first_col
    return [[] for _ in range(tab.first_row - 1)] + [pad + list(r) for r in tab.rows]


def _get(grid: list[list[Any]], row: int, j: int) -> Any:
    if row - 1 < len(grid):
        cells = grid[row - 1]
        if j < len(cells):
            return cells[j]
    return ""


def _put(grid: list[list[Any]], row: int, j: int, value: Any) -> None:
    while len(grid) < row:
        grid.append([])
    cells = grid[row - 1]
    if len(cells) <= j:
        cells.extend([""] * (j + 1 - len(cells)))
    cells[j] = value


def _last_row(grid: list[list[Any]], header_row: int) -> int:
    for r in range(len(grid), header_row, -1):
        if any(cell_text(v) for v in grid[r - 1]):
            return r
    return header_row


@dataclass
class _View:
    """One side's tab as it will be: ``grid`` (edited) beside ``original`` (as read)."""

    name: str
    grid: list[list[Any]]
    original: list[list[Any]]
    header_row: int
    columns: dict[str, int]  # folded header -> column index
    next_col: int
    table: Table
    exists: bool
    positions: dict[str, int] = field(default_factory=dict)  # merged key -> row
    #: keys of the rows whose cells the sync changed before merging (a side behind)
    touched: set[str] = field(default_factory=set)
    widths: dict[str, float] = field(default_factory=dict)  # folded header -> width

    def letter(self, folded: str) -> str | None:
        j = self.columns.get(folded)
        return None if j is None else column_letter(j)

    def header_at(self, j: int) -> str:
        return fold_header(cell_text(_get(self.grid, self.header_row, j)))


def _find_header(grid: list[list[Any]], key_header: str, hint: int) -> int | None:
    key = fold_header(key_header)
    order = [hint, *range(1, min(len(grid), 30) + 1)]
    for r in order:
        if any(fold_header(cell_text(v)) == key for v in (grid[r - 1] if r <= len(grid) else [])):
            return r
    return None


def _view(tab: Tab | None, name: str, key_header: str, header_row: int, private: list[str],
          dates: dict[str, type] | None = None) -> _View:
    """A side's tab read into a :class:`_View` (``dates``: the folded headers whose numbers
    are moments: a Sheet's serial numbers)."""
    grid = _grid(tab)
    found = _find_header(grid, key_header, header_row) if grid else None
    exists = tab is not None and any(any(cell_text(v) for v in r) for r in grid)
    if found is None:
        found = header_row if exists else 1
    header = grid[found - 1] if found <= len(grid) else []
    columns: dict[str, int] = {}
    headers: list[str] = []
    for j, v in enumerate(header):
        text = cell_text(v)
        if text and (f := fold_header(text)) not in columns:
            columns[f] = j
            headers.append(text)
    if dates:
        for f, j in columns.items():
            if f in dates:
                for row in grid[found:]:
                    v = row[j] if j < len(row) else ""
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        moment = from_serial(v) + dt.timedelta(microseconds=500_000)
                        moment = moment.replace(microsecond=0)
                        row[j] = moment.date() if dates[f] is dt.date \
                            and moment.time() == dt.time() else moment
    idx = list(columns.values())
    records = [[row[j] if j < len(row) else "" for j in idx] for row in grid[found:]]
    table = Table.from_records(key_header, headers, records, first_position=found + 1,
                               private=private, name=name)
    return _View(name, grid, [list(r) for r in grid], found, columns,
                 max(map(len, grid), default=0), table, exists)


def _date_columns(table: Table) -> dict[str, type]:
    """The columns of moments: folded header -> ``dt.datetime``, or ``dt.date`` for a column
    of days (as the workbook holds them)."""
    out: dict[str, type] = {}
    for f in table.columns:
        for row in table.rows.values():
            v = row.cells.get(f)
            if isinstance(v, dt.datetime | dt.date):
                out[f] = type(v) if type(v) in (dt.datetime, dt.date) else dt.datetime
                break
            if v not in ("", None) and not isinstance(v, int | float):
                break  # text: not a column of moments
    return out


def _lay_out(view: _View, merged: Merged, headers: list[str],
             deleted: Iterable[Any]) -> None:  # noqa: C901
    """Put the merged table into ``view``: its columns, its rows where the side will hold
    them, its deletions emptied."""
    for text in headers:
        f = fold_header(text)
        if f not in view.columns:
            view.columns[f] = view.next_col
            _put(view.grid, view.header_row, view.next_col, text)
            view.next_col += 1
    end = _last_row(view.grid, view.header_row)
    rows = view.table.rows
    cols = [(fold_header(h), view.columns[fold_header(h)]) for h in headers]
    grid = view.grid
    for k, row in merged.rows.items():
        mine = rows.get(k)
        if mine is not None and mine.position < SYNTHETIC:
            r = mine.position
            view.positions[k] = r
            if mine is row and k not in view.touched:  # this side's own row: as it is
                continue
        else:
            end += 1
            r = end
            view.positions[k] = r
        cells = row.cells
        line = grid[r - 1] if r <= len(grid) else []
        width = len(line)
        for f, j in cols:
            v = cells.get(f, "")
            if j >= width or line[j] is not v and line[j] != v:
                _put(grid, r, j, v)
                line = grid[r - 1]
                width = len(line)
    for d in deleted:
        if d.position > len(view.grid):  # a row the side never got (it was behind)
            continue
        for _f, j in cols:
            if j < len(view.grid[d.position - 1]):
                view.grid[d.position - 1][j] = ""


# The sync ----------------------------------------------------------------------------------

@dataclass
class _TabSpec:
    name: str
    kind: str
    key_header: str
    header_row: int
    #: folded headers of the columns that hold moments by their field (received, due, ETA...)
    dates: frozenset[str] = frozenset()


def _specs(tabs: Tabs) -> tuple[list[_TabSpec], list[str], Tab | None]:
    """The Excel workbook's tabs the sync carries, notes about the ones it does not, and the
    Settings tab."""
    from forecourt.validators.headers import find_layout

    dealer = [t for t in tabs.tabs if not is_generated(t) and t.name != CONFLICTS_SHEET]
    layout = find_layout(dealer)
    specs: list[_TabSpec] = []
    notes: list[str] = []
    keys = {"leads": ("lead_id",), "stock": ("vin", "stock_no"), "team": ("name",)}
    for kind in ("leads", "stock", "team"):
        tab, cm = layout.tabs.get(kind), layout.maps.get(kind)
        if tab is None:
            continue
        fld = next((f for f in keys[kind] if cm is not None and f in cm.fields), None)
        if fld is None or cm is None:
            if kind == "leads":
                specs.append(_TabSpec(tab.name, kind, "", cm.header_row if cm else 1))
            else:
                notes.append(f"the {tab.name!r} tab has no {keys[kind][0].replace('_', ' ')} "
                             "column to match its rows by: it is not synced.")
            continue
        from forecourt.validators.frames import DATE_FIELDS

        dates = frozenset(fold_header(cm.header_of(f, tab)) for f in DATE_FIELDS[kind]
                          if f in cm.fields)
        specs.append(_TabSpec(tab.name, kind, cm.header_of(fld, tab), cm.header_row, dates))
    return specs, notes, layout.tabs.get("settings")


#: positions from here on are rows a side lacks but is known to get (it is behind): new rows
SYNTHETIC = 1 << 40


def _catch_up(table: Table, records: list[sync_base.Behind], base: Table | None,
              touched: set[str]) -> list[RowDelete]:
    """A side that did not get the last sync's writes (left for later, or killed before),
    as the merge must see it: where it still holds what it held then, it holds the base
    (it has not changed; it is behind, and gets the base's value); where a person edited it
    since, the value they changed is the base of that cell (so an edit made without seeing
    the other side's is a conflict, not an overwrite). Rows the base deleted that the side
    still holds untouched are taken out: the rows to empty on that side."""
    if not records or base is None:
        return []
    renamed: dict[str, str] = {}
    for b in records:  # a row added without an id: by its content, else the most like it
        if b.kind == "unkeyed" and fold_key(b.key) not in table.rows:
            k = b.header if b.header in table.rows else _likeliest(table, b.value or {},
                                                                   set(renamed))
            if k is not None and k.startswith(PROVISIONAL) and k not in renamed:
                renamed[k] = b.key
    if renamed:
        rows = {}
        for k, row in table.rows.items():
            if k in renamed:
                given = renamed[k]
                k = fold_key(given)
                row.cells[table.key] = base.rows[k].cells.get(table.key, given) \
                    if k in base.rows else given
                touched.add(k)
            rows[k] = row
        table.rows = rows
    emptied = []
    columns = set(table.columns)
    extra = 0
    for b in records:
        row = table.rows.get(b.key)
        brow = base.rows.get(b.key)
        if b.kind == "cell" and row is None and brow is not None:
            brow.cells[b.header] = b.value  # deleted by a person who never saw the base's
            # value there: an edit of it on the other side is an edit, and brings the row back
        elif b.kind == "cell" and row is not None and brow is not None \
                and b.header in columns:
            if not _differs(row.cells.get(b.header, ""), b.value):
                row.cells[b.header] = brow.cells.get(b.header, "")
                touched.add(b.key)
            else:  # edited since, by a person who never saw the base's value: the value they
                brow.cells[b.header] = b.value  # changed is the one to merge against
        elif b.kind == "absent" and row is None and brow is not None and table.key in columns:
            extra += 1
            table.rows[b.key] = Row(SYNTHETIC + extra, {h: v for h, v in brow.cells.items()
                                                        if h in columns})
        elif b.kind == "deleted" and row is not None and brow is None and not any(
                _differs(row.cells.get(h, ""), v) for h, v in (b.value or {}).items()):
            del table.rows[b.key]
            emptied.append(RowDelete(b.key, row.position))
    return emptied


def _likeliest(table: Table, recorded: dict[str, Any], taken: set[str]) -> str | None:
    """The row without an id most like ``recorded`` (its cells when it was given an id):
    at least half of those cells still the same, the most of them."""
    cells = (recorded or {}).get("cells", {}) if isinstance(recorded, dict) else {}
    wanted = {h: v for h, v in cells.items() if cell_text(v)}
    best, score = None, 0
    for k, row in table.rows.items():
        if not k.startswith(PROVISIONAL) or k in taken:
            continue
        same = sum(not _differs(row.cells.get(h, ""), v) for h, v in wanted.items())
        if same > score or (same == score and same and row.position == recorded.get(
                "position")):
            best, score = k, same
    return best if wanted and 2 * score >= len(wanted) else None


def _behind_of(side: str, view: _View, final: Table, formulas: Any,
               promised: list[tuple[str, str, str]], emptied: list[RowDelete],
               private: frozenset[str]) -> list[sync_base.Behind]:
    """Where ``side``, as it was read, differs from ``final`` (what the sync is about to
    write to it): recorded before writing, cleared once the side is written."""
    from forecourt.sync.merge import provisional_key

    out = []
    name = view.name
    table = view.table
    shared = [h for h in final.columns if h in view.columns]
    grid, original = view.grid, view.original
    key_j = view.columns.get(table.key)
    alias = {fold_key(given): prov for tab, prov, given in promised if tab == name}
    for k, target in final.rows.items():
        tk = k if k in table.rows else alias.get(k)
        row = table.rows.get(tk) if tk is not None else None
        if row is None or row.position >= SYNTHETIC:
            out.append(sync_base.Behind(name, side, "absent", k, "", None))
            continue
        r = row.position
        if r <= len(grid) and r <= len(original) and grid[r - 1] == original[r - 1]:
            continue  # nothing of this row is written: the side holds it already
        if key_j is not None and not cell_text(_get(original, r, key_j)):
            cells = {h: _get(original, r, j) for h, j in view.columns.items()
                     if h != table.key and h in table.columns}
            out.append(sync_base.Behind(  # its id is not in the side yet: how to find it
                name, side, "unkeyed", k, tk if tk.startswith(PROVISIONAL)  # type: ignore
                else provisional_key(cells, private), {"position": r, "cells": cells}))
        for h in shared:
            j = view.columns[h]
            now = _get(original, r, j)
            if isinstance(now, Formula) or (r, j) in formulas:
                continue  # computed: never a person's value
            if _differs(now, target.cells.get(h, "")):
                out.append(sync_base.Behind(name, side, "cell", k, h, now))
    for k, row in table.rows.items():
        if k not in final.rows and row.position < SYNTHETIC and k not in alias.values():
            out.append(sync_base.Behind(name, side, "deleted", k, "", {
                h: _get(original, row.position, j) for h, j in view.columns.items()
                if h in table.columns}))
    for d in emptied:  # rows a side still holds, that the base deleted: still to empty
        if d.position < SYNTHETIC:
            out.append(sync_base.Behind(name, side, "deleted", d.key, "", {
                h: _get(original, d.position, j) for h, j in view.columns.items()
                if h in table.columns}))
    return out


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _formula_cells(path: Path, sheets: Iterable[str]
                   ) -> dict[str, dict[tuple[int, int], str | None]]:
    """The formula cells of the workbook's sheets ``sheets``: (row, column index) -> formula
    (None: one that cannot be carried alone). The sync never writes a value over one."""
    from forecourt.sync.formulas import xlsx_formulas
    from forecourt.sync.xlsx.package import Package

    pkg = Package.read(path)
    parts = pkg.sheets()
    out = {}
    for name in sheets:
        if name in parts:
            found = xlsx_formulas(pkg.get(parts[name]))
            if found:
                out[name] = found
    return out


def _align_derived(ev: _View, sv: _View, e_f: dict[tuple[int, int], Any],
                   s_f: dict[tuple[int, int], str], base: Table | None) -> None:
    """A cell the workbook computes holds, to the merge, the workbook's value on the Sheet
    too: the formula wins (a value typed over it on the Sheet is replaced, as its protection
    warns), and two computations of one formula are no conflict. A formula's new result on
    the Sheet, in a row the workbook deleted, is no edit that brings the row back."""
    if s_f and base is not None:
        s_row = {r.position: k for k, r in sv.table.rows.items()}
        s_header = {j: f for f, j in sv.columns.items()}
        for r, sj in s_f:
            k, f = s_row.get(r), s_header.get(sj)
            if k is not None and f is not None and k not in ev.table.rows \
                    and k in base.rows:
                sv.table.rows[k].cells[f] = base.rows[k].cells.get(f, "")
    if not e_f:
        return
    by_row = {r.position: k for k, r in ev.table.rows.items()}
    header = {j: f for f, j in ev.columns.items()}
    for r, ej in e_f:
        k, f = by_row.get(r), header.get(ej)
        srow = sv.table.rows.get(k) if k is not None else None
        if srow is not None and f is not None and f in sv.columns:
            srow.cells[f] = ev.table.rows[k].cells.get(f, "")  # type: ignore[index]


def _carry_formulas(pair: _Pair, e_f: dict[tuple[int, int], str | None],
                    s_f: dict[tuple[int, int], str]) -> tuple[str, ...]:
    """Put the workbook's own-row formulas into the Sheet's view, re-pointed (and the Sheet's
    formulas into what it read, so that one already there is not written again); the Sheet
    columns whose values are computed by formulas that cannot be carried, to protect."""
    from forecourt.plan import Formula
    from forecourt.sync.formulas import carry

    ev, sv, private = pair.excel, pair.sheet, pair.merged.private
    for (r, j), text in s_f.items():
        _put(sv.original, r, j, Formula(text))
    if not e_f:
        return ()
    row_key = {r: k for k, r in ev.positions.items()}
    e_header = {j: f for f, j in ev.columns.items()}

    def column(letter: str) -> str | None:
        f = e_header.get(column_index(letter))
        return sv.letter(f) if f is not None and f not in private else None

    protect = set()
    for (r, j), text in e_f.items():
        f, k = e_header.get(j), row_key.get(r)
        if f is None or f in private or k is None or f not in sv.columns:
            continue
        sr, sj = sv.positions[k], sv.columns[f]
        moved = carry(text, r, sr, column) if text is not None else None
        if moved is None:
            protect.add(column_letter(sj))
        else:
            _put(sv.grid, sr, sj, Formula(moved))
    return tuple(sorted(protect, key=column_index))


@dataclass
class _Pair:
    spec: _TabSpec
    excel: _View
    sheet: _View
    merged: Merged


def sync(book: Path | str, sheet: Any, *, as_of: dt.datetime | None = None,
         allow_mass_delete: bool = False, prefer: str | None = None,
         paths: SyncPaths | None = None, progress: Progress | None = None,
         open_workbook: Any = None) -> SyncResult:
    """Sync the Excel workbook ``book`` and the Google Sheet backend ``sheet`` (a
    :class:`~forecourt.sync.sheets.SheetsBackend`, or any backend of a spreadsheet). See the
    module docstring. Raises :class:`ConflictStop` at a safety stop (nothing written).

    ``open_workbook``: the backend of the workbook as it is open in Excel (the add-in's
    payload, sent by Sync now after saving it). When the file is open, the workbook's side
    is written there instead of into the file, row by row by key, skipping any cell that
    differs from the file (an unsaved edit); the side stays "behind" until the next sync
    finds the file saved with it."""
    from forecourt import locks

    book = Path(book)
    say = progress or (lambda _m: None)
    paths = paths or sync_paths(book, str(sheet.identity))
    lock = locks.take_run_lock(paths.base)
    try:
        notes = [lock.took_over] if lock.took_over else []
        result = _sync(book, sheet, paths, as_of=as_of, allow_mass_delete=allow_mass_delete,
                       prefer=prefer, say=say, open_workbook=open_workbook)
        result.notes[:0] = notes
        return result
    finally:
        lock.release()


def _sync(book: Path, sheet: Any, paths: SyncPaths, *, as_of: dt.datetime | None,
          allow_mass_delete: bool, prefer: str | None, say: Progress,
          open_workbook: Any = None) -> SyncResult:
    from forecourt import locks
    from forecourt.book import load_book
    from forecourt.engine import plan_run
    from forecourt.settings import Settings, settings_from_rows
    from forecourt.store import memory_store
    from forecourt.sync.xlsx import XlsxBackend
    from forecourt.sync.xlsx.reader import revision_of

    excel_report, sheet_report = SideReport(), SideReport()
    result = SyncResult(excel_report, sheet_report)
    excel = XlsxBackend(book)
    excel_open = None
    try:
        locks.check_not_open(book)
    except WorkbookLocked as exc:
        excel_open = str(exc)
    store = memory_store(excel.identity)

    with contextlib.ExitStack() as stack:
        if excel_open is None:
            try:
                result.notes += stack.enter_context(excel.session(write=True,
                                                                  memory=store.path))
            except WorkbookLocked as exc:
                excel_open = str(exc)
        stack.enter_context(sheet.session(write=True, memory=None))
        say(f"reading {book.name}")
        excel_hash = file_hash(book)
        excel_mtime = book.stat().st_mtime
        e_tabs = excel.read()
        specs, notes, settings_tab = _specs(e_tabs)
        result.notes += notes
        leads_spec = next((s for s in specs if s.kind == "leads"), None)
        if leads_spec is not None and not leads_spec.key_header:
            had = sync_base.load_base(paths.base)[0].get(leads_spec.name)
            if had is not None:
                raise ConflictStop(
                    f"the {leads_spec.name!r} tab of {book} has no {had.key_header!r} column "
                    "any more, the key that matches its rows with the Google Sheet: nothing "
                    "was written; put the column back, then sync again.",
                    path=book, sheet=leads_spec.name)
            raise ConflictStop(
                f"{book} has no lead id column yet: nothing was written; run 'forecourt run "
                f"{book}' once to give every lead its id, then sync.", path=book)
        say("reading the Google Sheet")
        s_tabs = sheet.read()
        e_formulas = _formula_cells(book, [s.name for s in specs])
        s_formulas = sheet.formulas([s.name for s in specs]) \
            if hasattr(sheet, "formulas") else {}
        settings = Settings()
        if settings_tab is not None:
            settings, _problems = settings_from_rows(
                [(settings_tab.excel_row(i), r) for i, r in enumerate(settings_tab.rows)])
        rule = prefer or settings.sync_prefer
        private = list(settings.private_columns)
        if settings.time_zone and s_tabs.time_zone and s_tabs.time_zone != settings.time_zone:
            result.notes.append(
                f"the Google Sheet's time zone is {s_tabs.time_zone}, the workbook's Settings "
                f"say {settings.time_zone}: both are read in {settings.time_zone}; set the "
                "Sheet's own (File > Settings) to match.")
        checkpoint("after-read")

        # merge, tab by tab
        base, _info = sync_base.load_base(paths.base)
        behind: dict[tuple[str, str], list[sync_base.Behind]] = {}
        for b in sync_base.load_behind(paths.base):
            behind.setdefault((b.tab, b.side), []).append(b)
        emptied: dict[tuple[str, str], list[RowDelete]] = {}
        from forecourt.settings import now_in

        found_at = as_of or now_in(settings.time_zone)
        e_by_name = {t.name: t for t in e_tabs.tabs}
        s_by_name = {t.name: t for t in s_tabs.tabs}
        pairs: list[_Pair] = []
        for spec in specs:
            try:
                ev = _view(e_by_name[spec.name], spec.name, spec.key_header, spec.header_row,
                           private)
                dates = {**{f: dt.datetime for f in spec.dates},
                         **(_date_columns(base[spec.name]) if spec.name in base else {}),
                         **_date_columns(ev.table)}
                sv = _view(s_by_name.get(spec.name), spec.name, spec.key_header,
                           spec.header_row, private, dates)
                tab_base = base.get(spec.name)
                for side, view in (("excel", ev), ("sheet", sv)):
                    records = behind.get((spec.name, side), [])
                    if records and not view.table.headers and tab_base is not None:
                        tab_base = None  # a tab the side never got: a first sync of it
                    emptied[(spec.name, side)] = _catch_up(view.table, records, tab_base,
                                                           view.touched)
                _align_derived(ev, sv, e_formulas.get(spec.name, {}),
                               s_formulas.get(spec.name, {}), tab_base)
                merged = merge(tab_base, ev.table, sv.table,
                               prefer=rule, private=private,  # type: ignore[arg-type]
                               allow_mass_delete=allow_mass_delete, now=found_at)
            except ConflictStop:
                if spec.kind in ("leads", "stock"):
                    raise
                result.notes.append(f"the {spec.name!r} tab is not synced this time: its "
                                    "first column has a value on two rows.")
                continue
            pairs.append(_Pair(spec, ev, sv, merged))
        result.tabs = [p.spec.name for p in pairs]
        for p in pairs:
            m = p.merged
            _lay_out(p.excel, m, m.headers,
                     [*m.to_excel.delete_rows, *emptied.get((p.spec.name, "excel"), [])])
            shared = [h for h in m.headers if fold_header(h) not in m.private]
            _lay_out(p.sheet, m, shared,
                     [*m.to_sheet.delete_rows, *emptied.get((p.spec.name, "sheet"), [])])
            for report, changes in ((sheet_report, m.to_excel), (excel_report, m.to_sheet)):
                report.rows_taken += len(changes.add_rows) + len(changes.delete_rows)
                report.cells_taken += len(changes.set_cells)
            excel_report.rows_added += len(m.to_excel.add_rows)
            excel_report.rows_deleted += len(m.to_excel.delete_rows)
            sheet_report.rows_added += len(m.to_sheet.add_rows)
            sheet_report.rows_deleted += len(m.to_sheet.delete_rows)
            result.revived += len(m.revived)
            result.notes += m.notes

        # the engine, once, on the Excel view
        say("deciding owners, next actions and due times")
        views = {p.spec.name: p for p in pairs}
        merged_tabs = Tabs(e_tabs.source, [Tab(t.name, views[t.name].excel.grid)
                                           if t.name in views else t for t in e_tabs.tabs],
                           kind=e_tabs.kind, identity=e_tabs.identity,
                           revision=e_tabs.revision, time_zone=e_tabs.time_zone)
        loaded = load_book(merged_tabs, as_of=as_of)
        memory = store.load()
        outcome = plan_run(loaded, memory, loaded.as_of)
        as_of = loaded.as_of
        result.summary = outcome.summary
        del loaded
        excel_only = _put_engine(outcome.plan, views)
        protect = {p.spec.name: _carry_formulas(p, e_formulas.get(p.spec.name, {}),
                                                s_formulas.get(p.spec.name, {}))
                   for p in pairs}
        leads_pair = next((p for p in pairs if p.spec.kind == "leads"), None)
        promised = _promised(leads_pair) if leads_pair is not None else []

        # conflicts and promised ids: recorded before either side is written
        times = ("", "")
        if any(p.merged.conflicts for p in pairs):  # when each side was last changed
            times = _side_times(book, excel_mtime, sheet, settings.time_zone)
        conflicts = [_conflict_row(p, c, found_at, times) for p in pairs
                     for c in p.merged.conflicts]
        result.conflicts = [dict(zip(("found_at", "tab", "key", "column", "base", "excel",
                                      "sheet", "kept", "excel_saved", "sheet_changed"), c,
                                     strict=True)) for c in conflicts]
        # The base is what the sync is about to make both sides hold; where a side does not
        # hold it yet, what it holds instead ("behind", cleared once it is written): in one
        # transaction, before writing. Killed or left for later, the next sync knows what
        # each side really holds, and a person's edit made since is an edit.
        base_tables = {p.spec.name: _final_table(p) for p in pairs}
        late = [b for p in pairs for side, view, f in (
            ("excel", p.excel, e_formulas.get(p.spec.name, {})),
            ("sheet", p.sheet, s_formulas.get(p.spec.name, {})))
            for b in _behind_of(side, view, base_tables[p.spec.name], f, promised,
                                emptied.get((p.spec.name, side), []), p.merged.private)]
        settled = not late and not behind and not conflicts and len(pairs) == len(base) \
            and all(p.merged.same_as_base for p in pairs)
        checkpoint("before-base")
        if not settled:  # an idle sync leaves the base as it is (it still is the content)
            sync_base.commit_base(paths.base, base_tables,
                                  {"synced_at": found_at.isoformat(timespec="minutes"),
                                   "sheet": str(sheet.identity), "book": str(book)},
                                  conflicts, late)
        del base_tables
        recent = sync_base.load_conflicts(paths.base,
                                          found_at - dt.timedelta(days=CONFLICT_DAYS))

        e_plan = Plan([*(_edit(p.excel, p.spec, e_formulas.get(p.spec.name, {}),
                               _highlights(outcome.plan, p.spec.name),
                               flags=_flags(p.excel, p.spec, recent),
                               emptied=frozenset(d.position for d in (
                                   *p.merged.to_excel.delete_rows,
                                   *emptied.get((p.spec.name, "excel"), []))))
                         for p in pairs),
                       *excel_only],
                      [*outcome.plan.sheets, _conflicts_sheet(recent, views, "excel")],
                      e_tabs.revision, e_tabs.identity)
        s_plan = Plan([_edit(p.sheet, p.spec, s_formulas.get(p.spec.name, {}),
                             _sheet_highlights(outcome.plan, p),
                             create=not p.sheet.exists and p.spec.name not in s_by_name,
                             protect=protect[p.spec.name],
                             flags=_flags(p.sheet, p.spec, recent),
                             emptied=frozenset(d.position for d in (
                                 *p.merged.to_sheet.delete_rows,
                                 *emptied.get((p.spec.name, "sheet"), []))))
                       for p in pairs],
                      [*(_sheet_generated(g, views) for g in outcome.plan.sheets),
                       _conflicts_sheet(recent, views, "sheet")],
                      s_tabs.revision, s_tabs.identity)

        # the Sheet first: re-read what it will write; then write
        staged = store.stage(memory.updated(outcome.changes), outcome.changes, as_of=as_of,
                             summary=f"sync: {outcome.summary.get('assigned', 0)} assigned")
        try:
            dealer = [e.sheet for e in s_plan.edits if e.columns or e.new_columns]
            changed = sheet.changed_since_read(dealer) if hasattr(sheet, "changed_since_read") \
                else []
            if changed:
                sheet_report.deferred = (
                    f"the Google Sheet's {', '.join(map(repr, changed))} changed while this "
                    "sync worked (a teammate typed): it was not written; the next sync takes "
                    "their edits in")
            else:
                say("writing the Google Sheet")
                applied = sheet.apply(s_plan, progress=say)
                committed = sheet.commit()
                sheet_report.written = committed.written
                sheet_report.cells_written = applied.cells_written
                if late or behind:
                    sync_base.caught_up(paths.base, "sheet")
            checkpoint("after-sheet")

            # then the file: only if it is the file that was read
            if excel_open is not None and open_workbook is not None:
                say("writing the open workbook")
                applied = open_workbook.apply(e_plan, progress=say)
                committed = open_workbook.commit(before=staged.wait)
                excel_report.written = committed.written
                excel_report.cells_written = applied.cells_written
                if applied.skipped:
                    result.notes.append(
                        f"{len(applied.skipped)} cells of the open workbook were left as they "
                        "are: they differ from the saved file (unsaved edits?); the next sync "
                        "after saving takes them")
                staged.install()
            elif excel_open is not None:
                why = excel_open.split(": close it", 1)[0].split(", but its lock", 1)[0]
                excel_report.deferred = (f"{why}: the Google Sheet was synced, the workbook "
                                         "is synced by the next run after it is closed")
            elif revision_of(book) != e_tabs.revision or file_hash(book) != excel_hash:
                excel_report.deferred = (f"{book} changed while this sync worked (it was "
                                         "saved meanwhile): it was not written; the next "
                                         "sync takes those edits in")
            else:
                say(f"writing {book.name}")
                applied = excel.apply(e_plan, progress=say)
                try:
                    committed = excel.commit(before=staged.wait)
                except ChangedSinceRead as exc:
                    excel_report.deferred = f"{exc}".replace("run again", "the next sync does")
                else:
                    excel_report.written = committed.written
                    excel_report.cells_written = applied.cells_written
                    if late or behind:
                        sync_base.caught_up(paths.base, "excel")
                    staged.install()
            checkpoint("after-excel")
        finally:
            staged.discard()
        result.base_committed = not (excel_report.deferred or sheet_report.deferred)
    return result


def _put_engine(plan: Plan, views: dict[str, _Pair]) -> list[SheetEdit]:
    """Write the engine's plan into both views (the Sheet's by key and header); the edits of
    tabs the sync does not carry, for the Excel workbook only."""
    excel_only = []
    for edit in plan.edits:
        pair = views.get(edit.sheet)
        if pair is None:
            excel_only.append(edit)
            continue
        if edit.appends:
            raise NotImplementedError("the sync does not carry appended rows of the engine")
        ev, sv, private = pair.excel, pair.sheet, pair.merged.private
        for nc in edit.new_columns:
            j = column_index(nc.column)
            f = fold_header(nc.header)
            _put(ev.grid, ev.header_row, j, nc.header)
            ev.columns.setdefault(f, j)
            ev.next_col = max(ev.next_col, j + 1)
            if nc.width is not None:
                ev.widths[f] = sv.widths[f] = nc.width
            if f not in private and f not in sv.columns:
                sv.columns[f] = sv.next_col
                _put(sv.grid, sv.header_row, sv.next_col, nc.header)
                sv.next_col += 1
        row_key = {r: k for k, r in ev.positions.items()}
        for writes in edit.columns:
            j = column_index(writes.column)
            f = ev.header_at(j)
            sj = sv.columns.get(f) if f not in private else None
            for r, v in zip(writes.rows.tolist(), writes.python_values(), strict=True):
                _put(ev.grid, r, j, "" if v is None else v)
                k = row_key.get(r)
                if sj is not None and k is not None:
                    _put(sv.grid, sv.positions[k], sj, "" if v is None else v)
    return excel_only


def _promised(pair: _Pair) -> list[tuple[str, str, str]]:
    """(tab, provisional key, id) of the rows the engine gave an id this sync."""
    key_j = pair.excel.columns.get(pair.excel.table.key)
    if key_j is None:
        return []
    out = []
    for k in pair.merged.unkeyed:
        given = cell_text(_get(pair.excel.grid, pair.excel.positions[k], key_j))
        if given:
            out.append((pair.spec.name, k, given))
    return out


def _column_writes(letter: str, cells: list[tuple[str, int, Any, str]]) -> ColumnWrites:
    keys, rows, values, expected = zip(*cells, strict=True)
    if all(isinstance(v, dt.date) or v in ("", None) for v in values) \
            and any(isinstance(v, dt.date) for v in values):
        array = np.array([np.datetime64(v, "us") if isinstance(v, dt.date)
                          else np.datetime64("NaT") for v in values], dtype="datetime64[us]")
    else:
        array = np.array([None if v == "" else v for v in values], dtype=object)
    return ColumnWrites(letter, np.array(keys, dtype=object), np.array(rows, dtype=np.int64),
                        array, np.array(expected, dtype=object))


def _flags(view: _View, spec: _TabSpec, conflicts: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The cells of the listed conflicts, where the side holds them now."""
    out = []
    for c in conflicts:
        k, letter = fold_key(c[2]), view.letter(fold_header(c[3]))
        if c[1] == spec.name and letter is not None and k in view.positions:
            out.append(f"{letter}{view.positions[k]}")
    return tuple(sorted(set(out), key=lambda a1: (int(a1.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
                                                  a1)))


def _edit(view: _View, spec: _TabSpec, formulas: Iterable[tuple[int, int]],
          highlights: tuple[Highlight, ...], create: bool = False,
          protect: tuple[str, ...] = (), flags: tuple[str, ...] = (),
          emptied: frozenset[int] = frozenset()) -> SheetEdit:
    """The cells of ``view`` that differ from what its side holds, as one edit (the side's
    own rows: trusted while the side is as read)."""
    grid, original, h = view.grid, view.original, view.header_row
    new_columns = tuple(
        NewColumn(column_letter(j), cell_text(_get(grid, h, j)), view.widths.get(f))
        for f, j in sorted(view.columns.items(), key=lambda fj: fj[1])
        if cell_text(_get(grid, h, j)) != cell_text(_get(original, h, j)))
    key_j = view.columns.get(view.table.key)
    synced = sorted(set(view.columns.values()))
    by_column: dict[int, list[tuple[str, int, Any, str]]] = {}
    for r in range(h + 1, max(len(grid), len(original)) + 1):
        g = grid[r - 1] if r - 1 < len(grid) else []
        o = original[r - 1] if r - 1 < len(original) else []
        if g == o:
            continue
        key = cell_text(g[key_j]) if key_j is not None and key_j < len(g) else ""
        for j in synced:
            gv = g[j] if j < len(g) else ""
            ov = o[j] if j < len(o) else ""
            if gv is ov or not _differs(gv, ov) or (
                    (r, j) in formulas and not isinstance(gv, Formula) and r not in emptied):
                continue  # the same; or a formula, never replaced by a value (but a row
                # deleted is emptied whole: a formula left there would be a new row)
            by_column.setdefault(j, []).append((key, r, gv, cell_text(ov)))
    columns = tuple(_column_writes(column_letter(j), cells)
                    for j, cells in sorted(by_column.items()))
    return SheetEdit(spec.name, h, column_letter(key_j) if key_j is not None else None,
                     new_columns, columns, (), highlights, None, create, protect, flags)


def _highlights(plan: Plan, sheet: str) -> tuple[Highlight, ...]:
    edit = plan.edit(sheet)
    return edit.highlights if edit is not None else ()


def _sheet_highlights(plan: Plan, pair: _Pair) -> tuple[Highlight, ...]:
    """The engine's rules over the Excel view, over the Sheet's columns and rows."""
    ev, sv = pair.excel, pair.sheet
    out = []
    for rule in _highlights(plan, pair.spec.name):
        def letter(col: str | None) -> str | None:
            if col is None:
                return None
            f = ev.header_at(column_index(col))
            return sv.letter(f) if f not in pair.merged.private else None

        due, since = letter(rule.due), letter(rule.status_since)
        if due is None or since is None:
            continue
        slack = rule.last_row - _last_row(ev.grid, ev.header_row)
        out.append(Highlight(
            rule.kind, sv.header_row + 1, _last_row(sv.grid, sv.header_row) + max(slack, 0),
            column_letter(max(sv.next_col - 1, 0)), due, since, letter(rule.status),
            letter(rule.state), rule.closed, rule.fill, rule.font, rule.statuses, rule.days,
            rule.soon_hours, rule.soon_word))
    return tuple(out)


def _sheet_generated(sheet: GeneratedSheet, views: dict[str, _Pair]) -> GeneratedSheet:
    """A generated tab (KPI, Issues, Log) as the Sheet gets it: its links pointed at the
    Sheet's rows and columns, and no row that names a private column (an issue about one
    quotes its values)."""
    private = {h for pair in views.values() for h in pair.merged.private}
    if private:
        kept = [(i, r) for i, r in enumerate(sheet.rows, start=1)
                if not any(isinstance(v, str) and any(h in fold_header(v) for h in private)
                           for v in r)]
        if len(kept) < len(sheet.rows):
            renumber = {old: new for new, (old, _r) in enumerate(kept, start=1)}
            sheet = GeneratedSheet(
                sheet.name, [list(r) for _i, r in kept],
                {(renumber[i], c): v for (i, c), v in sheet.links.items() if i in renumber},
                sheet.widths, frozenset(renumber[i] for i in sheet.bold_rows if i in renumber),
                sheet.formats, sheet.charts, sheet.freeze_row)
    if not sheet.links:
        return sheet
    by_row: dict[str, dict[int, str]] = {}  # a lookup per tab, not a scan per link
    for name, pair in views.items():
        by_row[name] = {r: k for k, r in pair.excel.positions.items()}
    links = {}
    for at, link in sheet.links.items():
        pair = views.get(link.sheet)
        if pair is None:
            links[at] = link
            continue
        ev, sv = pair.excel, pair.sheet
        f = ev.header_at(column_index(link.column))
        column = sv.letter(f) if f not in pair.merged.private else None
        key = by_row[link.sheet].get(link.row)
        if column is None:
            continue
        if link.row <= ev.header_row:
            links[at] = Link(link.sheet, sv.header_row, column)
        elif key is not None:
            links[at] = Link(link.sheet, sv.positions[key], column)
    return GeneratedSheet(sheet.name, [list(r) for r in sheet.rows], links, sheet.widths,
                          sheet.bold_rows, sheet.formats, sheet.charts, sheet.freeze_row)


def _shown(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return cell_text(value)


def _side_times(book: Path, mtime: float, sheet: Any, zone: str | None) -> tuple[str, str]:
    """When the workbook was saved and the Sheet last changed, as wall-clock times in the
    Settings' time zone (this computer's when it has none); "" where unknown."""
    import zoneinfo

    tz = zoneinfo.ZoneInfo(zone) if zone else None
    saved = dt.datetime.fromtimestamp(mtime, dt.UTC).astimezone(tz)
    changed = sheet.modified_time() if hasattr(sheet, "modified_time") else None
    text = [t.replace(tzinfo=None).isoformat(sep=" ", timespec="minutes") if t else ""
            for t in (saved, changed.astimezone(tz) if changed else None)]
    return text[0], text[1]


def _conflict_row(pair: _Pair, c: Conflict, found_at: dt.datetime,
                  times: tuple[str, str] = ("", "")) -> tuple[str, ...]:
    row = pair.merged.rows.get(c.key)
    key = cell_text(row.cells.get(pair.excel.table.key, "")) if row is not None else c.key
    if not key and row is not None:  # a row added without an id: the id it got
        key_j = pair.excel.columns.get(pair.excel.table.key)
        key = cell_text(_get(pair.excel.grid, pair.excel.positions[c.key], key_j)) \
            if key_j is not None else ""
    return (found_at.isoformat(timespec="minutes"), pair.spec.name, key or c.key, c.header,
            "" if c.base is None else _shown(c.base), _shown(c.excel), _shown(c.sheet), c.kept,
            *times)


CONFLICT_HEADERS = ("Found", "Tab", "Key", "Column", "At the last sync", "Excel workbook",
                    "Google Sheet", "Kept", "Excel saved", "Sheet changed")


def _conflicts_sheet(conflicts: list[tuple[str, ...]], views: dict[str, _Pair],
                     side: str) -> GeneratedSheet:
    """The Conflicts tab: the cells both sides changed differently in the last
    :data:`CONFLICT_DAYS` days, newest first, each linking to its cell."""
    rows: list[list[Any]] = [
        ["forecourt · conflicts of the two-way sync between the Excel workbook and the "
         "Google Sheet"],
        [f"Both sides changed these cells differently since the sync before; the value in "
         f"'Kept' is in both now (the Settings row 'Sync conflicts' says which side wins), and "
         f"the cell is orange on both sides. 'Excel saved' and 'Sheet changed' say when each "
         f"side was last changed before the sync found it. Listed for {CONFLICT_DAYS} days."],
        [],
        list(CONFLICT_HEADERS)]
    links = {}
    seen = set()
    for c in conflicts:
        if c[1:7] in seen:  # the same conflict seen again (a sync killed, then finished)
            continue
        seen.add(c[1:7])
        found, tab, key, header, base, excel, sheet, kept, saved, changed = c
        rows.append([found.replace("T", " "), tab, key, header, base, excel, sheet,
                     "Excel workbook" if kept == "excel" else "Google Sheet", saved, changed])
        pair = views.get(tab)
        if pair is not None:
            view = pair.excel if side == "excel" else pair.sheet
            k = fold_key(key)
            column = view.letter(fold_header(header))
            if k in view.positions and column is not None:
                links[(len(rows), "D")] = Link(tab, view.positions[k], column)
    if len(rows) == 4:
        rows.append(["none"])
    return GeneratedSheet(CONFLICTS_SHEET, rows, links,
                          {"A": 17, "B": 12, "C": 14, "D": 18, "E": 22, "F": 22, "G": 22,
                           "H": 16, "I": 17, "J": 17}, frozenset({4}), {}, (), 4)


def _final_table(pair: _Pair) -> Table:
    """What both sides hold now, keyed: the next sync's base (the Excel view, with the
    private columns; the engine's writes included)."""
    ev = pair.excel
    headers = [cell_text(_get(ev.grid, ev.header_row, j))
               for j in sorted(ev.columns.values())]
    idx = sorted(ev.columns.values())
    records = [[row[j] if j < len(row) else "" for j in idx]
               for row in ev.grid[ev.header_row:]]
    return Table.from_records(pair.spec.key_header, headers, records,
                              first_position=ev.header_row + 1,
                              private=list(pair.merged.private), name=pair.spec.name)


# Status ---------------------------------------------------------------------------------------

def write_status(path: Path, **fields: Any) -> dict[str, Any]:
    """Update the pair's status file (JSON, written whole by a rename): the last run, its
    result and counts, the conflicts open, the consecutive failures."""
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        status = {}
    ok = fields.get("result") in ("synced", "deferred")
    status.update(fields)
    status["consecutive_failures"] = 0 if ok else int(status.get("consecutive_failures", 0)) + 1
    status["consecutive_deferred"] = int(status.get("consecutive_deferred", 0)) + 1 \
        if fields.get("result") == "deferred" else 0
    if ok:
        status["last_success"] = fields.get("last_run")
    tmp = path.with_name(f".~forecourt-{path.name}")
    tmp.write_text(json.dumps(status, indent=2, ensure_ascii=False, default=str),
                   encoding="utf-8")
    os.replace(tmp, path)
    return status


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


__all__ = ["CHECKPOINTS", "PAUSE_ENV", "SideReport", "SyncPaths", "SyncResult", "checkpoint",
           "private_candidates", "read_status", "sync", "sync_paths", "write_status",
           "ForecourtError"]
