"""The engine's memory: a SQLite file beside the workbook.

It keeps what the engine wrote into each lead's cells (so a later run can tell its own values
from a person's), each lead's status history (status since, furthest stage reached) and the
owner rotation. Losing it loses history only: the next run treats every filled cell as a
person's entry and starts the history from the workbook's evidence.

Default file: ``BOOK.forecourt.sqlite`` beside ``BOOK.xlsx`` (``--state PATH`` changes it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS written (
    lead_id TEXT PRIMARY KEY, owner TEXT, next_action TEXT, due TEXT, status_since TEXT,
    state TEXT, fallback TEXT);
CREATE TABLE IF NOT EXISTS status (
    lead_id TEXT PRIMARY KEY, status TEXT, since TEXT NOT NULL, furthest INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS status_history (
    lead_id TEXT NOT NULL, status TEXT, seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rotation (
    person TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assignments (
    seq INTEGER PRIMARY KEY, lead_id TEXT NOT NULL, row INTEGER, owner TEXT NOT NULL,
    fallback INTEGER NOT NULL, reason TEXT, skipped TEXT);
CREATE TABLE IF NOT EXISTS runs (
    at TEXT NOT NULL, as_of TEXT NOT NULL, workbook TEXT NOT NULL, summary TEXT);
"""


#: the cells whose last engine-written value is remembered, one column each in ``written``
WRITTEN_FIELDS = ("owner", "next_action", "due", "status_since", "state", "fallback")


def state_path(workbook: Path | str) -> Path:
    """``BOOK.xlsx`` -> ``BOOK.forecourt.sqlite`` in the same folder."""
    p = Path(workbook)
    return p.with_name(f"{p.stem}.forecourt.sqlite")


def _no_written() -> pd.DataFrame:
    return pd.DataFrame({f: pd.Series(dtype=object) for f in WRITTEN_FIELDS},
                        index=pd.Index([], dtype=object, name="lead_id"))


def _no_status() -> pd.DataFrame:
    return pd.DataFrame({"status": pd.Series(dtype=object),
                         "since": pd.Series(dtype="datetime64[us]"),
                         "furthest": pd.Series(dtype="int64")},
                        index=pd.Index([], dtype=object, name="lead_id"))


class Assignment(NamedTuple):
    """One owner assignment, as the Log sheet shows it: who got the lead, by fallback or not,
    why, and who was passed over why."""

    seq: int
    lead_id: str
    row: int
    owner: str
    fallback: bool
    reason: str
    skipped: tuple[tuple[str, str], ...] = ()


def _skipped(text: str | None) -> tuple[tuple[str, str], ...]:
    """The stored passed-over list: JSON pairs, or (memories before 2026-12) the text
    ``"name: why; name: why"``."""
    if not text:
        return ()
    if text.startswith("["):
        return tuple((str(p), str(w)) for p, w in json.loads(text))
    return tuple(tuple(part.split(": ", 1)) for part in text.split("; ")  # type: ignore[misc]
                 if ": " in part)


@dataclass(frozen=True)
class Memory:
    """What the engine remembers between runs, as it was loaded (or as a run left it:
    :meth:`updated`). A run never changes it: it returns :class:`MemoryChanges`.

    Per-lead memory is kept as frames indexed by lead id (one row per lead, as in the file) so
    that a run looks up and updates 100k leads with whole-column operations.
    """

    #: the last value the engine wrote into each of a lead's cells (None: nothing, or a person
    #: has taken the cell over); columns :data:`WRITTEN_FIELDS`
    written: pd.DataFrame = field(default_factory=_no_written)
    #: each lead's current status, since when, and the furthest stage it reached
    status: pd.DataFrame = field(default_factory=_no_status)
    rotation: Mapping[str, int] = field(default_factory=dict)
    #: the latest assignments (at most ``recent`` when loaded)
    assignments: tuple[Assignment, ...] = ()
    last_seq: int = 0

    def updated(self, changes: MemoryChanges) -> Memory:
        """This memory with ``changes`` made (a new object; this one stays as it is)."""
        return Memory(written=merge(self.written, changes.written),
                      status=merge(self.status, changes.status),
                      rotation=dict(changes.rotation if changes.rotation is not None
                                    else self.rotation),
                      assignments=self.assignments + changes.assignments,
                      last_seq=max([self.last_seq, *(a.seq for a in changes.assignments)]))


@dataclass(frozen=True)
class MemoryChanges:
    """What one run adds to the memory: returned by the deciding steps, committed by the
    caller (:meth:`forecourt.store.MemoryStore.stage`)."""

    #: rows of ``written`` to replace or add (by lead id); the leads of this run
    written: pd.DataFrame = field(default_factory=_no_written)
    #: rows of ``status`` to replace or add (by lead id)
    status: pd.DataFrame = field(default_factory=_no_status)
    #: status changes seen by this run: (lead_id, status, seen at)
    history: tuple[tuple[str, str | None, dt.datetime], ...] = ()
    #: the assignments this run made, numbered after the memory's last one
    assignments: tuple[Assignment, ...] = ()
    #: the whole owner rotation after this run (None: unchanged)
    rotation: Mapping[str, int] | None = None


def assignments_after(memory: Memory, made: Iterable[tuple[str, int, str, bool, str,
                                                           Iterable[tuple[str, str]]]]
                      ) -> tuple[Assignment, ...]:
    """Typed assignment rows for ``(lead_id, row, owner, fallback, reason, skipped)``,
    numbered after ``memory``'s last one."""
    return tuple(Assignment(memory.last_seq + k, str(lead), int(row), str(owner), bool(fb),
                            str(reason), tuple((str(p), str(w)) for p, w in skipped))
                 for k, (lead, row, owner, fb, reason, skipped) in enumerate(made, start=1))


def merge(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``new``'s rows and ``old``'s rows for ids not in ``new`` (leads no longer in the
    workbook keep their memory). An id on several rows (a row copied with its Lead ID) keeps,
    per column, the last value that is not empty."""
    if new.index.has_duplicates:
        new = new.groupby(level=0, sort=False).last()
    if not len(old):
        return new
    return pd.concat([old[~old.index.isin(new.index)], new])


def load(path: Path | str, recent: int = 1000) -> Memory:
    """The memory in ``path`` (the latest ``recent`` assignments); empty when there is none."""
    path = Path(path)
    if not path.exists():
        return Memory()
    parts: dict[str, Any] = {}
    # closing(): `with connect()` only commits; an open handle would block the rename of the
    # new memory over this file on Windows.
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)
        columns = ", ".join(WRITTEN_FIELDS)
        rows = db.execute(f"SELECT lead_id, {columns} FROM written").fetchall()
        if rows:
            frame = pd.DataFrame(rows, columns=["lead_id", *WRITTEN_FIELDS], dtype=object)
            parts["written"] = frame.set_index("lead_id")
        rows = db.execute("SELECT lead_id, status, since, furthest FROM status").fetchall()
        if rows:
            frame = pd.DataFrame(rows, columns=["lead_id", "status", "since", "furthest"])
            frame["since"] = pd.to_datetime(frame["since"], format="ISO8601") \
                .astype("datetime64[us]")
            frame["status"] = frame["status"].astype(object)
            frame["furthest"] = frame["furthest"].astype("int64")
            parts["status"] = frame.set_index("lead_id")
        parts["rotation"] = dict(db.execute("SELECT person, seq FROM rotation"))
        parts["assignments"] = tuple(Assignment(seq, lead, row, owner, bool(fb), reason,
                                         _skipped(skipped))
                              for seq, lead, row, owner, fb, reason, skipped in reversed(
                                  db.execute("SELECT * FROM assignments ORDER BY seq DESC "
                                             "LIMIT ?", (recent,)).fetchall()))
        parts["last_seq"] = db.execute("SELECT COALESCE(MAX(seq), 0) FROM assignments") \
            .fetchone()[0]
    return Memory(**parts)


def _insert(db: sqlite3.Connection, table: str, rows: Iterable[tuple], replace: bool = False,
            batch: int = 5000) -> None:
    """INSERT ``rows`` into ``table``, ``batch`` at a time: each batch as one JSON text that
    SQLite unpacks itself (``json_each``), so the rows go in without Python's GIL and a save
    in a second thread leaves the first one running; row by row where SQLite lacks JSON
    (before 3.38, or built without it) or a text holds a NUL character (SQLite's JSON text
    would end there).
    Batches keep the JSON small: a 100k-lead memory whole would add ~30 MB to a run's peak."""
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, batch)):
        if sqlite3.sqlite_version_info >= (3, 38):
            payload = json.dumps(chunk, ensure_ascii=False)
            if "\\u0000" not in payload:
                picks = ", ".join(f"value->>{k}" for k in range(len(chunk[0])))
                # An SQLite built without JSON fails here; a real failure (disk full) fails
                # again below, with its own message.
                with contextlib.suppress(sqlite3.OperationalError):
                    db.execute(f"{verb} INTO {table} SELECT {picks} FROM json_each(?)",
                               (payload,))
                    continue
        db.executemany(f"{verb} INTO {table} VALUES ({', '.join('?' * len(chunk[0]))})",
                       chunk)


def _values(column: pd.Series) -> list[Any]:
    """The column's values, None where missing (NaN is no JSON, and SQLite stores it as NULL
    anyway)."""
    values = column.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values.tolist()


def _iso(values: pd.Series) -> list[str]:
    if not len(values):
        return []  # np.char.replace fails on an empty array
    text = np.datetime_as_string(values.to_numpy(dtype="datetime64[s]"), unit="s")
    return np.char.replace(text, "T", " ").tolist()


def save(path: Path | str, memory: Memory, changes: MemoryChanges | None = None, *,
         as_of: dt.datetime, workbook: str, summary: str = "", scratch: bool = False) -> None:
    """Write ``memory`` (as the run left it: :meth:`Memory.updated`) in one transaction (all
    or nothing). The status changes and assignments of ``changes`` are appended: the file
    keeps every one ever made.

    ``scratch``: ``path`` is a copy that replaces the real file by a rename once complete, so
    SQLite needs no rollback journal for it; the file is flushed to disk at the end instead.
    """
    written = memory.written
    status = memory.status
    changes = changes or MemoryChanges()
    db = sqlite3.connect(path)
    try:
        if scratch:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
        with db:
            db.executescript(SCHEMA)
            db.execute("DELETE FROM written")
            _insert(db, "written", zip(written.index.tolist(),
                                       *(_values(written[f]) for f in WRITTEN_FIELDS),
                                       strict=True))
            db.execute("DELETE FROM status")
            _insert(db, "status", zip(status.index.tolist(), _values(status["status"]),
                                      _iso(status["since"]), status["furthest"].tolist(),
                                      strict=True))
            _insert(db, "status_history", [(lead, s, at.isoformat(sep=" "))
                                           for lead, s, at in changes.history])
            _insert(db, "assignments", [(seq, lead, row, owner, int(fb), reason,
                                         json.dumps(skipped, ensure_ascii=False))
                                        for seq, lead, row, owner, fb, reason, skipped in
                                        changes.assignments], replace=True)
            db.execute("DELETE FROM rotation")
            _insert(db, "rotation", memory.rotation.items())
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?)",
                       (dt.datetime.now().isoformat(sep=" ", timespec="seconds"),
                        as_of.isoformat(sep=" "), workbook, summary))
    finally:
        db.close()
    if scratch:
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
