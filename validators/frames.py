"""A tab's rows as a normalised, typed frame: one column per field of the tab, ``raw_<field>``
beside each one whose typing can fail, ``row`` the Excel row number.

These are the frames :mod:`forecourt.validators.schemas` describes; :mod:`forecourt.book`
builds one per tab of a workbook, and :func:`empty_frame` is a tab with no rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecourt.sync.base import Tab
from forecourt.validators import normalise as norm
from forecourt.validators.headers import ColumnMap
from forecourt.validators.vin import normalise_vin
from forecourt.validators.vocabulary import FIELDS_BY_TAB, YES_NO_FIELDS

DATE_FIELDS = {
    "leads": ("received_at", "due", "first_response_at", "last_contact_at", "appointment_at",
              "status_since"),
    "stock": ("eta",),
    "team": (),
}
NUMBER_FIELDS = {"leads": ("budget", "valuation"), "stock": ("price", "year", "mileage", "waiting"),
                 "team": ("cap",)}
# Yes/no columns where a description counts as yes: the trade-in car itself, a sale date.
DESCRIBED = ("trade_in", "sold")


def _grid(tab: Tab, cm: ColumnMap) -> tuple[list[int], np.ndarray]:
    """(Excel row numbers, 2-D object array) of the rows below the header that hold anything in
    a mapped or unknown column. A 2-D array because slicing columns out of it is several times
    faster than transposing a list of rows."""
    body = tab.rows[cm.header_index + 1:]
    width = max(map(len, body), default=0)
    if min(map(len, body), default=0) != width:
        body = [list(r) + [""] * (width - len(r)) for r in body]
    if not body or not width:
        return [], np.empty((0, 0), dtype=object)
    grid = np.empty((len(body), width), dtype=object)
    grid[:] = body
    used = sorted(j for j in set(cm.fields.values()) | set(cm.extra.values()) if j < width)
    if not used:
        return [], grid[:0]
    cells = grid[:, used]
    # Truth is a fast first pass (C, no comparisons); a row of only falsy cells still counts
    # when one of them is a value such as 0 or FALSE.
    keep = cells.astype(bool).any(axis=1)
    if not keep.all():
        rest = np.flatnonzero(~keep)
        keep[rest] = ((cells[rest] != "") & ~np.equal(cells[rest], None)).any(axis=1)
    numbers = (np.flatnonzero(keep) + tab.excel_row(cm.header_index + 1)).tolist()
    return numbers, grid[keep]

def build_frame(kind: str, tab: Tab, cm: ColumnMap, *, day_first: bool,
                region: str | None) -> pd.DataFrame:
    """Normalised frame of one tab; columns it does not have are all-missing."""
    numbers, grid = _grid(tab, cm)
    n = len(numbers)
    data: dict[str, Any] = {"row": pd.Series(numbers, dtype="int64")}
    width = grid.shape[1]

    def raw(f: str) -> list[Any]:
        j = cm.fields.get(f)
        return grid[:, j].tolist() if j is not None and j < width else [""] * n

    def keep_raw(f: str, values: list[Any]) -> None:
        """``raw_<f>``: what was typed where it could not be read (None elsewhere), so that
        validation can quote it; the VIN keeps every value as typed."""
        typed = np.array(values, dtype=object)
        nonempty = (typed != "") & ~np.equal(typed, None)
        if f != "vin":
            nonempty &= data[f].isna().to_numpy()
        data[f"raw_{f}"] = pd.Series(np.where(nonempty, typed, None) if nonempty.any()
                                     else np.full(n, None, dtype=object), dtype=object)

    def convert(f: str, values: list[Any]) -> tuple[pd.Series, bool]:
        """(normalised column, does it keep raw_<f>?)"""
        if f in DATE_FIELDS[kind]:
            return norm.to_datetimes(values, day_first), True
        if f in NUMBER_FIELDS[kind]:
            return norm.to_numbers(values), True
        if f in YES_NO_FIELDS[kind]:
            yes_no, ok = norm.to_yes_no(values, described=f in DESCRIBED)
            return yes_no.where(ok, None), True
        if f == "phone":
            phones, ok = norm.to_phones(values, region)
            return phones.where(ok, None), True
        if f == "email":
            emails, ok = norm.to_emails(values)
            return emails.where(ok, None), True
        if f == "vin":
            vins = {v: normalise_vin(v) for v in set(values) if v not in (None, "")}
            return pd.Series([vins.get(v) for v in values], dtype=object), True
        if f == "status":
            return norm.to_canonical(values, "status" if kind == "leads" else "stock"), True
        return norm.to_text(values), False

    for f in FIELDS_BY_TAB[kind]:
        j = cm.fields.get(f)
        if j is None or j >= width:  # no such column: all missing, of the column's type
            empty, keeps_raw = convert(f, [])
            data[f] = pd.Series([None] * n, dtype=empty.dtype)
            if keeps_raw:
                data[f"raw_{f}"] = pd.Series([None] * n, dtype=object)
            continue
        values = raw(f)
        data[f], keeps_raw = convert(f, values)
        if keeps_raw:
            keep_raw(f, values)
    if kind == "leads":
        data["channel"] = norm.to_canonical(raw("source"), "channel")
    if kind == "stock":  # a yes in a "Sold" column sells the car, whatever its status says
        said = data["sold"]
        sold = said.fillna(False).to_numpy(dtype=bool)
        status = data["status"]
        # the two columns disagree: reported (validators.validate), the car counted as sold
        data["sold_conflict"] = pd.Series(
            (sold & status.notna().to_numpy() & (status != "Sold").to_numpy())
            | ((said == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
               & (status == "Sold").to_numpy()), dtype=bool)
        if sold.any():
            data["status"] = status.where(~sold, "Sold")
            data["status_typed"] = status
    for header, j in cm.extra.items():
        data[f"extra:{header}"] = pd.Series(grid[:, j] if j < width else [""] * n,
                                            dtype=object)
    return pd.DataFrame(data)


def empty_frame(kind: str) -> pd.DataFrame:
    """The frame of a tab with no rows (every column, typed)."""
    return build_frame(kind, Tab("", [[]]), ColumnMap(kind, "", 1, 0), day_first=True,
                       region=None)
