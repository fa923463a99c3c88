"""Creating a new .xlsx workbook from plain content: sheets of Python values, with their column
widths, date formats and a frozen header row.

Editing a workbook goes through the package (:mod:`.package`, :mod:`.apply`), which keeps
every part it does not touch; a workbook that does not exist yet has nothing to keep, so it is
streamed out row by row with openpyxl's write-only mode (no cell objects kept for the whole
workbook). Like every write of a workbook, it is written to a temporary file beside the
destination and renamed over it in one step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecourt.sync.base import column_index

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


@dataclass(frozen=True)
class NewSheet:
    """One sheet of a new workbook, independent of any file format.

    ``rows`` start at A1 and hold plain Python values: str, int, float, bool, ``datetime``,
    ``date``; None or ``""`` for an empty cell. Text is always text: a value starting with
    ``=`` is never a formula. ``widths`` maps a column letter to its width (in characters).
    The ``datetime``/``date`` values of ``datetime_columns`` show as ``yyyy-mm-dd hh:mm``,
    those of ``date_columns`` as ``yyyy-mm-dd`` (column letters; a date elsewhere gets the
    spreadsheet's default date format). ``freeze_header`` keeps row 1 in view.
    """

    name: str
    rows: Sequence[Sequence[Any]]
    widths: Mapping[str, float] = field(default_factory=dict)
    datetime_columns: frozenset[str] = frozenset()
    date_columns: frozenset[str] = frozenset()
    freeze_header: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", dict(self.widths))
        object.__setattr__(self, "datetime_columns", frozenset(self.datetime_columns))
        object.__setattr__(self, "date_columns", frozenset(self.date_columns))


def create_workbook(path: Path | str, sheets: Iterable[NewSheet]) -> Path:
    """Write ``sheets``, in order, as a new .xlsx workbook at ``path`` and return the path.

    An existing file at ``path`` is replaced, in one step: the workbook is written to a
    temporary file beside it, flushed to disk, then renamed over it, so a crash leaves the
    old file or the new one, never half of either."""
    from openpyxl import Workbook

    dest = Path(path)
    wb = Workbook(write_only=True)

    def write(tmp: Path) -> None:
        try:
            names: set[str] = set()
            for sheet in sheets:
                if sheet.name.lower() in names:
                    raise ValueError(f"two sheets are named {sheet.name!r}")
                names.add(sheet.name.lower())
                ws = wb.create_sheet(sheet.name)
                if sheet.freeze_header:
                    ws.freeze_panes = "A2"
                for letter, width in sheet.widths.items():
                    ws.column_dimensions[letter].width = width
                _append_rows(ws, sheet)
            if not names:
                raise ValueError("a workbook needs at least one sheet")
            wb.save(tmp)
        except BaseException:
            _discard(wb)
            raise

    from forecourt.sync.xlsx.package import write_atomically

    write_atomically(dest, write)
    return dest


def _discard(wb: Any) -> None:
    """Close what a write-only workbook that failed half-way left open: each sheet streams
    into a temporary file of its own. Left to the garbage collector, the streams are closed in
    any order and print "Exception ignored" tracebacks, and the files stay until the program
    ends. Best effort, on openpyxl's internals: whatever fails here is ignored."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        if writer is None:
            continue
        rows = getattr(ws, "_rows", None)
        for close in (rows.close if rows is not None else None, writer.close, writer.cleanup):
            if close is not None:
                with contextlib.suppress(Exception):
                    close()


def _append_rows(ws: Any, sheet: NewSheet) -> None:
    """Stream ``sheet.rows`` into the write-only worksheet ``ws``.

    openpyxl's write-only ``append`` turns each plain value into a cell itself; only what
    needs more is handed over as a cell: dates with one style array per format, shared by all
    of them (a styled cell of its own per date would cost the time of a normal workbook), and
    text starting with ``=``, typed as text with a quote prefix (untrusted text, never a
    formula)."""
    from openpyxl.cell import Cell, WriteOnlyCell

    def style_of(number_format: str) -> Any:
        cell = WriteOnlyCell(ws)
        cell.number_format = number_format
        return cell._style

    styled: list[tuple[int, Any]] = []
    if sheet.datetime_columns:
        stamp = style_of(DATETIME_FORMAT)
        styled += [(column_index(c), stamp) for c in sorted(sheet.datetime_columns)]
    if sheet.date_columns:
        day = style_of(DATE_FORMAT)
        styled += [(column_index(c), day) for c in sorted(sheet.date_columns)
                   if c not in sheet.datetime_columns]

    def text(value: str) -> Any:
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"  # untrusted text, never a formula
        cell.quotePrefix = True
        return cell

    for row in sheet.rows:
        values = list(row)
        for j, v in enumerate(values):
            if isinstance(v, str) and (not v or v[0] == "="):
                values[j] = text(v) if v else None
        for j, style in styled:
            if j < len(values) and isinstance(values[j], dt.date):
                values[j] = Cell(ws, 1, 1, values[j], style)
        ws.append(values)
