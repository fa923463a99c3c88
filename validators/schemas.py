"""pandera schemas: one class per tab, one field per column, checks next to the field.

They validate the normalised frames built by :mod:`forecourt.book`. For every column whose
typing can fail, the frame carries ``raw_<field>``: the value as typed where it could not be
read, None elsewhere; a check named ``<code>__<field>`` fails where there is such a value.
Check names are issue codes, so :mod:`validators.validate` turns each failure into an issue
record without a lookup table. Rules that compare rows (duplicates, links to stock, "received
in the future") live in :mod:`validators.validate`, not here.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from forecourt.validators.vin import FRAME_NUMBER, VIN_CHARS, check_digit, check_digit_required
from forecourt.validators.vocabulary import CHANNEL_CLASSES, STATUS_ORDER, STOCK_STATUSES


def unreadable(df: pd.DataFrame, field: str) -> pd.Series:
    """True where the row is fine: nothing typed, or what was typed could be read."""
    if f"raw_{field}" not in df:
        return pd.Series(True, index=df.index)
    return df[f"raw_{field}"].isna()


def _vins(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = s.astype("string")
    frame = text.str.fullmatch(FRAME_NUMBER.pattern).fillna(False).astype(bool)
    return text, frame


def vin_length_ok(s: pd.Series) -> pd.Series:
    text, frame = _vins(s)
    return s.isna() | frame | (text.str.len() == 17).fillna(False).astype(bool)


def vin_characters_ok(s: pd.Series) -> pd.Series:
    text, frame = _vins(s)
    right = text.str.fullmatch(VIN_CHARS.pattern).fillna(False).astype(bool)
    return s.isna() | frame | (text.str.len() != 17).fillna(True).astype(bool) | right


def vin_check_digit_ok(s: pd.Series) -> pd.Series:
    def ok(v: object) -> bool:
        if not isinstance(v, str) or len(v) != 17 or not VIN_CHARS.match(v):
            return True
        return not check_digit_required(v) or v[8] == check_digit(v)

    return s.map(ok).astype(bool)


class VinChecks(pa.DataFrameModel):
    """The VIN rules of DOMAIN.md, shared by the Leads and Stock tabs."""

    vin: Series[object] = pa.Field(nullable=True)

    class Config:
        strict = False
        coerce = False

    @pa.check("vin", name="vin_length__vin")
    def _vin_length(cls, s: Series[object]) -> Series[bool]:
        return vin_length_ok(s)

    @pa.check("vin", name="vin_characters__vin")
    def _vin_characters(cls, s: Series[object]) -> Series[bool]:
        return vin_characters_ok(s)

    @pa.check("vin", name="vin_check_digit__vin")
    def _vin_check_digit(cls, s: Series[object]) -> Series[bool]:
        return vin_check_digit_ok(s)


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

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="missing_contact__phone")
    def _reachable(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["phone"].notna() | df["raw_phone"].notna() | df["email"].notna()
                | df["raw_email"].notna())

    @pa.dataframe_check(name="unknown_source__source")
    def _source_known(cls, df: pd.DataFrame) -> Series[bool]:
        return df["channel"].notna() | df["source"].isna()

    @pa.dataframe_check(name="unknown_status__status")
    def _status_known(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "status")

    @pa.dataframe_check(name="bad_phone__phone")
    def _phone(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "phone")

    @pa.dataframe_check(name="bad_email__email")
    def _email(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "email")

    @pa.dataframe_check(name="bad_date__due")
    def _due(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "due")

    @pa.dataframe_check(name="bad_date__first_response_at")
    def _first_response(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "first_response_at")

    @pa.dataframe_check(name="bad_date__last_contact_at")
    def _last_contact(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "last_contact_at")

    @pa.dataframe_check(name="bad_date__appointment_at")
    def _appointment(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "appointment_at")

    @pa.dataframe_check(name="bad_number__budget")
    def _budget(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "budget")

    @pa.dataframe_check(name="bad_number__valuation")
    def _valuation(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "valuation")

    @pa.dataframe_check(name="bad_yes_no__trade_in")
    def _trade_in(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "trade_in")

    @pa.dataframe_check(name="bad_yes_no__finance")
    def _finance(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "finance")


class StockSchema(VinChecks):
    """The Stock tab after normalisation (one row per car, keyed by VIN)."""

    row: Series[int] = pa.Field(ge=1)
    vin: Series[object] = pa.Field(nullable=False)
    status: Series[object] = pa.Field(nullable=True, isin=list(STOCK_STATUSES))

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="unknown_stock_status__status")
    def _status_known(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "status")

    @pa.dataframe_check(name="bad_number__price")
    def _price(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "price")

    @pa.dataframe_check(name="bad_number__year")
    def _year(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "year")

    @pa.dataframe_check(name="bad_number__mileage")
    def _mileage(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "mileage")

    @pa.dataframe_check(name="bad_date__eta")
    def _eta(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "eta")


class TeamSchema(pa.DataFrameModel):
    """The Team tab after normalisation (one row per person)."""

    row: Series[int] = pa.Field(ge=1)
    name: Series[object] = pa.Field(nullable=False)

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="bad_yes_no__active")
    def _active(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "active")

    @pa.dataframe_check(name="bad_number__cap")
    def _cap(cls, df: pd.DataFrame) -> Series[bool]:
        return unreadable(df, "cap")


SCHEMAS = {"leads": LeadSchema, "stock": StockSchema, "team": TeamSchema}

# Built-in pandera checks that carry no code in their name: (tab, column, check) -> code.
BUILTIN_CODES = {
    ("leads", "received_at", "not_nullable"): "missing-received-at",
    ("leads", "source", "not_nullable"): "missing-source",
    ("stock", "vin", "not_nullable"): "missing-vin",
    ("team", "name", "not_nullable"): "missing-name",
}
