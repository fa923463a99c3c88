"""Whether a run may replace a workbook, and the files that say who else has it.

- Read-only: a workbook (or its folder, or its memory) without write permission is never
  replaced, not even by root, who may rename over any file and create files in any folder.
  That needs a person, not a retry: :class:`~forecourt.errors.NeedsPerson`.
- Open elsewhere: Excel keeps an owner file ``~$BOOK.xlsx`` and LibreOffice a lock file
  ``.~lock.BOOK.xlsx#`` beside a workbook it has open; both name the person. A lock file that
  is empty or older than :data:`STALE_LOCK_HOURS` is reported as probably left by a crash.
- One run at a time: a run holds the run lock ``.~forecourt-BOOK.xlsx.lock`` beside the
  workbook it writes, made by an exclusive create and holding the run's pid, host and start.
  A second run waits :data:`RUN_WAIT_SECONDS`, then gives up
  (:class:`~forecourt.errors.RunUnderWay`). The lock of a run that is no longer alive, or
  older than :data:`RUN_LOCK_MAX_HOURS`, is taken over.
- Debris: a run killed while writing leaves its temporary files; the next run removes those
  of dead runs on the same workbook, and only those.

Two settings can be changed by environment variables (for a scheduler's setup):
``FORECOURT_STALE_LOCK_HOURS`` and ``FORECOURT_RUN_WAIT_SECONDS``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import math
import os
import re
import secrets
import socket
import stat
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from forecourt.errors import CannotWrite, NeedsPerson, RunUnderWay, WorkbookLocked

#: an Excel or LibreOffice lock file older than this is probably left by a crash
STALE_LOCK_HOURS = 12.0
#: how long a run waits for another run on the same workbook to finish
RUN_WAIT_SECONDS = 5.0
#: a run lock older than this belongs to no run (a big run takes seconds)
RUN_LOCK_MAX_HOURS = 1.0
#: the prefix of every file forecourt writes for a moment beside a workbook (the writer's
#: new workbook and backup, the engine's memory side file): the one place it is defined
TEMP_PREFIX = ".~forecourt-"
_WAIT_STEP = 0.2
_WRITE_BITS = 0o222
_NAME_MAX = 52  # Office refuses longer user names


def _setting(name: str, default: float) -> float:
    """A number from the environment; the default when unset or not a number >= 0."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= 0 else default


def stale_lock_hours() -> float:
    return _setting("FORECOURT_STALE_LOCK_HOURS", STALE_LOCK_HOURS)


def run_wait_seconds() -> float:
    return _setting("FORECOURT_RUN_WAIT_SECONDS", RUN_WAIT_SECONDS)


def _age(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    if minutes < 1:
        return "less than a minute"
    if minutes < 120:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = round(minutes / 60)
    return f"{hours} hours" if hours < 48 else f"{round(hours / 24)} days"


def _clock(at: dt.datetime) -> str:
    """HH:MM, with the date when it is not today."""
    return at.strftime("%H:%M" if at.date() == dt.date.today() else "%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------
# Read-only files and folders
# ---------------------------------------------------------------------------------------------


def _read_only_file(path: Path) -> bool:
    """No write bit at all (chmod 444; on Windows the read-only attribute), or not writable by
    this user. The bits are checked themselves: for root, os.access says yes to any file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    return not mode & _WRITE_BITS or not os.access(path, os.W_OK)


def _read_only_folder(folder: Path) -> bool:
    """No write bit at all, or no file can be created there by this user. (Windows ignores
    the read-only attribute of a folder, and Explorer sets it on folders it customises.)"""
    no_bits = os.name != "nt" and not folder.stat().st_mode & _WRITE_BITS
    return no_bits or not os.access(folder, os.W_OK | os.X_OK)


def _folder(path: Path) -> Path:
    return path.absolute().parent


def check_writable(book: Path, state: Path | None = None) -> None:
    """Raise :class:`NeedsPerson` when the run must not replace ``book`` (or its memory
    ``state``): the file or its folder is read-only."""
    book = Path(book)
    if _read_only_file(book):
        raise NeedsPerson(_read_only_file_message(book), path=book)
    folder = _folder(book)
    if not folder.is_dir():
        raise CannotWrite(f"{book} could not be written: the folder {folder} does not exist; "
                          "nothing was written.", path=book)
    if _read_only_folder(folder):
        raise NeedsPerson(_read_only_folder_message(folder, book), path=book)
    if state is None:
        return
    state = Path(state)
    if _read_only_file(state):
        raise NeedsPerson(f"the memory {state} of {book} is read-only, so forecourt does not "
                          "replace it; nothing was written. Make that file writable, or give "
                          "another memory file with --state.", path=state)
    state_folder = _folder(state)
    if state_folder != folder and state_folder.is_dir() and _read_only_folder(state_folder):
        raise NeedsPerson(f"the folder {state_folder} of the memory {state.name} is read-only; "
                          "nothing was written. Make the folder writable, or give another "
                          "memory file with --state.", path=state)


def _read_only_file_message(book: Path) -> str:
    return (f"{book} is read-only, so forecourt does not replace it; nothing was written. Make "
            "the file writable, or write the result to another file with --out OTHER.xlsx.")


def _read_only_folder_message(folder: Path, book: Path) -> str:
    return (f"the folder {folder} is read-only, so forecourt cannot write {book.name} there (it "
            "writes a temporary file beside the workbook, then renames it into place); nothing "
            "was written. Make the folder writable, or write the result into another folder "
            f"with --out FOLDER/{book.name}.")


# ---------------------------------------------------------------------------------------------
# Open in Excel or LibreOffice
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeLock:
    """A lock file another program keeps beside a workbook it has open."""

    path: Path
    program: str  # "Excel" or "LibreOffice"
    person: str | None  # None: not readable from the file
    size: int
    age: float  # seconds since it was written

    def stale(self, hours: float) -> bool:
        return self.size == 0 or self.age > hours * 3600


def _clean_name(text: str) -> str | None:
    name = "".join(ch for ch in text if ch.isprintable() and ch != "\ufffd").strip()
    return name[:_NAME_MAX] or None


def excel_owner(data: bytes) -> str | None:
    """The user name in Excel's owner file ``~$BOOK.xlsx``: a length byte and the name in the
    Windows code page, then (at offset 54 in Word's files, 55 in Excel's) a two-byte length
    and the name in UTF-16LE. The UTF-16 copy first (it holds any letter); None if neither
    copy reads as a name."""
    for at in (54, 55):
        n = int.from_bytes(data[at:at + 2], "little")
        if 0 < n <= _NAME_MAX and len(data) >= at + 2 + 2 * n:
            try:
                name = _clean_name(data[at + 2:at + 2 + 2 * n].decode("utf-16-le"))
            except UnicodeDecodeError:
                continue
            if name:
                return name
    n = data[0] if data else 0
    if 0 < n <= _NAME_MAX and len(data) > n:
        return _clean_name(data[1:1 + n].decode("cp1252", "replace"))
    return None


def libreoffice_owner(data: bytes) -> str | None:
    """The person in LibreOffice's ``.~lock.BOOK.xlsx#``: one line ``Name,user,host,date,
    profile;`` whose fields escape ``,`` ``;`` and ``\\`` with a backslash. The name from
    LibreOffice's user data, else the system user name."""
    fields, field, escaped = [], [], False
    for ch in data.decode("utf-8", "replace"):
        if escaped:
            field.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",;":
            fields.append("".join(field))
            field = []
            if ch == ";":
                break
        else:
            field.append(ch)
    else:
        fields.append("".join(field))
    for text in fields[:2]:
        if name := _clean_name(text):
            return name
    return None


def office_locks(book: Path) -> list[OfficeLock]:
    """The lock files beside ``book``: LibreOffice's, then Excel's (``~$`` replaces the first
    two letters of a long name)."""
    name = book.name
    candidates = [(book.with_name(f".~lock.{name}#"), "LibreOffice", libreoffice_owner),
                  (book.with_name("~$" + name), "Excel", excel_owner)]
    if len(book.stem) > 2:
        candidates.append((book.with_name("~$" + name[2:]), "Excel", excel_owner))
    found = []
    now = time.time()
    for path, program, owner in candidates:
        try:
            st = path.stat()
        except OSError:
            continue
        try:  # Excel may hold its owner file open: then the name stays unknown
            with path.open("rb") as fh:
                person = owner(fh.read(4096))
        except OSError:
            person = None
        found.append(OfficeLock(path, program, person, st.st_size, now - st.st_mtime))
    return found


def check_not_open(book: Path) -> None:
    """Raise :class:`WorkbookLocked` when ``book`` is open in Excel or LibreOffice (or, on
    Windows, in any program that keeps others from writing it)."""
    book = Path(book)
    if not book.exists():
        return
    found = office_locks(book)
    if found:
        hours = stale_lock_hours()
        lock = next((f for f in found if not f.stale(hours)), found[0])
        who = lock.person or "someone"
        if not lock.stale(hours):
            raise WorkbookLocked(f"{book} is open in {lock.program} by {who} (found "
                                 f"{lock.path.name} beside it): close it there and run again; "
                                 "nothing was written.", path=book)
        state = f"empty, {_age(lock.age)} old" if lock.size == 0 else f"{_age(lock.age)} old"
        raise WorkbookLocked(f"{book} looks open in {lock.program} by {who}, but its lock file "
                             f"looks stale ({state}): if nobody has the workbook open, delete "
                             f"{lock.path} and the run can go ahead; nothing was written.",
                             path=book)
    try:
        with book.open("r+b"):
            pass
    except PermissionError:
        if _read_only_file(book):
            raise NeedsPerson(_read_only_file_message(book), path=book) from None
        raise WorkbookLocked(f"{book} is open in another program (Excel?) that keeps others "
                             "from writing it: close it there and run again; nothing was "
                             "written.", path=book) from None


# ---------------------------------------------------------------------------------------------
# One run per workbook
# ---------------------------------------------------------------------------------------------


def run_lock_path(book: Path) -> Path:
    """``BOOK.xlsx`` -> ``.~forecourt-BOOK.xlsx.lock`` beside it."""
    return book.with_name(f"{TEMP_PREFIX}{book.name}.lock")


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this computer (yes when that cannot be told)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would end the process there
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it exists, another user's
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


@dataclass(frozen=True)
class Holder:
    """What a run lock says about the run holding it (None: not readable)."""

    raw: bytes
    pid: int | None
    host: str | None
    started: dt.datetime

    @classmethod
    def read(cls, path: Path) -> Holder | None:
        """None when the lock is gone."""
        try:
            raw = path.read_bytes()
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        started = dt.datetime.fromtimestamp(mtime)
        try:  # an empty lock is one being written this moment (or its run died doing so)
            data = json.loads(raw)
            pid, host = int(data["pid"]), str(data["host"])
            started = dt.datetime.fromisoformat(data["started"])
        except (ValueError, KeyError, TypeError):
            pid = host = None
        return cls(raw, pid, host, started)

    def describe(self) -> str:
        where = "" if self.host in (None, socket.gethostname()) else f" on {self.host}"
        pid = f"pid {self.pid}{where} " if self.pid is not None else ""
        return f"{pid}since {_clock(self.started)}"

    def stale(self) -> str | None:
        """Why this lock belongs to no run, or None while it may."""
        if self.pid is not None and self.host == socket.gethostname() \
                and not pid_alive(self.pid):
            return f"its run ({self.describe()}) is no longer running"
        age = (dt.datetime.now() - self.started).total_seconds()
        if age > RUN_LOCK_MAX_HOURS * 3600:
            return f"it is {_age(age)} old ({self.describe()})"
        return None


@dataclass
class RunLock:
    """The run lock this run holds; :meth:`release` removes it."""

    path: Path
    raw: bytes
    waited: bool = False  # another run held it meanwhile (and may have changed the book)
    took_over: str | None = None  # the note when a stale lock was taken over

    def release(self) -> None:
        """Remove the lock, unless it is no longer this run's (taken over as stale)."""
        with contextlib.suppress(OSError):
            if self.path.read_bytes() == self.raw:
                self.path.unlink()


def take_run_lock(book: Path, wait: float | None = None) -> RunLock:
    """Hold the run lock of ``book``, waiting up to ``wait`` seconds (default
    :func:`run_wait_seconds`) while another run holds it; raise :class:`RunUnderWay` when it
    still does, :class:`NeedsPerson` when no file can be created beside ``book``."""
    book = Path(book)
    path = run_lock_path(book)
    deadline = time.monotonic() + (run_wait_seconds() if wait is None else wait)
    raw = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                      "started": dt.datetime.now().isoformat(timespec="seconds"),
                      "token": secrets.token_hex(8)}).encode()
    waited, took_over = False, None
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o644)
        except FileExistsError:
            holder = Holder.read(path)
            if holder is None:
                continue  # it was removed meanwhile
            why = holder.stale()
            if why is not None and _remove_stale(path, holder.raw):
                took_over = f"took over the run lock {path}: {why}"
                continue
            if time.monotonic() >= deadline:
                raise RunUnderWay(f"another forecourt run on {book} is under way "
                                  f"({holder.describe()}); try again later. Nothing was "
                                  "written.", path=book) from None
            waited = True
            time.sleep(_WAIT_STEP)
            continue
        except OSError as exc:
            # Windows refuses to create a file another run has just removed while a third
            # still reads it: a moment's wait, as for a held lock.
            if isinstance(exc, PermissionError) and _there(path) \
                    and time.monotonic() < deadline:
                waited = True
                time.sleep(_WAIT_STEP)
                continue
            if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
                raise NeedsPerson(_read_only_folder_message(_folder(book), book),
                                  path=book) from exc
            raise CannotWrite(f"the run lock {path} could not be created ({exc}); nothing was "
                              "written.", path=path) from exc
        try:
            os.write(fd, raw)
        finally:
            os.close(fd)
        return RunLock(path, raw, waited, took_over)


def _there(path: Path) -> bool:
    """Whether something is at ``path`` (yes when it cannot be looked at)."""
    try:
        path.stat()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True


def _remove_stale(path: Path, seen: bytes) -> bool:
    """Remove the stale lock ``path`` held ``seen``; False when that failed. It is renamed
    aside first: of two runs taking it over at once one renames it, the other finds it gone,
    and neither removes the fresh lock the first one makes next."""
    aside = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name[len(TEMP_PREFIX):]}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return True  # another run took it over: try again
    except OSError:
        return False
    try:
        fresh = aside.read_bytes() != seen
    except OSError:
        fresh = True
    if fresh:  # a fresh lock, made since `seen` was read: put it back
        with contextlib.suppress(OSError):
            if sys.platform == "win32":
                os.rename(aside, path)  # never over an existing file there
            else:
                os.link(aside, path)
        with contextlib.suppress(OSError):
            aside.unlink()
        return True
    with contextlib.suppress(OSError):
        aside.unlink()
    return True


# ---------------------------------------------------------------------------------------------
# What killed runs left behind
# ---------------------------------------------------------------------------------------------


def remove_debris(book: Path, side_files: Iterable[Path] = ()) -> list[tuple[Path, int]]:
    """Remove the temporary files of runs on ``book`` that are no longer alive on this
    computer: the workbook copy ``.~forecourt-PID-BOOK.xlsx`` and a set-aside run lock
    ``.~forecourt-PID-BOOK.xlsx.lock``, by their pid; and ``side_files``, names without a
    pid (the memory and backup being written) that only a run holding the run lock writes:
    the caller holds it, so any found are a dead run's. Only regular files; another
    workbook's or a person's files never match. Returns (path, size) of each file removed."""
    book = Path(book)
    own = re.compile(re.escape(TEMP_PREFIX) + r"(\d{1,10})-" + re.escape(book.name)
                     + r"(?:\.lock)?")
    candidates: list[Path] = []
    with contextlib.suppress(OSError), os.scandir(_folder(book)) as entries:
        for entry in entries:
            match = own.fullmatch(entry.name)
            if match and not pid_alive(int(match[1])):
                candidates.append(Path(entry.path))
    candidates += [Path(p) for p in side_files]
    removed = []
    for path in candidates:
        try:
            st = path.lstat()
            if not stat.S_ISREG(st.st_mode):
                continue
            path.unlink()
        except OSError:
            continue
        removed.append((path, st.st_size))
    return removed


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{n / 1024:.0f} KB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.1f} MB"


def removed_note(book: Path, removed: list[tuple[Path, int]]) -> str:
    """One sentence naming the files :func:`remove_debris` removed."""
    folder = _folder(Path(book))
    names = ", ".join(f"{p.name if _folder(p) == folder else p} ({_size(size)})"
                      for p, size in removed)
    return (f"removed the temporary files that a run stopped mid-write had left beside "
            f"{Path(book).name}: {names}")
