"""The demo workbook: real files, re-opened with openpyxl (read-only)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import phonenumbers
import pytest
from vininfo import Vin

from forecourt.demo import LEAD_COLUMNS, STOCK_COLUMNS, TEAM_COLUMNS, generate_demo
from forecourt.settings import Settings, settings_rows
from forecourt.validators.vin import check_digit
from forecourt.validators.vocabulary import (
    CHANNELS,
    LEAD_FIELDS,
    OPEN_STATUSES,
    STATUSES,
    STOCK_FIELDS,
    STOCK_STATUSES,
    TAB_NAMES,
    TEAM_FIELDS,
)

VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
FRAME_RE = re.compile(r"^[A-Z]{2,4}\d{1,3}-\d{6,7}$")
CHECKED_WMI = "12345JKL"  # built in North America, Japan, Korea, China
KNOWN_SOURCES = {v for values in CHANNELS.values() for v in values}
REGION = {"en": "GB", "de": "DE", "pl": "PL"}
# The demo's now, pinned so the files are the same on every day the tests run (a demo made
# without it is relative to the real now: tests/test_demo_now.py).
AS_OF = dt.datetime(2026, 11, 23, 10, 0)  # a Monday, 10:00


def read(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)]
                for ws in wb.worksheets}
    finally:
        wb.close()


class Book:
    """One generated file as dicts keyed by field name (header order from the vocabulary)."""

    def __init__(self, path: Path, language: str = "en") -> None:
        self.path = path
        self.language = language
        self.sheets = read(path)
        tab = {k: TAB_NAMES[k][language][0] for k in TAB_NAMES}
        self.tabs = tab
        self.leads = self._records(tab["leads"], LEAD_FIELDS)
        self.stock = self._records(tab["stock"], STOCK_FIELDS)
        self.team = self._records(tab["team"], TEAM_FIELDS)
        self.status = {STATUSES[s][language][0]: s for s in STATUSES}
        self.stock_status = {STOCK_STATUSES[s][language][0]: s for s in STOCK_STATUSES}

    def _records(self, title: str, fields: dict) -> list[dict]:
        header, *rows = self.sheets[title]
        names = {fields[f][self.language][0]: f for f in fields}
        keys = [names[h] for h in header]
        pad = (None,) * len(keys)
        return [dict(zip(keys, row + pad[len(row):], strict=True)) for row in rows]

    def cars_by(self) -> tuple[dict, dict]:
        return ({c["vin"]: c for c in self.stock}, {c["stock_no"]: c for c in self.stock})

    def car_of(self, lead: dict) -> dict | None:
        by_vin, by_no = self.cars_by()
        vin = (lead["vin"] or "").upper().replace(" ", "")
        return by_vin.get(vin) or by_no.get(lead["stock_no"])


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("demo")
    return {n: generate_demo(root / f"demo{n}.xlsx", n, as_of=AS_OF) for n in (300, 1000)}


@pytest.fixture(scope="module")
def book(files) -> Book:
    return Book(files[300])


@pytest.fixture(scope="module")
def big(files) -> Book:
    return Book(files[1000])


def test_same_seed_same_values_other_seed_other_values(files, tmp_path):
    again = generate_demo(tmp_path / "again.xlsx", 300, as_of=AS_OF)
    assert read(again) == read(files[300])
    other = generate_demo(tmp_path / "other.xlsx", 300, seed=8, as_of=AS_OF)
    assert read(other)["Leads"] != read(files[300])["Leads"]


@pytest.mark.parametrize("size", [300, 1000])
def test_lead_count_and_stock_size(files, size):
    sheets = read(files[size])
    assert list(sheets) == ["Leads", "Stock", "Team", "Settings"]
    assert len(sheets["Leads"]) == size + 1
    assert len(sheets["Stock"]) == max(60, size // 5) + 1


def test_received_times_are_real_datetimes_in_the_window(book, files):
    wb = openpyxl.load_workbook(files[300], read_only=True)
    cells = [row[1] for row in wb["Leads"].iter_rows(min_row=2)]
    assert all(c.is_date and c.number_format == "yyyy-mm-dd hh:mm" for c in cells)
    wb.close()
    start = AS_OF - dt.timedelta(days=60)
    assert all(start <= x["received_at"] < AS_OF for x in book.leads)
    # Phone calls and walk-ins only in opening hours (Mon-Fri 9-18, Sat 9-14).
    for x in book.leads:
        if x["source"] in ("Phone", "Walk-in"):
            t = x["received_at"]
            close = 14 if t.weekday() == 5 else 18
            assert t.weekday() < 6 and 9 <= t.hour < close, x


def test_vins_are_valid_and_one_frame_number(big):
    vins = [c["vin"] for c in big.stock]
    assert len(set(vins)) == len(vins)
    assert len({c["stock_no"] for c in big.stock}) == len(vins)
    frames = [v for v in vins if not VIN_RE.match(v)]
    assert len(frames) == 1 and FRAME_RE.match(frames[0]), frames
    checked = [v for v in vins if v != frames[0] and v[0] in CHECKED_WMI]
    assert len(checked) >= 10
    for v in checked:
        assert Vin(v).verify_checksum(), v
        assert check_digit(v) == v[8]
    assert {v[0] for v in checked} >= {"1", "5", "J", "K"}
    assert sum(v[0] in "STUVWYZ" for v in vins) > len(vins) / 2  # mostly European


def test_in_transit_car_with_future_eta_is_asked_about(book):
    transit = [c for c in book.stock if book.stock_status[c["status"]] == "In transit"]
    assert transit
    assert all(c["eta"].date() > AS_OF.date() for c in transit)
    asking = {c["vin"]: 0 for c in transit}
    for lead in book.leads:
        car = book.car_of(lead)
        if car and car["vin"] in asking and book.status[lead["status"]] in OPEN_STATUSES:
            asking[car["vin"]] += 1
    assert max(asking.values()) >= 3


def test_sold_cars_won_leads_and_open_leads_asking(book):
    won = [x for x in book.leads if book.status[x["status"]] == "Won"]
    assert won
    for lead in won:
        car = book.car_of(lead)
        assert car is not None and book.stock_status[car["status"]] == "Sold", lead
    assert any(book.status[x["status"]] in OPEN_STATUSES and book.car_of(x) is not None
               and book.stock_status[book.car_of(x)["status"]] == "Sold" for x in book.leads)


def test_formula_like_name_is_stored_as_text(files):
    wb = openpyxl.load_workbook(files[300], read_only=True)
    names = [row[2] for row in wb["Leads"].iter_rows(min_row=2)]
    wb.close()
    hits = [c for c in names if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(hits) == 1
    assert hits[0].value == '=HYPERLINK("http://x")'
    assert hits[0].data_type == "s"


def test_messy_rows(book):
    assert sum(1 for x in book.leads if not x["phone"] and not x["email"]) == 1
    unknown = [x["source"] for x in book.leads if x["source"] not in KNOWN_SOURCES]
    assert unknown == ["Carrier pigeon"]
    missing_id = sum(1 for x in book.leads if x["lead_id"] is None) / len(book.leads)
    assert 0.05 < missing_id < 0.16
    ids = [x["lead_id"] for x in book.leads if x["lead_id"]]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"L-\d{6}", i) for i in ids)


def test_statuses_agree_with_the_evidence(big):
    order = list(STATUSES)
    late = 0
    for x in big.leads:
        status = big.status[x["status"]]
        received, first, last = x["received_at"], x["first_response_at"], x["last_contact_at"]
        if status == "New":
            assert first is None and x["appointment_at"] is None
            if AS_OF - received < dt.timedelta(days=3):
                late += 1
        if first is not None:
            assert first >= received and last is not None and last >= first
            assert last <= AS_OF
        if status not in ("New", "Lost"):
            assert first is not None, x
        if order.index("Appointment set") <= order.index(status) < order.index("Lost"):
            assert x["appointment_at"] is not None, x
    assert late >= 3
    future = [x for x in big.leads if x["appointment_at"] and x["appointment_at"] > AS_OF]
    assert future and all(big.status[x["status"]] in ("Appointment set", "Appointment confirmed")
                          for x in future)
    open_leads = [x for x in big.leads if big.status[x["status"]] in OPEN_STATUSES]
    no_owner = sum(1 for x in open_leads if not x["owner"]) / len(open_leads)
    assert 0.2 < no_owner < 0.4
    assert sum(1 for x in big.leads if x["next_action"]) < len(big.leads) * 0.15


def test_links_mix(big):
    n = len(big.leads)
    by_vin = sum(1 for x in big.leads if x["vin"]) / n
    by_no = sum(1 for x in big.leads if x["stock_no"] and not x["vin"]) / n
    assert 0.6 < by_vin < 0.8 and 0.05 < by_no < 0.15
    assert all(big.car_of(x) for x in big.leads if x["vin"] or x["stock_no"])


def test_duplicates_same_person_other_channel_within_30_days(big):
    channel = {v: k for k, values in CHANNELS.items() for v in values}
    seen: dict[str, dict] = {}
    pairs = 0
    for x in sorted(big.leads, key=lambda x: x["received_at"]):
        keys = []
        if x["phone"]:
            number = phonenumbers.parse(x["phone"], "GB")
            keys.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        if x["email"]:
            keys.append(x["email"].lower())
        earlier = next((seen[k] for k in keys if k in seen), None)
        if earlier is not None:
            assert x["received_at"] - earlier["received_at"] <= dt.timedelta(days=30)
            assert channel.get(x["source"]) != channel.get(earlier["source"])
            pairs += 1
        for k in keys:
            seen.setdefault(k, x)
    assert 20 <= pairs <= 40  # ~3 % of 1000


@pytest.mark.parametrize("language", ["en", "de", "pl"])
def test_language_tabs_headers_values_phones_and_settings(tmp_path, language):
    path = generate_demo(tmp_path / f"{language}.xlsx", 120, language=language, seed=3,
                         as_of=AS_OF)
    b = Book(path, language)
    assert list(b.sheets) == [TAB_NAMES[k][language][0]
                              for k in ("leads", "stock", "team", "settings")]
    for kind, fields, columns in (("leads", LEAD_FIELDS, LEAD_COLUMNS),
                                  ("stock", STOCK_FIELDS, STOCK_COLUMNS),
                                  ("team", TEAM_FIELDS, TEAM_COLUMNS)):
        header = b.sheets[b.tabs[kind]][0]
        assert header == tuple(fields[c][language][0] for c in columns)
    assert all(x["status"] in b.status for x in b.leads)
    assert all(c["status"] in b.stock_status for c in b.stock)
    yes_no = {"en": {"Yes", "No"}, "de": {"Ja", "Nein"}, "pl": {"Tak", "Nie"}}[language]
    assert {x["trade_in"] for x in b.leads} - {None} <= yes_no
    assert sum(1 for x in b.leads if x["source"] not in KNOWN_SOURCES) == 1
    for x in b.leads + b.team:
        if x["phone"]:
            number = phonenumbers.parse(x["phone"], REGION[language])
            assert phonenumbers.is_valid_number(number), x["phone"]
    no = {"en": "No", "de": "Nein", "pl": "Nie"}[language]
    assert len(b.team) == 4 and [p["active"] for p in b.team].count(no) == 1

    def trimmed(row) -> tuple:
        values = [v.date() if isinstance(v, dt.datetime) else None if v == "" else v
                  for v in row]
        while values and values[-1] is None:
            values.pop()
        return tuple(values)

    got = [trimmed(row) for row in b.sheets[b.tabs["settings"]]]
    holidays = tuple(row[1] for row in got if row and row[0] == "Holiday")
    assert len(holidays) == 2 and all(isinstance(d, dt.date) for d in holidays)
    settings = Settings(country=REGION[language], language=language, holidays=holidays)
    assert got == [trimmed(row) for row in settings_rows(settings, language)]


def test_german_holidays_in_the_window(tmp_path):
    b = Book(generate_demo(tmp_path / "de.xlsx", 30, language="de", as_of=AS_OF), "de")
    holidays = [row[1].date() for row in b.sheets["Einstellungen"] if row and row[0] == "Holiday"]
    assert holidays == [dt.date(2026, 10, 3), dt.date(2026, 10, 31)]
