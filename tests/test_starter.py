"""The starter workbook (``forecourt new``) and the bundled templates."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from forecourt import starter
from forecourt.settings import SLA_HEADER, Settings, settings_rows
from forecourt.starter import (
    LEAD_FIELDS,
    STOCK_FIELDS,
    regenerate_templates,
    template_path,
    write_starter,
)
from forecourt.validators.text import fold
from forecourt.validators.vocabulary import (
    CHANNELS,
    LANGUAGES,
    NO,
    STATUSES,
    STOCK_STATUSES,
    TAB_NAMES,
    TEAM_FIELDS,
    YES,
)

FIELDS = {"leads": LEAD_FIELDS, "stock": STOCK_FIELDS, "team": TEAM_FIELDS}


def first(words: dict[str, tuple[str, ...]], language: str) -> str:
    return words[language][0]


def tab(wb: openpyxl.Workbook, kind: str, language: str):
    return wb[first(TAB_NAMES[kind], language)]


def validations(ws) -> dict[str, Any]:
    """Column letter -> data validation covering rows 2..1000 of it."""
    found = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            assert (rng.min_row, rng.max_row) == (2, starter.LAST_ROW), str(rng)
            assert rng.min_col == rng.max_col
            found[openpyxl.utils.get_column_letter(rng.min_col)] = dv
    return found


def list_values(wb: openpyxl.Workbook, dv) -> list[str]:
    assert dv.type == "list"
    formula = dv.formula1
    if formula.startswith('"'):
        assert len(formula) - 2 <= 255, "inline list longer than Excel's 255 characters"
        return formula.strip('"').split(",")
    sheet, cells = formula.split("!")
    cells = wb[sheet.strip("'")][cells.replace("$", "")]
    assert all(len(row) == 1 for row in cells), "a list is one column"
    return [row[0].value for row in cells]


def column_of(fields: dict, field: str) -> str:
    return openpyxl.utils.get_column_letter(list(fields).index(field) + 1)


def trimmed(row: tuple | list) -> list:
    values = [None if v == "" else v for v in row]
    while values and values[-1] is None:
        values.pop()
    return values


def content(path: Path) -> dict[str, Any]:
    """What a person sees in the workbook, for every sheet (not the zip's bytes)."""
    wb = openpyxl.load_workbook(path)
    sheets = {}
    for ws in wb.worksheets:
        sheets[ws.title] = {
            "state": ws.sheet_state,
            "values": [trimmed(r) for r in ws.iter_rows(values_only=True)],
            "formats": sorted((c.coordinate, c.number_format) for r in ws.iter_rows() for c in r
                              if c.number_format != "General"),
            "bold": sorted(c.coordinate for r in ws.iter_rows() for c in r if c.font.b),
            "validations": sorted((str(dv.sqref), dv.type, dv.formula1, dv.errorStyle,
                                   bool(dv.showErrorMessage))
                                  for dv in ws.data_validations.dataValidation),
            "freeze": ws.freeze_panes,
            "filter": ws.auto_filter.ref,
            "widths": sorted((k, d.width, d.number_format)
                             for k, d in ws.column_dimensions.items()),
        }
    return {"sheets": wb.sheetnames, "content": sheets}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("starter")
    return {lang: write_starter(folder / f"new-{lang}.xlsx", lang) for lang in LANGUAGES}


@pytest.mark.parametrize("language", LANGUAGES)
def test_tabs_are_named_in_the_language(written, language):
    wb = openpyxl.load_workbook(written[language])
    expected = [first(TAB_NAMES[k], language) for k in ("leads", "stock", "team", "settings")]
    assert wb.sheetnames[:4] == expected
    assert wb.active.title == expected[0]
    assert wb.properties.creator == "forecourt"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["leads", "stock", "team"])
def test_headers_are_localised_bold_frozen_and_filtered(written, language, kind):
    ws = tab(openpyxl.load_workbook(written[language]), kind, language)
    fields = FIELDS[kind]
    headers = [c.value for c in ws[1]]
    assert headers == [first(words, language) for words in fields.values()]
    assert len(set(map(fold, headers))) == len(headers), "a header appears twice"
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{column_of(fields, list(fields)[-1])}1"
    for field in fields:
        width = ws.column_dimensions[column_of(fields, field)].width
        assert width >= len(first(fields[field], language)) + 2, field
    if kind == "leads":
        assert ws.column_dimensions[column_of(fields, "received_at")].width >= 18
        assert ws.column_dimensions[column_of(fields, "notes")].width >= 40
    if kind in ("leads", "stock"):
        assert ws.max_row == 1, "data rows stay empty"


@pytest.mark.parametrize("language", LANGUAGES)
def test_lead_dropdowns(written, language):
    wb = openpyxl.load_workbook(written[language])
    ws = tab(wb, "leads", language)
    dvs = validations(ws)

    status = dvs[column_of(LEAD_FIELDS, "status")]
    assert list_values(wb, status) == [first(w, language) for w in STATUSES.values()]

    source = dvs[column_of(LEAD_FIELDS, "source")]
    sources = list_values(wb, source)
    assert not source.showErrorMessage, "free-text sources must stay allowed"
    known = {fold(v) for values in CHANNELS.values() for v in values}
    assert {"whatsapp", "sms", "facebook", "autoscout24"} <= {fold(s) for s in sources}
    assert [s for s in sources if fold(s) not in known] == []
    assert {"en": "AutoTrader", "de": "mobile.de", "pl": "OTOMOTO"}[language] in sources

    for field in ("trade_in", "finance"):
        yes, no = list_values(wb, dvs[column_of(LEAD_FIELDS, field)])
        assert fold(yes) in YES and fold(no) in NO


@pytest.mark.parametrize("language", LANGUAGES)
def test_stock_and_team(written, language):
    wb = openpyxl.load_workbook(written[language])
    stock = tab(wb, "stock", language)
    dv = validations(stock)[column_of(STOCK_FIELDS, "status")]
    assert list_values(wb, dv) == [first(w, language) for w in STOCK_STATUSES.values()]

    team = tab(wb, "team", language)
    rows = list(team.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1, "one example person"
    person = dict(zip(TEAM_FIELDS, rows[0], strict=False))
    assert person["name"] and person["days"]
    assert fold(person["active"]) in YES
    assert person["stores"] is None and person["makes"] is None and person["cap"] is None
    yes, no = list_values(wb, validations(team)[column_of(TEAM_FIELDS, "active")])
    assert fold(yes) in YES and fold(no) in NO


@pytest.mark.parametrize("language", LANGUAGES)
def test_settings_tab_is_settings_rows(written, language):
    ws = tab(openpyxl.load_workbook(written[language]), "settings", language)
    expected = [trimmed(r) for r in settings_rows(Settings(language=language), language)]
    assert [trimmed(r) for r in ws.iter_rows(values_only=True)] == expected
    assert all(c.font.b for c in ws[1] if c.value is not None)
    sla_row = next(c.row for c in ws["A"] if c.value == SLA_HEADER[0])
    assert all(c.font.b for c in ws[sla_row] if c.value is not None)
    assert not ws["A2"].font.b
    assert [ws.column_dimensions[c].width for c in "ABCD"] == list(starter.SETTINGS_WIDTHS)


def test_holidays_are_written_as_dates(tmp_path, monkeypatch):
    holiday = dt.date(2026, 12, 25)
    original = starter.settings_rows
    monkeypatch.setattr(starter, "settings_rows",
                        lambda s, lang: original(Settings(language=lang, holidays=(holiday,)),
                                                 lang))
    ws = openpyxl.load_workbook(write_starter(tmp_path / "h.xlsx", "de"))["Einstellungen"]
    cell = next(c for c in ws["B"] if isinstance(c.value, dt.datetime))
    assert cell.value.date() == holiday and cell.number_format == "yyyy-mm-dd"


def test_long_lists_go_to_a_hidden_sheet():
    wb = openpyxl.Workbook()
    ws = wb.active
    values = [f"Value number {i}" for i in range(40)]
    dv = starter._list_validation(ws, "C", values, "en", strict=False)
    assert not dv.formula1.startswith('"')
    assert wb[starter.LISTS_SHEET].sheet_state == "hidden"
    assert list_values(wb, dv) == values
    second = starter._list_validation(ws, "D", ["a,b", "c"], "en", strict=True)
    assert list_values(wb, second) == ["a,b", "c"]


def test_workbook_with_long_lists_keeps_its_tabs_first(tmp_path, monkeypatch):
    monkeypatch.setattr(starter, "MAX_INLINE_LIST", 20)
    wb = openpyxl.load_workbook(write_starter(tmp_path / "long.xlsx", "pl"))
    assert wb.sheetnames == [first(TAB_NAMES[k], "pl")
                             for k in ("leads", "stock", "team", "settings")] + ["Lists"]
    assert wb["Lists"].sheet_state == "hidden" and wb.active.title == "Zapytania"
    status = validations(wb["Zapytania"])[column_of(LEAD_FIELDS, "status")]
    assert list_values(wb, status) == [first(w, "pl") for w in STATUSES.values()]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="language"):
        write_starter(tmp_path / "x.xlsx", "fr")
    with pytest.raises(ValueError, match="xlsx"):
        write_starter(tmp_path / "x.csv", "en")
    assert template_path("DE").name == "starter-de.xlsx"
    assert not list(tmp_path.iterdir())


def test_writing_is_deterministic(tmp_path):
    a = write_starter(tmp_path / "a.xlsx", "pl")
    b = write_starter(tmp_path / "b.xlsx", "pl")
    assert a.read_bytes() == b.read_bytes()
    umask = os.umask(0o022)
    os.umask(umask)
    assert a.stat().st_mode & 0o777 == 0o666 & ~umask, "not mkstemp's private 0600"
    props = openpyxl.load_workbook(a).properties
    assert props.created == props.modified == dt.datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> list[Path]:
    return regenerate_templates(tmp_path_factory.mktemp("templates"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_bundled_templates_are_up_to_date(regenerated, language):
    bundled = template_path(language)
    assert bundled.is_file(), f"{bundled} is missing: run python -m forecourt.starter"
    assert [p.name for p in regenerated] == [f"starter-{lang}.xlsx" for lang in LANGUAGES]
    fresh = next(p for p in regenerated if p.name == bundled.name)
    assert content(bundled) == content(fresh), (
        f"{bundled.name} is out of date: run python -m forecourt.starter")


@pytest.mark.parametrize("language", LANGUAGES)
def test_opens_with_calamine(written, language):
    calamine = pytest.importorskip("python_calamine")
    book = calamine.CalamineWorkbook.from_path(str(written[language]))
    assert book.sheet_names[:4] == [first(TAB_NAMES[k], language)
                                    for k in ("leads", "stock", "team", "settings")]
    leads = book.get_sheet_by_name(first(TAB_NAMES["leads"], language)).to_python()
    assert leads[0] == [first(w, language) for w in LEAD_FIELDS.values()]
    settings = book.get_sheet_by_name(first(TAB_NAMES["settings"], language)).to_python()
    assert settings[0][0] == "Setting"


def test_a_new_workbook_without_leads_runs_twice(tmp_path):
    """A dealer's first step: `forecourt new`, then `forecourt run` before any lead exists."""
    from forecourt.engine import run

    book = write_starter(tmp_path / "new.xlsx", "en")
    first = run(book, as_of=dt.datetime(2026, 11, 23, 10))
    assert first.outcome.summary["leads"] == 0 and first.state.exists()
    second = run(book, as_of=dt.datetime(2026, 11, 23, 10))
    assert not second.written, "nothing changed, so nothing is written"
    assert "KPI" in openpyxl.load_workbook(book).sheetnames
