"""The engine's memory file: what goes in comes back out, and history is only ever added to."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from forecourt import memory as mem

AS_OF = dt.datetime(2026, 11, 23, 10)

lead_ids = st.text(alphabet="ABCDEFGHJK0123456789-", min_size=1, max_size=9)
cell = st.one_of(st.none(), st.text(max_size=12))
minutes = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)) \
    .map(lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(lead_ids, st.tuples(*[cell] * len(mem.WRITTEN_FIELDS)), max_size=30),
       st.dictionaries(lead_ids, st.tuples(st.one_of(st.none(), st.sampled_from(
           ["New", "Contacted", "Won"])), minutes, st.integers(0, 8)), max_size=30),
       st.dictionaries(st.text(min_size=1, max_size=12), st.integers(0, 2**40), max_size=5),
       st.lists(st.tuples(lead_ids, st.integers(2, 10**6), cell, st.booleans(), cell,
                          # who was passed over why: any text, "; " and ": " in it too
                          st.lists(st.tuples(st.text(max_size=10), st.text(max_size=20)),
                                   max_size=3)),
                max_size=5))
def test_what_is_saved_loads_back(tmp_path_factory, written, status, rotation, assignments):
    path = tmp_path_factory.mktemp("m") / "book.forecourt.sqlite"
    written_frame = pd.DataFrame(list(written.values()), columns=list(mem.WRITTEN_FIELDS),
                                 index=pd.Index(list(written), dtype=object), dtype=object)
    status_frame = pd.DataFrame(
        {"status": pd.Series([s for s, _, _ in status.values()], dtype=object),
         "since": pd.Series([d for _, d, _ in status.values()], dtype="datetime64[us]"),
         "furthest": pd.Series([f for _, _, f in status.values()], dtype="int64")})
    status_frame.index = pd.Index(list(status), dtype=object)
    made = mem.assignments_after(mem.Memory(), [
        (lead, row, owner or "Ann", fallback, reason or "", skipped)
        for lead, row, owner, fallback, reason, skipped in assignments])
    changes = mem.MemoryChanges(written_frame, status_frame, assignments=made,
                                rotation=dict(rotation))
    mem.save(path, mem.Memory().updated(changes), changes, as_of=AS_OF, workbook="book.xlsx")

    back = mem.load(path)
    for lead, values in written.items():
        row = back.written.loc[lead]
        assert tuple(None if pd.isna(v) else v for v in row[list(mem.WRITTEN_FIELDS)]) == values
    got = {lead: (None if pd.isna(r.status) else r.status, r.since.to_pydatetime(), r.furthest)
           for lead, r in back.status.iterrows()}
    assert got == status
    assert back.rotation == rotation
    assert list(back.assignments) == list(made)


def test_merge_keeps_leads_no_longer_in_the_workbook():
    old = pd.DataFrame({"owner": ["Anna", "Ben"]}, index=pd.Index(["L-1", "L-2"], dtype=object))
    new = pd.DataFrame({"owner": ["Cleo", "Dan", "Eve"]},
                       index=pd.Index(["L-2", "L-3", "L-3"], dtype=object))
    merged = mem.merge(old, new)
    assert merged["owner"].to_dict() == {"L-1": "Anna", "L-2": "Cleo", "L-3": "Eve"}
    copied = pd.DataFrame({"owner": ["Dan", None]}, index=pd.Index(["L-3", "L-3"], dtype=object))
    assert mem.merge(old, copied)["owner"].to_dict()["L-3"] == "Dan", \
        "a copied row without a value erased what the engine wrote on the first"


def test_assignments_are_appended_across_runs(tmp_path):
    path = tmp_path / "book.forecourt.sqlite"
    first = mem.MemoryChanges(assignments=mem.assignments_after(mem.Memory(), [
        ("L-1", 2, "Anna", False, "the only eligible person (Anna)", []),
        ("L-2", 3, "Ben", True, "nobody was eligible", [("Anna", "inactive")])]))
    mem.save(path, mem.Memory().updated(first), first, as_of=AS_OF, workbook="book.xlsx")

    second = mem.load(path)
    assert [a[:4] for a in second.assignments] == [(1, "L-1", 2, "Anna"), (2, "L-2", 3, "Ben")]
    more = mem.MemoryChanges(assignments=mem.assignments_after(second, [
        ("L-3", 4, "Anna", False, "next in rotation", [("Ben", "not chosen")])]))
    mem.save(path, second.updated(more), more, as_of=AS_OF, workbook="book.xlsx")

    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT seq, lead_id, owner FROM assignments ORDER BY seq").fetchall()
    assert rows == [(1, "L-1", "Anna"), (2, "L-2", "Ben"), (3, "L-3", "Anna")]
    assert [a[1] for a in mem.load(path, recent=2).assignments] == ["L-2", "L-3"]


@given(st.lists(st.tuples(st.text(max_size=6), st.one_of(st.none(), st.integers(-5, 5)),
                          st.one_of(st.none(), st.text(max_size=6))), max_size=12),
       st.integers(1, 5))
def test_rows_go_in_whole_in_batches_of_any_size(rows, batch):
    """Rows are inserted a batch at a time, as JSON where SQLite can; every row arrives as it
    was, in order, NUL characters and all."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a TEXT, b INTEGER, c TEXT)")
    mem._insert(db, "t", iter(rows), batch=batch)
    assert db.execute("SELECT a, b, c FROM t ORDER BY rowid").fetchall() == rows


def test_an_older_memorys_passed_over_text_still_reads(tmp_path):
    """Memories written before the passed-over list was stored as JSON pairs held the text
    "name: why; name: why"; they load as the same pairs."""
    path = tmp_path / "book.forecourt.sqlite"
    made = mem.MemoryChanges(assignments=mem.assignments_after(mem.Memory(), [
        ("L-1", 2, "Anna", False, "least busy", [("Ben", "inactive")])]))
    mem.save(path, mem.Memory().updated(made), made, as_of=AS_OF, workbook="book.xlsx")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE assignments SET skipped = ?",
                   ("Ben: inactive; Cara: at cap (5 open leads)",))
    back = mem.load(path).assignments[0]
    assert back.skipped == (("Ben", "inactive"), ("Cara", "at cap (5 open leads)"))
    assert (back.lead_id, back.owner, back.reason) == ("L-1", "Anna", "least busy")
