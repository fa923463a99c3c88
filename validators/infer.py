"""Columns known by their contents: a column whose header says nothing forecourt knows ("How",
"Col 4", "Who") is judged by its values.

Only on strong evidence: at least :data:`MIN_VALUES` non-empty values, at least :data:`SHARE`
of them recognised as one kind, that kind clearly ahead of the next best reading of the same
column, and the column clearly ahead of any other column read the same way. Never against a
header: only columns whose header maps to nothing, and only fields no header claimed; one
column per field. A free-text column that mentions a source now and then stays the dealer's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from forecourt.sync.base import Tab
from forecourt.validators.headers import CONTENTS, HEADER, ColumnMap, match_header
from forecourt.validators.normalise import EMAIL, canonical_value
from forecourt.validators.text import cell_text, compact_key, fold
from forecourt.validators.vin import FRAME_NUMBER, VIN_CHARS, normalise_vin

MIN_VALUES = 5
SHARE = 0.8
LEAD = 0.2  # the best reading must be this far ahead of the second
SAMPLE = 2000  # values looked at per column (evenly spread over a long tab)

_PHONE = re.compile(r"^\+?[\d\s()./-]{7,22}$")
_MONEY = re.compile(r"^\s*(?:[€£$]|zł|pln|eur|gbp)?\s*\d[\d\s.,]*\s*(?:[€£$]|zł|pln|eur|gbp|k)?"
                    r"\s*$", re.IGNORECASE)
_CURRENCY = re.compile(r"[€£$]|zł|pln|eur|gbp", re.IGNORECASE)


@dataclass(frozen=True)
class Inference:
    """One column read as a field from its values."""

    field: str
    index: int  # into the tab's rows
    header: str
    recognised: int
    values: int
    examples: tuple[str, ...]

    @property
    def evidence(self) -> str:
        shown = ", ".join(self.examples)
        return f"{self.recognised} of {self.values} values read as {_WHAT[self.field]} ({shown})"


_WHAT = {
    "source": "sources", "status": "statuses", "phone": "phone numbers", "email": "e-mails",
    "vin": "VINs or frame numbers", "stock_no": "stock numbers of cars in stock",
    "plate": "plates of cars in stock", "owner": "names on the Team tab",
    "received_at": "dates and times", "budget": "amounts of money", "price": "amounts of money",
}


def _is_phone(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        digits = str(int(v)) if float(v).is_integer() else ""
        return 9 <= len(digits) <= 15
    text = str(v).strip()
    if not _PHONE.match(text):
        return False
    digits = sum(c.isdigit() for c in text)
    if text.startswith(("+", "00")):
        return 8 <= digits <= 15
    return (text.startswith("0") and 7 <= digits <= 12) or 9 <= digits <= 12


def _is_email(v: Any) -> bool:
    return isinstance(v, str) and bool(EMAIL.match(v.strip().lower()))


def _is_vin(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    vin = normalise_vin(v)
    return bool(VIN_CHARS.match(vin) or FRAME_NUMBER.match(vin))


def _is_datetime(v: Any) -> bool:
    return isinstance(v, dt.datetime | dt.date) and not isinstance(v, dt.time)


def _is_money(v: Any) -> bool:
    return isinstance(v, str) and bool(_CURRENCY.search(v)) and bool(_MONEY.match(v))


def _text_is(which: str) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and canonical_value(v, which) is not None


def _key(v: Any) -> str:
    return compact_key(cell_text(v))


# Tab kind -> field -> test of one value. Dates only for the received time (every lead has one;
# other dates could be anything). No yes/no: a column of yes and no says nothing about which
# question it answers ("Serviced", "On holiday"), only its header can.
_TESTS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "leads": {"source": _text_is("channel"), "status": _text_is("status"), "phone": _is_phone,
              "email": _is_email, "vin": _is_vin, "received_at": _is_datetime,
              "budget": _is_money},
    "stock": {"status": _text_is("stock"), "vin": _is_vin, "price": _is_money},
    "team": {"phone": _is_phone, "email": _is_email},
}


def _sample(tab: Tab, cm: ColumnMap, j: int) -> list[Any]:
    body = tab.rows[cm.header_index + 1:]
    step = max(1, len(body) // SAMPLE)
    out = []
    for row in body[::step]:
        v = row[j] if j < len(row) else ""
        if v is not None and v != "" and not (isinstance(v, str) and not v.strip()):
            out.append(v)
    return out


def _examples(values: list[Any], test: Callable[[Any], bool]) -> tuple[str, ...]:
    seen: list[str] = []
    for v in values:
        text = cell_text(v)
        if test(v) and text not in seen:
            seen.append(text)
        if len(seen) == 3:
            break
    return tuple(seen)


def infer_columns(kind: str, tab: Tab, cm: ColumnMap, *, team_names: Iterable[str] = (),
                  car_keys: dict[str, str] | None = None) -> list[Inference]:
    """Read unmapped columns of ``tab`` by their values and add what is clear to ``cm``.

    ``team_names``: the Team tab's names (a column of them is the owner). ``car_keys``: the
    stock's VINs, stock numbers and plates (as compared: letters and digits, upper case) ->
    field, so a leads column of them names the car. Returns the decisions, each also in
    ``cm.how`` as (CONTENTS, evidence).
    """
    tests = dict(_TESTS.get(kind, {}))
    names = {fold(n) for n in team_names if isinstance(n, str) and fold(n)}
    firsts = {n.split()[0] for n in names}
    if kind == "leads" and names:
        tests["owner"] = lambda v: isinstance(v, str) and (fold(v) in names or fold(v) in firsts)
    if kind == "leads" and car_keys:
        for fld in ("stock_no", "plate"):
            tests[fld] = (lambda f: lambda v: car_keys.get(_key(v)) == f)(fld)
    tests = {f: t for f, t in tests.items() if f not in cm.fields}
    columns = [(header, j) for header, j in cm.extra.items() if j not in cm.known]
    vague_of = {j: fld for fld, j in cm.vague.items()}
    row = tab.rows[cm.header_index]
    columns += [(str(row[j]).strip(), j) for j in vague_of]
    if not tests or not columns:
        return []

    # column -> [(share, field, recognised, values)] best first
    readings: dict[int, list[tuple[float, str, int, list[Any]]]] = {}
    headers = {j: h for h, j in columns}
    for _header, j in columns:
        values = _sample(tab, cm, j)
        if len(values) < MIN_VALUES:
            continue
        scored = []
        for fld, test in tests.items():
            hits = sum(1 for v in values if test(v))
            scored.append((hits / len(values), fld, hits, values))
        scored.sort(key=lambda s: -s[0])
        readings[j] = scored

    decided: list[Inference] = []
    for fld in tests:
        candidates = []
        for j, scored in readings.items():
            share = next(s for s in scored if s[1] == fld)
            others = [s[0] for s in scored if s[1] != fld]
            second = max(others, default=0.0)
            if share[0] >= SHARE and share[0] - second >= LEAD:
                candidates.append((share[0], j, share))
        candidates.sort(key=lambda c: -c[0])
        if not candidates:
            continue
        if len(candidates) > 1 and candidates[0][0] - candidates[1][0] < LEAD:
            continue  # two columns look the same: not clear which one it is
        if fld == "received_at" and len(candidates) == 1:
            # every lead has a received time: a sparse column of dates is some other date
            column_rows = len(tab.rows) - cm.header_index - 1
            if column_rows and len(candidates[0][2][3]) * max(1, column_rows // SAMPLE) \
                    < 0.8 * column_rows:
                continue
        _share, j, (_s, _f, hits, values) = candidates[0]
        decided.append(Inference(fld, j, headers[j], hits, len(values),
                                 _examples(values, tests[fld])))
    # One field per column: a column claimed twice goes to its best reading.
    decided.sort(key=lambda d: -d.recognised / d.values)
    used: set[int] = set()
    out = []
    freed = []
    for d in decided:
        if d.index in used or d.field in cm.fields:
            continue
        used.add(d.index)
        if d.index in vague_of:  # "Info" full of e-mails: the header was only a guess
            was = vague_of[d.index]
            del cm.fields[was], cm.vague[was]
            cm.how.pop(was, None)
            freed.append(was)
        else:
            del cm.extra[d.header]
        cm.fields[d.field] = d.index
        cm.how[d.field] = (CONTENTS, d.evidence)
        out.append(d)
    for fld in freed:  # a second column of the freed field ("Remarks" beside "Info") takes it
        for header, j in list(cm.duplicates.items()):
            if fld in {f for f, _ in match_header(kind, header)[0]} and fld not in cm.fields:
                cm.fields[fld] = j
                cm.how[fld] = (HEADER, repr(header))
                del cm.duplicates[header], cm.extra[header]
                cm.known.discard(j)
    cm.fields = dict(sorted(cm.fields.items(), key=lambda kv: kv[1]))
    return out
