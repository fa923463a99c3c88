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
    from forecourt.engine import RunResult, plan_run, run
    from forecourt.plan import Plan
    from forecourt.settings import Settings
    from forecourt.store import memory_store
    from forecourt.sync import open_backend
    from forecourt.sync.backend import Backend
    from forecourt.sync.grid import GridBackend
    from forecourt.sync.xlsx import XlsxBackend

__version__ = "0.1.0"

_LAZY = {"Book": "forecourt.book", "TabInfo": "forecourt.book", "load_book": "forecourt.book",
         "read_book": "forecourt.book", "Settings": "forecourt.settings",
         "run": "forecourt.engine", "plan_run": "forecourt.engine",
         "RunResult": "forecourt.engine", "Plan": "forecourt.plan",
         "Backend": "forecourt.sync.backend", "GridBackend": "forecourt.sync.grid",
         "XlsxBackend": "forecourt.sync.xlsx", "open_backend": "forecourt.sync",
         "memory_store": "forecourt.store"}

__all__ = [
    "CODES",
    "Backend",
    "Book",
    "CannotWrite",
    "ChangedSinceRead",
    "ConflictStop",
    "NeedsPerson",
    "NoAccess",
    "QuotaExhausted",
    "RunResult",
    "RunUnderWay",
    "ExitCode",
    "ForecourtError",
    "GridBackend",
    "Issue",
    "NoLeadsTab",
    "Plan",
    "Settings",
    "TabInfo",
    "UnreadableWorkbook",
    "WorkbookLocked",
    "WorkbookMissing",
    "XlsxBackend",
    "load_book",
    "memory_store",
    "open_backend",
    "plan_run",
    "read_book",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forecourt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
