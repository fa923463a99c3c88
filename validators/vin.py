"""VINs (ISO 3779) and Japanese frame numbers."""

from __future__ import annotations

import re
from functools import lru_cache

_STRIP = re.compile(r"[\s\-_.]+")
VIN_CHARS = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
# Japanese grey imports: model code, dash, serial (ZVW30-1234567, GRS182-0012345, JZA80-0012345).
FRAME_NUMBER = re.compile(r"^[A-Z]{1,5}\d{1,3}[A-Z]?-\d{4,8}$")

_VALUES = {**{str(d): d for d in range(10)},
           **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
           **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
           **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def normalise_vin(text: object) -> str:
    """Upper case without spaces, dashes or dots; a frame number keeps its dash."""
    raw = str(text).strip().upper()
    compact = re.sub(r"\s+", "", raw)
    if FRAME_NUMBER.match(compact):
        return compact
    return _STRIP.sub("", raw)


def is_frame_number(vin: str) -> bool:
    return bool(FRAME_NUMBER.match(vin))


def check_digit(vin: str) -> str:
    """The ISO 3779 / FMVSS 115 check digit a 17-character VIN should carry at position 9."""
    total = sum(_VALUES[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    rem = total % 11
    return "X" if rem == 10 else str(rem)


def check_digit_required(vin: str) -> bool:
    """North American (WMI 1-5) and Chinese (L) VINs must carry a valid check digit."""
    return vin[:1] in ("1", "2", "3", "4", "5", "L")


def vin_problem(vin: str) -> str | None:
    """The issue code for a normalised VIN, or None when it is acceptable."""
    if is_frame_number(vin):
        return None
    if len(vin) != 17:
        return "vin-length"
    if not VIN_CHARS.match(vin):
        return "vin-characters"
    if check_digit_required(vin) and vin[8] != check_digit(vin):
        return "vin-check-digit"
    return None


@lru_cache(maxsize=4096)
def vin_details(vin: str) -> tuple[str | None, int | None]:
    """(manufacturer, model year) from the WMI and year code, where vininfo knows them."""
    if len(vin) != 17 or not VIN_CHARS.match(vin):
        return None, None
    try:
        from vininfo import Vin

        info = Vin(vin)
        maker = info.manufacturer
        years = info.years
        year = None
        if years:
            year = max(y for y in years if y <= 2027) if any(y <= 2027 for y in years) else None
        return (maker if maker and maker != "Unsupported" else None), year
    except Exception:
        return None, None
