"""Three-way merge of keyed tables: the core of the two-way sync between the owner's Excel
workbook and the team's Google Sheet.

Plain functions over plain data: no I/O, no backend, no storage. A :class:`Table` is what one
side holds of one tab; :func:`merge` takes the base (the merged table of the last successful
sync, or None before the first one), the Excel side and the Sheet side, and returns the merged
table, the conflicts, and per side the :class:`Changes` that make that side equal the merged
table. The two sides are named ``excel`` (the owner's workbook) and ``sheet`` (the team's
Google Sheet) throughout.

The rules, per cell, against the base:

- one side changed → take it; both changed to the same value → take it; both changed
  differently → a :class:`Conflict`: the value of the side that ``prefer`` names is kept
  (``"excel"`` by default, ``"sheet"``, or ``"newer"``: the side with the later time, Excel on a
  tie or a missing time), both values are recorded with their side and time;
- no base for a row (the first sync, or the same new key added on both sides): every cell
  that holds different values on the two sides is a conflict, and a cell empty on one side
  takes the other side's value (no edit can be lost by it); the rows are matched by key,
  never two rows for one key, nothing is deleted;
- cells compare as the engine compares them (:func:`~forecourt.sync.base.cell_text`): text
  stripped, times to the minute, 1 and 1.0 equal; and TRUE and FALSE as 1 and 0
  (:func:`merge_text`: Python holds ``True == 1``, and the merge compares unchanged rows whole,
  in C, which is what makes it quick). The spelling of the key itself is no conflict (``l-abc``
  and ``L-ABC`` are one key): the rule picks one silently.

Rows:

- matched by key (:func:`~forecourt.sync.base.fold_key`), never by position; the merged order
  is the Excel side's, then the rows only on the Sheet in the Sheet's order. Rows added to a
  side are appended at its end; a side's own order is never changed, so sorting either side
  writes nothing. A key on two rows of one side is a safety stop (:meth:`Table.from_records`);
- deleted on one side and untouched on the other → deleted on both; deleted on one side and
  edited on the other → the row comes back with the edit (:attr:`Merged.revived`); deleted on
  both → gone. An edit of a private column on Excel counts as an edit;
- a row whose cells are all private (a row without a key where only the purchase price is
  typed) stays in Excel: the Sheet gets no empty row for it, and lacks none;
- a row without a key (a person added it) gets a provisional key from its content
  (:func:`provisional_key`), so the same row seen again, on either side, is the same row and is
  never duplicated; the merged ones are listed in :attr:`Merged.unkeyed` for the engine to give
  them an id. Such a row edited on one side is a new row (its content, hence its identity,
  changed) and the old one is deleted on both: the edit carries; edited differently on both
  sides, both versions stay.

Columns, matched by header text (:func:`fold_header`: case and spacing do not matter), never by
position:

- a column added on one side is added on the other (at its end); the merged order is the
  base's, then new columns as Excel shows them, then new ones as the Sheet shows them;
- a column that disappears from one side only is kept and put back on that side, with its
  values: a side without a column has not changed it. Deleting a column takes deleting it on
  both sides. (Losing a column of the team's data to one slip is worse than deleting twice.)
  A column deleted on both sides is gone;
- the key column gone from a side is a safety stop;
- **private** columns (``private=``) exist in Excel only: merged from Excel alone, never written
  to the Sheet. A column of the Sheet with a private header is left alone (read and written
  never) and noted in :attr:`Merged.notes`.

Safety stops raise :class:`~forecourt.errors.ConflictStop` (one sentence, no result): a side
with no table at all, or no rows, while the base had rows; the key column gone from a side; more
than half of the base's rows gone from one side. ``allow_mass_delete=True`` lets the deletions
through (a side emptied of its rows, more than half of them gone); never a side without a table
or without its key column.

Speed: a row the same on both sides as in the base is found by comparing whole dicts (in C);
only the cells of changed rows are looked at one by one, and a merged row that is Excel's row
is not copied. A merge of 50,000 rows x 20 columns takes about twice a plain dict merge
(``benchmarks/bench_merge.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import compress, islice
from operator import attrgetter, itemgetter, lt, ne
from typing import Any, Literal, NamedTuple

from forecourt.errors import ConflictStop
from forecourt.sync.base import cell_text, fold_key

Side = Literal["excel", "sheet"]
Prefer = Literal["excel", "sheet", "newer"]

#: The start of a provisional key. A folded key never holds a space, so no real key is one.
PROVISIONAL = "new "

_LABEL = {"excel": "Excel workbook", "sheet": "Google Sheet"}


def fold_header(text: Any) -> str:
    """A header as columns are matched across sides: case and runs of spaces do not count
    (``" Lead  ID"`` is ``"lead id"``)."""
    return " ".join(str(text).split()).casefold()


def provisional_key(cells: dict[str, Any], private: Iterable[str] = ()) -> str:
    """The identity of a row without a key, from its content: the non-empty cells (as
    :func:`merge_text` compares them) of the columns that are not private. The same row seen
    again on either side gets the same identity; a private value (on Excel only) or an empty
    column one side lacks does not change it."""
    skip = {fold_header(h) for h in private}
    parts = sorted(f"{h}\x1f{text}" for h, v in cells.items()
                   if h not in skip and (text := merge_text(v)))
    digest = hashlib.blake2b("\x1e".join(parts).encode(), digest_size=8).hexdigest()
    return PROVISIONAL + digest


@dataclass(slots=True)
class Row:
    """One row of a side: its position there (the row number) and its cells by folded header
    (a header missing from ``cells`` is an empty cell)."""

    position: int
    cells: dict[str, Any]

    def value(self, header: str) -> Any:
        return self.cells.get(fold_header(header), "")


@dataclass
class Table:
    """What one side holds of one tab: its headers in its own order, and its rows by key
    (:func:`fold_key` of the key cell, or a :func:`provisional_key` for a row without one)."""

    key_header: str
    headers: list[str]
    rows: dict[str, Row] = field(default_factory=dict)
    #: the tab's name, for messages
    name: str = ""

    @property
    def key(self) -> str:
        """The key column's folded header."""
        return fold_header(self.key_header)

    @property
    def columns(self) -> list[str]:
        """The folded headers, in the side's order."""
        return [fold_header(h) for h in self.headers]

    @classmethod
    def from_records(cls, key_header: str, headers: Sequence[str],
                     records: Iterable[Sequence[Any]], *, first_position: int = 2,
                     private: Iterable[str] = (), name: str = "") -> Table:
        """A table from rows of values in header order (a short row is padded with empty
        cells, a long one cut), the first at row ``first_position``. Rows without a key get a
        provisional key (``private``: the private columns, left out of it; pass the same to
        :func:`merge`); the n-th copy of one unkeyed row is told apart by `` #n``.

        A key that stands on two rows is a :class:`ConflictStop`: the merge cannot know which
        row is the lead, and merging either would lose the other's edits."""
        folded = [fold_header(h) for h in headers]
        try:
            k = folded.index(fold_header(key_header))
        except ValueError:
            k = None
        width = len(folded)
        private = [fold_header(h) for h in private]
        rows: dict[str, Row] = {}
        for position, record in enumerate(records, first_position):
            values = list(record[:width]) + [""] * (width - len(record))
            cells = dict(zip(folded, values, strict=True))
            key = fold_key(values[k]) if k is not None else ""
            if not key:
                if not any(map(merge_text, values)):
                    continue  # a blank row is no row (a row the sync emptied, a gap)
                key = provisional = provisional_key(cells, private)
                n = 1
                while key in rows:
                    n += 1
                    key = f"{provisional} #{n}"
            elif key in rows:
                raise ConflictStop(
                    f"{key_header} {values[k]} stands on rows {rows[key].position} and "
                    f"{position}{f' of {name}' if name else ''}: nothing was written; keep one "
                    "row, then sync again.",
                    sheet=name or None)
            rows[key] = Row(position, cells)
        return cls(key_header, list(headers), rows, name)


@dataclass(frozen=True, slots=True)
class Conflict:
    """A cell both sides changed to different values since the base (or, with no base for the
    row, a cell where they differ). ``kept`` names the side whose value the merged table
    holds; the other side's value is here for the Conflicts tab."""

    key: str
    header: str
    base: Any  # None: no base for this row
    excel: Any
    sheet: Any
    kept: Side
    excel_time: dt.datetime | None = None
    sheet_time: dt.datetime | None = None
    found_at: dt.datetime | None = None

    @property
    def value(self) -> Any:
        """The value the merged table holds."""
        return self.excel if self.kept == "excel" else self.sheet


class CellWrite(NamedTuple):
    """Set one cell of a side: the row's key and position there, the folded header."""

    key: str
    header: str
    value: Any
    position: int


class RowAdd(NamedTuple):
    """Append a row to a side: its key and non-empty cells by folded header."""

    key: str
    cells: dict[str, Any]


class RowDelete(NamedTuple):
    """Delete a row of a side: its key and its position there."""

    key: str
    position: int


class Revived(NamedTuple):
    """A row deleted on one side and edited on the other since the base: it comes back."""

    key: str
    deleted_on: Side


@dataclass
class Changes:
    """What to write to one side to make it hold the merged table: columns to add at its end
    (their header text), cells to set, rows to append, rows to delete."""

    add_columns: list[str] = field(default_factory=list)
    set_cells: list[CellWrite] = field(default_factory=list)
    add_rows: list[RowAdd] = field(default_factory=list)
    delete_rows: list[RowDelete] = field(default_factory=list)

    @property
    def count(self) -> int:
        return (len(self.add_columns) + len(self.set_cells) + len(self.add_rows)
                + len(self.delete_rows))


@dataclass
class Merged:
    """The merged table and what it takes to get there. ``rows`` are in merged order: Excel's
    rows at their Excel positions, then the rows only on the Sheet, numbered on from Excel's
    last row in the Sheet's order. A row that is the same as Excel's is Excel's :class:`Row`
    itself (no copy: a merge of 50,000 rows copies none it need not); :meth:`table` gives
    copies."""

    key_header: str
    headers: list[str]
    rows: dict[str, Row]
    conflicts: list[Conflict]
    to_excel: Changes
    to_sheet: Changes
    revived: list[Revived] = field(default_factory=list)
    #: provisional keys of the merged rows without a key, in merged order
    unkeyed: list[str] = field(default_factory=list)
    #: folded headers of the private columns (Excel only)
    private: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)
    #: both sides hold what the base holds: the merged table is the base, unchanged
    same_as_base: bool = False

    def changes(self, side: Side) -> Changes:
        return self.to_excel if side == "excel" else self.to_sheet

    def table(self, side: Side | None = None) -> Table:
        """The merged table: whole (``None``: the next base; or as Excel holds it), or as the
        Sheet holds it (no private columns)."""
        if side != "sheet" or not self.private:
            rows = {k: Row(r.position, dict(r.cells)) for k, r in self.rows.items()}
            return Table(self.key_header, list(self.headers), rows)
        private = self.private
        headers = [h for h in self.headers if fold_header(h) not in private]
        rows = {k: Row(r.position, shared) for k, r in self.rows.items()
                if any(map(merge_text, (shared := {h: v for h, v in r.cells.items()
                                                   if h not in private}).values()))}
        return Table(self.key_header, headers, rows)


def apply_changes(table: Table, changes: Changes) -> Table:
    """``table`` with ``changes`` made, as a side would hold it after writing them (a new
    table; ``table`` is not changed)."""
    rows = {k: Row(r.position, dict(r.cells)) for k, r in table.rows.items()}
    for d in changes.delete_rows:
        del rows[d.key]
    for w in changes.set_cells:
        rows[w.key].cells[w.header] = w.value
    position = max((r.position for r in table.rows.values()), default=1) + 1
    for a in changes.add_rows:
        rows[a.key] = Row(position, dict(a.cells))
        position += 1
    return Table(table.key_header, [*table.headers, *changes.add_columns], rows, table.name)


# The merge ---------------------------------------------------------------------------------

class _Absent:
    """A cell of a column the side does not have: that side has not changed it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


_ABSENT: Any = _Absent()
_MINUTE = dt.timedelta(minutes=1)


def merge_text(value: Any) -> str:
    """A cell's value as the merge compares it: :func:`cell_text` (text stripped, times to the
    minute, 1 and 1.0 the same), with TRUE and FALSE as 1 and 0, and a day as its midnight.
    Python holds ``True == 1`` (and Google Sheets ``=TRUE=1``): comparing whole rows at once,
    as the merge does to be quick, cannot tell them apart, so no comparison of the merge
    does."""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if type(value) is dt.date:  # a day is its midnight: a Sheet's serials do not tell them apart
        return value.isoformat() + "T00:00"
    return cell_text(value)


def _differs(a: Any, b: Any) -> bool:
    """``merge_text(a) != merge_text(b)``, quick for the common pairs."""
    if a == b:  # the same to Python is the same as merge_text compares
        return False
    kind = type(a)
    if kind is type(b):
        if kind is str:
            return a.strip() != b.strip()
        if kind is int or kind is bool:
            return True
        if kind is float:
            return a == a or b == b  # NaN is an empty cell
        if kind is dt.datetime and a.tzinfo is None and b.tzinfo is None:
            return a.minute != b.minute or abs(a - b) >= _MINUTE  # to the minute
    elif kind is str and not a.strip():
        return not (b is None or b != b)  # an empty cell and a value (None, NaN: empty)
    elif type(b) is str and not b.strip():
        return not (a is None or a != a)
    return merge_text(a) != merge_text(b)


def _where(side: Side, table: Table) -> str:
    return f"the {_LABEL[side]}" + (f" ({table.name})" if table.name else "")


def _check_stops(base: Table | None, excel: Table, sheet: Table, key: str,
                 allow_mass_delete: bool, private: frozenset[str]) -> None:
    key_header = base.key_header if base is not None else excel.key_header
    on_excel = base.rows.keys() if base is not None else set()
    on_sheet = on_excel if not private or base is None else {  # a row of private cells
        # only is Excel's alone
        k for k, r in base.rows.items()
        if any(merge_text(v) for h, v in r.cells.items() if h not in private)}
    for side, table, had in (("excel", excel, on_excel), ("sheet", sheet, on_sheet)):
        before = len(had)
        where = _where(side, table)
        has_key = key in table.columns
        if not table.rows and before and not has_key:
            raise ConflictStop(
                f"{where} shows no table while the last sync had {before} rows: nothing was "
                "written; check that it is the right sheet and that it can be read.",
                sheet=table.name or None)
        if not has_key and (table.rows or table.headers):
            raise ConflictStop(
                f"{where} has no {key_header!r} column any more, the key that matches its rows "
                "with the other side: nothing was written; put the column back, then sync "
                "again.", sheet=table.name or None)
        if before and not allow_mass_delete:
            gone = len(had - table.rows.keys())
            if not table.rows:
                raise ConflictStop(
                    f"{where} has no rows left while the last sync had {before}: nothing was "
                    "written; if they were meant to go, sync again with --allow-mass-delete.",
                    sheet=table.name or None)
            if 2 * gone > before:
                raise ConflictStop(
                    f"{gone} of the {before} rows of the last sync are gone from {where}, more "
                    "than half: nothing was written; if they were meant to go, sync again with "
                    "--allow-mass-delete.", sheet=table.name or None)


def _merge_headers(base: Table | None, excel: Table, sheet: Table,
                   private: frozenset[str]) -> tuple[list[str], dict[str, str]]:
    """The merged columns (folded, in order) and their header text."""
    text: dict[str, str] = {}
    on_excel = set(excel.columns)
    on_sheet = set(sheet.columns) - private
    order: list[str] = []
    sources = [base] if base is not None else []
    for table in (*sources, excel, sheet):
        for header, h in zip(table.headers, table.columns, strict=True):
            if h in text:
                continue
            text[h] = header
            if h in on_excel or h in on_sheet:
                order.append(h)
    return order, {h: text[h] for h in order}


def _in_order(rows: dict[str, Row]) -> list[str]:
    """The keys of ``rows`` by position (as they come when they are in order already)."""
    positions = list(map(attrgetter("position"), rows.values()))
    if all(map(lt, positions, islice(positions, 1, None))):
        return list(rows)
    return [k for _, k in sorted(zip(positions, rows, strict=True))]


def merge(base: Table | None, excel: Table, sheet: Table, *, prefer: Prefer = "excel",
          private: Iterable[str] = (), allow_mass_delete: bool = False,
          excel_time: dt.datetime | None = None, sheet_time: dt.datetime | None = None,
          now: dt.datetime | None = None) -> Merged:
    """Merge the Excel side and the Sheet side of one tab against ``base``, the merged table
    of the last successful sync (None: the first sync). See the module docstring for the
    rules; ``excel_time`` and ``sheet_time`` (when each side was last changed) decide
    ``prefer="newer"`` and go into each conflict with ``now``.

    Raises :class:`ConflictStop` at a safety stop."""
    if prefer not in ("excel", "sheet", "newer"):
        raise ValueError(f"prefer must be 'excel', 'sheet' or 'newer', not {prefer!r}")
    key = fold_header(base.key_header if base is not None else excel.key_header)
    for table in (excel, sheet):
        if table.key != key:
            raise ValueError(f"both sides are keyed by {key!r}, not {table.key_header!r}")
    private_set = frozenset(fold_header(h) for h in private) - {key}
    _check_stops(base, excel, sheet, key, allow_mass_delete, private_set)

    kept: Side = prefer if prefer != "newer" else (  # type: ignore[assignment]
        "sheet" if excel_time and sheet_time and sheet_time > excel_time else "excel")
    order, text = _merge_headers(base, excel, sheet, private_set)
    hs = [h for h in order if h not in private_set]
    ps = [h for h in order if h in private_set]
    notes = [f"{_where('sheet', sheet)} has a column {h!r} that is private to the Excel "
             "workbook: it is left as it is and not synced." for h, f in
             zip(sheet.headers, sheet.columns, strict=True) if f in private_set]

    e_cols, s_cols = set(excel.columns), set(sheet.columns)
    b_cols = set(base.columns) if base is not None else set()
    # Rows of a side with the base's columns compare with the base's as whole dicts, in C: a
    # row that equals the base's on both sides (most rows, most runs) costs no more than that.
    e_whole = base is not None and e_cols == b_cols
    s_whole = base is not None and s_cols == b_cols - private_set
    pair_whole = e_cols - private_set == s_cols  # rows new on both sides, or no base
    n_sheet = len(s_cols)  # a dense row of the Sheet has this many cells
    blank = ("",) * len(hs)
    e_all = all(h in e_cols for h in hs)
    s_all = all(h in s_cols for h in hs)

    def side_tuple(cells: dict[str, Any], full: bool, have: set[str]) -> tuple:
        if full:
            return tuple(map(cells.get, hs, blank))
        return tuple(cells.get(h, "") if h in have else _ABSENT for h in hs)

    b_rows = base.rows if base is not None else {}
    e_rows, s_rows = excel.rows, sheet.rows
    s_get, b_get = s_rows.get, b_rows.get
    heads = range(len(hs))
    e_hs = [h for h in hs if h in e_cols]  # the merged columns each side has...
    s_hs = [h for h in hs if h in s_cols]
    e_blank, s_blank = ("",) * len(e_hs), ("",) * len(s_hs)
    e_lacks = [h for h in hs if h not in e_cols]  # ...and lacks
    e_lacking, s_lacks = set(e_lacks), set(hs) - s_cols
    # a row's cells in ``hs`` order, all at once (a KeyError: a sparse row)
    cells_of = itemgetter(*hs) if len(hs) > 1 else (lambda c: (c[hs[0]],))

    to_excel, to_sheet = Changes(), Changes()
    ew, sw = to_excel.set_cells, to_sheet.set_cells
    write = partial(tuple.__new__, CellWrite)  # CellWrite(...) without its Python __new__
    conflicts: list[Conflict] = []
    revived: list[Revived] = []
    rows: dict[str, Row] = {}
    untouched = 0  # rows the same on both sides as in the base

    def conflict(k: str, h: str, bv: Any, ev: Any, sv: Any) -> Any:
        """Record a conflict, queue the write to the side not kept; the kept value."""
        if kept == "excel":
            sw.append(CellWrite(k, h, ev, s_rows[k].position))
        else:
            ew.append(CellWrite(k, h, sv, e_rows[k].position))
        if h != key:  # one key spelt two ways is no conflict
            conflicts.append(Conflict(k, text[h], bv, ev, sv, kept, excel_time, sheet_time,
                                      now))
        return ev if kept == "excel" else sv

    def edited(now: tuple, before: tuple) -> bool:
        return any(v is not _ABSENT and _differs(v, b)
                   for v, b in zip(now, before, strict=True) if v != b)

    for k in _in_order(e_rows):
        erow = e_rows[k]
        ec = erow.cells
        srow = s_get(k)
        brow = b_get(k)
        if srow is None:  # new in Excel, or deleted on the Sheet
            et = side_tuple(ec, e_all, e_cols)
            cells = dict(ec)
            bt = tuple(map(brow.cells.get, hs, blank)) if brow is not None else blank
            if any(map(merge_text, bt)):  # the Sheet had it: deleted there
                if not (edited(et, bt) or any(_differs(ec.get(h, ""), brow.cells.get(h, ""))
                                              for h in ps)):
                    to_excel.delete_rows.append(RowDelete(k, erow.position))
                    continue
                revived.append(Revived(k, "sheet"))
            for i in heads:
                if et[i] is _ABSENT:
                    cells[hs[i]] = bt[i]
            shared = {h: v for h in hs if merge_text(v := cells.get(h, ""))}
            if shared:  # a row with private cells only is no row on the Sheet
                to_sheet.add_rows.append(RowAdd(k, shared))
            rows[k] = Row(erow.position, cells)
            continue

        sc = srow.cells
        cells = ec  # copied before the first change
        if brow is None:  # new on both sides, or no base: every difference is a conflict
            if pair_whole and len(sc) == n_sheet and sc.items() <= ec.items():
                rows[k] = erow
                continue
            et = side_tuple(ec, e_all, e_cols)
            st = side_tuple(sc, s_all, s_cols)
            for i in compress(heads, map(ne, et, st)):
                ev, sv = et[i], st[i]
                if ev is _ABSENT:
                    value = sv
                elif sv is not _ABSENT and _differs(ev, sv):
                    if not merge_text(ev):  # one side has nothing there: nothing to lose
                        ew.append(CellWrite(k, hs[i], sv, erow.position))
                        value = sv
                    elif not merge_text(sv):
                        sw.append(CellWrite(k, hs[i], ev, srow.position))
                        continue
                    else:
                        value = conflict(k, hs[i], None, ev, sv)
                else:
                    continue
                if cells is ec:
                    cells = dict(ec)
                cells[hs[i]] = value
            rows[k] = erow if cells is ec else Row(erow.position, cells)
            continue

        bc = brow.cells
        e_same = e_whole and ec == bc
        s_same = s_whole and len(sc) == n_sheet and sc.items() <= bc.items()
        if e_same and s_same:
            rows[k] = erow  # the same on both sides as at the last sync
            untouched += 1
            continue
        touched = bool(e_lacks)  # a cell either side changed, as cells compare
        if e_lacks:  # the merged row holds the column Excel lacks: the base's value...
            cells = dict(ec)
            cells.update((h, bc.get(h, "")) for h in e_lacks)
        # ...or the Sheet's, if it changed it. Below: the cells a side changed, as Python sees
        # them (found in C); then, of those, the ones it changed as cells compare.
        bt = None
        if e_same:
            changed: Iterable[str] = ()
        elif e_all:
            try:
                bt = cells_of(bc)
                changed = compress(hs, map(ne, cells_of(ec), bt))
            except KeyError:  # a sparse row
                bt = None
                changed = compress(hs, map(ne, map(ec.get, hs, blank), map(bc.get, hs, blank)))
        else:
            changed = compress(e_hs, map(ne, map(ec.get, e_hs, e_blank),
                                         map(bc.get, e_hs, e_blank)))
        for h in changed:
            ev, bv = ec.get(h, ""), bc.get(h, "")
            if h in s_lacks or not _differs(ev, bv):
                continue  # the Sheet gets the column back; or Excel changed nothing
            touched = True
            sv = sc.get(h, "")
            if not _differs(sv, bv):
                sw.append(write((k, h, ev, srow.position)))
            elif _differs(ev, sv):
                if cells is ec:
                    cells = dict(ec)
                cells[h] = conflict(k, h, bv, ev, sv)
            # else both made the same change
        if s_same:
            changed = ()
        elif s_all:
            try:
                changed = compress(hs, map(ne, cells_of(sc), bt or cells_of(bc)))
            except KeyError:
                changed = compress(hs, map(ne, map(sc.get, hs, blank), map(bc.get, hs, blank)))
        else:
            changed = compress(s_hs, map(ne, map(sc.get, s_hs, s_blank),
                                         map(bc.get, s_hs, s_blank)))
        for h in changed:
            sv, bv = sc.get(h, ""), bc.get(h, "")
            if not _differs(sv, bv):
                continue
            touched = True
            if h not in e_lacking:
                if _differs(ec.get(h, ""), bv):
                    continue  # both changed it: decided above
                ew.append(write((k, h, sv, erow.position)))
            if cells is ec:
                cells = dict(ec)
            cells[h] = sv
        rows[k] = erow if cells is ec else Row(erow.position, cells)
        if not touched and not (s_lacks and not s_same) \
                and not any(_differs(ec.get(h, ""), bc.get(h, "")) for h in ps):
            untouched += 1  # only how a value is typed changed (1 and 1.0, a day, ...)

    position = max((r.position for r in e_rows.values()), default=0)
    for k in _in_order({k: s_rows[k] for k in s_rows.keys() - e_rows.keys()}):
        srow = s_rows[k]
        st = side_tuple(srow.cells, s_all, s_cols)
        brow = b_get(k)
        bt = tuple(map(brow.cells.get, hs, blank)) if brow is not None else blank
        if brow is not None:  # deleted in Excel
            if not edited(st, bt):
                to_sheet.delete_rows.append(RowDelete(k, srow.position))
                continue
            revived.append(Revived(k, "excel"))
        cells = {h: (v if v is not _ABSENT else b)
                 for h, v, b in zip(hs, st, bt, strict=True)}
        cells.update((h, brow.cells.get(h, "") if brow is not None else "") for h in ps)
        to_excel.add_rows.append(RowAdd(k, {h: v for h, v in cells.items() if merge_text(v)}))
        position += 1
        rows[k] = Row(position, cells)

    # Columns a side lacks: added at its end, filled for the rows it keeps.
    for changes, side_rows, have, cols in ((to_excel, e_rows, e_cols, order),
                                           (to_sheet, s_rows, s_cols, hs)):
        missing = [h for h in cols if h not in have]
        if not missing:
            continue
        changes.add_columns.extend(text[h] for h in missing)
        for k, row in rows.items():
            if k in side_rows:  # the rows added to the side have all their cells
                for h in missing:
                    if merge_text(v := row.cells.get(h, "")):
                        changes.set_cells.append(CellWrite(k, h, v, side_rows[k].position))

    return Merged(
        key_header=base.key_header if base is not None else excel.key_header,
        headers=[text[h] for h in order], rows=rows, conflicts=conflicts,
        to_excel=to_excel, to_sheet=to_sheet, revived=revived,
        unkeyed=[k for k in rows if k.startswith(PROVISIONAL)], private=private_set,
        notes=notes,
        same_as_base=base is not None and untouched == len(b_rows) == len(rows)
        and list(base.headers) == [text[h] for h in order])
