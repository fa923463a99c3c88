"""A stateful, in-memory stand-in of the Google Sheets API v4 and of Drive v3's file calls.

Why it exists: no Google account is reachable from the machines this project is built and
tested on, yet forecourt's Sheet backend (and any other client, gspread included) must be
tested over real HTTP against something that answers like Google does: same paths, same
status codes, same JSON shapes (keys present or absent, trimmed rows, serial numbers, quoted
sheet titles, error bodies). This module is that something. It is checked against real
recorded traffic by ``tests/test_sheets_standin.py`` (replaying the vcrpy cassettes in
``shared/reference/sheets-api-recordings``), so a client that works here should work there.

Standard library only (``http.server``, ``json``, ``urllib.parse``, ``threading``), so it
runs wherever the tests run, with nothing to install.

Run it:
    python tests/sheets_standin.py --port 0        # prints its base URL as the first line
or in-process:
    server, base_url = start(port=0); ...; stop(server)

It listens on 127.0.0.1 only, and serves both Google hosts' paths on one port:
``/v4/spreadsheets/...`` (https://sheets.googleapis.com) and ``/drive/v3/files...``
(https://www.googleapis.com). Any ``Authorization`` header, or none, is accepted; every
call acts as one account (``account_email``, settable), the owner of every file.

Test controls live under ``/_standin/`` (never counted as calls, never limited):
    POST /_standin/quota   {"per_minute": N, "retry_after": S, "scope": "split"|"all"}
        A per-minute quota like Google's "requests per minute per user": reads (GET) and
        writes are counted apart, as Google does (``scope: "all"`` counts them together).
        Once passed: 429 RESOURCE_EXHAUSTED with Google's message and, if ``retry_after``
        is set, a ``Retry-After`` header (Google itself rarely sends one). ``per_minute``
        null switches it off. Drive calls are not counted (Drive has its own quota).
    POST /_standin/fail    {"status": 503, "times": 2, "match": "values", "method": "PUT",
                            "retry_after": S}
        The next ``times`` API calls (optionally only those whose method is ``method`` and
        whose path or kind contains ``match``) answer ``status`` with Google's error body.
    POST /_standin/edit    {"spreadsheetId", "range", "values", "valueInputOption"}
        "Another user" edits cells now (USER_ENTERED by default), between a client's read
        and its write. Answers like values.update.
    POST /_standin/read    {"spreadsheetId", "range", "valueRenderOption", ...}
        Reads like values.get without counting as a call.
    GET  /_standin/calls   the calls so far: [{method, path, query, api, kind, status,
                           bytes}] (kind is Google's method name, e.g.
                           "spreadsheets.values.batchGet"; bytes the request body's size)
    DELETE /_standin/calls forget the calls so far (state kept).
    POST /_standin/config  {"max_payload_bytes", "max_cells", "account_email",
                            "default_time_zone"}
    POST /_standin/clock   {"advance": seconds} or {"now": "2024-05-01T09:00:00Z"} or
                           {"now": null} (back to the real clock): drives NOW(), TODAY(),
                           Drive times and the quota's minute window.
    POST /_standin/reset   back to an empty, freshly started stand-in.
    GET  /_standin/health  {"ok": true}; GET /_standin/fail lists pending failures.

Limits, as the real API words them:
    - 10 million cells per spreadsheet: 400 "... would increase the number of cells in the
      workbook above the limit of 10000000 cells." (``max_cells`` to test it cheaply).
    - Request payload: Google documents no number but answers 400 INVALID_ARGUMENT
      "Request payload size exceeds the limit: 10485760 bytes." past 10 MiB (the old
      GData API's 413 is gone in v4), so that is the default; ``max_payload_bytes`` sets it.

Implemented: spreadsheets.create/get (includeGridData, ranges, ``fields`` masks such as
``sheets(properties(sheetId,title,gridProperties),conditionalFormats)``), values.get/
batchGet/update/batchUpdate/append/clear/batchClear with every value/date-time render
option, majorDimension and valueInputOption; spreadsheets.batchUpdate (all or nothing) with
addSheet, deleteSheet, updateSheetProperties, updateSpreadsheetProperties (autoRecalc,
timeZone, title, locale), repeatCell, updateCells, appendCells, setDataValidation,
add/update/deleteProtectedRange, add/update/deleteConditionalFormatRule, appendDimension,
insertDimension, deleteDimension (cells, rules and protected ranges move along),
updateDimensionProperties, autoResizeDimensions, merge/unmergeCells, set/clearBasicFilter,
add/deleteNamedRange; Drive files.create/get/list (``q``, paging)/update (rename)/copy/
delete. A ``fields`` mask trims any Sheets answer, as Google's does.

How it reads ranges: ``'Quoted title'!A1:B2``, ``Title!A:A``, ``A1:1``, ``A5:A`` as Google
does; bare text that is A1 notation (``A2``) is a range of the first visible sheet, other
bare text (``Leads``) a sheet title, so a tab named like a cell must be quoted. Answers
quote a title unless it is a plain identifier that does not look like a cell reference.
values.append looks for the table as Sheets does: the first rows with data in the range
(from a single cell: to the right and below), down to the first blank row; it writes below
it from its first column, growing the grid. A single-cell range in values.update only
anchors the data; a larger range bounds it ("Requested writing within range ..."). A
range past the grid's edge is refused, on reads too ("Range (Sheet1!A1:Z2000) exceeds grid
limits. Max rows: 1000, max columns: 26"); only values.append grows the grid.

Where it differs from the real API, and why (the tests' replay pins what the recordings
show; beyond them these are the stand-in's best readings of Google's public reference):
    - Formulas: a small evaluator (arithmetic, comparisons, ``&``, references and ranges
      across sheets, SUM/AVERAGE/MIN/MAX/COUNT/COUNTA/IF/IFERROR/AND/OR/NOT/ABS/ROUND/INT/
      MOD/LEN/UPPER/LOWER/TRIM/CONCATENATE/DATE/TODAY/NOW/ISBLANK). Formulas are kept as
      typed (Google re-capitalises them). Unknown functions give #NAME?.
    - Number formatting: the "automatic" format shows up to 10 decimals and switches to
      scientific notation past 1e15; explicit patterns support the common tokens of
      Google's number and date/time format syntax. USER_ENTERED recognises numbers,
      1,234 groups, percentages, $ amounts, TRUE/FALSE, ISO and US dates, times.
    - Conditional formats, data validation and protected ranges are stored and returned,
      not enforced on writes (the API's owner may write anywhere; rules only colour).
    - Error messages the recordings do not show are the wording Google is known to use
      where published (grid limits, cell limit, payload, quota, unknown fields and enum
      values, duplicate or last sheet, no grid with id, unparseable range); the stand-in's
      own, in Google's style, are those for a missing ``fields``, a bad conditional-format
      index, an invalid time zone, an empty title, a taken sheet or protected-range id.
    - Drive: a new spreadsheet's modifiedTime is 1 ms after its createdTime (Sheets writes
      the first tab just after Drive creates the file: every recording shows it later) and
      moves on every write; Drive errors keep Drive's own ``errors`` list shape.
    - ``effectiveFormat`` in grid data is the spreadsheet default merged with the cell's
      own format (Google also adds alignment it infers for numbers).
    - Request kinds Google has but the stand-in does not (charts, banding, ...) answer
      501 UNIMPLEMENTED naming the kind, rather than pretending to work.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import math
import random
import re
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOST = "127.0.0.1"
MAX_CELLS = 10_000_000
MAX_PAYLOAD_BYTES = 10_485_760
DEFAULT_ACCOUNT = "standin@forecourt-standin.iam.gserviceaccount.com"
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"
DOCS_URL = "https://docs.google.com/spreadsheets/d/%s"
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
ROW_PIXELS, COL_PIXELS = 21, 100

# What a new spreadsheet's properties look like, copied from the recordings (locale en_US,
# recalculation on change, time zone Etc/GMT for the recording account).
DEFAULT_FORMAT = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _theme_color(kind: str, red: float = 0, green: float = 0, blue: float = 0) -> dict:
    rgb = {k: v for k, v in (("red", red), ("green", green), ("blue", blue)) if v}
    return {"colorType": kind, "color": {"rgbColor": rgb}}


SPREADSHEET_THEME = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        _theme_color("TEXT"),
        _theme_color("BACKGROUND", 1, 1, 1),
        _theme_color("ACCENT1", 0.25882354, 0.52156866, 0.95686275),
        _theme_color("ACCENT2", 0.91764706, 0.2627451, 0.20784314),
        _theme_color("ACCENT3", 0.9843137, 0.7372549, 0.015686275),
        _theme_color("ACCENT4", 0.20392157, 0.65882355, 0.3254902),
        _theme_color("ACCENT5", 1, 0.42745098, 0.003921569),
        _theme_color("ACCENT6", 0.27450982, 0.7411765, 0.7764706),
        _theme_color("LINK", 0.06666667, 0.33333334, 0.8),
    ],
}

# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------

STATUS_OF = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
DEFAULT_MESSAGE_OF = {
    500: "Internal error encountered.",
    501: "Operation is not implemented, or supported, or enabled.",
    502: "The service is currently unavailable.",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}


class ApiError(Exception):
    """An answer other than success, carrying Google's error body."""

    def __init__(self, code: int, message: str, status: str | None = None,
                 details: list | None = None, headers: dict | None = None,
                 body: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}
        if body is None:
            error = {"code": code, "message": message, "status": status or STATUS_OF.get(
                code, "UNKNOWN")}
            if details:
                error["details"] = details
            body = {"error": error}
        self.body = body


def bad_request(message: str, field: str | None = None, violation: bool = False) -> ApiError:
    """400 INVALID_ARGUMENT; with a BadRequest detail when Google adds one (JSON errors)."""
    details = None
    if violation:
        fv = {"description": message}
        if field:
            fv = {"field": field, "description": message}
        details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [fv]}]
    return ApiError(400, message, details=details)


def invalid_value(field: str, proto_type: str, value) -> ApiError:
    """Google's wording for a JSON or query value of the wrong type or enum."""
    shown = value if isinstance(value, str) else json.dumps(value)
    message = f"Invalid value at '{field}' ({proto_type}), \"{shown}\""
    if not isinstance(value, str):
        message = f"Invalid value at '{field}' ({proto_type}), {shown}"
    return bad_request(message, field=field, violation=True)


def unknown_field(name: str, at: str | None = None) -> ApiError:
    where = f" at '{at}'" if at else ""
    message = f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
    return bad_request(message, field=at, violation=True)


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.")


def drive_error(code: int, message: str, reason: str, location: str | None = None) -> ApiError:
    """Drive v3 still answers in the older shape: an ``errors`` list and no ``status``."""
    item = {"message": message, "domain": "global", "reason": reason}
    if location:
        item.update({"location": location, "locationType": "parameter"})
    return ApiError(code, message, body={"error": {"code": code, "message": message,
                                                  "errors": [item]}})


class RequestError(Exception):
    """A failure inside one batchUpdate request; becomes 'Invalid requests[i].kind: ...'."""


# ---------------------------------------------------------------------------------------
# JSON helpers and field masks
# ---------------------------------------------------------------------------------------


def clean_numbers(value):
    """Google prints doubles in shortest form: 2.0 is ``2``. Python would print ``2.0``."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, dict):
        return {k: clean_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_numbers(v) for v in value]
    return value


ALL = True  # a field-mask leaf: the whole value


def _split_top(text: str, sep: str = ",") -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_mask(text: str) -> dict | bool:
    """A field mask (``a.b,c(d,e/f)``, ``*``) as a tree: name -> subtree, ALL at leaves."""
    tree: dict = {}
    for item in _split_top(text):
        if item == "*":
            return ALL
        sub: dict | bool = ALL
        if item.endswith(")") and "(" in item:
            head, inner = item[: item.index("(")], item[item.index("(") + 1: -1]
            sub = parse_mask(inner)
            item = head
        segments = [s for s in re.split(r"[./]", item) if s]
        if not segments:
            continue
        node = tree
        for seg in segments[:-1]:
            nxt = node.get(seg)
            if nxt is ALL:
                break
            if nxt is None:
                nxt = node[seg] = {}
            node = nxt
        else:
            last = segments[-1]
            node[last] = _merge_mask(node.get(last), sub)
    return tree


def _merge_mask(a, b):
    if a is None:
        return b
    if a is ALL or b is ALL:
        return ALL
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge_mask(out.get(k), v)
    return out


def apply_mask(value, mask):
    """Keep only what a response field mask names (lists are masked element by element)."""
    if mask is ALL:
        return value
    if isinstance(value, list):
        return [apply_mask(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: apply_mask(value[k], sub) for k, sub in mask.items() if k in value}
    return value


def mask_paths(mask, prefix: tuple = ()) -> list[tuple]:
    """The leaf paths of a mask tree: what an update request's ``fields`` will set."""
    if mask is ALL:
        return [prefix]
    out = []
    for k, sub in mask.items():
        out.extend(mask_paths(sub, prefix + (k,)))
    return out


def mask_wants(mask, *path: str) -> bool:
    """Whether a response mask reaches ``path`` (so the stand-in must build it)."""
    node = mask
    for key in path:
        if node is ALL:
            return True
        if key not in node:
            return False
        node = node[key]
    return True


def set_path(target: dict, path: tuple, source) -> None:
    """Copy ``path`` from ``source`` into ``target``; absent in source means cleared."""
    if not path:
        return
    src = source
    for key in path:
        src = src.get(key) if isinstance(src, dict) else None
        if src is None:
            break
    node = target
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            if src is None:
                return
            node[key] = {}
        node = node[key]
    if src is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = copy.deepcopy(src)


def prune_empty(d: dict) -> dict:
    """Drop keys whose dict value became empty after clearing fields."""
    for k in [k for k, v in d.items() if isinstance(v, dict)]:
        prune_empty(d[k])
        if not d[k] and k not in ("foregroundColor", "rgbColor", "editors"):
            del d[k]
    return d


# ---------------------------------------------------------------------------------------
# A1 notation
# ---------------------------------------------------------------------------------------


def col_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


_SIMPLE_TITLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELLISH_TITLE = re.compile(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*|TRUE|FALSE", re.I)


def quote_title(title: str) -> str:
    """Sheet titles as the API writes them in ranges: bare when plain, else in quotes."""
    if _SIMPLE_TITLE.fullmatch(title) and not _CELLISH_TITLE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def a1(title: str, r1: int, c1: int, r2: int, c2: int) -> str:
    """A bounded range, end exclusive, as the API echoes it: ``Sheet1!A1:D4``/``Sheet1!A1``."""
    start = f"{col_letters(c1)}{r1 + 1}"
    if r2 - r1 == 1 and c2 - c1 == 1:
        return f"{quote_title(title)}!{start}"
    return f"{quote_title(title)}!{start}:{col_letters(c2 - 1)}{r2}"


_ENDPOINT = re.compile(r"\$?([A-Za-z]{0,3})\$?(\d*)")


class RangeParseError(Exception):
    pass


def split_sheet(text: str) -> tuple[str | None, str, bool]:
    """``'It''s'!A1`` -> ("It's", "A1", True). The bool says whether a sheet was named."""
    if text.startswith("'"):
        i, name = 1, []
        while i < len(text):
            if text[i] == "'":
                if text[i + 1: i + 2] == "'":
                    name.append("'")
                    i += 2
                    continue
                break
            name.append(text[i])
            i += 1
        else:
            raise RangeParseError(text)
        rest = text[i + 1:]
        if rest and not rest.startswith("!"):
            raise RangeParseError(text)
        return "".join(name), rest[1:], True
    if "!" in text:
        name, _, rest = text.rpartition("!")
        return name, rest, True
    return None, text, False


def parse_cells(text: str) -> tuple:
    """The cell part of A1 notation as (r1, c1, r2, c2), end exclusive, None = open."""
    if text == "":
        return (None, None, None, None)
    parts = text.split(":")
    if len(parts) > 2:
        raise RangeParseError(text)
    ends = []
    for part in parts:
        m = _ENDPOINT.fullmatch(part)
        if not m or not (m.group(1) or m.group(2)) or m.group(2) == "0":
            raise RangeParseError(text)
        col = col_index(m.group(1)) if m.group(1) else None
        row = int(m.group(2)) - 1 if m.group(2) else None
        ends.append((row, col))
    if len(ends) == 1:
        row, col = ends[0]
        if row is None or col is None:
            raise RangeParseError(text)
        return (row, col, row + 1, col + 1)
    (ra, ca), (rb, cb) = ends
    r1 = ra if ra is not None else 0
    c1 = ca if ca is not None else 0
    r2 = rb + 1 if rb is not None else None
    c2 = cb + 1 if cb is not None else None
    if ra is None and rb is not None:
        r1 = 0
    if r2 is not None and r2 <= r1:
        r1, r2 = r2 - 1, r1 + 1
    if c2 is not None and c2 <= c1:
        c1, c2 = c2 - 1, c1 + 1
    return (r1, c1, r2, c2)


# ---------------------------------------------------------------------------------------
# Numbers, dates and formats (locale en_US)
# ---------------------------------------------------------------------------------------

EPOCH = dt.datetime(1899, 12, 30)
DATE_TYPES = ("DATE", "TIME", "DATE_TIME")
DEFAULT_PATTERNS = {
    "DATE": "M/d/yyyy",
    "TIME": "h:mm:ss am/pm",
    "DATE_TIME": "M/d/yyyy H:mm:ss",
    "NUMBER": "#,##0.00",
    "PERCENT": "0.00%",
    "CURRENCY": '"$"#,##0.00',
    "SCIENTIFIC": "0.00E+00",
}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def to_serial(moment: dt.datetime) -> float:
    """A naive date-time as a spreadsheet serial number (days since 1899-12-30)."""
    delta = moment - EPOCH
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def from_serial(serial: float) -> dt.datetime:
    millis = round(serial * 86400000)
    return EPOCH + dt.timedelta(milliseconds=millis)


def format_general(x: float) -> str:
    """The "automatic" number format: integers as is, up to 10 decimals, 1E+15 past that."""
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e15 or ax < 1e-9:
        mantissa, exp = f"{x:.5E}".split("E")
        mantissa = mantissa.rstrip("0").rstrip(".")
        e = int(exp)
        return f"{mantissa}E{'+' if e >= 0 else '-'}{abs(e):02d}"
    if float(x).is_integer():
        return str(int(x))
    text = f"{float(f'{x:.15g}'):.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _split_sections(pattern: str) -> list[str]:
    sections, buf, quoted, i = [], [], False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "\\" and i + 1 < len(pattern):
            buf.append(pattern[i: i + 2])
            i += 2
            continue
        elif ch == ";" and not quoted:
            sections.append("".join(buf))
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    sections.append("".join(buf))
    return sections


def _number_tokens(section: str) -> list[tuple[str, str]]:
    """Split a number-format section into ('lit', text) and ('num', placeholders) runs."""
    out, i = [], 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            j = section.find('"', i + 1)
            j = len(section) if j < 0 else j
            out.append(("lit", section[i + 1: j]))
            i = j + 1
        elif ch == "\\":
            out.append(("lit", section[i + 1: i + 2]))
            i += 2
        elif ch in "0#?,.":
            j = i
            while j < len(section) and (section[j] in "0#?,." or (
                    section[j] in "Ee" and section[j + 1: j + 2] in ("+", "-"))):
                if section[j] in "Ee":
                    j += 2
                    while j < len(section) and section[j] in "0#":
                        j += 1
                    break
                j += 1
            out.append(("num", section[i:j]))
            i = j
        elif ch == "_" or ch == "*":
            i += 2
        elif ch == "[":
            j = section.find("]", i)
            i = len(section) if j < 0 else j + 1
        else:
            out.append(("lit", ch))
            i += 1
    return out


def _render_number(x: float, spec: str, percent: bool) -> str:
    """One run of placeholders (``#,##0.00``, ``0%``, ``0.00E+00``) for a value >= 0."""
    if percent:
        x *= 100
    exp_part = ""
    m = re.search(r"[Ee][+-]", spec)
    if m:
        spec, exp_part = spec[: m.start()], spec[m.start():]
    int_spec, _, dec_spec = spec.partition(".")
    grouping = "," in int_spec
    int_spec, dec_spec = int_spec.replace(",", ""), dec_spec.replace(",", "")
    min_int = int_spec.count("0")
    min_dec, max_dec = dec_spec.count("0"), len(dec_spec)
    exponent = 0
    if exp_part and x != 0:
        exponent = math.floor(math.log10(abs(x)))
        x = x / 10**exponent
        if round(abs(x), max_dec) >= 10:
            exponent += 1
            x /= 10
    whole, _, frac = f"{abs(x):.{max_dec}f}".partition(".")
    frac = frac.rstrip("0").ljust(min_dec, "0")
    whole = whole.lstrip("0").rjust(min_int, "0")
    if grouping and whole:
        whole = f"{int(whole):,}"
    out = whole + ("." + frac if frac else "")
    if exp_part:
        digits = max(len(exp_part) - 2, 1)
        sign = "-" if exponent < 0 else ("+" if exp_part[1] == "+" else "")
        out += f"E{sign}{abs(exponent):0{digits}d}"
    return out or "0"


def format_number(x: float, pattern: str) -> str:
    sections = _split_sections(pattern)
    negative = x < 0
    if negative and len(sections) > 1:
        section, x, sign = sections[1], -x, ""
    elif x == 0 and len(sections) > 2:
        section, sign = sections[2], ""
    else:
        section, sign = sections[0], "-" if negative else ""
        x = abs(x)
    if section.strip().lower() in ("", "general"):
        return sign + format_general(x)
    tokens = _number_tokens(section)
    percent = any(kind == "lit" and text == "%" for kind, text in tokens)
    out, done = [], False
    for kind, text in tokens:
        if kind == "num" and not done:
            out.append(_render_number(x, text, percent))
            done = True
        elif kind == "lit":
            out.append(text)
    text = "".join(out)  # a section without placeholders shows only its text
    if sign and text.strip("0.,%E+ ") and not text.startswith("-"):
        text = sign + text
    return text


_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|am/pm|AM/PM|a/p|A/P|\[h+\]|\[m+\]|\[s+\]|yyyy|yy|y|mmmmm|mmmm|mmm|mm|m|'
    r"dddd|ddd|dd|d|hh|h|ss|s|\.0+|.", re.I)


def format_date(serial: float, pattern: str) -> str:
    moment = from_serial(serial)
    tokens = _DATE_TOKEN.findall(pattern)
    twelve = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    kinds = []
    for t in tokens:
        low = t.lower()
        kinds.append(low[0] if low[:1] in "ymdhs" and not low.startswith("\\") else low)
    out = []
    for i, t in enumerate(tokens):
        low = t.lower()
        if low.startswith('"'):
            out.append(t[1:-1])
        elif low.startswith("\\"):
            out.append(t[1:])
        elif low in ("am/pm", "a/p"):
            pm = moment.hour >= 12
            text = ("PM" if pm else "AM") if low == "am/pm" else ("P" if pm else "A")
            out.append(text if t[0].isupper() or low == "am/pm" else text.lower())
        elif low.startswith("y"):
            out.append(f"{moment.year % 100:02d}" if len(low) <= 2 else f"{moment.year}")
        elif low.startswith("m") and not low.startswith("["):
            prev = next((k for k in reversed(kinds[:i]) if k in "ymdhs"), "")
            nxt = next((k for k in kinds[i + 1:] if k in "ymdhs"), "")
            if len(low) <= 2 and (prev == "h" or nxt == "s"):
                out.append(f"{moment.minute:02d}" if len(low) == 2 else str(moment.minute))
            elif len(low) == 1:
                out.append(str(moment.month))
            elif len(low) == 2:
                out.append(f"{moment.month:02d}")
            elif len(low) == 3:
                out.append(MONTHS[moment.month - 1][:3])
            elif len(low) == 4:
                out.append(MONTHS[moment.month - 1])
            else:
                out.append(MONTHS[moment.month - 1][0])
        elif low.startswith("d"):
            if len(low) == 1:
                out.append(str(moment.day))
            elif len(low) == 2:
                out.append(f"{moment.day:02d}")
            elif len(low) == 3:
                out.append(DAYS[moment.weekday()][:3])
            else:
                out.append(DAYS[moment.weekday()])
        elif low.startswith("h"):
            hour = moment.hour
            if twelve:
                hour = hour % 12 or 12
            out.append(f"{hour:02d}" if len(low) == 2 else str(hour))
        elif low.startswith("s"):
            out.append(f"{moment.second:02d}" if len(low) == 2 else str(moment.second))
        elif low.startswith("[h"):
            out.append(str(int(serial * 24)))
        elif low.startswith("[m"):
            out.append(str(int(serial * 1440)))
        elif low.startswith("[s"):
            out.append(str(int(serial * 86400)))
        elif low.startswith(".0"):
            digits = len(low) - 1
            frac = moment.microsecond / 1e6
            out.append("." + f"{frac:.{digits}f}"[2:])
        else:
            out.append(t)
    return "".join(out)


def format_value(value, number_format: dict | None) -> str:
    """A cell's formattedValue: its value shown through its number format."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    kind = (number_format or {}).get("type") or ""
    pattern = (number_format or {}).get("pattern") or DEFAULT_PATTERNS.get(kind, "")
    if not pattern or kind == "TEXT":
        return format_general(value)
    if kind in DATE_TYPES:
        if value < 0 or value > 2958465:
            return format_general(value)
        return format_date(value, pattern)
    return format_number(value, pattern)


_NUM = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+)(\.\d*)?")
_PERCENT = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))\s*%")
_CURRENCY = re.compile(r"([+-]?)\$\s?(\d{1,3}(?:,\d{3})*|\d+)(\.\d+)?")
_TIME = r"(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?(?:\s*([AaPp])[Mm])?"
_DATE_FORMS = [
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), "ymd", "yyyy-mm-dd"),
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), "ymd", "yyyy/mm/dd"),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), "mdy", "M/d/yyyy"),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2})"), "mdy", "M/d/yy"),
]


def _parse_time(text: str) -> tuple[float, str] | None:
    m = re.fullmatch(_TIME, text)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    second = int(m.group(3) or 0)
    frac = float(m.group(4) or 0)
    ampm = m.group(5)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    seconds = hour * 3600 + minute * 60 + second + frac
    with_seconds = m.group(3) is not None
    if ampm:
        pattern = "h:mm:ss am/pm" if with_seconds else "h:mm am/pm"
    else:
        pattern = "H:mm:ss" if with_seconds else "H:mm"
    return seconds / 86400, pattern


def parse_user_entered(text: str) -> tuple[dict, dict | None]:
    """What Sheets makes of typed text: (userEnteredValue, number format it implies)."""
    if text.startswith("="):
        return {"formulaValue": text}, None
    if text.startswith("'"):
        return {"stringValue": text[1:]}, None
    s = text.strip()
    if s.upper() in ("TRUE", "FALSE"):
        return {"boolValue": s.upper() == "TRUE"}, None
    if _NUM.fullmatch(s):
        return {"numberValue": float(s)}, None
    m = _GROUPED.fullmatch(s)
    if m:
        value = float(m.group(1) + m.group(2).replace(",", "") + (m.group(3) or ""))
        decimals = len(m.group(3) or ".") - 1
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return {"numberValue": value}, {"type": "NUMBER", "pattern": pattern}
    m = _PERCENT.fullmatch(s)
    if m:
        decimals = len(m.group(1).partition(".")[2])
        pattern = "0" + ("." + "0" * decimals if decimals else "") + "%"
        return {"numberValue": float(m.group(1)) / 100}, {"type": "PERCENT", "pattern": pattern}
    m = _CURRENCY.fullmatch(s)
    if m:
        value = float(m.group(1) + m.group(2).replace(",", "") + (m.group(3) or ""))
        return {"numberValue": value}, {"type": "CURRENCY", "pattern": '"$"#,##0.00'}
    for regex, order, pattern in _DATE_FORMS:
        m = re.fullmatch(regex.pattern + r"(?:\s+(" + _TIME + r"))?", s)
        if not m:
            continue
        a, b, c = int(m.group(1)), int(m.group(2)), int(m.group(3))
        year, month, day = (a, b, c) if order == "ymd" else (c, a, b)
        if year < 100:
            year += 2000 if year < 30 else 1900
        try:
            serial = to_serial(dt.datetime(year, month, day))
        except ValueError:
            break
        if m.group(4):
            parsed = _parse_time(m.group(4))
            if parsed is None:
                break
            fraction, time_pattern = parsed
            time_pattern = "h:mm:ss am/pm" if "am/pm" in time_pattern else "H:mm:ss"
            return ({"numberValue": serial + fraction},
                    {"type": "DATE_TIME", "pattern": f"{pattern} {time_pattern}"})
        return {"numberValue": serial}, {"type": "DATE", "pattern": pattern}
    parsed = _parse_time(s)
    if parsed is not None:
        return {"numberValue": parsed[0]}, {"type": "TIME", "pattern": parsed[1]}
    return {"stringValue": text}, None


def coerce_number(text: str) -> float | None:
    """Text a formula may treat as a number (as USER_ENTERED would read it)."""
    value, _ = parse_user_entered(text)
    if "numberValue" in value:
        return value["numberValue"]
    return None


# ---------------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------------


class ErrorVal:
    """A formula error: shown as ``#DIV/0!`` and carried as ``errorValue`` in grid data."""

    DISPLAY = {"DIVIDE_BY_ZERO": "#DIV/0!", "VALUE": "#VALUE!", "REF": "#REF!",
               "NAME": "#NAME?", "NUM": "#NUM!", "N_A": "#N/A", "ERROR": "#ERROR!",
               "NULL_VALUE": "#NULL!"}

    def __init__(self, kind: str, message: str):
        self.kind, self.message = kind, message

    @property
    def display(self) -> str:
        return self.DISPLAY[self.kind]


class FormulaParseError(Exception):
    pass


_REF = r"\$?[A-Za-z]{1,3}\$?\d+"
_SHEET = r"(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!"
_FORMULA_TOKEN = re.compile(
    rf"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<str>"(?:[^"]|"")*")
    |(?P<ref>(?:{_SHEET})?{_REF}(?::{_REF})?)(?![A-Za-z0-9_(])
    |(?P<cols>(?:{_SHEET})?\$?[A-Za-z]{{1,3}}:\$?[A-Za-z]{{1,3}})(?![A-Za-z0-9_(])
    |(?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    |(?P<op><=|>=|<>|[-+*/^&=<>%(),:;])
    )""", re.X)


def tokenize_formula(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _FORMULA_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FormulaParseError(text)
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def _ref_parts(text: str) -> tuple[str | None, str]:
    if "!" not in text:
        return None, text
    sheet, _, cells = text.rpartition("!")
    if sheet.startswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, cells


class FormulaParser:
    """Recursive descent over Sheets' operator precedence (comparison lowest)."""

    def __init__(self, tokens):
        self.tokens, self.i = tokens, 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, value):
        kind, text = self.take()
        if text != value:
            raise FormulaParseError(value)

    def parse(self):
        node = self.comparison()
        if self.i != len(self.tokens):
            raise FormulaParseError("trailing")
        return node

    def comparison(self):
        node = self.concat()
        while self.peek()[1] in ("=", "<>", "<", ">", "<=", ">="):
            op = self.take()[1]
            node = ("bin", op, node, self.concat())
        return node

    def concat(self):
        node = self.additive()
        while self.peek()[1] == "&":
            self.take()
            node = ("bin", "&", node, self.additive())
        return node

    def additive(self):
        node = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = ("bin", op, node, self.term())
        return node

    def term(self):
        node = self.power()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            node = ("bin", op, node, self.power())
        return node

    def power(self):
        node = self.unary()
        while self.peek()[1] == "^":
            self.take()
            node = ("bin", "^", node, self.unary())
        return node

    def unary(self):
        if self.peek()[1] in ("-", "+"):
            op = self.take()[1]
            inner = self.unary()
            return ("neg", inner) if op == "-" else inner
        node = self.primary()
        while self.peek()[1] == "%":
            self.take()
            node = ("pct", node)
        return node

    def primary(self):
        kind, text = self.take()
        if kind == "num":
            return ("val", float(text))
        if kind == "str":
            return ("val", text[1:-1].replace('""', '"'))
        if kind == "ref":
            sheet, cells = _ref_parts(text)
            r1, c1, r2, c2 = parse_cells(cells.replace("$", ""))
            if ":" in cells:
                return ("range", sheet, r1, c1, r2, c2)
            return ("ref", sheet, r1, c1)
        if kind == "cols":
            sheet, cells = _ref_parts(text)
            r1, c1, r2, c2 = parse_cells(cells.replace("$", ""))
            return ("range", sheet, 0, c1, None, c2)
        if kind == "name":
            upper = text.upper()
            if self.peek()[1] == "(":
                self.take()
                args = []
                if self.peek()[1] != ")":
                    args.append(self.comparison())
                    while self.peek()[1] in (",", ";"):
                        self.take()
                        args.append(self.comparison())
                self.expect(")")
                return ("call", upper, args)
            if upper in ("TRUE", "FALSE"):
                return ("val", upper == "TRUE")
            return ("name", text)
        if text == "(":
            node = self.comparison()
            self.expect(")")
            return node
        raise FormulaParseError(text)


class Evaluator:
    """Evaluates one spreadsheet's formulas on demand, caching results per request."""

    def __init__(self, book: Spreadsheet, now: dt.datetime):
        self.book, self.now = book, now
        self.cache: dict = {}
        self.active: set = set()

    # What a cell holds, after evaluation: (value, number format a formula implies).
    def cell(self, sheet: Sheet, r: int, c: int):
        key = (sheet.sheet_id, r, c)
        if key in self.cache:
            return self.cache[key]
        data = sheet.cells.get((r, c))
        uev = data.get("userEnteredValue") if data else None
        if not uev:
            return None, None
        if "formulaValue" not in uev:
            value = next(iter(uev.values()))
            return (float(value) if isinstance(value, int) and not isinstance(value, bool)
                    else value), None
        if key in self.active:
            return ErrorVal("REF", "Circular dependency detected. To resolve with iterative"
                                   " calculation, see File > Settings."), None
        self.active.add(key)
        try:
            result = self.formula(sheet, uev["formulaValue"])
        finally:
            self.active.discard(key)
        self.cache[key] = result
        return result

    def formula(self, sheet: Sheet, text: str):
        try:
            node = FormulaParser(tokenize_formula(text[1:])).parse()
        except (FormulaParseError, RangeParseError):
            return ErrorVal("ERROR", "Formula parse error."), None
        self.implied = None
        value = self.eval(sheet, node)
        if isinstance(value, list):
            value = value[0][0] if value and value[0] else None
        return value, self.implied

    def sheet_of(self, sheet: Sheet, name: str | None) -> Sheet | None:
        return sheet if name is None else self.book.sheet_by_title(name)

    def eval(self, sheet: Sheet, node):
        kind = node[0]
        if kind == "val":
            return node[1]
        if kind == "ref":
            target = self.sheet_of(sheet, node[1])
            if target is None:
                return ErrorVal("REF", f"Unresolved sheet name '{node[1]}'.")
            return self.cell(target, node[2], node[3])[0]
        if kind == "range":
            target = self.sheet_of(sheet, node[1])
            if target is None:
                return ErrorVal("REF", f"Unresolved sheet name '{node[1]}'.")
            r2 = node[4] if node[4] is not None else target.rows
            c2 = node[5] if node[5] is not None else target.cols
            r2 = min(r2, max([r + 1 for r, _ in target.cells] or [0]))
            return [[self.cell(target, r, c)[0] for c in range(node[3], c2)]
                    for r in range(node[2], r2)]
        if kind == "name":
            return ErrorVal("NAME", f"Unknown range name: '{node[1].upper()}'.")
        if kind == "neg":
            v = self.number(self.eval(sheet, node[1]), "MINUS")
            return v if isinstance(v, ErrorVal) else -v
        if kind == "pct":
            v = self.number(self.eval(sheet, node[1]), "UNARY_PERCENT")
            return v if isinstance(v, ErrorVal) else v / 100
        if kind == "bin":
            return self.binary(node[1], self.eval(sheet, node[2]), self.eval(sheet, node[3]))
        if kind == "call":
            return self.call(sheet, node[1], node[2])
        raise FormulaParseError(kind)

    @staticmethod
    def scalar(value):
        if isinstance(value, list):
            return value[0][0] if value and value[0] else None
        return value

    def number(self, value, fn: str = "", arg: int = 1):
        value = self.scalar(value)
        if isinstance(value, ErrorVal):
            return value
        if value is None:
            return 0.0
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, float | int):
            return float(value)
        parsed = coerce_number(value)
        if parsed is None:
            return ErrorVal("VALUE", f"Function {fn} parameter {arg} expects number values. "
                                     f"But '{value}' is a text and cannot be coerced to a "
                                     "number.")
        return parsed

    @staticmethod
    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, float | int):
            return format_general(float(value))
        return value

    def binary(self, op: str, a, b):
        a, b = self.scalar(a), self.scalar(b)
        for v in (a, b):
            if isinstance(v, ErrorVal):
                return v
        if op == "&":
            return self.text(a) + self.text(b)
        if op in ("=", "<>", "<", ">", "<=", ">="):
            return self.compare(op, a, b)
        names = {"+": "ADD", "-": "MINUS", "*": "MULTIPLY", "/": "DIVIDE", "^": "POW"}
        x, y = self.number(a, names[op], 1), self.number(b, names[op], 2)
        for v in (x, y):
            if isinstance(v, ErrorVal):
                return v
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "/":
            if y == 0:
                return ErrorVal("DIVIDE_BY_ZERO", "Function DIVIDE parameter 2 cannot be zero.")
            return x / y
        try:
            return float(x**y)
        except (OverflowError, ZeroDivisionError, TypeError):
            return ErrorVal("NUM", "Function POW caused a number overflow.")

    @staticmethod
    def compare(op: str, a, b) -> bool:
        def rank(v):
            if v is None:
                return (0, 0)
            if isinstance(v, bool):
                return (3, v)
            if isinstance(v, float | int):
                return (1, v)
            return (2, v.lower())

        if a is None:
            a = "" if isinstance(b, str) else (False if isinstance(b, bool) else 0.0)
        if b is None:
            b = "" if isinstance(a, str) else (False if isinstance(a, bool) else 0.0)
        ka, kb = rank(a), rank(b)
        return {"=": ka == kb, "<>": ka != kb, "<": ka < kb, ">": ka > kb, "<=": ka <= kb,
                ">=": ka >= kb}[op]

    @staticmethod
    def flat(values) -> list:
        out = []
        for v in values:
            if isinstance(v, list):
                for row in v:
                    out.extend(x for x in row if x is not None and not isinstance(x, str | bool))
            else:
                out.append(v)
        return out

    def call(self, sheet: Sheet, name: str, args: list):
        if name == "IF":
            if not 2 <= len(args) <= 3:
                return ErrorVal("N_A", f"Wrong number of arguments to IF. Expected between 2 "
                                       f"and 3 arguments, but got {len(args)} arguments.")
            cond = self.scalar(self.eval(sheet, args[0]))
            if isinstance(cond, ErrorVal):
                return cond
            truth = bool(self.number(cond, "IF")) if not isinstance(cond, str) else bool(cond)
            if truth:
                return self.eval(sheet, args[1])
            return self.eval(sheet, args[2]) if len(args) == 3 else False
        if name == "IFERROR":
            value = self.scalar(self.eval(sheet, args[0])) if args else None
            if isinstance(value, ErrorVal):
                return self.eval(sheet, args[1]) if len(args) > 1 else None
            return value
        values = [self.eval(sheet, a) for a in args]
        if name in ("SUM", "AVERAGE", "MIN", "MAX", "COUNT"):
            nums = []
            for v in self.flat(values):
                if name == "COUNT":
                    if isinstance(v, float | int) and not isinstance(v, bool):
                        nums.append(v)
                    continue
                n = self.number(v, name)
                if isinstance(n, ErrorVal):
                    return n
                nums.append(n)
            if name == "SUM":
                return float(sum(nums))
            if name == "COUNT":
                return float(len(nums))
            if name == "AVERAGE":
                if not nums:
                    return ErrorVal("DIVIDE_BY_ZERO", "Evaluation of function AVERAGE caused "
                                                      "a divide by zero error.")
                return sum(nums) / len(nums)
            if not nums:
                return 0.0
            return float(min(nums) if name == "MIN" else max(nums))
        if name == "COUNTA":
            count = 0
            for v in values:
                rows = v if isinstance(v, list) else [[v]]
                count += sum(1 for row in rows for x in row if x is not None and x != "")
            return float(count)
        scalars = [self.scalar(v) for v in values]
        for v in scalars:
            if isinstance(v, ErrorVal) and name != "ISBLANK":
                return v
        if name in ("AND", "OR"):
            truths = [bool(self.number(v, name)) for v in self.flat(values) if v is not None]
            return all(truths) if name == "AND" else any(truths)
        if name == "NOT":
            return not bool(self.number(scalars[0], name))
        if name == "ISBLANK":
            return scalars[0] is None
        if name in ("ABS", "INT", "ROUND", "MOD"):
            nums = [self.number(v, name, i + 1) for i, v in enumerate(scalars)]
            for n in nums:
                if isinstance(n, ErrorVal):
                    return n
            if name == "ABS":
                return abs(nums[0])
            if name == "INT":
                return float(math.floor(nums[0]))
            if name == "ROUND":
                places = int(nums[1]) if len(nums) > 1 else 0
                factor = 10**places
                return math.floor(abs(nums[0]) * factor + 0.5) / factor * (
                    -1 if nums[0] < 0 else 1)
            if nums[1] == 0:
                return ErrorVal("DIVIDE_BY_ZERO", "Function MOD parameter 2 cannot be zero.")
            return nums[0] % nums[1]
        if name in ("LEN", "UPPER", "LOWER", "TRIM"):
            text = self.text(scalars[0] if scalars else None)
            return {"LEN": lambda: float(len(text)), "UPPER": text.upper,
                    "LOWER": text.lower, "TRIM": lambda: " ".join(text.split())}[name]()
        if name in ("CONCATENATE", "CONCAT"):
            return "".join(self.text(v) for v in scalars)
        if name == "HYPERLINK":  # shows its label (else the address), as Sheets does
            return self.text(scalars[1] if len(scalars) > 1 else scalars[0] if scalars
                             else None)
        if name == "TODAY":
            self.implied = {"type": "DATE", "pattern": "M/d/yyyy"}
            return float(math.floor(to_serial(self.now)))
        if name == "NOW":
            self.implied = {"type": "DATE_TIME", "pattern": "M/d/yyyy H:mm:ss"}
            return to_serial(self.now)
        if name == "DATE":
            nums = [self.number(v, name, i + 1) for i, v in enumerate(scalars)]
            for n in nums:
                if isinstance(n, ErrorVal):
                    return n
            year, month, day = (int(n) for n in nums[:3])
            year += 1900 if year < 1900 else 0
            month0 = month - 1
            year, month0 = year + month0 // 12, month0 % 12
            base = dt.datetime(year, month0 + 1, 1) + dt.timedelta(days=day - 1)
            self.implied = {"type": "DATE", "pattern": "M/d/yyyy"}
            return to_serial(base)
        return ErrorVal("NAME", f"Unknown function: '{name}'.")


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------


class Sheet:
    """One tab. Cells are a sparse dict (row, col) -> CellData-shaped dict, never mutated
    in place (replaced instead), so a snapshot is a shallow copy of the dict."""

    def __init__(self, props: dict):
        self.props = props
        self.cells: dict = {}
        self.protected: list = []
        self.cond_formats: list = []
        self.merges: list = []
        self.row_meta: dict = {}
        self.col_meta: dict = {}
        self.basic_filter: dict | None = None

    @property
    def sheet_id(self) -> int:
        return self.props["sheetId"]

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def rows(self) -> int:
        return self.props["gridProperties"]["rowCount"]

    @property
    def cols(self) -> int:
        return self.props["gridProperties"]["columnCount"]

    def clone(self) -> Sheet:
        other = Sheet(copy.deepcopy(self.props))
        other.cells = dict(self.cells)
        other.protected = copy.deepcopy(self.protected)
        other.cond_formats = copy.deepcopy(self.cond_formats)
        other.merges = copy.deepcopy(self.merges)
        other.row_meta = copy.deepcopy(self.row_meta)
        other.col_meta = copy.deepcopy(self.col_meta)
        other.basic_filter = copy.deepcopy(self.basic_filter)
        return other

    def put(self, r: int, c: int, cell: dict) -> None:
        if cell:
            self.cells[(r, c)] = cell
        else:
            self.cells.pop((r, c), None)

    def props_json(self) -> dict:
        out = copy.deepcopy(self.props)
        grid = out["gridProperties"]
        for key in ("frozenRowCount", "frozenColumnCount"):
            if not grid.get(key):
                grid.pop(key, None)
        for key in ("hideGridlines", "rowGroupControlAfter", "columnGroupControlAfter"):
            if grid.get(key) is False:
                grid.pop(key)
        for key in ("hidden", "rightToLeft"):
            if out.get(key) is False:
                out.pop(key)
        return out


class Spreadsheet:
    """A spreadsheet, which is also a Drive file (same id)."""

    mime = SPREADSHEET_MIME

    def __init__(self, sid: str, title: str, time_zone: str, now: str):
        self.id = sid
        self.props = {"title": title, "locale": "en_US", "autoRecalc": "ON_CHANGE",
                      "timeZone": time_zone, "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
                      "spreadsheetTheme": copy.deepcopy(SPREADSHEET_THEME)}
        self.sheets: list[Sheet] = []
        self.named_ranges: list = []
        self.created = self.modified = now
        self.parents: list = []

    @property
    def name(self) -> str:
        return self.props["title"]

    def clone(self) -> Spreadsheet:
        other = copy.copy(self)
        other.props = copy.deepcopy(self.props)
        other.sheets = [s.clone() for s in self.sheets]
        other.named_ranges = copy.deepcopy(self.named_ranges)
        other.parents = list(self.parents)
        return other

    def sheet_by_id(self, sheet_id) -> Sheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def sheet_by_title(self, title: str) -> Sheet | None:
        exact = next((s for s in self.sheets if s.title == title), None)
        if exact is not None:
            return exact
        folded = title.casefold()
        return next((s for s in self.sheets if s.title.casefold() == folded), None)

    def first_visible(self) -> Sheet:
        return next((s for s in self.sheets if not s.props.get("hidden")), self.sheets[0])

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.props["index"] = i

    def total_cells(self) -> int:
        return sum(s.rows * s.cols for s in self.sheets)

    def zone(self) -> dt.tzinfo:
        try:
            return ZoneInfo(self.props["timeZone"])
        except (ZoneInfoNotFoundError, ValueError):
            return dt.UTC


class DriveFile:
    """A Drive file that is not a spreadsheet (a folder, say): metadata only."""

    def __init__(self, fid: str, name: str, mime: str, now: str):
        self.id, self.name, self.mime = fid, name, mime
        self.created = self.modified = now
        self.parents: list = []


def drive_resource(f) -> dict:
    out = {"kind": "drive#file", "id": f.id, "name": f.name, "mimeType": f.mime,
           "starred": False, "trashed": False, "explicitlyTrashed": False,
           "createdTime": f.created, "modifiedTime": f.modified, "version": "1",
           "ownedByMe": True, "capabilities": {"canEdit": True}}
    if f.parents:
        out["parents"] = list(f.parents)
    if f.mime == SPREADSHEET_MIME:
        out["webViewLink"] = DOCS_URL % f.id + "/edit?usp=drivesdk"
    return out


# ---------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------

_COLOR_PAIRS = (("backgroundColor", "backgroundColorStyle"),
                ("foregroundColor", "foregroundColorStyle"), ("color", "colorStyle"),
                ("tabColor", "tabColorStyle"))


def _clean_color(color: dict) -> dict:
    return {k: v for k, v in color.items() if v}


def _pair_colors(d: dict) -> None:
    for plain, style in _COLOR_PAIRS:
        if isinstance(d.get(style), dict) and "rgbColor" in d[style]:
            rgb = _clean_color(d[style]["rgbColor"])
            d[style] = {"rgbColor": rgb}
            d[plain] = dict(rgb)
        elif isinstance(d.get(plain), dict):
            d[plain] = _clean_color(d[plain])
            d[style] = {"rgbColor": dict(d[plain])}


def normalize_format(fmt: dict) -> dict:
    """As Google returns a format: each color twinned with its ``...Style``, zeros left out."""
    fmt = copy.deepcopy(fmt)
    _pair_colors(fmt)
    if isinstance(fmt.get("textFormat"), dict):
        _pair_colors(fmt["textFormat"])
    for side in (fmt.get("borders") or {}).values():
        if isinstance(side, dict):
            _pair_colors(side)
    return fmt


def _partner_paths(paths: list[tuple]) -> list[tuple]:
    """A mask naming ``backgroundColor`` also sets ``backgroundColorStyle``, and back."""
    out = list(paths)
    for path in paths:
        for plain, style in _COLOR_PAIRS:
            if path and path[-1] == plain:
                out.append(path[:-1] + (style,))
            elif path and path[-1] == style:
                out.append(path[:-1] + (plain,))
    return out


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def normalize_rule(rule: dict) -> dict:
    """A conditional-format rule as stored and returned."""
    rule = copy.deepcopy(rule)
    rule["ranges"] = [clean_grid_range(r) for r in rule.get("ranges", [])]
    boolean = rule.get("booleanRule")
    if isinstance(boolean, dict) and isinstance(boolean.get("format"), dict):
        boolean["format"] = normalize_format(boolean["format"])
    gradient = rule.get("gradientRule")
    if isinstance(gradient, dict):
        for point in gradient.values():
            if isinstance(point, dict):
                _pair_colors(point)
    return rule


def clean_grid_range(gr: dict) -> dict:
    """GridRange as echoed: ``sheetId`` 0 left out, given indexes kept (even 0)."""
    out = {}
    if gr.get("sheetId"):
        out["sheetId"] = gr["sheetId"]
    for key in ("startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex"):
        if gr.get(key) is not None:
            out[key] = gr[key]
    return out


def exceeds_grid(sheet: Sheet, r1: int, c1: int, r2: int, c2: int) -> ApiError:
    text = a1(sheet.title, r1, c1, r2, c2)
    return bad_request(f"Range ({text}) exceeds grid limits. Max rows: {sheet.rows}, max "
                       f"columns: {sheet.cols}")


def grid_bounds(book: Spreadsheet, gr) -> tuple[Sheet, int, int, int, int]:
    """A request's GridRange, checked: (sheet, r1, c1, r2, c2), open ends closed."""
    if not isinstance(gr, dict):
        raise RequestError("range must be a GridRange")
    sheet = book.sheet_by_id(gr.get("sheetId", 0))
    if sheet is None:
        raise RequestError(f"No grid with id: {gr.get('sheetId', 0)}")
    r1, r2 = gr.get("startRowIndex") or 0, gr.get("endRowIndex")
    c1, c2 = gr.get("startColumnIndex") or 0, gr.get("endColumnIndex")
    r2 = sheet.rows if r2 is None else r2
    c2 = sheet.cols if c2 is None else c2
    if r1 < 0 or c1 < 0 or r2 < r1 or c2 < c1:
        raise RequestError(f"Invalid range: startRowIndex[{r1}], endRowIndex[{r2}], "
                           f"startColumnIndex[{c1}], endColumnIndex[{c2}]")
    if r2 > sheet.rows or c2 > sheet.cols:
        raise RequestError(exceeds_grid(sheet, r1, c1, r2, c2).message)
    return sheet, r1, c1, r2, c2


# ---------------------------------------------------------------------------------------
# Ranges in A1 notation, values, grid data
# ---------------------------------------------------------------------------------------


def resolve_range(book: Spreadsheet, text: str) -> tuple[Sheet, int, int, int, int, tuple]:
    """An A1 range of the request, checked against the grid: (sheet, r1, c1, r2, c2, raw),
    end exclusive and open ends closed at the grid's edge; raw keeps the open ends."""
    if not isinstance(text, str) or not text:
        raise bad_request(f"Unable to parse range: {text}")
    try:
        name, cells, named = split_sheet(text)
        if named:
            bounds, sheet = parse_cells(cells), book.sheet_by_title(name)
        else:
            try:  # bare text: a cell range of the first visible sheet, else a sheet title
                bounds, sheet = parse_cells(cells), book.first_visible()
            except RangeParseError:
                bounds, sheet = (None, None, None, None), book.sheet_by_title(text)
    except RangeParseError:
        raise bad_request(f"Unable to parse range: {text}") from None
    if sheet is None:
        raise bad_request(f"Unable to parse range: {text}")
    r1, c1, r2, c2 = bounds
    r1, c1 = r1 or 0, c1 or 0
    rr2 = sheet.rows if r2 is None else r2
    cc2 = sheet.cols if c2 is None else c2
    if r1 >= sheet.rows or c1 >= sheet.cols or rr2 > sheet.rows or cc2 > sheet.cols:
        raise exceeds_grid(sheet, r1, c1, max(rr2, r1 + 1), max(cc2, c1 + 1))
    return sheet, r1, c1, rr2, cc2, bounds


def render_cell(ev: Evaluator, sheet: Sheet, r: int, c: int, cell: dict, vro: str,
                dtro: str):
    """One cell as values.get shows it under valueRenderOption/dateTimeRenderOption."""
    uev = cell.get("userEnteredValue")
    if not uev:
        return None
    if vro == "FORMULA" and "formulaValue" in uev:
        return uev["formulaValue"]
    value, implied = ev.cell(sheet, r, c)
    if value is None:
        return None
    if isinstance(value, ErrorVal):
        return value.display
    number_format = (cell.get("userEnteredFormat") or {}).get("numberFormat") or implied
    if vro == "FORMATTED_VALUE":
        return format_value(value, number_format)
    if (not isinstance(value, bool) and isinstance(value, float) and number_format
            and number_format.get("type") in DATE_TYPES and dtro == "FORMATTED_STRING"):
        return format_value(value, number_format)
    return value


def render_values(ev: Evaluator, sheet: Sheet, r1: int, c1: int, r2: int, c2: int,
                  vro: str, dtro: str, major: str) -> list:
    """The ``values`` of a ValueRange: trailing empty cells and rows trimmed, inner kept."""
    lines: dict = {}
    for (r, c), cell in sheet.cells.items():
        if r1 <= r < r2 and c1 <= c < c2 and "userEnteredValue" in cell:
            value = render_cell(ev, sheet, r, c, cell, vro, dtro)
            if value is None or value == "":
                continue
            if major == "COLUMNS":
                lines.setdefault(c - c1, {})[r - r1] = value
            else:
                lines.setdefault(r - r1, {})[c - c1] = value
    if not lines:
        return []
    out = []
    for i in range(max(lines) + 1):
        line = lines.get(i)
        out.append([line.get(j, "") for j in range(max(line) + 1)] if line else [])
    return out


def extended_value(value) -> dict:
    if isinstance(value, ErrorVal):
        return {"errorValue": {"type": value.kind, "message": value.message}}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"numberValue": value}


def cell_data(ev: Evaluator, book: Spreadsheet, sheet: Sheet, r: int, c: int, cell: dict):
    """A CellData of grid data (includeGridData or a ``fields`` mask reaching it)."""
    out: dict = {}
    implied = None
    if cell.get("userEnteredValue"):
        out["userEnteredValue"] = copy.deepcopy(cell["userEnteredValue"])
        value, implied = ev.cell(sheet, r, c)
        if value is not None:
            out["effectiveValue"] = extended_value(value)
            number_format = (cell.get("userEnteredFormat") or {}).get("numberFormat") \
                or implied
            out["formattedValue"] = (value.display if isinstance(value, ErrorVal)
                                     else format_value(value, number_format))
    fmt = cell.get("userEnteredFormat")
    if fmt:
        out["userEnteredFormat"] = copy.deepcopy(fmt)
    if fmt or out:
        effective = deep_merge(book.props["defaultFormat"], fmt or {})
        if implied and "numberFormat" not in effective:
            effective["numberFormat"] = implied
        out["effectiveFormat"] = effective
    for key in ("dataValidation", "note", "hyperlink"):
        if key in cell:
            out[key] = copy.deepcopy(cell[key])
    return out


def grid_data(ev: Evaluator, book: Spreadsheet, sheet: Sheet, r1: int, c1: int, r2: int,
              c2: int) -> dict:
    lines: dict = {}
    for (r, c), cell in sheet.cells.items():
        if r1 <= r < r2 and c1 <= c < c2:
            lines.setdefault(r, {})[c] = cell
    out: dict = {}
    if r1:
        out["startRow"] = r1
    if c1:
        out["startColumn"] = c1
    if lines:
        rows = []
        for r in range(r1, max(lines) + 1):
            line = lines.get(r)
            if not line:
                rows.append({})
                continue
            values = []
            for c in range(c1, max(line) + 1):
                cell = line.get(c)
                values.append(cell_data(ev, book, sheet, r, c, cell) if cell else {})
            rows.append({"values": values})
        out["rowData"] = rows
    out["rowMetadata"] = [dict({"pixelSize": ROW_PIXELS}, **sheet.row_meta.get(r, {}))
                          for r in range(r1, r2)]
    out["columnMetadata"] = [dict({"pixelSize": COL_PIXELS}, **sheet.col_meta.get(c, {}))
                             for c in range(c1, c2)]
    return out


# ---------------------------------------------------------------------------------------
# Request checking
# ---------------------------------------------------------------------------------------

SYSTEM_PARAMS = {"fields", "alt", "key", "prettyPrint", "quotaUser", "access_token", "$.xgafv",
                 "callback", "upload_protocol", "uploadType", "oauth_token", "userIp"}
ENUMS = {
    "valueRenderOption": ("value_render_option", "ValueRenderOption",
                          ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")),
    "responseValueRenderOption": ("response_value_render_option", "ValueRenderOption",
                                  ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")),
    "dateTimeRenderOption": ("date_time_render_option", "DateTimeRenderOption",
                             ("SERIAL_NUMBER", "FORMATTED_STRING")),
    "responseDateTimeRenderOption": ("response_date_time_render_option",
                                     "DateTimeRenderOption",
                                     ("SERIAL_NUMBER", "FORMATTED_STRING")),
    "majorDimension": ("major_dimension", "Dimension",
                       ("ROWS", "COLUMNS", "DIMENSION_UNSPECIFIED")),
    "valueInputOption": ("value_input_option", "ValueInputOption",
                         ("RAW", "USER_ENTERED", "INPUT_VALUE_OPTION_UNSPECIFIED")),
    "insertDataOption": ("insert_data_option", "InsertDataOption",
                         ("OVERWRITE", "INSERT_ROWS")),
}
BOOLS = {"includeGridData": "include_grid_data",
         "includeValuesInResponse": "include_values_in_response",
         "excludeTablesInBandedRanges": "exclude_tables_in_banded_ranges"}
SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def check_query(query: dict, allowed: set) -> dict:
    """One value per known parameter (``ranges`` keeps all); unknown names refused."""
    out = {}
    for name, values in query.items():
        if name not in allowed and name not in SYSTEM_PARAMS:
            raise bad_request(f'Invalid JSON payload received. Unknown name "{name}": Cannot '
                              f"bind query parameter. Field '{name}' could not be found in "
                              "request message.", violation=True)
        out[name] = values if name == "ranges" else values[-1]
    for name, (snake, proto, choices) in ENUMS.items():
        if name in out and out[name] not in choices:
            raise invalid_value(snake, f"type.googleapis.com/google.apps.sheets.v4.{proto}",
                                out[name])
    for name, snake in BOOLS.items():
        if name in out:
            if out[name].lower() not in ("true", "false"):
                raise invalid_value(snake, "TYPE_BOOL", out[name])
            out[name] = out[name].lower() == "true"
    return out


def parse_body(raw: bytes) -> dict:
    """The JSON body, refused in Google's words when it is not a JSON object."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
        body = json.loads(text)
    except UnicodeDecodeError:
        raise bad_request("Invalid JSON payload received. Invalid UTF-8.",
                          violation=True) from None
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if text.splitlines() else ""
        start = max(0, exc.colno - 40)
        message = (f"Invalid JSON payload received. Unexpected token.\n{line[start:start + 80]}"
                   f"\n{' ' * (exc.colno - 1 - start)}^")
        raise bad_request(message, violation=True) from None
    if not isinstance(body, dict):
        raise bad_request('Invalid JSON payload received. Unknown name "": Root element must '
                          "be a message.", violation=True)
    return body


def check_fields(body: dict, allowed: tuple, at: str | None = None) -> None:
    for name in body:
        if name not in allowed:
            raise unknown_field(name, at)


def value_rows(vr: dict, where: str, major: str | None = None) -> list:
    """A ValueRange's ``values`` as rows (COLUMNS transposed), each value checked."""
    values = vr.get("values")
    if values is None:
        return []
    if not isinstance(values, list):
        raise invalid_value(f"{where}.values", "type.googleapis.com/google.protobuf.ListValue",
                            values)
    for i, line in enumerate(values):
        if not isinstance(line, list):
            raise invalid_value(f"{where}.values[{i}]",
                                "type.googleapis.com/google.protobuf.ListValue", line)
        for j, v in enumerate(line):
            if isinstance(v, list | dict):
                raise bad_request(f"Invalid values[{i}][{j}]: "
                                  f"{'list_value' if isinstance(v, list) else 'struct_value'} "
                                  f"{json.dumps(v)}")
    major = vr.get("majorDimension") or major or "ROWS"
    if major not in ENUMS["majorDimension"][2]:
        raise invalid_value(f"{where}.major_dimension",
                            "type.googleapis.com/google.apps.sheets.v4.Dimension", major)
    if major == "COLUMNS":
        height = max((len(col) for col in values), default=0)
        return [[col[i] if i < len(col) else None for col in values] for i in range(height)]
    return values


def find_table(sheet: Sheet, r1: int, c1: int, r2: int, c2: int):
    """values.append's "table": the first rows with data in the range (a single cell
    searches right and down from it), running down until a blank row. (top, left, bottom,
    right) inclusive, or None on an empty range."""
    if (r2 - r1, c2 - c1) == (1, 1):
        r2, c2 = sheet.rows, sheet.cols
    filled: dict = {}
    for (r, c), cell in sheet.cells.items():
        if r1 <= r < r2 and c1 <= c < c2 and cell.get("userEnteredValue"):
            filled.setdefault(r, []).append(c)
    if not filled:
        return None
    top = bottom = min(filled)
    while bottom + 1 in filled:
        bottom += 1
    cols = [c for r in range(top, bottom + 1) for c in filled[r]]
    return top, min(cols), bottom, max(cols)


def cells_limit(max_cells: int) -> str:
    return ("This action would increase the number of cells in the workbook above the limit "
            f"of {max_cells} cells.")


def write_cell_value(sheet: Sheet, r: int, c: int, value, option: str) -> None:
    """Write one value as values.update does (None skips; "" empties; formats kept)."""
    old = sheet.cells.get((r, c))
    cell = dict(old) if old else {}
    implied = None
    if isinstance(value, bool):
        uev = {"boolValue": value}
    elif isinstance(value, int | float):
        uev = {"numberValue": float(value)}
    elif value == "":
        uev = None
    elif option == "RAW":
        uev = {"stringValue": value}
    else:
        uev, implied = parse_user_entered(value)
    if uev is None:
        cell.pop("userEnteredValue", None)
    else:
        cell["userEnteredValue"] = uev
    fmt = cell.get("userEnteredFormat") or {}
    if implied and "numberFormat" not in fmt:
        cell["userEnteredFormat"] = dict(fmt, numberFormat=implied)
    sheet.put(r, c, cell)


def write_block(sheet: Sheet, r1: int, c1: int, raw: tuple, rows: list, option: str,
                text: str) -> tuple[dict, set, set]:
    """values.update's core: checks the data fits the range and the grid, then writes."""
    height = len(rows)
    width = max((len(line) for line in rows), default=0)
    q1, p1, r2, c2 = raw
    if r2 is not None and c2 is not None and (r2 - (q1 or 0), c2 - (p1 or 0)) == (1, 1):
        r2 = c2 = None  # a single cell only anchors the data's top-left corner
    if r2 is not None and r1 + height > r2:
        raise bad_request(f"Requested writing within range [{text}], but tried writing to row "
                          f"[{r1 + height}]")
    if c2 is not None and c1 + width > c2:
        raise bad_request(f"Requested writing within range [{text}], but tried writing to "
                          f"column [{col_letters(c1 + width - 1)}]")
    if height and width and (r1 + height > sheet.rows or c1 + width > sheet.cols):
        raise exceeds_grid(sheet, r1, c1, r1 + height, c1 + width)
    rows_touched, cols_touched, count = set(), set(), 0
    for i, line in enumerate(rows):
        for j, value in enumerate(line):
            if value is None:
                continue
            write_cell_value(sheet, r1 + i, c1 + j, value, option)
            rows_touched.add(r1 + i)
            cols_touched.add(c1 + j)
            count += 1
    result = {"updatedRange": a1(sheet.title, r1, c1, r1 + max(height, 1),
                                 c1 + max(width, 1))}
    if count:
        result.update({"updatedRows": len(rows_touched), "updatedColumns": len(cols_touched),
                       "updatedCells": count})
    return result, rows_touched, cols_touched


def prepare_cell(cell: dict) -> dict:
    """A request's CellData as it will be stored: numbers as floats, formats normalized."""
    cell = copy.deepcopy(cell) if isinstance(cell, dict) else {}
    uev = cell.get("userEnteredValue")
    if isinstance(uev, dict):
        if isinstance(uev.get("numberValue"), int | float) and not isinstance(
                uev.get("numberValue"), bool):
            uev["numberValue"] = float(uev["numberValue"])
        if uev.get("stringValue") == "" or not uev:
            cell.pop("userEnteredValue")
    if isinstance(cell.get("userEnteredFormat"), dict):
        cell["userEnteredFormat"] = normalize_format(cell["userEnteredFormat"])
    if isinstance(cell.get("dataValidation"), dict):
        cell["dataValidation"] = clean_rule(cell["dataValidation"])
    return cell


CELL_FIELDS = ("userEnteredValue", "userEnteredFormat", "dataValidation", "note",
               "textFormatRuns", "hyperlink")


def cell_paths(fields) -> list[tuple]:
    if not isinstance(fields, str) or not fields.strip():
        raise RequestError("At least one field must be updated; 'fields' is empty.")
    mask = parse_mask(fields)
    if mask is ALL:
        return [(f,) for f in CELL_FIELDS]
    return _partner_paths(mask_paths(mask))


def apply_cell(old: dict | None, source: dict, paths: list[tuple]) -> dict:
    cell = copy.deepcopy(old) if old else {}
    for path in paths:
        set_path(cell, path, source)
    fmt = cell.get("userEnteredFormat")
    if isinstance(fmt, dict):
        prune_empty(fmt)
        if not fmt:
            del cell["userEnteredFormat"]
    return cell


def clean_rule(rule: dict) -> dict:
    """A data-validation rule as returned: false flags and nulls left out."""
    return {k: v for k, v in copy.deepcopy(rule).items() if v is not None and v is not False}


BOOLEAN_CONDITIONS = {
    "NUMBER_GREATER", "NUMBER_GREATER_THAN_EQ", "NUMBER_LESS", "NUMBER_LESS_THAN_EQ",
    "NUMBER_EQ", "NUMBER_NOT_EQ", "NUMBER_BETWEEN", "NUMBER_NOT_BETWEEN", "TEXT_CONTAINS",
    "TEXT_NOT_CONTAINS", "TEXT_STARTS_WITH", "TEXT_ENDS_WITH", "TEXT_EQ", "TEXT_IS_EMAIL",
    "TEXT_IS_URL", "DATE_EQ", "DATE_BEFORE", "DATE_AFTER", "DATE_ON_OR_BEFORE",
    "DATE_ON_OR_AFTER", "DATE_BETWEEN", "DATE_NOT_BETWEEN", "DATE_IS_VALID", "ONE_OF_RANGE",
    "ONE_OF_LIST", "BLANK", "NOT_BLANK", "CUSTOM_FORMULA", "BOOLEAN", "TEXT_NOT_EQ",
    "DATE_NOT_EQ", "FILTER_EXPRESSION",
}
REQUEST_KINDS = {
    "addBanding", "addChart", "addConditionalFormatRule", "addDataSource", "addDimensionGroup",
    "addFilterView", "addNamedRange", "addProtectedRange", "addSheet", "addSlicer", "addTable",
    "appendCells", "appendDimension", "autoFill", "autoResizeDimensions",
    "cancelDataSourceRefresh", "clearBasicFilter", "copyPaste", "createDeveloperMetadata",
    "cutPaste",
    "deleteBanding", "deleteConditionalFormatRule", "deleteDataSource",
    "deleteDeveloperMetadata", "deleteDimension", "deleteDimensionGroup", "deleteDuplicates",
    "deleteEmbeddedObject", "deleteFilterView", "deleteNamedRange", "deleteProtectedRange",
    "deleteRange", "deleteSheet", "deleteTable", "duplicateFilterView", "duplicateSheet",
    "findReplace", "insertDimension", "insertRange", "mergeCells", "moveDimension",
    "pasteData", "randomizeRange", "refreshDataSource", "repeatCell", "setBasicFilter",
    "setDataValidation", "sortRange", "textToColumns", "trimWhitespace", "unmergeCells",
    "updateBanding", "updateBorders", "updateCells", "updateChartSpec",
    "updateConditionalFormatRule", "updateDataSource", "updateDeveloperMetadata",
    "updateDimensionGroup", "updateDimensionProperties", "updateEmbeddedObjectBorder",
    "updateEmbeddedObjectPosition", "updateFilterView", "updateNamedRange",
    "updateProtectedRange", "updateSheetProperties", "updateSlicerSpec",
    "updateSpreadsheetProperties", "updateTable",
}


def shift_range(gr: dict, sheet_id: int, rows: bool, at: int, delta: int) -> dict | None:
    """Move a GridRange's indexes when rows/columns are inserted (delta>0) or deleted."""
    if (gr.get("sheetId") or 0) != sheet_id:
        return gr
    skey, ekey = ("startRowIndex", "endRowIndex") if rows else ("startColumnIndex",
                                                               "endColumnIndex")
    s, e = gr.get(skey), gr.get(ekey)
    if delta > 0:
        s = s + delta if s is not None and s >= at else s
        e = e + delta if e is not None and e > at else e
    else:
        end = at - delta

        def move(i):
            return i if i <= at else (at if i <= end else i + delta)

        s = None if s is None else move(s)
        e = None if e is None else move(e)
        if s is not None and e is not None and e <= s:
            return None
    out = dict(gr)
    for key, val in ((skey, s), (ekey, e)):
        if val is not None:
            out[key] = val
    return out


def shift_dimension(sheet: Sheet, rows: bool, at: int, delta: int) -> None:
    axis = 0 if rows else 1
    end = at - delta

    def move(i):
        if delta > 0:
            return i + delta if i >= at else i
        return i if i < at else (None if i < end else i + delta)

    cells = {}
    for key, cell in sheet.cells.items():
        new = move(key[axis])
        if new is not None:
            cells[(new, key[1]) if rows else (key[0], new)] = cell
    sheet.cells = cells
    meta = sheet.row_meta if rows else sheet.col_meta
    moved = {move(k): v for k, v in meta.items()}
    meta.clear()
    meta.update({k: v for k, v in moved.items() if k is not None})
    grid = sheet.props["gridProperties"]
    grid["rowCount" if rows else "columnCount"] += delta
    sid = sheet.sheet_id
    for rule in sheet.cond_formats:
        rule["ranges"] = [r for r in (shift_range(g, sid, rows, at, delta)
                                      for g in rule["ranges"]) if r is not None]
    sheet.cond_formats = [rule for rule in sheet.cond_formats if rule["ranges"]]
    kept = []
    for pr in sheet.protected:
        if "range" in pr:
            pr["range"] = shift_range(pr["range"], sid, rows, at, delta)
            if pr["range"] is None:
                continue
        kept.append(pr)
    sheet.protected = kept
    sheet.merges = [m for m in (shift_range(g, sid, rows, at, delta) for g in sheet.merges)
                    if m is not None]
    if sheet.basic_filter and "range" in sheet.basic_filter:
        sheet.basic_filter["range"] = shift_range(sheet.basic_filter["range"], sid, rows, at,
                                                  delta) or {}


# ---------------------------------------------------------------------------------------
# The service: state, API operations, test controls
# ---------------------------------------------------------------------------------------

ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
DEFAULT_CONFIG = {"max_payload_bytes": MAX_PAYLOAD_BYTES, "max_cells": MAX_CELLS,
                  "account_email": DEFAULT_ACCOUNT, "default_time_zone": "Etc/GMT"}


class Service:
    """Everything the stand-in knows, behind one lock: files, calls, quota, failures."""

    def __init__(self, **config):
        self.lock = threading.RLock()
        self.initial_config = config
        self.reset()

    def reset(self) -> None:
        with self.lock:
            unknown = set(self.initial_config) - set(DEFAULT_CONFIG)
            if unknown:
                raise TypeError(f"unknown stand-in settings: {sorted(unknown)}")
            self.config = dict(DEFAULT_CONFIG, **self.initial_config)
            self.files: dict = {}
            self.calls: list = []
            self.quota = {"per_minute": None, "retry_after": None, "scope": "split"}
            self.quota_log: dict = {}
            self.failures: list = []
            self.clock_offset = 0.0
            self.fixed_now: float | None = None
            self.rng = random.Random()

    # --- time -------------------------------------------------------------------------
    def now_ts(self) -> float:
        return self.fixed_now if self.fixed_now is not None else time.time() + self.clock_offset

    def now_iso(self) -> str:
        return self.iso(self.now_ts())

    @staticmethod
    def iso(ts: float) -> str:
        moment = dt.datetime.fromtimestamp(ts, dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def evaluator(self, book: Spreadsheet) -> Evaluator:
        local = dt.datetime.fromtimestamp(self.now_ts(), book.zone()).replace(tzinfo=None)
        return Evaluator(book, local)

    # --- ids --------------------------------------------------------------------------
    def new_file_id(self) -> str:
        while True:
            fid = "1" + "".join(self.rng.choice(ID_CHARS) for _ in range(43))
            if fid not in self.files:
                return fid

    def new_int_id(self, taken) -> int:
        while True:
            n = self.rng.randrange(1, 2**31 - 1)
            if n not in taken:
                return n

    def book(self, sid: str) -> Spreadsheet:
        book = self.files.get(sid)
        if not isinstance(book, Spreadsheet):
            raise not_found()
        return book

    def commit(self, book: Spreadsheet) -> None:
        book.modified = self.now_iso()
        self.files[book.id] = book

    def new_spreadsheet(self, title: str, time_zone: str | None = None) -> Spreadsheet:
        book = Spreadsheet(self.new_file_id(), title,
                           time_zone or self.config["default_time_zone"], self.now_iso())
        return book

    @staticmethod
    def default_sheet(sheet_id: int = 0, title: str = "Sheet1") -> Sheet:
        return Sheet({"sheetId": sheet_id, "title": title, "index": 0, "sheetType": "GRID",
                      "gridProperties": {"rowCount": DEFAULT_ROWS,
                                         "columnCount": DEFAULT_COLS}})

    # --- spreadsheets -----------------------------------------------------------------
    def spreadsheet_json(self, book: Spreadsheet, ranges: list | None = None,
                         with_data: bool = False) -> dict:
        wanted: dict = {}
        for text in ranges or []:
            sheet, r1, c1, r2, c2, _ = resolve_range(book, text)
            wanted.setdefault(sheet.sheet_id, []).append((r1, c1, r2, c2))
        ev = self.evaluator(book) if with_data else None
        sheets = []
        for sheet in book.sheets:
            if ranges and sheet.sheet_id not in wanted:
                continue
            item: dict = {"properties": sheet.props_json()}
            if with_data:
                bounds = wanted.get(sheet.sheet_id) or [(0, 0, sheet.rows, sheet.cols)]
                item["data"] = [grid_data(ev, book, sheet, *b) for b in bounds]
            if sheet.merges:
                item["merges"] = copy.deepcopy(sheet.merges)
            if sheet.cond_formats:
                item["conditionalFormats"] = copy.deepcopy(sheet.cond_formats)
            if sheet.protected:
                item["protectedRanges"] = copy.deepcopy(sheet.protected)
            if sheet.basic_filter:
                item["basicFilter"] = copy.deepcopy(sheet.basic_filter)
            sheets.append(item)
        out = {"spreadsheetId": book.id, "properties": copy.deepcopy(book.props),
               "sheets": sheets, "spreadsheetUrl": DOCS_URL % book.id + "/edit"}
        if book.named_ranges:
            out["namedRanges"] = copy.deepcopy(book.named_ranges)
        return out

    def spreadsheets_get(self, sid: str, query: dict) -> dict:
        q = check_query(query, {"includeGridData", "ranges", "excludeTablesInBandedRanges"})
        book = self.book(sid)
        mask = parse_mask(q["fields"]) if q.get("fields") else None
        with_data = mask_wants(mask, "sheets", "data") if mask is not None else bool(
            q.get("includeGridData"))
        out = self.spreadsheet_json(book, q.get("ranges"), with_data)
        return apply_mask(out, mask) if mask is not None else out

    def spreadsheets_create(self, query: dict, body: dict) -> dict:
        check_query(query, set())
        check_fields(body, ("spreadsheetId", "properties", "sheets", "namedRanges",
                            "spreadsheetUrl", "developerMetadata", "dataSources",
                            "dataSourceSchedules"))
        props = body.get("properties") or {}
        book = self.new_spreadsheet(props.get("title") or "Untitled spreadsheet",
                                    props.get("timeZone"))
        for key in ("locale", "autoRecalc"):
            if props.get(key):
                book.props[key] = props[key]
        given = body.get("sheets") or [{}]
        taken = {s.get("properties", {}).get("sheetId") for s in given}
        for i, spec in enumerate(given):
            p = spec.get("properties") or {}
            sheet_id = p.get("sheetId")
            if sheet_id is None:
                sheet_id = 0 if i == 0 and 0 not in taken else self.new_int_id(taken)
                taken.add(sheet_id)
            sheet = self.default_sheet(sheet_id, p.get("title") or f"Sheet{i + 1}")
            grid = p.get("gridProperties") or {}
            sheet.props["gridProperties"].update({k: v for k, v in grid.items()})
            for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
                if key in p:
                    sheet.props[key] = copy.deepcopy(p[key])
            _pair_colors(sheet.props)
            book.sheets.append(sheet)
        book.reindex()
        if book.total_cells() > self.config["max_cells"]:
            raise bad_request(cells_limit(self.config["max_cells"]))
        self.commit(book)
        out = self.spreadsheet_json(book)
        return apply_mask(out, parse_mask(query["fields"][-1])) if "fields" in query else out

    # --- values -----------------------------------------------------------------------
    def values_get(self, sid: str, text: str, query: dict) -> dict:
        q = check_query(query, {"valueRenderOption", "dateTimeRenderOption", "majorDimension"})
        book = self.book(sid)
        return self.value_range(book, self.evaluator(book), text, q)

    def value_range(self, book: Spreadsheet, ev: Evaluator, text: str, q: dict) -> dict:
        sheet, r1, c1, r2, c2, _ = resolve_range(book, text)
        major = q.get("majorDimension") or "ROWS"
        major = "ROWS" if major == "DIMENSION_UNSPECIFIED" else major
        out = {"range": a1(sheet.title, r1, c1, r2, c2), "majorDimension": major}
        values = render_values(ev, sheet, r1, c1, r2, c2,
                               q.get("valueRenderOption") or "FORMATTED_VALUE",
                               q.get("dateTimeRenderOption") or "SERIAL_NUMBER", major)
        if values:
            out["values"] = values
        return out

    def values_batch_get(self, sid: str, query: dict) -> dict:
        q = check_query(query, {"ranges", "valueRenderOption", "dateTimeRenderOption",
                                "majorDimension"})
        book = self.book(sid)
        ev = self.evaluator(book)
        out: dict = {"spreadsheetId": sid}
        ranges = q.get("ranges") or []
        if ranges:
            out["valueRanges"] = [self.value_range(book, ev, text, q) for text in ranges]
        return out

    @staticmethod
    def input_option(value) -> str:
        if value in (None, "", "INPUT_VALUE_OPTION_UNSPECIFIED"):
            raise bad_request("'valueInputOption' is required but not specified")
        if value not in ("RAW", "USER_ENTERED"):
            raise invalid_value("value_input_option",
                                "type.googleapis.com/google.apps.sheets.v4.ValueInputOption",
                                value)
        return value

    def response_data(self, book: Spreadsheet, text: str, q: dict) -> dict:
        return self.value_range(book, self.evaluator(book), text, {
            "valueRenderOption": q.get("responseValueRenderOption"),
            "dateTimeRenderOption": q.get("responseDateTimeRenderOption")})

    def values_update(self, sid: str, text: str, query: dict, body: dict) -> dict:
        q = check_query(query, {"valueInputOption", "includeValuesInResponse",
                                "responseValueRenderOption", "responseDateTimeRenderOption"})
        check_fields(body, ("range", "majorDimension", "values"))
        rows = value_rows(body, "data")
        option = self.input_option(q.get("valueInputOption"))
        book = self.book(sid).clone()
        sheet, r1, c1, _, _, raw = resolve_range(book, text)
        if body.get("range") and resolve_range(book, body["range"])[:5] != (
                sheet, r1, c1, *resolve_range(book, text)[3:5]):
            raise bad_request(f"Requested range [{body['range']}] did not match range in "
                              f"request [{text}]")
        result, _, _ = write_block(sheet, r1, c1, raw, rows, option, text)
        self.commit(book)
        out = {"spreadsheetId": sid, **result}
        if q.get("includeValuesInResponse"):
            out["updatedData"] = self.response_data(book, result["updatedRange"], q)
        return out

    def values_batch_update(self, sid: str, query: dict, body: dict) -> dict:
        check_query(query, set())
        check_fields(body, ("valueInputOption", "data", "includeValuesInResponse",
                            "responseValueRenderOption", "responseDateTimeRenderOption"))
        option = self.input_option(body.get("valueInputOption"))
        data = body.get("data") or []
        book = self.book(sid).clone()
        out: dict = {"spreadsheetId": sid}
        responses, rows_all, cols_all, sheets_all, cells = [], set(), set(), set(), 0
        for i, vr in enumerate(data):
            if not isinstance(vr, dict):
                raise invalid_value(f"data[{i}]", "type.googleapis.com/google.apps.sheets.v4."
                                                  "ValueRange", vr)
            check_fields(vr, ("range", "majorDimension", "values"), f"data[{i}]")
            rows = value_rows(vr, f"data[{i}]")
            sheet, r1, c1, _, _, raw = resolve_range(book, vr.get("range") or "")
            result, rr, cc = write_block(sheet, r1, c1, raw, rows, option, vr.get("range"))
            rows_all |= {(sheet.sheet_id, r) for r in rr}
            cols_all |= {(sheet.sheet_id, c) for c in cc}
            cells += result.get("updatedCells", 0)
            if rr:
                sheets_all.add(sheet.sheet_id)
            responses.append({"spreadsheetId": sid, **result})
        self.commit(book)
        if cells:
            out.update({"totalUpdatedRows": len(rows_all), "totalUpdatedColumns": len(cols_all),
                        "totalUpdatedCells": cells, "totalUpdatedSheets": len(sheets_all)})
        if responses:
            if body.get("includeValuesInResponse"):
                for resp in responses:
                    resp["updatedData"] = self.response_data(book, resp["updatedRange"], body)
            out["responses"] = responses
        return out

    def values_append(self, sid: str, text: str, query: dict, body: dict) -> dict:
        q = check_query(query, {"valueInputOption", "insertDataOption", "includeValuesInResponse",
                                "responseValueRenderOption", "responseDateTimeRenderOption"})
        check_fields(body, ("range", "majorDimension", "values"))
        rows = value_rows(body, "data")
        option = self.input_option(q.get("valueInputOption"))
        book = self.book(sid).clone()
        sheet, r1, c1, r2, c2, _ = resolve_range(book, text)
        out: dict = {"spreadsheetId": sid}
        table = find_table(sheet, r1, c1, r2, c2)
        if table:
            top, left, bottom, right = table
            out["tableRange"] = a1(sheet.title, top, left, bottom + 1, right + 1)
            start_row, start_col = bottom + 1, left
        else:
            start_row, start_col = r1, c1
        height = len(rows)
        width = max((len(line) for line in rows), default=0)
        grid = sheet.props["gridProperties"]
        if q.get("insertDataOption") == "INSERT_ROWS" and height:
            before = book.total_cells()
            shift_dimension(sheet, True, min(start_row, sheet.rows), height)
            if book.total_cells() > max(before, self.config["max_cells"]):
                raise bad_request(cells_limit(self.config["max_cells"]))
        need_rows = max(sheet.rows, start_row + height)
        need_cols = max(sheet.cols, start_col + width)
        if (need_rows, need_cols) != (sheet.rows, sheet.cols):
            extra = need_rows * need_cols - sheet.rows * sheet.cols
            if book.total_cells() + extra > self.config["max_cells"]:
                raise bad_request(cells_limit(self.config["max_cells"]))
            grid["rowCount"], grid["columnCount"] = need_rows, need_cols
        result, _, _ = write_block(sheet, start_row, start_col, (None,) * 4, rows, option, text)
        self.commit(book)
        updates = {"spreadsheetId": sid, **result}
        if q.get("includeValuesInResponse"):
            updates["updatedData"] = self.response_data(book, result["updatedRange"], q)
        out["updates"] = updates
        return out

    def clear_range(self, book: Spreadsheet, text: str) -> str:
        sheet, r1, c1, r2, c2, _ = resolve_range(book, text)
        for (r, c), cell in list(sheet.cells.items()):
            if r1 <= r < r2 and c1 <= c < c2 and "userEnteredValue" in cell:
                rest = {k: v for k, v in cell.items() if k != "userEnteredValue"}
                sheet.put(r, c, rest)
        return a1(sheet.title, r1, c1, r2, c2)

    def values_clear(self, sid: str, text: str, query: dict, body: dict) -> dict:
        check_query(query, set())
        check_fields(body, ())
        book = self.book(sid).clone()
        cleared = self.clear_range(book, text)
        self.commit(book)
        return {"spreadsheetId": sid, "clearedRange": cleared}

    def values_batch_clear(self, sid: str, query: dict, body: dict) -> dict:
        check_query(query, set())
        check_fields(body, ("ranges",))
        book = self.book(sid).clone()
        cleared = [self.clear_range(book, text) for text in body.get("ranges") or []]
        self.commit(book)
        out: dict = {"spreadsheetId": sid}
        if cleared:
            out["clearedRanges"] = cleared
        return out

    # --- spreadsheets.batchUpdate -----------------------------------------------------
    def batch_update(self, sid: str, query: dict, body: dict) -> dict:
        check_query(query, set())
        check_fields(body, ("requests", "includeSpreadsheetInResponse", "responseRanges",
                            "responseIncludeGridData"))
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise bad_request("Must specify at least one request.")
        book = self.book(sid).clone()
        replies = []
        for i, request in enumerate(requests):
            if not isinstance(request, dict):
                raise invalid_value(f"requests[{i}]", "type.googleapis.com/google.apps.sheets."
                                                      "v4.Request", request)
            for name in request:
                if name not in REQUEST_KINDS:
                    raise unknown_field(name, f"requests[{i}]")
            if not request:
                raise bad_request(f"Invalid requests[{i}]: No request set.")
            if len(request) > 1:
                second = list(request)[1]
                raise bad_request("Invalid JSON payload received. Oneof field 'kind' is already "
                                  f"set. Cannot set '{second}'", field=f"requests[{i}]",
                                  violation=True)
            kind = next(iter(request))
            handler = getattr(self, "do_" + kind, None)
            if handler is None:
                raise ApiError(501, f"The Sheets stand-in does not implement {kind} "
                                    f"(requests[{i}]).")
            args = request[kind] if isinstance(request[kind], dict) else {}
            self.where = f"requests[{i}].{SNAKE.sub('_', kind).lower()}"
            try:
                reply = handler(book, args)
            except RequestError as exc:
                raise bad_request(f"Invalid requests[{i}].{kind}: {exc}") from None
            replies.append(reply or {})
        self.commit(book)
        out: dict = {"spreadsheetId": sid, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            out["updatedSpreadsheet"] = self.spreadsheet_json(
                book, body.get("responseRanges"), bool(body.get("responseIncludeGridData")))
        return out

    def enum_error(self, path: str, proto: str, value) -> ApiError:
        return invalid_value(f"{self.where}.{path}",
                             f"type.googleapis.com/google.apps.sheets.v4.{proto}", value)

    def check_cells(self, book: Spreadsheet, before: int) -> None:
        after = book.total_cells()
        if after > self.config["max_cells"] and after > before:
            raise RequestError(cells_limit(self.config["max_cells"]))

    def do_addSheet(self, book: Spreadsheet, args: dict) -> dict:
        props = copy.deepcopy(args.get("properties") or {})
        titles = {s.title.casefold() for s in book.sheets}
        title = props.get("title")
        if not title:
            n = len(book.sheets) + 1
            while f"sheet{n}" in titles:
                n += 1
            title = f"Sheet{n}"
        if title.casefold() in titles:
            raise RequestError(f'A sheet with the name "{title}" already exists. Please enter '
                               "another name.")
        taken = {s.sheet_id for s in book.sheets}
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = self.new_int_id(taken)
        elif sheet_id in taken:
            raise RequestError(f"A sheet with id {sheet_id} already exists.")
        grid = props.get("gridProperties") or {}
        sheet = Sheet({"sheetId": sheet_id, "title": title, "index": 0,
                       "sheetType": props.get("sheetType") or "GRID",
                       "gridProperties": dict({"rowCount": DEFAULT_ROWS,
                                               "columnCount": DEFAULT_COLS}, **grid)})
        for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
            if key in props:
                sheet.props[key] = props[key]
        _pair_colors(sheet.props)
        before = book.total_cells()
        index = props.get("index", len(book.sheets))
        book.sheets.insert(max(0, min(index, len(book.sheets))), sheet)
        book.reindex()
        self.check_cells(book, before)
        return {"addSheet": {"properties": sheet.props_json()}}

    def do_deleteSheet(self, book: Spreadsheet, args: dict) -> dict:
        sheet = book.sheet_by_id(args.get("sheetId", 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {args.get('sheetId', 0)}")
        if len(book.sheets) == 1:
            raise RequestError("You can't remove all the sheets in a document.")
        book.sheets.remove(sheet)
        book.reindex()
        return {}

    def do_updateSheetProperties(self, book: Spreadsheet, args: dict) -> dict:
        props = args.get("properties") or {}
        sheet = book.sheet_by_id(props.get("sheetId", 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {props.get('sheetId', 0)}")
        fields = args.get("fields")
        if not isinstance(fields, str) or not fields.strip():
            raise RequestError("At least one field must be updated; 'fields' is empty.")
        mask = parse_mask(fields)
        new = copy.deepcopy(sheet.props)
        paths = ([(k,) for k in ("title", "index", "gridProperties", "hidden", "tabColor",
                                 "tabColorStyle", "rightToLeft")] if mask is ALL
                 else _partner_paths(mask_paths(mask)))
        for path in paths:
            if path[0] in ("sheetId", "sheetType"):
                continue
            set_path(new, path, props)
        _pair_colors(new)
        grid = new.setdefault("gridProperties", {})
        grid.setdefault("rowCount", sheet.rows)
        grid.setdefault("columnCount", sheet.cols)
        if not new.get("title"):
            raise RequestError("Sheet title must not be empty.")
        other = book.sheet_by_title(new["title"])
        if other is not None and other is not sheet and other.title.casefold() == \
                new["title"].casefold():
            raise RequestError(f'A sheet with the name "{new["title"]}" already exists. '
                               "Please enter another name.")
        if grid["rowCount"] < 1 or grid["columnCount"] < 1:
            raise RequestError("Sheets must have at least one row and one column.")
        if grid.get("frozenRowCount", 0) >= grid["rowCount"]:
            raise RequestError("You can't freeze all visible rows on the sheet.")
        if grid.get("frozenColumnCount", 0) >= grid["columnCount"]:
            raise RequestError("You can't freeze all visible columns on the sheet.")
        before = book.total_cells()
        old_index = book.sheets.index(sheet)
        target = new.get("index", old_index)
        sheet.props = new
        self.check_cells(book, before)
        sheet.cells = {k: v for k, v in sheet.cells.items()
                       if k[0] < grid["rowCount"] and k[1] < grid["columnCount"]}
        if target != old_index:
            book.sheets.remove(sheet)
            target = target - 1 if target > old_index else target
            book.sheets.insert(max(0, min(target, len(book.sheets))), sheet)
        book.reindex()
        return {}

    def do_updateSpreadsheetProperties(self, book: Spreadsheet, args: dict) -> dict:
        props = args.get("properties") or {}
        fields = args.get("fields")
        if not isinstance(fields, str) or not fields.strip():
            raise RequestError("At least one field must be updated; 'fields' is empty.")
        mask = parse_mask(fields)
        paths = ([(k,) for k in ("title", "locale", "autoRecalc", "timeZone", "defaultFormat",
                                 "iterativeCalculationSettings", "spreadsheetTheme")]
                 if mask is ALL else mask_paths(mask))
        new = copy.deepcopy(book.props)
        for path in paths:
            set_path(new, path, props)
        recalc = new.get("autoRecalc", "ON_CHANGE")
        if recalc not in ("ON_CHANGE", "MINUTE", "HOUR"):
            raise self.enum_error("properties.auto_recalc", "RecalculationInterval", recalc)
        try:
            ZoneInfo(new.get("timeZone") or "")
        except (ZoneInfoNotFoundError, ValueError):
            raise RequestError(f"Invalid timeZone: {new.get('timeZone')}") from None
        if not new.get("title"):
            raise RequestError("Spreadsheet title must not be empty.")
        new.setdefault("autoRecalc", "ON_CHANGE")
        if isinstance(new.get("defaultFormat"), dict):
            new["defaultFormat"] = normalize_format(new["defaultFormat"])
        book.props = new
        return {}

    def do_repeatCell(self, book: Spreadsheet, args: dict) -> dict:
        sheet, r1, c1, r2, c2 = grid_bounds(book, args.get("range") or {})
        paths = cell_paths(args.get("fields"))
        source = prepare_cell(args.get("cell") or {})
        for r in range(r1, r2):
            for c in range(c1, c2):
                sheet.put(r, c, apply_cell(sheet.cells.get((r, c)), source, paths))
        return {}

    def do_updateCells(self, book: Spreadsheet, args: dict) -> dict:
        paths = cell_paths(args.get("fields"))
        rows = args.get("rows") or []
        if "start" in args:
            start = args["start"] or {}
            sheet = book.sheet_by_id(start.get("sheetId", 0))
            if sheet is None:
                raise RequestError(f"No grid with id: {start.get('sheetId', 0)}")
            r1, c1 = start.get("rowIndex", 0), start.get("columnIndex", 0)
            height = len(rows)
            width = max((len(row.get("values") or []) for row in rows), default=0)
            r2, c2 = r1 + height, c1 + width
            if r2 > sheet.rows or c2 > sheet.cols:
                raise RequestError(exceeds_grid(sheet, r1, c1, r2, c2).message)
        else:
            sheet, r1, c1, r2, c2 = grid_bounds(book, args.get("range") or {})
        for r in range(r1, r2):
            row = rows[r - r1] if r - r1 < len(rows) else {}
            values = (row or {}).get("values") or []
            for c in range(c1, c2):
                if "start" in args and c - c1 >= len(values):
                    continue
                source = prepare_cell(values[c - c1]) if c - c1 < len(values) else {}
                sheet.put(r, c, apply_cell(sheet.cells.get((r, c)), source, paths))
        return {}

    def do_appendCells(self, book: Spreadsheet, args: dict) -> dict:
        sheet = book.sheet_by_id(args.get("sheetId", 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {args.get('sheetId', 0)}")
        paths = cell_paths(args.get("fields"))
        rows = args.get("rows") or []
        start = max((r for (r, _), cell in sheet.cells.items() if cell.get("userEnteredValue")),
                    default=-1) + 1
        width = max((len(row.get("values") or []) for row in rows), default=0)
        before = book.total_cells()
        grid = sheet.props["gridProperties"]
        grid["rowCount"] = max(sheet.rows, start + len(rows))
        grid["columnCount"] = max(sheet.cols, width)
        self.check_cells(book, before)
        for i, row in enumerate(rows):
            for j, value in enumerate(row.get("values") or []):
                cell = apply_cell(sheet.cells.get((start + i, j)), prepare_cell(value), paths)
                sheet.put(start + i, j, cell)
        return {}

    def do_setDataValidation(self, book: Spreadsheet, args: dict) -> dict:
        sheet, r1, c1, r2, c2 = grid_bounds(book, args.get("range") or {})
        rule = args.get("rule")
        if rule is not None:
            condition = (rule or {}).get("condition") or {}
            if condition.get("type") not in BOOLEAN_CONDITIONS:
                raise self.enum_error("rule.condition.type", "ConditionType",
                                      condition.get("type"))
            rule = clean_rule(rule)
        for r in range(r1, r2):
            for c in range(c1, c2):
                cell = dict(sheet.cells.get((r, c)) or {})
                if rule:
                    cell["dataValidation"] = copy.deepcopy(rule)
                else:
                    cell.pop("dataValidation", None)
                sheet.put(r, c, cell)
        return {}

    def all_protected(self, book: Spreadsheet):
        for sheet in book.sheets:
            for pr in sheet.protected:
                yield sheet, pr

    def do_addProtectedRange(self, book: Spreadsheet, args: dict) -> dict:
        given = copy.deepcopy(args.get("protectedRange") or {})
        if "range" not in given:
            raise RequestError("A protected range must have a range.")
        sheet, *_ = grid_bounds(book, given["range"])
        taken = {pr.get("protectedRangeId") for _, pr in self.all_protected(book)}
        pid = given.get("protectedRangeId")
        if pid is None:
            pid = self.new_int_id(taken)
        elif pid in taken:
            raise RequestError(f"A protected range with id {pid} already exists.")
        reply: dict = {"protectedRangeId": pid, "range": clean_grid_range(given["range"])}
        if given.get("description"):
            reply["description"] = given["description"]
        if given.get("warningOnly"):
            reply["warningOnly"] = True
        if given.get("unprotectedRanges"):
            reply["unprotectedRanges"] = [clean_grid_range(r) for r in given[
                "unprotectedRanges"]]
        reply["requestingUserCanEdit"] = True
        stored = copy.deepcopy(reply)
        if not given.get("warningOnly"):
            editors = {k: v for k, v in (given.get("editors") or {}).items() if v}
            reply["editors"] = copy.deepcopy(editors)
            users = [self.config["account_email"]] + [
                u for u in editors.get("users", []) if u != self.config["account_email"]]
            stored["editors"] = dict(editors, users=users)
        sheet.protected.append(stored)
        return {"addProtectedRange": {"protectedRange": reply}}

    def do_updateProtectedRange(self, book: Spreadsheet, args: dict) -> dict:
        given = args.get("protectedRange") or {}
        pid = given.get("protectedRangeId")
        found = next(((s, pr) for s, pr in self.all_protected(book)
                      if pr.get("protectedRangeId") == pid), None)
        if found is None:
            raise RequestError(f"No protected range with id: {pid}")
        sheet, pr = found
        fields = args.get("fields")
        if not isinstance(fields, str) or not fields.strip():
            raise RequestError("At least one field must be updated; 'fields' is empty.")
        for path in mask_paths(parse_mask(fields)):
            if path[0] != "protectedRangeId":
                set_path(pr, path, given)
        if "range" in pr:
            new_sheet, *_ = grid_bounds(book, pr["range"])
            pr["range"] = clean_grid_range(pr["range"])
            if new_sheet is not sheet:
                sheet.protected.remove(pr)
                new_sheet.protected.append(pr)
        return {}

    def do_deleteProtectedRange(self, book: Spreadsheet, args: dict) -> dict:
        pid = args.get("protectedRangeId")
        for sheet, pr in self.all_protected(book):
            if pr.get("protectedRangeId") == pid:
                sheet.protected.remove(pr)
                return {}
        raise RequestError(f"No protected range with id: {pid}")

    def rule_sheet(self, book: Spreadsheet, rule) -> Sheet:
        if not isinstance(rule, dict):
            raise RequestError("A conditional format rule is required.")
        ranges = rule.get("ranges") or []
        if not ranges:
            raise RequestError("A conditional format rule must have at least one range.")
        sheets = {grid_bounds(book, r)[0].sheet_id for r in ranges}
        if len(sheets) > 1:
            raise RequestError("All ranges of a conditional format rule must be on the same "
                               "sheet.")
        kinds = [k for k in ("booleanRule", "gradientRule") if rule.get(k)]
        if len(kinds) != 1:
            raise RequestError("A conditional format rule must have exactly one of booleanRule"
                               " or gradientRule.")
        if kinds == ["booleanRule"]:
            condition = rule["booleanRule"].get("condition") or {}
            if condition.get("type") not in BOOLEAN_CONDITIONS:
                raise self.enum_error("rule.boolean_rule.condition.type", "ConditionType",
                                      condition.get("type"))
            if condition["type"] == "CUSTOM_FORMULA":
                values = condition.get("values") or []
                if len(values) != 1 or not str(values[0].get("userEnteredValue", "")
                                               ).startswith("="):
                    raise RequestError("CUSTOM_FORMULA needs exactly one value, a formula "
                                       "starting with '='.")
        return book.sheet_by_id(sheets.pop())

    def do_addConditionalFormatRule(self, book: Spreadsheet, args: dict) -> dict:
        sheet = self.rule_sheet(book, args.get("rule"))
        index = args.get("index", 0)
        if not isinstance(index, int) or not 0 <= index <= len(sheet.cond_formats):
            raise RequestError(f"Index {index} is out of range: sheet {sheet.sheet_id} has "
                               f"{len(sheet.cond_formats)} conditional format rules.")
        sheet.cond_formats.insert(index, normalize_rule(args["rule"]))
        return {}

    def rule_at(self, book: Spreadsheet, args: dict) -> tuple[Sheet, int]:
        sheet = book.sheet_by_id(args.get("sheetId", 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {args.get('sheetId', 0)}")
        index = args.get("index", 0)
        if not isinstance(index, int) or not 0 <= index < len(sheet.cond_formats):
            raise RequestError(f"No conditional format on sheet: {sheet.sheet_id} at index: "
                               f"{index}")
        return sheet, index

    def do_deleteConditionalFormatRule(self, book: Spreadsheet, args: dict) -> dict:
        sheet, index = self.rule_at(book, args)
        rule = sheet.cond_formats.pop(index)
        return {"deleteConditionalFormatRule": {"rule": rule}}

    def do_updateConditionalFormatRule(self, book: Spreadsheet, args: dict) -> dict:
        sheet, index = self.rule_at(book, args)
        old = sheet.cond_formats[index]
        reply: dict = {}
        if args.get("rule") is not None:
            target = self.rule_sheet(book, args["rule"])
            new = normalize_rule(args["rule"])
            sheet.cond_formats.pop(index)
            target.cond_formats.insert(min(index, len(target.cond_formats)), new)
            reply = {"newRule": new, "oldRule": old, "newIndex": index, "oldIndex": index}
        elif "newIndex" in args:
            new_index = args["newIndex"]
            if not isinstance(new_index, int) or not 0 <= new_index < len(sheet.cond_formats):
                raise RequestError(f"newIndex {new_index} is out of range.")
            sheet.cond_formats.insert(new_index, sheet.cond_formats.pop(index))
            reply = {"newRule": old, "newIndex": new_index, "oldIndex": index}
        else:
            raise RequestError("Either rule or newIndex must be set.")
        for key in ("newIndex", "oldIndex"):
            if not reply.get(key):
                reply.pop(key, None)
        return {"updateConditionalFormatRule": reply}

    def dimension_args(self, book: Spreadsheet, dim_range: dict) -> tuple[Sheet, bool, int, int]:
        sheet = book.sheet_by_id((dim_range or {}).get("sheetId", 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {(dim_range or {}).get('sheetId', 0)}")
        dimension = dim_range.get("dimension")
        if dimension not in ("ROWS", "COLUMNS"):
            raise self.enum_error("range.dimension", "Dimension", dimension)
        rows = dimension == "ROWS"
        limit = sheet.rows if rows else sheet.cols
        start = dim_range.get("startIndex", 0)
        end = dim_range.get("endIndex", limit)
        if not 0 <= start < end:
            raise RequestError(f"Invalid dimension range: startIndex[{start}], endIndex[{end}]")
        return sheet, rows, start, end

    def do_appendDimension(self, book: Spreadsheet, args: dict) -> dict:
        sheet = book.sheet_by_id(args.get("sheetId", 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {args.get('sheetId', 0)}")
        length = args.get("length", 0)
        if not isinstance(length, int) or length < 1:
            raise RequestError("length must be at least 1.")
        if args.get("dimension") not in ("ROWS", "COLUMNS"):
            raise self.enum_error("dimension", "Dimension", args.get("dimension"))
        before = book.total_cells()
        key = "rowCount" if args["dimension"] == "ROWS" else "columnCount"
        sheet.props["gridProperties"][key] += length
        self.check_cells(book, before)
        return {}

    def do_insertDimension(self, book: Spreadsheet, args: dict) -> dict:
        sheet, rows, start, end = self.dimension_args(book, args.get("range") or {})
        if start > (sheet.rows if rows else sheet.cols):
            raise RequestError(exceeds_grid(sheet, start if rows else 0, 0 if rows else start,
                                            (start if rows else 0) + 1,
                                            (0 if rows else start) + 1).message)
        before = book.total_cells()
        shift_dimension(sheet, rows, start, end - start)
        self.check_cells(book, before)
        return {}

    def do_deleteDimension(self, book: Spreadsheet, args: dict) -> dict:
        sheet, rows, start, end = self.dimension_args(book, args.get("range") or {})
        limit = sheet.rows if rows else sheet.cols
        end = min(end, limit)
        if start == 0 and end >= limit:
            raise RequestError(f"You can't delete all the {'rows' if rows else 'columns'} on "
                               "the sheet.")
        shift_dimension(sheet, rows, start, -(end - start))
        return {}

    def do_updateDimensionProperties(self, book: Spreadsheet, args: dict) -> dict:
        sheet, rows, start, end = self.dimension_args(book, args.get("range") or {})
        paths = mask_paths(parse_mask(args.get("fields") or "*")) if args.get(
            "fields") != "*" else [("pixelSize",), ("hiddenByUser",), ("developerMetadata",)]
        meta = sheet.row_meta if rows else sheet.col_meta
        for i in range(start, min(end, sheet.rows if rows else sheet.cols)):
            entry = meta.setdefault(i, {})
            for path in paths:
                set_path(entry, path, args.get("properties") or {})
            if not entry:
                del meta[i]
        return {}

    def do_autoResizeDimensions(self, book: Spreadsheet, args: dict) -> dict:
        self.dimension_args(book, args.get("dimensions") or {})
        return {}

    def do_mergeCells(self, book: Spreadsheet, args: dict) -> dict:
        sheet, *_ = grid_bounds(book, args.get("range") or {})
        sheet.merges.append(clean_grid_range(args["range"]))
        return {}

    def do_unmergeCells(self, book: Spreadsheet, args: dict) -> dict:
        sheet, r1, c1, r2, c2 = grid_bounds(book, args.get("range") or {})

        def inside(m):
            return (r1 <= m.get("startRowIndex", 0) and m.get("endRowIndex", sheet.rows) <= r2
                    and c1 <= m.get("startColumnIndex", 0)
                    and m.get("endColumnIndex", sheet.cols) <= c2)

        sheet.merges = [m for m in sheet.merges if not inside(m)]
        return {}

    def do_setBasicFilter(self, book: Spreadsheet, args: dict) -> dict:
        flt = copy.deepcopy(args.get("filter") or {})
        sheet, *_ = grid_bounds(book, flt.get("range") or {})
        flt["range"] = clean_grid_range(flt.get("range") or {})
        sheet.basic_filter = flt
        return {}

    def do_clearBasicFilter(self, book: Spreadsheet, args: dict) -> dict:
        sheet = book.sheet_by_id(args.get("sheetId", 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {args.get('sheetId', 0)}")
        sheet.basic_filter = None
        return {}

    def do_addNamedRange(self, book: Spreadsheet, args: dict) -> dict:
        named = copy.deepcopy(args.get("namedRange") or {})
        name = named.get("name") or ""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or _CELLISH_TITLE.fullmatch(name):
            raise RequestError(f"Invalid name: {name}")
        if any(n["name"].casefold() == name.casefold() for n in book.named_ranges):
            raise RequestError(f"Named range with name {name} already exists.")
        grid_bounds(book, named.get("range") or {})
        named["range"] = clean_grid_range(named["range"])
        named.setdefault("namedRangeId", "".join(self.rng.choice(ID_CHARS[:62])
                                                 for _ in range(12)))
        book.named_ranges.append(named)
        return {"addNamedRange": {"namedRange": copy.deepcopy(named)}}

    def do_deleteNamedRange(self, book: Spreadsheet, args: dict) -> dict:
        before = len(book.named_ranges)
        book.named_ranges = [n for n in book.named_ranges
                             if n.get("namedRangeId") != args.get("namedRangeId")]
        if len(book.named_ranges) == before:
            raise RequestError(f"No named range with id: {args.get('namedRangeId')}")
        return {}

    # --- Drive ------------------------------------------------------------------------
    def drive_file(self, fid: str):
        f = self.files.get(fid)
        if f is None:
            raise drive_error(404, f"File not found: {fid}.", "notFound", "fileId")
        return f

    @staticmethod
    def drive_view(f, query: dict) -> dict:
        resource = drive_resource(f)
        fields = (query.get("fields") or [None])[-1]
        if fields:
            return apply_mask(resource, parse_mask(fields))
        return {k: resource[k] for k in ("kind", "id", "name", "mimeType")}

    def drive_create(self, query: dict, body: dict) -> dict:
        mime = body.get("mimeType") or "application/octet-stream"
        name = body.get("name") or ("Untitled spreadsheet" if mime == SPREADSHEET_MIME
                                    else "Untitled")
        if mime == SPREADSHEET_MIME:
            f = self.new_spreadsheet(name)
            f.sheets.append(self.default_sheet())
            # Drive creates the file, then Sheets writes its first tab into it: the
            # recordings all show modifiedTime a little after createdTime.
            f.modified = self.iso(self.now_ts() + 0.001)
        else:
            f = DriveFile(self.new_file_id(), name, mime, self.now_iso())
        for parent in body.get("parents") or []:
            self.drive_file(parent)
        f.parents = list(body.get("parents") or [])
        self.files[f.id] = f
        return self.drive_view(f, query)

    def drive_get(self, fid: str, query: dict) -> dict:
        return self.drive_view(self.drive_file(fid), query)

    def drive_update(self, fid: str, query: dict, body: dict) -> dict:
        f = self.drive_file(fid)
        if body.get("name"):
            if isinstance(f, Spreadsheet):
                f = f.clone()
                f.props["title"] = body["name"]
                self.files[fid] = f
            else:
                f.name = body["name"]
        f.modified = self.now_iso()
        return self.drive_view(f, query)

    def drive_copy(self, fid: str, query: dict, body: dict) -> dict:
        f = self.drive_file(fid)
        if not isinstance(f, Spreadsheet):
            raise drive_error(403, "This file cannot be copied by the stand-in.",
                              "cannotCopyFile")
        copied = f.clone()
        copied.id = self.new_file_id()
        copied.props["title"] = body.get("name") or f"Copy of {f.name}"
        copied.created = copied.modified = self.now_iso()
        copied.parents = list(body.get("parents") or f.parents)
        self.files[copied.id] = copied
        return self.drive_view(copied, query)

    def drive_delete(self, fid: str) -> None:
        self.drive_file(fid)
        del self.files[fid]
        for other in self.files.values():
            if fid in other.parents:
                other.parents.remove(fid)

    def drive_list(self, query: dict) -> dict:
        q = (query.get("q") or [""])[-1]
        try:
            test = DriveQuery(q).parse() if q.strip() else (lambda f: True)
        except ValueError:
            raise drive_error(400, "Invalid Value", "invalid", "q") from None
        size = int((query.get("pageSize") or ["100"])[-1])
        size = max(1, min(size, 1000))
        offset = int((query.get("pageToken") or ["0"])[-1] or 0)
        matches = [f for f in self.files.values() if test(drive_resource(f))]
        page = matches[offset: offset + size]
        out: dict = {"kind": "drive#fileList", "incompleteSearch": False,
                     "files": [{k: drive_resource(f)[k] for k in ("kind", "mimeType", "id",
                                                                  "name")} for f in page]}
        if offset + size < len(matches):
            out["nextPageToken"] = str(offset + size)
        fields = (query.get("fields") or [None])[-1]
        if fields:
            full = dict(out, files=[drive_resource(f) for f in page])
            return apply_mask(full, parse_mask(fields))
        return out

    # --- quota, injected failures, the call log ---------------------------------------
    def check_quota(self, api: str, method: str) -> None:
        per = self.quota["per_minute"]
        if per is None or api != "sheets":
            return
        kind = "Read" if method == "GET" else "Write"
        group = "all" if self.quota.get("scope") == "all" else kind
        now = self.now_ts()
        log = [t for t in self.quota_log.get(group, []) if now - t < 60]
        self.quota_log[group] = log
        if len(log) >= per:
            headers = {}
            if self.quota.get("retry_after") is not None:
                headers["Retry-After"] = str(self.quota["retry_after"])
            metric = f"sheets.googleapis.com/{kind.lower()}_requests"
            message = (f"Quota exceeded for quota metric '{kind} requests' and limit '{kind} "
                       "requests per minute per user' of service 'sheets.googleapis.com' for "
                       "consumer 'project_number:000000000000'.")
            details = [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                 "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                 "metadata": {"quota_limit": f"{kind}RequestsPerMinutePerUser",
                              "quota_metric": metric, "quota_location": "global",
                              "consumer": "projects/000000000000",
                              "service": "sheets.googleapis.com",
                              "quota_limit_value": str(per)}},
                {"@type": "type.googleapis.com/google.rpc.Help",
                 "links": [{"description": "Request a higher quota limit.",
                            "url": "https://cloud.google.com/docs/quotas/help/request_increase"
                            }]}]
            raise ApiError(429, message, details=details, headers=headers)
        log.append(now)

    def check_failures(self, method: str, path: str, kind: str) -> None:
        for rule in self.failures:
            if rule["times"] <= 0:
                continue
            if rule.get("method") and rule["method"].upper() != method:
                continue
            if rule.get("match") and rule["match"] not in path and rule["match"] not in kind:
                continue
            rule["times"] -= 1
            status = rule["status"]
            headers = {}
            if rule.get("retry_after") is not None:
                headers["Retry-After"] = str(rule["retry_after"])
            message = rule.get("message") or DEFAULT_MESSAGE_OF.get(status, "Injected failure.")
            self.failures = [r for r in self.failures if r["times"] > 0]
            raise ApiError(status, message, headers=headers)

    # --- HTTP entry points ------------------------------------------------------------
    def api(self, method: str, raw_path: str, query: dict, body: bytes) -> tuple:
        """One Google API call: (status, JSON-able body or None, extra headers)."""
        api, kind = classify(method, raw_path)
        with self.lock:
            record = {"method": method, "path": unquote(raw_path), "query": query,
                      "api": api, "kind": kind, "bytes": len(body)}
            self.calls.append(record)
            try:
                limit = self.config["max_payload_bytes"]
                if len(body) > limit:
                    raise bad_request(f"Request payload size exceeds the limit: {limit} bytes.")
                self.check_failures(method, record["path"], kind)
                self.check_quota(api, method)
                status, payload = route(self, method, raw_path, query, body)
                if api == "sheets" and query.get("fields") and isinstance(payload, dict):
                    payload = apply_mask(payload, parse_mask(query["fields"][-1]))
                headers: dict = {}
            except ApiError as exc:
                status, payload, headers = exc.code, exc.body, exc.headers
            except Exception as exc:  # a stand-in bug: say so, in Google's 500 shape
                traceback.print_exc()
                status, headers = 500, {}
                payload = {"error": {"code": 500, "status": "INTERNAL", "message":
                                     f"Internal error encountered. (stand-in bug: {exc!r})"}}
            record["status"] = status
            return status, payload, headers

    def control(self, method: str, path: str, body: bytes) -> tuple:
        """The /_standin/ test controls (never logged, never limited)."""
        with self.lock:
            try:
                data = parse_body(body) if method in ("POST", "PUT") else {}
                return 200, self.control_action(method, path.rstrip("/"), data), {}
            except ApiError as exc:
                return exc.code, exc.body, exc.headers
            except (KeyError, TypeError, ValueError) as exc:
                return 400, {"error": {"code": 400, "message": f"bad control request: {exc!r}",
                                       "status": "INVALID_ARGUMENT"}}, {}

    def control_action(self, method: str, path: str, data: dict):
        action = (method, path[len("/_standin"):])
        if action == ("GET", "/health"):
            return {"ok": True}
        if action == ("GET", "/calls"):
            return {"calls": copy.deepcopy(self.calls)}
        if action in (("DELETE", "/calls"), ("POST", "/calls/clear")):
            self.calls.clear()
            return {}
        if action == ("POST", "/reset"):
            self.reset()
            return {}
        if action == ("POST", "/quota"):
            quota = {"per_minute": data.get("per_minute"), "retry_after": data.get("retry_after"),
                     "scope": data.get("scope") or "split"}
            if quota["scope"] not in ("split", "all"):
                raise ValueError("scope must be 'split' or 'all'")
            if quota["per_minute"] is not None:
                quota["per_minute"] = int(quota["per_minute"])
            self.quota, self.quota_log = quota, {}
            return self.quota
        if action == ("POST", "/fail"):
            status = int(data["status"])
            self.failures.append({"status": status, "times": int(data.get("times", 1)),
                                  "match": data.get("match"), "method": data.get("method"),
                                  "retry_after": data.get("retry_after"),
                                  "message": data.get("message")})
            return {"pending": copy.deepcopy(self.failures)}
        if action == ("GET", "/fail"):
            return {"pending": copy.deepcopy(self.failures)}
        if action == ("POST", "/config"):
            unknown = set(data) - set(DEFAULT_CONFIG)
            if unknown:
                raise ValueError(f"unknown settings {sorted(unknown)}")
            self.config.update(data)
            return dict(self.config)
        if action == ("POST", "/clock"):
            if "now" in data:
                if data["now"] is None:
                    self.fixed_now = None
                else:
                    moment = dt.datetime.fromisoformat(data["now"].replace("Z", "+00:00"))
                    if moment.tzinfo is None:
                        moment = moment.replace(tzinfo=dt.UTC)
                    self.fixed_now = moment.timestamp()
            if "advance" in data:
                if self.fixed_now is not None:
                    self.fixed_now += float(data["advance"])
                else:
                    self.clock_offset += float(data["advance"])
            return {"now": self.now_iso()}
        if action == ("POST", "/edit"):
            book = self.book(data["spreadsheetId"]).clone()
            sheet, r1, c1, _, _, raw = resolve_range(book, data["range"])
            rows = value_rows({"values": data.get("values"),
                               "majorDimension": data.get("majorDimension")}, "data")
            option = data.get("valueInputOption") or "USER_ENTERED"
            result, _, _ = write_block(sheet, r1, c1, raw, rows, option, data["range"])
            self.commit(book)
            return {"spreadsheetId": book.id, **result}
        if action == ("POST", "/read"):
            book = self.book(data["spreadsheetId"])
            q = {k: data[k] for k in ("valueRenderOption", "dateTimeRenderOption",
                                      "majorDimension") if data.get(k)}
            return self.value_range(book, self.evaluator(book), data["range"], q)
        raise ApiError(404, f"No such stand-in control: {method} {path}")


class DriveQuery:
    """Drive's ``q`` search syntax, the part clients use: and/or/not, parentheses,
    ``name = 'x'``, ``name contains 'x'``, ``mimeType != 'x'``, ``'id' in parents``
    (and gspread's ``parents in 'id'``), ``trashed = false``, time comparisons."""

    TOKEN = re.compile(r"""\s*(?:('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(<=|>=|!=|=|<|>|\(|\))
                       |([A-Za-z_][A-Za-z0-9_]*))""", re.X)

    def __init__(self, text: str):
        self.tokens, pos = [], 0
        while pos < len(text):
            if not text[pos:].strip():
                break
            m = self.TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(text)
            if m.group(1):
                self.tokens.append(("str", re.sub(r"\\(.)", r"\1", m.group(1)[1:-1])))
            elif m.group(2):
                self.tokens.append(("op", m.group(2)))
            else:
                self.tokens.append(("word", m.group(3)))
            pos = m.end()
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        if tok[0] is None:
            raise ValueError("unexpected end")
        self.i += 1
        return tok

    def parse(self):
        test = self.disjunction()
        if self.i != len(self.tokens):
            raise ValueError("trailing")
        return test

    def disjunction(self):
        tests = [self.conjunction()]
        while self.peek() == ("word", "or"):
            self.take()
            tests.append(self.conjunction())
        return lambda f: any(t(f) for t in tests)

    def conjunction(self):
        tests = [self.negation()]
        while self.peek() == ("word", "and"):
            self.take()
            tests.append(self.negation())
        return lambda f: all(t(f) for t in tests)

    def negation(self):
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.negation()
            return lambda f: not inner(f)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.disjunction()
            if self.take() != ("op", ")"):
                raise ValueError(")")
            return inner
        return self.condition()

    def condition(self):
        left = self.take()
        op = self.take()
        if left[0] == "str" and op == ("word", "in"):
            field = self.take()[1]
            return lambda f: left[1] in (f.get(field) or [])
        right = self.take()
        field = left[1]
        if op == ("word", "in"):
            return lambda f: right[1] in (f.get(field) or [])
        value = right[1]
        if right[0] == "word":
            if value not in ("true", "false"):
                raise ValueError(value)
            value = value == "true"
        if op == ("word", "contains"):
            return lambda f: str(value).casefold() in str(f.get(field, "")).casefold()
        if op[0] != "op":
            raise ValueError(op)
        compare = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b,
                   "<": lambda a, b: a < b, ">": lambda a, b: a > b,
                   "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}[op[1]]
        if field not in ("name", "mimeType", "trashed", "starred", "modifiedTime",
                         "createdTime", "fullText", "parents"):
            raise ValueError(field)
        return lambda f: compare(f.get(field, False if isinstance(value, bool) else ""), value)


# ---------------------------------------------------------------------------------------
# Routing and HTTP
# ---------------------------------------------------------------------------------------

_ROUTES = [
    (re.compile(r"/v4/spreadsheets/?"), "spreadsheets"),
    (re.compile(r"/v4/spreadsheets/([^/:]+)"), "spreadsheet"),
    (re.compile(r"/v4/spreadsheets/([^/:]+):batchUpdate"), "batchUpdate"),
    (re.compile(r"/v4/spreadsheets/([^/:]+)/values:(batchGet|batchUpdate|batchClear)"),
     "valuesBatch"),
    (re.compile(r"/v4/spreadsheets/([^/:]+)/values/(.+):(append|clear)"), "valuesVerb"),
    (re.compile(r"/v4/spreadsheets/([^/:]+)/values/(.+)"), "values"),
    (re.compile(r"/drive/v3/files/?"), "files"),
    (re.compile(r"/drive/v3/files/([^/]+)/copy"), "fileCopy"),
    (re.compile(r"/drive/v3/files/([^/]+)"), "file"),
]


def match_route(raw_path: str):
    for regex, name in _ROUTES:
        m = regex.fullmatch(raw_path)
        if m:
            return name, [unquote(g) for g in m.groups()]
    return None, []


def classify(method: str, raw_path: str) -> tuple[str | None, str]:
    """(api, Google's method name) of a call, for the call log and the quota."""
    name, groups = match_route(raw_path)
    kinds = {
        ("spreadsheets", "POST"): "spreadsheets.create",
        ("spreadsheet", "GET"): "spreadsheets.get",
        ("batchUpdate", "POST"): "spreadsheets.batchUpdate",
        ("values", "GET"): "spreadsheets.values.get",
        ("values", "PUT"): "spreadsheets.values.update",
        ("files", "GET"): "files.list", ("files", "POST"): "files.create",
        ("file", "GET"): "files.get", ("file", "DELETE"): "files.delete",
        ("file", "PATCH"): "files.update", ("fileCopy", "POST"): "files.copy",
    }
    if name == "valuesBatch":
        kind = f"spreadsheets.values.{groups[1]}"
    elif name == "valuesVerb":
        kind = f"spreadsheets.values.{groups[2]}"
    else:
        kind = kinds.get((name, method), "unknown")
    api = None if name is None else ("drive" if name.startswith("file") else "sheets")
    return api, kind


def route(svc: Service, method: str, raw_path: str, query: dict, raw_body: bytes):
    name, groups = match_route(raw_path)
    if name is None:
        raise ApiError(404, "Not Found", body={"error": {"code": 404, "message": "Not Found",
                                                         "status": "NOT_FOUND"}})
    method_not_found = ApiError(404, "Method not found.")
    needs_body = method in ("POST", "PUT", "PATCH")
    body = parse_body(raw_body) if needs_body else {}
    if name == "spreadsheets":
        if method != "POST":
            raise method_not_found
        return 200, svc.spreadsheets_create(query, body)
    if name == "spreadsheet" and method == "GET":
        return 200, svc.spreadsheets_get(groups[0], query)
    if name == "batchUpdate" and method == "POST":
        return 200, svc.batch_update(groups[0], query, body)
    if name == "valuesBatch":
        sid, verb = groups
        if verb == "batchGet" and method == "GET":
            return 200, svc.values_batch_get(sid, query)
        if verb == "batchUpdate" and method == "POST":
            return 200, svc.values_batch_update(sid, query, body)
        if verb == "batchClear" and method == "POST":
            return 200, svc.values_batch_clear(sid, query, body)
    if name == "valuesVerb" and method == "POST":
        sid, text, verb = groups
        if verb == "append":
            return 200, svc.values_append(sid, text, query, body)
        return 200, svc.values_clear(sid, text, query, body)
    if name == "values":
        sid, text = groups
        if method == "GET":
            return 200, svc.values_get(sid, text, query)
        if method == "PUT":
            return 200, svc.values_update(sid, text, query, body)
    if name == "files":
        if method == "GET":
            return 200, svc.drive_list(query)
        if method == "POST":
            return 200, svc.drive_create(query, body)
    if name == "fileCopy" and method == "POST":
        return 200, svc.drive_copy(groups[0], query, body)
    if name == "file":
        if method == "GET":
            return 200, svc.drive_get(groups[0], query)
        if method == "PATCH":
            return 200, svc.drive_update(groups[0], query, body)
        if method == "DELETE":
            svc.drive_delete(groups[0])
            return 204, None
    raise method_not_found


class Handler(BaseHTTPRequestHandler):
    """Reads the whole request, hands it to the Service, writes Google-style JSON."""

    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall

    def log_message(self, *args) -> None:
        """Quiet: tests read the call log instead of stderr."""

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self) -> None:
        url = urlsplit(self.path)
        body = self.read_body()
        svc: Service = self.server.service
        if url.path.startswith("/_standin/"):
            status, payload, headers = svc.control(self.command, url.path, body)
        else:
            query = parse_qs(url.query, keep_blank_values=True)
            status, payload, headers = svc.api(self.command, url.path, query, body)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if payload is None:
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(clean_numbers(payload), ensure_ascii=False).encode("utf-8")
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class StandinServer(ThreadingHTTPServer):
    """The HTTP server, bound to 127.0.0.1 only, with its Service attached."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, **config):
        super().__init__((HOST, port), Handler)
        self.service = Service(**config)
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"


def start(port: int = 0, **config) -> tuple[StandinServer, str]:
    """Start a stand-in in a background thread: (server, base URL). Stop it with stop()."""
    server = StandinServer(port, **config)
    server.thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                     name="sheets-standin", daemon=True)
    server.thread.start()
    return server, server.base_url


def stop(server: StandinServer) -> None:
    server.shutdown()
    server.server_close()
    if server.thread is not None:
        server.thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="In-memory Google Sheets v4 / Drive v3 "
                                                 "stand-in on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--account", default=DEFAULT_ACCOUNT,
                        help="the e-mail the caller is taken to be (editors of protected "
                             "ranges)")
    parser.add_argument("--max-payload-bytes", type=int, default=MAX_PAYLOAD_BYTES)
    parser.add_argument("--max-cells", type=int, default=MAX_CELLS)
    parser.add_argument("--time-zone", default="Etc/GMT",
                        help="time zone of new spreadsheets")
    args = parser.parse_args(argv)
    server = StandinServer(args.port, account_email=args.account,
                           max_payload_bytes=args.max_payload_bytes, max_cells=args.max_cells,
                           default_time_zone=args.time_zone)
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
