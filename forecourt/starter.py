"""The starter workbook written by ``forecourt new PATH.xlsx``.

One workbook per language (en, de, pl) with the four tabs forecourt knows: Leads, Stock, Team
and Settings, named and headed with the first synonym of each word in
:mod:`forecourt.validators.vocabulary`, so the engine recognises them without guessing.

* Leads / Stock / Team: a bold, filled, frozen header row with an auto-filter; dropdowns for
  status, source, stock status and the yes/no columns on rows 2..1000. Data rows stay empty
  (the Team tab has one example person so the engine has someone to route leads to).
* Settings: exactly :func:`forecourt.settings.settings_rows` for the language.

The same workbooks are bundled in ``forecourt.workbook_templates`` as ``starter-<lang>.xlsx``;
refresh them after changing the vocabulary, the settings or this module with::

    python -m forecourt.starter

Output is deterministic: fixed document times and zip entry times, so regenerating an
unchanged template gives the same bytes (with the same zlib).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

from forecourt.settings import SLA_HEADER, Settings, settings_rows
from forecourt.validators import vocabulary
from forecourt.validators.vocabulary import (
    LANGUAGES,
    STATUSES,
    STOCK_STATUSES,
    TAB_NAMES,
    TEAM_FIELDS,
)

# A starter book leaves out fields that other columns already cover: the car a lead asks about
# by its plate (VIN and stock number are there) and a yes/no "Sold" beside the stock status.
LEAD_FIELDS = {f: w for f, w in vocabulary.LEAD_FIELDS.items() if f != "plate"}
STOCK_FIELDS = {f: w for f, w in vocabulary.STOCK_FIELDS.items() if f != "sold"}

__all__ = ["regenerate_templates", "template_path", "write_starter"]

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
CREATOR = "forecourt"
LAST_ROW = 1000  # dropdowns cover rows 2..LAST_ROW
LISTS_SHEET = "Lists"  # hidden sheet for dropdown lists too long for an inline formula
MAX_INLINE_LIST = 255  # Excel's limit on a list validation's formula string

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill(fill_type="solid", fgColor="DDEBF7")
DATE_TIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"

YES_NO: dict[str, tuple[str, str]] = {"en": ("Yes", "No"), "de": ("Ja", "Nein"),
                                      "pl": ("Tak", "Nie")}

# Sources offered in the dropdown; every value is listed in vocabulary.CHANNELS so the engine
# maps it to a channel class. Other values stay allowed (the engine maps free text).
SOURCES: dict[str, tuple[str, ...]] = {
    "en": ("WhatsApp", "SMS", "Facebook", "Phone", "Missed call", "AutoTrader", "mobile.de",
           "AutoScout24", "Website", "Email", "Walk-in", "Referral", "Other"),
    "de": ("WhatsApp", "SMS", "Facebook", "Telefon", "Verpasster Anruf", "mobile.de",
           "AutoScout24", "Kleinanzeigen", "Webseite", "E-Mail", "Laufkundschaft", "Empfehlung",
           "Sonstiges"),
    "pl": ("WhatsApp", "SMS", "Facebook", "Telefon", "Telefon nieodebrany", "OTOMOTO", "OLX",
           "AutoScout24", "Strona www", "E-mail", "Osobiście", "Polecenie", "Inne"),
}

# One example person on the Team tab: name, days (active = yes; the rest stay empty).
EXAMPLE_PERSON: dict[str, tuple[str, str]] = {
    "en": ("Alex", "Mon-Fri"), "de": ("Anna", "Mo-Fr"), "pl": ("Ania", "Pn-Pt"),
}

# Message shown when a value is not in a (warning-style) dropdown: (title, text).
NOT_IN_LIST: dict[str, tuple[str, str]] = {
    "en": ("Not in the list",
           "Pick a value from the list. Other values are kept, but forecourt may not "
           "recognise them."),
    "de": ("Nicht in der Liste",
           "Bitte einen Wert aus der Liste wählen. Andere Werte bleiben erhalten, werden von "
           "forecourt aber eventuell nicht erkannt."),
    "pl": ("Spoza listy",
           "Wybierz wartość z listy. Inne wartości zostaną zachowane, ale forecourt może ich "
           "nie rozpoznać."),
}

# Column widths by field; a header longer than this gets len(header) + 4 (room for the
# filter button).
WIDTHS: dict[str, dict[str, float]] = {
    "leads": {
        "lead_id": 14, "received_at": 18, "name": 24, "phone": 18, "email": 28,
        "preferred_contact": 16, "source": 16, "vin": 22, "stock_no": 12,
        "vehicle_wanted": 30, "status": 22, "owner": 16, "next_action": 44, "due": 18,
        "first_response_at": 18, "last_contact_at": 18, "appointment_at": 18, "trade_in": 12,
        "trade_in_vehicle": 20, "valuation": 12, "finance": 12, "budget": 12, "store": 14,
        "notes": 50,
    },
    "stock": {
        "vin": 22, "stock_no": 12, "make": 14, "model": 18, "year": 10, "body": 14,
        "price": 12, "mileage": 12, "status": 16, "eta": 14, "store": 14, "notes": 50,
    },
    "team": {
        "name": 20, "active": 10, "days": 14, "stores": 18, "makes": 18, "languages": 14,
        "cap": 10, "email": 28, "phone": 18,
    },
}
DEFAULT_WIDTH = 14
SETTINGS_WIDTHS = (34, 16, 12, 50)

# Column default number formats (one <col> style each: no per-cell bloat; Excel applies it to
# values typed into the column).
COLUMN_FORMATS: dict[str, dict[str, str]] = {
    "leads": {f: DATE_TIME_FORMAT for f in ("received_at", "due", "first_response_at",
                                             "last_contact_at", "appointment_at")},
    "stock": {"eta": DATE_FORMAT},
    "team": {},
}


def _language(language: str) -> str:
    lang = str(language).strip().lower()
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    return lang


def _first(words: dict[str, tuple[str, ...]], language: str) -> str:
    return words[language][0]


def template_path(language: str) -> Path:
    """The bundled starter workbook for ``language`` (``starter-<lang>.xlsx``)."""
    return _templates_folder() / f"starter-{_language(language)}.xlsx"


def _templates_folder() -> Path:
    from importlib.resources import files

    return Path(str(files("forecourt.workbook_templates")))


# --------------------------------------------------------------------------------------------
# building the workbook


def _column(fields: dict[str, Any], field: str) -> str:
    return get_column_letter(list(fields).index(field) + 1)


def _list_validation(ws: Worksheet, column: str, values: Sequence[str], language: str,
                     strict: bool) -> DataValidation:
    """A dropdown of ``values`` on ``column``, rows 2..LAST_ROW.

    ``strict``: a value outside the list gets a warning the user can override; otherwise any
    value is accepted silently. Lists longer than Excel's 255-character formula limit (or with
    a comma or quote in a value) go to the hidden "Lists" sheet and are referenced from there.
    """
    inline = ",".join(values)
    if len(inline) <= MAX_INLINE_LIST and not any("," in v or '"' in v for v in values):
        formula = f'"{inline}"'
    else:
        formula = _lists_range(ws.parent, values)
    title, text = NOT_IN_LIST[language]
    dv = DataValidation(
        type="list", formula1=formula, allow_blank=True, showDropDown=False,
        showErrorMessage=strict, errorStyle="warning" if strict else "information",
        errorTitle=title if strict else None, error=text if strict else None,
    )
    dv.add(f"{column}2:{column}{LAST_ROW}")
    ws.add_data_validation(dv)
    return dv


def _lists_range(wb: Workbook, values: Sequence[str]) -> str:
    if LISTS_SHEET in wb.sheetnames:
        lists = wb[LISTS_SHEET]
        col = lists.max_column + 1
    else:
        lists = wb.create_sheet(LISTS_SHEET)
        lists.sheet_state = "hidden"
        col = 1
    for row, value in enumerate(values, start=1):
        lists.cell(row=row, column=col, value=value)
    letter = get_column_letter(col)
    return f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(values)}"


def _header(ws: Worksheet, kind: str, fields: dict[str, dict[str, tuple[str, ...]]],
            language: str) -> None:
    for col, (field, words) in enumerate(fields.items(), start=1):
        cell = ws.cell(row=1, column=col, value=_first(words, language))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        letter = get_column_letter(col)
        dim = ws.column_dimensions[letter]
        dim.width = max(WIDTHS[kind].get(field, DEFAULT_WIDTH), len(cell.value) + 4)
        number_format = COLUMN_FORMATS[kind].get(field)
        if number_format:
            dim.number_format = number_format
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(fields))}1"


def _leads(ws: Worksheet, language: str) -> None:
    _header(ws, "leads", LEAD_FIELDS, language)
    statuses = [_first(words, language) for words in STATUSES.values()]
    _list_validation(ws, _column(LEAD_FIELDS, "status"), statuses, language, strict=True)
    _list_validation(ws, _column(LEAD_FIELDS, "source"), SOURCES[language], language,
                     strict=False)
    for field in ("trade_in", "finance"):
        _list_validation(ws, _column(LEAD_FIELDS, field), YES_NO[language], language,
                         strict=True)


def _stock(ws: Worksheet, language: str) -> None:
    _header(ws, "stock", STOCK_FIELDS, language)
    statuses = [_first(words, language) for words in STOCK_STATUSES.values()]
    _list_validation(ws, _column(STOCK_FIELDS, "status"), statuses, language, strict=True)


def _team(ws: Worksheet, language: str) -> None:
    _header(ws, "team", TEAM_FIELDS, language)
    name, days = EXAMPLE_PERSON[language]
    example = {"name": name, "active": YES_NO[language][0], "days": days}
    for col, field in enumerate(TEAM_FIELDS, start=1):
        if field in example:
            ws.cell(row=2, column=col, value=example[field])
    _list_validation(ws, _column(TEAM_FIELDS, "active"), YES_NO[language], language,
                     strict=True)


def _settings(ws: Worksheet, language: str) -> None:
    for r, values in enumerate(settings_rows(Settings(language=language), language), start=1):
        for c, value in enumerate(values, start=1):
            if value is None or value == "":
                continue
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, dt.date | dt.datetime):
                cell.number_format = DATE_FORMAT
            if r == 1 or (values and values[0] == SLA_HEADER[0]):
                cell.font = HEADER_FONT
    for col, width in enumerate(SETTINGS_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def build_workbook(language: str = "en") -> Workbook:
    """The starter workbook for ``language``, in memory."""
    language = _language(language)
    wb = Workbook()
    leads = wb.active
    leads.title = _first(TAB_NAMES["leads"], language)
    _leads(leads, language)
    _stock(wb.create_sheet(_first(TAB_NAMES["stock"], language)), language)
    _team(wb.create_sheet(_first(TAB_NAMES["team"], language)), language)
    _settings(wb.create_sheet(_first(TAB_NAMES["settings"], language)), language)
    if LISTS_SHEET in wb.sheetnames:  # keep the hidden helper sheet last
        wb.move_sheet(LISTS_SHEET, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(LISTS_SHEET))
    wb.active = 0
    wb.properties.creator = CREATOR
    wb.properties.lastModifiedBy = CREATOR
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


# --------------------------------------------------------------------------------------------
# writing


def _deterministic_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes with fixed document and zip entry times.

    openpyxl stamps ``modified`` with the current time while saving and zipfile stamps each
    entry with the current time; both are reset here so equal workbooks give equal bytes.
    """
    raw = io.BytesIO()
    wb.save(raw)
    wb.properties.modified = FIXED_TIME
    core = tostring(wb.properties.to_tree())
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = core if info.filename == "docProps/core.xml" else src.read(info)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, data)
    return out.getvalue()


def _file_mode(path: Path) -> int:
    """The mode a plain new file gets (or the existing file's mode): mkstemp's 0600 is not it."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _write_atomically(path: Path, data: bytes) -> None:
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_starter(path: Path | str, language: str = "en") -> Path:
    """Write the starter workbook for ``language`` (en, de or pl) to ``path``; return the path.

    ``path`` must end in ``.xlsx``. An existing file at ``path`` is replaced (the caller decides
    whether that is allowed); the file appears complete or not at all.
    """
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"the starter workbook must be an .xlsx file, not {target.name!r}")
    data = _deterministic_bytes(build_workbook(language))
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(target, data)
    return target


def regenerate_templates(folder: Path | None = None) -> list[Path]:
    """Write ``starter-en.xlsx``, ``starter-de.xlsx`` and ``starter-pl.xlsx`` into ``folder``.

    Default: the installed ``forecourt.workbook_templates`` package folder.
    """
    target = Path(folder) if folder is not None else _templates_folder()
    return [write_starter(target / f"starter-{lang}.xlsx", lang) for lang in LANGUAGES]


if __name__ == "__main__":
    for written in regenerate_templates():
        print(f"wrote {written} ({written.stat().st_size:,} bytes)")
