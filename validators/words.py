"""Finding known words inside what dealers type: "Date of appointment", "lost - bought elsewhere",
"Anfragequelle", "Data jazdy próbnej", "Typ nadw.".

Text is folded (:func:`forecourt.validators.text.fold`) and split into words. A known phrase
matches where its words occur in a row, each word either

* equal,
* the same word with another ending (Polish and German inflect: "telefonu" is "telefon",
  "spotkania" is "spotkanie"): a common stem of all but the last two letters of the known word
  and all but the last three of the typed one,
* an abbreviation of it, where the typed word ends with a full stop ("Herst." for
  "Hersteller", "Nr rej." for "Nr rejestracyjny"),
* or, for one-word phrases, the front or back part of a compound ("Anfragequelle" holds
  "quelle", "Probefahrtdatum" holds "probefahrt").

Which of several matches counts is the caller's choice (:func:`head` for headers, the furthest
stage for statuses); matches inside a longer match are dropped first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from forecourt.validators.text import fold

# Words that negate the phrase right after them ("not contacted", "nicht erreicht").
NEGATIONS = frozenset({"not", "no", "never", "nicht", "kein", "keine", "nie", "brak", "non"})
MIN_STEM = 4
MIN_COMPOUND_PART = 4
MIN_COMPOUND_REST = 3
MIN_ABBREVIATION = 3
_ABBREVIATED = re.compile(r"(\w+)\.")


@dataclass(frozen=True)
class Hit:
    """One known phrase found in a text: words ``start`` to ``end`` (exclusive)."""

    start: int
    end: int
    phrase: str  # folded
    value: Any
    language: str | None = None
    part: int = 0  # 0: whole words; -1 / 1: the front / back part of a compound word
    exact: bool = True  # every word as known (not inflected, abbreviated or a part)
    weak: bool = False  # a word that names a field only when nothing else does
    order: int = 0  # the phrase's place in the vocabulary: ties go to the one listed first
    loose: frozenset[int] = frozenset()  # the words not typed as known (inflected, short)

    @property
    def size(self) -> int:
        return len(self.phrase)


def same_word(word: str, known: str) -> bool:
    """``word`` is ``known``, or ``known`` with another ending."""
    if word == known:
        return True
    if len(known) <= MIN_STEM or len(word) < MIN_STEM:
        return False
    common = 0
    for a, b in zip(word, known, strict=False):
        if a != b:
            break
        common += 1
    return common >= max(MIN_STEM, len(known) - 2, len(word) - 3)


def abbreviations(text: str) -> frozenset[str]:
    """The folded words of ``text`` written with a full stop after them ("Herst.", "Nr.")."""
    return frozenset(fold(m.group(1)) for m in _ABBREVIATED.finditer(text))


class PhraseIndex:
    """Known phrases (folded) with what each means, for :meth:`find` in any text.

    ``heads`` are one-word phrases that count only as the back part of a compound ("wert" in
    "Inzahlungnahmewert"), never as a word of their own.
    """

    def __init__(self, phrases: Iterable[tuple[str, Any, str | None]],
                 weak: Iterable[tuple[str, Any, str | None]] = (),
                 known_words: Iterable[str] = (), fallback: Iterable[str] = ()) -> None:
        # A word known elsewhere in the vocabulary is that word, not another one's inflection
        # ("zuständig" is not "Zustand").
        self._known = set(known_words)
        self._fallback = frozenset(fallback)  # weak words that may name a field on their own
        self._by_start: dict[str, list[tuple[tuple[str, ...], str, Any, str | None]]] = {}
        self._by_letter: dict[str, list[tuple[tuple[str, ...], str, Any, str | None]]] = {}
        self._front: dict[str, list[tuple[str, Any, str | None]]] = {}
        self._back: dict[str, list[tuple[str, Any, str | None, bool]]] = {}
        self._weak: dict[str, list[tuple[str, Any, str | None]]] = {}
        self._order: dict[tuple[str, Any], int] = {}
        for phrase, value, language in phrases:
            words = tuple(phrase.split())
            if not words:
                continue
            self._order.setdefault((phrase, value), len(self._order))
            entry = (words, phrase, value, language)
            self._known.difference_update(words)
            self._by_start.setdefault(words[0][:MIN_STEM], []).append(entry)
            self._by_letter.setdefault(words[0][0], []).append(entry)
            if len(words) == 1 and len(words[0]) >= MIN_COMPOUND_PART + 1:
                self._front.setdefault(words[0], []).append((phrase, value, language))
                self._back.setdefault(words[0], []).append((phrase, value, language, False))
        # Weak words: "status" in "Status Anfrage" when nothing stronger is there, the back
        # of a compound ("Inzahlungnahme|wert"), and never mistaken for a strong word's
        # inflection ("status" is not "state").
        for phrase, value, language in weak:
            self._order.setdefault((phrase, value), len(self._order))
            self._weak.setdefault(phrase, []).append((phrase, value, language))
            if " " not in phrase and len(phrase) >= MIN_COMPOUND_PART:
                self._back.setdefault(phrase, []).append((phrase, value, language, True))

    def find(self, text: str, short: frozenset[str] = frozenset()) -> list[Hit]:
        """Every known phrase in the folded ``text``, longest first, none inside another.
        ``short``: words written as abbreviations (see :func:`abbreviations`)."""
        words = text.split()

        def fits(k: int, known: str, phrase_words: int) -> bool:
            word = words[k]
            if word == known:
                return True
            if word in self._known:
                return False
            # "R. prod." for "Rok produkcji": one letter is enough inside a longer phrase
            least = 1 if phrase_words > 1 else MIN_ABBREVIATION
            if word in short and len(word) >= least and known.startswith(word):
                return True
            return same_word(word, known)

        hits: list[Hit] = []
        for size in range(1, 4):  # weak phrases: "date", "data i godzina"
            for i in range(len(words) - size + 1):
                phrase = " ".join(words[i:i + size])
                for known, value, language in self._weak.get(phrase, ()):
                    hits.append(Hit(i, i + size, known, value, language, weak=True))
        for i, word in enumerate(words):
            abbreviated = word in short and word not in self._known
            entries = self._by_letter.get(word[0], ()) if abbreviated \
                else self._by_start.get(word[:MIN_STEM], ())
            expansions: list[Hit] = []
            for known, phrase, value, language in entries:
                end = i + len(known)
                if end <= len(words) and all(fits(i + k, known[k], len(known))
                                             for k in range(len(known))):
                    loose = frozenset(i + k for k in range(len(known))
                                      if words[i + k] != known[k])
                    hit = Hit(i, end, phrase, value, language, exact=not loose, loose=loose)
                    (expansions if abbreviated and known[0] != word else hits).append(hit)
            if expansions:  # "Herst." is the shortest word it can stand for: Hersteller
                shortest = min(len(h.phrase) for h in expansions)
                hits += [h for h in expansions if len(h.phrase) == shortest]
            if len(word) >= MIN_COMPOUND_PART + MIN_COMPOUND_REST:
                for cut in range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_REST + 1):
                    for phrase, value, language in self._front.get(word[:cut], ()):
                        hits.append(Hit(i, i + 1, phrase, value, language, -1, exact=False))
                    for phrase, value, language, weak in self._back.get(word[-cut:], ()):
                        hits.append(Hit(i, i + 1, phrase, value, language, 1, exact=False,
                                        weak=weak))
        # A word known as itself is not another word's inflection: "status" is not "state";
        # but "Termin best." is still "Termin bestätigt" although "Termin" is known alone.
        exact_at = {k for h in hits if h.exact and h.part == 0 for k in range(h.start, h.end)}
        hits = [h for h in hits if (h.exact or h.part != 0 or not h.loose & exact_at)
                and (not h.weak or h.part == 1 or h.phrase in self._fallback)]
        order = self._order
        return outermost([replace(h, order=order.get((h.phrase, h.value), 0)) for h in hits])


def outermost(hits: list[Hit]) -> list[Hit]:
    """``hits`` without those inside a longer one (more words, or the same words and a longer
    phrase)."""
    hits = sorted(set(hits), key=lambda h: (-(h.end - h.start), h.part != 0, -h.size, h.start,
                                            h.order))
    kept: list[Hit] = []
    for h in hits:
        inside = any(k.start <= h.start and h.end <= k.end
                     and ((k.end - k.start) > (h.end - h.start)
                          or (k.part == 0 and h.part != 0)
                          or (k.part == h.part == 0 and k.size > h.size))
                     for k in kept)
        if not inside:
            kept.append(h)
    return kept


def negated(text: str, hit: Hit) -> bool:
    """A negation right before the phrase ("not contacted", "not yet called", "noch nicht
    kontaktiert")."""
    words = text.split()
    k = hit.start - 1
    while k >= 0 and words[k] in _STILL:
        k -= 1
    return k >= 0 and words[k] in NEGATIONS and hit.phrase.split()[0] not in NEGATIONS


_STILL = frozenset({"yet", "still", "noch", "jeszcze", "wcale", "ever"})


def head(hits: list[Hit], language: str, text: str = "") -> list[Hit]:
    """The hits that name what a header is about.

    English names it last ("Customer phone", "Trade-in value"), except before "of" ("Date of
    appointment" has only one); German and Polish name it first in separate words ("Bewertung
    Inzahlungnahme", "Numer telefonu klienta") and last inside a compound ("Anfragequelle").
    """
    strong = [h for h in hits if not h.weak]
    hits = strong or hits
    # The front of a compound is a modifier when anything else is named: "Dienstliche E-Mail"
    whole = [h for h in hits if h.part != -1]
    hits = whole or hits
    if not hits:
        return []
    if language == "en":
        # "Year of first registration", "Reg of car they asked about": the words before "of"
        words = text.split() if text else []
        cut = next((k for k, w in enumerate(words) if w in ("of", "for") and k), None)
        if cut is not None and any(h.end <= cut for h in hits):
            hits = [h for h in hits if h.end <= cut]
        last = max((h.end, h.part >= 0) for h in hits)
        return [h for h in hits if (h.end, h.part >= 0) == last]
    first = min(h.start for h in hits)
    at_first = [h for h in hits if h.start == first]
    back = [h for h in at_first if h.part == 1]
    return back or at_first
