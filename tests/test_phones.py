"""Phones become E.164: the fast path for plain forms agrees with phonenumbers' parser."""

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.validators.normalise import _e164_fast, to_phones


def _library(text, region):
    number = phonenumbers.parse(text if not text.startswith("00") else "+" + text[2:], region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("0151 23456789", "DE", "+4915123456789"),
        ("+49 151 23456789", "DE", "+4915123456789"),
        ("0049-151-23456789", None, "+4915123456789"),
        ("600 123 456", "PL", "+48600123456"),
        ("+48 600 123 456", "GB", "+48600123456"),
        ("07700 900123", "GB", "+447700900123"),
        ("+49 (0) 151 23456789", "DE", "+4915123456789"),
    ],
)
def test_typed_phones_become_e164(typed, region, e164):
    phones, ok = to_phones([typed], region)
    assert phones[0] == e164 and ok[0]


@given(st.sampled_from(["DE", "GB", "PL", "FR", "AT"]), st.integers(0, 10**9))
def test_fast_path_agrees_with_phonenumbers(region, seed):
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = [c for c in national]
    # vary the subscriber digits, keep the shape
    k = len(digits) - 1
    while k >= 0 and not digits[k].isdigit():
        k -= 1
    digits[k] = str(seed % 10)
    typed = "".join(digits)
    fast = _e164_fast(typed, region)
    if fast is not None:
        assert fast == _library(typed, region)
