"""Finding a dealer's tabs, their header row, and what each column means.

Tabs are found by name (EN/DE/PL) or, failing that, by content: the tab whose best row looks
most like a header of that kind. Headers are matched case- and accent-insensitively against the
synonyms in :mod:`vocabulary`, then by fuzzy ratio for near misses ("Telefonnumer").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rapidfuzz import fuzz, process

from forecourt.sync.base import Tab
from forecourt.validators.text import fold
from forecourt.validators.vocabulary import FIELDS_BY_TAB, LANGUAGES, TAB_NAMES

HEADER_SCAN_ROWS = 30
FUZZY_CUTOFF = 88
# How many recognised headers make a header row, per tab kind.
MIN_HEADERS = {"leads": 2, "stock": 2, "team": 1}


@dataclass
class ColumnMap:
    """Where a tab's header is and which column holds which field."""

    kind: str
    sheet: str
    header_row: int  # Excel row number
    header_index: int  # index into Tab.rows
    fields: dict[str, int] = field(default_factory=dict)  # field -> index into the row
    extra: dict[str, int] = field(default_factory=dict)  # unknown header text -> index
    fuzzy: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (header, synonym)
    duplicates: dict[str, int] = field(default_factory=dict)  # header text -> index
    language_votes: Counter = field(default_factory=Counter)


@cache
def _synonyms(kind: str) -> dict[str, list[tuple[str, str]]]:
    """folded synonym -> [(field, language)] for one tab kind."""
    table: dict[str, list[tuple[str, str]]] = {}
    for fld, by_lang in FIELDS_BY_TAB[kind].items():
        for lang, words in by_lang.items():
            for word in words:
                table.setdefault(fold(word), []).append((fld, lang))
    return table


@cache
def _tab_names() -> dict[str, tuple[str, str]]:
    return {fold(name): (kind, lang) for kind, by_lang in TAB_NAMES.items()
            for lang, names in by_lang.items() for name in names}


def _match(kind: str, text: str) -> tuple[list[tuple[str, str]], str | None]:
    """Candidates (field, language) for one header cell, and the synonym if fuzzy."""
    key = fold(text)
    if not key:
        return [], None
    table = _synonyms(kind)
    if key in table:
        return table[key], None
    if len(key) >= 5:
        hit = _near_miss(table, key)
        if hit:
            return table[hit], hit
    return [], None


def _near_miss(table: dict[str, Any], key: str) -> str | None:
    """The synonym ``key`` is a near miss of (a typo, a letter left out), if any."""
    hit = process.extractOne(key, table.keys(), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    return hit[0] if hit else None


def _score_row(kind: str, row: list, beat: float = -1.0) -> float:
    """How header-like a row is: 1 per known header, 0.5 per near miss. A row that cannot
    score over ``beat`` is not fuzzy-matched (the slow part): its score is then a lower
    bound, still at most ``beat``."""
    table = _synonyms(kind)
    score = 0.0
    near: list[str] = []  # keys that could still be near misses
    for cell in row:
        if isinstance(cell, str) and cell.strip():
            key = fold(cell)
            if key in table:
                score += 1.0
            elif len(key) >= 5:
                near.append(key)
    if score + 0.5 * len(near) <= beat:
        return score
    return score + 0.5 * sum(_near_miss(table, key) is not None for key in near)


def find_header(kind: str, tab: Tab) -> tuple[int, float]:
    """(index into tab.rows, score) of the most header-like row among the first rows."""
    best, best_score = -1, 0.0
    for i, row in enumerate(tab.rows[:HEADER_SCAN_ROWS]):
        score = _score_row(kind, row, best_score)
        if score > best_score:
            best, best_score = i, score
    return best, best_score


def map_columns(kind: str, tab: Tab, header_index: int, language: str | None = None) -> ColumnMap:
    """Map each header cell of ``tab.rows[header_index]`` to a field of ``kind``."""
    row = tab.rows[header_index]
    cm = ColumnMap(kind, tab.name, tab.excel_row(header_index), header_index)
    matches: list[tuple[int, str, list[tuple[str, str]], str | None]] = []
    for j, cell in enumerate(row):
        text = "" if cell is None else str(cell).strip()
        if not text:
            continue
        candidates, fuzzy = _match(kind, text)
        for _, lang in candidates:
            cm.language_votes[lang] += 1
        matches.append((j, text, candidates, fuzzy))
    lang = language or _language(cm.language_votes)
    for j, text, candidates, fuzzy in matches:
        if not candidates:
            cm.extra[text] = j
            continue
        # An ambiguous word ("Termin": appointment in German, due date in Polish) takes the
        # meaning of the workbook's language; otherwise the first field that is still free.
        ordered = sorted(candidates, key=lambda c: c[1] != lang)
        chosen = next((f for f, _ in ordered if f not in cm.fields), None)
        if chosen is None:
            cm.duplicates[text] = j
            cm.extra[text] = j
            continue
        cm.fields[chosen] = j
        if fuzzy:
            cm.fuzzy[chosen] = (text, fuzzy)
    return cm


def _language(votes: Counter) -> str:
    if not votes:
        return "en"
    top = max(LANGUAGES, key=lambda lang: (votes[lang], lang == "en"))
    return top


@dataclass
class Layout:
    """Which tab is which, and the workbook's language."""

    tabs: dict[str, Tab | None]
    maps: dict[str, ColumnMap | None]
    language: str


def find_layout(tabs: list[Tab], language: str | None = None) -> Layout:
    """Pick the Leads, Stock, Team and Settings tabs by name, else by content."""
    names = _tab_names()
    chosen: dict[str, Tab | None] = {"leads": None, "stock": None, "team": None, "settings": None}
    name_votes: Counter = Counter()
    for tab in tabs:
        hit = names.get(fold(tab.name))
        if hit and chosen[hit[0]] is None:
            chosen[hit[0]] = tab
            name_votes[hit[1]] += 1
    # "Verkäufer" names a German team tab but is also a leads header; a tab named like a kind
    # still has to look like it, else content decides.
    unused = [t for t in tabs if all(t is not c for c in chosen.values())]
    for kind in ("leads", "stock", "team"):
        if chosen[kind] is not None:
            continue
        scored = [(find_header(kind, t)[1], -k, t) for k, t in enumerate(unused)]
        scored = [s for s in scored if s[0] >= MIN_HEADERS[kind]]
        if scored:
            best = max(scored, key=lambda s: (s[0], s[1]))[2]
            chosen[kind] = best
            unused = [t for t in unused if t is not best]
    if chosen["settings"] is None:
        for t in unused:
            firsts = {fold(str(r[0])) for r in t.rows[:60] if r and r[0] not in (None, "")}
            if {"sla trigger", "monday"} & firsts:
                chosen["settings"] = t
                break
    maps: dict[str, ColumnMap | None] = {}
    votes = Counter(name_votes)
    for kind in ("leads", "stock", "team"):
        tab = chosen[kind]
        if tab is None:
            maps[kind] = None
            continue
        index, score = find_header(kind, tab)
        if index < 0 or score < MIN_HEADERS[kind]:
            maps[kind] = None
            continue
        maps[kind] = map_columns(kind, tab, index)
        votes.update(maps[kind].language_votes)
    lang = language or _language(votes)
    for kind, cm in maps.items():
        if cm is not None and chosen[kind] is not None:
            maps[kind] = map_columns(kind, chosen[kind], cm.header_index, lang)
    return Layout(chosen, maps, lang)
