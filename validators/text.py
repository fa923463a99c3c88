"""Text folding for matching what dealers type against what forecourt knows."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters NFKD does not decompose. Written out instead of depending on Unidecode (GPL).
_EXTRA = str.maketrans({"ł": "l", "Ł": "l", "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae",
                        "Æ": "ae", "đ": "d", "Đ": "d", "œ": "oe", "Œ": "oe"})
_NON_WORD = re.compile(r"[^0-9a-z#]+")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case, no accents, punctuation and runs of spaces as one space.

    >>> fold("  Data zgłoszenia ") == fold("DATA ZGLOSZENIA")
    True
    """
    text = unicodedata.normalize("NFKD", str(text).translate(_EXTRA))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return _NON_WORD.sub(" ", text.replace("#", " # ")).strip()


_UMLAUT_SPELLINGS = (("ae", "a"), ("oe", "o"), ("ue", "u"))


def transliterated(key: str) -> str:
    """A folded text with German umlauts typed as two letters folded like the umlaut:
    "bestaetigt" -> "bestatigt" (as "bestätigt" folds). Only for a second try: "ae" is not
    always an umlaut ("Israel")."""
    for pair, letter in _UMLAUT_SPELLINGS:
        key = key.replace(pair, letter)
    return key


_NOT_ALNUM = re.compile(r"[\W_]+")  # \w is isalnum() and "_"


@lru_cache(maxsize=65536)
def compact_key(text: str) -> str:
    """A VIN, plate or stock number as compared: letters and digits, upper case
    ("ab12 cde" is "AB12CDE")."""
    return _NOT_ALNUM.sub("", str(text).upper())


def cell_text(value: object) -> str:
    """A cell as a person reads it: whole numbers without ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()
