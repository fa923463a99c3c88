"""What xlwings' three clients POST to a server, built from a workbook described in Python.

Written from the clients' sources as installed with xlwings (BSD-licensed), not from any server:

- VBA: ``xlwings/addin/Remote.bas`` (``RunServerPython``), with ``WebHelpers.bas`` turning VBA
  values into JSON (``ConvertToJson``, ``ConvertToIso``) and ``WebRequest.cls`` for headers;
- Google Apps Script: ``xlwings/js/xlwings.js`` (``runPython``);
- Microsoft Office Scripts: ``xlwings/js/xlwings.ts`` (``runPython``).

A workbook is ``{"Leads": [[row 1 ...], [row 2 ...]], "Stock": [...]}``: tab order is dict order,
row 1 first, cell values as Python gives them (``str``, ``int``, ``float``, ``bool``,
:class:`datetime.datetime`, :class:`datetime.date`, :class:`datetime.time`, :class:`XlError`,
``None`` or ``""`` for an empty cell). Rows may be ragged. Line numbers in the docstrings are
those of the files above in xlwings 0.37.8.

Each builder returns the payload as the dict a server's JSON parser gets from that client.
Where a client's bytes differ from ``json.dumps`` of that dict (VBA), :func:`vba_body` gives the
exact bytes; :func:`body` picks the right serialiser, :func:`request_headers` the headers.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
from collections.abc import Container, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "APPS_SCRIPT",
    "OFFICE_SCRIPTS",
    "OFFICE_SCRIPTS_ORIGIN",
    "VBA",
    "XlError",
    "apps_script_payload",
    "body",
    "from_serial",
    "js_body",
    "office_scripts_payload",
    "request_headers",
    "serial",
    "tabs_sent",
    "vba_body",
    "vba_payload",
]

Value = Any  # str | int | float | bool | datetime | date | time | XlError | None
Book = Mapping[str, Sequence[Sequence[Value]]]

#: the ``client`` field each client sends
VBA = "VBA"  # Remote.bas L91
APPS_SCRIPT = "Google Apps Script"  # xlwings.js L115
OFFICE_SCRIPTS = "Microsoft Office Scripts"  # xlwings.ts L116

#: an origin Office Scripts' fetch() runs under (the browser adds it; the server's CORS sees it)
OFFICE_SCRIPTS_ORIGIN = "https://abc.officescripts.microsoftusercontent.com"

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
UNIX_EPOCH = dt.datetime(1970, 1, 1)
_DAY_US = 86_400_000_000

#: error values VBA's ConvertToJson knows (WebHelpers.bas L2119-2135)
VBA_KNOWN_ERRORS = frozenset(
    {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})


class XlError(str):
    """A cell holding an error value, e.g. ``XlError("#N/A")`` or ``XlError("#SPILL!")``."""


# versions ----------------------------------------------------------------------------------

def _xlwings_text(*parts: str) -> str | None:
    try:
        import xlwings
    except ImportError:  # pragma: no cover - xlwings is a test dependency
        return None
    path = Path(xlwings.__file__).parent.joinpath(*parts)
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else None


def _version(parts: tuple[str, ...], pattern: str, fallback: str) -> str:
    text = _xlwings_text(*parts)
    found = re.search(pattern, text) if text else None
    return found.group(1) if found else fallback


#: Main.bas L32 ``Public Const XLWINGS_VERSION As String = "dev"``, sent by Remote.bas L92
VBA_VERSION = _version(("addin", "Main.bas"),
                       r'XLWINGS_VERSION As String = "([^"]*)"', "dev")
#: xlwings.js L44 ``const version = "0.37.8";``
APPS_SCRIPT_VERSION = _version(("js", "xlwings.js"), r'const version = "([^"]*)"', "0.37.8")
#: xlwings.ts L48 ``const version = "0.37.8";``
OFFICE_SCRIPTS_VERSION = _version(("js", "xlwings.ts"), r'const version = "([^"]*)"', "0.37.8")


# serial numbers ----------------------------------------------------------------------------

def serial(value: dt.datetime | dt.date | dt.time) -> int | float:
    """The serial number Excel and Sheets store for ``value``: days since 1899-12-30.

    Right from 1900-03-01 on (Excel counts a 1900-02-29 that never was) and for times of day
    alone (day 0). An ``int`` when the value is a whole day, as JSON carries it."""
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, dt.time):
        moment = dt.datetime.combine(EXCEL_EPOCH.date(), value.replace(tzinfo=None))
    else:
        raise TypeError(f"not a date or time: {value!r}")
    micros = (moment - EXCEL_EPOCH) // dt.timedelta(microseconds=1)
    days = micros / _DAY_US
    return int(days) if days.is_integer() else days


def from_serial(number: float) -> dt.datetime:
    """The wall-clock time a serial number stands for (to the microsecond)."""
    return EXCEL_EPOCH + dt.timedelta(microseconds=round(number * _DAY_US))


# the workbook ------------------------------------------------------------------------------

def _empty(value: Value) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _extent(rows: Sequence[Sequence[Value]]) -> tuple[int, int]:
    """(last row, last column) holding a value, 1-based; (0, 0) for an empty tab."""
    last_row = last_col = 0
    for i, row in enumerate(rows, 1):
        for j, value in enumerate(row, 1):
            if not _empty(value):
                last_row = max(last_row, i)
                last_col = max(last_col, j)
    return last_row, last_col


def _cell(rows: Sequence[Sequence[Value]], i: int, j: int) -> Value:
    if i < len(rows) and j < len(rows[i]):
        return rows[i][j]
    return None


def _split(items: str | None) -> list[str]:
    """An include/exclude string as the clients split it (xlwings.js L77/L85, xlwings.ts
    L75/L83 ``split(",").map(trim)``; Remote.bas L32/L40 ``Split`` and ``Trim`` in IsInArray
    L430)."""
    return [item.strip() for item in items.split(",")] if items else []


def tabs_sent(names: Sequence[str], include: str | None = None,
              exclude: str | None = None) -> list[str]:
    """The tabs whose values a client sends, given the ``include``/``exclude`` strings it got.

    All three compare names exactly (case-sensitive, after trimming the *list's* items): a tab
    called ``"Leads "`` or ``"Leads, 2026"`` can only be sent with no ``include`` at all."""
    includes, excludes = _split(include), _split(exclude)
    if includes and excludes:
        # Remote.bas L43-46 (MsgBox, no request), xlwings.js L87-89, xlwings.ts L85-87 (throw)
        raise ValueError("Either use 'include' or 'exclude', but not both!")
    if includes:
        return [n for n in names if n in includes]
    return [n for n in names if n not in excludes]


# value conversions -------------------------------------------------------------------------

def _js_number(value: int | float) -> int | float:
    """A number as JSON.stringify writes it and Python's json reads it back: a double, so a
    whole number comes as an ``int`` (``5.0`` -> ``5``), a huge ``int`` as a ``float``."""
    if isinstance(value, int):
        return value if abs(value) <= 2**53 else float(value)
    if not math.isfinite(value):
        raise ValueError(f"a cell cannot hold {value!r}")
    return int(value) if value.is_integer() and abs(value) < 1e21 else value


def _vba_number(value: int | float) -> int | float:
    """A number as ConvertToJson writes it (WebHelpers.bas L2332-2334): ``CStr`` of the Double,
    i.e. 15 significant digits; whole numbers without a decimal point."""
    if isinstance(value, int) and abs(value) < 10**15:
        return value
    rounded = float(f"{float(value):.15g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded


def _vba_iso(value: dt.datetime | dt.date | dt.time) -> str:
    """WebHelpers.bas ConvertToIso, L2919-2930: ``Format$(d, "yyyy-mm-ddTHH:mm:ss.000Z")`` with
    no time-zone conversion ("CHANGED", L2922): the cell's wall-clock time with a ``Z`` that
    means nothing, always ``.000`` milliseconds, seconds rounded as VBA's date parts round."""
    moment = from_serial(serial(value))
    if moment.microsecond >= 500_000:
        moment += dt.timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".000Z"


def _apps_script_iso(value: dt.datetime | dt.date | dt.time) -> str:
    """xlwings.js L163-180: the Date getValues() gives is printed with ``toLocaleString`` in the
    spreadsheet's time zone, read back as a local time of the script's zone and shifted by its
    offset before ``toISOString``: the spreadsheet's wall-clock time with a ``Z``, seconds
    truncated (toLocaleString shows no milliseconds), always ``.000Z``.

    Not modelled: a wall-clock time that falls in the *script* zone's daylight-saving gap is
    moved by an hour by ``new Date(string)`` (L167), and a time of day alone (a Date on
    1899-12-30) can be off by the zone's 19th-century local mean time offset."""
    moment = from_serial(serial(value)).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".000Z"


def _office_scripts_iso(number: float) -> str:
    """xlwings.ts L206-208: ``new Date(Math.round((value - 25569) * 86400 * 1000))
    .toISOString()``: the serial read as UTC, to the millisecond (Math.round rounds half up)."""
    millis = math.floor((number - 25569) * 86400 * 1000 + 0.5)
    moment = UNIX_EPOCH + dt.timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"


def _vba_value(value: Value) -> Value:
    """A cell's ``Range.Value`` through ConvertToJson (WebHelpers.bas L2098-2341)."""
    if _empty(value):
        return None  # vbEmpty -> "" -> "null" in arrays (L2182-2188, json_IsUndefined L2552)
    if isinstance(value, XlError):
        # L2119-2135 knows seven errors; any other (#SPILL!, #CALC!, #BUSY!...) falls through
        # the Select Case with ConvertToJson = "" and no "null": see vba_body.
        return str(value) if value in VBA_KNOWN_ERRORS else value
    if isinstance(value, bool):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _vba_iso(value)  # vbDate, L2101-2105
    if isinstance(value, (int, float)):
        return _vba_number(value)
    return str(value)


def _apps_script_value(value: Value) -> Value:
    if _empty(value):
        return ""  # getValues() gives "" for an empty cell
    if isinstance(value, bool):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _apps_script_iso(value)
    if isinstance(value, (int, float)):
        return _js_number(value)
    return str(value)


def _office_scripts_value(value: Value, date_formatted: bool) -> Value:
    """xlwings.ts L196-212: only a *number* in a cell whose number-format category is Date or
    Time becomes an ISO string; every other date stays the serial number it is."""
    if _empty(value):
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        number = serial(value)
        return _office_scripts_iso(number) if date_formatted else _js_number(number)
    if isinstance(value, (int, float)):
        return _office_scripts_iso(value) if date_formatted else _js_number(value)
    return str(value)


def _book(name: str, active: int, selection: str | None) -> dict[str, Any]:
    return {"name": name, "active_sheet_index": active, "selection": selection}


# the three clients -------------------------------------------------------------------------

def vba_payload(book_name: str, sheets: Book, *, active: int = 0, selection: str | None = "A1",
                include: str | None = None, exclude: str | None = None,
                formatted_to: Mapping[str, tuple[int, int]] | None = None) -> dict[str, Any]:
    """The dict ``RunServerPython`` (Remote.bas) sends for ``sheets``.

    - ``client`` "VBA" (L91), ``version`` Main.bas' ``XLWINGS_VERSION`` (L92, "dev" as
      installed), ``book`` {name, active_sheet_index, selection} (L94-102; ``selection`` is
      ``Selection.Address(False, False)``, null when a shape is selected), ``names`` [] (L151).
    - Each worksheet's dict has the keys ``name, pictures, tables, values`` in that order
      (L159, L183/185, L223/225, L255), unlike the JavaScript clients.
    - Values run from A1 to the last cell of the *used range* (L238-249), even when the used
      range starts lower or further right. The used range counts formatted cells, so a tab
      formatted down to row 500 sends 500 rows: ``formatted_to={"Leads": (500, 10)}`` says that
      A1 to row 500, column 10 is formatted. Empty cells are ``null``.
    - A tab with no used range (``IsEmpty(UsedRange.Value)``, L232) and an excluded tab
      (L230) both send ``[[]]``. A used range of one cell at A1 sends ``[[value]]`` (L250-252:
      Range.Value of one cell is a scalar, wrapped by hand).
    - ``include`` becomes the list of tabs to exclude (L48-56); names are compared with
      ``Trim`` and case-sensitively (IsInArray, L421-439). Both given: the client shows a
      MsgBox and sends nothing (L43-46): ValueError.
    - Dates and times are ConvertToIso strings (see :func:`_vba_iso`); numbers have 15
      significant digits; unknown error values (``#SPILL!``...) stay :class:`XlError`, for
      :func:`vba_body` to write them as VBA does: as nothing at all.

    Not modelled: ``nRows``/``nCols`` are ``Integer`` (L236), so a used range past row 32767
    stops the macro with an overflow and nothing is sent; ``ActiveSheet.Index`` (L96) counts
    chart sheets, the ``sheets`` list does not; a shape that is not a picture on a tab keeps
    the previous tab's ``pics`` array (L163-183, ``Dim`` is not per loop turn)."""
    names = list(sheets)
    sent = set(tabs_sent(names, include, exclude))
    formatted = formatted_to or {}
    out = []
    for name in names:
        rows = sheets[name]
        if name not in sent:
            values: list[list[Value]] = [[]]
        else:
            last_row, last_col = _extent(rows)
            f_row, f_col = formatted.get(name, (0, 0))
            n_rows, n_cols = max(last_row, f_row), max(last_col, f_col)
            if n_rows == 0 or (n_rows, n_cols) == (1, 1) and _empty(_cell(rows, 0, 0)):
                values = [[]]
            else:
                values = [[_vba_value(_cell(rows, i, j)) for j in range(n_cols)]
                          for i in range(n_rows)]
        out.append({"name": name, "pictures": [], "tables": [], "values": values})
    return {"client": VBA, "version": VBA_VERSION, "book": _book(book_name, active, selection),
            "names": [], "sheets": out}


def apps_script_payload(book_name: str, sheets: Book, *, active: int = 0,
                        selection: str | None = "A1", include: str | None = None,
                        exclude: str | None = None) -> dict[str, Any]:
    """The dict ``runPython`` of xlwings.js (Google Apps Script) sends for ``sheets``.

    - ``client`` "Google Apps Script" (L115), ``version`` "0.37.8" (L44); ``book.name`` is the
      spreadsheet's title (no file extension), ``selection`` the active range's A1 notation
      (L117-121); ``names`` [] (L124-143).
    - Each sheet's dict has the keys ``name, values, pictures, tables`` (L196-201).
    - Values: ``getRange(1, 1, getLastRow(), getLastColumn())`` (L150-161): A1 to the last
      row and column that hold *content* (formatting does not count); empty cells ``""``. An
      empty sheet reads ``getRange(1, 1, 1, 1)``: ``[[""]]`` (L158-159). An excluded sheet
      sends ``[[]]`` (L152-153).
    - Dates are ISO strings of the spreadsheet's wall-clock time with a ``Z`` and ``.000``
      (L163-180, see :func:`_apps_script_iso`).
    - include/exclude are split on commas and trimmed (L77, L85), compared exactly (L92)."""
    names = list(sheets)
    sent = set(tabs_sent(names, include, exclude))
    out = []
    for name in names:
        rows = sheets[name]
        if name not in sent:
            values: list[list[Value]] = [[]]
        else:
            last_row, last_col = _extent(rows)
            values = [[_apps_script_value(_cell(rows, i, j)) for j in range(max(last_col, 1))]
                      for i in range(max(last_row, 1))]
        out.append({"name": name, "values": values, "pictures": [], "tables": []})
    return {"client": APPS_SCRIPT, "version": APPS_SCRIPT_VERSION,
            "book": _book(book_name, active, selection), "names": [], "sheets": out}


def office_scripts_payload(book_name: str, sheets: Book, *, active: int = 0,
                           selection: str | None = "A1", include: str | None = None,
                           exclude: str | None = None,
                           formatted_to: Mapping[str, tuple[int, int]] | None = None,
                           date_cells: Container[tuple[str, int, int]] | None = None
                           ) -> dict[str, Any]:
    """The dict ``runPython`` of xlwings.ts (Office Scripts, Excel on the web) sends.

    - ``client`` "Microsoft Office Scripts" (L116), ``version`` "0.37.8" (L48); ``book``
      {name, active_sheet_index = getPosition(), selection = the address without its sheet, or
      null} (L118-128); ``names`` [] (L131-147, L183).
    - Each sheet's dict has the keys ``name, values, pictures, tables`` (L253-258).
    - Values: ``getRangeByIndexes(0, 0, lastRow + 1, lastCol + 1)`` up to the used range's last
      cell (L156-159, L187-193); the used range counts formatted cells (``formatted_to`` as for
      :func:`vba_payload`). Empty cells ``""``. A sheet without a used range reads (0, 0, 1, 1):
      ``[[""]]`` (L160-163).
    - Dates: ``getNumberFormatCategories()`` (L194); only a number whose cell's category is
      ``Date`` or ``Time`` becomes an ISO string, ``new Date(Math.round((value - 25569) *
      86400 * 1000)).toISOString()`` (L201-208): the wall-clock time with ``Z`` and the
      milliseconds. A date in a *custom* format ("dd.mm.yyyy hh:mm" is category Custom) stays
      a serial number. ``date_cells`` holds the (tab, row, column) cells (0-based) formatted
      as Date/Time; ``None``: every date, datetime and time value.
    - THE QUIRK: ``values`` is declared once, before the loop over sheets (L152
      ``let values = [[]]``), and only an included sheet assigns it (L186-193). An excluded
      sheet is therefore sent with the values of the last *included* sheet before it (or
      ``[[]]`` when none came before): its name with another sheet's cells. Only its
      ``tables`` and ``pictures`` are empty (L215-251).
    - include/exclude are split on commas and trimmed (L75, L83), compared exactly (L90)."""
    names = list(sheets)
    sent = set(tabs_sent(names, include, exclude))
    formatted = formatted_to or {}
    values: list[list[Value]] = [[]]  # L152: one variable for the whole loop
    out = []
    for name in names:
        rows = sheets[name]
        if name in sent:
            last_row, last_col = _extent(rows)
            f_row, f_col = formatted.get(name, (0, 0))
            n_rows, n_cols = max(last_row, f_row, 1), max(last_col, f_col, 1)
            values = []
            for i in range(n_rows):
                row = []
                for j in range(n_cols):
                    value = _cell(rows, i, j)
                    if date_cells is None:
                        is_date = isinstance(value, (dt.datetime, dt.date, dt.time))
                    else:
                        is_date = (name, i, j) in date_cells
                    row.append(_office_scripts_value(value, is_date))
                values.append(row)
        # an excluded sheet: `values` is whatever the last included sheet left in it
        out.append({"name": name, "values": copy.deepcopy(values), "pictures": [],
                    "tables": []})
    return {"client": OFFICE_SCRIPTS, "version": OFFICE_SCRIPTS_VERSION,
            "book": _book(book_name, active, selection), "names": [], "sheets": out}


# the bytes on the wire ---------------------------------------------------------------------

def _vba_string(text: str) -> str:
    """json_Encode (WebHelpers.bas L2565-2624): UTF-16 code units; ``"`` ``\\`` and the
    control characters escaped, every code unit from 127 up as ``\\uXXXX`` (upper-case hex),
    ``/`` left alone (EscapeSolidus is off)."""
    named = {34: '\\"', 92: "\\\\", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"}
    units = text.encode("utf-16-le")
    out = []
    for k in range(0, len(units), 2):
        code = units[k] | units[k + 1] << 8
        if code in named:
            out.append(named[code])
        elif code < 32 or code >= 127:
            out.append(f"\\u{code:04X}")
        else:
            out.append(chr(code))
    return "".join(out)


def _vba_large_number(text: str) -> bool:
    """json_StringIsLargeNumber (L2639-2665): 16 to 100 characters, all of ``0-9 . E e``."""
    return 16 <= len(text) <= 100 and all(c in "0123456789.Ee" for c in text)


def _vba_json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, XlError) and value not in VBA_KNOWN_ERRORS:
        return ""  # L2119-2135 then L2183-2188: not vbEmpty, so not even "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if _vba_large_number(value):
            return value  # L2108-2109: written without quotes (UseDoubleForLargeNumbers off)
        return f'"{_vba_string(value)}"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.15g}".replace("e", "E")  # CStr: 15 digits, "1E+16"
    if isinstance(value, Mapping):
        # keys are written as they are, unescaped (L2272)
        return "{" + ",".join(f'"{k}":{_vba_json(v)}' for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_vba_json(v) for v in value) + "]"
    raise TypeError(f"VBA sends no {type(value).__name__}")


def vba_body(payload: Mapping[str, Any]) -> bytes:
    """The request body VBA's ConvertToJson writes for ``payload`` (no spaces, ASCII only).

    Two ways it is not ``json.dumps``: a *text* cell of 16 to 100 digits, dots and E's (a long
    reference number, a phone number with ``00``) is written unquoted (L2108-2109), which is a
    JSON number, or invalid JSON when it has a leading zero or two dots; and an error value
    VBA does not know (:class:`XlError` ``#SPILL!``, ``#CALC!``...) is written as nothing:
    ``[1,,2]`` (L2119-2135, L2183-2188)."""
    return _vba_json(payload).encode("ascii")


def js_body(payload: Mapping[str, Any]) -> bytes:
    """``JSON.stringify(payload)`` as UTF-8 (xlwings.js L210, xlwings.ts L267)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def body(payload: Mapping[str, Any]) -> bytes:
    """The bytes the payload's own client would send."""
    return vba_body(payload) if payload["client"] == VBA else js_body(payload)


def request_headers(payload: Mapping[str, Any], auth: str | None) -> dict[str, str]:
    """The headers the payload's client sends with it (``auth`` as configured, sent as is).

    VBA: WebRequest.Prepare (WebRequest.cls L740-748) and Remote.bas L280-287; Apps Script:
    UrlFetchApp with ``contentType`` (xlwings.js L207-213); Office Scripts: fetch() with
    ``Content-Type`` set by hand (xlwings.ts L112) from the Office Scripts sandbox, so the
    browser adds an ``Origin`` and sends a CORS preflight first."""
    client = payload["client"]
    if client == VBA:
        headers = {"User-Agent": "VBA-Web v4.1.6 (https://github.com/VBA-tools/VBA-Web)",
                   "Accept": "application/json", "Content-Type": "application/json"}
    elif client == APPS_SCRIPT:
        headers = {"User-Agent": "Mozilla/5.0 (compatible; Google-Apps-Script)",
                   "Content-Type": "application/json"}
    elif client == OFFICE_SCRIPTS:
        headers = {"Content-Type": "application/json", "Origin": OFFICE_SCRIPTS_ORIGIN}
    else:
        raise ValueError(f"unknown client {client!r}")
    if auth:
        headers["Authorization"] = auth
    return headers
