"""Turning what dealers type into typed values: dates, phones, e-mails, yes/no, statuses, sources.

Each normaliser takes a column of raw cell values and returns the normalised column; a value it
cannot read becomes missing (NaT / NA) while the raw value stays beside it, so validation can
tell "empty" from "unreadable" and quote what was found.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from typing import Any

import pandas as pd
import phonenumbers
from rapidfuzz import fuzz, process

from forecourt.validators.text import fold, transliterated
from forecourt.validators.vocabulary import (
    CHANNELS,
    NO,
    NOT_STATUSES,
    STATUSES,
    STOCK_STATUSES,
    UNSURE,
    YES,
)
from forecourt.validators.words import PhraseIndex, abbreviations, negated

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# Serial numbers Excel shows as dates between 1982 and 2119: anything else is not a date.
SERIAL_RANGE = (30000.0, 80000.0)

_DAY_FIRST_FORMATS = (
    "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%y %H:%M", "%d.%m.%y",
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y",
    "%d/%m/%y", "%d.%m.%Y, %H:%M",
)
_MONTH_FIRST_FORMATS = (
    "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%y %H:%M", "%d.%m.%y",
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y",
    "%m-%d-%Y", "%m/%d/%Y %I:%M%p",
)
_ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d %H:%M", "%Y.%m.%d")
_REAL_DATES = {dt.datetime, dt.date, str, type(None)}
_TZINFO = operator.attrgetter("tzinfo")
_SLASHED = re.compile(r"^\s*(\d{1,2})[/-](\d{1,2})[/-]\d{2,4}")


def guess_day_first(values: Iterable[Any], country: str | None = None) -> bool:
    """Day-first unless the data (a first part over 12) or a US country say month-first."""
    day_first_votes = month_first_votes = 0
    for v in values:
        if isinstance(v, str):
            m = _SLASHED.match(v)
            if m:
                a, b = int(m.group(1)), int(m.group(2))
                day_first_votes += a > 12
                month_first_votes += b > 12
    if day_first_votes != month_first_votes:
        return day_first_votes > month_first_votes
    return (country or "").upper() not in ("US", "PH", "CA")


def to_datetimes(values: Sequence[Any], day_first: bool = True) -> pd.Series:
    """Cell values -> datetime64 Series; unreadable or empty -> NaT."""
    if values and set(map(type, values)) <= _REAL_DATES:
        # The common case: a column of real dates (some typed as a date only) and empty cells.
        # pandas converts them in C (about ten times faster than numpy's conversion).
        stamps = [v if v.__class__ is dt.datetime else
                  dt.datetime(v.year, v.month, v.day) if v.__class__ is dt.date else None
                  for v in values]
        if (values.count("") + values.count(None) == stamps.count(None)  # no text in it
                and not any(map(_TZINFO, filter(None, stamps)))):
            return pd.Series(stamps, dtype="datetime64[us]").dt.round("s")
    out: list[Any] = [pd.NaT] * len(values)
    text_at: list[int] = []
    texts: list[str] = []
    for i, v in enumerate(values):
        if v is None or v == "":
            continue
        if isinstance(v, dt.datetime):
            out[i] = v.replace(tzinfo=None)
        elif isinstance(v, dt.date):
            out[i] = dt.datetime(v.year, v.month, v.day)
        elif isinstance(v, bool):
            continue
        elif isinstance(v, int | float):
            if SERIAL_RANGE[0] <= v <= SERIAL_RANGE[1]:
                out[i] = EXCEL_EPOCH + dt.timedelta(days=float(v))
        elif isinstance(v, dt.time):
            continue
        else:
            s = str(v).strip()
            if s:
                text_at.append(i)
                texts.append(s)
    result = pd.Series(pd.to_datetime(pd.Series(out, dtype=object), errors="coerce"),
                       dtype="datetime64[us]")
    if texts:
        parsed = _parse_texts(texts, day_first)
        result.iloc[text_at] = parsed.to_numpy()
    return result.dt.round("s")


def _parse_texts(texts: list[str], day_first: bool) -> pd.Series:
    series = pd.Series(texts, dtype=object)
    result = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    formats = _ISO_FORMATS + (_DAY_FIRST_FORMATS if day_first else _MONTH_FIRST_FORMATS)
    todo = series
    for fmt in formats:
        if todo.empty:
            break
        parsed = pd.to_datetime(todo, format=fmt, errors="coerce")
        ok = parsed.notna()
        if ok.any():
            result[ok[ok].index] = parsed[ok].astype("datetime64[us]")
            todo = todo[~ok]
    for i, s in todo.items():
        serial = _number(s)
        if serial is not None and SERIAL_RANGE[0] <= serial <= SERIAL_RANGE[1]:
            result[i] = EXCEL_EPOCH + dt.timedelta(days=serial)
    return result


_THOUSANDS_DOTS = re.compile(r"^\d{1,3}(\.\d{3})+$")
_LOOSE = re.compile(
    r"^(?:bis|do|up to|upto|max\.?|maks\.?|ca\.?|circa|approx\.?|about|around|około|okolo|ok\.?"
    r"|under|unter|poniżej|<|~)?\s*(?:(?P<low>[\d.,]+)\s*(?:k|tys\.?|tsd\.?)?\s*(?:-|–|bis|do|to)\s*)?"
    r"(?P<high>[\d.,]+)\s*(?P<unit>k|tys\.?|tsd\.?|tausend|t)?\.?$", re.IGNORECASE)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    plain = _plain_number(str(value))
    if plain is not None:
        return plain
    # What dealers type into a budget: "15k", "bis 24.000", "do 40 tys.", "75-80 tys."
    # (a range counts as its top: the most the buyer will spend).
    text = re.sub(r"[€$£]|zł|zl|PLN|EUR|GBP|\bkm\b|\bmiles?\b|\bmi\b|\bono\b|\bovno\b|\bvb\b"
                  r"|\bvhb\b|\bdo negocjacji\b|,-$|\.-$", "", str(value),
                  flags=re.IGNORECASE).strip()
    m = _LOOSE.match(text)
    if not m:
        return None
    high = _plain_number(m.group("high"))
    if high is None:
        return None
    return high * 1000 if m.group("unit") else high


def _plain_number(value: str) -> float | None:
    text = re.sub(r"[\s€$£]|zł|zl|PLN|EUR|GBP", "", value, flags=re.IGNORECASE)
    if not text:
        return None
    if _THOUSANDS_DOTS.match(text):  # 24.000 (de/pl): twenty-four thousand
        return float(text.replace(".", ""))
    # 12.500,00 (de/pl) or 12,500.00 (en): the last separator is the decimal one.
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", "") if len(tail) == 3 else f"{head.replace(',', '')}.{tail}"
    try:
        return float(text)
    except ValueError:
        return None


def to_numbers(values: Sequence[Any]) -> pd.Series:
    """Prices, budgets, years, caps: '12.500 €', 12500, '12,500' -> float; else NaN."""
    return pd.Series([_number(v) if v not in (None, "") else None for v in values],
                     dtype="float64")


_NON_DIGIT = re.compile(r"\D")


def guess_region(values: Iterable[Any], sample: int = 400) -> str | None:
    """The most common country among numbers written with +CC or 00CC.

    Numbers are counted by calling code from their digits; only where a code is shared (+1 US
    and Canada, +44 with Jersey, +7 with Kazakhstan) are they parsed, to split that code's
    count by region, and beyond ``sample`` numbers an evenly spread sample of at most that
    many: parsing takes 20 us a number (3000 +44 numbers of a 10k book: 64 ms). A sample of
    400 puts a region's share within a few points, which only matters between regions of
    nearly equal counts.
    """
    by_code: dict[int, list[str]] = {}
    for v in values:
        if v is None or v == "":
            continue
        s = str(v).strip()
        if not s.startswith(("+", "00")):
            continue
        digits = _NON_DIGIT.sub("", s)
        if s.startswith("00"):
            digits = digits[2:]
        for k in (1, 2, 3):
            if len(digits) > k and int(digits[:k]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                by_code.setdefault(int(digits[:k]), []).append("+" + digits)
                break
    counts: Counter = Counter()
    for code, numbers in by_code.items():
        regions = [r for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code] if r != "001"]
        if len(regions) == 1:
            counts[regions[0]] += len(numbers)
            continue
        step = -(-len(numbers) // sample)  # at most `sample` numbers
        seen: Counter = Counter()
        for text in numbers[::step]:
            try:
                region = phonenumbers.region_code_for_number(phonenumbers.parse(text))
            except phonenumbers.NumberParseException:
                continue
            if region:
                seen[region] += 1
        total = sum(seen.values())
        if not total:  # no number placed in a region (fictional ranges such as 07700 900xxx)
            counts[phonenumbers.region_code_for_country_code(code)] += len(numbers)
            continue
        for region, n in seen.items():
            counts[region] += len(numbers) * n / total
    return counts.most_common(1)[0][0] if counts else None


_PLAIN_NUMBER = re.compile(r"^\+?[\d\s./-]+$")


@cache
def _national(region: str) -> tuple[str, str, frozenset[int]] | None:
    """(country code, national prefix, possible national lengths) of a region."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None:
        return None
    lengths = frozenset(meta.general_desc.possible_length or ())
    return str(meta.country_code), meta.national_prefix or "", lengths


def _e164_fast(text: str, region: str | None) -> str | None:
    """E.164 for the plain forms that make up nearly every cell ("+49 151 2345678",
    "0151-2345678"), without phonenumbers' full parser; None means: ask phonenumbers."""
    if not _PLAIN_NUMBER.match(text):
        return None
    digits = _NON_DIGIT.sub("", text)
    if text.startswith("+") or text.startswith("00"):
        digits = digits[2:] if text.startswith("00") else digits
        return "+" + digits if 8 <= len(digits) <= 15 else None
    info = _national(region) if region else None
    if info is None:
        return None
    cc, prefix, lengths = info
    if prefix and digits.startswith(prefix):
        digits = digits[len(prefix):]
    elif prefix:
        return None
    return f"+{cc}{digits}" if len(digits) in lengths else None


@lru_cache(maxsize=200_000)
def _e164(text: str, region: str | None) -> str | None:
    s = text.strip()
    fast = _e164_fast(s, region)
    if fast is not None:
        return fast
    if s.startswith("00"):
        s = "+" + s[2:]
    try:
        number = phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_phones(values: Sequence[Any], region: str | None) -> tuple[pd.Series, pd.Series]:
    """(E.164 or as typed, readable?) for each phone cell. Without a region a national number
    cannot be placed: it is kept as typed and not flagged."""
    phones: list[Any] = []
    ok: list[bool] = []
    for v in values:
        if v in (None, ""):
            phones.append(None)
            ok.append(True)
            continue
        if isinstance(v, float) and v.is_integer():
            v = str(int(v))
        text = str(v).strip()
        e164 = _e164(text, region)
        if e164 is None and region is None and not text.startswith(("+", "00")) \
                and len(_NON_DIGIT.sub("", text)) >= 6:
            phones.append(text)
            ok.append(True)
            continue
        phones.append(e164 if e164 else text)
        ok.append(e164 is not None)
    return pd.Series(phones, dtype=object), pd.Series(ok, dtype=bool)


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


def to_emails(values: Sequence[Any]) -> tuple[pd.Series, pd.Series]:
    emails = [str(v).strip().lower() if v not in (None, "") else None for v in values]
    ok = [e is None or bool(EMAIL.match(e)) for e in emails]
    return pd.Series(emails, dtype=object), pd.Series(ok, dtype=bool)


_YES = {fold(w) for w in YES} - {""}
_NO = {fold(w) for w in NO} - {""}
_UNSURE = {fold(w) for w in UNSURE}
_YES_MARKS = {"✓", "✔", "☑", "☒", "x", "X", "+"}
_NO_MARKS = {"-", "–", "—", "✗", "✘", "☐"}


def _yes_no(v: Any, described: bool) -> bool | None:
    """True/False, or None when the cell is neither (see :func:`to_yes_no`)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return bool(v) if v in (0, 1) else (True if described else None)
    if isinstance(v, dt.date | dt.datetime):
        return True if described else None  # a date in a "Sold" column: sold then
    text = str(v).strip()
    if text in _YES_MARKS:
        return True
    if text in _NO_MARKS:
        return False
    key = fold(text)
    if key in _YES:
        return True
    if key in _NO:
        return False
    if not key or any(key == u or key.startswith(u + " ") for u in _UNSURE):
        return None  # "maybe", "not sure yet", "probably not", "keine Ahnung"
    first = key.split(" ", 1)[0]
    if first in _YES:  # "yes - Golf 2015", "ja, BMW"
        return True
    if first in _NO:  # "no thanks", "nie, gotówka"
        return False
    # A trade-in column often holds the car itself ("Golf 2015", "AB12 CDE"): that is a yes;
    # words alone ("Cash buyer", "not yet") are not a car.
    if described and any(c.isdigit() for c in key) and first not in ("not", "nicht", "nie"):
        return True
    return None


def to_yes_no(values: Sequence[Any], described: bool = False) -> tuple[pd.Series, pd.Series]:
    """(True/False/NA, readable?) for yes/no cells. "yes", "ja", "tak", ✓, "no", "-"... are
    read; a cell that is neither ("maybe", "?", a word forecourt does not know) is NA and
    unreadable, never taken for a yes. With ``described`` a description of the thing itself
    (the trade-in car "Golf 2015", a sale date) counts as yes."""
    out: list[Any] = []
    ok: list[bool] = []
    memo: dict[Any, bool | None] = {}
    for v in values:
        if v is None or v == "":
            out.append(None)
            ok.append(True)
            continue
        key = (v.__class__, v)
        if key not in memo:
            memo[key] = _yes_no(v, described)
        answer = memo[key]
        out.append(answer)
        ok.append(answer is not None)
    return pd.Series(out, dtype="boolean"), pd.Series(ok, dtype=bool)


def _lookup(table: dict[str, dict[str, tuple[str, ...]]]) -> dict[str, str]:
    return {fold(w): canon for canon, by_lang in table.items()
            for words in by_lang.values() for w in words} | {fold(c): c for c in table}


_NOT_A_STATUS = ""  # a known text that is no status: never a guess, never a fuzzy match
_STATUS = _lookup(STATUSES) | {fold(w): _NOT_A_STATUS for w in NOT_STATUSES}
_STOCK_STATUS = _lookup(STOCK_STATUSES)
_CHANNEL = {fold(w): cls for cls, words in CHANNELS.items() for w in words}
_TABLES = {"status": _STATUS, "stock": _STOCK_STATUS, "channel": _CHANNEL}
# When a value holds phrases of several statuses, the one furthest along counts ("spoke to
# him, appointment Sat" is an appointment); a lost or sold car beats the rest.
_RANK = {
    "status": {s: k for k, s in enumerate(STATUSES)} | {"Lost": len(STATUSES),
                                                         _NOT_A_STATUS: -1},
    "stock": {"On lot": 0, "In prep": 1, "In transit": 2, "Reserved": 3, "Sold": 4},
}


@cache
def _phrases(which: str) -> PhraseIndex:
    return PhraseIndex((key, value, None) for key, value in _TABLES[which].items())


_PAID = frozenset({"paid", "bezahlt", "zaplacone", "zaplacono", "oplacone"})
_NOT_PREFIXES = frozenset({"un", "in", "non", "not", "nie", "nicht", "ne"})


@lru_cache(maxsize=8192)
def _canon(value: str, which: str) -> str | None:
    """The canonical status or channel class of one typed value: the whole value, else the
    known phrases inside it ("lost - bought elsewhere", "Anruf Mobil", "mobile.de Anfrage";
    not after a negation: "not contacted yet"), else a near miss."""
    table = _TABLES[which]
    key = fold(value)
    if not key:
        return None
    short = abbreviations(value)
    found, covered = _canon_key(key, short, which)
    if not found and covered:  # known words, all negated ("no appointment"): not a guess
        return None
    if transliterated(key) != key:  # "bestaetigt" for "bestätigt"
        other, more = _canon_key(transliterated(key), short, which)
        if other is not None and more > covered:
            found = other
    if found is None and len(key) >= 5:
        hit = process.extractOne(key, table.keys(), scorer=fuzz.ratio, score_cutoff=88)
        # "unavailable" is close to "available" and means the opposite
        if hit and not (key.endswith(hit[0]) and key[:-len(hit[0])].strip() in _NOT_PREFIXES):
            return table[hit[0]] or None
    return found or None


@lru_cache(maxsize=8192)
def canonical_value(value: str, which: str) -> str | None:
    """:func:`_canon`, but only for a value that is mostly the known words ("WhatsApp msg",
    not "call after 5"): how a column of statuses or sources is told from free text."""
    key = fold(value)
    words = len(key.split())
    if not words:
        return None
    found, covered = _canon_key(key, abbreviations(value), which)
    if not found or covered * 2 < words:
        return None
    return found


def _canon_key(key: str, short: frozenset[str], which: str) -> tuple[str | None, int]:
    """(value, how many words the known phrases cover) of one folded value."""
    table = _TABLES[which]
    if key in table:
        return table[key], len(key.split()) + 1
    hits = _phrases(which).find(key, short)
    covered = len({k for h in hits for k in range(h.start, h.end)})
    if which == "status" and any(h.value == "Shown" and negated(key, h) for h in hits):
        return "No show", covered  # "never showed"
    hits = [h for h in hits if not negated(key, h)]
    if which == "stock":  # "Przygotowanie do sprzedaży": typed as known beats an inflection
        hits = [h for h in hits if h.exact] or hits
    if not hits:
        return None, covered
    if which == "channel":  # the first channel named: "Czat na stronie" is a chat
        return min(hits, key=lambda h: (h.start, -h.size)).value, covered
    rank = _RANK[which]
    best = max(hits, key=lambda h: (rank[h.value], h.size))
    won = [h for h in hits if h.value == "Won"]
    # "Anz. 1000€ bezahlt": what was paid is the deposit; "dep paid - collecting fri": a
    # collection read from another ending ("collecting") is not one yet.
    if best.value == "Won" and any(h.value == "Deposit taken" for h in hits) and all(
            h.phrase in _PAID or not h.exact for h in won):
        return "Deposit taken", covered
    return best.value, covered


def to_canonical(values: Sequence[Any], which: str) -> pd.Series:
    """Canonical lead status ("status"), stock status ("stock") or channel class ("channel").
    Each distinct value is read once (a free-typed column can hold thousands)."""
    known: dict[str, str | None] = {}
    out = []
    for v in values:
        if v is None or v == "":
            out.append(None)
            continue
        text = str(v)
        if text not in known:
            known[text] = _canon(text, which)
        out.append(known[text])
    return pd.Series(out, dtype=object)


def _text(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v).strip() or None


def to_text(values: Sequence[Any]) -> pd.Series:
    """Free text as typed (numbers that are whole become '123', not '123.0')."""
    return pd.Series([(v.strip() or None) if v.__class__ is str else _text(v) for v in values],
                     dtype=object)
