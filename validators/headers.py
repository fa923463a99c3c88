"""Finding a dealer's tabs, their header row, and what each column means.

Tabs are found by name (EN/DE/PL) or, failing that, by content: the tab whose best row looks
most like a header of that kind. Headers are matched case- and accent-insensitively against the
synonyms in :mod:`vocabulary`, then by fuzzy ratio for near misses ("Telefonnumer").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, lru_cache

from rapidfuzz import fuzz, process

from forecourt.sync.base import Tab
from forecourt.validators.text import cell_text, fold
from forecourt.validators.vocabulary import (
    FIELDS_BY_TAB,
    LANGUAGES,
    NOT_FIELDS,
    TAB_NAMES,
    VAGUE,
    WEAK_FALLBACK,
    WHOLE_ONLY,
    YES_NO_FIELDS,
)
from forecourt.validators.words import PhraseIndex, abbreviations, head

HEADER_SCAN_ROWS = 30
FUZZY_CUTOFF = 88
# How many recognised headers make a header row, per tab kind.
MIN_HEADERS = {"leads": 2, "stock": 2, "team": 1}


# How a column's field was decided, strongest first (``check`` shows it).
SETTINGS, HEADER, WORDS, FUZZY, CONTENTS = "settings", "header", "header words", "fuzzy", \
    "contents"
_STRENGTH = {SETTINGS: 0, HEADER: 1, WORDS: 2, FUZZY: 3}
IGNORE = "ignore"


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
    # field -> (how, why): how is one of SETTINGS ... CONTENTS, why the words or evidence.
    how: dict[str, tuple[str, str]] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)  # headers Settings says to ignore
    # extra columns whose header is known to be none of the fields (a colour, a purchase
    # price), a second column of a field, or ignored: never read by their contents
    known: set[int] = field(default_factory=set)
    vague: dict[str, int] = field(default_factory=dict)  # field -> column of a vague header
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)  # header -> fields

    def header_of(self, fld: str, tab: Tab) -> str:
        j = self.fields[fld]
        cell = tab.rows[self.header_index][j] if j < len(tab.rows[self.header_index]) else ""
        return cell_text(cell)


@cache
def _synonyms(kind: str) -> dict[str, list[tuple[str | None, str]]]:
    """folded synonym -> [(field, language)] for one tab kind; field None: not a field."""
    table: dict[str, list[tuple[str | None, str]]] = {}
    for fld, by_lang in FIELDS_BY_TAB[kind].items():
        for lang, words in by_lang.items():
            for word in words:
                table.setdefault(fold(word), []).append((fld, lang))
    for lang, words in NOT_FIELDS.items():
        for word in words:
            table.setdefault(fold(word), []).append((None, lang))
    return table


@cache
def _phrases(kind: str) -> PhraseIndex:
    """The synonyms that may also be found inside a longer header; whole-only words still
    count as the back part of a compound ("Inzahlungnahme|wert", "Probefahrt|datum")."""
    table = _synonyms(kind)
    every = {word for k in FIELDS_BY_TAB for key in _synonyms(k) for word in key.split()}
    return PhraseIndex(((key, (fld, lang), lang) for key, hits in table.items()
                        if key not in WHOLE_ONLY for fld, lang in hits),
                       weak=((key, (fld, lang), lang) for key, hits in table.items()
                             if key in WHOLE_ONLY for fld, lang in hits),
                       known_words=every, fallback=WEAK_FALLBACK)


@cache
def _tab_names() -> dict[str, tuple[str, str]]:
    return {fold(name): (kind, lang) for kind, by_lang in TAB_NAMES.items()
            for lang, names in by_lang.items() for name in names}


Candidates = list[tuple[str | None, str]]


_YES_NO = frozenset(f for fields in YES_NO_FIELDS.values() for f in fields)
# A trade-in phrase with a car's words names the trade-in car ("Px reg", "Kennzeichen
# Inzahlungnahme"); with money words its valuation ("Part ex value", "Kwota za auto w
# rozliczeniu").
_CAR_FIELDS = frozenset({"plate", "vin", "vehicle_wanted", "stock_no", "make", "model"})
_MONEY_FIELDS = frozenset({"valuation", "budget", "price"})
_WHICH = frozenset({"what", "which", "welches", "welcher", "welchen", "jakie", "jaki", "jaka"})
_CAR_WORDS = frozenset({"car", "vehicle", "fahrzeug", "wagen", "pojazd", "samochod"})
# A header holding one of these is about a date, or a question: a field of another kind under
# it is a different column ("Registration date" is not the plate).
_DATE_WORDS = frozenset({"date", "datum", "data", "time", "zeit", "czas", "godzina", "when",
                         "wann", "kiedy", "dzien", "day", "tag"})
_DATE_FIELDS = frozenset({"received_at", "due", "first_response_at", "last_contact_at",
                          "appointment_at", "status_since", "eta", "year", "sold"})
_MONEY_WORDS = frozenset({"value", "wert", "wartosc", "kwota", "price", "preis", "cena",
                          "amount", "betrag", "eur", "pln", "zl", "gbp", "offer", "angebot",
                          "oferta", "kwote"})


_YES_NO_MARK = re.compile(r"\(?\b(?:y/n|yes/no|ja/nein|j/n|t/n|tak/nie)\b\)?", re.IGNORECASE)


def match_header(kind: str, text: str, language: str | None = None
                 ) -> tuple[Candidates, str, str]:
    """What one header cell of a ``kind`` tab names: see :func:`_match`."""
    return _match(kind, text, language)


@lru_cache(maxsize=16384)
def _match(kind: str, text: str, language: str | None = None) -> tuple[Candidates, str, str]:
    """(candidates (field or None, language), how, the synonym found) for one header text.

    How: the whole header is a synonym (HEADER); a synonym is inside it, and the one that
    names what the header is about counts (WORDS: "Date of appointment"); a near miss of a
    synonym (FUZZY: "Telefonnumer"). No candidates: nothing known in it. A candidate field of
    None means the header is a known column that is none of forecourt's fields. A header
    asking a question ("Fin?", "Sold?") is a yes/no column where one of its readings is."""
    marked = _YES_NO_MARK.sub(" ", text)  # "Tausch (ja/nein)", "Finance y/n": a question
    question = text.rstrip().endswith("?") or marked != text
    key = fold(marked)
    if not key:
        return [], "", ""
    table = _synonyms(kind)
    exact = table.get(key)
    # "Fin." in German: the FIN (VIN), or short for Finanzierung? Only a word that is already
    # two things in two languages is asked what else it could be short for.
    if exact and len({f for f, _ in exact}) > 1 and key in abbreviations(marked):
        fields = {f for f, _ in exact}
        exact = exact + [c for c in _expansions(kind, key) if c[0] in fields and c not in exact]
    if exact and not (question and not any(f in _YES_NO for f, _ in exact)):
        return exact, HEADER, key
    if " " not in key and len(key) >= 5 and not exact:  # one word, a letter off: a typo
        hit = _near_miss(kind, key)
        if hit:
            return table[hit], FUZZY, hit
    found = _words(kind, key, abbreviations(text), language, question)
    if question and found:
        yes_no = [c for c in found[0] if c[0] in _YES_NO]
        if yes_no:
            return yes_no, found[1], found[2]
    if exact:
        return exact, HEADER, key
    if found:
        return found
    if len(key) >= 5:
        hit = _near_miss(kind, key)
        if hit:
            return table[hit], FUZZY, hit
    return [], "", ""


def _words(kind: str, key: str, short: frozenset[str], language: str | None,
           question: bool = False) -> tuple[Candidates, str, str] | None:
    """The field named by the known words inside a header, if any (see :func:`_match`)."""
    hits = _phrases(kind).find(key, short)
    if language:  # an ending or a compound is of one language: "handle" is not "Handy"
        words = key.split()
        hits = [h for h in hits if h.exact or h.language in (language, None)
                or (h.part == 0 and all(words[k] in short for k in h.loose))]
    if not hits:
        return None
    votes = Counter(h.language for h in hits)
    lang = language or max(votes, key=lambda g: (votes[g], g == "en"))
    fields = {h.value[0] for h in hits}
    if fields & {"trade_in", "trade_in_vehicle"} and kind == "leads":
        words = key.split()
        strong = {h.value[0] for h in hits if not h.weak or h.part == 1}
        if strong & _MONEY_FIELDS or any(w.endswith(m) or (len(m) > 4 and w.startswith(m))
                                         for w in words for m in _MONEY_WORDS):
            return [("valuation", lang)], WORDS, "trade-in + value"
        # "Pojazd w zamianie", "IZN Kennzeichen", "Nr rej. auta klienta", "What are they
        # trading in"
        if strong & _CAR_FIELDS or (not question and "trade_in_vehicle" not in fields
                                    and (words[0] in _CAR_WORDS | _WHICH
                                         or words[-1] in _CAR_WORDS)):
            return [("trade_in_vehicle", lang)], WORDS, "trade-in + car"
    chosen = head(hits, lang, key)
    candidates = list(dict.fromkeys(h.value for h in chosen))
    named = {f for f, _ in candidates}
    words = set(key.split())
    start = min(h.start for h in chosen)
    # "Tax due" (a known other thing before the word named), "Valuation date", "Appointment
    # kept?", "Finance amount": the word names a field, the header another kind of column.
    if (any(h.value[0] is None and h.end <= start for h in hits)
            or (words & _DATE_WORDS and not named & _DATE_FIELDS)
            or (question and named <= _DATE_FIELDS - _YES_NO)
            or (words & _MONEY_WORDS and named & _YES_NO)):
        return [(None, lang)], WORDS, "no field: " + " / ".join(h.phrase for h in hits)
    phrases = " / ".join(dict.fromkeys(h.phrase for h in chosen))
    whole = len(chosen) == 1 and chosen[0].start == 0 and chosen[0].end == len(key.split())
    if whole and not chosen[0].exact and chosen[0].part == 0 and not short:
        return candidates, FUZZY, phrases  # the whole header, one word a little off: a typo
    return candidates, WORDS, phrases


@lru_cache(maxsize=1024)
def _expansions(kind: str, word: str) -> Candidates:
    """What a one-word abbreviation may stand for: the longer one-word synonyms it starts."""
    if len(word) < 3:
        return []
    return [c for key, hits in _synonyms(kind).items()
            if " " not in key and len(key) > len(word) and key.startswith(word)
            for c in hits if c[0] is not None]


def _near_miss(kind: str, key: str) -> str | None:
    """The synonym ``key`` is a near miss of (a typo, a letter left out), if any."""
    words = key.count(" ")
    hit = process.extractOne(key, _by_words(kind).get(words, ()), scorer=fuzz.ratio,
                             score_cutoff=FUZZY_CUTOFF)
    return hit[0] if hit else None


@cache
def _by_words(kind: str) -> dict[int, list[str]]:
    """Synonyms by their number of spaces: a near miss has as many words as its synonym."""
    out: dict[int, list[str]] = {}
    for key in _synonyms(kind):
        out.setdefault(key.count(" "), []).append(key)
    return out


# A header cell is short: longer text is data (a note, a message), never scored as a header.
MAX_HEADER_LENGTH = 60


def _score_row(kind: str, row: list, beat: float = -1.0,
               overrides: dict[str, str] | None = None) -> float:
    """How header-like a row is: 1 per known header, 0.75 per header holding known words, 0.5
    per near miss. A row that cannot score over ``beat`` is not searched for words or near
    misses (the slow part): its score is then a lower bound, still at most ``beat``."""
    table = _synonyms(kind)
    score = 0.0
    near: list[str] = []  # cells that could still hold words or be near misses
    for cell in row:
        if isinstance(cell, str) and cell.strip() and len(cell) <= MAX_HEADER_LENGTH:
            key = fold(cell)
            if overrides and overrides.get(key) in FIELDS_BY_TAB[kind]:
                score += 1.0  # the dealer named this header in Settings
            elif key in table:
                score += 1.0 if any(f is not None for f, _ in table[key]) else 0.0
            elif key:
                near.append(cell)
    if score + 0.75 * len(near) <= beat:
        return score
    for text in near:
        candidates, how, _ = _match(kind, text.strip())
        if any(f is not None for f, _ in candidates):
            score += 0.75 if how == WORDS else 0.5
    return score


def find_header(kind: str, tab: Tab, overrides: dict[str, str] | None = None
                ) -> tuple[int, float]:
    """(index into tab.rows, score) of the most header-like row among the first rows."""
    best, best_score = -1, 0.0
    for i, row in enumerate(tab.rows[:HEADER_SCAN_ROWS]):
        score = _score_row(kind, row, best_score, overrides)
        if score > best_score:
            best, best_score = i, score
    return best, best_score


def map_columns(kind: str, tab: Tab, header_index: int, language: str | None = None,
                overrides: dict[str, str] | None = None) -> ColumnMap:
    """Map each header cell of ``tab.rows[header_index]`` to a field of ``kind``.

    ``overrides`` (folded header -> field or :data:`IGNORE`, from Settings) come first; then
    whole headers, then headers holding known words, then near misses, each in column order,
    so a column called exactly "Phone" is the phone even when "Customer phone" comes first.
    """
    row = tab.rows[header_index]
    cm = ColumnMap(kind, tab.name, tab.excel_row(header_index), header_index)
    overrides = overrides or {}
    kind_fields = FIELDS_BY_TAB[kind]
    matches: list[tuple[int, int, str, Candidates, str, str]] = []
    for j, cell in enumerate(row):
        text = cell_text(cell)
        if not text:
            continue
        key = fold(text)
        wanted = overrides.get(key)
        if wanted == IGNORE:
            cm.ignored[text] = j
            cm.extra[text] = j
            cm.known.add(j)
            continue
        if wanted in kind_fields:
            matches.append((_STRENGTH[SETTINGS], j, text, [(wanted, "")], SETTINGS,
                            f"'Column: {text}' = {wanted}"))
            continue
        candidates, how, synonym = _match(kind, text, language)
        for fld, lang in candidates:
            if fld is not None:
                cm.language_votes[lang] += 1 if how == HEADER else 0.5
        if not any(f is not None for f, _ in candidates):
            cm.extra[text] = j
            if candidates:
                cm.known.add(j)
            continue
        matches.append((_STRENGTH[how], j, text, candidates, how, synonym))
    lang = language or _language(cm.language_votes)
    for _strength, j, text, candidates, how, synonym in sorted(matches):
        # An ambiguous word ("Termin": appointment in German, due date in Polish) takes the
        # meaning of the workbook's language; otherwise the first field that is still free.
        ordered = sorted((c for c in candidates if c[0] is not None), key=lambda c: c[1] != lang)
        in_lang = {f for f, g in ordered if g == lang}
        if len(in_lang) > 1 and how != SETTINGS:  # "Fin." in German: VIN or finance?
            cm.extra[text] = j
            cm.ambiguous[text] = tuple(sorted(in_lang))
            continue
        chosen = next((f for f, _ in ordered if f not in cm.fields), None)
        if chosen is None:
            cm.duplicates[text] = j
            cm.extra[text] = j
            cm.known.add(j)
            continue
        cm.fields[chosen] = j
        if how == HEADER and fold(text) in VAGUE:
            cm.vague[chosen] = j
        cm.how[chosen] = (how, synonym if how == SETTINGS else f"{text!r}" if how == HEADER
                          else f"{text!r} holds {synonym!r}" if how == WORDS
                          else f"{text!r} is close to {synonym!r}")
        if how == FUZZY:
            cm.fuzzy[chosen] = (text, synonym)
    cm.fields = dict(sorted(cm.fields.items(), key=lambda kv: kv[1]))
    cm.extra = dict(sorted(cm.extra.items(), key=lambda kv: kv[1]))
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


def find_layout(tabs: list[Tab], language: str | None = None,
                overrides: dict[str, str] | None = None) -> Layout:
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
        scored = [(find_header(kind, t, overrides)[1], -k, t) for k, t in enumerate(unused)]
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
        index, score = find_header(kind, tab, overrides)
        if index < 0 or score < MIN_HEADERS[kind]:
            maps[kind] = None
            continue
        maps[kind] = map_columns(kind, tab, index, overrides=overrides)
        votes.update(maps[kind].language_votes)
    lang = language or _language(votes)
    for kind, cm in maps.items():
        if cm is not None and chosen[kind] is not None:
            maps[kind] = map_columns(kind, chosen[kind], cm.header_index, lang, overrides)
    return Layout(chosen, maps, lang)
