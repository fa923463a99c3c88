"""What only a Google Sheet has, checked through the session's Sheets API stand-in: the calls a
run makes (the quota is 60 a minute), tabs whose titles must be quoted in a range, the team's
own conditional formats beside forecourt's, the recalculation setting that makes ``NOW()``
move, and text that looks like a formula staying text when written RAW."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sheets_fixtures
from contract_backends import FACTORIES, Formula, differences
from contract_books import (
    AS_OF,
    BOOKS,
    MESSY,
    SMALL,
    SOLD_GOLF,
    Book,
    cell,
    field_column,
    lead_rows,
)

from forecourt.engine import run
from forecourt.sync.base import quote_sheet
from forecourt.sync.sheets import TAG

SHEET = FACTORIES["sheet"]
READ_ONLY = [("GET", "spreadsheets.get"), ("GET", "spreadsheets.values.batchGet")]
LATER = AS_OF + dt.timedelta(hours=1)


@pytest.fixture
def standin() -> sheets_fixtures.StandIn:
    return sheets_fixtures.shared()


def _calls(standin: sheets_fixtures.StandIn) -> list[tuple[str, str]]:
    return [(c["method"], c["kind"]) for c in standin.calls()]


def _rules(standin: sheets_fixtures.StandIn, backend: Any, tab: str) -> list[dict[str, Any]]:
    found = standin.api("get", f"/{backend.id}",
                        params={"fields": "sheets(properties(title),conditionalFormats)"})
    sheet = next(s for s in found["sheets"] if s["properties"]["title"] == tab)
    return sheet.get("conditionalFormats", [])


def _is_ours(rule: dict[str, Any]) -> bool:
    condition = rule.get("booleanRule", {}).get("condition", {})
    return any(TAG in str(v.get("userEnteredValue", "")) for v in condition.get("values", []))


def _sheet_id(standin: sheets_fixtures.StandIn, backend: Any, tab: str) -> int:
    found = standin.api("get", f"/{backend.id}",
                        params={"fields": "sheets(properties(sheetId,title))"})
    return next(s["properties"].get("sheetId", 0) for s in found["sheets"]
                if s["properties"]["title"] == tab)


# Calls ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("book", BOOKS, ids=[b.id for b in BOOKS])
def test_a_first_run_makes_at_most_four_calls_and_a_rerun_only_reads_in_two(book, standin,
                                                                           tmp_path):
    backend = SHEET.make(book.sheets, tmp_path)
    standin.forget_calls()

    first = run(backend, as_of=AS_OF)

    calls = standin.calls()
    assert first.written
    assert len(calls) <= 4, f"{book.id}: the first run made {len(calls)} calls: {calls}"
    assert all(c["status"] == 200 for c in calls), calls
    assert all(backend.id in c["path"] for c in calls), "a call about another file"
    standin.forget_calls()

    again = run(SHEET.reopen(backend), as_of=AS_OF)

    assert _calls(standin) == READ_ONLY, f"{book.id}: the rerun called {_calls(standin)}"
    assert again.written is False
    assert again.outcome.summary.get("changed_sheets") == []


# Titles a range must quote ----------------------------------------------------------------------

QUOTED = Book(
    id="quoted-titles", lang="en", leads="A2", header_row=MESSY.header_row, team=MESSY.team,
    closed=MESSY.closed, stock="Stöck ü",
    sheets={"A2": MESSY.sheets["Leads"], "Stöck ü": MESSY.sheets["Stock"],
            "Team": MESSY.sheets["Team"]})


def test_tabs_titled_like_a_cell_or_with_spaces_and_umlauts_are_read_and_written(standin,
                                                                                 tmp_path):
    """A tab titled ``A2`` (bare, a range of the first tab) and one titled ``Stöck ü``:
    every range names them quoted, so the Sheet ends as the same book does in a file."""
    reference = FACTORIES["xlsx"]
    in_file = reference.make(QUOTED.sheets, tmp_path / "xlsx")
    run(in_file, as_of=AS_OF)
    backend = SHEET.make(QUOTED.sheets, tmp_path / "sheet")

    assert run(backend, as_of=AS_OF).written

    sheets = SHEET.sheets(backend)
    diff = differences(reference.sheets(in_file), sheets, ("xlsx", "sheet"))
    assert not diff, "\n".join(diff[:40])
    leads, stock = sheets["A2"], sheets["Stöck ü"]
    owner = field_column(leads, QUOTED, "owner")
    assert all(cell(leads, r, owner) in QUOTED.team for r in lead_rows(leads, QUOTED)), \
        "the leads of the tab titled A2 have no owners"
    waiting = {cell(stock, r, "A"): cell(stock, r, "F") for r in range(2, 6)}
    assert waiting["WBA8E9C50GK123456"] == 1 and SOLD_GOLF in waiting, waiting
    links = SHEET.links(backend, "Issues")
    assert links and links == reference.links(in_file, "Issues")
    assert {target.rsplit("!", 1)[0] for target in links.values()} <= \
        {quote_sheet(t) for t in QUOTED.sheets}
    standin.forget_calls()

    assert run(SHEET.reopen(backend), as_of=AS_OF).written is False
    assert _calls(standin) == READ_ONLY


# Conditional formats ----------------------------------------------------------------------------

def _team_rule(sheet_id: int, formula: str, rgb: tuple[float, float, float]) -> dict[str, Any]:
    return {"ranges": [{"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": 200,
                        "startColumnIndex": 0, "endColumnIndex": 9}],
            "booleanRule": {"condition": {"type": "CUSTOM_FORMULA",
                                          "values": [{"userEnteredValue": formula}]},
                            "format": {"backgroundColor": dict(zip(("red", "green", "blue"),
                                                                   rgb, strict=True))}}}


def test_the_teams_own_rules_stay_untouched_and_forecourts_are_replaced_not_added(standin,
                                                                                  tmp_path):
    """The team's rule made before the first run (first in the list) and one made after it
    (after forecourt's) are as they were after two runs; forecourt's rules are there once,
    replaced when they change (a new lead moves their last row)."""
    backend = SHEET.make(SMALL.sheets, tmp_path)
    sheet_id = _sheet_id(standin, backend, SMALL.leads)
    before = _team_rule(sheet_id, '=$F2="Won"', (0.8, 1, 0.8))
    standin.api("post", f"/{backend.id}:batchUpdate", json={"requests": [
        {"addConditionalFormatRule": {"rule": before, "index": 0}}]})
    first_team = _rules(standin, backend, SMALL.leads)

    planned = len(run(backend, as_of=AS_OF).outcome.plan.edit(SMALL.leads).highlights)

    rules = _rules(standin, backend, SMALL.leads)
    ours = [r for r in rules if _is_ours(r)]
    assert [r for r in rules if not _is_ours(r)] == first_team
    assert planned and len(ours) == planned, \
        f"forecourt's rules after the first run: {len(ours)}, planned {planned}"
    assert rules[0] == first_team[0], "the team's first rule is no longer first"

    # The team adds a rule after forecourt's, and a person adds a lead below the others.
    after = _team_rule(sheet_id, '=$F2="Lost"', (0.9, 0.9, 0.9))
    standin.api("post", f"/{backend.id}:batchUpdate", json={"requests": [
        {"addConditionalFormatRule": {"rule": after, "index": len(rules)}}]})
    team = [r for r in _rules(standin, backend, SMALL.leads) if not _is_ours(r)]
    new_row = len(SMALL.sheets[SMALL.leads]) + 1
    SHEET.edit(backend, SMALL.leads, {(new_row, "A"): dt.datetime(2026, 11, 23, 10, 30),
                                      (new_row, "B"): "Hana Ito",
                                      (new_row, "C"): "+44 7700 900999",
                                      (new_row, "E"): "Website", (new_row, "F"): "New"})

    assert run(SHEET.reopen(backend), as_of=LATER).written

    rules = _rules(standin, backend, SMALL.leads)
    replaced = [r for r in rules if _is_ours(r)]
    assert [r for r in rules if not _is_ours(r)] == team, "the team's rules changed"
    assert len(replaced) == len(ours), \
        f"forecourt's rules: {len(ours)} after the first run, {len(replaced)} after the second"
    assert replaced != ours, "forecourt's rules were not brought up to the new last row"
    assert rules[0] == first_team[0]
    standin.forget_calls()

    assert run(SHEET.reopen(backend), as_of=LATER).written is False
    assert _rules(standin, backend, SMALL.leads) == rules
    assert ("POST", "spreadsheets.batchUpdate") not in _calls(standin)


def test_a_run_makes_the_sheet_recalculate_every_minute(standin, first_runs, tmp_path):
    """``NOW()`` in the highlighting moves while nobody edits only with autoRecalc MINUTE."""
    fresh = SHEET.make(SMALL.sheets, tmp_path)
    fields = {"fields": "properties(autoRecalc)"}
    assert standin.api("get", f"/{fresh.id}", params=fields)["properties"] \
        .get("autoRecalc", "ON_CHANGE") == "ON_CHANGE"
    ran = first_runs(SMALL)["sheet"]

    assert standin.api("get", f"/{ran.backend.id}",
                       params=fields)["properties"]["autoRecalc"] == "MINUTE"


# Text that looks like a formula -----------------------------------------------------------------

TEAM = ("=Sam", "+Priya")
FORMULA_LIKE = Book(
    id="formula-like", lang="en", leads="Leads", header_row=MESSY.header_row, team=TEAM,
    closed=MESSY.closed, stock="Stock",
    sheets={"Leads": [[{"Sam": TEAM[0], "Priya": TEAM[1]}.get(v, v) if j == 7 else v
                       for j, v in enumerate(row)] for row in MESSY.sheets["Leads"]],
            "Stock": MESSY.sheets["Stock"],
            "Team": [["Name", "Active"], [TEAM[0], "yes"], [TEAM[1], "yes"]]})


def test_names_starting_with_equals_or_plus_stay_text(standin, tmp_path):
    """The dealer's names (``=HYPERLINK(…)``, ``+Mike Jones``, ``-Rob Stone``) and the owners
    forecourt writes from the Team tab (``=Sam``, ``+Priya``) read back with
    ``valueRenderOption=FORMULA`` as the text itself, and as that text again unformatted (a
    formula would show its result); the only formulas in the Sheet are the Issues tab's links
    to cells."""
    backend = SHEET.make(FORMULA_LIKE.sheets, tmp_path)
    run(backend, as_of=AS_OF)

    ranges = [quote_sheet(t) for t in ("Leads", "Log")]
    shown = {option: standin.api("get", f"/{backend.id}/values:batchGet",
                                 params={"ranges": ranges, "valueRenderOption": option,
                                         "dateTimeRenderOption": "SERIAL_NUMBER"})
             for option in ("FORMULA", "UNFORMATTED_VALUE")}
    for option, answer in shown.items():
        leads = answer["valueRanges"][0].get("values", [])
        for r in (3, 4, 7):
            given = FORMULA_LIKE.sheets["Leads"][r - 1][1]
            assert cell(leads, r, "B") == given, f"{option}: B{r} reads {cell(leads, r, 'B')!r}"
        owner = field_column(leads, FORMULA_LIKE, "owner")
        owners = {cell(leads, r, owner) for r in lead_rows(leads, FORMULA_LIKE)}
        assert owners == set(TEAM), f"{option}: owners {owners}"
        log = answer["valueRanges"][1].get("values", [])
        assert set(TEAM) <= {v for row in log for v in row}, f"{option}: the Log shows {log}"
    formulas = [(t.title, i + 1, j + 1, c["userEnteredValue"]["formulaValue"])
                for t in SHEET.tabs(backend) for i, row in enumerate(t.cells)
                for j, c in enumerate(row) if "formulaValue" in c.get("userEnteredValue", {})]
    stray = [f for f in formulas if f[0] != "Issues" or not f[3].startswith('=HYPERLINK("#gid=')]
    assert not stray, f"text became a formula: {stray}"
    assert not any(isinstance(v, Formula) for rows in SHEET.sheets(backend).values()
                   for row in rows for v in row)
