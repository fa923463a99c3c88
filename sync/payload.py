"""A workbook sent by a spreadsheet's add-in: the payload xlwings' open-source clients POST (the
VBA module ``Remote.bas``, the Apps Script ``xlwings.js``, the Office Script ``xlwings.ts``),
and the actions they apply in return.

:class:`PayloadBackend` is one more backend. It reads the payload's sheets as grids, stages a
plan like :class:`~forecourt.sync.grid.GridBackend` (which it is, with the payload's identity),
and on commit turns what changed into the clients' actions: ``setValues`` for the cells that
differ, ``addSheet`` for a sheet the plan adds, ``setNumberFormat`` for dates, ``setRangeColor``
for the rows the highlighting rules flag now. Only :data:`ALLOWED` actions are ever emitted: the
VBA client runs any macro and the Apps Script client any global function the server names.

What the clients send (read from xlwings 0.37.8's client sources):

- values from A1 to the last used cell; an empty cell is ``null`` (VBA) or ``""`` (JS, TS);
- a date as an ISO text ending in ``Z`` that is really the workbook's wall-clock time;
- a sheet left out (``include``/``exclude``) still listed, with empty values, except that the
  Office Script sends it with the previous sheet's values: the values of a sheet not in
  ``sent`` are never read.

What the clients do with values they are sent: each parses text as a person's typing (a text
starting with ``=`` becomes a formula; ``0171 234`` a number; ``2026-12-07`` a date), so text
that would be read as anything else is sent behind a ``'``, which every client keeps as text.
Dates are sent as serial numbers with a date format: the one form all three store alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forecourt.errors import UnreadableWorkbook
from forecourt.plan import GeneratedSheet, Plan
from forecourt.sync.backend import Applied, Capabilities, Committed, WorkbookId
from forecourt.sync.base import Tab, Tabs, column_index, fold_key, is_generated, serial
from forecourt.sync.grid import GridBackend

#: the actions the server may emit: those all three clients implement alike
ALLOWED = ("setValues", "rangeClearContents", "setRangeColor", "setNumberFormat", "addSheet")
CLIENTS = ("VBA", "Google Apps Script", "Microsoft Office Scripts")
DATE_FORMAT = "yyyy-mm-dd hh:mm"
NO_FILL = "#FFFFFF"

# (the VBA client writes the time with the PC's time separator: "." in some locales)
_ISO_Z = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d)[:.](\d\d)[:.](\d\d)(?:\.(\d{1,6}))?Z$")
# text a spreadsheet would take for a formula, number, date, time or truth value when written
# (first characters also as NFKC makes them: a full-width "＝" is "=" to some spreadsheets;
# "&H7-1-1" is a number to VBA's CInt, and so a date to the VBA client's setValues)
_PARSED = re.compile(r"^(?:[\s=+\-@'#&\d.,(%$€£]|(?:true|false|wahr|falsch|prawda|fałsz)\s*$"
                     r"|[^\W\d_]{3,9}\.?[\s\-/]+\d)", re.IGNORECASE)


class PayloadError(UnreadableWorkbook):
    """A request that is not a workbook payload of one of the clients."""


def as_text(value: str) -> str:
    """``value`` as a client writes it as text (see the module docstring)."""
    parsed = _PARSED.match(value) or _PARSED.match(unicodedata.normalize("NFKC", value[:12]))
    return "'" + value if parsed else value


def cell_value(value: Any) -> Any:
    """A payload cell as the engine reads it: ``""`` for empty, a wall-clock datetime for a
    date, the value otherwise."""
    if value is None:
        return ""
    if isinstance(value, str):
        m = _ISO_Z.match(value)
        if m:
            y, mo, d, h, mi, s, frac = m.groups()
            try:
                return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s),
                                   int((frac or "0").ljust(6, "0")))
            except ValueError:
                return value
        return value
    if isinstance(value, bool | int | float):
        return value
    return str(value)


def _grid(values: Any, where: str) -> list[list[Any]]:
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        raise PayloadError(f"{where}: its values are not rows of cells; nothing was written.")
    rows = [[cell_value(v) for v in r] for r in values]
    while rows and all(v == "" for v in rows[-1]):
        rows.pop()
    return rows


@dataclass(frozen=True)
class Request:
    """A client's payload, checked: the workbook's name, the client, and its sheets."""

    client: str
    book: str
    sheets: list[tuple[str, list[list[Any]] | None]]  # None: values not sent

    @classmethod
    def parse(cls, payload: Any, sent: Collection[str] | None = None) -> Request:
        if not isinstance(payload, dict) or not isinstance(payload.get("sheets"), list) \
                or not isinstance(payload.get("book"), dict):
            raise PayloadError("The request is not a workbook sent by the forecourt menu "
                               "(it has no book and sheets); nothing was written.")
        client = str(payload.get("client", ""))
        book = str(payload["book"].get("name") or "workbook")
        sheets: list[tuple[str, list[list[Any]] | None]] = []
        for s in payload["sheets"]:
            if not isinstance(s, dict) or not isinstance(s.get("name"), str):
                raise PayloadError(f"A sheet of {book} has no name in the request; "
                                   "nothing was written.")
            name = s["name"]
            values = _grid(s.get("values", [[]]), f"sheet {name!r} of {book}") \
                if sent is None or name in sent else None
            sheets.append((name, values))
        if len({n for n, _ in sheets}) != len(sheets):
            raise PayloadError(f"{book} lists a sheet twice in the request; nothing was "
                               "written.")
        return cls(client, book, sheets)


class PayloadBackend(GridBackend):
    """The workbook of one request (see the module docstring). After :meth:`commit`,
    :meth:`answer` is the answer to send."""

    capabilities = Capabilities(live_highlighting=False, links=False, charts=False,
                                number_formats=True, widths=False, max_cells=None,
                                atomic_commit=True)

    def __init__(self, request: Request, *, key: str | None = None,
                 colours: Path | None = None) -> None:
        super().__init__({n: v or [] for n, v in request.sheets}, name=request.book)
        self.identity = WorkbookId("payload", key or request.book)
        self.store = None  # the engine's memory: the caller's store (see forecourt.serve)
        self.request = request
        self.unsent = {n for n, v in request.sheets if v is None}
        self.colours = colours
        self.key_columns: dict[str, int] = {}
        #: the columns a plan adds: every cell of them is forecourt's to write
        self.new_columns: dict[str, set[int]] = {}
        # what the client holds: apply stages a copy and commit swaps it in, so this state
        # is never changed
        self._read_state = self._state

    def read(self, progress: Any = None, while_waiting: Any = None) -> Tabs:
        tabs = [Tab(name, [list(r) for r in rows]) for name, rows in self.sheets.items()
                if name not in self.unsent]
        return Tabs(self.identity.key, tabs, kind="payload", identity=self.identity,
                    revision=self.revision)

    def commit(self, before: Any = None) -> Committed:
        staged = self._staged
        clash = sorted(n for n in (staged.sheets if staged else ()) if n in self.unsent
                       and n in staged.generated)
        if clash:
            raise PayloadError(f"the sheet {clash[0]!r} of {self.request.book} was not sent, "
                               "so forecourt cannot rewrite it; run again (the menu then "
                               "sends every sheet).")
        return super().commit(before)

    def apply(self, plan: Plan, progress: Any = None) -> Applied:
        self.key_columns = {e.sheet: column_index(e.key_column) for e in plan.edits
                            if e.key_column}
        self.new_columns = {e.sheet: {column_index(c.column) for c in e.new_columns}
                            for e in plan.edits}
        return super().apply(plan, progress)

    def _put_generated(self, staged: Any, sheet: GeneratedSheet) -> str:
        """As in a grid, but sheet names compared as the spreadsheets compare them, without
        regard to case: a dealer's own "kpi" tab keeps its name and content, and forecourt's
        goes to "KPI (forecourt)" (Excel and Google refuse a second "KPI")."""
        taken = {n.casefold(): n for n in staged.sheets}
        name = sheet.name
        for candidate in (sheet.name, f"{sheet.name} (forecourt)"):
            found = taken.get(candidate.casefold())
            if found is None or found in staged.generated \
                    or is_generated(Tab(found, staged.sheets[found])):
                name = found or candidate
                break
        return super()._put_generated(staged, dataclasses.replace(sheet, name=name))

    def answer(self, now: dt.datetime) -> list[dict[str, Any]]:
        """The actions that make the client's workbook what the committed plan made of it,
        its rows highlighted as at ``now`` (the run's clock)."""
        return _Actions(self, now).build(self._read_state, self._state)


@dataclass
class _Block:
    row: int  # 0-based
    col: int
    values: list[list[Any]]


def _blocks(cells: Mapping[tuple[int, int], Any]) -> list[_Block]:
    """Cells (0-based row, col) -> value grouped into rectangles: runs of adjacent columns in
    a row, and rows below with the same run stacked onto it."""
    runs: dict[int, list[tuple[int, list[Any]]]] = {}
    for (r, c) in sorted(cells):
        row_runs = runs.setdefault(r, [])
        if row_runs and row_runs[-1][0] + len(row_runs[-1][1]) == c:
            row_runs[-1][1].append(cells[r, c])
        else:
            row_runs.append((c, [cells[r, c]]))
    open_: dict[tuple[int, int], _Block] = {}  # (col, width) -> block ending at the row above
    out: list[_Block] = []
    for r in sorted(runs):
        still: dict[tuple[int, int], _Block] = {}
        for c, vals in runs[r]:
            block = open_.get((c, len(vals)))
            if block is not None and block.row + len(block.values) == r:
                block.values.append(vals)
            else:
                block = _Block(r, c, [vals])
                out.append(block)
            still[(c, len(vals))] = block
        open_ = still
    return out


#: a new Google sheet's grid: a range past it makes Apps Script throw, and no action all the
#: clients share can grow it (the menu's script grows the dealer's tabs before it sends)
GOOGLE_ROWS, GOOGLE_COLUMNS = 1000, 26


def _fits_google(grid: list[list[Any]]) -> list[list[Any]]:
    """A generated sheet cut to a new Google sheet's grid, its last row saying so."""
    grid = [row[:GOOGLE_COLUMNS] for row in grid]
    if len(grid) <= GOOGLE_ROWS:
        return grid
    rest = len(grid) - GOOGLE_ROWS + 1
    return [*grid[:GOOGLE_ROWS - 1],
            [f"… and {rest} more rows: `forecourt check` lists them all"]]


def _wire(value: Any) -> Any:
    """A value as sent: dates as serial numbers, text kept text (:func:`as_text`), and no
    number longer than 16 characters (the VBA client's JSON reader keeps a longer one as
    text): a date's serial to 10 decimals (within a microsecond: a moment read back a few
    milliseconds early would read as the minute before), other numbers to 12 digits."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return round(serial(value), 10)
    if isinstance(value, str):
        return as_text(value)
    if isinstance(value, float):
        return "" if value != value else float(f"{value:.12g}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return str(value)
    return value


def _at(row: list[Any], j: int) -> Any:
    return row[j] if j < len(row) else ""


def _width(grid: list[list[Any]]) -> int:
    return max((len(r) for r in grid), default=0)


def _same(a: Any, b: Any) -> bool:
    """Whether a cell the client sent as ``a`` holds ``b`` already. A moment can come as its
    serial number: the Office Script sends a date as a number when its format is not one of
    Excel's own date formats (the one forecourt sets, for one)."""
    if isinstance(b, dt.datetime) and isinstance(a, int | float) and not isinstance(a, bool):
        return abs(serial(b) - a) < 1e-6
    return type(a) is type(b) and a == b or (a in ("", None) and b in ("", None))


class _Actions:
    def __init__(self, backend: PayloadBackend, now: dt.datetime) -> None:
        self.backend = backend
        self.now = now
        self.out: list[dict[str, Any]] = []

    def action(self, func: str, position: int, row: int = 0, col: int = 0, rows: int = 1,
               cols: int = 1, args: Iterable[Any] = (), values: Any = None) -> None:
        assert func in ALLOWED, func
        self.out.append({"func": func, "args": list(args),
                         "values": values if values is not None else [[]],
                         "sheet_position": position, "start_row": row, "start_column": col,
                         "row_count": rows, "column_count": cols})

    def build(self, before: Any, after: Any) -> list[dict[str, Any]]:
        order = [n for n, _ in self.backend.request.sheets]
        for name in after.sheets:
            if name not in order:
                self.add_sheet(len(order), name)
                order.append(name)
        for position, name in enumerate(order):
            if name in self.backend.unsent and name not in after.generated:
                continue
            old = before.sheets.get(name, [])
            new = after.sheets.get(name, [])
            if name in after.generated and self.backend.request.client == "Google Apps Script":
                new = _fits_google(new)
            owned = set(range(_width(new))) if name in after.generated \
                else self.backend.new_columns.get(name, set())
            changed = self.values(position, old, new, owned)
            self.formats(position, name, old, new, after, owned, changed)
        self.colour(order, after)
        return self.out

    def add_sheet(self, count: int, name: str) -> None:
        """A sheet added after the last one: ``addSheet`` with the number of sheets. (The VBA
        client adds the sheet before the active one, then moves it after the sheet at that
        0-based index + 1, counting the new one: the last; the others insert at that index:
        the end.)"""
        self.action("addSheet", 0, args=[count, name])

    def values(self, position: int, old: list[list[Any]], new: list[list[Any]],
               owned: set[int]) -> dict[tuple[int, int], Any]:
        """The cells that changed; in the columns forecourt owns, every cell from the first
        changed row to the last, so that they go as a few large blocks (a 10k-row sheet
        would otherwise take one action per row, and the VBA client runs each)."""
        changed: dict[tuple[int, int], Any] = {}
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else []
            b = new[i] if i < len(new) else []
            for j in range(max(len(a), len(b))):
                if not _same(_at(a, j), _at(b, j)):
                    changed[i, j] = _wire(_at(b, j))
        self.blocks("setValues", position, changed, owned,
                    lambda i, j: _wire(_at(new[i] if i < len(new) else [], j)))
        return changed

    def blocks(self, func: str, position: int, cells: dict[tuple[int, int], Any],
               owned: set[int], fill: Callable[[int, int], Any],
               args: list[Any] | None = None) -> None:
        """``func`` over ``cells`` (0-based row, column -> value) as rectangles; in the
        ``owned`` columns, adjacent ones together, from their first cell to their last, the
        cells between taking ``fill(row, column)``."""
        rest = {c: v for c, v in cells.items() if c[1] not in owned}
        blocks = _blocks(rest)
        mine = sorted({j for _, j in cells if j in owned})
        groups: list[list[int]] = []
        for j in mine:
            if groups and groups[-1][-1] == j - 1:
                groups[-1].append(j)
            else:
                groups.append([j])
        for group in groups:
            rows = [i for i, j in cells if j in group]
            top, bottom = min(rows), max(rows)
            blocks.append(_Block(top, group[0], [
                [cells[i, j] if (i, j) in cells else fill(i, j) for j in group]
                for i in range(top, bottom + 1)]))
        for block in blocks:
            self.action(func, position, block.row, block.col, len(block.values),
                        len(block.values[0]), args=args or (),
                        values=block.values if args is None else None)

    def formats(self, position: int, name: str, old: list[list[Any]],
                new: list[list[Any]], after: Any, owned: set[int],
                changed: dict[tuple[int, int], Any]) -> None:
        """A date format on the dates written where no date was (a cell holding a date has
        a date format already); a generated sheet's column formats on the cells written."""
        fmt: dict[tuple[int, int], str] = {}
        for i, row in enumerate(new):
            a = old[i] if i < len(old) else []
            for j, v in enumerate(row):
                if isinstance(v, dt.datetime | dt.date) and not isinstance(
                        _at(a, j), dt.datetime | dt.date):
                    fmt[i, j] = DATE_FORMAT
        for letter, code in after.formats.get(name, {}).items() \
                if name in after.generated else ():
            j = column_index(letter)
            for i, row in enumerate(new):
                v = _at(row, j)
                if (i, j) in changed and isinstance(v, int | float | dt.datetime) \
                        and not isinstance(v, bool):
                    fmt[i, j] = code
        for code in sorted(set(fmt.values())):
            cells = {c: code for c, f in fmt.items() if f == code}
            for j in {j for _, j in cells} - owned:  # bridge the empty cells of a column
                rows = sorted(i for i, jj in cells if jj == j)
                for i1, i2 in itertools.pairwise(rows):
                    if all(_at(new[i], j) == "" for i in range(i1 + 1, i2)):
                        cells.update({(i, j): code for i in range(i1 + 1, i2)})
            self.blocks("setNumberFormat", position, cells, owned, lambda i, j: "",
                        args=[code])

    def colour(self, order: list[str], after: Any) -> None:
        """The rows the highlighting rules flag now, filled; rows forecourt filled last time
        and no longer flagged, white again (remembered by key: the clients cannot say what
        fill a cell has)."""
        backend = self.backend
        if not after.highlights:
            return
        now = self.now
        remembered = _load_colours(backend.colours)
        seen: dict[str, list[str]] = {}
        for name, rules in after.highlights.items():
            if not rules:
                continue
            position = order.index(name)
            key_j = backend.key_columns.get(name)
            grid = after.sheets[name]
            last_col = max(column_index(r.last_column) for r in rules)
            fills: dict[int, str] = {}

            def index(letter: str | None) -> int | None:
                return None if letter is None else column_index(letter)
            columns = [(r, index(r.due), index(r.status), index(r.status_since),
                        index(r.state)) for r in rules]
            for row in range(min(r.first_row for r in rules),
                             max(r.last_row for r in rules) + 1):
                cells = grid[row - 1] if row <= len(grid) else []
                for rule, due, status, since, state in columns:  # the first rule that applies
                    if rule.first_row <= row <= rule.last_row and rule.applies(
                            *(None if j is None else _at(cells, j)
                              for j in (due, status, since, state)), now):
                        fills[row] = "#" + rule.fill.lstrip("#").upper()
                        break
            keys = {}
            for row in range(1, len(grid) + 1):
                key = fold_key(grid[row - 1][key_j]) if key_j is not None \
                    and key_j < len(grid[row - 1]) else ""
                if key:
                    keys[key] = row
            flagged = {k for k, r in keys.items() if r in fills}
            for key in remembered.get(name, ()):
                row = keys.get(key)
                if row is not None and row not in fills:
                    fills[row] = NO_FILL
            seen[name] = sorted(flagged)
            for fill, rows in _runs(fills):
                self.action("setRangeColor", position, rows[0] - 1, 0, len(rows),
                            last_col + 1, args=[fill])
        _save_colours(backend.colours, seen)


def _runs(fills: Mapping[int, str]) -> list[tuple[str, list[int]]]:
    out: list[tuple[str, list[int]]] = []
    for row in sorted(fills):
        if out and out[-1][0] == fills[row] and out[-1][1][-1] == row - 1:
            out[-1][1].append(row)
        else:
            out.append((fills[row], [row]))
    return out


def _load_colours(path: Path | None) -> dict[str, list[str]]:
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_colours(path: Path | None, seen: dict[str, list[str]]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(seen), encoding="utf-8")
    tmp.replace(path)
