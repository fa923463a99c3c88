"""The team's Google Sheet as a backend (:class:`~forecourt.sync.backend.Backend`), over gspread.

Few calls whatever the size (60 requests a minute per user is the quota):

1. ``spreadsheets.get`` with a ``fields`` mask: sheet ids, titles, grid sizes, the existing
   conditional formats, the spreadsheet's time zone and recalculation setting;
2. ``values:batchGet`` of every tab (``UNFORMATTED_VALUE``, dates as ``SERIAL_NUMBER``);
3. ``spreadsheets:batchUpdate``, only if something changes: new tabs, more rows or columns,
   number formats, widths, conditional-format rules (forecourt's own replaced, the team's
   kept), links, ``autoRecalc: MINUTE`` so ``NOW()`` moves while nobody edits;
4. ``values:batchUpdate`` (``RAW``: text stays text, a name starting with ``=`` too), only the
   cells that change; split only where a request would pass 2 MB.

Serial numbers carry no time zone: they are the spreadsheet's wall-clock time, and "now" is
taken in its ``timeZone`` unless the Settings tab names one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecourt.errors import CannotWrite, ForecourtError, UnreadableWorkbook
from forecourt.plan import (
    FLAG_FILL,
    Formula,
    GeneratedSheet,
    Highlight,
    Link,
    Plan,
    SheetEdit,
    python_value,
)
from forecourt.sync.backend import (
    Applied,
    Capabilities,
    Committed,
    KeyIndex,
    Progress,
    WorkbookId,
    fold_key,
    key_index,
    locate_rows,
    taken_columns,
    trusts,
)
from forecourt.sync.base import (
    Tab,
    Tabs,
    cell_text,
    column_index,
    column_letter,
    is_generated,
    quote_sheet,
    serial,
)

API = "https://sheets.googleapis.com/v4/spreadsheets"
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
#: what the first call asks for, and nothing more
META_FIELDS = ("spreadsheetId,properties(title,timeZone,autoRecalc),sheets(properties("
               "sheetId,title,index,gridProperties(rowCount,columnCount,frozenRowCount)),"
               "conditionalFormats,protectedRanges(protectedRangeId,description,warningOnly,"
               "range))")
#: the description of the protected ranges forecourt adds (and replaces)
PROTECTED = "forecourt: computed in the owner's workbook; an edit here is replaced"
#: Google's advice for one request's size
MAX_REQUEST_BYTES = 2_000_000
#: the most cells one spreadsheet may hold
MAX_CELLS = 10_000_000
#: forecourt's conditional-format rules carry this term (always true) so a later run finds
#: them, and only them, again
TAG = 'N("forecourt")=0'
DATE_TIME_PATTERN = "yyyy-mm-dd hh:mm"


def json_value(value: Any) -> Any:
    """A plan value as the API takes it with ``RAW``: text as text, moments as serials."""
    value = python_value(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return serial(value)
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _rgb(hex_colour: str) -> dict[str, float]:
    return {k: int(hex_colour[i:i + 2], 16) / 255 for k, i in (("red", 0), ("green", 2),
                                                                ("blue", 4))}


def sheets_formula(rule: Highlight) -> str:
    """The rule's custom formula: Google Sheets reads Excel's, relative to the range's first
    row, with a leading ``=``."""
    from forecourt.sync.xlsx.highlight import excel_formula

    return "=" + excel_formula(rule)


@dataclass
class _SheetInfo:
    sheet_id: int
    title: str
    index: int
    rows: int
    columns: int
    frozen: int = 0
    rules: list[dict[str, Any]] = field(default_factory=list)
    protected: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Staged:
    requests: list[dict[str, Any]]
    data: list[dict[str, Any]]
    applied: Applied


class SheetsBackend:
    """A Google Sheet, by id or URL, through a ``gspread.Client`` or its HTTP client (made
    from ``credentials`` when not given: see :mod:`forecourt.sync.sheets_client`)."""

    capabilities = Capabilities(live_highlighting=True, links=True, charts=False,
                                number_formats=True, widths=True, max_cells=MAX_CELLS,
                                atomic_commit=False)
    store = None  # the memory lives in the user's state folder: forecourt.store

    def __init__(self, spreadsheet: str, *, client: Any = None,
                 credentials: str | Path | None = None, oauth: bool = False,
                 max_cells: int = MAX_CELLS, max_request_bytes: int = MAX_REQUEST_BYTES
                 ) -> None:
        from forecourt.sync.sheets_client import make_client, spreadsheet_id

        self.id = spreadsheet_id(spreadsheet)
        self.client = client if client is not None else make_client(credentials, oauth=oauth)
        # a gspread.Client, or the HTTP client a gspread.Spreadsheet carries
        self.http = getattr(self.client, "http_client", self.client)
        self.identity = WorkbookId("sheet", self.id)
        self.max_cells = max_cells  # Google's limit per spreadsheet
        self.max_request_bytes = max_request_bytes  # a write is split only past this
        self.title = self.id
        self.time_zone: str | None = None
        self._sheets: dict[str, _SheetInfo] = {}
        self._tabs: dict[str, Tab] = {}
        self._revision: str | None = None
        self._auto_recalc: str | None = None
        self._staged: _Staged | None = None
        self.drive_calls = 0

    @property
    def api_calls(self) -> int:
        """Calls to the Sheets API (Drive's, counted against Drive's own quota, are not)."""
        return int(getattr(self.http, "calls", 0)) - self.drive_calls

    @property
    def retries(self) -> int:
        return int(getattr(self.http, "retries", 0))

    # around a run ------------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self, *, write: bool, memory: Path | None = None) -> Iterator[list[str]]:
        """One run per Sheet on this computer: the run lock beside its memory file. A read is
        trusted only within the session it was made in: a Sheet cannot tell whether it
        changed since without another call, so :meth:`apply` reads again when this session
        has not read yet."""
        self._revision = None
        if not write or memory is None:
            yield []
            return
        from forecourt import locks

        Path(memory).parent.mkdir(parents=True, exist_ok=True)
        lock = locks.take_run_lock(Path(memory))
        try:
            yield [lock.took_over] if lock.took_over else []
        finally:
            lock.release()

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, url, **kwargs)
        return response.json() if response.content else {}

    def read(self, progress: Progress | None = None,
             while_waiting: Callable[[], None] | None = None) -> Tabs:
        meta = self._call("get", f"{API}/{self.id}", params={"fields": META_FIELDS})
        props = meta.get("properties", {})
        self.title = props.get("title", self.id)
        self.time_zone = _known_zone(props.get("timeZone"))
        self._auto_recalc = props.get("autoRecalc", "ON_CHANGE")
        self._sheets = {}
        for sheet in meta.get("sheets", []):
            p = sheet.get("properties", {})
            grid = p.get("gridProperties", {})
            self._sheets[p["title"]] = _SheetInfo(
                int(p.get("sheetId", 0)), p["title"], int(p.get("index", 0)),
                int(grid.get("rowCount", 0)), int(grid.get("columnCount", 0)),
                int(grid.get("frozenRowCount", 0)), list(sheet.get("conditionalFormats", [])),
                list(sheet.get("protectedRanges", [])))
        titles = sorted(self._sheets, key=lambda t: self._sheets[t].index)
        if progress:
            progress(f"reading {len(titles)} tabs of {self.title}")
        response = self.http.request(
            "get", f"{API}/{self.id}/values:batchGet",
            params={"ranges": [quote_sheet(t) for t in titles],
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"})
        body = response.content
        ranges = json.loads(body).get("valueRanges", []) if body else []
        tabs = []
        for title, value_range in zip(titles, ranges, strict=False):
            rows = value_range.get("values", [])
            width = max(map(len, rows), default=0)
            # The API trims a row's empty cells at the end and leaves out an empty range.
            tabs.append(Tab(title, [list(r) + [""] * (width - len(r)) for r in rows]))
        self._tabs = {t.name: t for t in tabs}
        self._revision = hashlib.sha1(json.dumps(meta, sort_keys=True).encode() + body) \
            .hexdigest()
        return Tabs(self.title, tabs, kind="sheet", identity=self.identity,
                    revision=self._revision, time_zone=self.time_zone)

    def will_write(self, sheets: list[str]) -> None:
        return None

    def modified_time(self) -> dt.datetime | None:
        """When the Sheet was last changed (Drive's ``modifiedTime``, in UTC; one Drive call,
        which does not count against the Sheets quota); None when Drive does not say."""
        self.drive_calls += int(hasattr(self.http, "calls"))
        try:
            found = self._call("get", f"{DRIVE_FILES}/{self.id}",
                               params={"fields": "modifiedTime", "supportsAllDrives": "true"})
        except ForecourtError:
            return None
        text = str(found.get("modifiedTime", ""))
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None

    def formulas(self, sheets: Iterable[str]) -> dict[str, dict[tuple[int, int], str]]:
        """The formulas of the tabs ``sheets`` (one call): (row, column index) -> formula, for
        the cells whose value this session read is a formula's result. Text that only starts
        with "=" reads the same either way and is not one."""
        titles = [t for t in sheets if t in self._tabs]
        if not titles:
            return {}
        response = self.http.request(
            "get", f"{API}/{self.id}/values:batchGet",
            params={"ranges": [quote_sheet(t) for t in titles], "valueRenderOption": "FORMULA",
                    "majorDimension": "ROWS"})
        ranges = json.loads(response.content).get("valueRanges", []) if response.content \
            else []
        out: dict[str, dict[tuple[int, int], str]] = {}
        for title, value_range in zip(titles, ranges, strict=False):
            tab = self._tabs[title]
            found = {}
            for i, row in enumerate(value_range.get("values", [])):
                for j, v in enumerate(row):
                    if isinstance(v, str) and v.startswith("=") \
                            and tab.value(i + 1, j) != v:
                        found[(i + 1, j)] = v
            if found:
                out[title] = found
        return out

    def changed_since_read(self, sheets: Iterable[str]) -> list[str]:
        """The tabs of ``sheets`` whose values are not what this session read (a teammate
        typed meanwhile), in one call; a tab the Sheet did not have is not asked for."""
        titles = [t for t in sheets if t in self._tabs]
        if not titles:
            return []
        response = self.http.request(
            "get", f"{API}/{self.id}/values:batchGet",
            params={"ranges": [quote_sheet(t) for t in titles],
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"})
        ranges = json.loads(response.content).get("valueRanges", []) if response.content \
            else []
        now = {t: r.get("values", []) for t, r in zip(titles, ranges, strict=False)}
        return [t for t in titles
                if _trimmed_rows(now.get(t, [])) != _trimmed(self._tabs[t])]

    # writing ---------------------------------------------------------------------------

    def apply(self, plan: Plan, progress: Progress | None = None) -> Applied:
        """Work out the two write calls (made by :meth:`commit`): only what changes."""
        say = progress or (lambda _m: None)
        if self._revision is None:  # not read in this session: the Sheet as it is now
            self.read(progress)
        applied = Applied()
        requests: list[dict[str, Any]] = []
        data: list[dict[str, Any]] = []
        trust = trusts(plan, self.identity, self._revision)
        grids = {t: (i.rows, i.columns) for t, i in self._sheets.items()}
        dealer = []
        used_ids = {i.sheet_id for i in self._sheets.values()}
        for edit in plan.edits:
            info = self._sheets.get(edit.sheet)
            if info is None and edit.create:  # a tab of the workbook the Sheet has not yet
                info = self._sheets[edit.sheet] = _SheetInfo(
                    _new_id(used_ids), edit.sheet, len(self._sheets), 0, 0, edit.header_row)
                requests.append({"addSheet": {"properties": {
                    "sheetId": info.sheet_id, "title": edit.sheet,
                    "gridProperties": {"rowCount": 1, "columnCount": 1,
                                       "frozenRowCount": edit.header_row}}}})
                grids[edit.sheet] = (1, 1)
            if info is None:
                raise UnreadableWorkbook(f"the tab {edit.sheet!r} is no longer in the Google "
                                         f"Sheet {self.title!r}; nothing was written.",
                                         sheet=edit.sheet)
            say(f"writing {edit.cell_count} cells to {edit.sheet}")
            if self._edit(edit, info, trust, requests, data, applied, grids):
                dealer.append(edit.sheet)
        generated = []
        for sheet in plan.sheets:
            name = self._generated(sheet, requests, data, used_ids, grids)
            if name:
                generated.append(name)
        if requests or data:
            if self._auto_recalc != "MINUTE":  # NOW() moves while nobody edits
                requests.append({"updateSpreadsheetProperties": {
                    "properties": {"autoRecalc": "MINUTE"}, "fields": "autoRecalc"}})
            cells = sum(r * c for r, c in grids.values())
            if cells > self.max_cells:
                raise CannotWrite(f"the Google Sheet {self.title!r} would hold {cells:,} cells, "
                                  f"more than Google's limit of {self.max_cells:,}; nothing "
                                  "was written (move old leads to another spreadsheet).")
        applied.changed_sheets = dealer + generated
        applied.only_generated = bool(generated) and not dealer
        self._staged = _Staged(requests, data, applied)
        return applied

    def _edit(self, edit: SheetEdit, info: _SheetInfo, trust: bool,
              requests: list[dict[str, Any]], data: list[dict[str, Any]], applied: Applied,
              grids: dict[str, tuple[int, int]]) -> bool:
        """Stage one dealer's tab's edit; whether anything of it changes."""
        tab = self._tabs.get(edit.sheet) or Tab(edit.sheet, [])
        taken = [] if trust else taken_columns(edit, tab)
        applied.skipped.extend(taken)
        off = {t.column for t in taken}
        before = len(requests) + len(data)
        cells: dict[str, dict[int, Any]] = {}  # column -> row -> value
        for c in edit.new_columns:
            if c.column not in off and not _same(_cell(tab, edit.header_row, c.column),
                                                  c.header):
                cells.setdefault(c.column, {})[edit.header_row] = c.header
        index = KeyIndex({}, set()) if trust else \
            key_index(tab, edit.header_row, edit.key_column)
        dates = set()
        for writes in edit.columns:
            if writes.column in off:
                continue
            values = writes.python_values()
            if trust:
                rows: list[int | None] = writes.rows.tolist()
            else:
                located = locate_rows(edit, writes, tab, index)
                applied.skipped.extend(located.skipped)
                rows = located.rows
            column = cells.setdefault(writes.column, {})
            n = 0
            for row, value in zip(rows, values, strict=True):
                if row is not None and not _same(_cell(tab, row, writes.column), value):
                    column[row] = value
                    n += 1
            applied.count(edit.sheet, n)
            if writes.values.dtype.kind == "M" and n:
                dates.add(writes.column)
        if edit.appends:  # a key the tab has is written in place, a new one below the last row
            rows_by_key = index.rows if not trust else \
                key_index(tab, edit.header_row, edit.key_column).rows
            end = max(tab.first_row + len(tab.rows) - 1, edit.header_row)
            for block in edit.appends:
                for key, row_values in zip(block.keys, block.values, strict=True):
                    row = rows_by_key.get(fold_key(key))
                    if row is None:
                        end += 1
                        row = rows_by_key[fold_key(key)] = end
                    n = 0
                    for column, value in zip(block.columns, row_values, strict=True):
                        if not _same(_cell(tab, row, column), value):
                            cells.setdefault(column, {})[row] = value
                            n += 1
                            if isinstance(python_value(value), dt.datetime | dt.date):
                                dates.add(column)
                    applied.count(edit.sheet, n)
        last_row = max([r for col in cells.values() for r in col]
                       + [h.last_row for h in edit.highlights], default=0)
        last_col = max([column_index(c) for c, col in cells.items() if col]
                       + [column_index(h.last_column) for h in edit.highlights], default=-1)
        self._grow(info, last_row, last_col + 1, requests, grids)
        for column, by_row in sorted(cells.items(), key=lambda kv: column_index(kv[0])):
            formulas = {r: v for r, v in by_row.items() if isinstance(v, Formula)}
            if formulas:  # in the batchUpdate: values:batchUpdate RAW would make them text
                requests.extend(_formula_runs(info.sheet_id, column, formulas))
                by_row = {r: v for r, v in by_row.items() if r not in formulas}
            data.extend(_runs(edit.sheet, column, by_row))
        for column in sorted(dates, key=column_index):
            requests.append(_number_format(info.sheet_id, column, edit.header_row,
                                           grids[info.title][0], DATE_TIME_PATTERN))
        for c in edit.new_columns:
            if c.width is not None and c.column not in off and cells.get(c.column):
                requests.append(_width(info.sheet_id, c.column, c.width))
        requests.extend(self._rules(info, edit.highlights, edit.flags))
        requests.extend(self._protect(info, edit, grids[info.title][0]))
        return len(requests) + len(data) > before

    def _protect(self, info: _SheetInfo, edit: SheetEdit, rows: int) -> list[dict[str, Any]]:
        """forecourt's warning-only protected ranges over ``edit.protect``'s columns, the
        team's own left alone; nothing when they are already these."""
        wanted = [{"sheetId": info.sheet_id, "startRowIndex": edit.header_row,
                   "endRowIndex": max(rows, edit.header_row + 1),
                   "startColumnIndex": column_index(c), "endColumnIndex": column_index(c) + 1}
                  for c in edit.protect]
        ours = [p for p in info.protected if p.get("description") == PROTECTED]
        def key(r: dict[str, Any]) -> str:
            return json.dumps(_canon(r), sort_keys=True)

        if sorted(key(p.get("range", {})) for p in ours) == sorted(map(key, wanted)):
            return []
        out: list[dict[str, Any]] = [
            {"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}}
            for p in ours if "protectedRangeId" in p]
        out += [{"addProtectedRange": {"protectedRange": {
            "range": r, "description": PROTECTED, "warningOnly": True}}} for r in wanted]
        return out

    def _rules(self, info: _SheetInfo, highlights: tuple[Highlight, ...],
               flags: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Replace forecourt's conditional-format rules on the tab, the team's left alone:
        deletes by index from the highest down, then adds after the team's rules; nothing
        when the rules are already these."""
        wanted = [_rule(info.sheet_id, h) for h in highlights]
        if flags:
            wanted.append({"ranges": [_cell_range(info.sheet_id, a1) for a1 in flags],
                           "booleanRule": {"condition": {"type": "CUSTOM_FORMULA",
                                                         "values": [{"userEnteredValue":
                                                                     "=" + TAG}]},
                                           "format": {"backgroundColor": _rgb(FLAG_FILL)}}})
        ours = [k for k, r in enumerate(info.rules) if _is_ours(r)]
        if [_canon(info.rules[k]) for k in ours] == [_canon(r) for r in wanted]:
            return []
        out: list[dict[str, Any]] = [
            {"deleteConditionalFormatRule": {"sheetId": info.sheet_id, "index": k}}
            for k in sorted(ours, reverse=True)]
        first = len(info.rules) - len(ours)
        out += [{"addConditionalFormatRule": {"rule": rule, "index": first + k}}
                for k, rule in enumerate(wanted)]
        return out

    def _grow(self, info: _SheetInfo, rows: int, columns: int,
              requests: list[dict[str, Any]], grids: dict[str, tuple[int, int]]) -> None:
        """More rows or columns where the writes go past the tab's grid."""
        have_rows, have_cols = grids[info.title]
        for dimension, have, need in (("ROWS", have_rows, rows), ("COLUMNS", have_cols, columns)):
            if need > have:
                requests.append({"appendDimension": {"sheetId": info.sheet_id,
                                                     "dimension": dimension,
                                                     "length": need - have}})
        grids[info.title] = (max(have_rows, rows), max(have_cols, columns))

    def _generated(self, sheet: GeneratedSheet, requests: list[dict[str, Any]],
                   data: list[dict[str, Any]], used_ids: set[int],
                   grids: dict[str, tuple[int, int]]) -> str | None:
        """Stage a generated tab (Issues, KPI, Log): rewritten whole when it differs; the
        name it has, or None when it is already as planned."""
        name = sheet.name
        info = self._sheets.get(name)
        tab = self._tabs.get(name)
        if info is not None and not (tab is not None and is_generated(tab)):
            name = f"{sheet.name} (forecourt)"  # the team's own tab of that name stays theirs
            info = self._sheets.get(name)
        width = max((len(r) for r in sheet.rows), default=1)
        height = max(len(sheet.rows), 1)
        wanted = [[json_value(v) for v in row] for row in sheet.rows]
        if info is not None and _trimmed(self._tabs.get(name)) == _trimmed_rows(wanted):
            return None
        if info is None:
            sheet_id = _new_id(used_ids)
            info = _SheetInfo(sheet_id, name, len(self._sheets) + len(used_ids), height, width)
            grids[name] = (0, 0)
            requests.append({"addSheet": {"properties": {
                "sheetId": sheet_id, "title": name,
                "gridProperties": {"rowCount": height, "columnCount": width,
                                   "frozenRowCount": sheet.freeze_row}}}})
            grids[name] = (height, width)
        else:
            requests.append({"updateCells": {"range": {"sheetId": info.sheet_id},
                                             "fields": "userEnteredValue,userEnteredFormat"}})
            self._grow(info, height, width, requests, grids)
            if info.frozen != sheet.freeze_row:
                requests.append({"updateSheetProperties": {
                    "properties": {"sheetId": info.sheet_id,
                                   "gridProperties": {"frozenRowCount": sheet.freeze_row}},
                    "fields": "gridProperties.frozenRowCount"}})
        # The cells go in the same batchUpdate (a value written later by values:batchUpdate
        # would clear a link's formula): text as stringValue, which is never a formula.
        links = sheet.links
        rows = [{"values": [self._link_value(links[(i, column_letter(j))], v)
                            if (i, column_letter(j)) in links else _cell_data(v)
                            for j, v in enumerate(row)]}
                for i, row in enumerate(wanted, start=1)]
        requests.append({"updateCells": {"start": {"sheetId": info.sheet_id, "rowIndex": 0,
                                                   "columnIndex": 0},
                                         "rows": rows, "fields": "userEnteredValue"}})
        for column, pattern in sheet.formats.items():
            requests.append(_number_format(info.sheet_id, column, 0, height, pattern))
        for column, width_chars in sheet.widths.items():
            requests.append(_width(info.sheet_id, column, width_chars))
        if sheet.bold_rows:
            for row in sorted(sheet.bold_rows):
                requests.append({"repeatCell": {
                    "range": {"sheetId": info.sheet_id, "startRowIndex": row - 1,
                              "endRowIndex": row},
                    "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                    "fields": "userEnteredFormat.textFormat.bold"}})
        return name

    def _link_value(self, target: Link | str, label: Any) -> dict[str, Any]:
        """A cell that links to a cell of the workbook: ``HYPERLINK("#gid=…&range=C7")``."""
        to = self._sheets.get(getattr(target, "sheet", ""))
        if to is None or not isinstance(target, Link):
            return _cell_data(label)
        text = str(label if label != "" else target).replace('"', '""')
        where = f"#gid={to.sheet_id}&range={target.column}{target.row}"
        return {"userEnteredValue": {"formulaValue": f'=HYPERLINK("{where}","{text}")'}}

    def commit(self, before: Callable[[], None] | None = None) -> Committed:
        if self._staged is None:
            raise RuntimeError("commit() without apply()")
        staged, self._staged = self._staged, None
        if before is not None:
            before()
        if not staged.requests and not staged.data:
            return Committed(False, self.url)
        calls = [(f"{API}/{self.id}:batchUpdate", {"requests": chunk})
                 for chunk in _chunks(staged.requests, self.max_request_bytes)]
        calls += [(f"{API}/{self.id}/values:batchUpdate", {"valueInputOption": "RAW",
                                                            "data": chunk})
                  for chunk in _chunks(staged.data, self.max_request_bytes)]
        for done, (url, body) in enumerate(calls):
            try:
                self._call("post", url, json=body)
            except ForecourtError as exc:
                if done:  # a first write went through: say so, the next run completes it
                    exc.args = (f"{exc} Part of this run's changes were written to the Sheet "
                                "already; the next run completes them.",)
                raise
        return Committed(True, self.url)

    @property
    def url(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self.id}"


# helpers ----------------------------------------------------------------------------------

def _known_zone(name: str | None) -> str | None:
    """The Sheet's time zone if this computer knows it (else this computer's own is used)."""
    if not name:
        return None
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _cell(tab: Tab | None, row: int, column: str) -> Any:
    return "" if tab is None else tab.value(row, column_index(column))


def _cell_data(value: Any) -> dict[str, Any]:
    """A value as ``updateCells`` takes it; text is a stringValue, never a formula."""
    if value in ("", None):
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


def _same(found: Any, value: Any) -> bool:
    """Whether a cell read back (numbers, serials for moments) holds the plan's value."""
    value = python_value(value)
    if isinstance(value, dt.datetime | dt.date) and isinstance(found, int | float) \
            and not isinstance(found, bool):
        return abs(found - serial(value)) < 1e-9
    return cell_text(found) == cell_text(value) and (value is None) == (found in ("", None))


def _runs(sheet: str, column: str, by_row: dict[int, Any]) -> Iterator[dict[str, Any]]:
    """One value range per run of consecutive rows of a column."""
    rows = sorted(by_row)
    start = 0
    for k in range(1, len(rows) + 1):
        if k == len(rows) or rows[k] != rows[k - 1] + 1:
            first, last = rows[start], rows[k - 1]
            yield {"range": f"{quote_sheet(sheet)}!{column}{first}:{column}{last}",
                   "majorDimension": "ROWS",
                   "values": [[json_value(by_row[r])] for r in rows[start:k]]}
            start = k


def _formula_runs(sheet_id: int, column: str, by_row: dict[int, str]
                  ) -> Iterator[dict[str, Any]]:
    """``updateCells`` requests writing formulas, one per run of consecutive rows."""
    rows = sorted(by_row)
    start = 0
    j = column_index(column)
    for k in range(1, len(rows) + 1):
        if k == len(rows) or rows[k] != rows[k - 1] + 1:
            yield {"updateCells": {
                "start": {"sheetId": sheet_id, "rowIndex": rows[start] - 1, "columnIndex": j},
                "rows": [{"values": [{"userEnteredValue": {"formulaValue": str(by_row[r])}}]}
                         for r in rows[start:k]],
                "fields": "userEnteredValue"}}
            start = k


def _number_format(sheet_id: int, column: str, header_row: int, rows: int,
                   pattern: str) -> dict[str, Any]:
    kind = "PERCENT" if "%" in pattern else "DATE_TIME" if "h" in pattern \
        else "DATE" if "y" in pattern else "NUMBER"
    j = column_index(column)
    return {"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": header_row,
                  "endRowIndex": max(rows, header_row + 1),
                  "startColumnIndex": j, "endColumnIndex": j + 1},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": kind, "pattern": pattern}}},
        "fields": "userEnteredFormat.numberFormat"}}


def _width(sheet_id: int, column: str, chars: float) -> dict[str, Any]:
    j = column_index(column)
    return {"updateDimensionProperties": {
        "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": j,
                  "endIndex": j + 1},
        "properties": {"pixelSize": int(round(chars * 7 + 5))}, "fields": "pixelSize"}}


def _cell_range(sheet_id: int, a1: str) -> dict[str, Any]:
    letters = a1.rstrip("0123456789")
    row, j = int(a1[len(letters):]), column_index(letters)
    return {"sheetId": sheet_id, "startRowIndex": row - 1, "endRowIndex": row,
            "startColumnIndex": j, "endColumnIndex": j + 1}


def _rule(sheet_id: int, h: Highlight) -> dict[str, Any]:
    fmt: dict[str, Any] = {"backgroundColor": _rgb(h.fill)}
    if h.font:
        fmt["textFormat"] = {"foregroundColor": _rgb(h.font)}
    return {"ranges": [{"sheetId": sheet_id, "startRowIndex": h.first_row - 1,
                        "endRowIndex": h.last_row, "startColumnIndex": 0,
                        "endColumnIndex": column_index(h.last_column) + 1}],
            "booleanRule": {"condition": {"type": "CUSTOM_FORMULA",
                                          "values": [{"userEnteredValue": sheets_formula(h)}]},
                            "format": fmt}}


def _canon(value: Any) -> Any:
    """A JSON value as the API compares it: zero-valued defaults (``sheetId: 0``, empty
    lists) left out, as the API leaves them out of its answers; colours to 6 places."""
    if isinstance(value, dict):  # the API mirrors each colour as a "...ColorStyle" too
        return {k: c for k, v in value.items() if not k.endswith("ColorStyle")
                and (c := _canon(v)) not in (0, "", False, None, [], {})}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def _is_ours(rule: dict[str, Any]) -> bool:
    condition = rule.get("booleanRule", {}).get("condition", {})
    return any(TAG in str(v.get("userEnteredValue", "")) for v in condition.get("values", []))


def _trimmed_rows(rows: list[list[Any]]) -> list[list[Any]]:
    out = [list(r) for r in rows]
    for r in out:
        while r and r[-1] in ("", None):
            r.pop()
    while out and not out[-1]:
        out.pop()
    return [[cell_text(v) for v in r] for r in out]


def _trimmed(tab: Tab | None) -> list[list[Any]] | None:
    return None if tab is None else _trimmed_rows(tab.rows)


def _new_id(used: set[int]) -> int:
    while True:
        candidate = secrets.randbelow(2**31 - 1) + 1
        if candidate not in used:
            used.add(candidate)
            return candidate


def _chunks(items: list[dict[str, Any]], limit: int) -> Iterator[list[dict[str, Any]]]:
    """``items`` in as few requests as keep each under ``limit`` bytes (one item alone may
    pass it: it cannot be split)."""
    chunk: list[dict[str, Any]] = []
    size = 100
    for item in items:
        n = len(json.dumps(item, separators=(",", ":"))) + 1
        if chunk and size + n > limit:
            yield chunk
            chunk, size = [], 100
        chunk.append(item)
        size += n
    if chunk:
        yield chunk
