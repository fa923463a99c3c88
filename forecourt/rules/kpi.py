"""KPIs: where leads leak over a window of received leads, and what is open right now.

:func:`compute_kpis` turns the engine's leads frame into plain, JSON-ready data (pure functions
over DataFrames, no layout: :mod:`forecourt.rules.sheets` lays the results out, with the labels of
:mod:`forecourt.rules.texts`). Every KPI carries its window and the time it was computed, and a
KPI that reads a column the workbook does not have is not known (None, listed in
``missing_columns``) rather than a 0 % it cannot vouch for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import pandas as pd

from forecourt.hours import OpeningHours
from forecourt.validators.vocabulary import (
    CHANNEL_CLASSES,
    CLOSED_STATUSES,
    OPEN_STATUSES,
    STATUS_ORDER,
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
        "window": {"from": stamp(start), "to": stamp(as_of), "days": int(window_days)},
        "computed_at": stamp(as_of),
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


def stamp(moment: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM``, as the KPIs and the generated sheets state a time."""
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
