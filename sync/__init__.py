"""Backends that read and write workbooks (installed as forecourt.sync): one interface,
:mod:`forecourt.sync.backend`; an .xlsx file, :mod:`forecourt.sync.xlsx`; grids of values in
memory, :mod:`forecourt.sync.grid`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forecourt.sync.backend import Backend


def open_backend(target: Any, *, out: Path | str | None = None, tabs: Any = None,
                 client: Any = None) -> Backend:
    """The backend for ``target``: a backend as it is; a ``gspread.Spreadsheet``, or a
    Sheet's id or URL with a ``gspread.Client`` as ``client``: the Google Sheet; else the path
    of an .xlsx/.xlsm file (written to ``out`` when given; ``tabs`` its values if the caller
    read them already). ``out`` and ``tabs`` only mean something for a file."""
    from forecourt.sync.backend import Backend

    if isinstance(target, Backend):
        if out is not None or tabs is not None or client is not None:
            raise ValueError("out, tabs and client are not for a backend made already")
        return target
    if client is not None or type(target).__name__ == "Spreadsheet":
        from forecourt.sync.sheets import SheetsBackend

        if out is not None or tabs is not None:
            raise ValueError("out and tabs are for a workbook file, not for a Google Sheet")
        if client is None:  # a gspread.Spreadsheet: its id and its client
            return SheetsBackend(target.id, client=target.client)
        return SheetsBackend(str(target), client=client)
    from forecourt.sync.xlsx import XlsxBackend

    return XlsxBackend(target, out=out, tabs=tabs)
