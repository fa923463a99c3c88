"""Header mapping: synonyms in three languages, accents, near misses, ambiguous words."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.sync.base import Tab
from forecourt.validators.headers import (
    HEADER_SCAN_ROWS,
    _score_row,
    find_header,
    find_layout,
    map_columns,
)

KINDS = ["leads", "stock", "team"]


def _fields(kind, headers, language=None):
    return map_columns(kind, Tab("x", [headers]), 0, language).fields


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("VIN", "vin"), ("Fahrgestellnummer", "vin"), ("Numer VIN", "vin"),
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


words = st.sampled_from(["Received", "Name", "Telefon", "Telefonnumer", "Quelle", "Status",
                         "Fahrgestellnummer", "Zrodlo", "Eingangsdatum", "Smith", "Leeds",
                         "AutoTrader", "", " ", "forecourt", "Marke / Modell", 12, None])


@given(st.lists(st.lists(words, max_size=8), max_size=12), st.sampled_from(KINDS))
def test_the_header_row_is_the_best_scoring_row(rows, kind):
    """Rows that cannot beat the best so far skip fuzzy matching; the row found is still the
    first of the highest score."""
    scores = [_score_row(kind, row) for row in rows[:HEADER_SCAN_ROWS]]
    best = max(scores, default=0.0)
    expected = (scores.index(best), best) if best > 0 else (-1, 0.0)
    assert find_header(kind, Tab("x", rows)) == expected
