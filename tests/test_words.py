"""Reading what dealers type: headers with filler, statuses as phrases, yes/no that is
neither, budgets as typed (validators/words.py, headers.py, normalise.py)."""

import pandas as pd
import pytest

from forecourt.sync.base import Tab
from forecourt.validators.headers import map_columns, match_header
from forecourt.validators.normalise import to_canonical, to_numbers, to_yes_no


def field(kind, header, language="en"):
    fields = [f for f, _ in match_header(kind, header, language)[0]]
    return fields[0] if fields else None


@pytest.mark.parametrize(("kind", "header", "language", "expected"), [
    ("leads", "Date of appointment", "en", "appointment_at"),
    ("leads", "Appointment (date)", "en", "appointment_at"),
    ("leads", "Our comments", "en", "notes"),
    ("leads", "Customer phone no.", "en", "phone"),
    ("leads", "Anfragequelle", "de", "source"),
    ("leads", "Bewertung Inzahlungnahme", "de", "valuation"),
    ("leads", "Kennzeichen Inzahlungnahme", "de", "trade_in_vehicle"),
    ("leads", "Numer telefonu klienta", "pl", "phone"),
    ("leads", "Termin spotkania", "pl", "appointment_at"),
    ("stock", "Typ nadw.", "pl", "body"),
    ("stock", "Herst.", "de", "make"),
    ("leads", "Status Anfrage", "de", "status"),
    ("leads", "Salesman", "en", "owner"),
    ("leads", "Where from", "en", "source"),
    ("stock", "Reg", "en", "plate"),
    ("stock", "Sold?", "en", "sold"),
])
def test_headers_with_filler_map_by_the_word_that_names_them(kind, header, language, expected):
    assert field(kind, header, language) == expected


@pytest.mark.parametrize(("kind", "header"), [
    ("leads", "Tax due"), ("stock", "Registration date"), ("leads", "Finance amount"),
    ("leads", "Valuation date"), ("leads", "Appointment kept?"), ("leads", "Test drive done?"),
    ("stock", "Purchase price"), ("leads", "Date of birth"), ("stock", "MOT due"),
    ("leads", "Colour pref"),
])
def test_headers_about_something_else_map_to_nothing(kind, header):
    assert field(kind, header) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("lost - bought elsewhere", "Lost"),
    ("appointment booked for Sat", "Appointment set"),
    ("spoke to him, coming Saturday for a test drive", "Appointment set"),
    ("not contacted yet", "New"),
    ("never showed", "No show"),
    ("no appointment", None),
    ("Termin bestaetigt", "Appointment confirmed"),
    ("Waiting on finance", None),
    ("nie odebrał", "Attempting contact"),
])
def test_statuses_as_typed(text, expected):
    assert to_canonical([text], "status").iloc[0] == expected


def test_a_stock_status_that_negates_a_known_one_is_not_it():
    assert to_canonical(["unavailable"], "stock").iloc[0] is None


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", True), ("Ja", True), ("tak", True), ("✓", True), ("no", False), ("-", False),
    ("maybe", None), ("?", None), ("vielleicht", None), ("probably not", None),
    ("not sure yet", None), ("keine Ahnung", None), ("no idea", None),
])
def test_yes_no_cells(text, expected):
    values, ok = to_yes_no([text])
    got = values.astype(object).iloc[0]
    assert (None if got is None or got is pd.NA else bool(got)) == expected
    assert bool(ok.iloc[0]) == (expected is not None)


def test_a_trade_in_column_holding_the_car_is_a_yes_but_words_alone_are_not():
    values, ok = to_yes_no(["Golf 2015", "AB12 CDE", "Cash buyer", "not yet"], described=True)
    assert values.tolist()[:2] == [True, True]
    assert ok.tolist() == [True, True, False, False]


@pytest.mark.parametrize(("text", "expected"), [
    ("15k", 15000), ("bis 24.000", 24000), ("do 40 tys.", 40000), ("75-80 tys.", 80000),
    ("12.500 €", 12500), ("£10,000 ono", 10000), ("9.999,-", 9999), ("24.000", 24000),
    ("lots", None),
])
def test_budgets_as_typed(text, expected):
    got = to_numbers([text]).iloc[0]
    assert (None if got != got else got) == expected


def test_thousands_of_distinct_statuses_are_each_read_once():
    values = [f"called {k} times" for k in range(20000)]
    assert set(to_canonical(values, "status")) <= {"Attempting contact", "Contacted", None}


@pytest.mark.parametrize(("header", "field"), [
    ("Tausch (ja/nein)", "trade_in"), ("Finance y/n", "finance"), ("Kredyt T/N", "finance"),
    ("Schon verkauft?", "sold"),
])
def test_a_yes_no_marker_makes_a_question(header, field):
    kind = "stock" if field == "sold" else "leads"
    assert next(iter(map_columns(kind, Tab("x", [[header]]), 0, "de").fields)) == field


def test_an_abbreviation_that_could_be_two_fields_maps_to_neither():
    # "Fin." in German: the FIN (the VIN) or short for Finanzierung. "FIN" is the VIN.
    assert map_columns("leads", Tab("x", [["Fin."]]), 0, "de").fields == {}
    assert map_columns("leads", Tab("x", [["FIN"]]), 0, "de").fields == {"vin": 0}
    assert map_columns("leads", Tab("x", [["Fin."]]), 0, "en").fields == {"finance": 0}


@pytest.mark.parametrize("text", ["Call back", "call back tomorrow", "oddzwonić jutro",
                                  "Open", "Offen"])
def test_a_next_step_or_a_vague_word_is_no_status(text):
    assert to_canonical([text], "status").iloc[0] is None


@pytest.mark.parametrize(("text", "status"), [
    ("Termin best.", "Appointment confirmed"), ("spoke to him, call back Monday", "Contacted"),
    ("dzwoniłem 2x bez odpowiedzi", "Attempting contact"), ("Anz. 1000€ bezahlt", "Deposit taken"),
    ("bezahlt", "Won"),
])
def test_a_known_word_does_not_hide_a_longer_phrase(text, status):
    assert to_canonical([text], "status").iloc[0] == status
