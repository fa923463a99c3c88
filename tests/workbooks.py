"""Input workbooks for the `forecourt check` tests, and the helpers that run and judge it.

Every builder takes a directory (pytest's ``tmp_path``) and returns the Path of the file it
wrote. The rows are laid out so that Excel row numbers are easy to read off: each builder's
docstring says which row holds which case; the tests hold the expected issues.

"Now" for every test is ``AS_OF`` (a Monday morning); all lead dates are before it except the
one row that is meant to be in the future.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from forecourt.settings import Settings, settings_rows

AS_OF = "2026-11-23 10:00"

# ---------------------------------------------------------------------------------------------
# Running the CLI and judging its issues
# ---------------------------------------------------------------------------------------------


@dataclass
class CheckRun:
    path: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def data(self) -> dict[str, Any]:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:  # pragma: no cover - shown on failure only
            raise AssertionError(
                f"stdout is not one JSON object ({exc}); exit {self.returncode}\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
            ) from None


def run_check(path: Path, *extra: str, json_output: bool = True, as_of: str = AS_OF) -> CheckRun:
    """``python -m forecourt check PATH [--json] --as-of AS_OF``, run in the file's folder (so a
    stray file written by the CLI lands where the tests look for it)."""
    args = [sys.executable, "-m", "forecourt", "check", str(path)]
    if json_output:
        args.append("--json")
    args += ["--as-of", as_of, *extra]
    # Hermetic: a developer's FORECOURT_* settings (e.g. a raised size limit) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORECOURT_")}
    proc = subprocess.run(args, capture_output=True, cwd=path.parent, env=env, timeout=60)
    return CheckRun(path, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                    proc.stderr.decode("utf-8", "replace"))


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()
"""Matches any value in :func:`assert_issue` / :func:`assert_no_issue`."""


def matches(expected: Any, actual: Any) -> bool:
    if expected is ANY:
        return True
    if isinstance(expected, tuple | list | set | frozenset):
        return actual in expected
    return actual == expected


def find_issues(issues: list[dict], sheet: Any = ANY, row: Any = ANY, column: Any = ANY,
                code: Any = ANY) -> list[dict]:
    """Issues matching every given key; a tuple/set means "any of these"."""
    return [i for i in issues
            if matches(sheet, i.get("sheet")) and matches(row, i.get("row"))
            and matches(column, i.get("column")) and matches(code, i.get("code"))]


def format_issues(issues: list[dict]) -> str:
    lines = [f"  {i.get('sheet')!s:>14} {i.get('column') or '-'}{i.get('row') or ''}"
             f"  {i.get('code')} ({i.get('severity')}): {i.get('message')!s}"
             f"  [value={i.get('value')!r}, field={i.get('field')!r}]" for i in issues]
    return "\n".join(lines) or "  (no issues)"


def assert_issue(issues: list[dict], sheet: Any = ANY, row: Any = ANY, column: Any = ANY,
                 code: Any = ANY) -> dict:
    """At least one issue at (sheet, row, column) with this code; returns the first one."""
    found = find_issues(issues, sheet, row, column, code)
    assert found, (f"expected an issue sheet={sheet!r} row={row!r} column={column!r} "
                   f"code={code!r}; the issues were:\n{format_issues(issues)}")
    return found[0]


def assert_no_issue(issues: list[dict], sheet: Any = ANY, row: Any = ANY, column: Any = ANY,
                    code: Any = ANY) -> None:
    found = find_issues(issues, sheet, row, column, code)
    assert not found, (f"expected NO issue sheet={sheet!r} row={row!r} column={column!r} "
                       f"code={code!r}; found:\n{format_issues(found)}\nall issues:\n"
                       f"{format_issues(issues)}")


# ---------------------------------------------------------------------------------------------
# Language workbooks
# ---------------------------------------------------------------------------------------------


def _append_rows(ws, rows: list[list[Any]]) -> None:
    for row in rows:
        ws.append([None if v == "" else v for v in row])


def _settings_sheet(wb: Workbook, title: str, settings: Settings, language: str) -> None:
    ws = wb.create_sheet(title)
    _append_rows(ws, settings_rows(settings, language))


def build_german(tmp_path: Path) -> Path:
    """German dealer "Autohaus Müller": Anfragen / Bestand / Verkäufer / Einstellungen.

    Anfragen: row 1 a merged banner (A1:M1), row 2 empty, row 3 the headers (C3 is the near
    miss "Telefonnumer"; M is the unknown "Lieblingsfarbe"), rows 4-13 leads:

    ==== ============================================================================
    row  case
    ==== ============================================================================
    4    real datetime; "+49 151 23456789" via WhatsApp; FIN in stock (row 2)
    5    text "18.11.2026 14:05"; mobile.de; FIN in stock in another spelling (row 3)
    6    Excel serial 46345.5 (19.11.2026 12:00) as a plain number; Telefon; JDM frame no
    7    text date; "0151-23456789" via Telefon = same person as row 4, 10 days later
    8    "gestern" (cannot be read); Facebook Marketplace
    9    no phone, no e-mail
    10   source "Brieftaube", status "Vielleicht"
    11   FIN WF0XXXGCDX1234567, not in stock
    12   received 01.12.2026, after now
    13   text date, status Verkauft, FIN in stock
    ==== ============================================================================

    Bestand: headers in row 1, rows 2-8: European VIN (2), the same VIN-to-be in lower case
    with spaces and a dash (3), JDM frame number (4), one VIN twice (5, 6), a VIN with an O
    (7), a 16-character VIN (8).
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "Anfragen"
    ws["A1"] = "Autohaus Müller – Anfragen November"
    ws.merge_cells("A1:M1")
    headers = ["Eingang", "Kunde", "Telefonnumer", "E-Mail", "Quelle", "FIN", "Fahrzeugwunsch",
               "Status", "Verkäufer", "Letzter Kontakt", "Termin", "Inzahlungnahme",
               "Lieblingsfarbe"]
    for col, header in enumerate(headers, start=1):
        ws.cell(row=3, column=col, value=header)
    d = dt.datetime
    leads = [
        # Eingang, Kunde, Telefon, E-Mail, Quelle, FIN, Fahrzeugwunsch, Status, Verkäufer,
        # Letzter Kontakt, Termin, Inzahlungnahme, Lieblingsfarbe
        [d(2026, 11, 10, 9, 30), "Lukas Becker", "+49 151 23456789", "lukas.becker@example.de",
         "WhatsApp", "WVWZZZ1JZXW000001", "Golf IV", "Kontaktiert", "Anna Schmidt",
         d(2026, 11, 10, 10, 0), "", "nein", "blau"],
        ["18.11.2026 14:05", "Sabine Koch", "0160 91234567", "s.koch@example.de", "mobile.de",
         "WVWZZZ1JZXW000002", "Golf", "Neu", "", "", "", "", "rot"],
        [46345.5, "Thomas Wagner", "0170 1234567", "", "Telefon", "ZVW30-1234567", "Prius",
         "Termin vereinbart", "Jonas Weber", "19.11.2026 15:00", d(2026, 11, 25, 16, 0), "ja",
         "grün"],
        ["20.11.2026 14:05", "Lukas Becker", "0151-23456789", "", "Telefon", "", "Golf IV",
         "Neu", "", "", "", "", "blau"],
        ["gestern", "Petra Hoffmann", "0152 34567890", "petra.h@example.de",
         "Facebook Marketplace", "", "Tiguan", "Neu", "", "", "", "", "schwarz"],
        [d(2026, 11, 21, 11, 15), "Max Mustermann", "", "", "WhatsApp", "", "Passat", "Neu",
         "Anna Schmidt", "", "", "", "silber"],
        ["21.11.2026 16:40", "Jan Krüger", "0176 12345678", "jan.krueger@example.de",
         "Brieftaube", "", "Polo", "Vielleicht", "Jonas Weber", "", "", "", "weiß"],
        [d(2026, 11, 22, 12, 0), "Eva Schulz", "0157 71234567", "eva.schulz@example.de",
         "mobile.de", "WF0XXXGCDX1234567", "Focus", "Neu", "", "", "", "", "gelb"],
        [d(2026, 12, 1, 10, 0), "Felix Neumann", "0163 1234567", "felix@example.de", "WhatsApp",
         "", "Up!", "Neu", "", "", "", "", "orange"],
        ["15.11.2026 09:10", "Monika Richter", "0171 2345678", "m.richter@example.de",
         "Telefon", "WVWZZZ1JZXW000001", "Golf IV", "Verkauft", "Anna Schmidt",
         "17.11.2026 12:00", "", "ja", "blau"],
    ]
    for i, values in enumerate(leads):
        for col, value in enumerate(values, start=1):
            if value != "":
                ws.cell(row=4 + i, column=col, value=value)

    stock = wb.create_sheet("Bestand")
    _append_rows(stock, [
        ["Fahrgestellnummer", "Marke", "Modell", "Preis", "Status"],
        ["WVWZZZ1JZXW000001", "VW", "Golf IV", 4900, "Auf Hof"],
        ["wvw zzz1jz-xw000002", "VW", "Golf IV", 5200, "Auf Hof"],
        ["ZVW30-1234567", "Toyota", "Prius", 8900, "Unterwegs"],
        ["WDD2050041F123456", "Mercedes-Benz", "C 200", 21900, "Reserviert"],
        ["WDD2050041F123456", "Mercedes-Benz", "C 200", 21900, "Auf Hof"],
        ["WVWZZZ1KZOW000003", "VW", "Golf V", 6900, "Aufbereitung"],
        ["WVWZZZ1KZ8W00004", "VW", "Golf V", 7400, "Auf Hof"],
    ])

    team = wb.create_sheet("Verkäufer")
    _append_rows(team, [
        ["Name", "Aktiv", "Limit"],
        ["Anna Schmidt", "ja", 20],
        ["Jonas Weber", "ja", ""],
        ["Karl Braun", "nein", ""],
    ])
    _settings_sheet(wb, "Einstellungen", Settings(country="DE", language="de", day_first=True),
                    "de")
    path = tmp_path / "autohaus.xlsx"
    wb.save(path)
    return path


def build_polish(tmp_path: Path) -> Path:
    """Polish dealer: Zapytania / Magazyn / Zespół / Ustawienia.

    Zapytania: row 1 a plain (not merged) title, row 2 the headers, rows 3-7 leads:
    3 "22.11.2026 14:05", OTOMOTO, VIN 1M8GDM9AXKP042788 (in stock, valid check digit);
    4 "23/11/2026" (date only, midnight before now), OLX; 5 real datetime, Telefon, phone
    without +48; 6 text date, OTOMOTO, Sprzedane; 7 the e-mail of row 3 in upper case, via
    OLX, later the same day (duplicate of row 3).

    Magazyn: headers in row 1; 2 the valid North American VIN, 3 the same with a wrong check
    digit, 4 a European VIN, 5 a Chinese VIN (L...) with a correct check digit.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "Zapytania"
    d = dt.datetime
    _append_rows(ws, [
        ["Komis Nowak – zapytania, listopad 2026"],
        ["Data zgłoszenia", "Imię i nazwisko", "Nr telefonu", "E-mail", "Źródło", "Numer VIN",
         "Status", "Opiekun"],
        ["22.11.2026 14:05", "Piotr Kowalski", "+48 600 123 456", "piotr.kowalski@example.pl",
         "OTOMOTO", "1M8GDM9AXKP042788", "Nowy", "Marek Nowak"],
        ["23/11/2026", "Anna Wiśniewska", "+48 601 234 567", "anna.w@example.pl", "OLX", "",
         "Skontaktowano", "Ewa Zielińska"],
        [d(2026, 11, 19, 9, 15), "Tomasz Wójcik", "602 345 678", "", "Telefon",
         "WVWZZZ1JZXW000001", "Umówione spotkanie", "Marek Nowak"],
        ["18.11.2026 11:30", "Katarzyna Lewandowska", "+48 603 456 789",
         "k.lewandowska@example.pl", "OTOMOTO", "", "Sprzedane", "Ewa Zielińska"],
        [d(2026, 11, 22, 16, 0), "Piotr Kowalski", "", "PIOTR.KOWALSKI@example.pl", "OLX", "",
         "Nowy", ""],
    ])
    stock = wb.create_sheet("Magazyn")
    _append_rows(stock, [
        ["Numer VIN", "Marka", "Model", "Rok produkcji", "Cena", "Status"],
        ["1M8GDM9AXKP042788", "MCI", "D4500", 2019, 189000, "Na placu"],
        ["1M8GDM9A1KP042788", "MCI", "D4500", 2019, 185000, "W drodze"],
        ["WVWZZZ1JZXW000001", "Volkswagen", "Golf", 1999, 8900, "Zarezerwowany"],
        ["LSGPC52U6AF102554", "Buick", "Excelle", 2010, 15900, "Na placu"],
    ])
    team = wb.create_sheet("Zespół")
    _append_rows(team, [
        ["Imię i nazwisko", "Aktywny"],
        ["Marek Nowak", "tak"],
        ["Ewa Zielińska", "tak"],
    ])
    _settings_sheet(wb, "Ustawienia", Settings(country="PL", language="pl", day_first=True), "pl")
    path = tmp_path / "komis.xlsx"
    wb.save(path)
    return path


def build_english(tmp_path: Path) -> Path:
    """English dealer whose tabs are called Sheet1 (leads), Sheet2 (stock), Sheet3 (a to-do
    list); no Team and no Settings tab. Headers in row 1 in odd spellings ("RECEIVED",
    "Lead  Source" with two spaces, "Státus" with an accent).

    Sheet1 rows: 2 ISO text date, upper-case e-mail; 3 "mary(at)example"; 4 no received date;
    5 no source; 6 walk-in, won. Phones are international (there is no Settings country).
    Sheet2 rows: 2 valid North American VIN, 3 unknown stock status "At auction", 4 BMW VIN.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    d = dt.datetime
    _append_rows(ws, [
        ["RECEIVED", "Customer Name", "MOBILE", "Email Address", "Lead  Source", "VIN", "Státus",
         "Owner", "Notes"],
        ["2026-11-20 14:05", "John Smith", "+1 415 555 0132", "JOHN@EXAMPLE.COM", "AutoTrader",
         "1M8GDM9AXKP042788", "Contacted", "Dave", "Asked about finance"],
        [d(2026, 11, 21, 9, 0), "Mary Jones", "+1 202 555 0143", "mary(at)example", "WhatsApp",
         "", "New", "", ""],
        ["", "Bob Brown", "+1 650 253 0000", "bob@example.com", "Website", "", "New", "",
         "walked past, left a card"],
        [d(2026, 11, 22, 15, 30), "Alice Green", "+1 415 555 0198", "alice@example.com", "",
         "", "New", "", ""],
        ["2026-11-18 10:00", "Carlos Diaz", "+1 202 555 0175", "carlos@example.com", "Walk-in",
         "WBAPH5C51BA123456", "Won", "Dave", "Paid cash"],
    ])
    stock = wb.create_sheet("Sheet2")
    _append_rows(stock, [
        ["VIN", "MAKE", "MODEL", "PRICE", "STATUS"],
        ["1M8GDM9AXKP042788", "MCI", "D4500", 45000, "Available"],
        ["2HGFC2F58JH512345", "Honda", "Civic", 14500, "At auction"],
        ["WBAPH5C51BA123456", "BMW", "320i", 9900, "Sold"],
    ])
    todo = wb.create_sheet("Sheet3")
    _append_rows(todo, [
        ["To do this week"],
        ["Order tyres for the Civic"],
        ["Call the body shop"],
        ["Renew the lot insurance"],
    ])
    path = tmp_path / "dealer.xlsx"
    wb.save(path)
    return path


LANGUAGE_BOOKS = {"de": build_german, "pl": build_polish, "en": build_english}

# ---------------------------------------------------------------------------------------------
# Files that are not readable workbooks (exit 4), have no leads (exit 5), or do not exist (3)
# ---------------------------------------------------------------------------------------------


def _small_leads_workbook() -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    _append_rows(ws, [
        ["Received", "Name", "Phone", "Email", "Source", "Status"],
        [dt.datetime(2026, 11, 20, 14, 5), "John Smith", "+1 415 555 0132", "john@example.com",
         "WhatsApp", "New"],
    ])
    return wb


def _small_leads_bytes() -> bytes:
    buf = io.BytesIO()
    _small_leads_workbook().save(buf)
    return buf.getvalue()


def build_empty_file(tmp_path: Path) -> Path:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    return path


def build_truncated_xlsx(tmp_path: Path) -> Path:
    """The first half of a real workbook (the zip's central directory is gone)."""
    data = _small_leads_bytes()
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def build_random_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "random.xlsx"
    path.write_bytes(b"\x13\x37" + random.Random(20261123).randbytes(4094))
    return path


def build_csv_renamed(tmp_path: Path) -> Path:
    """A CSV export with perfectly good lead headers, saved under an .xlsx name."""
    path = tmp_path / "export.xlsx"
    path.write_text("Received,Name,Phone,Email,Source,Status\n"
                    "2026-11-20 14:05,John Smith,+1 415 555 0132,john@example.com,WhatsApp,New\n",
                    encoding="utf-8")
    return path


def build_pdf_renamed(tmp_path: Path) -> Path:
    path = tmp_path / "invoice.xlsx"
    path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\n"
                     b"endobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
                     b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    return path


OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def build_encrypted(tmp_path: Path) -> Path:
    """What Excel writes for a password-protected workbook: an OLE compound file, not a zip."""
    header = OLE_MAGIC + bytes(16) + struct.pack("<HHHH", 0x3E, 0x03, 0xFFFE, 0x09)
    path = tmp_path / "protected.xlsx"
    path.write_bytes(header + bytes(4096 - len(header)))
    return path


def build_zip_without_workbook(tmp_path: Path) -> Path:
    """A valid zip with the package's content types but no xl/workbook.xml."""
    path = tmp_path / "hollow.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml",
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.'
                    'openxmlformats.org/package/2006/content-types"><Default Extension="xml" '
                    'ContentType="application/xml"/></Types>')
        zf.writestr("docProps/readme.txt", "nothing to see here")
    return path


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
              for i in range(1, 10))
    + "]>\n"
)


def build_billion_laughs(tmp_path: Path) -> Path:
    """A real leads workbook whose sheet1.xml declares the billion-laughs entities and uses
    ``&lol9;`` in cell B2 (an inline string). Without the DOCTYPE it would read fine."""
    src = zipfile.ZipFile(io.BytesIO(_small_leads_bytes()))
    path = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8").lstrip()
                if not text.startswith("<?xml"):
                    text = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + text
                decl_end = text.index("?>") + 2
                text = text[:decl_end] + "\n" + BILLION_LAUGHS + text[decl_end:]
                start = text.index('<c r="B2"')
                end = text.index("</c>", start) + len("</c>")
                text = text[:start] + '<c r="B2" t="inlineStr"><is><t>&lol9;</t></is></c>' + \
                    text[end:]
                data = text.encode("utf-8")
            dst.writestr(info.filename, data)
    return path


BOMB_CHUNK = 1 << 20
BOMB_CHUNKS = 1536  # 1.5 GiB of zeros, above forecourt's 1 GiB default limit
BOMB_MEMBER = "xl/media/image1.png"


def _zip_bytes(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already-deflated members: (name, deflated data, crc32, uncompressed size).

    Written by hand because zipfile cannot store pre-compressed data. No zip64: every size
    must stay below 4 GiB.
    """
    out = io.BytesIO()
    central = io.BytesIO()
    dos_time, dos_date = 0, (2026 - 1980) << 9 | 11 << 5 | 23
    for name, data, crc, size in members:
        raw_name = name.encode("utf-8")
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, dos_time, dos_date, crc,
                              len(data), size, len(raw_name), 0))
        out.write(raw_name)
        out.write(data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, dos_time,
                                  dos_date, crc, len(data), size, len(raw_name), 0, 0, 0, 0, 0,
                                  offset))
        central.write(raw_name)
    cd_offset = out.tell()
    cd = central.getvalue()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd),
                          cd_offset, 0))
    return out.getvalue()


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def build_zip_bomb(tmp_path: Path) -> Path:
    """A real leads workbook plus one member that truly inflates to 1.5 GiB of zeros.

    The member is honest (its CRC and sizes are right) yet costs ~1.6 MB and well under a
    second to build: a full flush resets the compressor, so every 1 MiB chunk of zeros
    deflates to the same bytes and the stream is that block repeated. The member is not
    referenced by the workbook, so only a reader that checks the uncompressed total (the
    contract: 1 GiB by default) refuses the file; a reader without that guard reads it fine.
    """
    src = zipfile.ZipFile(io.BytesIO(_small_leads_bytes()))
    members = []
    for info in src.infolist():
        data = src.read(info.filename)
        members.append((info.filename, _deflate(data), zlib.crc32(data), len(data)))

    chunk = bytes(BOMB_CHUNK)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    stream = block * BOMB_CHUNKS + c.flush()
    crc = 0
    for _ in range(BOMB_CHUNKS):
        crc = zlib.crc32(chunk, crc)
    members.append((BOMB_MEMBER, stream, crc, BOMB_CHUNK * BOMB_CHUNKS))

    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_zip_bytes(members))
    return path


def build_shopping_list(tmp_path: Path) -> Path:
    """A real workbook whose only sheet is a shopping list: no leads anywhere (exit 5)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Tabelle1"
    _append_rows(ws, [
        ["Einkaufsliste", "Menge"],
        ["Milch", 2],
        ["Brot", 1],
        ["Eier", 10],
        ["Kaffee", "1 Packung"],
    ])
    path = tmp_path / "einkauf.xlsx"
    wb.save(path)
    return path


def build_empty_leads_tab(tmp_path: Path) -> Path:
    """A workbook with a "Leads" sheet that is completely empty (exit 5)."""
    wb = Workbook()
    wb.active.title = "Leads"
    path = tmp_path / "blank-leads.xlsx"
    wb.save(path)
    return path


def missing_path(tmp_path: Path) -> Path:
    """A path that does not exist (exit 3)."""
    return tmp_path / "does-not-exist.xlsx"


UNREADABLE_BOOKS = {
    "empty-file": build_empty_file,
    "truncated-zip": build_truncated_xlsx,
    "random-bytes": build_random_bytes,
    "csv-renamed": build_csv_renamed,
    "pdf-renamed": build_pdf_renamed,
    "encrypted-ole": build_encrypted,
    "zip-without-workbook": build_zip_without_workbook,
    "billion-laughs": build_billion_laughs,
    "zip-bomb": build_zip_bomb,
}
NO_LEADS_BOOKS = {
    "shopping-list": build_shopping_list,
    "empty-leads-tab": build_empty_leads_tab,
}
