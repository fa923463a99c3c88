"""The 10k demo book as a file and the same data in a Google Sheet (through the local Sheets
API stand-in): the engine decides the same owners, next actions, dues and states, and the same
KPI values, within the call budget."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import gspread
import pytest
from openpyxl import load_workbook
from sheets_standin import start, stop

from forecourt.demo import generate_demo
from forecourt.engine import run
from forecourt.sync.sheets import SheetsBackend
from forecourt.sync.sheets_client import rewriting_session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_sheet import fill_sheet  # noqa: E402

AS_OF = dt.datetime(2026, 11, 23, 10, 0)
LEADS = 10_000


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo10k")
    book = generate_demo(folder / "demo.xlsx", LEADS, as_of=AS_OF)
    server, base = start(port=0)
    try:
        client = gspread.Client(auth=None, session=rewriting_session(base))
        sheet_id = fill_sheet(client, book)
        on_file = run(book, as_of=AS_OF)
        sheet = SheetsBackend(sheet_id, client=client)
        on_sheet = run(sheet, as_of=AS_OF, state=folder / "sheet.sqlite")
        values = client.open_by_key(sheet_id).worksheet("Leads").get_all_values(
            value_render_option="UNFORMATTED_VALUE", date_time_render_option="SERIAL_NUMBER")
        yield book, on_file, on_sheet, sheet, values
    finally:
        stop(server)


def test_the_demo_as_a_sheet_gets_the_same_decisions_as_the_file(both):
    book, on_file, on_sheet, _sheet, values = both
    a, b = on_file.outcome.summary, on_sheet.outcome.summary
    for key in ("leads", "open", "overdue", "due_soon", "stalled", "assigned",
                "fallback_assigned", "cells_written", "errors", "warnings"):
        assert a[key] == b[key], key
    assert a["kpi"] == b["kpi"]
    ws = load_workbook(book, read_only=True)["Leads"]
    file_rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = [str(h) for h in file_rows[0]]
    assert values[0][:len(header)] == header
    epoch = dt.datetime(1899, 12, 30)
    differ = []
    for field in ("Lead ID", "Owner", "Next action", "Due", "Status since", "State"):
        j = header.index(field)
        for r, (mine, theirs) in enumerate(zip(file_rows[1:], values[1:], strict=False), 2):
            left = mine[j] if j < len(mine) else None
            right = theirs[j] if j < len(theirs) else ""
            if isinstance(left, dt.datetime):
                right = epoch + dt.timedelta(days=right) if right != "" else None
                same = right is not None and abs((left - right).total_seconds()) < 1
            else:
                same = ("" if left is None else str(left)) == str(right)
            if not same:
                differ.append((r, field, left, right))
    assert not differ, differ[:10]


def test_the_demo_as_a_sheet_keeps_to_the_call_budget(both):
    _book, _on_file, on_sheet, sheet, _values = both
    assert on_sheet.written
    assert sheet.api_calls <= 4 and sheet.retries == 0
