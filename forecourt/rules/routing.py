"""Owners: who gets a lead that has none (DOMAIN.md, "Owners and routing").

Eligible = active, works on the weekday the lead came in, serves the lead's store, takes its
make, and is under their cap of open leads. Among the eligible the fair rotation picks the one
assigned longest ago (the caller's ``rotation`` maps name -> sequence number of their last
assignment; missing = never); ties go by Team-tab order. Nobody eligible: the Settings' fallback
owner, else the first person on the Team tab, and the assignment says ``fallback=True``.

Every :class:`Assignment` explains itself: a one-sentence reason and, for each Team member not
chosen, why not. Names compare case-, accent- and space-insensitively; the Team tab's spelling
is what gets written.

The Team tab's ``languages`` column is not used: leads have no language field yet, so there is
nothing to match it against.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from forecourt.settings import Settings
from forecourt.validators.text import fold
from forecourt.validators.vocabulary import CLOSED_STATUSES, WEEKDAYS

_CLOSED = frozenset(CLOSED_STATUSES)
_ALL_DAYS = frozenset(range(7))
_DAY_NAMES = {d: names[1] for d, names in WEEKDAYS.items()}  # "Monday", ... for reasons


@dataclass
class Assignment:
    """One lead given an owner, with the reasons."""

    index: object
    row: int
    lead_id: str
    owner: str
    fallback: bool
    reason: str
    skipped: list[tuple[str, str]]


# ---------------------------------------------------------------------------------------------
# Working days
# ---------------------------------------------------------------------------------------------

_DAY_WORDS = {fold(name): day for day, names in WEEKDAYS.items() for name in names}
_POLISH_DAYS = {fold(n) for n in ("Pn", "Pon", "Poniedziałek", "Wt", "Wtorek", "Śr", "Sr",
                                  "Środa", "Cz", "Czw", "Czwartek", "Pt", "Piątek", "Sob",
                                  "Sobota", "Nd", "Ndz", "Niedziela")}
_RANGE_WORDS = {"to", "bis", "until", "till", "through", "thru"}
_AND_WORDS = {"and", "und", "i", "oraz"}
_EVERY_DAY = {fold(t) for t in ("daily", "every day", "all days", "all week", "any day",
                                "täglich", "jeden Tag", "alle Tage", "codziennie",
                                "każdy dzień", "wszystkie dni")}
_DAY_TOKEN = re.compile(r"[^\W\d_]+|[-–—]|\S")


def _span(first: int, last: int) -> set[int]:
    """Days from ``first`` to ``last`` inclusive, wrapping over Sunday (Sat-Mon)."""
    return {(first + k) % 7 for k in range((last - first) % 7 + 1)}


def working_days(text: str | None) -> set[int]:
    """Weekdays (0 = Monday) a Team member works: ``"Mon-Fri"`` -> {0, 1, 2, 3, 4}.

    Empty means every day. English, German and Polish day words (:data:`WEEKDAYS`), lists
    (``"Mon, Wed, Fri"``, ``"Mo Di Mi"``, ``"Sa/So"``) and ranges (``"Tue-Sat"``, ``"Mon to
    Fri"``, ``"Mo bis Fr"``, ``"Pn do Pt"``); a range wraps (``"Sat-Mon"`` = Sat, Sun, Mon).
    Raises ValueError on a word that is not a weekday.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return set(_ALL_DAYS)
    source = str(text).strip()
    if not source or fold(source) in _EVERY_DAY:
        return set(_ALL_DAYS)
    tokens = _DAY_TOKEN.findall(source)
    days: set[int] = set()
    start: int | None = None  # the last single day, which a range marker may extend
    start_word = ""
    in_range = False

    def open_range(tok: str) -> None:
        nonlocal in_range
        if start is None or in_range:
            raise ValueError(f"{tok!r} without a weekday before it in {source!r}")
        in_range = True

    for i, tok in enumerate(tokens):
        word = fold(tok)
        if tok in "-–—":
            open_range(tok)
        elif tok == ".":
            continue  # "Mo.-Fr."
        elif tok in ",;/&+" or word in _AND_WORDS:
            if in_range:
                raise ValueError(f"unfinished range before {tok!r} in {source!r}")
            start = None
        elif word in _RANGE_WORDS or (
            # Polish "do" means "to" ("Pn do Pt"); after a German day it is Donnerstag.
            word == "do" and start_word in _POLISH_DAYS and not in_range
            and i + 1 < len(tokens) and fold(tokens[i + 1]) in _DAY_WORDS
        ):
            open_range(tok)
        elif word in _DAY_WORDS:
            day = _DAY_WORDS[word]
            if in_range:
                assert start is not None
                days |= _span(start, day)
                in_range, start = False, None
            else:
                days.add(day)
                start, start_word = day, word
        else:
            raise ValueError(f"{tok!r} is not a weekday (in {source!r})")
    if in_range:
        raise ValueError(f"range without an end in {source!r}")
    if not days:
        raise ValueError(f"no weekday in {source!r}")
    return days


# ---------------------------------------------------------------------------------------------
# Makes
# ---------------------------------------------------------------------------------------------

# Common makes on European and UK used-car lots; the dealer's own stock adds the rest.
_COMMON_MAKES = (
    "Abarth", "Alfa Romeo", "Audi", "BMW", "Chevrolet", "Citroën", "Cupra", "Dacia", "Fiat",
    "Ford", "Honda", "Hyundai", "Jaguar", "Jeep", "Kia", "Land Rover", "Lexus", "Mazda",
    "Mercedes-Benz", "MG", "Mini", "Mitsubishi", "Nissan", "Opel", "Peugeot", "Porsche",
    "Renault", "Seat", "Škoda", "Smart", "Subaru", "Suzuki", "Tesla", "Toyota", "Vauxhall",
    "Volkswagen", "Volvo",
)
# What people write for a make -> the make's folded name.
_MAKE_ALIASES = {
    "vw": "volkswagen", "mercedes": "mercedes benz", "benz": "mercedes benz",
    "chevy": "chevrolet", "landrover": "land rover", "range rover": "land rover",
    "alfa": "alfa romeo",
}
# Makes that are also everyday words ("7 seat SUV", "mini van"): only capitalised in free text.
_AMBIGUOUS_MAKES = {"seat", "mini", "smart"}


def _make_key(text: str) -> str:
    key = fold(text)
    return _MAKE_ALIASES.get(key, key)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str | None:
    if _is_missing(value):
        return None
    s = str(value).strip()
    return s or None


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    """A column, or all-missing when the frame does not have it (frames built by hand)."""
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


class _MakeFinder:
    """Finds a known make as whole words in free text ("VW Golf or similar" -> Volkswagen)."""

    def __init__(self, stock_makes: Iterable[str]) -> None:
        self.display: dict[str, str] = {}  # make key -> spelling to show
        for make in stock_makes:  # the dealer's spelling wins over the built-in one
            self.display.setdefault(_make_key(make), make)
        for make in _COMMON_MAKES:
            self.display.setdefault(_make_key(make), make)
        self.phrases: dict[tuple[str, ...], str] = {}  # folded words -> make key
        for key in self.display:
            self.phrases[tuple(key.split())] = key
        for alias, key in _MAKE_ALIASES.items():
            self.phrases[tuple(alias.split())] = key
            self.display.setdefault(key, key.title())
        self.longest = max((len(p) for p in self.phrases), default=1)
        self.cache: dict[str, str | None] = {}

    def find(self, text: str) -> str | None:
        if text not in self.cache:
            self.cache[text] = self._find(text)
        return self.cache[text]

    def _find(self, text: str) -> str | None:
        words = fold(text).split()
        for i in range(len(words)):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                key = self.phrases.get(tuple(words[i:i + n]))
                if key is None:
                    continue
                if n == 1 and words[i] in _AMBIGUOUS_MAKES and not re.search(
                        rf"(?<!\w)({words[i].capitalize()}|{words[i].upper()})(?!\w)", text):
                    continue
                return self.display[key]
        return None


def lead_make(leads: pd.DataFrame, stock: pd.DataFrame) -> pd.Series:
    """Each lead's make: the linked stock car's, else a known make named in ``vehicle_wanted``
    (known = the stock's makes plus common ones; "VW" and "Mercedes" count), else None."""
    vin_make: dict[str, str] = {}
    for vin, make in zip(_column(stock, "vin"), _column(stock, "make"), strict=True):
        vin_text, make_text = _text(vin), _text(make)
        if vin_text and make_text:
            vin_make.setdefault(vin_text, make_text)
    finder = _MakeFinder(m for m in (_text(v) for v in _column(stock, "make")) if m)
    out: list[str | None] = []
    for vin, wanted in zip(_column(leads, "stock_vin"), _column(leads, "vehicle_wanted"),
                           strict=True):
        vin_text = _text(vin)
        make = vin_make.get(vin_text) if vin_text else None
        if make is None:
            wanted_text = _text(wanted)
            make = finder.find(wanted_text) if wanted_text else None
        out.append(make)
    return pd.Series(out, index=leads.index, dtype=object)


# ---------------------------------------------------------------------------------------------
# Assigning owners
# ---------------------------------------------------------------------------------------------

_LIST_SPLIT = re.compile(r"[,;/\n]+")


def _keys(text: Any, key: Callable[[str], str] = fold) -> frozenset[str] | None:
    """``"Berlin, Potsdam"`` -> {"berlin", "potsdam"}; empty -> None (meaning all)."""
    s = _text(text)
    if s is None:
        return None
    keys = frozenset(k for k in (key(part) for part in _LIST_SPLIT.split(s)) if k)
    return keys or None


@dataclass
class _Person:
    name: str
    key: str
    active: bool
    days: frozenset[int]
    stores: frozenset[str] | None
    makes: frozenset[str] | None
    cap: float | None
    duplicate_of: int | None  # Excel row of the earlier entry with the same name


def _people(team: pd.DataFrame) -> list[_Person]:
    people: list[_Person] = []
    first_row: dict[str, int] = {}
    rows = _column(team, "row")
    for pos, (name, active, days, stores, makes, cap) in enumerate(zip(
            _column(team, "name"), _column(team, "active"), _column(team, "days"),
            _column(team, "stores"), _column(team, "makes"), _column(team, "cap"),
            strict=True)):
        name_text = _text(name)
        if name_text is None or not fold(name_text):
            continue  # the check already reports a nameless Team row; nobody to assign
        key = fold(name_text)
        row = rows.iloc[pos]
        row = int(row) if not _is_missing(row) else pos + 1
        try:
            day_set = frozenset(working_days(_text(days)))
        except ValueError:
            # An unreadable days cell should not starve a person of leads: every day.
            day_set = _ALL_DAYS
        cap_value = None
        if not _is_missing(cap):
            try:
                cap_value = max(float(cap), 0.0)
            except (TypeError, ValueError):
                cap_value = None
        people.append(_Person(
            name=name_text, key=key,
            active=_is_missing(active) or bool(active),
            days=day_set, stores=_keys(stores), makes=_keys(makes, _make_key), cap=cap_value,
            duplicate_of=first_row.get(key)))
        first_row.setdefault(key, row)
    return people


def _static_why(p: _Person, weekday: int | None, store: str | None,
                make: str | None) -> str | None:
    """Why ``p`` cannot take a lead whatever the caps and rotation say; None = they can."""
    if p.duplicate_of is not None:
        return f"listed again on the Team tab (first in row {p.duplicate_of})"
    if not p.active:
        return "inactive"
    if weekday is not None and weekday not in p.days:
        return f"does not work on {_DAY_NAMES[weekday]}"
    if store is not None and p.stores is not None and fold(store) not in p.stores:
        return f"not at store {store}"
    if make is not None and p.makes is not None and _make_key(make) not in p.makes:
        return f"does not take {make}"
    return None


def _count(n: float) -> str:
    return f"{int(n)}" if float(n).is_integer() else f"{n:g}"


def _open_counts(leads: pd.DataFrame, needs: pd.Series) -> dict[str, int]:
    """Open leads per owner (folded name), leaving out the leads being (re)assigned now."""
    status = _column(leads, "status")
    owner = _column(leads, "owner")
    is_open = ~status.isin(_CLOSED)
    owned = owner[is_open & ~needs & owner.notna()]
    counts: dict[str, int] = {}
    for name, n in owned.value_counts().items():
        key = fold(str(name))
        if key:
            counts[key] = counts.get(key, 0) + int(n)
    return counts


def assign_owners(leads: pd.DataFrame, stock: pd.DataFrame, team: pd.DataFrame,
                  settings: Settings, rotation: dict[str, int],
                  needs_owner: pd.Series) -> list[Assignment]:
    """Give every lead where ``needs_owner`` is True an owner, oldest lead first.

    ``rotation`` (name -> sequence number of that person's last assignment) is updated in
    place. Returns one :class:`Assignment` per lead, in the order they were made; an empty
    Team tab returns [] (the caller reports it).
    """
    people = _people(team)
    if not people:
        return []
    needs = needs_owner.reindex(leads.index, fill_value=False).fillna(False).astype(bool)
    todo = leads.loc[needs]
    if todo.empty:
        return []
    received = pd.to_datetime(_column(todo, "received_at"), errors="coerce")
    order = (pd.DataFrame({"received_at": received, "row": _column(todo, "row")},
                          index=todo.index)
             .sort_values(["received_at", "row"], na_position="last", kind="stable").index)
    todo = todo.loc[order]
    weekdays = [None if pd.isna(w) else int(w) for w in received.loc[order].dt.day_of_week]
    makes = lead_make(todo, stock).tolist()
    stores = [_text(s) for s in _column(todo, "store")]
    open_now = ~_column(todo, "status").isin(_CLOSED)

    counts = _open_counts(leads, needs)
    # The rotation by folded name: a memory written under another spelling still counts.
    last: dict[str, int] = {}
    for name, seq in rotation.items():
        key = fold(str(name))
        last[key] = max(last.get(key, 0), int(seq))
    top = max((int(v) for v in rotation.values()), default=0)

    fallback_name, fallback_how = _fallback(people, settings)
    static_cache: dict[tuple[int | None, str | None, str | None], list[str | None]] = {}
    result: list[Assignment] = []
    for index, row, lead_id, weekday, store, make, is_open in zip(
            order, _column(todo, "row"), _column(todo, "lead_id"), weekdays, stores, makes,
            open_now, strict=True):
        combo = (weekday, store, make)
        static = static_cache.get(combo)
        if static is None:
            static = [_static_why(p, weekday, store, make) for p in people]
            static_cache[combo] = static
        why: list[str | None] = list(static)
        for i, p in enumerate(people):
            if why[i] is None and p.cap is not None and counts.get(p.key, 0) >= p.cap:
                n = counts.get(p.key, 0)
                why[i] = f"at cap ({_count(n)} open lead{'' if n == 1 else 's'})"
        eligible = [i for i in range(len(people)) if why[i] is None]

        if eligible:
            chosen = min(eligible, key=lambda i: (last.get(people[i].key, 0), i))
            person = people[chosen]
            owner, fallback = person.name, False
            if len(eligible) == 1:
                reason = f"the only eligible person ({person.name})"
            else:
                names = ", ".join(people[i].name for i in eligible)
                reason = f"next in rotation among {names} (eligible)"
            for i in eligible:
                if i != chosen:
                    why[i] = (f"assigned more recently than {person.name}"
                              if last.get(people[i].key, 0) > last.get(person.key, 0)
                              else f"later on the Team tab than {person.name}")
            top += 1
            for name in [n for n in rotation if fold(str(n)) == person.key]:
                del rotation[name]
            rotation[person.name] = top
            last[person.key] = top
        else:
            owner, fallback = fallback_name, True
            because = "; ".join(f"{p.name}: {w}" for p, w in zip(people, why, strict=True))
            reason = f"nobody was eligible ({because}), so {fallback_how}"

        owner_key = fold(owner)
        if is_open:
            counts[owner_key] = counts.get(owner_key, 0) + 1
        skipped = [(p.name, w or "not chosen") for p, w in zip(people, why, strict=True)
                   if p.key != owner_key or p.duplicate_of is not None]
        result.append(Assignment(index=index, row=int(row), lead_id=str(lead_id),
                                 owner=owner, fallback=fallback, reason=reason,
                                 skipped=skipped))
    return result


def _fallback(people: list[_Person], settings: Settings) -> tuple[str, str]:
    """(owner, how it was picked) when nobody is eligible."""
    named = _text(settings.fallback_owner)
    if named:
        for p in people:
            if p.key == fold(named):
                return p.name, "the fallback owner from Settings"
        return named, "the fallback owner from Settings"
    return people[0].name, "the first person on the Team tab"
