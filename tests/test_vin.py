"""VIN rules of DOMAIN.md: normalisation, check digit where mandatory, JDM frame numbers."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from vininfo import Vin

from forecourt.validators.vin import check_digit, normalise_vin, vin_details, vin_problem

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
vins = st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17)


@given(vins)
def test_check_digit_agrees_with_vininfo(vin):
    fixed = vin[:8] + check_digit(vin) + vin[9:]
    info = Vin(fixed)
    assume(getattr(info.assembler, "uses_sae_checkdigit", True))
    assert info.verify_checksum(check_year=False)


@given(vins, st.sampled_from("12345L"))
def test_north_american_and_chinese_vins_need_the_right_check_digit(vin, first):
    vin = first + vin[1:]
    good = vin[:8] + check_digit(vin) + vin[9:]
    assert vin_problem(good) is None
    wrong = next(d for d in "0123456789X" if d != check_digit(vin))
    assert vin_problem(good[:8] + wrong + good[9:]) == "vin-check-digit"


@given(vins, st.sampled_from("WVSTZJKY"))
def test_european_and_asian_vins_are_not_check_digit_checked(vin, first):
    assert vin_problem(first + vin[1:]) is None


@given(vins, st.lists(st.sampled_from([" ", "-", "  "]), max_size=4), st.booleans())
def test_spaces_dashes_and_case_are_normalised(vin, junk, lower):
    typed = vin.lower() if lower else vin
    for k, sep in enumerate(junk):
        pos = 3 + 4 * k
        typed = typed[:pos] + sep + typed[pos:]
    assert normalise_vin(typed) == vin


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("WVWZZZ1JZXW00001", "vin-length"),
        ("WVWZZZ1JZXW0000012", "vin-length"),
        ("WVWZZZ1JZOW000001", "vin-characters"),
        ("WVWZZZ1JZIW000001", "vin-characters"),
        ("WVWZZZ1JZQW000001", "vin-characters"),
        ("1M8GDM9A1KP042788", "vin-check-digit"),
        ("1M8GDM9AXKP042788", None),
        ("WVWZZZ1JZXW000001", None),
        ("ZVW30-1234567", None),
        ("zvw30 - 1234567", None),
        ("GRS182-0012345", None),
    ],
)
def test_vin_problems(typed, code):
    assert vin_problem(normalise_vin(typed)) == code


def test_manufacturer_and_year_come_from_the_vin():
    assert vin_details("1M8GDM9AXKP042788") == ("Mercury", 2019)
    assert vin_details("WVWZZZ1JZXW000001")[0] == "Volkswagen"


def test_bad_vins_are_reported_on_both_the_leads_and_the_stock_tab(tmp_path):
    import openpyxl

    from forecourt.book import read_book

    wb = openpyxl.Workbook()
    leads = wb.active
    leads.title = "Leads"
    leads.append(["Received", "Name", "Phone", "Source", "VIN"])
    leads.append(["2026-11-20 10:00", "Ann", "+441134960000", "WhatsApp", "1M8GDM9A1KP042788"])
    leads.append(["2026-11-20 11:00", "Bob", "+441134960001", "Email", "WVWZZZ1JZOW000001"])
    stock = wb.create_sheet("Stock")
    stock.append(["VIN", "Make", "Model"])
    stock.append(["1M8GDM9A1KP042788", "Mercury", "X"])
    stock.append(["WVWZZZ1JZXW00001", "VW", "Golf"])
    path = tmp_path / "vins.xlsx"
    wb.save(path)
    found = {(i.sheet, i.cell, i.code) for i in read_book(path).issues if i.code.startswith("vin-")}
    assert found >= {("Leads", "E2", "vin-check-digit"), ("Leads", "E3", "vin-characters"),
                     ("Stock", "A2", "vin-check-digit"), ("Stock", "A3", "vin-length")}


@given(st.lists(st.one_of(st.none(), vins,
                          st.sampled_from(["KZN185-1234567", "W0L0XCF0814", "1M8GDM9AXKP042788"]),
                          st.text(alphabet=VIN_ALPHABET + "io-", max_size=19)), max_size=30),
       st.randoms())
def test_schema_checks_agree_with_vin_problem_for_every_row(values, rnd):
    """The schema decides each distinct VIN once; every row of it, repeated or not, gets the
    verdict vin_problem gives that VIN alone, and empty cells pass."""
    import pandas as pd

    from forecourt.validators.schemas import (
        vin_characters_ok,
        vin_check_digit_ok,
        vin_length_ok,
    )

    column = values + [rnd.choice(values) for _ in values] if values else []
    s = pd.Series(column, dtype=object, index=[f"r{k}" for k in range(len(column))])
    checks = {"vin-length": vin_length_ok(s), "vin-characters": vin_characters_ok(s),
              "vin-check-digit": vin_check_digit_ok(s)}
    for code, verdicts in checks.items():
        assert list(verdicts.index) == list(s.index)
        for value, ok in zip(column, verdicts, strict=True):
            assert ok == (value is None or vin_problem(value) != code), (code, value)
