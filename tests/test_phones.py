"""Phones become E.164: the fast path for plain forms agrees with phonenumbers' parser."""

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.validators.normalise import _e164_fast, guess_region, to_phones


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


def _region_of_every_number(values):
    """The definition guess_region keeps: parse every number, the most common region wins."""
    from collections import Counter

    regions = Counter()
    for s in values:
        number = phonenumbers.parse("+" + s[2:] if s.startswith("00") else s)
        regions[phonenumbers.region_code_for_number(number)] += 1
    return regions


# Numbers of regions that share a calling code (+1, +44, +7) and some that do not.
_POOL = {region: phonenumbers.format_number(phonenumbers.example_number_for_type(
    region, phonenumbers.PhoneNumberType.FIXED_LINE), phonenumbers.PhoneNumberFormat.E164)
    for region in ("US", "CA", "GB", "JE", "RU", "KZ", "DE", "PL", "AT")}


@given(st.dictionaries(st.sampled_from(sorted(_POOL)), st.integers(1, 400), min_size=1),
       st.booleans())
def test_guessed_region_is_the_most_common_region(counts, zeros):
    values = [("00" + _POOL[r][1:]) if zeros else _POOL[r]
              for r, n in counts.items() for _ in range(n)]
    exact = _region_of_every_number(values).most_common(2)
    if len(exact) == 2 and exact[0][1] == exact[1][1]:
        return  # a tie: either answer is right
    assert guess_region(values, sample=len(values)) == exact[0][0]


@given(st.sampled_from([("US", "CA"), ("GB", "JE"), ("RU", "KZ")]), st.integers(401, 3000),
       st.floats(0.7, 1.0), st.randoms(use_true_random=False))
def test_a_sample_finds_the_region_most_numbers_share(regions, n, share, rnd):
    """Beyond 400 numbers of a shared calling code only a sample is parsed; a region that
    holds at least 70% of them still comes out on top, whatever the order of the rows."""
    top, other = regions
    values = [_POOL[top]] * round(n * share) + [_POOL[other]] * (n - round(n * share))
    rnd.shuffle(values)
    assert guess_region(values) == top


def test_a_big_shared_code_is_split_by_a_sample():
    values = [_POOL["CA"]] * 3000 + [_POOL["US"]] * 1000 + [_POOL["GB"]] * 3500
    # +1 has 4000 numbers, more than +44, but split by region GB (3500) beats CA (3000).
    assert guess_region(values) == "GB"
    assert guess_region(values, sample=200) == "GB"
    assert guess_region(values + [_POOL["CA"]] * 600, sample=200) == "CA"
