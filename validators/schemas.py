"""pandera schemas: one class per tab, one field per column, checks next to the field.

They validate the normalised frames of :mod:`forecourt.validators.frames`. For every column whose
typing can fail, the frame carries ``raw_<field>``: the value as typed where it could not be
read, None elsewhere. Those columns are declared with :func:`readable` (must be empty; the
field's description is the issue code); other checks are named ``<code>__<field>``, so
:mod:`validators.validate` turns each failure into an issue record without a lookup table.
Rules that compare rows (duplicates, links to stock, "received in the future") live in
:mod:`validators.validate`, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from forecourt.validators.vin import FRAME_NUMBER, VIN_CHARS, check_digit, check_digit_required
from forecourt.validators.vocabulary import CHANNEL_CLASSES, STATUS_ORDER, STOCK_STATUSES


def _per_vin(s: pd.Series, ok: Callable[[Any], bool]) -> pd.Series:
    """``ok`` of each value, decided once per distinct VIN (a leads tab names the same cars
    again and again); empty cells pass."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    verdicts = np.array([ok(v) for v in uniques] + [True], dtype=bool)  # [-1]: empty
    return pd.Series(verdicts[codes], index=s.index)


def vin_length_ok(s: pd.Series) -> pd.Series:
    return _per_vin(s, lambda v: len(str(v)) == 17 or FRAME_NUMBER.fullmatch(str(v)) is not None)


def vin_characters_ok(s: pd.Series) -> pd.Series:
    return _per_vin(s, lambda v: len(str(v)) != 17 or VIN_CHARS.fullmatch(str(v)) is not None
                    or FRAME_NUMBER.fullmatch(str(v)) is not None)


def vin_check_digit_ok(s: pd.Series) -> pd.Series:
    def ok(v: Any) -> bool:
        if not isinstance(v, str) or len(v) != 17 or not VIN_CHARS.match(v):
            return True
        return not check_digit_required(v) or v[8] == check_digit(v)

    return _per_vin(s, ok)


class VinChecks(pa.DataFrameModel):
    """The VIN rules of DOMAIN.md, shared by the Leads and Stock tabs."""

    vin: Series[object] = pa.Field(nullable=True)

    class Config:
        strict = False
        coerce = False

    # Check names are the method names: pandera does not keep name= through inheritance.
    @pa.check("vin")
    def vin_length__vin(cls, s: Series[object]) -> Series[bool]:
        return vin_length_ok(s)

    @pa.check("vin")
    def vin_characters__vin(cls, s: Series[object]) -> Series[bool]:
        return vin_characters_ok(s)

    @pa.check("vin")
    def vin_check_digit__vin(cls, s: Series[object]) -> Series[bool]:
        return vin_check_digit_ok(s)


def readable(code: str) -> Any:
    """A ``raw_<field>`` column: it holds what was typed where it could not be read, so it must
    be empty; every value in it is a problem of kind ``code``."""
    return pa.Field(nullable=True, isin=[], description=code)


class LeadSchema(VinChecks):
    """The Leads tab after normalisation (one row per inquiry)."""

    row: Series[int] = pa.Field(ge=1, description="Excel row number")
    lead_id: Series[object] = pa.Field(nullable=True)
    received_at: Series[pd.Timestamp] = pa.Field(nullable=False)
    source: Series[object] = pa.Field(nullable=False)
    channel: Series[object] = pa.Field(nullable=True, isin=list(CHANNEL_CLASSES))
    status: Series[object] = pa.Field(nullable=True, isin=list(STATUS_ORDER))
    phone: Series[object] = pa.Field(nullable=True)
    email: Series[object] = pa.Field(nullable=True)
    vin: Series[object] = pa.Field(nullable=True)
    raw_status: Series[object] = readable("unknown-status")
    raw_phone: Series[object] = readable("bad-phone")
    raw_email: Series[object] = readable("bad-email")
    raw_due: Series[object] = readable("bad-date")
    raw_first_response_at: Series[object] = readable("bad-date")
    raw_last_contact_at: Series[object] = readable("bad-date")
    raw_appointment_at: Series[object] = readable("bad-date")
    raw_status_since: Series[object] = readable("bad-date")
    raw_budget: Series[object] = readable("bad-number")
    raw_valuation: Series[object] = readable("bad-number")
    raw_trade_in: Series[object] = readable("bad-yes-no")
    raw_finance: Series[object] = readable("bad-yes-no")

    class Config:
        strict = False
        coerce = False

    # ignore_na=False: the default makes pandera scan the whole frame for all-empty rows, and
    # there are none (every row has its Excel row number).
    @pa.dataframe_check(ignore_na=False)
    def missing_contact__phone(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["phone"].notna() | df["raw_phone"].notna() | df["email"].notna()
                | df["raw_email"].notna())

    @pa.dataframe_check(ignore_na=False)
    def unknown_source__source(cls, df: pd.DataFrame) -> Series[bool]:
        return df["channel"].notna() | df["source"].isna()


class StockSchema(VinChecks):
    """The Stock tab after normalisation (one row per car, keyed by VIN)."""

    row: Series[int] = pa.Field(ge=1)
    vin: Series[object] = pa.Field(nullable=False)
    status: Series[object] = pa.Field(nullable=True, isin=list(STOCK_STATUSES))
    raw_status: Series[object] = readable("unknown-stock-status")
    raw_price: Series[object] = readable("bad-number")
    raw_year: Series[object] = readable("bad-number")
    raw_mileage: Series[object] = readable("bad-number")
    raw_eta: Series[object] = readable("bad-date")

    class Config:
        strict = False
        coerce = False


class TeamSchema(pa.DataFrameModel):
    """The Team tab after normalisation (one row per person)."""

    row: Series[int] = pa.Field(ge=1)
    name: Series[object] = pa.Field(nullable=False)
    raw_active: Series[object] = readable("bad-yes-no")
    raw_cap: Series[object] = readable("bad-number")

    class Config:
        strict = False
        coerce = False


SCHEMAS = {"leads": LeadSchema, "stock": StockSchema, "team": TeamSchema}


def raw_code(kind: str, column: str) -> str | None:
    """The issue code of a value left in ``raw_<field>`` (see :func:`readable`)."""
    field = SCHEMAS[kind].to_schema().columns.get(column)
    return field.description if field is not None and column.startswith("raw_") else None

# Built-in pandera checks that carry no code in their name: (tab, column, check) -> code.
BUILTIN_CODES = {
    ("leads", "received_at", "not_nullable"): "missing-received-at",
    ("leads", "source", "not_nullable"): "missing-source",
    ("stock", "vin", "not_nullable"): "missing-vin",
    ("team", "name", "not_nullable"): "missing-name",
}
