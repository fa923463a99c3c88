"""Next actions and due times: every row of DOMAIN.md's SLA table, on the clock of a real week.

The week: Saturday 21 Nov 2026 (open 09:00-14:00), Sunday 22 (closed), Monday 23 (09:00-18:00),
Tuesday 24 (a holiday in these Settings), Wednesday 25 ... Expected times are worked out by hand
from the opening hours, not by calling the code under test.
"""

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from forecourt.book import read_book
from forecourt.rules.sla import (
    next_actions,
    opening_hours,
    similar_cars,
    waiting_buyers,
)
from forecourt.settings import Settings

HOLIDAY = dt.date(2026, 11, 24)  # a Tuesday
SETTINGS = replace(Settings(), holidays=(HOLIDAY,))
AS_OF = dt.datetime(2026, 11, 23, 10, 0)
LONG_AGO = "2026-11-01 10:00"


def at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------
# Frames as read_book builds them
# ---------------------------------------------------------------------------------------------

TIME_COLUMNS = ("received_at", "first_response_at", "last_contact_at", "appointment_at")
TEXT_COLUMNS = ("lead_id", "channel", "status", "stock_vin", "vin", "stock_no", "vehicle_wanted",
                "raw_status")


def leads_frame(*rows: dict, index=None) -> pd.DataFrame:
    def times(col):
        return pd.Series(
            [at(r[col]) if r.get(col) else None for r in rows], dtype="datetime64[us]"
        )

    data = {"row": pd.Series(range(2, len(rows) + 2), dtype="int64")}
    data.update({c: pd.Series([r.get(c) for r in rows], dtype=object) for c in TEXT_COLUMNS})
    data.update({c: times(c) for c in TIME_COLUMNS})
    data["trade_in"] = pd.Series([r.get("trade_in") for r in rows], dtype="boolean")
    for c in ("valuation", "budget"):
        data[c] = pd.Series([r.get(c) for r in rows], dtype="float64")
    frame = pd.DataFrame(data)
    return frame if index is None else frame.set_axis(index)


def stock_frame(*rows: tuple, index=None) -> pd.DataFrame:
    """Rows of (vin, stock_no, make, model, body, price, status, eta)."""
    columns = ("vin", "stock_no", "make", "model", "body", "price", "status", "eta")
    frame = pd.DataFrame([dict(zip(columns, r, strict=True)) for r in rows], columns=columns)
    frame["price"] = frame["price"].astype("float64")
    frame["eta"] = pd.to_datetime(frame["eta"]).astype("datetime64[us]")
    frame.insert(0, "row", range(2, len(rows) + 2))
    frame["year"] = 2019.0
    return frame if index is None else frame.set_axis(index)


NO_STOCK = stock_frame()


def one(lead: dict, stock=NO_STOCK, language="en", as_of=AS_OF, sla_settings=SETTINGS):
    """The next action of a single lead, as a plain (action, due, rule) tuple."""
    result = next_actions(leads_frame(lead), stock, sla_settings, language, as_of).iloc[0]
    due = None if pd.isna(result["due"]) else result["due"].to_pydatetime()
    return result["next_action"], due, result["rule"]


# ---------------------------------------------------------------------------------------------
# Every SLA row, across the week
# ---------------------------------------------------------------------------------------------

MOMENTS = {
    "weekday": "2026-11-23 10:00",  # Monday morning
    "evening": "2026-11-25 20:30",  # Wednesday after closing
    "saturday afternoon": "2026-11-21 13:58",  # two minutes before Saturday closing
    "sunday": "2026-11-22 11:00",  # closed all day
    "holiday": "2026-11-24 10:00",  # Tuesday, closed for the holiday
}

# Business minutes from each moment above (same order), worked out by hand.
BUSINESS = {
    5: ("2026-11-23 10:05", "2026-11-26 09:05", "2026-11-23 09:03", "2026-11-23 09:05",
        "2026-11-25 09:05"),
    10: ("2026-11-23 10:10", "2026-11-26 09:10", "2026-11-23 09:08", "2026-11-23 09:10",
         "2026-11-25 09:10"),
    15: ("2026-11-23 10:15", "2026-11-26 09:15", "2026-11-23 09:13", "2026-11-23 09:15",
         "2026-11-25 09:15"),
    60: ("2026-11-23 11:00", "2026-11-26 10:00", "2026-11-23 09:58", "2026-11-23 10:00",
         "2026-11-25 10:00"),
    120: ("2026-11-23 12:00", "2026-11-26 11:00", "2026-11-23 10:58", "2026-11-23 11:00",
          "2026-11-25 11:00"),
    240: ("2026-11-23 14:00", "2026-11-26 13:00", "2026-11-23 12:58", "2026-11-23 13:00",
          "2026-11-25 13:00"),
    # 8 h from Monday 10:00 ends exactly at closing: due at 18:00, not the next morning.
    480: ("2026-11-23 18:00", "2026-11-26 17:00", "2026-11-23 16:58", "2026-11-23 17:00",
          "2026-11-25 17:00"),
    # 16 h jumps the Tuesday holiday.
    960: ("2026-11-25 17:00", "2026-11-27 16:00", "2026-11-25 15:58", "2026-11-25 16:00",
          "2026-11-26 16:00"),
}
DAY_BEFORE = ("2026-11-22 10:00", "2026-11-24 20:30", "2026-11-20 13:58", "2026-11-21 11:00",
              "2026-11-23 10:00")  # 24 calendar hours earlier, closed or not
AT_THE_MOMENT = tuple(MOMENTS.values())
THIRTY_DAYS_LATER = ("2026-12-23 10:00", "2026-12-25 20:30", "2026-12-21 13:58",
                     "2026-12-22 11:00", "2026-12-24 10:00")

# trigger -> (the lead, given the moment m; the next action; due times over MOMENTS)
SLA_ROWS = {
    "New lead, chat": (lambda m: {"channel": "chat", "received_at": m}, "first reply",
                       BUSINESS[5]),
    "New lead, phone": (lambda m: {"channel": "phone", "received_at": m}, "call back",
                        BUSINESS[10]),
    "New lead, form": (lambda m: {"channel": "form", "received_at": m}, "first reply",
                       BUSINESS[15]),
    "New lead, email": (lambda m: {"channel": "email", "received_at": m}, "first reply",
                        BUSINESS[60]),
    "New lead, walk-in": (lambda m: {"channel": "walk-in", "received_at": m},
                          "follow up after visit", BUSINESS[480]),
    "New lead, other": (lambda m: {"channel": "other", "received_at": m}, "first reply",
                        BUSINESS[480]),
    "Trade-in asked": (lambda m: {"status": "Contacted", "received_at": m, "last_contact_at": m,
                                  "trade_in": True}, "book valuation", BUSINESS[60]),
    "Attempting contact": (lambda m: {"status": "Attempting contact", "received_at": LONG_AGO,
                                      "last_contact_at": m}, "next attempt", BUSINESS[240]),
    "Contacted": (lambda m: {"status": "Contacted", "received_at": LONG_AGO,
                             "last_contact_at": m}, "follow up", BUSINESS[480]),
    "Appointment set": (lambda m: {"status": "Appointment set", "received_at": LONG_AGO,
                                   "last_contact_at": LONG_AGO, "appointment_at": m},
                        "confirm appointment", DAY_BEFORE),
    "Appointment confirmed": (lambda m: {"status": "Appointment confirmed",
                                         "received_at": LONG_AGO, "appointment_at": m},
                              "meet the customer", AT_THE_MOMENT),
    "Shown": (lambda m: {"status": "Shown", "received_at": LONG_AGO, "appointment_at": m},
              "follow up after visit", BUSINESS[480]),
    "No show": (lambda m: {"status": "No show", "received_at": LONG_AGO, "appointment_at": m},
                "recovery call", BUSINESS[120]),
    "Offer sent": (lambda m: {"status": "Offer sent", "received_at": LONG_AGO,
                              "last_contact_at": m}, "follow up on offer", BUSINESS[480]),
    "Deposit taken": (lambda m: {"status": "Deposit taken", "received_at": LONG_AGO,
                                 "last_contact_at": m}, "paperwork and handover", BUSINESS[960]),
    "Won": (lambda m: {"status": "Won", "received_at": LONG_AGO, "last_contact_at": m},
            "retention check-in", THIRTY_DAYS_LATER),
    # A status forecourt cannot read: still open work, and somebody checks what it means.
    "Status unknown": (lambda m: {"raw_status": "Waiting on finance", "received_at": LONG_AGO,
                                  "last_contact_at": m}, "check the status", BUSINESS[60]),
}


def test_the_table_covers_every_trigger_in_the_settings():
    assert set(SLA_ROWS) == {r.trigger for r in Settings().sla}


@pytest.mark.parametrize("moment", list(MOMENTS))
@pytest.mark.parametrize("trigger", list(SLA_ROWS))
def test_every_sla_row_is_due_at_the_exact_time_across_the_week(trigger, moment):
    make_lead, action, dues = SLA_ROWS[trigger]
    expected_due = dues[list(MOMENTS).index(moment)]
    assert one(make_lead(MOMENTS[moment])) == (action, at(expected_due), trigger)


def test_whatsapp_lead_on_saturday_afternoon_is_due_monday_morning():
    lead = {"channel": "chat", "received_at": "2026-11-21 13:58"}
    assert one(lead) == ("first reply", at("2026-11-23 09:03"), "New lead, chat")


def test_whole_frame_keeps_the_callers_index_and_types():
    leads = leads_frame(
        {"channel": "chat", "received_at": "2026-11-23 10:00"},
        {"status": "Lost", "received_at": "2026-11-23 10:00"},
        index=[7, 3],
    )
    result = next_actions(leads, NO_STOCK, SETTINGS, "en", AS_OF)
    assert list(result.index) == [7, 3]
    assert list(result.columns) == ["next_action", "due", "rule"]
    assert str(result["due"].dtype) == "datetime64[us]"
    assert result.loc[7, "due"] == pd.Timestamp("2026-11-23 10:05")
    assert result.loc[3, "next_action"] is None and pd.isna(result.loc[3, "due"])


# ---------------------------------------------------------------------------------------------
# Anchors, fallbacks and no action
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        pytest.param(
            {"status": "New", "channel": "chat", "received_at": "2026-11-23 09:00",
             "first_response_at": "2026-11-23 09:02", "last_contact_at": "2026-11-23 10:00"},
            ("follow up", "2026-11-23 18:00", "Contacted"),
            id="new-lead-already-answered-is-treated-as-contacted",
        ),
        pytest.param(
            {"channel": "email", "received_at": "2026-11-23 09:00",
             "first_response_at": "2026-11-23 10:00"},
            ("follow up", "2026-11-23 18:00", "Contacted"),
            id="answered-lead-without-last-contact-counts-from-first-response",
        ),
        pytest.param(
            {"channel": None, "received_at": "2026-11-23 10:00"},
            ("first reply", "2026-11-23 18:00", "New lead, other"),
            id="lead-without-a-known-channel-is-other",
        ),
        pytest.param(
            {"channel": "walk-in", "received_at": "2026-11-23 10:00",
             "first_response_at": "2026-11-23 10:00"},
            ("follow up after visit", "2026-11-23 18:00", "New lead, walk-in"),
            id="walk-in-whose-first-response-is-the-visit-stays-on-the-walk-in-rule",
        ),
        pytest.param(
            {"status": "Attempting contact", "received_at": "2026-11-23 10:00"},
            ("next attempt", "2026-11-23 14:00", "Attempting contact"),
            id="attempting-contact-without-any-contact-counts-from-received",
        ),
        pytest.param(
            {"status": "Appointment set", "received_at": LONG_AGO,
             "last_contact_at": "2026-11-23 10:00"},
            ("follow up", "2026-11-23 18:00", "Contacted"),
            id="appointment-set-without-a-time-is-followed-up-like-contacted",
        ),
        pytest.param(
            {"status": "Won", "received_at": "2026-11-23 10:00"},
            ("retention check-in", "2026-12-23 10:00", "Won"),
            id="won-without-last-contact-counts-thirty-days-from-received",
        ),
        pytest.param(
            {"status": "Shown", "received_at": LONG_AGO, "last_contact_at": "2026-11-23 10:00"},
            ("follow up after visit", "2026-11-23 18:00", "Shown"),
            id="shown-without-appointment-time-counts-from-last-contact",
        ),
    ],
)
def test_missing_anchors_fall_back_as_a_dealer_expects(lead, expected):
    action, due, rule = expected
    assert one(lead) == (action, at(due), rule)


@pytest.mark.parametrize(
    "lead",
    [
        pytest.param({"status": "Lost", "received_at": "2026-11-23 10:00",
                      "last_contact_at": "2026-11-23 11:00", "trade_in": True}, id="lost"),
        pytest.param({"channel": "chat"}, id="new-lead-without-received-time"),
        pytest.param({"status": "Contacted"}, id="contacted-without-any-time"),
        pytest.param({"status": "Won", "trade_in": True}, id="won-without-any-time"),
    ],
)
def test_leads_with_nothing_to_do_or_nothing_to_count_from_get_no_action(lead):
    assert one(lead) == (None, None, None)


# ---------------------------------------------------------------------------------------------
# Two rules on one lead: the earlier due wins
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        pytest.param(
            {"status": "Contacted", "received_at": "2026-11-23 09:30",
             "last_contact_at": "2026-11-23 10:00", "trade_in": True},
            ("book valuation", "2026-11-23 10:30", "Trade-in asked"),
            id="trade-in-valuation-before-the-follow-up",
        ),
        pytest.param(
            {"channel": "chat", "received_at": "2026-11-23 10:00", "trade_in": True},
            ("first reply", "2026-11-23 10:05", "New lead, chat"),
            id="chat-reply-before-the-valuation",
        ),
        pytest.param(
            {"status": "Appointment confirmed", "received_at": "2026-11-23 10:00",
             "appointment_at": "2026-11-23 10:30", "trade_in": True},
            ("meet the customer", "2026-11-23 10:30", "Appointment confirmed"),
            id="appointment-before-the-valuation",
        ),
        pytest.param(
            {"status": "Contacted", "received_at": "2026-11-23 09:30",
             "last_contact_at": "2026-11-23 10:00", "trade_in": True, "valuation": 4500.0},
            ("follow up", "2026-11-23 18:00", "Contacted"),
            id="valued-trade-in-asks-nothing",
        ),
        pytest.param(
            {"status": "Contacted", "received_at": "2026-11-23 09:30",
             "last_contact_at": "2026-11-23 10:00", "trade_in": False},
            ("follow up", "2026-11-23 18:00", "Contacted"),
            id="no-trade-in",
        ),
        pytest.param(
            {"status": "Won", "received_at": "2026-11-23 09:30",
             "last_contact_at": "2026-11-23 10:00", "trade_in": True},
            ("retention check-in", "2026-12-23 10:00", "Won"),
            id="won-lead-is-not-asked-for-a-valuation",
        ),
    ],
)
def test_the_earlier_due_wins_and_names_the_next_action(lead, expected):
    action, due, rule = expected
    assert one(lead) == (action, at(due), rule)


@pytest.mark.parametrize(
    ("last_contact", "due"),
    [
        ("2026-11-20 12:00", "2026-11-24 15:00"),  # booked days ago: 24 h before
        ("2026-11-24 16:00", "2026-11-24 16:00"),  # booked the day before: not before booking
    ],
)
def test_appointment_is_confirmed_a_day_before_but_not_before_it_was_booked(last_contact, due):
    lead = {"status": "Appointment set", "received_at": LONG_AGO,
            "last_contact_at": last_contact, "appointment_at": "2026-11-25 15:00"}
    assert one(lead) == ("confirm appointment", at(due), "Appointment set")


def test_won_customer_gets_a_check_in_thirty_calendar_days_after_last_contact():
    lead = {"status": "Won", "received_at": LONG_AGO, "last_contact_at": "2026-12-20 17:45"}
    assert one(lead) == ("retention check-in", at("2027-01-19 17:45"), "Won")


# ---------------------------------------------------------------------------------------------
# Languages
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "lead", "text"),
    [
        ("de", {"channel": "chat", "received_at": "2026-11-23 10:00"}, "erste Antwort"),
        ("de", {"channel": "phone", "received_at": "2026-11-23 10:00"}, "zurückrufen"),
        ("de", {"status": "Contacted", "last_contact_at": "2026-11-23 10:00"}, "nachfassen"),
        ("de", {"status": "Appointment set", "appointment_at": "2026-11-25 10:00"},
         "Termin bestätigen"),
        ("de", {"status": "Contacted", "received_at": "2026-11-23 10:00",
                "last_contact_at": "2026-11-23 10:00", "trade_in": True},
         "Bewertung vereinbaren"),
        ("pl", {"channel": "chat", "received_at": "2026-11-23 10:00"}, "pierwsza odpowiedź"),
        ("pl", {"channel": "phone", "received_at": "2026-11-23 10:00"}, "oddzwonić"),
        ("pl", {"status": "Contacted", "last_contact_at": "2026-11-23 10:00"},
         "kontakt ponowny"),
        ("pl", {"status": "Appointment set", "appointment_at": "2026-11-25 10:00"},
         "potwierdzić spotkanie"),
        ("pl", {"status": "Contacted", "received_at": "2026-11-23 10:00",
                "last_contact_at": "2026-11-23 10:00", "trade_in": True}, "umówić wycenę"),
        ("fr", {"channel": "chat", "received_at": "2026-11-23 10:00"}, "first reply"),
    ],
)
def test_next_action_is_written_in_the_dealers_language(language, lead, text):
    assert one(lead, language=language)[0] == text


# ---------------------------------------------------------------------------------------------
# The car: similar cars, arrival dates, buyers waiting
# ---------------------------------------------------------------------------------------------


def vin(n: int) -> str:
    return f"WVWZZZ1KZAW{n:06d}"


SOLD_GOLF = vin(1)
TRANSIT_GOLF = vin(10)
STOCK = stock_frame(
    (SOLD_GOLF, "S-0001", "VW", "Golf", "Hatchback", 15000, "Sold", None),  # the car asked
    (vin(2), "S-0002", "VW", "Golf", "Hatchback", 16000, "On lot", None),
    (vin(3), "S-0003", "VW", "Golf", "Hatchback", 14500, "In prep", None),
    (vin(4), "S-0004", "VW", "Golf", "Hatchback", 15000, "Reserved", None),  # not available
    (vin(5), "S-0005", "VW", "Golf", "Estate", 15200, "Sold", None),  # not available
    (vin(6), "S-0006", "VW", "Polo", "Hatchback", 9000, "On lot", None),  # same body
    (vin(7), "S-0007", "VW", "Passat", "Estate", 17000, "On lot", None),  # price within 20 %
    (vin(8), "S-0008", "VW", "Touareg", "SUV", 45000, "On lot", None),  # neither
    (vin(9), "S-0009", "Skoda", "Octavia", "Hatchback", 15000, "On lot", None),  # other make
    (TRANSIT_GOLF, None, "VW", "Golf", "Hatchback", 19000, "In transit", "2026-12-01"),
    index=[100 + i for i in range(10)],
)
GOLF_2, GOLF_3, GOLF_10 = "VW Golf (S-0002)", "VW Golf (S-0003)", "VW Golf (…000010)"
PASSAT, POLO = "VW Passat (S-0007)", "VW Polo (S-0006)"


def contacted(**car) -> dict:
    return {"status": "Contacted", "received_at": LONG_AGO,
            "last_contact_at": "2026-11-23 10:00", **car}


@pytest.mark.parametrize(
    ("lead", "limit", "expected"),
    [
        pytest.param(contacted(vin=SOLD_GOLF, stock_vin=SOLD_GOLF), 3,
                     [GOLF_3, GOLF_2, GOLF_10], id="sold-car-same-model-first-max-three"),
        pytest.param(contacted(vin=SOLD_GOLF, stock_vin=SOLD_GOLF), 10,
                     [GOLF_3, GOLF_2, GOLF_10, PASSAT, POLO],
                     id="sold-car-then-same-make-by-body-or-price-band"),
        pytest.param(contacted(vin=vin(999), vehicle_wanted="VW Golf GTI", budget=16000), 10,
                     [GOLF_2, GOLF_3, GOLF_10, PASSAT], id="unknown-vin-read-from-wanted-text"),
        pytest.param(contacted(stock_no="S-0999", vehicle_wanted="golf, automatic"), 3,
                     [GOLF_2, GOLF_3, GOLF_10],  # no price to compare: stock order
                     id="unknown-stock-no-model-alone-names-the-make"),
        pytest.param(contacted(vin=vin(999), vehicle_wanted="Volkswagen Käfer"), 3, [],
                     id="nothing-similar"),
        pytest.param(contacted(vin=vin(999)), 3, [], id="unknown-car-and-no-words"),
    ],
)
def test_similar_cars_are_available_cars_like_the_one_asked_about(lead, limit, expected):
    leads = leads_frame(lead, index=["L1"])
    assert similar_cars("L1", leads, STOCK, limit=limit) == expected


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", f"follow up · similar: {GOLF_3}; {GOLF_2}; {GOLF_10}"),
        ("de", f"nachfassen · ähnlich: {GOLF_3}; {GOLF_2}; {GOLF_10}"),
        ("pl", f"kontakt ponowny · podobne: {GOLF_3}; {GOLF_2}; {GOLF_10}"),
    ],
)
def test_lead_on_a_sold_car_is_offered_three_similar_cars(language, text):
    lead = contacted(vin=SOLD_GOLF, stock_vin=SOLD_GOLF)
    assert one(lead, STOCK, language)[0] == text


@pytest.mark.parametrize(
    ("lead", "text"),
    [
        pytest.param(contacted(vin=vin(999), vehicle_wanted="VW Golf", budget=16000),
                     f"follow up · similar: {GOLF_2}; {GOLF_3}; {GOLF_10}", id="unknown-vin"),
        pytest.param(contacted(vin=vin(2), stock_vin=vin(2)), "follow up", id="car-on-lot"),
        pytest.param(contacted(vin=vin(4), stock_vin=vin(4)), "follow up",
                     id="car-reserved-is-not-sold"),
        pytest.param(contacted(vehicle_wanted="VW Golf"), "follow up",
                     id="no-particular-car-asked"),
        pytest.param(contacted(vin=vin(999), vehicle_wanted="Tesla"), "follow up",
                     id="nothing-similar-says-nothing"),
        pytest.param({"status": "Won", "last_contact_at": "2026-11-23 10:00", "vin": SOLD_GOLF,
                      "stock_vin": SOLD_GOLF}, "retention check-in", id="buyer-of-the-sold-car"),
    ],
)
def test_similar_cars_are_offered_only_when_the_car_is_sold_or_unknown(lead, text):
    assert one(lead, STOCK)[0] == text


@pytest.mark.parametrize(
    ("language", "as_of", "text"),
    [
        ("en", AS_OF, "follow up · car arrives 2026-12-01"),
        ("de", AS_OF, "nachfassen · Ankunft 01.12.2026"),
        ("pl", AS_OF, "kontakt ponowny · przyjazd 01.12.2026"),
        ("en", dt.datetime(2026, 12, 3, 9), "follow up · car was due 2026-12-01"),
        ("de", dt.datetime(2026, 12, 3, 9), "nachfassen · Ankunft überfällig seit 01.12.2026"),
    ],
)
def test_buyer_waiting_for_a_car_in_transit_sees_its_arrival(language, as_of, text):
    lead = contacted(vin=TRANSIT_GOLF, stock_vin=TRANSIT_GOLF)
    assert one(lead, STOCK, language, as_of)[0] == text


def test_waiting_buyers_counts_only_open_leads_on_each_car():
    leads = leads_frame(
        {"stock_vin": TRANSIT_GOLF},  # New
        {"status": "Contacted", "stock_vin": TRANSIT_GOLF},
        {"status": "Won", "stock_vin": TRANSIT_GOLF},
        {"status": "Lost", "stock_vin": vin(2)},
        {"status": "Offer sent", "stock_vin": vin(2)},
        {"status": "Contacted", "vin": vin(999)},  # not in stock
    )
    waiting = waiting_buyers(leads, STOCK)
    assert list(waiting.index) == list(STOCK.index)
    assert waiting[109] == 2 and waiting[101] == 1
    assert waiting.sum() == 3


# ---------------------------------------------------------------------------------------------
# Arithmetic (property) and the real boundary (an .xlsx through read_book)
# ---------------------------------------------------------------------------------------------

HOURS = opening_hours(SETTINGS)


class _NaT:
    def __eq__(self, other):
        return other is pd.NaT

    def __repr__(self):
        return "NaT"


ANY_NAT = _NaT()
CHANNEL_MINUTES = {"chat": 5, "phone": 10, "form": 15, "email": 60, "walk-in": 480}


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)),
    st.sampled_from(list(CHANNEL_MINUTES)),
)
def test_a_new_lead_is_due_after_exactly_its_sla_in_opening_minutes(received, channel):
    received = received.replace(microsecond=0)
    lead = leads_frame({"channel": channel, "received_at": None})
    lead["received_at"] = pd.Series([received], dtype="datetime64[us]")
    due = next_actions(lead, NO_STOCK, SETTINGS, "en", AS_OF)["due"].iloc[0].to_pydatetime()
    assert HOURS.minutes_between(received, due) == pytest.approx(CHANNEL_MINUTES[channel])
    assert HOURS.is_open(due) or HOURS.is_open(due - dt.timedelta(seconds=1))


def test_next_actions_from_a_real_workbook(tmp_path):
    wb = Workbook()
    leads = wb.active
    leads.title = "Leads"
    leads.append(["Lead ID", "Received", "Name", "Phone", "Source", "VIN", "Vehicle wanted",
                  "Status", "Last contact", "Appointment", "Trade-in", "Valuation", "Budget"])
    leads.append(["L1", at("2026-11-21 13:58"), "Anna Nowak", "+48 601 234 567", "WhatsApp",
                  SOLD_GOLF, "VW Golf", None, None, None, "no", None, None])
    leads.append(["L2", at("2026-11-20 12:00"), "Ben Wolf", "+49 151 2345678", "mobile.de",
                  TRANSIT_GOLF, None, "Contacted", at("2026-11-20 12:00"), None, "yes", None,
                  None])
    leads.append(["L3", at("2026-11-20 12:00"), "Cem Kaya", "+49 151 3456789", "Phone",
                  "S-0006", None, "Appointment set", at("2026-11-20 12:00"),
                  at("2026-11-26 15:00"), None, None, None])
    leads.append(["L4", at("2026-11-02 12:00"), "Dora Lee", "+49 151 4567890", "Email",
                  vin(2), None, "Lost", at("2026-11-03 12:00"), None, None, None, None])
    stock = wb.create_sheet("Stock")
    stock.append(["VIN", "Stock no", "Make", "Model", "Body", "Price", "Status", "ETA"])
    for row in STOCK.itertuples():
        eta = None if pd.isna(row.eta) else row.eta.to_pydatetime()
        stock.append([row.vin, row.stock_no, row.make, row.model, row.body, row.price,
                      row.status, eta])
    path = tmp_path / "dealer.xlsx"
    wb.save(path)

    book = read_book(path, as_of=AS_OF)
    result = next_actions(book.leads, book.stock, book.settings, "en", AS_OF)

    assert list(result.itertuples(index=False, name=None)) == [
        (f"first reply · similar: {GOLF_3}; {GOLF_2}; {GOLF_10}",
         pd.Timestamp("2026-11-23 09:03"), "New lead, chat"),
        ("book valuation · car arrives 2026-12-01", pd.Timestamp("2026-11-20 13:00"),
         "Trade-in asked"),
        ("confirm appointment", pd.Timestamp("2026-11-25 15:00"), "Appointment set"),
        (None, ANY_NAT, None),
    ]
    assert list(waiting_buyers(book.leads, book.stock)) == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]
