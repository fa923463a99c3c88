"""Input workbooks for the `forecourt run` preservation and safety tests, and the helpers that
run the command and look inside the written .xlsx package.

The "rich" book is what a real dealer's file holds besides the data forecourt works on: styles,
widths, frozen panes, a filter, a dropdown, the dealer's own conditional format, a comment, a
defined name, a formula column (filled down as an Excel *shared* formula with cached values), a
chart on another sheet, a logo image on the leads sheet, a pivot table, and shared strings
(Excel writes text that way; openpyxl writes inline strings, so the builder converts them).
openpyxl cannot write the image (without Pillow), the pivot table or a VBA project, so the
builder post-processes the saved zip and adds those parts by hand.

"Now" for every run is ``AS_OF`` (Monday 2026-11-23 10:00). The leads rows (Excel row numbers)
are listed in :data:`LEADS`; the tests name the rows they look at through the ``ROW_*``
constants.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree as ET

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from forecourt.settings import Settings, settings_rows

AS_OF = "2026-11-23 10:00"
NOW = dt.datetime(2026, 11, 23, 10, 0)  # a Monday

LEADS_SHEET = "Leads"
STOCK_SHEET = "Stock"
TEAM = (("Alex", "Yes", "Mon-Fri"), ("Sam", "Yes", "Mon-Sat"), ("Jo", "No", "Mon-Fri"))
ACTIVE_PEOPLE = {"Alex", "Sam"}

# The dealer's own leads columns (A..J) and the headers `run` must add at their right.
LEAD_HEADERS = ("Received", "Name", "Phone", "Email", "Source", "VIN", "Status", "Notes",
                "Colour", "Days open")
DEALER_LEAD_COLUMNS = "ABCDEFGHIJ"
ADDED_LEAD_HEADERS = ("Lead ID", "Owner", "Next action", "Due", "Status since", "State")
STOCK_HEADERS = ("VIN", "Make", "Model", "Price", "Status")
DEALER_STOCK_COLUMNS = "ABCDE"
BUYERS_WAITING = "Buyers waiting"
GENERATED_SHEETS = ("Issues", "KPI", "Log")
JSON_KEYS = ("leads", "stock", "open", "overdue", "due_soon", "stalled", "assigned", "issues",
             "kpi")

GOLF = "WVWZZZ1KZ8W000001"
PASSAT = "WVWZZZ3CZ9E000002"
FOCUS = "WF0XXXGCDX1234567"   # in transit: two open leads wait for it
BMW = "WBAPH5C51BA123456"     # sold: one open lead still asks about it
OCTAVIA = "TMBJJ7NE0L0000003"
GOLF_2 = "WVWZZZ1KZ9W000004"
BMW_2 = "WBA8E9C50GK654321"   # same make and model as the sold BMW, within its price band

STOCK = (
    (GOLF, "Volkswagen", "Golf", 8995, "On lot"),
    (PASSAT, "Volkswagen", "Passat", 11495, "On lot"),
    (FOCUS, "Ford", "Focus", 7995, "In transit"),
    (BMW, "BMW", "320i", 9900, "Sold"),
    (OCTAVIA, "Skoda", "Octavia", 10995, "Reserved"),
    (GOLF_2, "Volkswagen", "Golf", 9495, "On lot"),
    (BMW_2, "BMW", "320i", 10495, "On lot"),
)
TRANSIT_STOCK_ROW = 4  # FOCUS

EVIL_NAME = '=HYPERLINK("http://evil")'
NOTE_PLUS, NOTE_MINUS, NOTE_AT = "+1 call me", "-5", "@here"
SOURCE_AT = "@carpigeon"
UNTRUSTED = (EVIL_NAME, NOTE_PLUS, NOTE_MINUS, NOTE_AT, SOURCE_AT)

_d = dt.datetime
# Received, Name, Phone, Email, Source, VIN, Status, Notes, Colour (J is the formula column).
# Excel row = index + 2.
LEADS: tuple[tuple[Any, ...], ...] = (
    # 2: WhatsApp 09:50 today, 5 business minutes -> due 09:55: overdue at 10:00
    (_d(2026, 11, 23, 9, 50), "Amelia Hart", "+44 7700 900101", "amelia.hart@example.co.uk",
     "WhatsApp", GOLF, "New", "", "Blue"),
    # 3: WhatsApp 09:58 -> due 10:03: due soon
    (_d(2026, 11, 23, 9, 58), "Ben Carter", "+44 7700 900102", "", "WhatsApp", PASSAT, "New",
     "", "Red"),
    # 4: website form Friday 19:00 -> due Saturday 09:15 (open 09-14): overdue
    (_d(2026, 11, 20, 19, 0), "Chloe Davies", "", "chloe.davies@example.co.uk", "Website",
     GOLF, "New", "", "Grey"),
    # 5: WhatsApp Saturday 13:58 -> due Monday 09:03: overdue
    (_d(2026, 11, 21, 13, 58), "Daniel Evans", "+44 7700 900104", "", "WhatsApp", PASSAT,
     "New", "", "Black"),
    # 6: missed call 09:30 today -> call back by 09:40: overdue
    (_d(2026, 11, 23, 9, 30), "Emma Fisher", "+44 7700 900105", "", "Missed call", "", "New",
     "", "White"),
    # 7: e-mail 09:45 today -> due 10:45: due soon
    (_d(2026, 11, 23, 9, 45), "Finn Green", "", "finn.green@example.co.uk", "Email", GOLF_2,
     "New", "", "Blue"),
    # 8: formula-injection name, AutoTrader Sunday evening
    (_d(2026, 11, 22, 20, 0), EVIL_NAME, "+44 7700 900107", "", "AutoTrader", PASSAT, "New",
     "", "Silver"),
    # 9, 10: both wait for the Focus in transit; untrusted notes
    (_d(2026, 11, 19, 11, 0), "Grace Hughes", "+44 7700 900108", "grace.hughes@example.co.uk",
     "AutoTrader", FOCUS, "Contacted", NOTE_PLUS, "Red"),
    (_d(2026, 11, 18, 15, 20), "Harry Irwin", "+44 7700 900109", "", "Phone", FOCUS,
     "Contacted", NOTE_MINUS, "Green"),
    # 11: asks about the sold BMW
    (_d(2026, 11, 17, 10, 5), "Isla Jones", "+44 7700 900110", "isla.jones@example.co.uk",
     "Website", BMW, "Contacted", NOTE_AT, "Blue"),
    (_d(2026, 11, 16, 12, 30), "Jack King", "+44 7700 900111", "", "Facebook Marketplace",
     GOLF, "Attempting contact", "", "Black"),
    (_d(2026, 11, 16, 14, 0), "Katie Lewis", "", "katie.lewis@example.co.uk", "Email", PASSAT,
     "Contacted", "urgent", "Grey"),
    (_d(2026, 11, 13, 9, 40), "Liam Moore", "+44 7700 900113", "", "Phone", GOLF_2,
     "Offer sent", "", "White"),
    (_d(2026, 11, 12, 16, 10), "Mia Nolan", "+44 7700 900114", "mia.nolan@example.co.uk",
     "Website", OCTAVIA, "Contacted", "", "Red"),
    (_d(2026, 11, 10, 11, 25), "Noah Owen", "+44 7700 900115", "", "WhatsApp", GOLF,
     "Attempting contact", "", "Blue"),
    # 17: won, 18: lost
    (_d(2026, 11, 9, 10, 0), "Olivia Price", "+44 7700 900116", "olivia.price@example.co.uk",
     "Walk-in", BMW, "Won", "Paid by card", "Blue"),
    (_d(2026, 11, 5, 13, 45), "Oscar Quinn", "+44 7700 900117", "", "AutoTrader", PASSAT,
     "Lost", "Bought elsewhere", "Green"),
    (_d(2026, 11, 20, 10, 15), "Poppy Reid", "+44 7700 900118", "", "SMS", GOLF_2, "Contacted",
     "", "Silver"),
    # 20: untrusted text in a field `check` reports: unknown source "@carpigeon"
    (_d(2026, 11, 20, 16, 30), "Rory Shaw", "+44 7700 900119", "rory.shaw@example.co.uk",
     SOURCE_AT, "", "Contacted", "", "Grey"),
    (_d(2026, 11, 21, 10, 30), "Sophie Turner", "+44 7700 900120", "", "Facebook Marketplace",
     OCTAVIA, "Contacted", "", "Black"),
)
LAST_LEAD_ROW = len(LEADS) + 1
ROW_OVERDUE_CHAT = 2      # due 2026-11-23 09:55, "first reply"
ROW_DUE_SOON_CHAT = 3     # due 2026-11-23 10:03
ROW_OVERDUE_FORM = 4      # due Saturday 2026-11-21 09:15
ROW_OVERDUE_SATURDAY = 5  # due 2026-11-23 09:03
ROW_EVIL_NAME = 8
ROWS_UNTRUSTED_NOTES = {9: NOTE_PLUS, 10: NOTE_MINUS, 11: NOTE_AT}
ROWS_WAITING_FOR_TRANSIT = (9, 10)
ROW_WANTS_SOLD_CAR = 11   # BMW sold: offer BMW_2
ROW_UNKNOWN_SOURCE = 20   # SOURCE_AT
ROW_WON, ROW_LOST = 17, 18
CLOSED_ROWS = (ROW_WON, ROW_LOST)
OPEN_ROWS = tuple(r for r in range(2, LAST_LEAD_ROW + 1) if r not in CLOSED_ROWS)

HEADER_FONT = Font(bold=True, color="FFFFFFFF")
HEADER_FILL = PatternFill("solid", start_color="FF1F4E78", end_color="FF1F4E78")
COLOUR_FILL = PatternFill("solid", start_color="FFFFF2CC", end_color="FFFFF2CC")
RECEIVED_FORMAT = "dd/mm/yyyy hh:mm"
LEAD_WIDTHS = dict(zip(DEALER_LEAD_COLUMNS, (17.5, 26, 18, 30, 20, 21, 19, 24, 9, 10.5),
                       strict=True))
LEAD_VALIDATION_SQREF = "G2:G500"
LEAD_VALIDATION_LIST = '"New,Attempting contact,Contacted,Offer sent,Won,Lost"'
DEALER_CF_SQREF = "H2:H500"
DEALER_CF_FORMULA = '"urgent"'
COMMENT_CELL, COMMENT_TEXT, COMMENT_AUTHOR = "H12", "Wants a call after 17:00", "Dave"
DEFINED_NAME, DEFINED_NAME_TEXT = "LeadRange", "Leads!$A$1:$I$21"
FREEZE = "B2"
AUTO_FILTER = f"A1:J{LAST_LEAD_ROW}"

# Parts added by hand (names are what Excel would pick next, so a writer that assumes the
# next free name without looking collides with them).
LOGO_DRAWING = "xl/drawings/drawing2.xml"
LOGO_IMAGE = "xl/media/image1.png"
PIVOT_PARTS = ("xl/pivotTables/pivotTable1.xml", "xl/pivotTables/_rels/pivotTable1.xml.rels",
               "xl/pivotCache/pivotCacheDefinition1.xml",
               "xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels",
               "xl/pivotCache/pivotCacheRecords1.xml")
VBA_PART = "xl/vbaProject.bin"
MACRO_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_CONTENT_TYPE = "application/vnd.ms-office.vbaProject"

# Parts `run` may rewrite. Every other part of the input must come out byte-identical.
# sharedStrings.xml may grow (new text appended); its existing items must keep their places.
MAY_CHANGE = ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
              "xl/styles.xml", "xl/sharedStrings.xml")

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pr": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
    "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
}
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

# ---------------------------------------------------------------------------------------------
# Running `forecourt run`
# ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def detail(self) -> str:
        return (f"$ {' '.join(self.args[1:])}\nexit {self.returncode}\n--- stdout ---\n"
                f"{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}")

    def ok(self) -> Run:
        assert self.returncode == 0, self.detail()
        assert "Traceback" not in self.stderr, self.detail()
        return self

    @property
    def data(self) -> dict[str, Any]:
        try:
            data = json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"stdout is not one JSON object ({exc})\n{self.detail()}") \
                from None
        assert isinstance(data, dict), self.detail()
        return data


def hermetic_env() -> dict[str, str]:
    """The environment without a developer's FORECOURT_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FORECOURT_")}


def run_args(path: Path, *extra: str, as_of: str | None = AS_OF) -> list[str]:
    args = [sys.executable, "-m", "forecourt", "run", str(path)]
    if as_of is not None:
        args += ["--as-of", as_of]
    return args + list(extra)


def run_forecourt(path: Path, *extra: str, as_of: str | None = AS_OF,
                  timeout: float = 120) -> Run:
    """``python -m forecourt run PATH --as-of AS_OF EXTRA...`` in the file's folder."""
    args = run_args(path, *extra, as_of=as_of)
    proc = subprocess.run(args, capture_output=True, cwd=path.parent, env=hermetic_env(),
                          timeout=timeout)
    return Run(args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
               proc.stderr.decode("utf-8", "replace"))


def backup_path(book: Path) -> Path:
    """``BOOK.xlsx`` -> ``BOOK.forecourt.bak.xlsx`` (an .xlsm keeps its own suffix)."""
    return book.with_name(f"{book.stem}.forecourt.bak{book.suffix}")


def state_path(book: Path) -> Path:
    return book.with_name(f"{book.stem}.forecourt.sqlite")


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------------------
# Looking inside a package
# ---------------------------------------------------------------------------------------------


def zip_parts(path: Path | bytes) -> dict[str, bytes]:
    """Every part of the package, by name, decompressed."""
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    with zipfile.ZipFile(source) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _rels_name(part: str) -> str:
    p = PurePosixPath(part)
    return str(p.parent / "_rels" / f"{p.name}.rels")


def _resolve(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = list(PurePosixPath(base_part).parent.parts)
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def rels(parts: dict[str, bytes], part: str) -> dict[str, tuple[str, str]]:
    """The relationships of ``part``: id -> (type's last segment, resolved target part)."""
    data = parts.get(_rels_name(part))
    if data is None:
        return {}
    out = {}
    for rel in ET.fromstring(data).findall("pr:Relationship", NS):
        target = rel.get("Target", "")
        if rel.get("TargetMode") != "External":
            target = _resolve(part, target)
        out[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], target)
    return out


def sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> the part holding it (from xl/workbook.xml and its relationships)."""
    wb_rels = rels(parts, "xl/workbook.xml")
    root = ET.fromstring(parts["xl/workbook.xml"])
    return {s.get("name", ""): wb_rels[s.get(f"{{{REL}}}id", "")][1]
            for s in root.findall("m:sheets/m:sheet", NS)}


def content_types(parts: dict[str, bytes]) -> tuple[dict[str, str], dict[str, str]]:
    """([Content_Types].xml defaults by extension, overrides by part name without '/')."""
    root = ET.fromstring(parts["[Content_Types].xml"])
    defaults = {e.get("Extension", "").lower(): e.get("ContentType", "")
                for e in root.findall("ct:Default", NS)}
    overrides = {e.get("PartName", "").lstrip("/"): e.get("ContentType", "")
                 for e in root.findall("ct:Override", NS)}
    return defaults, overrides


def content_type(parts: dict[str, bytes], part: str) -> str | None:
    defaults, overrides = content_types(parts)
    return overrides.get(part) or defaults.get(part.rsplit(".", 1)[-1].lower())


def shared_strings(parts: dict[str, bytes]) -> list[str]:
    data = parts.get("xl/sharedStrings.xml")
    if data is None:
        return []
    return ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
            for si in ET.fromstring(data).findall("m:si", NS)]


def shared_string_items(parts: dict[str, bytes]) -> list[bytes]:
    """The raw ``<si>`` elements of xl/sharedStrings.xml, canonicalised."""
    data = parts.get("xl/sharedStrings.xml")
    if data is None:
        return []
    return [ET.tostring(si) for si in ET.fromstring(data).findall("m:si", NS)]


@dataclass(frozen=True)
class RawCell:
    ref: str
    type: str | None     # the t attribute: s, inlineStr, str, n, b, e, d or None
    formula: str | None  # text of <f>, "" for a shared-formula follower, None without <f>
    text: str | None     # the cell's text: shared string resolved, inline string, or <v>


def raw_cells(parts: dict[str, bytes], sheet: str) -> dict[str, RawCell]:
    """Every <c> of a sheet as stored in the XML (no openpyxl in between)."""
    strings = shared_strings(parts)
    root = ET.fromstring(parts[sheet_parts(parts)[sheet]])
    out = {}
    for c in root.iter(f"{{{NS['m']}}}c"):
        ref, t = c.get("r", ""), c.get("t")
        f = c.find("m:f", NS)
        v = c.find("m:v", NS)
        if t == "inlineStr":
            is_ = c.find("m:is", NS)
            text = "".join(x.text or "" for x in is_.iter(f"{{{NS['m']}}}t")) \
                if is_ is not None else ""
        elif t == "s" and v is not None and v.text is not None:
            text = strings[int(v.text)]
        else:
            text = v.text if v is not None else None
        out[ref] = RawCell(ref, t, None if f is None else (f.text or ""), text)
    return out


def sheet_element_rels(parts: dict[str, bytes], sheet: str, element: str) -> list[str]:
    """Targets of the sheet's <drawing>/<legacyDrawing>/... elements (resolved part names)."""
    part = sheet_parts(parts)[sheet]
    sheet_rels = rels(parts, part)
    root = ET.fromstring(parts[part])
    return [sheet_rels[e.get(f"{{{REL}}}id", "")][1] for e in root.findall(f"m:{element}", NS)]


def charts_on_sheet(parts: dict[str, bytes], sheet: str) -> list[str]:
    """Chart parts drawn on a sheet (sheet -> drawing -> chart relationships)."""
    charts = []
    for drawing in sheet_element_rels(parts, sheet, "drawing"):
        charts += [target for kind, target in rels(parts, drawing).values() if kind == "chart"]
    return charts


def assert_parts_preserved(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Every part of ``before`` that `run` does not own is in ``after``, byte for byte, with
    the same content type; shared strings only grow; every sheet keeps its part."""
    sheets = sheet_parts(before)
    owned = {sheets[LEADS_SHEET], sheets[STOCK_SHEET], *MAY_CHANGE}
    missing = sorted(set(before) - set(after))
    assert not missing, f"parts dropped from the package: {missing}"
    changed = sorted(name for name in before
                     if name not in owned and not name.startswith("docProps/")
                     and before[name] != after[name])
    assert not changed, f"parts the engine does not own were rewritten: {changed}"
    wrong_type = {name: (content_type(before, name), content_type(after, name))
                  for name in before if content_type(before, name) != content_type(after, name)}
    assert not wrong_type, f"content types changed (before, after): {wrong_type}"
    # Existing shared strings keep their index: every unchanged sheet points into that table.
    old, new = shared_string_items(before), shared_string_items(after)
    assert new[:len(old)] == old, "existing shared strings were reordered or changed"
    # Every sheet is still the same part under the same name.
    after_sheets = sheet_parts(after)
    for name, part in sheets.items():
        assert after_sheets.get(name) == part, f"sheet {name!r}: {part} -> " \
            f"{after_sheets.get(name)}"


# ---------------------------------------------------------------------------------------------
# The rich English dealer book
# ---------------------------------------------------------------------------------------------


def _leads_sheet(wb: Workbook) -> None:
    ws = wb.active
    ws.title = LEADS_SHEET
    for col, header in enumerate(LEAD_HEADERS, start=1):
        cell = ws.cell(row=1, column=col, value=header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for i, values in enumerate(LEADS):
        row = i + 2
        for col, value in enumerate(values, start=1):
            if value == "":
                continue
            cell = ws.cell(row=row, column=col)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # untrusted text stays text, even "=HYPERLINK(...)"
        ws.cell(row=row, column=1).number_format = RECEIVED_FORMAT
        colour = ws.cell(row=row, column=9)
        colour.fill = COLOUR_FILL
        days = ws.cell(row=row, column=10, value=f"=TODAY()-A{row}")
        days.number_format = "0"
    for letter, width in LEAD_WIDTHS.items():
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = FREEZE
    ws.auto_filter.ref = AUTO_FILTER
    dv = DataValidation(type="list", formula1=LEAD_VALIDATION_LIST, allow_blank=True)
    dv.add(LEAD_VALIDATION_SQREF)
    ws.add_data_validation(dv)
    ws.conditional_formatting.add(
        DEALER_CF_SQREF,
        CellIsRule(operator="equal", formula=[DEALER_CF_FORMULA],
                   font=Font(bold=True, color="FF9C0006"),
                   fill=PatternFill("solid", start_color="FFFFC7CE", end_color="FFFFC7CE",
                                    bgColor="FFFFC7CE")),
    )
    ws[COMMENT_CELL].comment = Comment(COMMENT_TEXT, COMMENT_AUTHOR)


def _stock_sheet(wb: Workbook) -> None:
    ws = wb.create_sheet(STOCK_SHEET)
    ws.append(list(STOCK_HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for car in STOCK:
        ws.append(list(car))
        ws.cell(row=ws.max_row, column=4).number_format = '"£"#,##0'
    for letter, width in zip(DEALER_STOCK_COLUMNS, (21, 14, 12, 10, 13), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def _pivot_counts() -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for lead in LEADS:
        counts[lead[4]] = counts.get(lead[4], 0) + 1
    return list(counts.items())


def _rich_workbook() -> Workbook:
    wb = Workbook()
    _leads_sheet(wb)
    _stock_sheet(wb)
    team = wb.create_sheet("Team")
    team.append(["Name", "Active", "Days"])
    for person in TEAM:
        team.append(list(person))
    settings = wb.create_sheet("Settings")
    for row in settings_rows(Settings(country="GB", language="en"), "en"):
        settings.append([None if v == "" else v for v in row])
    charts = wb.create_sheet("Charts")
    charts["A1"] = "Days open per lead"
    leads = wb[LEADS_SHEET]
    chart = BarChart()
    chart.title = "Days open"
    chart.add_data(Reference(leads, min_col=10, min_row=1, max_row=LAST_LEAD_ROW),
                   titles_from_data=True)
    chart.set_categories(Reference(leads, min_col=2, min_row=2, max_row=LAST_LEAD_ROW))
    charts.add_chart(chart, "A3")
    pivot = wb.create_sheet("Pivot")
    pivot["A1"] = "Leads by source (pivot table)"
    pivot["A3"], pivot["B3"] = "Row Labels", "Count of Source"
    counts = _pivot_counts()
    for i, (source, n) in enumerate(counts):
        pivot.cell(row=4 + i, column=1, value=source)
        pivot.cell(row=4 + i, column=2, value=n)
    pivot.cell(row=4 + len(counts), column=1, value="Grand Total")
    pivot.cell(row=4 + len(counts), column=2, value=len(LEADS))
    wb.defined_names[DEFINED_NAME] = DefinedName(DEFINED_NAME, attr_text=DEFINED_NAME_TEXT)
    return wb


def png_bytes(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 40)) -> bytes:
    """A valid RGB PNG written by hand (no Pillow)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _add_rel(parts: dict[str, bytes], part: str, rel_id: str, kind: str, target: str) -> None:
    name = _rels_name(part)
    rel = f'<Relationship Id="{rel_id}" Type="{REL}/{kind}" Target="{target}"/>'
    if name in parts:
        text = parts[name].decode("utf-8")
        parts[name] = text.replace("</Relationships>", rel + "</Relationships>").encode()
    else:
        parts[name] = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                       '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                       f'relationships">{rel}</Relationships>').encode()


def _add_content_type(parts: dict[str, bytes], entry: str) -> None:
    text = parts["[Content_Types].xml"].decode("utf-8")
    parts["[Content_Types].xml"] = text.replace("</Types>", entry + "</Types>").encode()


def _override(part: str, kind: str) -> str:
    return f'<Override PartName="/{part}" ContentType="{kind}"/>'


def _to_shared_strings(parts: dict[str, bytes]) -> None:
    """Rewrite openpyxl's inline strings as shared strings, as Excel stores text."""
    strings: list[str] = []
    index: dict[str, int] = {}
    pattern = re.compile(r'<c r="([A-Z]+\d+)"((?: s="\d+")?) t="inlineStr"><is>'
                         r'<t(?: xml:space="preserve")?>(.*?)</t></is></c>', re.S)

    def shared(m: re.Match[str]) -> str:
        text = m.group(3)
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return f'<c r="{m.group(1)}"{m.group(2)} t="s"><v>{index[text]}</v></c>'

    for name in sorted(parts):
        if name.startswith("xl/worksheets/sheet") and name.endswith(".xml"):
            parts[name] = pattern.sub(shared, parts[name].decode("utf-8")).encode()
            assert b"inlineStr" not in parts[name], name
    space = ' xml:space="preserve"'
    items = "".join(f'<si><t{space if t != t.strip() else ""}>{t}</t></si>' for t in strings)
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
        f'openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">{items}</sst>').encode()
    _add_rel(parts, "xl/workbook.xml", "rIdSst", "sharedStrings", "sharedStrings.xml")
    _add_content_type(parts, _override(
        "xl/sharedStrings.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"))


def _days_open_as_shared_formula(parts: dict[str, bytes], leads_part: str) -> None:
    """Column J as Excel stores a filled-down formula: one shared <f> with cached values."""
    text = parts[leads_part].decode("utf-8")
    for row in range(2, LAST_LEAD_ROW + 1):
        m = re.search(rf'<c r="J{row}"((?: s="\d+")?)><f>TODAY\(\)-A{row}</f><v\s*/?>'
                      r'(?:</v>)?</c>', text)
        assert m, f"openpyxl wrote J{row} differently: {text[:2000]}"
        cached = (NOW.date() - LEADS[row - 2][0].date()).days
        f = (f'<f t="shared" ref="J2:J{LAST_LEAD_ROW}" si="0">TODAY()-A2</f>' if row == 2
             else '<f t="shared" si="0"/>')
        text = text[:m.start()] + f'<c r="J{row}"{m.group(1)}>{f}<v>{cached}</v></c>' + \
            text[m.end():]
    parts[leads_part] = text.encode()


def _add_logo(parts: dict[str, bytes], leads_part: str) -> None:
    """A dealer logo (PNG) anchored at T2 of the leads sheet, through its own drawing part."""
    parts[LOGO_IMAGE] = png_bytes()
    parts[LOGO_DRAWING] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/'
        'spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{REL}"><xdr:oneCellAnchor><xdr:from><xdr:col>19</xdr:col><xdr:colOff>0'
        '</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
        '<xdr:ext cx="952500" cy="952500"/><xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" '
        'name="Logo" descr="Dealer logo"/><xdr:cNvPicPr><a:picLocks noChangeAspect="1"/>'
        '</xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill><a:blip r:embed="rId1"/><a:stretch>'
        '<a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr><a:xfrm><a:off x="0" y="0"/>'
        '<a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
        '</a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>'
    ).encode()
    _add_rel(parts, LOGO_DRAWING, "rId1", "image", "../media/image1.png")
    _add_rel(parts, leads_part, "rIdLogo", "drawing", "/" + LOGO_DRAWING)
    text = parts[leads_part].decode("utf-8")
    assert "<legacyDrawing" in text
    text = text.replace("<legacyDrawing", f'<drawing xmlns:r="{REL}" r:id="rIdLogo"/>'
                        "<legacyDrawing", 1)
    parts[leads_part] = text.encode()
    _add_content_type(parts, '<Default Extension="png" ContentType="image/png"/>')
    _add_content_type(parts, _override(
        LOGO_DRAWING, "application/vnd.openxmlformats-officedocument.drawing+xml"))


def _add_pivot(parts: dict[str, bytes], pivot_part: str) -> None:
    """A pivot table on the Pivot sheet: count of leads by source (Leads!E1:E21)."""
    counts = _pivot_counts()
    sources = [s for s, _ in counts]
    x = {s: i for i, s in enumerate(sources)}
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    shared = "".join(f'<s v="{s}"/>' for s in sources)
    parts["xl/pivotCache/pivotCacheDefinition1.xml"] = (
        f'{head}<pivotCacheDefinition {main} xmlns:r="{REL}" r:id="rId1" refreshOnLoad="0" '
        'createdVersion="6" refreshedVersion="6" minRefreshableVersion="3" '
        f'recordCount="{len(LEADS)}"><cacheSource type="worksheet"><worksheetSource '
        f'ref="E1:E{LAST_LEAD_ROW}" sheet="{LEADS_SHEET}"/></cacheSource><cacheFields count="1">'
        f'<cacheField name="Source" numFmtId="0"><sharedItems count="{len(sources)}">{shared}'
        '</sharedItems></cacheField></cacheFields></pivotCacheDefinition>').encode()
    records = "".join(f'<r><x v="{x[lead[4]]}"/></r>' for lead in LEADS)
    parts["xl/pivotCache/pivotCacheRecords1.xml"] = (
        f'{head}<pivotCacheRecords {main} xmlns:r="{REL}" count="{len(LEADS)}">{records}'
        '</pivotCacheRecords>').encode()
    _add_rel(parts, "xl/pivotCache/pivotCacheDefinition1.xml", "rId1", "pivotCacheRecords",
             "pivotCacheRecords1.xml")
    n = len(sources)
    items = "".join(f'<item x="{i}"/>' for i in range(n))
    row_items = "<i><x/></i>" + "".join(f'<i><x v="{i}"/></i>' for i in range(1, n))
    parts["xl/pivotTables/pivotTable1.xml"] = (
        f'{head}<pivotTableDefinition {main} name="PivotTable1" cacheId="1" '
        'applyNumberFormats="0" applyBorderFormats="0" applyFontFormats="0" '
        'applyPatternFormats="0" applyAlignmentFormats="0" applyWidthHeightFormats="1" '
        'dataCaption="Values" updatedVersion="6" minRefreshableVersion="3" '
        'useAutoFormatting="1" itemPrintTitles="1" createdVersion="6" indent="0" outline="1" '
        f'outlineData="1" multipleFieldFilters="0"><location ref="A3:B{4 + n}" '
        'firstHeaderRow="1" firstDataRow="1" firstDataCol="1"/><pivotFields count="1">'
        f'<pivotField axis="axisRow" dataField="1" showAll="0"><items count="{n + 1}">{items}'
        '<item t="default"/></items></pivotField></pivotFields><rowFields count="1">'
        f'<field x="0"/></rowFields><rowItems count="{n + 1}">{row_items}<i t="grand"><x/></i>'
        '</rowItems><colItems count="1"><i/></colItems><dataFields count="1"><dataField '
        'name="Count of Source" fld="0" subtotal="count" baseField="0" baseItem="0"/>'
        '</dataFields><pivotTableStyleInfo name="PivotStyleLight16" showRowHeaders="1" '
        'showColHeaders="1" showRowStripes="0" showColStripes="0" showLastColumn="1"/>'
        '</pivotTableDefinition>').encode()
    _add_rel(parts, "xl/pivotTables/pivotTable1.xml", "rId1", "pivotCacheDefinition",
             "../pivotCache/pivotCacheDefinition1.xml")
    _add_rel(parts, pivot_part, "rIdPivot1", "pivotTable", "/xl/pivotTables/pivotTable1.xml")
    _add_rel(parts, "xl/workbook.xml", "rIdPivotCache1", "pivotCacheDefinition",
             "pivotCache/pivotCacheDefinition1.xml")
    wb = parts["xl/workbook.xml"].decode("utf-8")
    m = re.search(r"<calcPr[^>]*/>", wb)
    assert m, wb
    wb = (wb[:m.end()] + '<pivotCaches><pivotCache cacheId="1" r:id="rIdPivotCache1"/>'
          "</pivotCaches>" + wb[m.end():])
    parts["xl/workbook.xml"] = wb.encode()
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml."
    _add_content_type(parts, _override("xl/pivotTables/pivotTable1.xml",
                                       kind + "pivotTable+xml"))
    _add_content_type(parts, _override("xl/pivotCache/pivotCacheDefinition1.xml",
                                       kind + "pivotCacheDefinition+xml"))
    _add_content_type(parts, _override("xl/pivotCache/pivotCacheRecords1.xml",
                                       kind + "pivotCacheRecords+xml"))


def vba_project_bytes() -> bytes:
    """Stand-in for a VBA project: an OLE compound-file header and recognisable filler. The
    engine must carry it over byte for byte; nothing here needs to run."""
    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + struct.pack(
        "<HHHH", 0x3E, 0x03, 0xFFFE, 0x09)
    filler = b"Attribute VB_Name = \"ThisWorkbook\"\r\nSub Highlight()\r\nEnd Sub\r\n"
    return (header + filler * 100)[:8192].ljust(8192, b"\x00")


def _make_macro_enabled(parts: dict[str, bytes]) -> None:
    parts[VBA_PART] = vba_project_bytes()
    _add_rel(parts, "xl/workbook.xml", "rIdVba", "vbaProject", "vbaProject.bin")
    # The relationship type of a VBA project lives in Microsoft's namespace, not ECMA's.
    name = _rels_name("xl/workbook.xml")
    parts[name] = parts[name].replace(
        f'Type="{REL}/vbaProject"'.encode(),
        b'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject"')
    ct = parts["[Content_Types].xml"].decode("utf-8")
    ct = ct.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    MACRO_WORKBOOK_TYPE)
    assert MACRO_WORKBOOK_TYPE in ct
    parts["[Content_Types].xml"] = ct.encode()
    _add_content_type(parts, f'<Default Extension="bin" ContentType="{VBA_CONTENT_TYPE}"/>')
    wb = parts["xl/workbook.xml"].decode("utf-8")
    wb = re.sub(r"<workbookPr\s*/>", '<workbookPr codeName="ThisWorkbook"/>', wb, count=1)
    assert 'codeName="ThisWorkbook"' in wb, wb[:600]
    parts["xl/workbook.xml"] = wb.encode()


def _write_zip(path: Path, parts: dict[str, bytes]) -> None:
    first = ["[Content_Types].xml", "_rels/.rels"]
    order = first + [n for n in parts if n not in first]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 20, 17, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, parts[name])


def build_rich(folder: Path, name: str = "dealer.xlsx", *, macros: bool = False) -> Path:
    """The rich English dealer book (see the module docstring); ``macros`` adds a VBA project
    and the macro-enabled workbook content type (save it under an .xlsm name)."""
    buf = io.BytesIO()
    _rich_workbook().save(buf)
    parts = zip_parts(buf.getvalue())
    sheets = sheet_parts(parts)
    _days_open_as_shared_formula(parts, sheets[LEADS_SHEET])
    _to_shared_strings(parts)
    _add_logo(parts, sheets[LEADS_SHEET])
    _add_pivot(parts, sheets["Pivot"])
    if macros:
        _make_macro_enabled(parts)
    path = folder / name
    _write_zip(path, parts)
    return path


def build_rich_xlsm(folder: Path, name: str = "dealer.xlsm") -> Path:
    return build_rich(folder, name, macros=True)


def build_big(folder: Path, leads: int = 3000, name: str = "big.xlsx") -> Path:
    """A demo book with many leads (`forecourt.demo`), for timing-sensitive tests."""
    from forecourt.demo import generate_demo

    path = folder / name
    generate_demo(path, leads, as_of=NOW)
    return path
