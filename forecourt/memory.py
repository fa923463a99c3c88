"""The engine's memory: a SQLite file beside the workbook.

It keeps what the engine wrote into each lead's cells (so a later run can tell its own values
from a person's), each lead's status history (status since, furthest stage reached) and the
owner rotation. Losing it loses history only: the next run treats every filled cell as a
person's entry and starts the history from the workbook's evidence.

Default file: ``BOOK.forecourt.sqlite`` beside ``BOOK.xlsx`` (``--state PATH`` changes it).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

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


class StatusRecord(NamedTuple):
    status: str | None
    since: dt.datetime
    furthest: int


@dataclass
class Memory:
    """What the engine remembers between runs (all in plain dicts; :func:`save` persists)."""

    written: dict[tuple[str, str], str] = field(default_factory=dict)
    status: dict[str, StatusRecord] = field(default_factory=dict)
    rotation: dict[str, int] = field(default_factory=dict)
    new_history: list[tuple[str, str | None, dt.datetime]] = field(default_factory=list)
    #: every assignment ever made: (seq, lead_id, row, owner, fallback, reason, skipped text)
    assignments: list[tuple[int, str, int, str, bool, str, str]] = field(default_factory=list)

    @property
    def next_seq(self) -> int:
        return max(self.rotation.values(), default=0) + 1

    def wrote(self, lead_id: str, fld: str) -> str | None:
        return self.written.get((lead_id, fld))


def load(path: Path | str) -> Memory:
    """The memory in ``path``; an empty one when the file does not exist yet."""
    path = Path(path)
    memory = Memory()
    if not path.exists():
        return memory
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        columns = ", ".join(WRITTEN_FIELDS)
        memory.written = {(row[0], fld): value
                          for row in db.execute(f"SELECT lead_id, {columns} FROM written")
                          for fld, value in zip(WRITTEN_FIELDS, row[1:], strict=True)
                          if value is not None}
        memory.status = {lead: StatusRecord(status, dt.datetime.fromisoformat(since), furthest)
                         for lead, status, since, furthest in
                         db.execute("SELECT lead_id, status, since, furthest FROM status")}
        memory.rotation = dict(db.execute("SELECT person, seq FROM rotation"))
        memory.assignments = [(seq, lead, row, owner, bool(fb), reason, skipped)
                              for seq, lead, row, owner, fb, reason, skipped in db.execute(
                                  "SELECT * FROM assignments ORDER BY seq")]
    return memory


def save(path: Path | str, memory: Memory, *, as_of: dt.datetime, workbook: str,
         summary: str = "") -> None:
    """Write ``memory`` in one transaction (all or nothing)."""
    db = sqlite3.connect(path)
    try:
        with db:
            db.executescript(SCHEMA)
            db.execute("DELETE FROM written")
            slot = {fld: k for k, fld in enumerate(WRITTEN_FIELDS, start=1)}
            per_lead: dict[str, list[str | None]] = {}
            for (lead, fld), value in memory.written.items():
                k = slot.get(fld)
                if k is not None:
                    per_lead.setdefault(lead, [lead] + [None] * len(WRITTEN_FIELDS))[k] = value
            db.executemany(f"INSERT INTO written VALUES ({', '.join('?' * 7)})",
                           per_lead.values())
            db.execute("DELETE FROM status")
            db.executemany("INSERT INTO status VALUES (?, ?, ?, ?)",
                           [(lead, r.status, r.since.isoformat(sep=" "), r.furthest)
                            for lead, r in memory.status.items()])
            db.executemany("INSERT INTO status_history VALUES (?, ?, ?)",
                           [(lead, s, at.isoformat(sep=" ")) for lead, s, at in
                            memory.new_history])
            db.execute("DELETE FROM assignments")
            db.executemany("INSERT INTO assignments VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(seq, lead, row, owner, int(fb), reason, skipped)
                            for seq, lead, row, owner, fb, reason, skipped in memory.assignments])
            db.execute("DELETE FROM rotation")
            db.executemany("INSERT INTO rotation VALUES (?, ?)", list(memory.rotation.items()))
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?)",
                       (dt.datetime.now().isoformat(sep=" ", timespec="seconds"),
                        as_of.isoformat(sep=" "), workbook, summary))
    finally:
        db.close()
    memory.new_history.clear()
