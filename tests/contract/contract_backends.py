"""Every backend the contract suite runs against, behind one small test-side interface.

A :class:`Factory` makes a backend holding a book, reads its sheets back as normalised cells,
makes a person's edits in it, says which rows a spreadsheet would highlight at a moment, and
takes a fingerprint of everything it holds (to prove a run wrote nothing). Adding a backend is
adding one factory to :data:`FACTORIES`; every contract test then runs against it too. Three
today: an .xlsx file, grids in memory, and a Google Sheet through the local Sheets API
stand-in (``tests/sheets_standin.py``, one server a session: ``tests/sheets_fixtures.py``).

Cells are normalised so that the backends compare equal: an empty cell (None, "") is ``""``,
a whole float an int, a datetime is cut to the minute, trailing empty cells and rows are
dropped. A cell holding a *formula* is a :class:`Formula`, never a str, so text written as a
formula is a difference.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import sheets_fixtures
from highlighting import Rule, matches, rules
from openpyxl import Workbook, load_workbook

from forecourt.engine import COLOURS
from forecourt.sync.base import quote_sheet
from forecourt.sync.grid import GridBackend
from forecourt.sync.sheets import DATE_TIME_PATTERN, SheetsBackend
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


# a Google Sheet through the local stand-in -----------------------------------------------------

#: what the factory reads of every tab: cells as typed (a formula's text, a number's format
#: type tells a moment from a number) and the columns' pixel widths
GRID_FIELDS = ("sheets(properties(sheetId,title,index),data(rowData(values(userEnteredValue,"
               "userEnteredFormat(numberFormat(type)))),columnMetadata(pixelSize)))")
RULE_FIELDS = "sheets(properties(title,sheetId),conditionalFormats)"
MOMENT_TYPES = {"DATE", "DATE_TIME"}
#: a HYPERLINK formula: its target and its label
HYPERLINK = re.compile(r'=HYPERLINK\(\s*"((?:[^"]|"")*)"\s*'
                       r'(?:[,;]\s*"((?:[^"]|"")*)"\s*)?\)', re.IGNORECASE)
#: a link to a cell of the spreadsheet, as Sheets writes it
CELL_LINK = re.compile(r"#gid=(\d+)&range=([A-Z]+\d+)")


@dataclass
class _Tab:
    """One tab as the API holds it: its cells (formulas as formulas), widths in pixels."""

    sheet_id: int
    title: str
    cells: list[list[dict[str, Any]]]
    pixels: list[int]


def _hyperlink(cell: dict[str, Any]) -> tuple[str, str] | None:
    """(target, label) of a cell holding a link to a cell of the spreadsheet."""
    formula = (cell.get("userEnteredValue") or {}).get("formulaValue")
    m = HYPERLINK.fullmatch(formula.strip()) if isinstance(formula, str) else None
    if m is None or not CELL_LINK.fullmatch(m.group(1)):
        return None
    target = m.group(1).replace('""', '"')
    return target, (m.group(2) if m.group(2) is not None else m.group(1)).replace('""', '"')


def _sheet_value(cell: dict[str, Any]) -> Any:
    """One cell as the other backends hold it: a moment for a number formatted as a date, a
    link's label for a link to a cell, a :class:`Formula` for any other formula."""
    entered = cell.get("userEnteredValue") or {}
    if "formulaValue" in entered:
        link = _hyperlink(cell)
        return link[1] if link is not None else Formula(entered["formulaValue"])
    if "numberValue" in entered:
        number = entered["numberValue"]
        kind = ((cell.get("userEnteredFormat") or {}).get("numberFormat") or {}).get("type")
        return sheets_fixtures.from_serial(number) if kind in MOMENT_TYPES else number
    if "boolValue" in entered:
        return bool(entered["boolValue"])
    if "stringValue" in entered:
        return entered["stringValue"]
    if entered:
        raise AssertionError(f"a cell the factory cannot read: {cell}")
    return None


def _grid_range(gr: dict[str, Any]) -> str:
    """A GridRange in A1 notation (bounds the API leaves out are the grid's edges)."""
    top, bottom = gr.get("startRowIndex", 0) + 1, gr.get("endRowIndex", 1_048_576)
    left, right = gr.get("startColumnIndex", 0), gr.get("endColumnIndex", 18_278)
    return f"{_letter(left)}{top}:{_letter(right - 1)}{bottom}"


def _hex(colour: dict[str, Any] | None) -> str | None:
    if not colour:
        return None
    return "".join(f"{round(colour.get(k, 0) * 255):02X}" for k in ("red", "green", "blue"))


class _Cells:
    """A worksheet-like view of a tab's values (``.cell(row, column).value``) for
    ``tests/highlighting.py``: moments as datetimes, numbers as numbers."""

    @dataclass(frozen=True)
    class _Cell:
        value: Any

    def __init__(self, rows: Rows) -> None:
        self.rows = rows

    def cell(self, row: int, column: int) -> _Cell:
        values = self.rows[row - 1] if 0 < row <= len(self.rows) else []
        return self._Cell(values[column - 1] if 0 < column <= len(values) else None)


class SheetsFactory:
    """A Google Sheet made with gspread in the session's Sheets API stand-in; read back
    through the API as a person's browser would show it."""

    kind = "sheet"

    @property
    def standin(self) -> sheets_fixtures.StandIn:
        return sheets_fixtures.shared()

    def make(self, sheets: dict[str, Rows], where: Path) -> SheetsBackend:
        """One tab per sheet (the first tab renamed), values written RAW (text starting with
        ``=`` stays text), moments as serial numbers formatted as dates and times."""
        client = self.standin.client
        book = client.create(f"contract {where.name}")
        first = book.sheet1.id
        requests: list[dict[str, Any]] = []
        data = []
        for k, (title, rows) in enumerate(sheets.items()):
            sheet_id = first if k == 0 else k
            grid = {"rowCount": max(1000, len(rows)),
                    "columnCount": max([26] + [len(r) for r in rows])}
            if k == 0:
                requests.append({"updateSheetProperties": {
                    "properties": {"sheetId": first, "title": title, "gridProperties": grid},
                    "fields": "title,gridProperties(rowCount,columnCount)"}})
            else:
                requests.append({"addSheet": {"properties": {
                    "sheetId": sheet_id, "title": title, "index": k, "gridProperties": grid}}})
            values = []
            for r, row in enumerate(rows):
                line = []
                for c, value in enumerate(row):
                    if isinstance(value, dt.date):
                        requests.append(_moment_format(sheet_id, r + 1, c))
                        value = sheets_fixtures.to_serial(value)
                    line.append(None if value == "" else value)
                values.append(line)
            if values:
                data.append({"range": f"{quote_sheet(title)}!A1", "majorDimension": "ROWS",
                             "values": values})
        book.batch_update({"requests": requests})
        book.values_batch_update({"valueInputOption": "RAW", "data": data})
        return SheetsBackend(book.id, client=client)

    def reopen(self, backend: SheetsBackend) -> SheetsBackend:
        return SheetsBackend(backend.id, client=backend.client)

    def tabs(self, backend: SheetsBackend) -> list[_Tab]:
        """Every tab's cells as typed and its columns' widths, in the spreadsheet's order."""
        found = self.standin.api("get", f"/{backend.id}",
                                 params={"includeGridData": "true", "fields": GRID_FIELDS})
        out = []
        for sheet in sorted(found.get("sheets", []),
                            key=lambda s: s["properties"].get("index", 0)):
            data = (sheet.get("data") or [{}])[0]
            out.append(_Tab(sheet["properties"].get("sheetId", 0), sheet["properties"]["title"],
                            [row.get("values", []) for row in data.get("rowData", [])],
                            [m.get("pixelSize", 100) for m in data.get("columnMetadata", [])]))
        return out

    def _values(self, backend: SheetsBackend, sheet: str) -> Rows:
        tab = next(t for t in self.tabs(backend) if t.title == sheet)
        return [[_sheet_value(c) for c in row] for row in tab.cells]

    def sheets(self, backend: SheetsBackend) -> dict[str, Rows]:
        return {t.title: tidy([[_sheet_value(c) for c in row] for row in t.cells])
                for t in self.tabs(backend)}

    def edit(self, backend: SheetsBackend, sheet: str, cells: dict[tuple[int, str], Any]
             ) -> None:
        """Typed in as values (RAW): a moment as a serial number formatted as one."""
        sheet_id = next(t.sheet_id for t in self.tabs(backend) if t.title == sheet)
        requests, data = [], []
        for (row, column), value in cells.items():
            if isinstance(value, dt.date):
                requests.append(_moment_format(sheet_id, row, _index(column)))
                value = sheets_fixtures.to_serial(value)
            data.append({"range": f"{quote_sheet(sheet)}!{column}{row}",
                         "values": [["" if value is None else value]]})
        if requests:
            self.standin.api("post", f"/{backend.id}:batchUpdate", json={"requests": requests})
        self.standin.api("post", f"/{backend.id}/values:batchUpdate",
                         json={"valueInputOption": "RAW", "data": data})

    def highlighter(self, backend: SheetsBackend, sheet: str) -> Highlighter:
        """The tab's conditional-format rules (custom formulas, Excel's syntax), evaluated
        over its values."""
        found = self.standin.api("get", f"/{backend.id}", params={"fields": RULE_FIELDS})
        tab = next(s for s in found["sheets"] if s["properties"]["title"] == sheet)
        rules_found = []
        for priority, rule in enumerate(tab.get("conditionalFormats", [])):
            boolean = rule.get("booleanRule")
            if boolean is None or boolean["condition"].get("type") != "CUSTOM_FORMULA":
                continue
            formula = boolean["condition"]["values"][0]["userEnteredValue"]
            rules_found.append(Rule(" ".join(_grid_range(r) for r in rule["ranges"]),
                                    formula.removeprefix("="),
                                    _hex(boolean.get("format", {}).get("backgroundColor")),
                                    priority))
        ws = _Cells(self._values(backend, sheet))

        def kinds(row: int, now: dt.datetime) -> frozenset[str]:
            return frozenset(KIND_OF_FILL.get((r.fill or "").upper(), f"fill {r.fill}")
                             for r in rules_found if r.covers(row) and matches(r, ws, row, now))

        return kinds

    def fingerprint(self, backend: SheetsBackend) -> Any:
        """The whole spreadsheet as the API gives it: properties, every tab's cells with
        their formats, widths, conditional formats."""
        return self.standin.api("get", f"/{backend.id}", params={"includeGridData": "true"})

    def links(self, backend: SheetsBackend, sheet: str) -> dict[tuple[int, str], str]:
        """``=HYPERLINK("#gid=…&range=C7", …)`` as the cell it names, ``'Leads'!C7``."""
        tabs = self.tabs(backend)
        titles = {t.sheet_id: t.title for t in tabs}
        tab = next(t for t in tabs if t.title == sheet)
        out = {}
        for i, row in enumerate(tab.cells):
            for j, cell in enumerate(row):
                link = _hyperlink(cell)
                if link is not None:
                    m = CELL_LINK.fullmatch(link[0])
                    assert m is not None
                    title = titles.get(int(m.group(1)), f"no tab with gid {m.group(1)}")
                    out[i + 1, _letter(j)] = f"{quote_sheet(title)}!{m.group(2)}"
        return out

    def widths(self, backend: SheetsBackend, sheet: str, columns: list[str]
               ) -> dict[str, float]:
        """Pixels back to characters (``sync/sheets.py`` sets ``chars * 7 + 5`` pixels,
        rounded): the number of characters with the fewest decimals that gives them."""
        pixels = next(t.pixels for t in self.tabs(backend) if t.title == sheet)
        return {c: _chars(pixels[_index(c)]) if _index(c) < len(pixels) else None
                for c in columns}


def _moment_format(sheet_id: int, row: int, column: int) -> dict[str, Any]:
    return {"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": row - 1, "endRowIndex": row,
                  "startColumnIndex": column, "endColumnIndex": column + 1},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE_TIME",
                                                        "pattern": DATE_TIME_PATTERN}}},
        "fields": "userEnteredFormat.numberFormat"}}


def _chars(pixels: int) -> float:
    for places in range(4):
        chars = round((pixels - 5) / 7, places)
        if int(round(chars * 7 + 5)) == pixels:
            return chars
    return (pixels - 5) / 7


def _index(column: str) -> int:
    j = 0
    for ch in column:
        j = j * 26 + ord(ch) - 64
    return j - 1


FACTORIES: dict[str, Factory] = {"xlsx": XlsxFactory(), "grid": GridFactory(),
                                 "sheet": SheetsFactory()}
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
