"""The layout of the sheets the engine generates: KPI, Issues and Log.

:func:`kpi_sheet` lays out the KPIs of :func:`forecourt.rules.kpi.compute_kpis`,
:func:`issues_sheet` the issues found and :func:`log_sheet` the owner assignments, each as a
:class:`forecourt.plan.GeneratedSheet` (rows, links, widths, charts) labelled in the workbook's
language (:mod:`forecourt.rules.texts`). A KPI the workbook cannot measure shows the column it
would need.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import zip_longest
from typing import Any

import numpy as np
import pandas as pd

from forecourt.issues import Issue
from forecourt.plan import Chart, ChartSeries, GeneratedSheet, Link, Value
from forecourt.rules.kpi import BLANK, METRICS, NOW_COUNTS, stamp
from forecourt.rules.texts import texts
from forecourt.validators.vocabulary import CHANNEL_CLASSES, LEAD_FIELDS, STATUSES

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
    t = texts(language)
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
    t = texts(language)
    header = ["sheet", "cell", "severity", "code", "message", "value"]
    rows: list[list[Value]] = [
        [t["issues_title"]],
        [t["issues_stamp"].format(at=stamp(computed_at), n=len(issues))],
        [t[h] for h in header],
    ]
    links: dict[tuple[int, str], Link] = {}
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
            links[(len(rows), "B")] = Link(issue.sheet, issue.row, issue.column)
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
    t = texts(language)
    entries = list(entries)
    rows: list[list[Value]] = [
        [t["log_title"]],
        [t["log_stamp"].format(at=stamp(computed_at), n=len(entries))],
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
