"""forecourt: dealer-CRM discipline inside the spreadsheets a small used-car dealer already uses."""

from forecourt.book import Book, TabInfo, load_book, read_book
from forecourt.errors import (
    ExitCode,
    ForecourtError,
    NoLeadsTab,
    UnreadableWorkbook,
    WorkbookLocked,
    WorkbookMissing,
)
from forecourt.issues import CODES, Issue
from forecourt.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "CODES",
    "Book",
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
