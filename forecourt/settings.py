"""The dealer's rules: opening hours, holidays, SLA table, limits. Defaults are DOMAIN.md's.

The Settings tab holds them where the dealer can see and edit them. Its layout (written by
``forecourt new`` and read back by :func:`settings_from_rows`):

* a key/value block: column A the setting (English key, as listed in :data:`KEYS`), column B
  its value, column C a note; ``Holiday`` may repeat, one date per row;
* an SLA block starting at a row whose first cell is ``SLA trigger``: trigger | due after |
  clock (business / calendar) | next action.

Anything the tab does not say keeps its default; a value that cannot be read is reported as an
issue and the default is used.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from forecourt.validators.text import fold
from forecourt.validators.vocabulary import FIELDS_BY_TAB, WEEKDAYS

Hours = tuple[dt.time, dt.time] | None


@dataclass(frozen=True)
class SlaRule:
    """One row of the SLA table.

    ``minutes`` is counted in business time (opening hours) unless ``clock`` is "calendar".
    ``before`` rules count backwards from their anchor (confirm an appointment 24 h before it).
    """

    trigger: str
    minutes: int
    clock: str
    action: dict[str, str]
    before: bool = False

    def text(self, language: str) -> str:
        return self.action.get(language) or self.action["en"]


def _rule(
    trigger: str,
    minutes: int,
    en: str,
    de: str,
    pl: str,
    clock: str = "business",
    before: bool = False,
) -> SlaRule:
    return SlaRule(trigger, minutes, clock, {"en": en, "de": de, "pl": pl}, before)


DEFAULT_SLA: tuple[SlaRule, ...] = (
    _rule("New lead, chat", 5, "first reply", "erste Antwort", "pierwsza odpowiedź"),
    _rule("New lead, phone", 10, "call back", "zurückrufen", "oddzwonić"),
    _rule("New lead, form", 15, "first reply", "erste Antwort", "pierwsza odpowiedź"),
    _rule("New lead, email", 60, "first reply", "erste Antwort", "pierwsza odpowiedź"),
    _rule(
        "New lead, walk-in",
        8 * 60,
        "follow up after visit",
        "nach Besuch nachfassen",
        "kontakt po wizycie",
    ),
    _rule("New lead, other", 8 * 60, "first reply", "erste Antwort", "pierwsza odpowiedź"),
    _rule("Trade-in asked", 60, "book valuation", "Bewertung vereinbaren", "umówić wycenę"),
    _rule("Attempting contact", 4 * 60, "next attempt", "erneut versuchen", "kolejna próba"),
    _rule("Contacted", 8 * 60, "follow up", "nachfassen", "kontakt ponowny"),
    _rule(
        "Appointment set",
        24 * 60,
        "confirm appointment",
        "Termin bestätigen",
        "potwierdzić spotkanie",
        clock="calendar",
        before=True,
    ),
    _rule(
        "Appointment confirmed",
        0,
        "meet the customer",
        "Kunden empfangen",
        "spotkanie z klientem",
        clock="calendar",
    ),
    _rule("Shown", 8 * 60, "follow up after visit", "nach Besuch nachfassen", "kontakt po wizycie"),
    _rule("No show", 2 * 60, "recovery call", "Nachfassanruf", "telefon po nieobecności"),
    _rule(
        "Offer sent", 8 * 60, "follow up on offer", "Angebot nachfassen", "kontakt w sprawie oferty"
    ),
    _rule(
        "Deposit taken",
        16 * 60,
        "paperwork and handover",
        "Papiere und Übergabe",
        "dokumenty i wydanie",
    ),
    _rule(
        "Status unknown",
        60,
        "check the status",
        "Status prüfen",
        "sprawdzić status",
    ),
    _rule(
        "Won",
        30 * 24 * 60,
        "retention check-in",
        "Kundenpflege-Anruf",
        "kontakt posprzedażowy",
        clock="calendar",
    ),
)

DEFAULT_HOURS: dict[int, Hours] = {
    **{d: (dt.time(9), dt.time(18)) for d in range(5)},
    5: (dt.time(9), dt.time(14)),
    6: None,
}

DEFAULT_STALLED_DAYS: dict[str, int] = {
    "New": 1,
    "Attempting contact": 3,
    "Contacted": 7,
    "Appointment set": 7,
    "Offer sent": 5,
    "Deposit taken": 10,
}


@dataclass(frozen=True)
class Settings:
    country: str | None = None
    language: str | None = None
    day_first: bool | None = None
    fallback_owner: str | None = None
    duplicate_window_days: int = 30
    kpi_window_days: int = 30
    due_soon_hours: float = 1.0
    time_zone: str | None = None  # IANA name; None: this computer's
    opening_hours: dict[int, Hours] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    holidays: tuple[dt.date, ...] = ()
    stalled_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_STALLED_DAYS))
    sla: tuple[SlaRule, ...] = DEFAULT_SLA
    # (header as typed, field or "ignore"): the dealer's own say on what a column holds
    columns: tuple[tuple[str, str], ...] = ()
    #: the sync's rule for a cell both sides changed differently: whose value is kept
    sync_prefer: str = "excel"
    #: headers of columns that stay in the Excel workbook and never go to the Sheet
    private_columns: tuple[str, ...] = ()

    @property
    def column_overrides(self) -> dict[str, str]:
        """folded header -> field or "ignore", for the header mapping."""
        return {fold(header): fld for header, fld in self.columns}

    def rule(self, trigger: str) -> SlaRule:
        for r in self.sla:
            if r.trigger == trigger:
                return r
        raise KeyError(trigger)


# Key in the tab -> (attribute, description). Weekday and "Stalled: <status>" keys are extra.
KEYS: dict[str, tuple[str, str]] = {
    "Country": ("country", "Two-letter country code: default region for phone numbers."),
    "Language": ("language", "en, de or pl: language of the texts forecourt writes."),
    "Date order": ("day_first", "day-first (23.11.2026) or month-first (11/23/2026)."),
    "Fallback owner": ("fallback_owner", "Owner when nobody is eligible (blank: first on Team)."),
    "Duplicate window (days)": (
        "duplicate_window_days",
        "Same person again within this many days.",
    ),
    "KPI window (days)": ("kpi_window_days", "KPIs count leads received in this many days."),
    "Due soon (business hours)": ("due_soon_hours", "Amber when due within this many hours."),
    "Time zone": ("time_zone", "Where 'now' is, e.g. Europe/London (blank: this computer's)."),
    "Sync conflicts": ("sync_prefer", "Excel or Sheet: whose value the sync keeps when both "
                                      "changed a cell differently (both are listed in Conflicts)."),
    "Private columns": ("private_columns", "Columns kept in the Excel workbook only, never "
                                           "synced to the Sheet (comma-separated headers)."),
}
SLA_HEADER = ("SLA trigger", "Due after", "Clock", "Next action")
WEEKDAY_KEYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def known_zone(name: str) -> bool:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def now_in(zone: str | None) -> dt.datetime:
    """The wall-clock time now, to the minute, in ``zone`` (None: this computer's): the
    engine's "now" when no --as-of is given. Naive, as the workbook's own times are."""
    if zone is None:
        return dt.datetime.now().replace(second=0, microsecond=0)
    import zoneinfo

    return dt.datetime.now(zoneinfo.ZoneInfo(zone)).replace(second=0, microsecond=0,
                                                            tzinfo=None)


def format_minutes(minutes: int) -> str:
    if minutes and minutes % (24 * 60) == 0 and minutes >= 48 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def format_hours(hours: Hours) -> str:
    return "closed" if hours is None else f"{hours[0]:%H:%M}-{hours[1]:%H:%M}"


def settings_rows(settings: Settings | None = None, language: str = "en") -> list[list[Any]]:
    """The Settings tab as rows of values, as ``forecourt new`` writes it."""
    s = settings or Settings(language=language)
    rows: list[list[Any]] = [["Setting", "Value", "Notes"]]
    for key, (attr, note) in KEYS.items():
        value = getattr(s, attr)
        if attr == "day_first":
            value = "" if value is None else ("day-first" if value else "month-first")
        elif attr == "sync_prefer":
            value = "Excel" if value == "excel" else "Sheet"
        elif attr == "private_columns":
            value = ", ".join(value)
        rows.append([key, "" if value is None else value, note])
    for day, key in enumerate(WEEKDAY_KEYS):
        rows.append([key, format_hours(s.opening_hours.get(day)), "Opening hours, or closed."])
    for holiday in s.holidays or ():
        rows.append(["Holiday", holiday, "Closed all day; one row per holiday."])
    if not s.holidays:
        rows.append(["Holiday", "", "Closed all day; add one row per holiday."])
    for status, days in s.stalled_days.items():
        rows.append([f"Stalled: {status} (days)", days, "Longer in this status is stalled."])
    rows.append([])
    rows.append(list(SLA_HEADER))
    for r in s.sla:
        rows.append(
            [
                r.trigger,
                format_minutes(r.minutes) + (" before" if r.before else ""),
                r.clock,
                r.text(language),
            ]
        )
    return rows


_DURATION = re.compile(
    r"^\s*(\d+(?:[.,]\d+)?)\s*(min|mins|minutes?|minuten|minut[ay]?|m|h|hrs?|hours?|std|stunden?|"
    r"godz(?:in[ay]?)?|g|d|days?|tage?|dni|dzie[nń])?\s*(before|vorher|przed)?\s*$",
    re.IGNORECASE,
)


def parse_duration(value: Any) -> tuple[int, bool] | None:
    """``"5 min"`` -> (5, False); ``"24 h before"`` -> (1440, True); a bare number is minutes."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(round(value)), False
    m = _DURATION.match(str(value))
    if not m:
        return None
    number = float(m.group(1).replace(",", "."))
    unit = (m.group(2) or "min").lower()
    if unit[0] in "hgs":
        number *= 60
    elif unit[0] in "dt":
        number *= 24 * 60
    return int(round(number)), bool(m.group(3))


_HOURS = re.compile(r"^\s*(\d{1,2})[:.]?(\d{2})?\s*[-–—]\s*(\d{1,2})[:.]?(\d{2})?\s*$")
_CLOSED = {"closed", "geschlossen", "zamkniete", "nieczynne", "-", ""}


def parse_hours(value: Any) -> Hours | str:
    """``"09:00-18:00"`` -> (09:00, 18:00); ``"closed"`` -> None; anything else -> error text."""
    text = "" if value is None else str(value)
    if fold(text) in _CLOSED:
        return None
    m = _HOURS.match(text)
    if not m:
        return f"expected opening hours like 09:00-18:00 or 'closed', found {text!r}"
    h1, m1, h2, m2 = (int(g or 0) for g in m.groups())
    if not (0 <= h1 <= 24 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        return f"not a time of day: {text!r}"
    start = dt.time(min(h1, 23), m1 if h1 < 24 else 59)
    end = dt.time(23, 59, 59) if h2 == 24 else dt.time(h2, m2)
    if end <= start:
        return f"closing time is not after opening time: {text!r}"
    return start, end


COLUMN_KEYS = ("column", "spalte", "kolumna")
IGNORE_WORDS = ("ignore", "ignorieren", "ignoruj", "pomiń", "none", "no", "nein", "nie")


def field_named(text: Any) -> str | None:
    """The field a Settings value names: its id ("received_at"), the id in words ("received
    at"), any header forecourt reads as that field ("Eingang", "Źródło"), or "ignore"."""
    if str(text or "").strip() in ("-", "–"):
        return "ignore"
    return _field_names().get(fold(str(text or "")))


@cache
def _field_names() -> dict[str, str]:
    """folded name -> field or "ignore"; ids win over headers, the first field listed wins."""
    names: dict[str, str] = {fold(w): "ignore" for w in IGNORE_WORDS}
    for fields in FIELDS_BY_TAB.values():
        for fld in fields:
            names.setdefault(fold(fld.replace("_", " ")), fld)
    for fields in FIELDS_BY_TAB.values():
        for fld, by_lang in fields.items():
            for words in by_lang.values():
                for w in words:
                    names.setdefault(fold(w), fld)
    names.pop("", None)
    return names


_WEEKDAY_LOOKUP = {fold(name): day for day, names in WEEKDAYS.items() for name in names}
_WEEKDAY_LOOKUP.update({fold(k): d for d, k in enumerate(WEEKDAY_KEYS)})


_HOLIDAY_KEYS = frozenset({"holiday", "feiertag", "swieto", "holidays", "feiertage", "swieta"})


@dataclass(frozen=True)
class SettingProblem:
    row: int
    column: int
    value: Any
    message: str


def settings_from_rows(
    rows: list[tuple[int, list[Any]]], to_date: Any = None
) -> tuple[Settings, list[SettingProblem]]:
    """Read a Settings tab given as (excel row number, values) pairs.

    ``to_date`` turns a cell value into a date (or None); the reader passes its own parser so
    holidays written as text in the dealer's format are understood.
    """
    s = Settings()
    problems: list[SettingProblem] = []
    changes: dict[str, Any] = {}
    hours = dict(s.opening_hours)
    weekday_rows: list[tuple[int, Any]] = []
    holidays: list[dt.date] = []
    stalled = dict(s.stalled_days)
    sla = {r.trigger: r for r in s.sla}
    sla_by_fold = {fold(t): t for t in sla}
    keys = {fold(k): k for k in KEYS}
    in_sla = False
    columns: list[tuple[str, str]] = []

    for excel_row, values in rows:
        cells = list(values) + ["", "", "", ""]
        key_raw, value = cells[0], cells[1]
        key = fold(str(key_raw)) if key_raw is not None else ""
        if not key or key in ("setting", "einstellung", "ustawienie"):
            continue
        first_word, _, header_key = key.partition(" ")
        if first_word in COLUMN_KEYS and (header_key or ":" in str(key_raw)):
            # "Column: Lead channel" = source: the header as typed after the colon
            header = str(key_raw).split(":", 1)[1].strip() if ":" in str(key_raw) \
                else str(key_raw).strip()[len(first_word):].strip()
            if value in (None, ""):
                continue
            fld = field_named(value)
            if fld is None:
                problems.append(SettingProblem(
                    excel_row, 2, value,
                    f"{key_raw}: {value!r} is not a field forecourt knows; use one such as "
                    "source, received at, phone, owner, status, vin, or ignore"))
            else:
                columns.append((header, fld))
            continue
        if key == fold(SLA_HEADER[0]):
            in_sla = True
            continue
        if in_sla and key not in sla_by_fold and (
                key in keys or key in _WEEKDAY_LOOKUP or key in _HOLIDAY_KEYS
                or key.startswith("stalled ")):
            in_sla = False  # a setting typed below the SLA table: the table has ended
        if in_sla:
            trigger = sla_by_fold.get(key)
            if trigger is None:
                problems.append(
                    SettingProblem(excel_row, 1, key_raw, f"unknown SLA trigger {key_raw!r}")
                )
                continue
            rule = sla[trigger]
            parsed = parse_duration(value)
            if parsed is None:
                problems.append(
                    SettingProblem(
                        excel_row,
                        2,
                        value,
                        f"cannot read the duration {value!r} (e.g. '5 min', '8 h')",
                    )
                )
            else:
                rule = replace(rule, minutes=parsed[0], before=parsed[1] or rule.before)
            clock = fold(str(cells[2] or ""))
            if clock in ("calendar", "kalender", "kalendarz", "kalendarzowy"):
                rule = replace(rule, clock="calendar")
            elif clock in ("business", "opening hours", "geschaftszeit", "robocze", "biznesowy"):
                rule = replace(rule, clock="business")
            action = str(cells[3] or "").strip()
            if action:
                lang = changes.get("language") or "en"
                rule = replace(rule, action={**rule.action, lang: action})
            sla[trigger] = rule
            continue
        if key in keys:
            attr = KEYS[keys[key]][0]
            if value in (None, ""):
                continue
            if attr in ("country", "fallback_owner"):
                changes[attr] = (
                    str(value).strip().upper() if attr == "country" else str(value).strip()
                )
            elif attr == "time_zone":
                zone = str(value).strip()
                if known_zone(zone):
                    changes[attr] = zone
                else:
                    problems.append(SettingProblem(
                        excel_row, 2, value, f"unknown time zone {zone!r}: use a name such as "
                                             "Europe/London, Europe/Berlin or Europe/Warsaw"))
            elif attr == "sync_prefer":
                v = fold(str(value))
                if v.startswith(("excel", "workbook", "arbeitsmappe", "skoroszyt")):
                    changes[attr] = "excel"
                elif v.startswith(("sheet", "google", "tabelle", "arkusz")):
                    changes[attr] = "sheet"
                else:
                    problems.append(SettingProblem(
                        excel_row, 2, value, "sync conflicts must be Excel or Sheet"))
            elif attr == "private_columns":
                changes[attr] = tuple(h.strip() for h in str(value).replace(";", ",")
                                      .split(",") if h.strip())
            elif attr == "language":
                lang = fold(str(value))[:2]
                if lang in ("en", "de", "pl"):
                    changes[attr] = lang
                else:
                    problems.append(
                        SettingProblem(excel_row, 2, value, "language must be en, de or pl")
                    )
            elif attr == "day_first":
                v = fold(str(value))
                if v.startswith("day") or v.startswith("tag") or v.startswith("dzien"):
                    changes[attr] = True
                elif v.startswith("month") or v.startswith("monat") or v.startswith("miesiac"):
                    changes[attr] = False
                else:
                    problems.append(
                        SettingProblem(
                            excel_row, 2, value, "date order must be day-first or month-first"
                        )
                    )
            else:
                try:
                    number = float(str(value).replace(",", "."))
                    changes[attr] = number if attr == "due_soon_hours" else int(number)
                except ValueError:
                    problems.append(
                        SettingProblem(excel_row, 2, value, f"{keys[key]} must be a number")
                    )
            continue
        if key in _WEEKDAY_LOOKUP:
            parsed_hours = parse_hours(value)
            if isinstance(parsed_hours, str):
                problems.append(SettingProblem(excel_row, 2, value, parsed_hours))
            else:
                hours[_WEEKDAY_LOOKUP[key]] = parsed_hours
                weekday_rows.append((excel_row, value))
            continue
        if key in _HOLIDAY_KEYS:
            if value in (None, ""):
                continue
            day = to_date(value) if to_date else (value if isinstance(value, dt.date) else None)
            if day is None:
                problems.append(
                    SettingProblem(excel_row, 2, value, f"cannot read the date {value!r}")
                )
            else:
                holidays.append(day.date() if isinstance(day, dt.datetime) else day)
            continue
        m = re.match(r"^stalled (.+?)(?: days)?$", key)
        if m:
            status = next((st for st in stalled if fold(st) == m.group(1)), None)
            try:
                if status is None:
                    raise ValueError
                stalled[status] = int(float(str(value)))
            except ValueError:
                problems.append(
                    SettingProblem(
                        excel_row,
                        1,
                        key_raw,
                        f"cannot read the stalled limit {key_raw!r}: {value!r}",
                    )
                )
            continue
        problems.append(
            SettingProblem(excel_row, 1, key_raw, f"unknown setting {key_raw!r} (ignored)")
        )

    if all(h is None for h in hours.values()):  # due times need some opening hours
        row, value = weekday_rows[-1] if weekday_rows else (0, None)
        problems.append(SettingProblem(
            row, 2, value, "the opening hours are closed every day of the week: forecourt "
                           "uses its default hours (Mon-Fri 09:00-18:00, Sat 09:00-14:00) "
                           "until one day is open"))
        hours = dict(DEFAULT_HOURS)
    settings = replace(
        s,
        **changes,
        opening_hours=hours,
        holidays=tuple(sorted(set(holidays))),
        stalled_days=stalled,
        sla=tuple(sla.values()),
        columns=tuple(columns),
    )
    return settings, problems
