"""Validation: pandera schemas (lazy, every failure in one pass) plus the rules across rows.

Each failure becomes an :class:`Issue` at its sheet, Excel row and column letter, quoting the
value as the dealer typed it. Rows are never dropped: a row with problems stays in the frame.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pandera.pandas as pa

from forecourt.issues import CODES, Issue, make_issue
from forecourt.validators.frames import empty_frame
from forecourt.validators.schemas import BUILTIN_CODES, SCHEMAS, raw_code
from forecourt.validators.text import compact_key
from forecourt.validators.vin import VIN_CHARS, check_digit
from forecourt.validators.vocabulary import LEAD_FIELDS


# What validation reads of a workbook: :class:`forecourt.book.Book` and its ``TabInfo`` are
# such, typed here as protocols so that the validators do not import the model that calls them.
class TabLike(Protocol):
    """Where a tab's data sits: its sheet, header row and field -> column letter."""

    @property
    def sheet(self) -> str: ...
    @property
    def header_row(self) -> int: ...
    @property
    def columns(self) -> Mapping[str, str]: ...


class SettingsLike(Protocol):
    @property
    def duplicate_window_days(self) -> int: ...


class BookLike(Protocol):
    """A workbook's frames and tabs; validation links the leads to stock in place and sets
    ``issues``."""

    issues: list[Issue]

    @property
    def language(self) -> str: ...
    @property
    def settings(self) -> SettingsLike: ...
    @property
    def leads(self) -> pd.DataFrame: ...
    @property
    def stock(self) -> pd.DataFrame: ...
    @property
    def team(self) -> pd.DataFrame: ...
    @property
    def tabs(self) -> Mapping[str, TabLike | None]: ...
    @property
    def as_of(self) -> dt.datetime | None: ...


REQUIRED_LEAD_COLUMNS = ("received_at", "source")
NO_CONTACT_COLUMN = "phone or email"

_MESSAGES = {
    "missing-received-at": "the lead has no received date: add when it came in",
    "missing-source": "the lead has no source: add where it came from (WhatsApp, phone, ...)",
    "missing-contact": "the lead has neither phone nor e-mail: nobody can reach this buyer",
    "missing-vin": "the car has no VIN",
    "missing-name": "the team member has no name",
    "bad-date": "cannot read {value!r} as a date (e.g. 23.11.2026 14:05 or 2026-11-23)",
    "bad-phone": "cannot read {value!r} as a phone number",
    "bad-email": "{value!r} does not look like an e-mail address",
    "bad-number": "{value!r} is not a number",
    "bad-yes-no": "{value!r} is not yes or no",
    "unknown-source": "unknown source {value!r}: use one like WhatsApp, Phone, mobile.de, "
                      "Website, Email, Walk-in, Referral",
    "unknown-status": "unknown status {value!r}: use one of New, Attempting contact, "
                      "Contacted, Appointment set, ... Won, Lost",
    "unknown-stock-status": "unknown stock status {value!r}: use On lot, Reserved, "
                            "In transit, In prep or Sold",
    "vin-length": "VIN {value!r} has {length} characters, a VIN has 17",
    "vin-characters": "VIN {value!r} contains I, O, Q or other characters a VIN cannot have",
    "vin-check-digit": "VIN {value!r} fails its check digit (position 9 should be "
                       "{digit}): a typo?",
}


def _location(info: TabLike, fld: str | None) -> str | None:
    return info.columns.get(fld) if fld else None


@lru_cache(maxsize=32)
def _schema(kind: str, absent: frozenset[str]) -> pa.DataFrameSchema:
    """The tab's schema without the checks of required columns the tab does not have: a
    missing column is one ``missing-column`` issue, not one failure per row."""
    schema = SCHEMAS[kind].to_schema()
    columns = {fld: {"nullable": True} for fld in absent if fld in schema.columns}
    if columns:
        schema = schema.update_columns(columns)
    if NO_CONTACT_COLUMN in absent:  # no phone and no e-mail column: one missing-column issue
        schema = copy.copy(schema)
        schema.checks = [c for c in schema.checks if c.name != "missing_contact__phone"]
    return schema


def _code_and_field(kind: str, check: str, column: Any) -> tuple[str | None, str | None]:
    """The issue code and field of one kind of pandera failure (see :mod:`schemas`)."""
    if "__" in check:
        code_part, fld = check.split("__", 1)
        return code_part.replace("_", "-"), fld
    if isinstance(column, str) and column.startswith("raw_"):
        return raw_code(kind, column), column[4:]
    return BUILTIN_CODES.get((kind, column, check)), column


def _schema_issues(kind: str, frame: pd.DataFrame, info: TabLike) -> list[Issue]:
    """One issue per failing cell. Failures are grouped by kind (a handful) and each group's
    rows and values are taken by position, so 100k bad cells cost no per-row lookups."""
    absent: frozenset[str] = frozenset()
    if kind == "leads":
        absent = frozenset(f for f in REQUIRED_LEAD_COLUMNS if f not in info.columns)
        if "phone" not in info.columns and "email" not in info.columns:
            absent |= {NO_CONTACT_COLUMN}
    try:
        _schema(kind, absent).validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cases = cases[cases["index"].notna()]
    if cases.empty:
        return []
    rows = frame["row"].to_numpy()
    issues: list[Issue] = []
    seen: set[tuple[str, str | None, int]] = set()
    for (check, column), group in cases.groupby(["check", "column"], sort=False, dropna=False):
        code, fld = _code_and_field(kind, str(check), column)
        if code is None or code not in CODES:
            continue
        if code == "missing-contact":
            if "phone" not in info.columns and "email" not in info.columns:
                continue  # reported once as missing-column
            if "phone" not in info.columns:
                fld = "email"
        positions = frame.index.get_indexer(pd.Index(group["index"].astype("int64")))
        positions = positions[positions >= 0]
        source = f"raw_{fld}" if f"raw_{fld}" in frame else fld
        values = frame[source].to_numpy(dtype=object)[positions] if source in frame \
            else np.full(len(positions), None, dtype=object)
        typed = ~pd.isna(values) if code == "missing-received-at" else None
        column_letter = _location(info, fld)
        sheet, row_numbers = info.sheet, rows[positions].tolist()
        for k, (pos, value) in enumerate(zip(positions.tolist(), values.tolist(),
                                             strict=True)):
            # a received date that is there but unreadable is a bad date, not a missing one
            this = "bad-date" if typed is not None and typed[k] else code
            key = (this, fld, pos)
            if key in seen:
                continue
            seen.add(key)
            empty = value is None or value != value  # None, NaN, NaT
            issues.append(Issue(sheet, row_numbers[k], column_letter, this, CODES[this][0],
                                _message(this, None if empty else value),
                                None if empty else value, fld))
    return issues


def _message(code: str, value: Any) -> str:
    template = _MESSAGES.get(code, CODES[code][1])
    if "{" not in template:
        return template
    text = "" if value is None else str(value)
    return template.format(value=value, length=len(text),
                           digit=check_digit(text) if VIN_CHARS.match(text) else "?")


def _accepted_headers(fld: str, language: str, limit: int = 4) -> str:
    """A few headers forecourt reads as ``fld``, the book's language first."""
    by_lang = LEAD_FIELDS[fld]
    words: list[str] = []
    for lang in dict.fromkeys((language, "en")):
        words += [w for w in by_lang.get(lang, ())[:limit] if w not in words]
    return ", ".join(words[:limit * 2])


def _missing_columns(book: BookLike) -> list[Issue]:
    info = book.tabs["leads"]
    issues = []
    lang = book.language
    for fld in REQUIRED_LEAD_COLUMNS:
        if fld not in info.columns:
            name = fld.replace("_", " ")
            issues.append(make_issue(
                "missing-column", info.sheet, info.header_row, None,
                f"no {name} column: every lead needs one (minimum data). Headers read as "
                f"{name} include {_accepted_headers(fld, lang)}; or name your own column in "
                f"the Settings tab: a row 'Column: <your header>' with the value {fld}",
                None, fld))
    if "phone" not in info.columns and "email" not in info.columns:
        issues.append(make_issue(
            "missing-column", info.sheet, info.header_row, None,
            "no phone or e-mail column: leads cannot be reached. Headers read as phone include "
            f"{_accepted_headers('phone', lang)}; as e-mail {_accepted_headers('email', lang)}; "
            "or a Settings row 'Column: <your header>' with the value phone or email",
            None, "phone"))
    return issues


def _sold_conflicts(book: BookLike) -> list[Issue]:
    """A car whose Sold column and status disagree: counted as sold, and said so."""
    info = book.tabs["stock"]
    stock = book.stock
    if "sold_conflict" not in stock or not stock["sold_conflict"].any():
        return []
    typed = stock["status_typed"] if "status_typed" in stock else stock["status"]
    issues = []
    for idx in stock.index[stock["sold_conflict"].to_numpy(dtype=bool)]:
        sold = bool(stock.at[idx, "sold"])
        status = typed[idx]
        message = (f"the Sold column says yes but the status says {status}: counted as sold; "
                   "correct whichever is wrong") if sold else \
            ("the status says Sold but the Sold column says no: counted as sold; correct "
             "whichever is wrong")
        issues.append(make_issue("sold-conflict", info.sheet, int(stock.at[idx, "row"]),
                                 info.columns.get("sold"), message, status, "sold"))
    return issues


def _duplicates_in_stock(book: BookLike) -> list[Issue]:
    info = book.tabs["stock"]
    issues: list[Issue] = []
    for fld, code in (("vin", "duplicate-vin"), ("stock_no", "duplicate-stock-no")):
        col = book.stock[fld]
        dup = col.notna() & col.duplicated(keep="first")
        if not dup.any():
            continue
        first_row = book.stock.loc[col.notna() & ~col.duplicated(keep="first")] \
            .set_index(fld)["row"]
        for idx in dup[dup].index:
            value = col[idx]
            issues.append(make_issue(
                code, info.sheet, int(book.stock.at[idx, "row"]), info.columns.get(fld),
                f"{value} is on row {int(first_row[value])} too: one row per car",
                value, fld))
    return issues


def link_stock(book: BookLike) -> None:
    """Add ``stock_vin`` to the leads: the stock VIN each lead is about, where it is known.

    A lead names a car by VIN, stock number or registration plate, and dealers type any of
    them into any of those columns ("AB12 CDE" and "ab12cde" are one plate).
    """
    stock = book.stock
    # A car without a VIN (a UK book keyed by Reg) is known by its plate or stock number: that
    # key stands in for the VIN from here on, so leads link to it and it has waiting buyers.
    missing = stock["vin"].isna()
    if missing.any():
        stand_in = stock["plate"].where(stock["plate"].notna(), stock["stock_no"])
        keys = stand_in[missing].map(lambda v: f"{CAR_KEY_PREFIX}{compact_key(v)}"
                                     if isinstance(v, str) and compact_key(v) else None)
        stock.loc[missing, "vin"] = keys
    by_vin = set(stock["vin"].dropna())
    by_key: dict[str, Any] = {}
    for fld in ("stock_no", "plate"):
        for key, vin in zip(stock[fld], stock["vin"], strict=True):
            if isinstance(key, str) and isinstance(vin, str):
                by_key.setdefault(compact_key(key), vin)
    leads = book.leads

    def find(vin: Any, stock_no: Any, plate: Any) -> tuple[Any, bool]:
        if isinstance(vin, str):
            if vin in by_vin:
                return vin, False
            if compact_key(vin) in by_key:
                return by_key[compact_key(vin)], True
        for other in (stock_no, plate):
            if isinstance(other, str):
                if compact_key(other) in by_key:
                    return by_key[compact_key(other)], False
                if compact_key(other) in by_vin:  # a VIN in the stock-number column
                    return compact_key(other), False
        return None, False

    found = [find(v, s, p) for v, s, p in zip(leads["vin"], leads["stock_no"], leads["plate"],
                                             strict=True)]
    leads["stock_vin"] = pd.Series([f[0] for f in found], index=leads.index, dtype=object)
    # A stock number or plate typed into the VIN column is not a malformed VIN.
    typed_no = pd.Series([f[1] for f in found], index=leads.index, dtype=bool)
    leads.loc[typed_no, "stock_no"] = leads.loc[typed_no, "raw_vin"].astype(str)
    real = leads["stock_vin"].map(lambda v: isinstance(v, str)
                                  and not v.startswith(CAR_KEY_PREFIX))
    leads.loc[typed_no, "vin"] = leads.loc[typed_no, "stock_vin"].where(real[typed_no], None)


# Stands in for the VIN of a car that has none (never a VIN: VINs have no colon).
CAR_KEY_PREFIX = "car:"


def _not_in_stock(book: BookLike) -> list[Issue]:
    info = book.tabs["leads"]
    if book.tabs.get("stock") is None:
        return []
    leads = book.leads
    asked = (leads["vin"].notna() | leads["stock_no"].notna() | leads["plate"].notna()) \
        & leads["stock_vin"].isna()
    issues = []
    for idx in asked[asked].index:
        fld = next(f for f in ("vin", "stock_no", "plate") if pd.notna(leads.at[idx, f]))
        value = leads.at[idx, f"raw_{fld}"] if f"raw_{fld}" in leads else leads.at[idx, fld]
        issues.append(make_issue("vin-not-in-stock", info.sheet, int(leads.at[idx, "row"]),
                                 info.columns.get(fld),
                                 f"the car {value} is not in stock: check the number, or "
                                 "offer a similar car", value, fld))
    return issues


def _future(book: BookLike) -> list[Issue]:
    info = book.tabs["leads"]
    now = book.as_of or dt.datetime.now()
    leads = book.leads
    late = leads["received_at"] > pd.Timestamp(now) + pd.Timedelta(minutes=5)
    return [make_issue("future-lead", info.sheet, int(leads.at[i, "row"]),
                       info.columns.get("received_at"),
                       f"received {leads.at[i, 'received_at']:%Y-%m-%d %H:%M}, after now "
                       f"({now:%Y-%m-%d %H:%M}): a typo in the date?",
                       str(leads.at[i, "received_at"]), "received_at")
            for i in late[late].index]


def _duplicate_people(book: BookLike) -> list[Issue]:
    """The same phone or e-mail again within the window: flag the later row, name the first."""
    info = book.tabs["leads"]
    leads = book.leads
    window = pd.Timedelta(days=book.settings.duplicate_window_days)
    found: dict[int, tuple[int, str]] = {}  # later index -> (earlier index, field)
    for fld in ("phone", "email"):
        if fld not in info.columns:
            continue
        part = leads.loc[leads[fld].notna() & leads["received_at"].notna(),
                         [fld, "received_at", "row"]]
        part = part.sort_values(["received_at", "row"], kind="stable")
        part["at"] = part.index
        grouped = part.groupby(fld, sort=False)
        prev_at = grouped["received_at"].shift()
        prev_index = grouped["at"].shift()
        hit = prev_at.notna() & (part["received_at"] - prev_at <= window)
        sel = hit[hit].index
        for idx, earlier in zip(sel, prev_index[sel].tolist(), strict=True):
            if idx not in found:
                found[idx] = (int(earlier), fld)
    if not found:
        return []
    issues = []
    at = sorted(found)
    pos = leads.index.get_indexer(at)
    rows = leads["row"].to_numpy()
    values = {f: leads[f].to_numpy()[pos].tolist() for f in ("phone", "email")}
    earlier_pos = leads.index.get_indexer([found[i][0] for i in at])
    described = _describe_leads(leads, earlier_pos)
    days = book.settings.duplicate_window_days
    for k, idx in enumerate(at):
        fld = found[idx][1]
        value = values[fld][k]
        issues.append(make_issue(
            "duplicate-person", info.sheet, int(rows[pos[k]]), info.columns.get(fld),
            f"same {'phone' if fld == 'phone' else 'e-mail'} {value} as {described[k]} within "
            f"{days} days: likely the same buyer again (not merged)", value, fld))
    return issues


def _describe_leads(leads: pd.DataFrame, positions: np.ndarray) -> list[str]:
    """Earlier leads as a dealer finds them: "the lead on row 12 (Anna Nowak, WhatsApp,
    2026-11-20 14:05)", with only the parts each row has."""
    rows = leads["row"].to_numpy()[positions].tolist()
    names = leads["name"].to_numpy(dtype=object)[positions].tolist()
    sources = leads["source"].to_numpy(dtype=object)[positions].tolist()
    received = leads["received_at"].to_numpy(dtype="datetime64[m]")[positions]
    stamps = np.datetime_as_string(received, unit="m").tolist()
    out = []
    for row, name, source, stamp in zip(rows, names, sources, stamps, strict=True):
        parts = [v.strip() for v in (name, source) if isinstance(v, str) and v.strip()]
        if stamp != "NaT":
            parts.append(stamp.replace("T", " "))
        out.append(f"the lead on row {int(row)}" + (f" ({', '.join(parts)})" if parts else ""))
    return out


def _duplicate_ids(book: BookLike) -> list[Issue]:
    info = book.tabs["leads"]
    ids = book.leads["lead_id"]
    dup = ids.notna() & ids.duplicated(keep="first")
    if not dup.any():
        return []
    first = book.leads.loc[ids.notna() & ~ids.duplicated(keep="first")].set_index("lead_id")["row"]
    return [make_issue("duplicate-lead-id", info.sheet, int(book.leads.at[i, "row"]),
                       info.columns.get("lead_id"),
                       f"lead id {ids[i]} is on row {int(first[ids[i]])} too", ids[i], "lead_id")
            for i in dup[dup].index]


def warm_up() -> None:
    """Validate empty frames once: pandera sets up its backends on first use (about 50 ms),
    which a command can spend while the workbook is still being read."""
    for kind, schema in SCHEMAS.items():
        with contextlib.suppress(pa.errors.SchemaError, pa.errors.SchemaErrors):
            schema.validate(empty_frame(kind), lazy=True)


def validate_book(book: BookLike) -> None:
    """Append every problem of ``book`` to ``book.issues`` (sorted by sheet order and row)."""
    issues: list[Issue] = []
    if book.tabs.get("stock") is not None:
        issues += _schema_issues("stock", book.stock, book.tabs["stock"])
        issues += _duplicates_in_stock(book)
        issues += _sold_conflicts(book)
    link_stock(book)
    issues += _missing_columns(book)
    issues += _schema_issues("leads", book.leads, book.tabs["leads"])
    issues += _duplicate_ids(book)
    issues += _not_in_stock(book)
    issues += _future(book)
    issues += _duplicate_people(book)
    if book.tabs.get("team") is not None:
        issues += _schema_issues("team", book.team, book.tabs["team"])
    order = {"leads": 0, "stock": 1, "team": 2, "settings": 3}
    sheet_rank = {info.sheet: order[k] for k, info in book.tabs.items() if info is not None}
    book.issues = sorted(book.issues + issues,
                         key=lambda i: (sheet_rank.get(i.sheet, 9), i.row or 0,
                                        _col_key(i.column), i.code))


def _col_key(letter: str | None) -> tuple[int, str]:
    return (len(letter or ""), letter or "")
