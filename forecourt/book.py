"""The model: a dealer's workbook as typed, VIN-keyed DataFrames plus a list of issues.

``read_book(path)`` = read tabs (``sync``) -> find tabs, headers and fields -> normalise -> build
frames -> validate (``validators``). Every frame carries ``row`` (the Excel row number); the
:class:`TabInfo` of each tab says which column letter holds which field, so any value can be
traced back to its cell and the write-back can address it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from forecourt.errors import NoLeadsTab
from forecourt.issues import Issue, make_issue
from forecourt.settings import Settings, now_in, settings_from_rows
from forecourt.sync.base import Tab, Tabs, is_generated
from forecourt.validators import normalise as norm
from forecourt.validators.frames import DATE_FIELDS, build_frame, empty_frame
from forecourt.validators.headers import ColumnMap, Layout, find_layout
from forecourt.validators.text import cell_text, compact_key

REGION_SAMPLE = 5000  # phone cells looked at to guess the country of national numbers


@dataclass
class TabInfo:
    """Where a tab's data sits: sheet, header row, field -> column letter, unknown columns."""

    kind: str
    sheet: str
    header_row: int
    columns: dict[str, str]
    extra: dict[str, str]
    last_column: str
    rows: int
    # field -> (how, why, header): how the column was found (header, header words, fuzzy,
    # contents, settings) and the words or evidence, for ``check``
    how: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()  # headers a Settings row says to ignore
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)  # header -> fields


@dataclass
class Book:
    """A dealer's workbook, read and validated."""

    source: str
    language: str
    settings: Settings
    leads: pd.DataFrame
    stock: pd.DataFrame
    team: pd.DataFrame
    tabs: dict[str, TabInfo | None]
    issues: list[Issue] = field(default_factory=list)
    as_of: dt.datetime | None = None
    region: str | None = None
    #: the read this book came from: a :class:`~forecourt.sync.backend.WorkbookId` and the
    #: workbook's revision then (a plan made from the book names it)
    identity: Any = None
    revision: str | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


def _column(rows: list[list[Any]], j: int) -> list[Any]:
    return [r[j] if j < len(r) else "" for r in rows]



def _tab_info(kind: str, tab: Tab, cm: ColumnMap, rows: int) -> TabInfo:
    width = max((len(r) for r in tab.rows[cm.header_index:]), default=1)
    how = {f: (*cm.how.get(f, ("header", "")), cm.header_of(f, tab)) for f in cm.fields}
    return TabInfo(kind, tab.name, cm.header_row,
                   {f: tab.letter(j) for f, j in cm.fields.items()},
                   {h: tab.letter(j) for h, j in cm.extra.items()},
                   tab.letter(max(width - 1, 0)), rows, how, tuple(cm.ignored),
                   {h: f for h, f in cm.ambiguous.items() if h in cm.extra})


def _raw_column(tab: Tab | None, cm: ColumnMap | None, fld: str) -> list[Any]:
    if tab is None or cm is None or fld not in cm.fields:
        return []
    return _column(tab.rows[cm.header_index + 1:], cm.fields[fld])


def _infer(layout: Layout, issues: list[Issue]) -> None:
    """Columns known by their contents (see :mod:`forecourt.validators.infer`), each reported:
    the Team tab first (its names find the owner column), then Stock (its cars find the leads'
    car column), then Leads."""
    from forecourt.validators.infer import infer_columns

    team_names = [v for v in _raw_column(layout.tabs["team"], layout.maps["team"], "name")
                  if isinstance(v, str)]
    for kind in ("team", "stock", "leads"):
        tab, cm = layout.tabs[kind], layout.maps[kind]
        if tab is None or cm is None:
            continue
        car_keys: dict[str, str] = {}
        if kind == "leads":
            for fld in ("vin", "stock_no", "plate"):
                for v in _raw_column(layout.tabs["stock"], layout.maps["stock"], fld):
                    if v not in (None, ""):
                        car_keys.setdefault(compact_key(cell_text(v)), fld)
        for found in infer_columns(kind, tab, cm, team_names=team_names, car_keys=car_keys):
            name = found.field.replace("_", " ")
            issues.append(make_issue(
                "inferred-column", tab.name, cm.header_row, tab.letter(found.index),
                f"column {found.header!r} read as {name} from its values: {found.evidence}. "
                f"If that is wrong, add a Settings row 'Column: {found.header}' with the right "
                "field or 'ignore'", found.header, found.field))



def load_book(tabs: Tabs, *, as_of: dt.datetime | None = None,
              progress: Callable[[str], None] | None = None) -> Book:
    """Turn a backend's tabs into a validated :class:`Book` (any backend: xlsx, Sheets, ...)."""
    from forecourt.validators.validate import validate_book

    say = progress or (lambda _msg: None)
    # Sheets forecourt generates (Issues, KPI, Log) are not the dealer's data.
    dealer_tabs = [t for t in tabs.tabs if not is_generated(t)]
    layout = find_layout(dealer_tabs)
    issues: list[Issue] = []

    settings = Settings()
    settings_tab = layout.tabs["settings"]
    if settings_tab is not None:
        rows = [(settings_tab.excel_row(i), r) for i, r in enumerate(settings_tab.rows)]

        def to_date(v: Any) -> dt.date | None:
            ts = norm.to_datetimes([v], True).iloc[0]
            return None if pd.isna(ts) else ts.date()

        settings, problems = settings_from_rows(rows, to_date)
        for p in problems:
            issues.append(make_issue("bad-setting", settings_tab.name, p.row,
                                     settings_tab.letter(p.column - 1), p.message, p.value))
        if settings.columns:  # the dealer said what some columns hold
            layout = find_layout(dealer_tabs, overrides=settings.column_overrides)
    if layout.tabs["leads"] is None:
        names = ", ".join(repr(t.name) for t in tabs.tabs) or "none"
        raise NoLeadsTab(f"{tabs.source} has no leads tab: no sheet is named Leads, Anfragen "
                         f"or Zapytania, and none has a header row with lead columns (sheets: "
                         f"{names}). Rename the sheet or add headers like Received, Name, "
                         "Phone, Source.", path=tabs.source)
    if layout.maps["leads"] is None:
        raise NoLeadsTab(f"{tabs.source}: sheet {layout.tabs['leads'].name!r} has no "
                         "recognisable header row (looked for headers like Received, Name, "
                         "Phone, Source, Status in the first 30 rows).", path=tabs.source,
                         sheet=layout.tabs["leads"].name)
    _infer(layout, issues)

    leads_tab, leads_map = layout.tabs["leads"], layout.maps["leads"]
    date_values: list[Any] = []
    for f in DATE_FIELDS["leads"]:
        if f in leads_map.fields:
            date_values += _column(leads_tab.rows[leads_map.header_index + 1:],
                                   leads_map.fields[f])
    day_first = settings.day_first
    if day_first is None:
        day_first = norm.guess_day_first(date_values, settings.country)
    region = settings.country
    if region is None and "phone" in leads_map.fields:
        body = leads_tab.rows[leads_map.header_index + 1:]
        step = max(1, len(body) // REGION_SAMPLE)  # a majority vote: a sample tells it
        region = norm.guess_region(_column(body[::step], leads_map.fields["phone"]))

    frames: dict[str, pd.DataFrame] = {}
    infos: dict[str, TabInfo | None] = {"settings": None}
    if settings_tab is not None:
        infos["settings"] = TabInfo("settings", settings_tab.name, 1, {}, {}, "D",
                                    len(settings_tab.rows))
    for kind in ("leads", "stock", "team"):
        tab, cm = layout.tabs[kind], layout.maps[kind]
        if tab is None or cm is None:
            frames[kind] = empty_frame(kind)
            infos[kind] = None
            continue
        say(f"reading {tab.name}")
        frames[kind] = build_frame(kind, tab, cm, day_first=day_first, region=region)
        infos[kind] = _tab_info(kind, tab, cm, len(frames[kind]))
        for fld, (header, synonym) in cm.fuzzy.items():
            issues.append(make_issue("fuzzy-header", tab.name, cm.header_row,
                                     tab.letter(cm.fields[fld]),
                                     f"header {header!r} read as {fld.replace('_', ' ')} "
                                     f"(close to {synonym!r}); rename it to silence this",
                                     header, fld))
        for header, j in cm.duplicates.items():
            issues.append(make_issue("duplicate-header", tab.name, cm.header_row,
                                     tab.letter(j), f"column {header!r} means the same as "
                                     "an earlier column; only the first is used", header))
    for kind in ("stock", "team", "settings"):
        if layout.tabs[kind] is None:
            issues.append(make_issue("missing-tab", "", None, None,
                                     f"no {kind} tab found; defaults are used" if kind ==
                                     "settings" else f"no {kind} tab found", None))
    if as_of is None:  # now where the dealer is: the Settings tab's time zone, else the
        as_of = now_in(settings.time_zone or tabs.time_zone)  # workbook's own (a Sheet's)
    book = Book(tabs.source, settings.language or layout.language, settings, frames["leads"],
                frames["stock"], frames["team"], infos, issues, as_of, region, tabs.identity,
                tabs.revision)
    say("validating")
    validate_book(book)
    return book


def read_book(path: Path | str, *, as_of: dt.datetime | None = None,
              progress: Callable[[str], None] | None = None) -> Book:
    """Read and validate an .xlsx/.xlsm workbook. Raises a :class:`ForecourtError` subclass
    when the file cannot be used at all; row problems are in ``book.issues``."""
    from forecourt.sync.xlsx import read_tabs

    return load_book(read_tabs(path), as_of=as_of, progress=progress)
