"""Where the engine's memory lives: one store per workbook identity.

* an .xlsx file: ``BOOK.forecourt.sqlite`` beside it (as always);
* a Google Sheet or an add-in's workbook: ``KIND-ID-HASH.forecourt.sqlite`` in the user's state
  folder (``platformdirs.user_state_path("forecourt")``: ``~/.local/state/forecourt`` on
  Linux, ``~/Library/Application Support/forecourt`` on macOS, ``%LOCALAPPDATA%\\forecourt``
  on Windows);
* grids in memory: a memory that lives as long as the store object.

``--state PATH`` (``state=``) puts any of them in a SQLite file of one's choosing. A store
loads a :class:`~forecourt.memory.Memory` and commits a run's
:class:`~forecourt.memory.MemoryChanges`: a SQLite store saves them into a side file in a
second thread while the workbook is written, and renames it into place once the workbook is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Protocol

from forecourt import memory as mem
from forecourt.background import Background
from forecourt.errors import CannotWrite
from forecourt.locks import TEMP_PREFIX
from forecourt.sync.backend import WorkbookId


class Staged(Protocol):
    """A memory being saved: :meth:`wait` until it is safe (raises :class:`CannotWrite`),
    then :meth:`install` it once the workbook is written; :meth:`discard` on failure."""

    def wait(self) -> None: ...
    def install(self) -> None: ...
    def discard(self) -> None: ...


class MemoryStore(Protocol):
    identity: WorkbookId
    #: the SQLite file, when the store has one (the run's guard checks it can be written)
    path: Path | None

    def load(self) -> mem.Memory: ...

    def stage(self, memory: mem.Memory, changes: mem.MemoryChanges, *, as_of: dt.datetime,
              summary: str = "") -> Staged: ...


def state_folder() -> Path:
    """The user's state folder for forecourt (created when first needed)."""
    import platformdirs

    return platformdirs.user_state_path("forecourt", appauthor=False)


def memory_store(identity: WorkbookId, state: Path | str | None = None) -> MemoryStore:
    """The store of ``identity``'s memory (see the module docstring); ``state`` overrides."""
    if state is not None:
        return SqliteStore(identity, Path(state))
    if identity.kind == "file":
        return SqliteStore(identity, mem.state_path(identity.key))
    if identity.kind == "memory":
        return VolatileStore(identity)
    # Readable, and unique: two ids that read alike once made safe for a file name (or share
    # their first 60 characters) still get a file each.
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", identity.key).strip("._")[:60] or "workbook"
    digest = hashlib.sha1(identity.key.encode()).hexdigest()[:10]
    return SqliteStore(identity,
                       state_folder() / f"{identity.kind}-{safe}-{digest}.forecourt.sqlite")


class SqliteStore:
    """The memory in a SQLite file (:mod:`forecourt.memory` holds its tables)."""

    def __init__(self, identity: WorkbookId, path: Path) -> None:
        self.identity = identity
        self.path = Path(path)

    @property
    def side_path(self) -> Path:
        """The side file a run saves into before it replaces the real one."""
        return self.path.with_name(TEMP_PREFIX + self.path.name)

    def load(self) -> mem.Memory:
        return mem.load(self.path)

    def stage(self, memory: mem.Memory, changes: mem.MemoryChanges, *, as_of: dt.datetime,
              summary: str = "") -> _StagedFile:
        return _StagedFile(self, memory, changes, as_of, summary)

    def save(self, memory: mem.Memory, changes: mem.MemoryChanges, *, as_of: dt.datetime,
             summary: str = "") -> None:
        """Stage and install at once (no workbook to wait for)."""
        staged = self.stage(memory, changes, as_of=as_of, summary=summary)
        try:
            staged.wait()
            staged.install()
        finally:
            staged.discard()


class _StagedFile:
    def __init__(self, store: SqliteStore, memory: mem.Memory, changes: mem.MemoryChanges,
                 as_of: dt.datetime, summary: str) -> None:
        self.store = store
        self.side = store.side_path
        self.saved = self.keep = False
        self.saver = Background(_save_side_file, store.path, self.side, memory, changes, as_of,
                                str(store.identity), summary, name="forecourt-memory")

    def wait(self) -> None:
        if self.saved:
            return
        try:
            self.saver.result()
        except (OSError, sqlite3.Error) as exc:
            raise CannotWrite(f"the memory {self.side} could not be written ({exc}); "
                              f"{self.store.identity} was not changed.",
                              path=self.store.path) from exc
        self.saved = True

    def install(self) -> None:
        self.wait()
        try:
            _replace_retrying(self.side, self.store.path)
        except OSError as exc:
            self.keep = True
            raise CannotWrite(
                f"{self.store.identity} was written, but its memory could not replace "
                f"{self.store.path} ({exc}): is that file open in another program? The new "
                f"memory is in {self.side}; until it is in place, the next run takes the "
                "values this run wrote for a person's.", path=self.store.path) from exc

    def discard(self) -> None:
        if not self.saved:  # failing already: let the saver finish before its file goes
            with contextlib.suppress(BaseException):
                self.saver.result()
        if not self.keep:
            with contextlib.suppress(OSError):  # best effort: a later run replaces it anyway
                self.side.unlink(missing_ok=True)


def _save_side_file(state_file: Path, side: Path, memory: mem.Memory,
                    changes: mem.MemoryChanges, as_of: dt.datetime, workbook: str,
                    summary: str) -> None:
    """The memory, saved into a copy of the state file (replaced by the caller). A side file
    left by a run that was killed is garbage: it is replaced, never continued."""
    side.unlink(missing_ok=True)
    side.parent.mkdir(parents=True, exist_ok=True)
    if state_file.exists():
        shutil.copy2(state_file, side)
    mem.save(side, memory, changes, as_of=as_of, workbook=workbook, summary=summary,
             scratch=True)


def _replace_retrying(src: Path, dst: Path, attempts: int = 5, pause: float = 0.2) -> None:
    """``os.replace``, tried a few times: on Windows a virus scanner or a sync client holds a
    file it has just seen for a moment, and the rename fails meanwhile."""
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(pause)


class VolatileStore:
    """A memory kept in this object only (grids in memory, tests)."""

    path = None

    def __init__(self, identity: WorkbookId) -> None:
        self.identity = identity
        self.memory = mem.Memory()

    def load(self) -> mem.Memory:
        return self.memory

    def stage(self, memory: mem.Memory, changes: mem.MemoryChanges, *, as_of: dt.datetime,
              summary: str = "") -> _StagedVolatile:
        return _StagedVolatile(self, memory)


class _StagedVolatile:
    def __init__(self, store: VolatileStore, memory: mem.Memory) -> None:
        self.store, self.memory = store, memory

    def wait(self) -> None:
        return None

    def install(self) -> None:
        self.store.memory = self.memory

    def discard(self) -> None:
        return None
