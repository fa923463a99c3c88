"""The base of a two-way sync: what both sides held after the last successful sync, per tab,
kept in SQLite so the next sync can tell which side changed what (:mod:`forecourt.sync.merge`).

One file per pair (a workbook and a Sheet). A commit replaces the whole base in one SQLite
transaction: a sync killed at any moment leaves the old base or the new one, never part of
either; the sync commits only after both sides are written, so a write that failed is never
recorded as synced. Values keep their type (text, numbers, booleans, moments).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from forecourt.sync.merge import Row, Table

SCHEMA = """
CREATE TABLE IF NOT EXISTS base_tabs (
    tab TEXT PRIMARY KEY, key_header TEXT NOT NULL, headers TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS base_rows (
    tab TEXT NOT NULL, key TEXT NOT NULL, position INTEGER NOT NULL, cells TEXT NOT NULL,
    PRIMARY KEY (tab, key));
CREATE TABLE IF NOT EXISTS base_info (
    name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS behind (
    tab TEXT NOT NULL, side TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    header TEXT NOT NULL, value TEXT);
CREATE TABLE IF NOT EXISTS conflicts (
    found_at TEXT NOT NULL, tab TEXT NOT NULL, key TEXT NOT NULL, header TEXT NOT NULL,
    base TEXT, excel TEXT, sheet TEXT, kept TEXT NOT NULL, excel_time TEXT, sheet_time TEXT,
    UNIQUE (tab, key, header, excel, sheet));
"""


def _encode(value: Any) -> Any:
    """A cell as JSON: moments tagged so they come back as moments."""
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return dt.datetime.fromisoformat(value["t"])
        if "d" in value:
            return dt.date.fromisoformat(value["d"])
    return value


def _deep(value: Any, each: Any) -> Any:
    """``each`` over the cells of a value that is a cell or a dict of them (nested once more
    for a row without an id: its position and its cells)."""
    if isinstance(value, dict) and not (len(value) == 1 and set(value) <= {"t", "d"}):
        return {k: _deep(v, each) for k, v in value.items()}
    return each(value)


@contextlib.contextmanager
def _reading(path: Path | str) -> Iterator[sqlite3.Connection | None]:
    """The base's database to read, or None when there is none yet."""
    path = Path(path)
    if not path.exists():
        yield None
        return
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)
        yield db


@contextlib.contextmanager
def _writing(path: Path | str) -> Iterator[sqlite3.Connection]:
    """The base's database in one transaction, synced to disk on commit: committed whole,
    or rolled back whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        with db:
            yield db


def load_base(path: Path | str) -> tuple[dict[str, Table], dict[str, str]]:
    """(the base's tables by tab name, its info such as when it was synced); empty when
    there is no base yet (a first sync)."""
    with _reading(path) as db:
        if db is None:
            return {}, {}
        tables = {tab: Table(key_header, json.loads(headers), {}, tab)
                  for tab, key_header, headers in db.execute(
                      "SELECT tab, key_header, headers FROM base_tabs")}
        for tab, key, position, cells in db.execute(
                "SELECT tab, key, position, cells FROM base_rows ORDER BY tab, position"):
            if tab in tables:
                tables[tab].rows[key] = Row(position, {h: _decode(v) for h, v in
                                                       json.loads(cells).items()})
        info = dict(db.execute("SELECT name, value FROM base_info"))
    return tables, info


class Behind(NamedTuple):
    """Where one side does not hold the base yet (it was left for later, or the sync was
    killed before writing it): ``kind`` is ``cell`` (the side held ``value`` in the cell
    ``header`` of the row ``key``), ``absent`` (the side lacks the row), ``deleted`` (the side
    holds the row, with the cells ``value``, that the base deleted) or ``unkeyed`` (the side's
    row without an id, its content key ``header``, gets the id ``key``; ``value`` holds its
    position and cells, to find it again once a person edited or moved it).
    """

    tab: str
    side: str
    kind: str
    key: str
    header: str
    value: Any


def commit_base(path: Path | str, tables: Mapping[str, Table],
                info: Mapping[str, str] | None = None,
                conflicts: Iterable[tuple[str, ...]] = (),
                behind: Iterable[Behind] = ()) -> None:
    """Replace the whole base with ``tables`` in one transaction (all or nothing), with the
    conflicts this sync found (found_at, tab, key, header, base, excel, sheet, kept,
    excel_time, sheet_time)."""
    with _writing(path) as db:
        db.execute("DELETE FROM base_tabs")
        db.execute("DELETE FROM base_rows")
        db.execute("DELETE FROM base_info")
        for name, table in tables.items():
            db.execute("INSERT INTO base_tabs VALUES (?, ?, ?)",
                       (name, table.key_header, json.dumps(list(table.headers))))
            db.executemany("INSERT INTO base_rows VALUES (?, ?, ?, ?)", (
                (name, key, row.position,
                 json.dumps({h: _encode(v) for h, v in row.cells.items()},
                            ensure_ascii=False))
                for key, row in table.rows.items()))
        db.executemany("INSERT INTO base_info VALUES (?, ?)", (info or {}).items())
        db.execute("DELETE FROM behind")
        db.executemany("INSERT INTO behind VALUES (?, ?, ?, ?, ?, ?)", (
            (b.tab, b.side, b.kind, b.key, b.header,
             json.dumps(_deep(b.value, _encode), ensure_ascii=False))
            for b in behind))
        db.executemany("INSERT OR IGNORE INTO conflicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       conflicts)


def load_behind(path: Path | str) -> list[Behind]:
    """What the sides do not hold of the base yet (see :class:`Behind`)."""
    with _reading(path) as db:
        if db is None:
            return []
        out = []
        for tab, side, kind, key, header, value in db.execute(
                "SELECT tab, side, kind, key, header, value FROM behind"):
            v = _deep(json.loads(value), _decode) if value is not None else None
            out.append(Behind(tab, side, kind, key, header, v))
        return out


def caught_up(path: Path | str, side: str) -> None:
    """``side`` was written: it holds the base now."""
    with _writing(path) as db:
        db.execute("DELETE FROM behind WHERE side = ?", (side,))


def load_conflicts(path: Path | str, since: dt.datetime | None = None
                   ) -> list[tuple[str, ...]]:
    """The conflicts recorded by earlier syncs, newest first: (found_at, tab, key, header,
    base, excel, sheet, kept, excel_time, sheet_time) as text; only those found at ``since``
    or later."""
    with _reading(path) as db:
        if db is None:
            return []
        rows = db.execute("SELECT * FROM conflicts WHERE found_at >= ? "
                          "ORDER BY found_at DESC, tab, key, header, rowid",
                          ((since or dt.datetime.min).isoformat(timespec="minutes"),))
        return [tuple("" if v is None else str(v) for v in row) for row in rows]
