"""Header mapping: synonyms in three languages, accents, near misses, ambiguous words."""

import pytest

from forecourt.sync.base import Tab
from forecourt.validators.headers import find_layout, map_columns


def _fields(kind, headers, language=None):
    return map_columns(kind, Tab("x", [headers]), 0, language).fields


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("VIN", "vin"), ("Fahrgestellnummer", "vin"), ("FIN", "vin"), ("Numer VIN", "vin"),
        ("Nr nadwozia", "vin"), ("Received", "received_at"), ("Date", "received_at"),
        ("Eingang", "received_at"), ("Datum", "received_at"), ("Data zgłoszenia", "received_at"),
        ("DATA ZGLOSZENIA", "received_at"), ("  e-mail ", "email"), ("Źródło", "source"),
        ("zrodlo", "source"), ("Telefonnumer", "phone"), ("Nächster Schritt", "next_action"),
    ],
)
def test_known_headers_map_to_fields(header, field):
    assert _fields("leads", [header]) == {field: 0}


def test_termin_is_an_appointment_in_german_and_a_due_date_in_polish():
    assert _fields("leads", ["Termin"], "de") == {"appointment_at": 0}
    assert _fields("leads", ["Termin"], "pl") == {"due": 0}


def test_unknown_columns_are_kept_as_extra():
    cm = map_columns("leads", Tab("x", [["Name", "Lieblingsfarbe", "Phone"]]), 0)
    assert cm.extra == {"Lieblingsfarbe": 1}


def test_tabs_are_found_by_content_when_names_are_unknown():
    leads = Tab("Sheet1", [["My dealership"], [], ["Date", "Customer", "Mobile", "Source"]])
    stock = Tab("Sheet2", [["VIN", "Make", "Model", "Price"]])
    layout = find_layout([stock, leads])
    assert layout.tabs["leads"] is leads
    assert layout.tabs["stock"] is stock
    assert layout.maps["leads"].header_row == 3
