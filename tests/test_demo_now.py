"""A demo made now and run with the real clock tells one story: the State column, the live
highlighting (conditional formats with NOW(), evaluated here at the run's now) and the
"computed" stamps of the generated sheets all speak of the same moment, today."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import openpyxl
import pytest
from highlighting import matches, rules
from preserve_books import hermetic_env, run_forecourt

from forecourt.book import read_book
from forecourt.demo import demo_as_of, generate_demo
from forecourt.engine import COLOURS, STATE_WORDS
from forecourt.rules.sla import opening_hours
from forecourt.validators.vocabulary import LEAD_FIELDS, TAB_NAMES

LEADS = 300


def _now() -> dt.datetime:
    return dt.datetime.now().replace(second=0, microsecond=0)


@pytest.fixture(scope="module", params=["en", "de", "pl"])
def made_now(request, tmp_path_factory):
    """(language, written book, the run's summary, the clock before and after)."""
    language = request.param
    folder = tmp_path_factory.mktemp(f"demo-now-{language}")
    before = _now()
    book = generate_demo(folder / "demo.xlsx", LEADS, language=language)
    run = run_forecourt(book, "--json", as_of=None).ok()  # the real now, as a dealer runs it
    return language, book, run.data, before, _now()


def _run_now(summary: dict) -> dt.datetime:
    return dt.datetime.strptime(summary["as_of"], "%Y-%m-%d %H:%M")


def test_the_run_takes_the_real_now_and_the_demo_is_of_today(made_now):
    language, book, summary, before, after = made_now
    now = _run_now(summary)
    assert before <= now <= after
    wb = openpyxl.load_workbook(book, read_only=True)
    ws = wb[TAB_NAMES["leads"][language][0]]
    header = next(ws.iter_rows(max_row=1, values_only=True))
    received = header.index(LEAD_FIELDS["received_at"][language][0])
    times = [row[received] for row in ws.iter_rows(min_row=2, values_only=True)]
    wb.close()
    assert len(times) == LEADS
    assert all(t <= now for t in times), "no lead comes in after now"
    # The latest leads came in hours ago (a weekend's, when the demo is made on Monday at 6).
    assert max(times) > now - dt.timedelta(days=3), max(times)
    assert min(times) >= now - dt.timedelta(days=61)


def test_state_agrees_with_the_live_highlighting_on_every_lead_row(made_now):
    language, book, summary, *_ = made_now
    now = _run_now(summary)
    hours = opening_hours(read_book(book).settings)
    one_business_hour = hours.add(now, 60)
    state_of = {STATE_WORDS[w][language]: w for w in STATE_WORDS}
    colour_of = {fill: state for state, (fill, _font) in COLOURS.items()}

    wb = openpyxl.load_workbook(book)  # not read-only: conditional formats are needed
    ws = wb[TAB_NAMES["leads"][language][0]]
    header = [c.value for c in ws[1]]
    state_col = header.index(LEAD_FIELDS["state"][language][0]) + 1
    due_col = header.index(LEAD_FIELDS["due"][language][0]) + 1
    ours = [r for r in rules(ws) if r.fill in colour_of]
    assert {colour_of[r.fill] for r in ours} == {"overdue", "due soon", "stalled"}

    seen = {"overdue": 0, "due soon": 0, "stalled": 0}
    for row in range(2, LEADS + 2):
        lit = {colour_of[r.fill] for r in ours if r.covers(row) and matches(r, ws, row, now)}
        text = ws.cell(row, state_col).value or ""
        state = {state_of[w] for w in text.split(", ") if w} - {"check data"}
        for word in state:
            seen[word] += 1
        due = ws.cell(row, due_col).value
        where = f"row {row}: State {text!r}, highlighted {sorted(lit)}, due {due}, now {now}"
        # amber too where the next business hour is longer than a clock hour (at closing)
        assert lit == state, where
        if "due soon" in state:
            assert now <= due < one_business_hour, where
    assert seen["overdue"] and seen["stalled"], seen


def test_kpi_issues_and_log_stamps_say_today(made_now):
    _language, book, summary, before, after = made_now
    stamp = summary["as_of"]
    assert stamp[:10] in (before.strftime("%Y-%m-%d"), after.strftime("%Y-%m-%d"))
    assert summary["kpi"]["computed_at"] == stamp
    wb = openpyxl.load_workbook(book, read_only=True)
    try:
        for sheet in ("KPI", "Issues", "Log"):
            line = wb[sheet]["A2"].value
            assert stamp in line, (sheet, line)
    finally:
        wb.close()


def test_the_same_moment_gives_the_same_demo(tmp_path):
    at = dt.datetime(2027, 3, 6, 19, 41)  # a Saturday evening
    first = generate_demo(tmp_path / "a.xlsx", 80, as_of=at)
    second = generate_demo(tmp_path / "b.xlsx", 80, as_of=at)

    def values(path):
        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
        finally:
            wb.close()

    assert values(first) == values(second)


def test_the_demos_now_is_the_clock_to_the_minute_or_the_moment_given():
    before = _now()
    got = demo_as_of()
    assert before <= got <= _now() and got.second == got.microsecond == 0
    assert demo_as_of(dt.datetime(2026, 11, 23, 10, 0, 42)) == dt.datetime(2026, 11, 23, 10)
    assert demo_as_of(dt.date(2026, 11, 23)) == dt.datetime(2026, 11, 23, 10)


def test_forecourt_demo_without_as_of_is_made_and_run_now(tmp_path):
    before = _now()
    proc = subprocess.run([sys.executable, "-m", "forecourt", "demo", str(tmp_path / "demo"),
                           "--leads", "40"], capture_output=True, text=True, env=hermetic_env(),
                          cwd=tmp_path, timeout=120)
    after = _now()
    assert proc.returncode == 0, proc.stderr
    stamps = {(before + dt.timedelta(minutes=k)).strftime("%Y-%m-%d %H:%M")
              for k in range(int((after - before).total_seconds() // 60) + 1)}
    assert any(f"as of {s}:" in proc.stdout for s in stamps), proc.stdout
