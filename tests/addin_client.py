"""A workbook as a spreadsheet client holds it, for the server's answers to be applied to: the
actions of xlwings' clients with what the spreadsheet then does with each value (text parsed
as typing: ``'`` keeps text, ``=`` makes a formula, a number-like text a number), and the
payload the client would send next (a date-formatted number as a date).

The Node tests run the real ``xlwings.js`` against a fake Apps Script world; this is the same
idea in Python, for the many runs the server tests make."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from forecourt.sync.base import SERIAL_EPOCH, column_letter

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


@dataclass
class Cell:
    value: Any = ""
    formula: str | None = None
    fill: str | None = None
    number_format: str | None = None


@dataclass
class ClientBook:
    name: str
    sheets: dict[str, dict[tuple[int, int], Cell]] = field(default_factory=dict)
    client: str = "VBA"
    applied: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, grids: dict[str, list[list[Any]]], client: str = "VBA"
           ) -> ClientBook:
        book = cls(name, {}, client)
        for sheet, rows in grids.items():
            cells: dict[tuple[int, int], Cell] = {}
            for i, row in enumerate(rows):
                for j, v in enumerate(row):
                    if v not in ("", None):
                        fmt = "m/d/yyyy h:mm" if isinstance(v, dt.date) else None
                        if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
                            v = dt.datetime(v.year, v.month, v.day)
                        cells[i, j] = Cell(v, number_format=fmt)
            book.sheets[sheet] = cells
        return book

    # what the client sends ----------------------------------------------------------------

    def grid(self, sheet: str) -> list[list[Any]]:
        """Values as a person reads them (dates as datetimes; "" for empty)."""
        cells = self.sheets[sheet]
        if not cells:
            return []
        rows = max(i for i, _ in cells) + 1
        cols = max(j for _, j in cells) + 1
        out = [["" for _ in range(cols)] for _ in range(rows)]
        for (i, j), c in cells.items():
            v = c.value
            if isinstance(v, int | float) and not isinstance(v, bool) and c.number_format \
                    and "yy" in c.number_format:
                v = SERIAL_EPOCH + dt.timedelta(days=v)
                v = v.replace(microsecond=0) + dt.timedelta(seconds=round(v.microsecond / 1e6))
            out[i][j] = v
        return out

    def payload(self, *, include: list[str] | None = None) -> dict[str, Any]:
        """The payload as the client sends it: empty cells null (VBA) or ""; dates as
        ``...Z`` text, except that the Office Script sends a date whose format is not one of
        Excel's own date formats ("m/d/yyyy h:mm" here) as its serial number."""
        def wire(v: Any, cell: Cell | None) -> Any:
            if v == "":
                return None if self.client == "VBA" else ""
            if isinstance(v, dt.datetime):
                if self.client == "Microsoft Office Scripts" and cell is not None \
                        and cell.number_format != "m/d/yyyy h:mm":
                    return cell.value
                return v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            return v
        sheets = []
        for name in self.sheets:
            cells = self.sheets[name]
            values = [[wire(v, cells.get((i, j))) for j, v in enumerate(row)]
                      for i, row in enumerate(self.grid(name))] \
                if include is None or name in include else [[]]
            sheets.append({"name": name, "pictures": [], "tables": [],
                           "values": values or [[]]})
        return {"client": self.client, "version": "0.37.8",
                "book": {"name": self.name, "active_sheet_index": 0, "selection": "A1"},
                "names": [], "sheets": sheets}

    # what the client does with the answer ---------------------------------------------------

    def apply(self, actions: list[dict[str, Any]]) -> None:
        for a in actions:
            self.applied.append(a["func"])
            getattr(self, "_" + a["func"])(a)

    def _sheet(self, a: dict[str, Any]) -> dict[tuple[int, int], Cell]:
        return list(self.sheets.values())[a["sheet_position"]]

    def _cells(self, a: dict[str, Any]):
        sheet = self._sheet(a)
        for i in range(a["row_count"]):
            for j in range(a["column_count"]):
                key = (a["start_row"] + i, a["start_column"] + j)
                yield i, j, sheet.setdefault(key, Cell())

    def _setValues(self, a: dict[str, Any]) -> None:
        assert len(a["values"]) == a["row_count"]
        assert all(len(r) == a["column_count"] for r in a["values"])
        for i, j, cell in self._cells(a):
            typed = a["values"][i][j]
            cell.formula = None
            if isinstance(typed, str):
                if typed.startswith("'"):
                    cell.value = typed[1:]
                elif typed.startswith("="):
                    cell.formula, cell.value = typed, "#FORMULA"
                elif _NUMBER.match(typed.strip()):
                    cell.value = float(typed.replace(",", "."))
                else:
                    cell.value = typed
            else:
                cell.value = "" if typed is None else typed

    def _rangeClearContents(self, a: dict[str, Any]) -> None:
        for _i, _j, cell in self._cells(a):
            cell.value, cell.formula = "", None

    def _setRangeColor(self, a: dict[str, Any]) -> None:
        for _i, _j, cell in self._cells(a):
            cell.fill = a["args"][0]

    def _setNumberFormat(self, a: dict[str, Any]) -> None:
        for _i, _j, cell in self._cells(a):
            cell.number_format = a["args"][0]

    def _addSheet(self, a: dict[str, Any]) -> None:
        index, name = a["args"]
        names = list(self.sheets)
        if self.client == "VBA":
            # Remote.bas: Sheets.Add puts it before the active sheet (the first here), then
            # Move After:=Worksheets(index + 1), counting the new sheet
            names.insert(0, name)
            assert 0 <= index < len(names), (index, names)
            after = names[index]
            names.remove(name)
            names.insert(names.index(after) + 1, name)
        else:
            assert 0 <= index <= len(names), (self.client, index, names)
            names.insert(index, name)
        self.sheets = {n: self.sheets.get(n, {}) for n in names}

    # reading ---------------------------------------------------------------------------------

    def value(self, sheet: str, a1: str) -> Any:
        m = re.match(r"([A-Z]+)(\d+)$", a1)
        assert m
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        cell = self.sheets[sheet].get((int(m.group(2)) - 1, col - 1))
        return "" if cell is None else cell.value

    def formulas(self) -> list[str]:
        return [f"{s}!{column_letter(j)}{i + 1}: {c.formula}"
                for s, cells in self.sheets.items() for (i, j), c in cells.items()
                if c.formula]
