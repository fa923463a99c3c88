"""Failures a user can act on. The CLI turns each into one sentence and its exit code."""

from __future__ import annotations

from pathlib import Path


class ExitCode:
    """Exit codes of the ``forecourt`` command (also listed in ``--help`` and the README)."""

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


class ForecourtError(Exception):
    """Base of every error forecourt reports to a person."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, path: Path | str | None = None, sheet: str | None = None):
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.sheet = sheet


class WorkbookMissing(ForecourtError):
    exit_code = ExitCode.FILE_MISSING


class UnreadableWorkbook(ForecourtError):
    exit_code = ExitCode.UNREADABLE


class NoLeadsTab(ForecourtError):
    exit_code = ExitCode.NO_LEADS


class WorkbookLocked(ForecourtError):
    exit_code = ExitCode.LOCKED


class CannotWrite(ForecourtError):
    exit_code = ExitCode.CANNOT_WRITE


class NeedsPerson(ForecourtError):
    """Nothing a retry can fix: a read-only workbook or folder."""

    exit_code = ExitCode.NEEDS_PERSON


class RunUnderWay(ForecourtError):
    exit_code = ExitCode.BUSY
