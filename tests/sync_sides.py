"""The two sides of a sync as the tests make and inspect them, with tools of their own: the
Excel workbook through openpyxl (not forecourt's reader or writer), the Google Sheet through
the Sheets API of the stand-in (raw calls, as a teammate's phone makes them), and the real
``forecourt sync`` command in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
from sheets_fixtures import from_serial, to_serial

TEAM = [["Name", "Active", "Days", "Stores", "Languages"],
        ["Sarah Mitchell", "Yes", "Mon-Sun", "", "EN"],
        ["Tom Hughes", "Yes", "Mon-Sun", "", "EN, DE"]]
DATE_COLUMNS = ("Received",)
AS_OF = "2026-12-07 10:00"


def parse_moment(text: str) -> dt.datetime | str:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return text


def shown(value: Any) -> str:
    """A cell as the expectations spell it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# The Excel side -------------------------------------------------------------------------------

def write_book(path: Path, header: list[str], rows: list[dict[str, str]],
               settings: dict[str, Any] | None = None) -> None:
    """A workbook with a Leads tab (text as text, even when it starts with "="; Received as
    moments), a Team tab and a Settings tab."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(header)
    for row in rows:
        _append(ws, header, row)
    team = wb.create_sheet("Team")
    for r in TEAM:
        team.append(r)
    s = wb.create_sheet("Settings")
    s.append(["Setting", "Value"])
    s.append(["Time zone", "Europe/London"])
    settings = settings or {}
    if settings.get("prefer"):
        s.append(["Sync conflicts", settings["prefer"].capitalize()])
    if settings.get("private"):
        s.append(["Private columns", ", ".join(settings["private"])])
    wb.save(path)


def _append(ws: Any, header: list[str], row: dict[str, str]) -> None:
    r = ws.max_row + 1
    for j, h in enumerate(header, start=1):
        _set(ws.cell(r, j), h, row.get(h, ""))


def _set(cell: Any, header: str, text: str) -> None:
    if text in ("", None):
        cell.value = None
        return
    value = parse_moment(text) if header in DATE_COLUMNS else text
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would take "=..." for a formula


def excel_rows(path: Path, sheet: str = "Leads") -> tuple[list[str], list[dict[str, str]]]:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    return _records(values)


def _records(values: list[list[Any]]) -> tuple[list[str], list[dict[str, str]]]:
    if not values:
        return [], []
    header = [shown(h) for h in values[0]]
    out = []
    for row in values[1:]:
        cells = {h: shown(row[j]) if j < len(row) else "" for j, h in enumerate(header) if h}
        if any(cells.values()):
            out.append(cells)
    return header, out


def edit_excel(path: Path, ops: list[dict[str, Any]]) -> None:
    """A person's edits in Excel (openpyxl: what the file holds after they save)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Leads"]
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    grid = apply_ops(grid, ops, moments=True)
    ws.delete_rows(1, ws.max_row)
    for i, row in enumerate(grid, start=1):
        for j, v in enumerate(row, start=1):
            cell = ws.cell(i, j)
            cell.value = v if v != "" else None
            if isinstance(v, str) and v:
                cell.data_type = "s"
    wb.save(path)


def apply_ops(grid: list[list[Any]], ops: list[dict[str, Any]], moments: bool
              ) -> list[list[Any]]:
    """``ops`` (set, add, delete, sort, add_column, delete_column) on a tab's values."""
    header = [shown(h) for h in grid[0]]
    width = len(header)
    rows = [list(r) + [""] * (width - len(r)) for r in grid[1:]]
    rows = [r for r in rows if any(shown(v) for v in r)]

    def j_of(name: str) -> int:
        return header.index(name)

    def row_of(key: str) -> list[Any]:
        k = j_of("Lead ID")
        return next(r for r in rows if shown(r[k]) == key)

    def value(h: str, text: str) -> Any:
        if h in DATE_COLUMNS and text:
            moment = parse_moment(text)
            if isinstance(moment, dt.datetime):
                return moment if moments else to_serial(moment)
        return text

    for op in ops:
        kind = op["op"]
        if kind == "set":
            row_of(op["key"])[j_of(op["column"])] = value(op["column"], op["value"])
        elif kind == "add":
            new = [""] * len(header)
            for h, text in op["row"].items():
                if h in header:
                    new[j_of(h)] = value(h, text)
            rows.append(new)
        elif kind == "delete":
            rows.remove(row_of(op["key"]))
        elif kind == "sort":
            j = j_of(op["column"])
            rows.sort(key=lambda r: shown(from_serial(r[j]) if isinstance(r[j], float)
                                          and op["column"] in DATE_COLUMNS else r[j]),
                      reverse=bool(op.get("descending")))
        elif kind == "add_column":
            header.append(op["header"])
            k = j_of("Lead ID")
            for r in rows:
                r.append(op["values"].get(shown(r[k]), ""))
        elif kind == "delete_column":
            j = j_of(op["header"])
            header.pop(j)
            for r in rows:
                r.pop(j)
        else:
            raise ValueError(kind)
    return [header, *rows]


# The Sheet side --------------------------------------------------------------------------------

def sheet_values(standin: Any, sid: str, tab: str = "Leads") -> list[list[Any]]:
    got = standin.api("get", f"/{sid}/values/{quote(tab)}",
                      params={"valueRenderOption": "UNFORMATTED_VALUE",
                              "dateTimeRenderOption": "SERIAL_NUMBER"})
    return got.get("values", [])


def quote(tab: str) -> str:
    return "'" + tab.replace("'", "''") + "'"


def sheet_rows(standin: Any, sid: str, tab: str = "Leads") -> tuple[list[str],
                                                                     list[dict[str, str]]]:
    values = sheet_values(standin, sid, tab)
    if not values:
        return [], []
    header = [shown(h) for h in values[0]]
    moments = {j for j, h in enumerate(header) if h in DATE_COLUMNS}
    fixed = [values[0]] + [[from_serial(v) if j in moments and isinstance(v, int | float)
                            else v for j, v in enumerate(r)] for r in values[1:]]
    return _records(fixed)


def sheet_tabs(standin: Any, sid: str) -> list[str]:
    meta = standin.api("get", f"/{sid}", params={"fields": "sheets.properties.title"})
    return [s["properties"]["title"] for s in meta.get("sheets", [])]


def put_sheet(standin: Any, sid: str, grid: list[list[Any]], tab: str = "Leads") -> None:
    """A teammate's edits: the tab's values replaced whole (RAW: text stays text)."""
    if tab not in sheet_tabs(standin, sid):
        standin.api("post", f"/{sid}:batchUpdate",
                    json={"requests": [{"addSheet": {"properties": {"title": tab}}}]})
    meta = standin.api("get", f"/{sid}", params={"fields": "sheets.properties"})
    grid_of = {s["properties"]["title"]: s["properties"] for s in meta["sheets"]}[tab]
    have = grid_of.get("gridProperties", {})
    need_rows, need_cols = len(grid), max(map(len, grid), default=0)
    requests = [{"appendDimension": {"sheetId": grid_of["sheetId"], "dimension": d,
                                     "length": need - have.get(f"{d.lower()[:-1]}Count", 0)}}
                for d, need in (("ROWS", need_rows), ("COLUMNS", need_cols))
                if need > have.get(f"{d.lower()[:-1]}Count", 0)]
    if requests:  # a person's new column past the grid's last: the grid grows first
        standin.api("post", f"/{sid}:batchUpdate", json={"requests": requests})
    standin.api("post", f"/{sid}/values/{quote(tab)}:clear", json={})
    if grid:
        standin.api("put", f"/{sid}/values/{quote(tab)}!A1",
                    params={"valueInputOption": "RAW"},
                    json={"values": [[("" if v is None else v) for v in r] for r in grid]})


def edit_sheet(standin: Any, sid: str, ops: list[dict[str, Any]]) -> None:
    put_sheet(standin, sid, apply_ops(sheet_values(standin, sid), ops, moments=False))


def sheet_from_rows(header: list[str], rows: list[dict[str, str]]) -> list[list[Any]]:
    out: list[list[Any]] = [list(header)]
    for row in rows:
        out.append([to_serial(m) if h in DATE_COLUMNS and isinstance(
            m := parse_moment(row.get(h, "")), dt.datetime) else row.get(h, "")
            for h in header])
    return out


def conflicts_listed(rows: list[list[Any]]) -> set[tuple[str, str, str, str, str]]:
    """(key, column, excel, sheet, kept) of each row of a Conflicts tab."""
    header_at = next((i for i, r in enumerate(rows) if r[:2] == ["Found", "Tab"]), None)
    if header_at is None:
        return set()
    out = set()
    for r in rows[header_at + 1:]:
        r = [shown(v) for v in r] + [""] * 8
        if r[0] in ("", "none"):
            continue
        out.add((r[2], r[3], r[5], r[6], "excel" if r[7].startswith("Excel") else "sheet"))
    return out


def excel_conflicts(path: Path) -> set[tuple[str, str, str, str, str]]:
    wb = openpyxl.load_workbook(path)
    if "Conflicts" not in wb.sheetnames:
        return set()
    rows = [list(r) for r in wb["Conflicts"].iter_rows(values_only=True)]
    wb.close()
    return conflicts_listed(rows)


# The command -------------------------------------------------------------------------------

def sync_here(book: Path, sid: str, standin: Any, **kwargs: Any) -> dict[str, Any]:
    """One sync in this process (quicker than the command: for the syncs around the one a
    test is about); its report as ``--json`` gives it."""
    from forecourt.sync.sheets import SheetsBackend
    from forecourt.sync.twoway import sync

    result = sync(book, SheetsBackend(sid, client=standin.client),
                  as_of=dt.datetime.strptime(AS_OF, "%Y-%m-%d %H:%M"), **kwargs)
    return result.to_dict()


def _command(book: Path, sid: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "forecourt", "sync", str(book), "--sheet", sid, "--as-of",
            AS_OF, *args]


def _env(base_url: str, env: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, "FORECOURT_SHEETS_EMULATOR": base_url, **(env or {})}


def run_sync(book: Path, sid: str, base_url: str, *args: str, env: dict[str, str] | None = None,
             timeout: float = 120) -> tuple[int, dict[str, Any] | None, str]:
    """``forecourt sync BOOK --sheet SID --json`` against the stand-in: (exit code, the JSON
    report, stderr)."""
    proc = subprocess.run(_command(book, sid, "--json", *args), capture_output=True,
                          text=True, env=_env(base_url, env), timeout=timeout)
    report = json.loads(proc.stdout.splitlines()[-1]) if proc.stdout.strip() else None
    return proc.returncode, report, proc.stderr


def start_sync(book: Path, sid: str, base_url: str, *args: str,
               env: dict[str, str] | None = None, output: Any = subprocess.PIPE
               ) -> subprocess.Popen:
    """``forecourt sync BOOK --sheet SID ARGS`` started against the stand-in, not waited
    for (to pause it, kill it, or stop a job)."""
    return subprocess.Popen(_command(book, sid, *args), stdout=output, stderr=output,
                            text=True, env=_env(base_url, env))


BASE_CSV = Path(__file__).parent / "golden_sync" / "01_excel_edit_only" / "base.csv"


def synced_pair(folder: Path, standin: Any, title: str) -> tuple[Path, str]:
    """A workbook of :data:`BASE_CSV`'s leads and a new Sheet, synced once."""
    import csv

    with BASE_CSV.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header, rows = list(reader.fieldnames or []), list(reader)
    book = folder / "Leads.xlsx"
    write_book(book, header, rows)
    sid = standin.client.create(f"{title} {folder.name}").id
    assert sync_here(book, sid, standin)["complete"]
    return book, sid


def open_in_excel(book: Path, person: str = "Anna Owner") -> Path:
    """The owner file Excel keeps beside a workbook it has open; delete it to close."""
    from test_file_safety import excel_owner_file

    owner = book.with_name("~$" + book.name)
    owner.write_bytes(excel_owner_file(person))
    return owner
