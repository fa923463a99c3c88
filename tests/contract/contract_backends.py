"""Every backend the contract suite runs against, behind one small test-side interface.

A :class:`Factory` makes a backend holding a book, reads its sheets back as normalised cells,
makes a person's edits in it, says which rows a spreadsheet would highlight at a moment, and
takes a fingerprint of everything it holds (to prove a run wrote nothing). Adding a backend (a
Google Sheet through a local Sheets API stand-in, next) is adding one factory to
:data:`FACTORIES`; every contract test then runs against it too.

Cells are normalised so that the backends compare equal: an empty cell (None, "") is ``""``,
a whole float an int, a datetime is cut to the minute, trailing empty cells and rows are
dropped. A cell holding a *formula* is a :class:`Formula`, never a str, so text written as a
formula is a difference.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from highlighting import matches, rules
from openpyxl import Workbook, load_workbook

from forecourt.engine import COLOURS
from forecourt.sync.grid import GridBackend
from forecourt.sync.xlsx import XlsxBackend

Rows = list[list[Any]]
Highlighter = Callable[[int, dt.datetime], frozenset[str]]
KIND_OF_FILL = {fill.upper(): kind for kind, (fill, _font) in COLOURS.items()}


@dataclass(frozen=True)
class Formula:
    """A cell that holds a formula (what untrusted text must never become)."""

    text: str


def norm(value: Any) -> Any:
    """One cell as every backend's cells compare."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, str) and value == ""):
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if value != value:
            return ""
        return int(value) if value.is_integer() else value
    if isinstance(value, dt.datetime):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return value


def tidy(rows: Rows) -> Rows:
    """Rows normalised, without trailing empty cells or rows."""
    out = []
    for row in rows:
        cells = [norm(v) for v in row]
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


class Factory(Protocol):
    """The test side of one kind of backend."""

    kind: str

    def make(self, sheets: dict[str, Rows], where: Path) -> Any:
        """A new backend holding ``sheets`` (its files, if any, in ``where``)."""

    def reopen(self, backend: Any) -> Any:
        """The backend a later run would get for the same workbook."""

    def sheets(self, backend: Any) -> dict[str, Rows]:
        """Every sheet's committed cells, normalised, in the workbook's order."""

    def edit(self, backend: Any, sheet: str, cells: dict[tuple[int, str], Any]) -> None:
        """A person's edits, (row, column letter) -> value, saved as a person saves them."""

    def highlighter(self, backend: Any, sheet: str) -> Highlighter:
        """(row, now) -> the kinds of highlighting that row shows at that moment."""

    def fingerprint(self, backend: Any) -> Any:
        """Everything the workbook holds, to compare before and after a run."""

    def links(self, backend: Any, sheet: str) -> dict[tuple[int, str], str]:
        """(row, column letter) -> the cell reference a cell of ``sheet`` links to."""

    def widths(self, backend: Any, sheet: str, columns: list[str]) -> dict[str, float]:
        """The widths of ``columns`` of ``sheet``."""


# .xlsx ------------------------------------------------------------------------------------------

def write_xlsx(path: Path, sheets: dict[str, Rows]) -> Path:
    """The book as an .xlsx written with openpyxl: datetimes as real dates, text starting with
    ``=`` as text (a shared string), empty cells left out."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                if value is not None and value != "":
                    _put_text_safe(ws.cell(row=r, column=c), value)
    wb.save(path)
    return path


def _put_text_safe(target: Any, value: Any) -> None:
    target.value = value
    if isinstance(value, str) and value.startswith("="):
        target.data_type = "s"  # openpyxl would store it as a formula


def _xlsx_value(c: Any) -> Any:
    if c.data_type == "f":
        return Formula(str(c.value))
    return c.value


class XlsxFactory:
    kind = "xlsx"

    def make(self, sheets: dict[str, Rows], where: Path) -> XlsxBackend:
        where.mkdir(parents=True, exist_ok=True)
        return XlsxBackend(write_xlsx(where / "book.xlsx", sheets))

    def reopen(self, backend: XlsxBackend) -> XlsxBackend:
        return XlsxBackend(backend.path)

    def sheets(self, backend: XlsxBackend) -> dict[str, Rows]:
        wb = load_workbook(backend.path, data_only=False)
        try:
            return {ws.title: tidy([[_xlsx_value(c) for c in row] for row in ws.iter_rows()])
                    for ws in wb.worksheets}
        finally:
            wb.close()

    def edit(self, backend: XlsxBackend, sheet: str, cells: dict[tuple[int, str], Any]) -> None:
        wb = load_workbook(backend.path)
        ws = wb[sheet]
        for (row, column), value in cells.items():
            _put_text_safe(ws[f"{column}{row}"], None if value == "" else value)
        wb.save(backend.path)

    def highlighter(self, backend: XlsxBackend, sheet: str) -> Highlighter:
        ws = load_workbook(backend.path)[sheet]
        found = rules(ws)

        def kinds(row: int, now: dt.datetime) -> frozenset[str]:
            return frozenset(KIND_OF_FILL.get((r.fill or "").upper(), f"fill {r.fill}")
                             for r in found if r.covers(row) and matches(r, ws, row, now))

        return kinds

    def fingerprint(self, backend: XlsxBackend) -> bytes:
        return backend.path.read_bytes()

    def links(self, backend: XlsxBackend, sheet: str) -> dict[tuple[int, str], str]:
        ws = load_workbook(backend.path)[sheet]
        return {(c.row, c.column_letter): c.hyperlink.location
                for row in ws.iter_rows() for c in row if c.hyperlink is not None}

    def widths(self, backend: XlsxBackend, sheet: str, columns: list[str]) -> dict[str, float]:
        ws = load_workbook(backend.path)[sheet]
        return {c: ws.column_dimensions[c].width for c in columns}


# grids in memory --------------------------------------------------------------------------------

class GridFactory:
    kind = "grid"

    def make(self, sheets: dict[str, Rows], where: Path) -> GridBackend:
        grids = {name: [["" if v is None else v for v in row] for row in rows]
                 for name, rows in sheets.items()}
        return GridBackend(grids, name=f"contract-{where.name}")

    def reopen(self, backend: GridBackend) -> GridBackend:
        return backend  # its memory lives in the object

    def sheets(self, backend: GridBackend) -> dict[str, Rows]:
        return {name: tidy(rows) for name, rows in backend.sheets.items()}

    def edit(self, backend: GridBackend, sheet: str, cells: dict[tuple[int, str], Any]) -> None:
        for (row, column), value in cells.items():
            backend.edit(sheet, row, column, "" if value is None else value)

    def highlighter(self, backend: GridBackend, sheet: str) -> Highlighter:
        return lambda row, now: frozenset(backend.highlighted(sheet, row, now))

    def fingerprint(self, backend: GridBackend) -> Any:
        return (backend.revision, copy.deepcopy(backend.sheets),
                {name: backend.highlights(name) for name in backend.sheets})

    def links(self, backend: GridBackend, sheet: str) -> dict[tuple[int, str], str]:
        return {k: str(v) for k, v in backend.links(sheet).items()}

    def widths(self, backend: GridBackend, sheet: str, columns: list[str]) -> dict[str, float]:
        return {c: backend.widths(sheet).get(c) for c in columns}


FACTORIES: dict[str, Factory] = {"xlsx": XlsxFactory(), "grid": GridFactory()}
KINDS = tuple(FACTORIES)


# Runs and plans -------------------------------------------------------------------------------

def apply_plan(backend: Any, plan: Any, *, read: bool = True) -> tuple[Any, Any]:
    """A plan applied the way the engine applies one: a writing session, (a read), apply,
    commit. Returns (Applied, Committed)."""
    with backend.session(write=True):
        if read:
            backend.read()
        applied = backend.apply(plan)
        committed = backend.commit()
    return applied, committed


def _array(values: np.ndarray) -> tuple[str, list[Any]]:
    return str(values.dtype), values.tolist()


def plan_data(plan: Any) -> Any:
    """Everything a plan says, as plain nested values (a Plan compares by identity)."""
    edits = [(e.sheet, e.header_row, e.key_column, e.new_columns,
              [(c.column, _array(c.keys), _array(c.rows), _array(c.values), _array(c.expected))
               for c in e.columns],
              [(a.columns, a.keys, a.values) for a in e.appends], e.highlights)
             for e in plan.edits]
    sheets = [(s.name, copy.deepcopy(s.rows), dict(s.links), dict(s.widths), s.bold_rows,
               dict(s.formats), s.charts, s.freeze_row) for s in plan.sheets]
    return edits, sheets, plan.revision


def differences(a: dict[str, Rows], b: dict[str, Rows], names: tuple[str, str]) -> list[str]:
    """Every cell where two workbooks' sheets differ, as readable lines."""
    out = []
    if list(a) != list(b):
        out.append(f"sheets: {names[0]} {list(a)} != {names[1]} {list(b)}")
    for sheet in a:
        if sheet not in b:
            continue
        ra, rb = a[sheet], b[sheet]
        for i in range(max(len(ra), len(rb))):
            xa = ra[i] if i < len(ra) else []
            xb = rb[i] if i < len(rb) else []
            for j in range(max(len(xa), len(xb))):
                va = xa[j] if j < len(xa) else ""
                vb = xb[j] if j < len(xb) else ""
                if va != vb or type(va) is not type(vb):
                    out.append(f"{sheet}!{_letter(j)}{i + 1}: {names[0]} {va!r} != "
                               f"{names[1]} {vb!r}")
    return out


def _letter(j: int) -> str:
    out, j = "", j + 1
    while j:
        j, rem = divmod(j - 1, 26)
        out = chr(65 + rem) + out
    return out
