"""Failures a user can act on. The CLI turns each into one sentence and chooses its exit code
(:func:`forecourt.cli.exit_code_of`); a library caller catches the class it can act on."""

from __future__ import annotations

from pathlib import Path


class ExitCode:
    """Exit codes of the ``forecourt`` command (also listed in ``--help`` and the README); the
    CLI maps each error class to one."""

    OK = 0
    INTERNAL = 1  # a bug: please report it with the traceback printed by --debug
    USAGE = 2  # wrong command-line arguments
    FILE_MISSING = 3
    UNREADABLE = 4  # not a workbook, damaged, encrypted or unsafe
    NO_LEADS = 5  # no leads tab, or no recognisable header row in it
    LOCKED = 6  # the workbook is open in Excel; nothing was written
    CANNOT_WRITE = 7  # the workbook or its memory could not be written; nothing was changed
    NEEDS_PERSON = 8  # the workbook is read-only (file or folder): retrying will not help
    BUSY = 9  # another forecourt run on this workbook is under way; try again later
    NO_ACCESS = 10  # the Google Sheet is not shared with forecourt's account, or not found
    QUOTA = 11  # the Google Sheets quota is used up for now: try again later
    CHANGED = 12  # the workbook changed while forecourt worked on it: nothing was written
    CONFLICT_STOP = 13  # a safety stop of the sync: nothing was written, a person must look
    PARTIAL = 14  # the sync wrote one side and left the other for the next run (open, changed)


class ForecourtError(Exception):
    """Base of every error forecourt reports to a person."""

    def __init__(self, message: str, path: Path | str | None = None, sheet: str | None = None):
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.sheet = sheet


class WorkbookMissing(ForecourtError):
    """The workbook file does not exist."""


class UnreadableWorkbook(ForecourtError):
    """Not a workbook, damaged, encrypted or unsafe."""


class NoLeadsTab(ForecourtError):
    """No leads tab, or no recognisable header row in it."""


class WorkbookLocked(ForecourtError):
    """Open in Excel or LibreOffice (a lock file beside it): try again later."""


class CannotWrite(ForecourtError):
    """The workbook or its memory could not be written; nothing was changed."""


class NeedsPerson(ForecourtError):
    """Nothing a retry can fix: a read-only workbook or folder."""


class RunUnderWay(ForecourtError):
    """Another run on the same workbook holds its run lock: try again later."""


class NoAccess(ForecourtError):
    """A Google Sheet that is not shared with forecourt's account, or does not exist."""


class QuotaExhausted(ForecourtError):
    """The service's request quota is used up for now: try again later."""


class ChangedSinceRead(ForecourtError):
    """The workbook changed between reading it and writing it: nothing was written."""


class ConflictStop(ForecourtError):
    """A safety stop (one side empty, mass deletions, a key column gone): nothing was
    written."""
