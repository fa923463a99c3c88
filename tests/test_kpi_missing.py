"""KPIs claim only what the workbook can show: a book without a first-response column gets
"no “First response” column" on its KPI sheet and None in the KPI data, never "SLA met 0 %";
the same for every window KPI whose columns are missing (``NEEDS``)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from preserve_books import hermetic_env

from forecourt.book import read_book
from forecourt.rules.kpi import METRICS, NEEDS, compute_kpis, missing_columns
from forecourt.rules.sheets import kpi_sheet
from forecourt.rules.sla import opening_hours
from forecourt.settings import Settings, settings_rows
from forecourt.validators.vocabulary import CHANNEL_CLASSES, LEAD_FIELDS, STATUSES, TAB_NAMES

AS_OF = dt.datetime(2026, 11, 23, 12, 0)  # a Monday, noon
COUNTRY = {"en": "GB", "de": "DE", "pl": "PL"}
NO_COLUMN = {"en": "no “First response” column", "de": "keine Spalte „Erste Antwort“",
             "pl": "brak kolumny „Pierwsza odpowiedź”"}
NO_APPOINTMENT = {"en": "no “Appointment” column", "de": "keine Spalte „Termin“",
                  "pl": "brak kolumny „Spotkanie”"}
SOURCES = {"en": ("WhatsApp", "Phone", "Email"), "de": ("WhatsApp", "Telefon", "E-Mail"),
           "pl": ("WhatsApp", "Telefon", "E-mail")}
# (received, source number, status, first response): all in the 30 days before AS_OF.
LEADS = (
    ("2026-11-23 09:00", 0, "Contacted", "2026-11-23 09:03"),  # chat, in its 5 minutes
    ("2026-11-20 10:00", 1, "Contacted", "2026-11-20 10:30"),  # phone: 10-minute SLA missed
    ("2026-11-19 11:00", 2, "Won", "2026-11-19 11:20"),  # e-mail, in its 60 minutes
    ("2026-11-18 15:00", 0, "New", None),  # never answered: a miss
    ("2026-11-17 09:30", 1, "Contacted", "2026-11-17 09:35"),  # phone, in time
)
# The book has no appointment column either: the show rate cannot be known.
MISSING = {"median_first_response_min": ["first_response_at"],
           "sla_met": ["first_response_at"], "show_rate": ["appointment_at"]}


def build_book(folder: Path, language: str, *, first_response: bool) -> Path:
    """A dealer's Leads tab (Received, Name, Phone, Source, Status[, First response]) and the
    Settings tab, headers and values in ``language``."""
    fields = ["received_at", "name", "phone", "source", "status"]
    if first_response:
        fields.append("first_response_at")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = TAB_NAMES["leads"][language][0]
    ws.append([LEAD_FIELDS[f][language][0] for f in fields])
    for k, (received, source, status, answered) in enumerate(LEADS):
        row = [dt.datetime.fromisoformat(received), f"Buyer {k}", f"+44 7700 9001{k:02d}",
               SOURCES[language][source], STATUSES[status][language][0]]
        if first_response:
            row.append(dt.datetime.fromisoformat(answered) if answered else None)
        ws.append(row)
    settings = wb.create_sheet(TAB_NAMES["settings"][language][0])
    for row in settings_rows(Settings(country=COUNTRY[language], language=language), language):
        settings.append([None if v == "" else v for v in row])
    path = folder / f"leads-{language}-{'with' if first_response else 'without'}.xlsx"
    wb.save(path)
    return path


def book_kpis(path: Path, columns: list[str] | None = None) -> tuple[dict, str]:
    """The KPIs of the book's leads, as the engine computes them: with the book's columns, or
    with ``columns`` instead."""
    book = read_book(path, as_of=AS_OF)
    leads = book.leads.copy()
    hours = opening_hours(book.settings)
    leads["sla_deadline"] = [
        hours.add(r, book.settings.rule(f"New lead, {c if c in CHANNEL_CLASSES else 'other'}")
                  .minutes)
        for r, c in zip(leads["received_at"], leads["channel"], strict=True)]
    if columns is None:
        columns = list(book.tabs["leads"].columns)
    return compute_kpis(leads, hours, AS_OF, columns=columns), book.language


def window_rows(rows: list[list]) -> dict[str, list]:
    """KPI sheet rows of the window block (columns A-H) keyed by their first cell."""
    return {row[0]: row[:1 + len(METRICS)] for row in rows[3:] if row and row[0]}


@pytest.mark.parametrize("language", ["en", "de", "pl"])
def test_a_book_without_first_response_says_so_instead_of_0_percent(tmp_path, language):
    kpis, lang = book_kpis(build_book(tmp_path, language, first_response=False))
    assert lang == language
    assert kpis["first_response_known"] is False
    assert kpis["missing_columns"] == MISSING
    for metrics in (kpis["overall"], *kpis["by_source"].values()):
        assert all(metrics[name] is None for name in MISSING), metrics
    assert kpis["overall"]["leads"] == len(LEADS)
    assert kpis["overall"]["win_rate"] == pytest.approx(1 / len(LEADS), abs=1e-4)

    sheet = kpi_sheet(kpis, language)
    wording = {"median_first_response_min": NO_COLUMN[language],
               "sla_met": NO_COLUMN[language], "show_rate": NO_APPOINTMENT[language]}
    rows = [row for row in window_rows(sheet.rows).values()
            if isinstance(row[1], int) and row[1] > 0]  # the overall row and each source's
    assert len(rows) == 4
    for row in rows:
        for k, name in enumerate(METRICS, 1):
            if name in wording:
                assert row[k] == wording[name], (name, row)
            else:
                assert row[k] is None or isinstance(row[k], int | float), (name, row)
    assert len(sheet.charts) == 2, "no SLA-met chart of cells that hold no number"


@pytest.mark.parametrize("language", ["en", "de", "pl"])
def test_a_book_with_first_response_gets_its_numbers(tmp_path, language):
    kpis, _ = book_kpis(build_book(tmp_path, language, first_response=True))
    assert kpis["first_response_known"] is True
    assert kpis["missing_columns"] == {"show_rate": ["appointment_at"]}
    overall = kpis["overall"]
    assert overall["sla_met"] == pytest.approx(3 / 5)  # all but the phone call and the chat
    assert overall["median_first_response_min"] == 12.5  # 3, 5, 20, 30 minutes
    sheet = kpi_sheet(kpis, language)
    assert not any(NO_COLUMN[language] in str(v) for row in sheet.rows for v in row)
    assert len(sheet.charts) == 3


@pytest.mark.parametrize(
    ("columns", "unknown"),
    [
        # Every column there: every KPI known.
        ({"received_at", "first_response_at", "status", "last_contact_at", "appointment_at"},
         {}),
        ({"received_at", "status"}, {"median_first_response_min": ["first_response_at"],
                                     "sla_met": ["first_response_at"],
                                     "show_rate": ["appointment_at"]}),
        # No status: the stage reached comes from the evidence columns where they exist.
        ({"received_at", "first_response_at", "last_contact_at"},
         {"appointment_rate": ["status"], "show_rate": ["status", "appointment_at"],
          "win_rate": ["status"]}),
        ({"received_at", "first_response_at", "appointment_at"},
         {"show_rate": ["status"], "win_rate": ["status"]}),
        # No received times: no lead can be placed in the window at all.
        ({"first_response_at", "status", "appointment_at"},
         {metric: ["received_at"] for metric in NEEDS}),
    ],
)
def test_each_kpi_is_unknown_exactly_when_its_columns_are_missing(columns, unknown):
    assert missing_columns(columns) == unknown
    assert missing_columns(None) == {}, "a frame that is not a workbook's: all known"


def test_unknown_kpis_read_as_their_missing_column_in_every_table(tmp_path):
    # As if the book had neither a status nor an appointment column.
    kpis, _ = book_kpis(build_book(tmp_path, "en", first_response=True),
                        ["received_at", "first_response_at", "last_contact_at"])
    sheet = kpi_sheet(kpis, "en")
    rows = [row for row in window_rows(sheet.rows).values()
            if isinstance(row[1], int) and row[1] > 0]
    assert rows[0][0] == "All leads" and len(rows) == 4  # and the three sources
    for row in rows:
        assert row[METRICS.index("win_rate") + 1] == "no “Status” column", row
        assert row[METRICS.index("show_rate") + 1] == "no “Status” column", row
        assert row[METRICS.index("appointment_rate") + 1] == "no “Status” column", row
        assert isinstance(row[METRICS.index("contact_rate") + 1], float), row  # last contact
        assert isinstance(row[METRICS.index("sla_met") + 1], float), row


def test_forecourt_run_on_a_book_without_first_response_writes_the_wording(tmp_path):
    book = build_book(tmp_path, "de", first_response=False)
    proc = subprocess.run([sys.executable, "-m", "forecourt", "run", str(book), "--json",
                           "--as-of", AS_OF.strftime("%Y-%m-%d %H:%M")], capture_output=True,
                          text=True, cwd=tmp_path, env=hermetic_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    wb = openpyxl.load_workbook(book, read_only=True)
    cells = [v for row in wb["KPI"].iter_rows(values_only=True) for v in row]
    wb.close()
    assert cells.count(NO_COLUMN["de"]) >= 2
    summary = json.loads(proc.stdout)
    assert summary["kpi"]["first_response_known"] is False
    assert summary["kpi"]["overall"]["sla_met"] is None
