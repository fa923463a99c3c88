"""forecourt: dealer-CRM discipline inside the spreadsheets a small used-car dealer already uses.

The workbook model (pandas, pandera) loads on first use of :func:`read_book` and friends, so
that ``forecourt`` commands can start reading a workbook while those libraries import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from forecourt.errors import (
    CannotWrite,
    ChangedSinceRead,
    ConflictStop,
    ExitCode,
    ForecourtError,
    NeedsPerson,
    NoAccess,
    NoLeadsTab,
    QuotaExhausted,
    RunUnderWay,
    UnreadableWorkbook,
    WorkbookLocked,
    WorkbookMissing,
)
from forecourt.issues import CODES, Issue

if TYPE_CHECKING:
    from forecourt.book import Book, TabInfo, load_book, read_book
    from forecourt.settings import Settings

__version__ = "0.1.0"

_LAZY = {"Book": "forecourt.book", "TabInfo": "forecourt.book", "load_book": "forecourt.book",
         "read_book": "forecourt.book", "Settings": "forecourt.settings"}

__all__ = [
    "CODES",
    "Book",
    "CannotWrite",
    "ChangedSinceRead",
    "ConflictStop",
    "NeedsPerson",
    "NoAccess",
    "QuotaExhausted",
    "RunUnderWay",
    "ExitCode",
    "ForecourtError",
    "Issue",
    "NoLeadsTab",
    "Settings",
    "TabInfo",
    "UnreadableWorkbook",
    "WorkbookLocked",
    "WorkbookMissing",
    "load_book",
    "read_book",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forecourt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
