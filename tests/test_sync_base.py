"""The sync's base in SQLite: what is committed loads back as it was, values keeping their
type, and a commit that fails half-way leaves the old base whole."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecourt.sync.merge import Row, Table
from forecourt.sync.sync_base import commit_base, load_base

cell = st.one_of(st.just(""), st.text(max_size=12), st.integers(-10**6, 10**6),
                 st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                 st.datetimes(min_value=dt.datetime(1990, 1, 1),
                              max_value=dt.datetime(2100, 1, 1)))
headers = ["lead id", "name", "due", "owner"]


def table(rows: dict[str, list]) -> Table:
    return Table("Lead ID", ["Lead ID", "Name", "Due", "Owner"],
                 {key: Row(i + 2, dict(zip(headers, [key, *values], strict=True)))
                  for i, (key, values) in enumerate(rows.items())}, "Leads")


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.text(alphabet="ABCDEFGHJK0123456789-", min_size=1, max_size=8),
                       st.lists(cell, min_size=3, max_size=3), max_size=12))
def test_a_committed_base_loads_back_as_it_was(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("b") / "pair.sync.sqlite"
    leads = table(rows)
    commit_base(path, {"Leads": leads}, {"synced_at": "2026-11-23T10:00"})
    back, info = load_base(path)
    assert info == {"synced_at": "2026-11-23T10:00"}
    assert back["Leads"].headers == leads.headers and back["Leads"].key_header == "Lead ID"
    for key, row in leads.rows.items():
        got = back["Leads"].rows[key]
        assert got.position == row.position
        assert got.cells == row.cells
        assert [type(v) for v in got.cells.values()] == [type(v) for v in row.cells.values()]


def test_no_base_is_a_first_sync(tmp_path):
    assert load_base(tmp_path / "none.sqlite") == ({}, {})


def test_a_commit_that_fails_half_way_leaves_the_old_base_whole(tmp_path):
    path = tmp_path / "pair.sync.sqlite"
    old = table({"L-1": ["Ann", dt.datetime(2026, 11, 23, 10, 5), "Anna"]})
    commit_base(path, {"Leads": old})
    broken = table({"L-1": ["Ann", object(), "Ben"]})  # cannot be stored: fails mid-commit
    with pytest.raises(TypeError):
        commit_base(path, {"Stock": old, "Leads": broken})
    back, _ = load_base(path)
    assert list(back) == ["Leads"] and back["Leads"].rows["L-1"].cells == old.rows["L-1"].cells


def test_a_sync_killed_while_committing_leaves_the_old_base_or_the_new(tmp_path):
    """A real process killed (SIGKILL) at moments during a big commit: the base that loads
    is always the old one or the new one, whole."""
    import contextlib
    import os
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "pair.sync.sqlite"
    commit_base(path, {"Leads": table({f"L-{i}": ["old", i, "Anna"] for i in range(50)})})
    script = (
        "import sys\n"
        "from forecourt.sync.merge import Row, Table\n"
        "from forecourt.sync.sync_base import commit_base\n"
        "rows = {f'N-{i}': Row(i + 2, {'lead id': f'N-{i}', 'name': 'new ' * 20, 'due': i,"
        " 'owner': 'Ben'}) for i in range(60000)}\n"
        "print('ready', flush=True)\n"
        "commit_base(sys.argv[1], {'Leads': Table('Lead ID', ['Lead ID', 'Name', 'Due',"
        " 'Owner'], rows, 'Leads')})\n")
    seen = set()
    for delay in (0.05, 0.2, 0.4, 0.8):
        child = subprocess.Popen([sys.executable, "-c", script, str(path)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
        back, _ = load_base(path)
        count = len(back["Leads"].rows)
        assert count in (50, 60000), count
        seen.add(count)
        if count == 60000:  # the new base is in: put the old one back for the next try
            commit_base(path, {"Leads": table({f"L-{i}": ["old", i, "Anna"]
                                               for i in range(50)})})
    assert 50 in seen
