"""KPIs: where leads leak over a window of received leads, and what is open right now.

:func:`compute_kpis` turns the engine's leads frame into plain, JSON-ready data; :func:`kpi_sheet`,
:func:`issues_sheet` and :func:`log_sheet` lay results out as the sheets the engine owns (KPI,
Issues, Log). Every KPI carries its window and the time it was computed, and a KPI that reads
a column the workbook does not have is not known (None; the sheet names the missing column)
rather than a 0 % it cannot vouch for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import zip_longest
from typing import Any

import numpy as np
import pandas as pd

from forecourt.hours import OpeningHours
from forecourt.issues import Issue
from forecourt.plan import Chart, ChartSeries, GeneratedSheet, Value
from forecourt.validators.vocabulary import (
    CHANNEL_CLASSES,
    CLOSED_STATUSES,
    LEAD_FIELDS,
    OPEN_STATUSES,
    STATUS_ORDER,
    STATUSES,
)

TIME_FORMAT = "%Y-%m-%d %H:%M"
BLANK = "(blank)"  # group key for leads without a channel, owner or store
METRICS = (
    "leads",
    "median_first_response_min",
    "sla_met",
    "contact_rate",
    "appointment_rate",
    "show_rate",
    "win_rate",
)
NOW_COUNTS = ("open", "overdue", "due_soon", "stalled", "median_days_in_status")

# The leads-tab columns each window KPI reads; each tuple is a choice (any one of its columns
# will do). Without them a KPI is not known. The open-now counts need none of them: they read
# the due and status-since times the engine keeps itself, and a row without a status is New.
NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "leads": (("received_at",),),
    "median_first_response_min": (("received_at",), ("first_response_at",)),
    "sla_met": (("received_at",), ("first_response_at",)),
    # The stage a lead reached: its status, else the evidence of a contact or an appointment.
    "contact_rate": (("received_at",), ("status", "last_contact_at", "appointment_at")),
    "appointment_rate": (("received_at",), ("status", "appointment_at")),
    "show_rate": (("received_at",), ("status",), ("appointment_at",)),
    "win_rate": (("received_at",), ("status",)),
}

_CONTACTED = STATUS_ORDER.index("Contacted")
_APPOINTMENT = STATUS_ORDER.index("Appointment set")
_SHOWN = STATUS_ORDER.index("Shown")
_NO_SHOW = STATUS_ORDER.index("No show")
_TIMES = ("received_at", "first_response_at", "appointment_at", "status_since", "sla_deadline")
_FLAGS = ("overdue", "due_soon", "stalled")
_STAGE = {s: STATUS_ORDER.index(s) for s in STATUS_ORDER if s != "Lost"}  # stage reached


# --- computing ----------------------------------------------------------------------------------


def compute_kpis(
    leads: pd.DataFrame,
    hours: OpeningHours,
    as_of: dt.datetime,
    window_days: int = 30,
    columns: Collection[str] | None = None,
) -> dict:
    """KPIs over leads received in ``(as_of - window_days, as_of]``, plus open work right now.

    Rates are fractions 0..1 and None when nothing is there to divide by; times are
    ``YYYY-MM-DD HH:MM`` strings, so the result can go straight to JSON. ``columns`` are the
    fields the workbook's leads tab has (``book.tabs["leads"].columns``); a KPI that needs one
    it lacks is None, listed in ``missing_columns`` (KPI -> the fields it lacks), and
    ``first_response_known`` says whether first-response KPIs could be measured. Without
    ``columns`` every field counts as there.
    """
    as_of = pd.Timestamp(as_of).to_pydatetime()
    start = as_of - dt.timedelta(days=window_days)
    df = _prepared(leads)
    window = df[(df["received_at"] > start) & (df["received_at"] <= as_of)].copy()
    window["response_min"] = _response_minutes(window, hours)

    missing = missing_columns(columns)
    result: dict[str, Any] = {
        "window": {"from": _stamp(start), "to": _stamp(as_of), "days": int(window_days)},
        "computed_at": _stamp(as_of),
        "missing_columns": missing,
        "first_response_known": "sla_met" not in missing,
        "overall": _metrics(window, hours, as_of),
        "by_source": _grouped(window, "channel", hours, as_of, _channel_order),
    }
    for column, key in (("owner", "by_owner"), ("store", "by_store")):
        if df[column].notna().any():
            result[key] = _grouped(window, column, hours, as_of, None)
    for metrics in (result["overall"], *(m for key in ("by_source", "by_owner", "by_store")
                                         for m in result.get(key, {}).values())):
        metrics.update(dict.fromkeys(missing))
    result["now"] = _now(df, as_of)
    return result


def missing_columns(columns: Collection[str] | None) -> dict[str, list[str]]:
    """Each window KPI the workbook cannot measure -> the fields it lacks (for each choice in
    :data:`NEEDS` none of which is there, the first); {} when ``columns`` is None."""
    if columns is None:
        return {}
    have = set(columns)
    missing = {}
    for metric, needs in NEEDS.items():
        lacking = [choice[0] for choice in needs if not have.intersection(choice)]
        if lacking:
            missing[metric] = lacking
    return missing


def _prepared(leads: pd.DataFrame) -> pd.DataFrame:
    """The columns KPIs read, with blanks made uniform; a missing column reads as empty."""
    df = pd.DataFrame(index=leads.index)
    for column in _TIMES:
        if column in leads:
            df[column] = pd.to_datetime(leads[column], errors="coerce")
        else:
            df[column] = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[ns]")
    for column in ("channel", "owner", "store", "status"):
        values = leads[column] if column in leads else pd.Series(None, index=leads.index)
        df[column] = pd.Series(_text_column(values), index=leads.index, dtype=object)
    status = df["status"].where(df["status"].notna(), "New")  # _text gives no "" to skip
    df["status"] = status
    # The current status is always reached, whatever the history says.
    stage = status.map(_STAGE).fillna(0).to_numpy(dtype=np.int64)
    if "furthest" not in leads:
        reached = stage
    elif _is_numpy(leads["furthest"], "i"):
        reached = np.maximum(leads["furthest"].to_numpy(dtype=np.int64), stage)
    else:  # anything else, value by value
        pairs = zip(leads["furthest"], stage.tolist(), strict=True)
        reached = [max(_int(f), k) for f, k in pairs]
    df["furthest"] = pd.Series(reached, index=leads.index, dtype=int)
    for column in _FLAGS:
        if column not in leads:
            flags = np.zeros(len(df), dtype=bool)
        elif _is_numpy(leads[column], "b"):
            flags = leads[column].to_numpy(dtype=bool)
        else:
            flags = [_flag(v) for v in leads[column]]
        df[column] = pd.Series(flags, index=leads.index, dtype=bool)
    return df


def _is_numpy(values: pd.Series, kind: str) -> bool:
    """Whether ``values`` is a plain numpy column of ``kind`` ("i" int, "b" bool)."""
    return isinstance(values.dtype, np.dtype) and values.dtype.kind == kind


def _text_column(values: pd.Series) -> list[str | None]:
    """:func:`_text` of every value, with plain text (nearly all of them) handled inline."""
    items = values.tolist() if values.dtype == object else list(values)
    return [(v.strip() or None) if type(v) is str else _text(v) for v in items]


def _response_minutes(df: pd.DataFrame, hours: OpeningHours) -> pd.Series:
    """Business minutes from received to first response, once per lead (NaN: unanswered)."""
    minutes = hours.minutes_between_many(
        df["received_at"].to_numpy(), df["first_response_at"].to_numpy()
    )  # NaN where either is missing
    # A response logged before the lead (a typo, or a walk-in) took no time, not negative time.
    # As max(0.0, m) per lead: a zero is 0.0, never -0.0.
    minutes = np.where(np.isnan(minutes) | (minutes > 0), minutes, 0.0)
    return pd.Series(minutes, index=df.index, dtype=float)


def _metrics(df: pd.DataFrame, hours: OpeningHours, as_of: dt.datetime) -> dict[str, Any]:
    return _metrics_by(df, np.zeros(len(df), dtype=np.intp), 1, hours, as_of)[0]


def _metrics_by(df: pd.DataFrame, codes: np.ndarray, groups: int, hours: OpeningHours,
                as_of: dt.datetime) -> list[dict[str, Any]]:
    """The metrics of each group of rows (``codes[i]``: row i's group, 0..groups-1), in one
    pass over the columns: pandas' per-call cost, paid per group, was most of a 10k run's KPIs."""
    if "response_min" not in df:
        df = df.assign(response_min=_response_minutes(df, hours))
    minutes = df["response_min"].to_numpy(dtype=float)
    deadline = df["sla_deadline"]
    expired = (deadline.notna() & (deadline <= as_of)).to_numpy()
    met = expired & (df["first_response_at"].notna()
                     & (df["first_response_at"] <= deadline)).to_numpy()
    past = (df["appointment_at"].notna() & (df["appointment_at"] < as_of)).to_numpy()
    furthest = df["furthest"].to_numpy()
    status = df["status"].to_numpy(dtype=object)
    # "No show" sorts after "Shown" in the pipeline, so a furthest stage of exactly No show does
    # not mean the buyer came: it counts as a no-show, like a current status of No show.
    no_show = (status == "No show") | (furthest == _NO_SHOW)
    shown = (furthest >= _SHOWN) & ~no_show

    def count(mask: np.ndarray | None = None) -> list[int]:
        return np.bincount(codes if mask is None else codes[mask],
                           minlength=groups).tolist()

    n, expired_n, met_n = count(), count(expired), count(met)
    shown_n, no_show_n = count(past & shown), count(past & no_show)
    contacted, appointment = count(furthest >= _CONTACTED), count(furthest >= _APPOINTMENT)
    won = count(status == "Won")
    answered = ~np.isnan(minutes)
    medians = _medians(minutes[answered], codes[answered], groups)
    return [{
        "leads": n[g],
        "median_first_response_min": medians[g],
        "sla_met": _rate(met_n[g], expired_n[g]),
        "contact_rate": _rate(contacted[g], n[g]),
        "appointment_rate": _rate(appointment[g], n[g]),
        "show_rate": _rate(shown_n[g], shown_n[g] + no_show_n[g]),
        "win_rate": _rate(won[g], n[g]),
    } for g in range(groups)]


def _medians(values: np.ndarray, codes: np.ndarray, groups: int) -> list[float | None]:
    """:func:`_median` of each group's values."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(groups + 1))
    ordered = values[order]
    return [_median(ordered[bounds[g]:bounds[g + 1]]) for g in range(groups)]


def _groups(keys: pd.Series, order: Callable[[str], Any] | None) -> tuple[np.ndarray, list[str]]:
    """(each row's group number, group names in display order): blanks form a group of
    their own; by default the biggest groups come first."""
    codes, uniques = pd.factorize(keys.where(keys.notna(), BLANK), sort=False)
    names = [str(k) for k in uniques]
    sizes = np.bincount(codes, minlength=len(names)).tolist()
    rank = sorted(range(len(names)), key=(lambda g: order(names[g])) if order else
                  (lambda g: (names[g] == BLANK, -sizes[g], names[g].casefold())))
    renumber = np.empty(len(names), dtype=np.intp)
    renumber[rank] = np.arange(len(names))
    return renumber[codes] if len(codes) else codes.astype(np.intp), [names[g] for g in rank]


def _grouped(
    df: pd.DataFrame,
    column: str,
    hours: OpeningHours,
    as_of: dt.datetime,
    order: Callable[[str], Any] | None,
) -> dict[str, dict[str, Any]]:
    codes, names = _groups(df[column], order)
    return dict(zip(names, _metrics_by(df, codes, len(names), hours, as_of), strict=True))


def _channel_order(key: str) -> tuple[int, int, str]:
    if key in CHANNEL_CLASSES:
        return 0, CHANNEL_CLASSES.index(key), ""
    return (2 if key == BLANK else 1), 0, key.casefold()


def _now(df: pd.DataFrame, as_of: dt.datetime) -> dict[str, Any]:
    """Counts over every open lead, whenever it was received."""
    open_ = df[~df["status"].isin(CLOSED_STATUSES)]
    now = _now_counts(open_, as_of)
    codes, names = _groups(open_["owner"], None)
    now["by_owner"] = dict(zip(names, _now_counts_by(open_, codes, len(names), as_of),
                               strict=True))
    statuses = list(OPEN_STATUSES) + sorted(set(open_["status"]) - set(STATUS_ORDER))
    position = {s: k for k, s in enumerate(statuses)}
    codes = open_["status"].map(position).fillna(-1).to_numpy(dtype=np.intp)
    listed = codes >= 0
    now["by_status"] = dict(zip(statuses, _now_counts_by(open_[listed], codes[listed],
                                                         len(statuses), as_of), strict=True))
    return now


def _now_counts(df: pd.DataFrame, as_of: dt.datetime) -> dict[str, Any]:
    return _now_counts_by(df, np.zeros(len(df), dtype=np.intp), 1, as_of)[0]


def _now_counts_by(df: pd.DataFrame, codes: np.ndarray, groups: int,
                   as_of: dt.datetime) -> list[dict[str, Any]]:
    days = ((pd.Timestamp(as_of) - df["status_since"]).dt.total_seconds() / 86400).to_numpy()
    known = ~np.isnan(days)
    days = days[known]
    medians = _medians(np.where(days > 0.0, days, 0.0), codes[known], groups)  # max(0.0, d)

    def count(flags: str | None = None) -> list[int]:
        mask = None if flags is None else df[flags].to_numpy(dtype=bool)
        return np.bincount(codes if mask is None else codes[mask], minlength=groups).tolist()

    n, overdue, due_soon, stalled = count(), count("overdue"), count("due_soon"), count("stalled")
    return [{
        "open": n[g],
        "overdue": overdue[g],
        "due_soon": due_soon[g],
        "stalled": stalled[g],
        "median_days_in_status": medians[g],
    } for g in range(groups)]


def _median(values: np.ndarray) -> float | None:
    """``statistics.median`` of the values (no NaN), rounded to 0.1; None when there are none."""
    n = len(values)
    if not n:
        return None
    ordered = np.sort(values, kind="stable").tolist()
    if n % 2:
        return round(ordered[n // 2], 1)
    return round((ordered[n // 2 - 1] + ordered[n // 2]) / 2, 1)


def _rate(part: Any, whole: int) -> float | None:
    return round(float(part) / whole, 4) if whole else None


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _flag(value: Any) -> bool:
    if value is None or (isinstance(value, float) and value != value):
        return False
    return bool(value)


def _int(value: Any) -> int:
    try:
        return int(value) if value == value else 0
    except (TypeError, ValueError):
        return 0


# --- labels -------------------------------------------------------------------------------------

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "kpi_title": "forecourt KPI",
        "window": "Window: {start} – {end} ({days} days) · computed {at}",
        "window_section": "Leads received in the window",
        "now_section": "Open now: all open leads, whenever received (as of {at})",
        "overall": "Overall",
        "all_leads": "All leads",
        "by_source": "By source",
        "by_owner": "By owner",
        "by_store": "By store",
        "leads": "Leads",
        "median_first_response_min": "Median first response (min)",
        "sla_met": "SLA met",
        "contact_rate": "Contact rate",
        "appointment_rate": "Appointment rate",
        "show_rate": "Show rate",
        "win_rate": "Win rate",
        "now": "Open now",
        "all_open": "All open leads",
        "now_by_owner": "Open now by owner",
        "by_status": "By status",
        "open": "Open",
        "overdue": "Overdue",
        "due_soon": "Due soon",
        "stalled": "Stalled",
        "median_days_in_status": "Median days in status",
        "none": "(none)",
        "no_column": "no “{column}” column",
        "blank_source": "(unknown)",
        "blank_owner": "(no owner)",
        "blank_store": "(no store)",
        "chart_leads": "Leads by source",
        "chart_sla": "SLA met by source",
        "chart_owner": "Open and overdue by owner",
        "chat": "Chat",
        "phone": "Phone",
        "form": "Form / portal",
        "email": "Email",
        "walk-in": "Walk-in",
        "other": "Other",
        "issues_title": "forecourt issues",
        "issues_stamp": "Computed {at} · {n} issues",
        "sheet": "Sheet",
        "cell": "Cell",
        "severity": "Severity",
        "code": "Code",
        "message": "Message",
        "value": "Value",
        "error": "error",
        "warning": "warning",
        "log_title": "forecourt log",
        "log_stamp": "Computed {at} · {n} assignments",
        "row": "Row",
        "lead_id": "Lead ID",
        "owner": "Owner",
        "fallback": "Fallback",
        "why": "Why",
        "skipped": "Skipped",
        "yes": "yes",
        "no": "no",
    },
    "de": {
        "kpi_title": "forecourt Kennzahlen",
        "window": "Zeitraum: {start} – {end} ({days} Tage) · berechnet {at}",
        "window_section": "Im Zeitraum eingegangene Anfragen",
        "now_section": "Jetzt offen: alle offenen Anfragen, egal wann eingegangen (Stand {at})",
        "overall": "Gesamt",
        "all_leads": "Alle Anfragen",
        "by_source": "Nach Quelle",
        "by_owner": "Nach Verkäufer",
        "by_store": "Nach Filiale",
        "leads": "Anfragen",
        "median_first_response_min": "Median erste Antwort (Min.)",
        "sla_met": "SLA eingehalten",
        "contact_rate": "Kontaktquote",
        "appointment_rate": "Terminquote",
        "show_rate": "Erscheinensquote",
        "win_rate": "Abschlussquote",
        "now": "Jetzt offen",
        "all_open": "Alle offenen Anfragen",
        "now_by_owner": "Offen nach Verkäufer",
        "by_status": "Nach Status",
        "open": "Offen",
        "overdue": "Überfällig",
        "due_soon": "Bald fällig",
        "stalled": "Stockt",
        "median_days_in_status": "Median Tage im Status",
        "none": "(keine)",
        "no_column": "keine Spalte „{column}“",
        "blank_source": "(unbekannt)",
        "blank_owner": "(kein Verkäufer)",
        "blank_store": "(keine Filiale)",
        "chart_leads": "Anfragen nach Quelle",
        "chart_sla": "SLA eingehalten nach Quelle",
        "chart_owner": "Offen und überfällig nach Verkäufer",
        "chat": "Chat",
        "phone": "Telefon",
        "form": "Formular / Portal",
        "email": "E-Mail",
        "walk-in": "Laufkundschaft",
        "other": "Sonstiges",
        "issues_title": "forecourt Probleme",
        "issues_stamp": "Berechnet {at} · {n} Probleme",
        "sheet": "Blatt",
        "cell": "Zelle",
        "severity": "Schwere",
        "code": "Code",
        "message": "Meldung",
        "value": "Wert",
        "error": "Fehler",
        "warning": "Warnung",
        "log_title": "forecourt Protokoll",
        "log_stamp": "Berechnet {at} · {n} Zuweisungen",
        "row": "Zeile",
        "lead_id": "Anfrage-ID",
        "owner": "Verkäufer",
        "fallback": "Ersatz",
        "why": "Grund",
        "skipped": "Übersprungen",
        "yes": "ja",
        "no": "nein",
    },
    "pl": {
        "kpi_title": "forecourt wskaźniki",
        "window": "Okres: {start} – {end} ({days} dni) · obliczono {at}",
        "window_section": "Zapytania otrzymane w okresie",
        "now_section": "Otwarte teraz: wszystkie otwarte zapytania, z każdej daty (stan {at})",
        "overall": "Ogółem",
        "all_leads": "Wszystkie zapytania",
        "by_source": "Według źródła",
        "by_owner": "Według opiekuna",
        "by_store": "Według oddziału",
        "leads": "Zapytania",
        "median_first_response_min": "Mediana pierwszej odpowiedzi (min)",
        "sla_met": "SLA dotrzymane",
        "contact_rate": "Wskaźnik kontaktu",
        "appointment_rate": "Wskaźnik spotkań",
        "show_rate": "Wskaźnik obecności",
        "win_rate": "Wskaźnik sprzedaży",
        "now": "Otwarte teraz",
        "all_open": "Wszystkie otwarte zapytania",
        "now_by_owner": "Otwarte według opiekuna",
        "by_status": "Według statusu",
        "open": "Otwarte",
        "overdue": "Zaległe",
        "due_soon": "Wkrótce termin",
        "stalled": "Utknęło",
        "median_days_in_status": "Mediana dni w statusie",
        "none": "(brak)",
        "no_column": "brak kolumny „{column}”",
        "blank_source": "(nieznane)",
        "blank_owner": "(brak opiekuna)",
        "blank_store": "(brak oddziału)",
        "chart_leads": "Zapytania według źródła",
        "chart_sla": "SLA dotrzymane według źródła",
        "chart_owner": "Otwarte i zaległe według opiekuna",
        "chat": "Czat",
        "phone": "Telefon",
        "form": "Formularz / portal",
        "email": "E-mail",
        "walk-in": "Wizyta osobista",
        "other": "Inne",
        "issues_title": "forecourt problemy",
        "issues_stamp": "Obliczono {at} · problemy: {n}",
        "sheet": "Arkusz",
        "cell": "Komórka",
        "severity": "Waga",
        "code": "Kod",
        "message": "Komunikat",
        "value": "Wartość",
        "error": "błąd",
        "warning": "ostrzeżenie",
        "log_title": "forecourt dziennik",
        "log_stamp": "Obliczono {at} · przydziały: {n}",
        "row": "Wiersz",
        "lead_id": "ID zapytania",
        "owner": "Opiekun",
        "fallback": "Zastępczy",
        "why": "Powód",
        "skipped": "Pominięci",
        "yes": "tak",
        "no": "nie",
    },
}


def _texts(language: str | None) -> dict[str, str]:
    return _TEXTS.get((language or "en").lower(), _TEXTS["en"])


# --- the KPI sheet -------------------------------------------------------------------------------

# Each column letter holds one kind of number across the whole sheet, because a GeneratedSheet's
# number formats are per column: the window tables use A-H, the open-now tables J-O.
_WINDOW_COL, _NOW_COL = 1, 10  # A, J
_FORMATS = {
    "B": "0",
    "C": "0.0",
    **{letter: "0.0%" for letter in "DEFGH"},
    **{letter: "0" for letter in "KLMN"},
    "O": "0.0",
}
_CHART_COLUMN = "Q"
_TOP = 4  # first table header row; rows 1-3 are the title, the stamp and the section captions


class _Grid:
    """Cells addressed by (Excel row, column number), turned into ``rows`` at the end."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], Value] = {}
        self.bold: set[int] = set()

    def put(self, row: int, column: int, values: Sequence[Value]) -> None:
        for i, value in enumerate(values):
            self.cells[(row, column + i)] = value

    def table(
        self, top: int, column: int, header: Sequence[str], body: list[list[Value]], none: str
    ) -> tuple[int, int, int]:
        """Header at ``top``, body below; returns (first body row, last body row, next free top).

        An empty body becomes one ``none`` row of zeros so ranges pointing at it stay valid.
        """
        self.put(top, column, header)
        self.bold.add(top)
        if not body:
            body = [[none, *[0] * (len(header) - 1)]]
        for i, values in enumerate(body, start=1):
            self.put(top + i, column, values)
        return top + 1, top + len(body), top + len(body) + 2

    def rows(self) -> list[list[Value]]:
        if not self.cells:
            return []
        height = max(r for r, _ in self.cells)
        rows: list[list[Value]] = []
        for r in range(1, height + 1):
            width = max((c for rr, c in self.cells if rr == r), default=0)
            rows.append([self.cells.get((r, c)) for c in range(1, width + 1)])
        return rows

    def widths(self, from_row: int) -> dict[str, float]:
        longest: dict[int, int] = {}
        for (r, c), value in self.cells.items():
            if r >= from_row and value is not None:
                size = len(value) if isinstance(value, str) else 8
                longest[c] = max(longest.get(c, 0), size)
        return {_letter(c): float(min(max(n + 2, 8), 36)) for c, n in longest.items()}


def kpi_sheet(kpis: dict, language: str = "en") -> GeneratedSheet:
    """The KPI sheet: window tables (A-H), open-now tables (J-O), charts from column Q."""
    t = _texts(language)
    window = kpis["window"]
    at = kpis["computed_at"]
    grid = _Grid()
    grid.put(1, 1, [t["kpi_title"]])
    grid.put(
        2,
        1,
        [t["window"].format(start=window["from"], end=window["to"], days=window["days"], at=at)],
    )
    grid.put(3, _WINDOW_COL, [t["window_section"]])
    grid.put(3, _NOW_COL, [t["now_section"].format(at=at)])
    grid.bold.update({1, 3})

    missing = kpis.get("missing_columns") or {}

    def value(metrics: Mapping[str, Any], name: str) -> Value:
        """The KPI's number, or the column the workbook would need for it."""
        if name not in missing:
            return metrics.get(name)
        headers = LEAD_FIELDS[missing[name][0]]
        return t["no_column"].format(column=(headers.get(language or "en") or headers["en"])[0])

    def metric_header(name: str) -> list[str]:
        return [t[name], *(t[m] for m in METRICS)]

    def metric_rows(groups: Mapping[str, Mapping[str, Any]], label: Callable[[str], str]):
        return [[label(k), *(value(m, name) for name in METRICS)] for k, m in groups.items()]

    def blank(kind: str) -> Callable[[str], str]:
        return lambda k: t[f"blank_{kind}"] if k == BLANK else k

    def channel(k: str) -> str:
        return t["blank_source"] if k == BLANK else t.get(k, k) if k in CHANNEL_CLASSES else k

    overall = [[t["all_leads"], *(value(kpis["overall"], name) for name in METRICS)]]
    left = [
        (metric_header("overall"), overall),
        (metric_header("by_source"), metric_rows(kpis.get("by_source", {}), channel)),
    ]
    for key, kind in (("by_owner", "owner"), ("by_store", "store")):
        if key in kpis:
            left.append((metric_header(key), metric_rows(kpis[key], blank(kind))))

    now = kpis["now"]
    now_header = [t[name] for name in NOW_COUNTS]

    def now_rows(groups: Mapping[str, Mapping[str, Any]], label: Callable[[str], str]):
        return [[label(k), *(c.get(name) for name in NOW_COUNTS)] for k, c in groups.items()]

    def status(k: str) -> str:
        names = STATUSES.get(k, {}).get(language) or STATUSES.get(k, {}).get("en")
        return names[0] if names else k

    right = [
        ([t["now"], *now_header], [[t["all_open"], *(now.get(n) for n in NOW_COUNTS)]]),
        (
            [t["now_by_owner"], *now_header],
            now_rows(now.get("by_owner", {}), blank("owner")),
        ),
        ([t["by_status"], *now_header], now_rows(now.get("by_status", {}), status)),
    ]

    # Tables side by side start on the same row, so a bold header row never runs through the
    # data of the table next to it.
    placed: dict[tuple[int, int], tuple[int, int]] = {}
    top = _TOP
    for band, pair in enumerate(zip_longest(left, right)):
        tops = []
        for column, table in zip((_WINDOW_COL, _NOW_COL), pair, strict=True):
            if table is not None:
                first, last, after = grid.table(top, column, *table, t["none"])
                placed[(column, band)] = (first, last)
                tops.append(after)
        top = max(tops)
    source_first, source_last = placed[(_WINDOW_COL, 1)]
    owner_first, owner_last = placed[(_NOW_COL, 1)]

    sources = f"A{source_first}:A{source_last}"
    owners = f"J{owner_first}:J{owner_last}"
    # Each chart with the KPI it plots (None: the open-now counts, always known); a chart of a
    # KPI the workbook cannot measure would plot its "no column" cells as nothing, so it goes.
    charts = [
        (
            "leads",
            Chart(
                t["chart_leads"],
                sources,
                (ChartSeries(t["leads"], f"B{source_first}:B{source_last}"),),
                f"{_CHART_COLUMN}3",
            ),
        ),
        (
            "sla_met",
            Chart(
                t["chart_sla"],
                sources,
                (ChartSeries(t["sla_met"], f"D{source_first}:D{source_last}"),),
                f"{_CHART_COLUMN}20",
                percent_axis=True,
            ),
        ),
        (
            None,
            Chart(
                t["chart_owner"],
                owners,
                (
                    ChartSeries(t["open"], f"K{owner_first}:K{owner_last}"),
                    ChartSeries(t["overdue"], f"L{owner_first}:L{owner_last}"),
                ),
                f"{_CHART_COLUMN}37",
            ),
        ),
    ]
    widths = grid.widths(from_row=_TOP)
    widths["I"] = 3.0  # a narrow gutter between the two blocks
    widths["P"] = 3.0
    return GeneratedSheet(
        name="KPI",
        rows=grid.rows(),
        widths=widths,
        bold_rows=grid.bold,
        formats=dict(_FORMATS),
        charts=[chart for metric, chart in charts if metric not in missing],
    )


# --- the Issues and Log sheets -------------------------------------------------------------------


def issues_sheet(
    issues: list[Issue], computed_at: dt.datetime, language: str = "en"
) -> GeneratedSheet:
    """One row per issue, in the order given; the Cell column links to the cell it is about."""
    t = _texts(language)
    header = ["sheet", "cell", "severity", "code", "message", "value"]
    rows: list[list[Value]] = [
        [t["issues_title"]],
        [t["issues_stamp"].format(at=_stamp(computed_at), n=len(issues))],
        [t[h] for h in header],
    ]
    links: dict[tuple[int, str], str] = {}
    for issue in issues:
        rows.append(
            [
                issue.sheet,
                issue.cell or None,
                t.get(issue.severity, issue.severity),
                issue.code,
                issue.message,
                _cell_value(issue.value),
            ]
        )
        if issue.sheet and issue.row and issue.column:
            links[(len(rows), "B")] = f"{quote_sheet(issue.sheet)}!{issue.column}{issue.row}"
    return GeneratedSheet(
        name="Issues",
        rows=rows,
        links=links,
        widths={"A": 16, "B": 8, "C": 12, "D": 22, "E": 70, "F": 30},
        bold_rows={1, 3},
        freeze_row=3,
    )


def log_sheet(
    entries: Iterable[tuple], computed_at: dt.datetime, language: str = "en"
) -> GeneratedSheet:
    """One row per owner assignment: who got the lead, whether by fallback, who was skipped why.

    ``entries`` are ``(row, lead_id, owner, fallback, reason, skipped)`` with ``skipped`` a list
    of ``(person, why)``.
    """
    t = _texts(language)
    entries = list(entries)
    rows: list[list[Value]] = [
        [t["log_title"]],
        [t["log_stamp"].format(at=_stamp(computed_at), n=len(entries))],
        [t[h] for h in ("row", "lead_id", "owner", "fallback", "why", "skipped")],
    ]
    for row, lead_id, owner, fallback, reason, skipped in entries:
        rows.append(
            [
                _cell_value(row),
                _cell_value(lead_id),
                _cell_value(owner),
                t["yes"] if fallback else t["no"],
                _cell_value(reason),
                "; ".join(f"{person}: {why}" for person, why in skipped or ()) or None,
            ]
        )
    return GeneratedSheet(
        name="Log",
        rows=rows,
        widths={"A": 8, "B": 14, "C": 16, "D": 10, "E": 50, "F": 60},
        bold_rows={1, 3},
        freeze_row=3,
    )


def quote_sheet(name: str) -> str:
    """``Dealer's Leads`` -> ``'Dealer''s Leads'``, as a workbook reference needs it."""
    return "'" + name.replace("'", "''") + "'"


def _cell_value(value: Any) -> Value:
    """A value a sheet cell can hold, unchanged where it already is one (text stays text)."""
    if value is None or isinstance(value, str):
        return value
    if value is pd.NaT:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, int | float | dt.datetime | dt.date):
        return value
    if isinstance(value, np.datetime64):
        return _cell_value(pd.Timestamp(value))
    if hasattr(value, "item"):  # numpy scalars
        return _cell_value(value.item())
    return str(value)


def _letter(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
