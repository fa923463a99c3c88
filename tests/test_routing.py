"""Owners for new leads: eligibility, fair rotation, caps, fallback (DOMAIN.md "Owners and
routing"). Dates: 2026-11-21 is a Saturday, 2026-11-23 a Monday."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from forecourt.book import read_book
from forecourt.rules.routing import Assignment, assign_owners, lead_make, working_days
from forecourt.settings import Settings

SATURDAY = dt.datetime(2026, 11, 21, 10)
MONDAY = dt.datetime(2026, 11, 23, 10)

LEAD_DEFAULTS: dict[str, Any] = {"received_at": MONDAY, "status": None, "owner": None,
                                 "store": None, "stock_vin": None, "vehicle_wanted": None}
PERSON_DEFAULTS: dict[str, Any] = {"active": True, "days": None, "stores": None, "makes": None,
                                   "languages": None, "cap": float("nan")}


def leads_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    """Leads in Excel rows 2, 3, ...; ``lead_id`` L2, L3, ... unless given."""
    records = [{"row": i + 2, "lead_id": f"L{i + 2}", **LEAD_DEFAULTS, **r}
               for i, r in enumerate(rows)]
    frame = pd.DataFrame(records, columns=["row", "lead_id", *LEAD_DEFAULTS])
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    return frame.astype({c: object for c in ("status", "owner", "store", "stock_vin",
                                             "vehicle_wanted")})


def team_frame(*people: str | dict[str, Any]) -> pd.DataFrame:
    records = [{"name": p} if isinstance(p, str) else p for p in people]
    frame = pd.DataFrame([{"row": i + 2, **PERSON_DEFAULTS, **r}
                          for i, r in enumerate(records)])
    frame["active"] = frame["active"].astype("boolean")
    frame["cap"] = frame["cap"].astype("float64")
    return frame


STOCK = pd.DataFrame({"vin": ["WBA8G110X0K123456", "WVWZZZAUZKW123456"],
                      "make": ["BMW", "Volkswagen"], "model": ["320d Touring", "Golf"],
                      "store": ["Berlin", "Potsdam"]})
NO_STOCK = pd.DataFrame({"vin": [], "make": [], "model": [], "store": []}, dtype=object)


def route(leads: pd.DataFrame, team: pd.DataFrame, *, stock: pd.DataFrame = NO_STOCK,
          rotation: dict[str, int] | None = None, fallback: str | None = None,
          needs: pd.Series | None = None) -> list[Assignment]:
    if needs is None:
        needs = leads["owner"].isna()
    return assign_owners(leads, stock, team, Settings(fallback_owner=fallback),
                         {} if rotation is None else rotation, needs)


def owners(assignments: list[Assignment]) -> list[str]:
    return [a.owner for a in assignments]


# ---------------------------------------------------------------------------------------------
# Working days
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "days"), [
    ("Mon-Fri", {0, 1, 2, 3, 4}),
    ("Tue-Sat", {1, 2, 3, 4, 5}),
    ("Mon, Wed, Fri", {0, 2, 4}),
    ("Monday to Friday", {0, 1, 2, 3, 4}),
    ("Sat-Mon", {5, 6, 0}),
    ("Mon–Fri, Sun", {0, 1, 2, 3, 4, 6}),
    # German
    ("Mo-Fr", {0, 1, 2, 3, 4}),
    ("Mo,Di,Mi", {0, 1, 2}),
    ("Di, Do", {1, 3}),
    ("Mo.-Fr.", {0, 1, 2, 3, 4}),
    ("Mo bis Do", {0, 1, 2, 3}),
    ("Mo Do Fr", {0, 3, 4}),
    ("Sa/So", {5, 6}),
    # Polish
    ("Pn-Pt", {0, 1, 2, 3, 4}),
    ("Wt-Sob", {1, 2, 3, 4, 5}),
    ("Pn do Pt", {0, 1, 2, 3, 4}),
    ("Pon, Śr, Pt", {0, 2, 4}),
    # every day
    ("", set(range(7))),
    (None, set(range(7))),
    ("daily", set(range(7))),
    ("täglich", set(range(7))),
])
def test_working_days_reads_english_german_and_polish(text: str | None, days: set[int]) -> None:
    assert working_days(text) == days


@pytest.mark.parametrize("text", ["Weekdays only", "Mon-", "-Fri", "Mon-Fri 9-17", "Mon--Fri"])
def test_working_days_rejects_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):
        working_days(text)


# ---------------------------------------------------------------------------------------------
# Makes
# ---------------------------------------------------------------------------------------------

def test_lead_make_comes_from_the_linked_car_then_from_the_text() -> None:
    leads = leads_frame(
        {"stock_vin": "WBA8G110X0K123456", "vehicle_wanted": "Audi A4 or that BMW"},
        {"vehicle_wanted": "VW Golf or similar"},
        {"vehicle_wanted": "Mercedes C-Klasse, Automatik"},
        {"vehicle_wanted": "Škoda Octavia kombi"},
        {"vehicle_wanted": "Land Rover Discovery"},
        {"vehicle_wanted": "7 seat SUV under 20k"},
        {"vehicle_wanted": "Seat Leon"},
        {"stock_vin": "WDD00000000000000", "vehicle_wanted": None},
    )
    assert lead_make(leads, STOCK).tolist() == [
        "BMW", "Volkswagen", "Mercedes-Benz", "Škoda", "Land Rover", None, "Seat", None]


# ---------------------------------------------------------------------------------------------
# Eligibility
# ---------------------------------------------------------------------------------------------

def test_inactive_person_is_skipped_with_reason() -> None:
    team = team_frame({"name": "Anna", "active": False}, "Ben")
    [a] = route(leads_frame({}), team)
    assert a.owner == "Ben"
    assert not a.fallback
    assert a.skipped == [("Anna", "inactive")]


def test_missing_active_counts_as_active() -> None:
    team = team_frame({"name": "Anna", "active": pd.NA}, "Ben")
    assert route(leads_frame({}), team)[0].owner == "Anna"


@pytest.mark.parametrize("weekdays", ["Mon-Fri", "Mo-Fr", "Pn-Pt"])
def test_saturday_lead_never_goes_to_a_mon_fri_person(weekdays: str) -> None:
    team = team_frame({"name": "Anna", "days": weekdays}, {"name": "Ben", "days": "Tue-Sat"})
    result = route(leads_frame(*[{"received_at": SATURDAY}] * 4), team)
    assert owners(result) == ["Ben"] * 4
    assert all(a.skipped == [("Anna", "does not work on Saturday")] for a in result)


def test_lead_without_received_time_can_go_to_anyone() -> None:
    team = team_frame({"name": "Anna", "days": "Sun"})
    [a] = route(leads_frame({"received_at": None}), team)
    assert (a.owner, a.fallback) == ("Anna", False)


def test_store_filter_sends_a_potsdam_lead_to_someone_at_potsdam() -> None:
    team = team_frame({"name": "Anna", "stores": "Berlin"},
                      {"name": "Ben", "stores": "Berlin; potsdam"}, "Cara")
    result = route(leads_frame({"store": "Potsdam"}, {"store": "Potsdam"}, {"store": None}),
                   team)
    assert owners(result) == ["Ben", "Cara", "Anna"]
    assert ("Anna", "not at store Potsdam") in result[0].skipped


def test_make_filter_uses_the_linked_car_and_the_vehicle_wanted() -> None:
    team = team_frame({"name": "Anna", "makes": "BMW, Mini"},
                      {"name": "Ben", "makes": "VW / Skoda"})
    leads = leads_frame({"stock_vin": "WBA8G110X0K123456"},
                        {"vehicle_wanted": "Volkswagen Golf"},
                        {"vehicle_wanted": "Mini Cooper"},
                        {"vehicle_wanted": "Anything automatic"})
    result = route(leads, team, stock=STOCK)
    assert owners(result) == ["Anna", "Ben", "Anna", "Ben"]
    assert result[0].skipped == [("Ben", "does not take BMW")]
    assert result[1].skipped == [("Anna", "does not take Volkswagen")]


def test_cap_counts_open_leads_including_ones_assigned_in_the_same_call() -> None:
    team = team_frame({"name": "Anna", "cap": 2}, "Ben")
    leads = leads_frame(
        {"owner": "anna", "status": "Contacted"},  # open: counts towards Anna's cap
        {"owner": "Anna", "status": "Won"},  # closed: does not
        {"owner": "Anna", "status": "Lost"},
        *[{} for _ in range(4)],
    )
    result = route(leads, team)
    assert owners(result) == ["Anna", "Ben", "Ben", "Ben"]
    assert ("Anna", "at cap (2 open leads)") in result[1].skipped
    assert ("Anna", "at cap (2 open leads)") in result[3].skipped


def test_everyone_at_cap_falls_back_and_says_why() -> None:
    team = team_frame({"name": "Anna", "cap": 1}, {"name": "Ben", "cap": 0})
    result = route(leads_frame({}, {}), team)
    assert owners(result) == ["Anna", "Anna"]
    assert [a.fallback for a in result] == [False, True]
    assert "Anna: at cap (1 open lead)" in result[1].reason
    assert "Ben: at cap (0 open leads)" in result[1].reason


# ---------------------------------------------------------------------------------------------
# Fair rotation
# ---------------------------------------------------------------------------------------------

def test_three_eligible_people_share_six_leads_in_team_order() -> None:
    rotation: dict[str, int] = {}
    result = route(leads_frame(*[{}] * 6), team_frame("Anna", "Ben", "Cara"), rotation=rotation)
    assert owners(result) == ["Anna", "Ben", "Cara"] * 2
    assert Counter(owners(result)) == {"Anna": 2, "Ben": 2, "Cara": 2}
    assert rotation == {"Anna": 4, "Ben": 5, "Cara": 6}
    assert result[0].reason == "next in rotation among Anna, Ben, Cara (eligible)"
    assert result[0].skipped == [("Ben", "later on the Team tab than Anna"),
                                 ("Cara", "later on the Team tab than Anna")]


def test_person_assigned_recently_goes_last() -> None:
    rotation = {"Anna": 7, "Ben": 3}
    result = route(leads_frame(*[{}] * 3), team_frame("Anna", "Ben", "Cara"), rotation=rotation)
    assert owners(result) == ["Cara", "Ben", "Anna"]
    assert ("Anna", "assigned more recently than Cara") in result[0].skipped
    assert rotation == {"Anna": 10, "Ben": 9, "Cara": 8}


def test_oldest_lead_is_assigned_first_and_undated_ones_last() -> None:
    leads = leads_frame({"received_at": MONDAY}, {"received_at": None},
                        {"received_at": SATURDAY}, {"received_at": SATURDAY})
    result = route(leads, team_frame("Anna", "Ben", "Cara", "Dan"))
    assert [(a.row, a.owner) for a in result] == [(4, "Anna"), (5, "Ben"), (2, "Cara"),
                                                   (3, "Dan")]


def test_only_leads_that_need_an_owner_are_assigned() -> None:
    leads = leads_frame({}, {"owner": "Ben"}, {})
    needs = pd.Series([True, False, False], index=leads.index)
    result = route(leads, team_frame("Anna", "Ben"), needs=needs)
    assert [(a.index, a.row, a.lead_id, a.owner) for a in result] == [(0, 2, "L2", "Anna")]


def test_names_match_case_insensitively_and_the_team_spelling_is_written() -> None:
    rotation = {"anna  WEBER": 4}
    leads = leads_frame({"owner": "ANNA WEBER", "status": "New"}, {}, {})
    result = route(leads, team_frame({"name": "Anna Weber", "cap": 2}, "Ben Ode"),
                   rotation=rotation)
    assert owners(result) == ["Ben Ode", "Anna Weber"]
    assert rotation == {"Ben Ode": 5, "Anna Weber": 6}


def test_single_eligible_person_is_named_in_the_reason() -> None:
    [a] = route(leads_frame({}), team_frame({"name": "Anna", "active": False}, "Ben"))
    assert a.reason == "the only eligible person (Ben)"


# ---------------------------------------------------------------------------------------------
# Fallback
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fallback", "owner", "how"), [
    ("Dana Boss", "Dana Boss", "the fallback owner from Settings"),
    ("ben", "Ben", "the fallback owner from Settings"),
    (None, "Anna", "the first person on the Team tab"),
])
def test_nobody_eligible_goes_to_the_fallback_owner(fallback: str | None, owner: str,
                                                    how: str) -> None:
    team = team_frame({"name": "Anna", "active": False},
                      {"name": "Ben", "days": "Mon-Fri"})
    rotation: dict[str, int] = {}
    [a] = route(leads_frame({"received_at": SATURDAY}), team, fallback=fallback,
                rotation=rotation)
    assert (a.owner, a.fallback) == (owner, True)
    assert a.reason == ("nobody was eligible (Anna: inactive; Ben: does not work on "
                        f"Saturday), so {how}")
    assert rotation == {}


def test_empty_team_assigns_nobody() -> None:
    team = team_frame("Anna").iloc[0:0]
    assert route(leads_frame({}), team, fallback="Dana") == []


# ---------------------------------------------------------------------------------------------
# Properties and scale
# ---------------------------------------------------------------------------------------------

@given(n_leads=st.integers(0, 60), n_people=st.integers(1, 6),
       history=st.lists(st.integers(0, 20), min_size=6, max_size=6),
       minutes=st.lists(st.integers(0, 60 * 24 * 14), min_size=60, max_size=60))
@settings(max_examples=60, deadline=None)
def test_everyone_eligible_shares_leads_within_one(n_leads: int, n_people: int,
                                                   history: list[int],
                                                   minutes: list[int]) -> None:
    names = [f"P{i}" for i in range(n_people)]
    rotation = {name: seq for name, seq in zip(names, history, strict=False) if seq}
    leads = leads_frame(*[{"received_at": MONDAY + dt.timedelta(minutes=m)}
                          for m in minutes[:n_leads]])
    result = route(leads, team_frame(*names), rotation=rotation)
    counts = Counter(owners(result))
    per_person = [counts.get(name, 0) for name in names]
    assert len(result) == n_leads
    assert max(per_person) - min(per_person) <= 1


# ---------------------------------------------------------------------------------------------
# Through a real workbook
# ---------------------------------------------------------------------------------------------

def write_workbook(path: Path) -> Path:
    """Leads rows 2-6: Saturday Berlin VW; Saturday Potsdam BMW; Monday Berlin; Monday, already
    Anna's (counts to her cap); Tuesday Berlin. Team: Anna (Mo-Fr, Berlin, cap 2), Jonas
    (Di-Sa, Berlin/Potsdam, VW), Mehmet (Mo-Sa, Potsdam, BMW), Thomas (inactive)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Owner", "Store",
               "Vehicle wanted"])
    ws.append(["A-1", SATURDAY, "Kai Lange", "+4917612345671", "WhatsApp", "Neu", None,
               "Berlin", "VW Golf oder ähnlich"])
    ws.append(["A-2", SATURDAY + dt.timedelta(hours=1), "Eva Roth", "+4917612345672",
               "mobile.de", None, None, "Potsdam", "BMW X3"])
    ws.append(["A-3", MONDAY, "Uwe Kern", "+4917612345673", "Telefon", "Neu", None, "Berlin",
               None])
    ws.append(["A-4", MONDAY, "Ida Holz", "+4917612345674", "E-Mail", "Kontaktiert",
               "anna weber", "Berlin", None])
    ws.append(["A-5", MONDAY + dt.timedelta(days=1), "Tim Berg", "+4917612345675", "WhatsApp",
               "Neu", None, "Berlin", None])
    team = wb.create_sheet("Team")
    team.append(["Name", "Aktiv", "Arbeitstage", "Filialen", "Marken", "Sprachen", "Limit"])
    team.append(["Anna Weber", "ja", "Mo-Fr", "Berlin", None, "DE, EN", 2])
    team.append(["Jonas Becker", "ja", "Di-Sa", "Berlin, Potsdam", "VW", "DE", None])
    team.append(["Mehmet Yılmaz", "ja", "Mo-Sa", "Potsdam", "BMW, Mini", "DE, TR", None])
    team.append(["Thomas Krüger", "nein", "Mo-Fr", "Potsdam", None, "DE", None])
    path = path / "dealer.xlsx"
    wb.save(path)
    return path


def test_owners_for_a_real_workbook(tmp_path: Path) -> None:
    book = read_book(write_workbook(tmp_path))
    needs = book.leads["owner"].isna()
    rotation: dict[str, int] = {}
    result = assign_owners(book.leads, book.stock, book.team, book.settings, rotation, needs)
    assert [(a.lead_id, a.row, a.owner, a.fallback) for a in result] == [
        ("A-1", 2, "Jonas Becker", False),
        ("A-2", 3, "Mehmet Yılmaz", False),
        ("A-3", 4, "Anna Weber", False),  # Jonas is off on Monday
        ("A-5", 6, "Jonas Becker", False),  # Anna at cap 2, Mehmet not Berlin
    ]
    assert dict(result[0].skipped) == {
        "Anna Weber": "does not work on Saturday",
        "Mehmet Yılmaz": "not at store Berlin",
        "Thomas Krüger": "inactive",
    }
    assert dict(result[1].skipped)["Jonas Becker"] == "does not take BMW"
    assert dict(result[3].skipped)["Anna Weber"] == "at cap (2 open leads)"
    assert rotation == {"Jonas Becker": 4, "Mehmet Yılmaz": 2, "Anna Weber": 3}
