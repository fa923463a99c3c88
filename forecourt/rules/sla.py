"""Next action and due time for every lead: the SLA table of the Settings tab, applied.

Each status picks one rule and an anchor (received, last contact, appointment); a trade-in with
no valuation yet adds a second candidate, and the earlier due wins and names the action
(DOMAIN.md, "Time, opening hours and SLAs"). A rule's minutes run in opening hours unless its
clock is "calendar"; ``before`` rules count back from their anchor.

Anchors, where the table says "after last contact": the last contact, else the first response,
else the received time. Choices DOMAIN.md leaves open (each a dealer's reading of the table):

* a New lead with a first response is treated as Contacted;
* a New walk-in is on the walk-in rule while its only response is the visit itself (first
  response empty or equal to the received time);
* Appointment set / confirmed without an appointment time fall back to the Contacted rule;
  Shown / No show without one count from the last contact;
* a status with no anchor at all (no received time, no contact, no appointment) gets no due;
* a status forecourt cannot read ("Waiting on finance") is open work: "check the status",
  due by the "Status unknown" rule after the last contact (else first response, received).

The car a lead asked about shapes the text: when it is sold or not in stock the action offers up
to three similar available cars; when it is in transit it names the arrival date.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecourt.hours import OpeningHours
from forecourt.settings import Settings, SlaRule
from forecourt.validators.text import fold
from forecourt.validators.vocabulary import CHANNEL_CLASSES, CLOSED_STATUSES

UNAVAILABLE = ("Sold", "Reserved")
PRICE_BAND = 0.20  # "similar" price: within ±20 % of the asked car's price or the budget

# Statuses whose rule counts from the last contact (else first response, else received).
_AFTER_CONTACT = ("Attempting contact", "Contacted", "Offer sent", "Deposit taken", "Won")
# Statuses whose rule counts from the appointment.
_AT_APPOINTMENT = ("Appointment set", "Appointment confirmed", "Shown", "No show")

_SIMILAR = {"en": "similar", "de": "ähnlich", "pl": "podobne"}
_ARRIVES = {"en": "car arrives {}", "de": "Ankunft {}", "pl": "przyjazd {}"}
_LATE = {
    "en": "car was due {}",
    "de": "Ankunft überfällig seit {}",
    "pl": "przyjazd opóźniony od {}",
}
_IN_TRANSIT = {"en": "car in transit", "de": "Fahrzeug unterwegs", "pl": "auto w drodze"}
_DATE_FORMAT = {"en": "%Y-%m-%d", "de": "%d.%m.%Y", "pl": "%d.%m.%Y"}
_SEP = " · "


def opening_hours(settings: Settings) -> OpeningHours:
    """The dealer's opening hours and holidays, for business-time arithmetic."""
    return OpeningHours.of(settings.opening_hours, settings.holidays)


def next_actions(
    leads: pd.DataFrame,
    stock: pd.DataFrame,
    settings: Settings,
    language: str,
    as_of: dt.datetime,
) -> pd.DataFrame:
    """Next action, due time and SLA trigger of every lead (index = ``leads.index``).

    Columns: ``next_action`` (text or None), ``due`` (datetime64[us] or NaT), ``rule`` (the
    trigger used or None). Closed (Lost) leads and leads without any anchor time get None/NaT.
    Due times depend only on the lead's own times; ``as_of`` only words a late arrival.
    """
    index = leads.index
    leads = leads.reset_index(drop=True)  # positional work; the caller's index comes back
    n = len(leads)
    rules = {r.trigger: r for r in settings.sla}
    clock = _Clock(opening_hours(settings))

    typed = _col(leads, "raw_status")
    # A status nobody can read is still open work: someone checks what it means.
    unknown = (_col(leads, "status").isna() & typed.notna()).to_numpy()
    status = _col(leads, "status").fillna("New").where(~unknown, "Status unknown")
    is_status = _matcher(status)
    channel = _col(leads, "channel")
    is_channel = _matcher(channel.where(channel.isin(CHANNEL_CLASSES), "other").fillna("other"))
    received = _times(leads, "received_at")
    first = _times(leads, "first_response_at")
    last = _times(leads, "last_contact_at")
    appointment = _times(leads, "appointment_at")
    contact = np.where(np.isnat(last), np.where(np.isnat(first), received, first), last)
    has_appointment = ~np.isnat(appointment)

    trigger = np.full(n, None, dtype=object)
    due = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")

    def use(mask: np.ndarray, trig: str, start: np.ndarray) -> None:
        """Leads in ``mask`` follow rule ``trig`` from ``start``."""
        rule = rules.get(trig)
        if rule is not None and mask.any():
            trigger[mask] = trig
            due[mask] = clock.shift(start[mask], rule)

    # One candidate per lead from its status.
    new = is_status("New")
    walk_in = is_channel("walk-in") & (np.isnat(first) | (first == received))
    unanswered = new & (np.isnat(first) | walk_in)
    for ch in CHANNEL_CLASSES:
        use(unanswered & is_channel(ch), f"New lead, {ch}", received)
    use(new & ~unanswered, "Contacted", contact)
    for st in _AFTER_CONTACT:
        use(is_status(st), st, contact)
    for st in _AT_APPOINTMENT:
        use(is_status(st) & has_appointment, st, appointment)
    for st in ("Appointment set", "Appointment confirmed"):
        use(is_status(st) & ~has_appointment, "Contacted", contact)
    for st in ("Shown", "No show"):
        use(is_status(st) & ~has_appointment, st, contact)
    use(unknown, "Status unknown", contact)
    # "Not before last contact": a confirmation call is not due before the booking was made.
    booked = is_status("Appointment set") & has_appointment & (last > due)
    due[booked] = last[booked]
    trigger[np.isnat(due)] = None

    # Trade-in asked: a second candidate for open leads; the earlier due wins (a tie keeps the
    # status rule).
    trade_rule = rules.get("Trade-in asked")
    if trade_rule is not None:
        trade_in = _col(leads, "trade_in").astype("boolean").fillna(False).to_numpy(bool)
        no_value = pd.to_numeric(_col(leads, "valuation"), errors="coerce").isna().to_numpy()
        asked = ~is_status("Won") & ~is_status("Lost") & trade_in & no_value
        asked &= ~np.isnat(received)
        trade_due = clock.shift(received[asked], trade_rule)
        current = due[asked]
        earlier = ~np.isnat(trade_due) & (np.isnat(current) | (trade_due < current))
        wins = np.flatnonzero(asked)[earlier]
        due[wins] = trade_due[earlier]
        trigger[wins] = "Trade-in asked"

    texts = {t: r.text(language) for t, r in rules.items()}
    action = [texts[t] if t is not None else None for t in trigger]
    closed = is_status("Won") | is_status("Lost")
    action = _with_car_notes(action, leads, stock, closed, language, as_of)

    return pd.DataFrame(
        {
            "next_action": pd.Series(action, dtype=object),
            "due": pd.Series(due, dtype="datetime64[us]"),
            "rule": pd.Series(trigger, dtype=object),
        }
    ).set_axis(index)


def waiting_buyers(leads: pd.DataFrame, stock: pd.DataFrame) -> pd.Series:
    """Number of open leads linked to each car (index = ``stock.index``)."""
    status = _col(leads, "status")
    linked = _col(leads, "stock_vin")
    counts = linked[~status.isin(CLOSED_STATUSES) & linked.notna()].value_counts()
    waiting = _col(stock, "vin").map(counts)
    return waiting.fillna(0).astype("int64").rename("waiting")


def similar_cars(
    lead_index: Hashable, leads: pd.DataFrame, stock: pd.DataFrame, limit: int = 3
) -> list[str]:
    """Up to ``limit`` available cars like the one the lead asked about, as stock labels.

    Same make and model first, then same make with the same body or a price within ±20 % of
    the asked car's (of the lead's budget when the car is not in stock), each by closeness in
    price. A car not in stock is read from the make and model words in "vehicle wanted".
    """
    lead = leads.loc[lead_index]
    return _StockIndex(stock).similar(
        _get(lead, "stock_vin"), _get(lead, "vehicle_wanted"), _get(lead, "budget"), limit
    )


# ---------------------------------------------------------------------------------------------
# Due times
# ---------------------------------------------------------------------------------------------


class _Clock:
    """Rule durations on anchors (datetime64[us] arrays, NaT allowed)."""

    def __init__(self, hours: OpeningHours) -> None:
        self.hours = hours

    def shift(self, anchor: np.ndarray, rule: SlaRule) -> np.ndarray:
        """``anchor`` moved by the rule's duration, before or after it."""
        if rule.clock == "calendar":
            delta = np.timedelta64(rule.minutes, "m")
            return (anchor - delta) if rule.before else (anchor + delta)
        if rule.before:
            return self.hours.subtract_many(anchor, rule.minutes)
        return self.hours.add_many(anchor, rule.minutes)


def _times(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[us]")
    return pd.to_datetime(frame[name], errors="coerce").to_numpy(dtype="datetime64[us]")


def _matcher(values: pd.Series) -> Callable[[str], np.ndarray]:
    """``is_(value)``: boolean mask of ``values == value``, from codes computed once."""
    codes, uniques = pd.factorize(values)
    position = {u: k for k, u in enumerate(uniques)}
    return lambda value: codes == position.get(value, -2)


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def _get(row: pd.Series, name: str) -> Any:
    value = row.get(name)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


# ---------------------------------------------------------------------------------------------
# The car: similar cars when it is sold or unknown, the arrival when it is in transit
# ---------------------------------------------------------------------------------------------


def _with_car_notes(
    action: list[str | None],
    leads: pd.DataFrame,
    stock: pd.DataFrame,
    closed: np.ndarray,
    language: str,
    as_of: dt.datetime,
) -> list[str | None]:
    """``action`` with the car's news appended for open leads: similar cars, arrival date."""
    linked = _col(leads, "stock_vin")
    asked = (_col(leads, "vin").notna() | _col(leads, "stock_no").notna()
             | _col(leads, "plate").notna()).to_numpy()
    active = np.array([a is not None for a in action], dtype=bool) & ~closed
    if not (active & (asked | linked.notna().to_numpy())).any():
        return action
    cars = _StockIndex(stock)
    vins = [v if isinstance(v, str) else None for v in linked.tolist()]
    car_status = np.array([cars.status.get(v) if v else None for v in vins], dtype=object)
    notes = [""] * len(action)

    gone = active & asked & (linked.isna().to_numpy() | (car_status == "Sold"))
    if gone.any():
        word = _SIMILAR.get(language, _SIMILAR["en"])
        memo: dict[tuple[Any, ...], str] = {}
        wanted, budget = _col(leads, "vehicle_wanted").tolist(), _col(leads, "budget").tolist()
        for i in np.flatnonzero(gone):
            vin, text, money = vins[i], wanted[i], _price(budget[i])
            money = None if math.isnan(money) else money
            text = text if isinstance(text, str) else None
            key = (vin, None, None) if vin else (None, text, money)
            if key not in memo:
                labels = cars.similar(vin, text, money)
                memo[key] = f"{_SEP}{word}: {'; '.join(labels)}" if labels else ""
            notes[i] = memo[key]

    coming = active & (car_status == "In transit")
    if coming.any():
        fmt = _DATE_FORMAT.get(language, _DATE_FORMAT["en"])
        today = as_of.date()
        for i in np.flatnonzero(coming):
            eta = cars.eta.get(vins[i])
            if eta is None:
                note = _IN_TRANSIT.get(language, _IN_TRANSIT["en"])
            else:
                words = _LATE if eta.date() < today else _ARRIVES
                note = words.get(language, words["en"]).format(eta.strftime(fmt))
            notes[i] = _SEP + note
    return [a + n if n and a else a for a, n in zip(action, notes, strict=True)]


@dataclass(frozen=True)
class _Car:
    order: int
    vin: str | None
    label: str
    make: str  # folded
    model: str  # folded
    body: str  # folded
    price: float  # NaN when unknown


class _StockIndex:
    """Stock as plain dicts and lists, built once, so leads never look rows up in a frame.

    For :meth:`similar`, the available cars are also kept as arrays (price; codes of make and
    model, body and VIN) and grouped by make, so a lookup touches only the makes it asks about.
    """

    def __init__(self, stock: pd.DataFrame) -> None:
        self.status: dict[str, Any] = {}
        self.eta: dict[str, dt.datetime] = {}
        self.by_vin: dict[str, _Car] = {}
        self.available: list[_Car] = []
        columns = ("vin", "stock_no", "plate", "make", "model", "body", "price", "status", "eta")
        rows = zip(*(_col(stock, c).tolist() for c in columns), strict=True)
        for order, (vin, stock_no, plate, make, model, body, price, status, eta) in \
                enumerate(rows):
            if not (isinstance(stock_no, str) and stock_no.strip()):
                stock_no = plate  # the car as the dealer knows it: "VW Golf (AB12 CDE)"
            car = _Car(
                order,
                vin if isinstance(vin, str) else None,
                _label(make, model, stock_no, vin),
                _fold(make),
                _fold(model),
                _fold(body),
                _price(price),
            )
            if car.vin is not None and car.vin not in self.by_vin:
                self.by_vin[car.vin] = car
                self.status[car.vin] = status if isinstance(status, str) else None
                if eta is not None and not pd.isna(eta):
                    self.eta[car.vin] = pd.Timestamp(eta).to_pydatetime()
            if status not in UNAVAILABLE:
                self.available.append(car)
        self.makes = {c.make for c in self.available if c.make}
        self.models = {(c.make, c.model) for c in self.available if c.make and c.model}
        self._arrays: _Available | None = None

    def similar(
        self, vin: str | None, wanted: str | None, budget: float | None, limit: int = 3
    ) -> list[str]:
        """Labels of up to ``limit`` available cars like ``vin`` (or like ``wanted``).

        Same make and model first, then same make with the same body or a price within the
        band, each by closeness in price to the reference (ties and unknown prices by stock
        order).
        """
        car = self.by_vin.get(vin) if vin else None
        if car is not None and car.make:
            pairs = {(car.make, car.model)} if car.model else set()
            makes, body = {car.make}, car.body
            reference = car.price if not math.isnan(car.price) else _price(budget)
        else:
            pairs, makes = self._read_wanted(wanted)
            body, reference = "", _price(budget)
        if not makes:
            return []
        if self._arrays is None:
            self._arrays = _Available(self.available)
        cars = self._arrays

        # Available cars of these makes (positions in self.available), except the asked car.
        groups = [cars.by_make[m] for m in makes if m in cars.by_make]
        if not groups:
            return []
        candidates = np.concatenate(groups) if len(groups) > 1 else groups[0]
        if vin is not None and vin in cars.vin_code:
            candidates = candidates[cars.vin[candidates] != cars.vin_code[vin]]
        codes = [cars.pair_code[p] for p in pairs if p in cars.pair_code]
        if len(codes) == 1:  # one make and model: the usual case, without isin's overhead
            same = cars.pair[candidates] == codes[0]
        else:
            same = np.isin(cars.pair[candidates], codes)
        same_model, rest = candidates[same], candidates[~same]
        if math.isnan(reference):
            # Nothing to compare with: the same make is as close as we can tell.
            close = np.full(len(rest), not body)
        else:
            with np.errstate(invalid="ignore"):  # inf - inf: NaN, never in the band
                close = np.abs(cars.price[rest] - reference) <= PRICE_BAND * reference
        if body:
            close |= cars.body[rest] == cars.body_code.get(body, -1)
        same_make = rest[close]

        if limit < 0:  # "all but the last few", as a slice says
            ranked = self._closest(same_model, reference) + self._closest(same_make, reference)
            return [self.available[k].label for k in ranked[:limit]]
        ranked = self._closest(same_model, reference, limit)
        if len(ranked) < limit:
            ranked += self._closest(same_make, reference, limit - len(ranked))
        return [self.available[k].label for k in ranked]

    def _closest(
        self, positions: np.ndarray, reference: float, limit: int | None = None
    ) -> list[int]:
        """The (``limit``) cars at ``positions`` closest in price to ``reference``, closest
        first: by distance, unknown prices last, ties by stock order (= position order)."""
        if not len(positions):
            return []
        if math.isinf(reference):
            # inf - inf is NaN: rank as Python's sort ranks such keys, from stock order.
            def closeness(k: int) -> tuple[float, int]:
                c = self.available[k]
                if math.isnan(c.price):
                    return (math.inf, c.order)
                return (abs(c.price - reference), c.order)

            return sorted(np.sort(positions).tolist(), key=closeness)[:limit]
        assert self._arrays is not None
        with np.errstate(invalid="ignore"):
            distance = np.abs(self._arrays.price[positions] - reference)
        distance[np.isnan(distance)] = math.inf  # an unknown price (or reference) comes last
        return positions[np.lexsort((positions, distance))[:limit]].tolist()

    def _read_wanted(self, wanted: str | None) -> tuple[set[tuple[str, str]], set[str]]:
        """Stock makes and (make, model) pairs named in a free-text "vehicle wanted".

        A model without its make counts only when it is a word (3+ characters with a letter):
        "Golf" names a VW, "3" or "up" could be anything.
        """
        if not wanted:
            return set(), set()
        text = f" {fold(wanted)} "
        makes = {m for m in self.makes if f" {m} " in text}
        pairs = {
            (mk, md)
            for mk, md in self.models
            if f" {md} " in text
            and (mk in makes or (not makes and len(md) >= 3 and not md.isdigit()))
        }
        return pairs, makes | {mk for mk, _ in pairs}


class _Available:
    """The available cars as arrays for :meth:`_StockIndex.similar` (index = position in
    ``available``): price (NaN unknown), codes of make and model, body and VIN (-1: none)."""

    def __init__(self, available: list[_Car]) -> None:
        self.price = np.array([c.price for c in available], dtype=float)
        self.pair_code: dict[tuple[str, str], int] = {}
        self.body_code: dict[str, int] = {}
        self.vin_code: dict[str, int] = {}
        pair, body, vin = [], [], []
        makes: dict[str, list[int]] = {}
        for k, c in enumerate(available):
            pair.append(self.pair_code.setdefault((c.make, c.model), len(self.pair_code)))
            body.append(self.body_code.setdefault(c.body, len(self.body_code)))
            vin.append(-1 if c.vin is None else self.vin_code.setdefault(c.vin, len(self.vin_code)))
            if c.make:
                makes.setdefault(c.make, []).append(k)
        self.pair = np.array(pair, dtype=np.int64)
        self.body = np.array(body, dtype=np.int64)
        self.vin = np.array(vin, dtype=np.int64)
        self.by_make = {m: np.array(ks, dtype=np.int64) for m, ks in makes.items()}


def _fold(value: Any) -> str:
    return fold(value) if isinstance(value, str) else ""


def _price(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if number > 0 else math.nan


def _label(make: Any, model: Any, stock_no: Any, vin: Any) -> str:
    """ "VW Golf (S-0042)", or "VW Golf (…A12345)" without a stock number."""
    name = " ".join(str(v).strip() for v in (make, model) if isinstance(v, str) and v.strip())
    if isinstance(stock_no, str) and stock_no.strip():
        ref = stock_no.strip()
    elif isinstance(vin, str) and vin:
        ref = f"…{vin[-6:]}"
    else:
        return name
    return f"{name} ({ref})" if name else ref
