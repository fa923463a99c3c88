"""Benchmark input (not a test): a messy English dealer's book, the way a small UK used-car
dealer's workbook looks after a few years of everyone typing into it.

    .venv/bin/python benchmarks/messy_book.py OUT.xlsx --leads 100000 [--seed 7]

Sheets, in order:

* ``Enquiries`` (the leads): a title banner in row 1 ("Smith Motors enquiries 2024-2026",
  merged across A1:F1), an empty row 2, headers in row 3, one enquiry a row from row 4.
  Dealer-typed values: mixed-case statuses and sources ("appt set", "WA", "Walk in"),
  UK national and +44 phones with a little junk, a few malformed e-mails, ~5 % of enquiry dates
  typed as text, repeat buyers (same phone or e-mail within 30 days through another source),
  and a ``Days open`` formula column.
* ``Stock``: headers in row 1; ``max(50, leads // 50)`` cars with valid European VINs
  (WMIs such as WVWZZZ, WBA, VF1, TMB, no check digit) and UK plates ("AB12 CDE").
* ``Staff``: four people (Name, Active, Days, Max leads).
* ``Notes``: a few free-text rows.

The source column is headed "Enquiry route", a phrase forecourt's vocabulary does not hold (a
required column under an unknown header): a run finds it by its values.

No Settings sheet. Received dates lie in the 18 months before 2026-11-23 10:00, denser towards
the end.

How it is written: openpyxl's write-only mode streams every sheet (little memory); the merged
banner goes through the write-only sheet's ``merged_cells`` range list, which openpyxl writes
after the rows. openpyxl 3.1 writes every string as an inline string (``t="inlineStr"``), while
Excel, and so a real dealer's book, keeps them in the shared-string table; a streaming pass
over the saved package therefore moves every inline string into ``xl/sharedStrings.xml``
(``t="s"``), in first-use order as Excel does, and adds the part to the content types and the
workbook relationships. Zip timestamps and document dates are fixed, so the same seed gives
the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import datetime as dt
import itertools
import pathlib
import re
import sys
import tempfile
import time
import zipfile
from copy import copy
from random import Random

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

NOW = dt.datetime(2026, 11, 23, 10, 0)
WINDOW_DAYS = 548  # about 18 months before NOW
REPEAT_WINDOW = dt.timedelta(days=29, hours=12)  # safely inside the 30-day duplicate window

TITLE = "Smith Motors enquiries 2024-2026"
TITLE_MERGE = "A1:F1"
LEAD_HEADERS = [
    "Ref", "Enquiry date", "Customer", "Mobile", "Email", "Enquiry route",
    "Reg / VIN", "Car wanted", "Status", "Sales exec", "Last spoke", "Test drive", "Part ex",
    "Finance?", "Budget £", "Comments", "Days open", "Colour pref",
]
STOCK_HEADERS = [
    "Stock no", "Reg", "VIN", "Make", "Model", "Year", "Body", "Price", "Mileage", "Status",
    "ETA", "Sold?",
]
STAFF = [
    # Name, Active, Days, Max leads
    ("Dave Smith", "Yes", "Mon-Sat", None),
    ("Sarah Khan", "Yes", "Mon-Fri", 250),
    ("Tom Bradley", "yes", "Tue-Sat", 200),
    ("Priya Patel", "No", "Mon, Wed, Fri", 120),
]
NOTES = [
    "Notes",
    "AutoTrader leads come in by e-mail to sales@ - copy them in here the same day!!",
    "WA = WhatsApp on the showroom mobile (07700 900 000), Dave has the phone at weekends",
    "Price list updated 01/11/2026 - see Stock tab, prices include prep + 12m MOT",
    "Priya left end of Aug 2026, her leads go to Sarah",
    "Dont delete old rows, Dave uses them for the year end figures",
    "Finance: Close Brothers / Startline. Deposit min £500 to hold a car",
]

# --- value tables -------------------------------------------------------------------------

def _table(pairs):
    """(value, weight) pairs -> (values, cumulative weights) for _pick."""
    values = [v for v, _ in pairs]
    cum = list(itertools.accumulate(w for _, w in pairs))
    return values, cum


def _pick(rng: Random, table):
    values, cum = table
    return values[bisect.bisect_right(cum, rng.random() * cum[-1])]


# Canonical source group -> (weight, typed variants)
SOURCES = {
    "whatsapp": (20, _table([("WhatsApp", 40), ("Whatsapp", 15), ("whatsapp", 10),
                             ("WHATSAPP", 3), ("WA", 25), ("wa", 7)])),
    "phone": (11, _table([("Phone", 60), ("phone", 30), ("PHONE", 10)])),
    "missed": (6, _table([("Missed call", 60), ("missed call", 30), ("Missed Call", 10)])),
    "autotrader": (24, _table([("AutoTrader", 50), ("Autotrader", 25), ("autotrader", 15),
                               ("Auto Trader", 10)])),
    "website": (10, _table([("Website", 60), ("website", 30), ("WEBSITE", 10)])),
    "facebook": (10, _table([("Facebook Marketplace", 55), ("Facebook marketplace", 20),
                             ("facebook marketplace", 15), ("FB Marketplace", 10)])),
    "email": (6, _table([("Email", 60), ("email", 30), ("E-mail", 10)])),
    "walkin": (9, _table([("Walk in", 50), ("walk in", 25), ("Walk-in", 15), ("Walk In", 10)])),
    "referral": (4, _table([("Referral", 70), ("referral", 30)])),
}
SOURCE_GROUPS = _table([(g, w) for g, (w, _) in SOURCES.items()])

# Canonical status -> typed variants. The pipeline order matters for the date columns.
STATUS_VARIANTS = {
    "New": _table([("New", 55), ("new", 35), ("NEW", 10)]),
    "Attempting contact": _table([("Attempting contact", 50), ("attempting contact", 30),
                                  ("Attempting Contact", 20)]),
    "Contacted": _table([("Contacted", 60), ("contacted", 40)]),
    "Appointment set": _table([("Appointment set", 35), ("appt set", 25), ("Appt Set", 10),
                               ("Test drive booked", 30)]),
    "Appointment confirmed": _table([("Appointment confirmed", 50), ("appt confirmed", 30),
                                     ("Appointment Confirmed", 20)]),
    "Shown": _table([("Shown", 60), ("shown", 40)]),
    "No show": _table([("No show", 50), ("no show", 30), ("No Show", 20)]),
    "Offer sent": _table([("Offer sent", 60), ("offer sent", 40)]),
    "Deposit taken": _table([("Deposit taken", 60), ("deposit taken", 40)]),
    "Won": _table([("Won", 30), ("Sold", 45), ("sold", 20), ("SOLD", 5)]),
    "Lost": _table([("Lost", 40), ("lost", 25), ("lost - bought elsewhere", 25),
                    ("Lost - bought elsewhere", 10)]),
}
OPEN_RECENT = _table([("New", 35), ("Attempting contact", 20), ("Contacted", 15),
                      ("Appointment set", 10), ("Appointment confirmed", 6), ("Shown", 4),
                      ("No show", 3), ("Offer sent", 5), ("Deposit taken", 2)])
OPEN_OLDER = _table([("New", 12), ("Attempting contact", 16), ("Contacted", 22),
                     ("Appointment set", 11), ("Appointment confirmed", 6), ("Shown", 10),
                     ("No show", 7), ("Offer sent", 10), ("Deposit taken", 6)])
CLOSED = _table([("Won", 45), ("Lost", 55)])
CONTACTED_OR_LATER = {"Contacted", "Appointment set", "Appointment confirmed", "Shown",
                      "No show", "Offer sent", "Deposit taken", "Won", "Lost"}
APPOINTMENT_STAGE = {"Appointment set", "Appointment confirmed", "Shown", "No show"}
AFTER_APPOINTMENT = {"Offer sent", "Deposit taken", "Won"}

FIRST_NAMES = [
    "James", "John", "David", "Dave", "Michael", "Paul", "Mark", "Andrew", "Steve", "Chris",
    "Daniel", "Matt", "Gary", "Lee", "Craig", "Darren", "Wayne", "Ryan", "Liam", "Jack", "Harry",
    "Oliver", "George", "Tom", "Jamie", "Connor", "Mohammed", "Ali", "Imran", "Raj", "Arjun",
    "Tomasz", "Piotr", "Kwame", "Sarah", "Emma", "Laura", "Claire", "Lisa", "Karen", "Julie",
    "Rachel", "Amy", "Hannah", "Sophie", "Chloe", "Jess", "Becky", "Nicola", "Gemma", "Zoe",
    "Aisha", "Fatima", "Priya", "Anna", "Kasia", "Grace", "Megan", "Lucy", "Charlotte", "Ellie",
]
LAST_NAMES = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner",
    "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker",
    "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker",
    "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson",
    "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards", "Khan", "Marshall",
    "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson", "Foster", "Chapman",
    "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell", "Matthews",
    "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell",
    "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Nowak", "Kowalski",
    "O'Brien", "McDonald", "Fletcher", "Reid", "Gibson",
]
EMAIL_DOMAINS = _table([
    ("gmail.com", 40), ("hotmail.co.uk", 15), ("hotmail.com", 6), ("outlook.com", 9),
    ("yahoo.co.uk", 8), ("icloud.com", 8), ("btinternet.com", 5), ("live.co.uk", 4),
    ("sky.com", 3), ("aol.com", 2),
])
PHONE_JUNK = ["call me", "0770", "ring after 5", "n/a", "07700 9001", "see email",
              "whatsapp only", "?", "0161"]

# (make, model, WMI or VW-group prefix, model code, bodies, base price at 2015, yearly uplift)
MODELS = [
    ("Volkswagen", "Golf", "WVWZZZ", "AU", ["Hatchback", "Estate"], 7500, 1300),
    ("Volkswagen", "Polo", "WVWZZZ", "AW", ["Hatchback"], 5500, 1000),
    ("Volkswagen", "Passat", "WVWZZZ", "3C", ["Saloon", "Estate"], 7000, 1400),
    ("Volkswagen", "Tiguan", "WVGZZZ", "5N", ["SUV"], 9500, 1600),
    ("Volkswagen", "T-Roc", "WVGZZZ", "A1", ["SUV"], 11000, 1400),
    ("Audi", "A3", "WAUZZZ", "8V", ["Hatchback", "Saloon"], 8500, 1500),
    ("Audi", "Q3", "WAUZZZ", "F3", ["SUV"], 11500, 1700),
    ("Skoda", "Octavia", "TMB", "AG7NE", ["Hatchback", "Estate"], 6500, 1200),
    ("Skoda", "Fabia", "TMB", "EG6NJ", ["Hatchback", "Estate"], 4500, 900),
    ("Skoda", "Kodiaq", "TMB", "JJ9NS", ["SUV"], 13000, 1600),
    ("BMW", "1 Series", "WBA", "1S510", ["Hatchback"], 8000, 1400),
    ("BMW", "3 Series", "WBA", "8E910", ["Saloon", "Estate"], 9500, 1700),
    ("BMW", "X1", "WBA", "HS310", ["SUV"], 11000, 1700),
    ("Renault", "Clio", "VF1", "RJA00", ["Hatchback"], 4000, 900),
    ("Renault", "Captur", "VF1", "RJB00", ["SUV"], 6000, 1100),
    ("Peugeot", "208", "VF3", "UPHMR", ["Hatchback"], 4500, 1000),
    ("Peugeot", "3008", "VF3", "MCYHZ", ["SUV"], 8500, 1400),
    ("Ford", "Fiesta", "WF0", "JXXGA", ["Hatchback"], 4500, 900),
    ("Ford", "Focus", "WF0", "NXXGC", ["Hatchback", "Estate"], 5500, 1100),
    ("Ford", "Kuga", "WF0", "AXXWP", ["SUV"], 8500, 1400),
    ("Vauxhall", "Corsa", "W0L", "0XEP6", ["Hatchback"], 3800, 850),
    ("Vauxhall", "Astra", "W0L", "BE8EE", ["Hatchback", "Estate"], 4800, 1000),
    ("Mercedes-Benz", "A-Class", "WDD", "17708", ["Hatchback", "Saloon"], 10500, 1700),
    ("Mercedes-Benz", "C-Class", "WDD", "20504", ["Saloon", "Estate", "Coupe"], 11500, 1900),
    ("Toyota", "Corolla", "SB1", "ZS3JE", ["Hatchback", "Estate"], 7500, 1300),
    ("Toyota", "Yaris", "VNK", "KXP9M", ["Hatchback"], 5500, 1000),
    ("Nissan", "Qashqai", "SJN", "FAAJ1", ["SUV"], 7500, 1300),
    ("Nissan", "Juke", "SJN", "FBAF1", ["SUV"], 6000, 1100),
    ("Kia", "Sportage", "U5Y", "PG81A", ["SUV"], 8500, 1400),
    ("Hyundai", "i30", "TMA", "H851G", ["Hatchback", "Estate"], 5500, 1100),
]
MODEL_WEIGHTS = _table([(i, 3 if m[1] in ("Golf", "Fiesta", "Corsa", "Qashqai", "Focus",
                                          "Octavia", "3 Series") else 2)
                        for i, m in enumerate(MODELS)])
YEAR_CODE = {2015: "F", 2016: "G", 2017: "H", 2018: "J", 2019: "K", 2020: "L", 2021: "M",
             2022: "N", 2023: "P", 2024: "R", 2025: "S", 2026: "T"}
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
PLATE_AREA = "ABCDEFGHKLMNOPRSVWY"
PLATE_LETTERS = "ABCDEFGHJKLMNOPRSTUVWXY"  # no I, Q or Z in the random part
STOCK_STATUS = _table([("On lot", 55), ("Reserved", 8), ("In transit", 10), ("In prep", 10),
                       ("Sold", 17)])
STOCK_STATUS_VARIANTS = {
    "On lot": _table([("On lot", 50), ("On Lot", 25), ("on lot", 25)]),
    "Reserved": _table([("Reserved", 70), ("reserved", 30)]),
    "In transit": _table([("In transit", 55), ("in transit", 30), ("In Transit", 15)]),
    "In prep": _table([("In prep", 55), ("in prep", 30), ("In Prep", 15)]),
    "Sold": _table([("Sold", 60), ("sold", 25), ("SOLD", 15)]),
}
COLOURS = ["Black", "White", "Grey", "Silver", "Blue", "Red", "Green", "Orange"]
COLOUR_PREF = _table([(None, 60), ("Black", 8), ("White", 5), ("Grey", 6), ("Blue", 4),
                      ("Red", 3), ("Silver", 3), ("any", 5), ("Any", 2), ("not white", 2),
                      ("not red", 1), ("dark colour", 1)])
WANTED_GENERIC = [
    "small hatch for my daughter, first car", "7 seater", "SUV under 15k", "auto, low miles",
    "estate, diesel", "anything reliable for work", "cheap run around", "Golf or similar",
    "something like a Qashqai", "automatic only", "hybrid", "electric?? not sure",
    "family car, big boot", "cheap on insurance", "4x4 for towing", "convertible for summer",
    "small auto for mum", "same as the one in the window", "van?", "whatever you have under 8k",
]
COMMENTS = _table([
    (None, 45), ("left voicemail", 4), ("no answer x2", 4), ("wants to come Saturday", 3),
    ("sent pics on WA", 3), ("asked for best price", 4), ("PX valuation needed", 3),
    ("- wants black only", 2), ("+ PX Golf, needs valuing", 2), ("- finance declined", 1),
    ("will call back after payday", 2), ("bought elsewhere, cheaper", 2),
    ("Dave spoke to him, coming in with wife", 2), ("wants 12 months warranty", 2),
    ("sent finance link", 3), ("deposit £500 card", 2), ("asked for HPI + service history", 2),
    ("Very keen!!", 2), ("timewaster?", 1), ("not answering, try email", 2),
    ("ring after 5pm\nworks nights", 1), ("wife to decide", 1), ("check delivery to Leeds", 1),
    ("offer £500 under, said no", 2), ("collect Thursday", 1),
])
BUDGET_TEXT = ["10k", "£8,500", "up to 12k", "tbc", "around 6-7k", "£15000", "20k max",
               "monthly £250", "ono"]
FINANCE = _table([("Yes", 25), ("No", 30), (None, 30), ("maybe", 5), ("y", 5), ("n", 5)])
DAYS_OPEN = '=IF(B{r}="","",TODAY()-INT(B{r}))'
FIXED_STAMP = dt.datetime(2026, 11, 23, 9, 0)


# --- generators ---------------------------------------------------------------------------

def _vin(rng: Random, model, year: int) -> str:
    prefix, code = model[2], model[3]
    # VW group: WVWZZZ + model code + Z; others: WMI + five-character descriptor + a digit
    # where North American makers put the check digit (not checked for European WMIs).
    filler = "Z" if len(prefix) == 6 else rng.choice("0123456789X")
    body = prefix + code + filler
    plant = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")
    serial = f"{rng.randrange(10**6):06d}"
    vin = body + YEAR_CODE[year] + plant + serial
    assert len(vin) == 17, vin
    return vin


def _plate(rng: Random, year: int) -> str:
    """UK current-style plate: area letters, age identifier, three random letters."""
    age = year % 100 if rng.random() < 0.5 else year % 100 + 50  # March or September issue
    if year == 2026 and age > 50:
        age = 26
    area = rng.choice(PLATE_AREA) + rng.choice(PLATE_LETTERS)
    tail = "".join(rng.choice(PLATE_LETTERS) for _ in range(3))
    return f"{area}{age:02d} {tail}"


def _unique(make, used: set):
    while True:
        value = make()
        if value not in used:
            used.add(value)
            return value


def _stock(rng: Random, n: int):
    cars, used_vins, used_plates = [], set(), set()
    for i in range(n):
        model = MODELS[_pick(rng, MODEL_WEIGHTS)]
        year = rng.randint(2015, 2025)
        vin = _unique(lambda model=model, year=year: _vin(rng, model, year), used_vins)
        plate = _unique(lambda year=year: _plate(rng, year), used_plates)
        age = 2026 - year
        price = model[5] + model[6] * (year - 2015) + rng.randrange(-8, 9) * 250
        price = max(1995, price // 100 * 100 - 5)  # £7,495 style
        mileage = max(1200, int(age * rng.gauss(8500, 2500)) // 10 * 10)
        status = _pick(rng, STOCK_STATUS)
        eta = None
        if status == "In transit":
            eta = dt.datetime.combine(NOW.date() + dt.timedelta(days=rng.randint(-3, 21)),
                                      dt.time())
        sold = "yes" if status == "Sold" else "no"
        if rng.random() < 0.15:
            sold = sold.capitalize()
        cars.append({
            "stock_no": f"SM{1001 + i}", "reg": plate, "vin": vin, "make": model[0],
            "model": model[1], "year": year, "body": rng.choice(model[4]), "price": price,
            "mileage": mileage, "status": status,
            "status_text": _pick(rng, STOCK_STATUS_VARIANTS[status]), "eta": eta, "sold": sold,
            "colour": rng.choice(COLOURS),
        })
    return cars


def _received_times(rng: Random, n: int) -> list[dt.datetime]:
    """Sorted receipt times in the 18 months before NOW, denser towards the end."""
    start = NOW - dt.timedelta(days=WINDOW_DAYS)
    out = []
    while len(out) < n:
        u = rng.random()
        # 30 % uniform, 70 % with a density rising linearly towards NOW
        frac = u / 0.3 if u < 0.3 else rng.random() ** 0.5
        day = start.date() + dt.timedelta(days=int(frac * WINDOW_DAYS))
        if rng.random() < 0.85:
            minute = rng.randint(8 * 60 + 30, 18 * 60 + 30)
        else:  # evening chats and early callers
            minute = rng.choice((rng.randint(18 * 60 + 30, 23 * 60), rng.randint(7 * 60, 8 * 60)))
        t = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
        if start <= t < NOW - dt.timedelta(minutes=2):
            out.append(t)
    out.sort()
    return out


def _name(rng: Random) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    r = rng.random()
    if r < 0.80:
        shown = f"{first} {last}"
    elif r < 0.88:
        shown = f"{first.lower()} {last.lower()}"
    elif r < 0.93:
        shown = f"{rng.choice(('Mr', 'Mrs', 'Ms', 'Mr', 'Miss'))} {first[0]} {last}"
    elif r < 0.97:
        shown = first
    else:
        shown = f"{first} {last.upper()}"
    return shown, first, last


def _phone(rng: Random, digits: str | None = None) -> tuple[str, str | None]:
    """(as typed, E.164 key or None for junk). `digits` is the 10-digit national number."""
    if digits is None:
        if rng.random() < 0.01:
            return rng.choice(PHONE_JUNK), None
        digits = "7" + rng.choice("12345789") + f"{rng.randrange(10**8):08d}"
    if rng.random() < 0.2:
        typed = f"0{digits[:4]} {digits[4:]}"
    else:
        typed = f"+44 {digits[:4]} {digits[4:]}"
    return typed, digits


def _email(rng: Random, first: str, last: str) -> str:
    f, la = first.lower(), last.lower().replace("'", "")
    n = rng.randrange(10, 10000)
    if rng.random() < 0.03:  # the lucky few with a plain first.last address
        local = f"{f}.{la}"
    else:
        local = rng.choice((f"{f}.{la}{n}", f"{f[0]}{la}{n}", f"{f}{la}{n % 100:02d}",
                            f"{f}_{la}{n}", f"{la}.{f}{n}"))
    addr = f"{local}@{_pick(rng, EMAIL_DOMAINS)}"
    r = rng.random()
    if r < 0.02:  # malformed
        broken = rng.choice((addr.replace("@", ""), addr.replace("@", "@@"),
                             addr.rsplit(".", 1)[0], addr.replace(".", " ", 1), addr + ",",
                             addr.replace("@", " at ")))
        return broken
    if r < 0.06:
        return addr.title()  # "John.Smith@Gmail.Com" style typing
    return addr


def _day_time(base: dt.datetime, rng: Random, days: int) -> dt.datetime:
    day = base.date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(rng.randint(10, 16), rng.choice((0, 30))))


def _fmt_text_date(t: dt.datetime, rng: Random) -> str:
    return t.strftime("%d/%m/%Y %H:%M") if rng.random() < 0.8 else t.strftime("%d/%m/%Y")


# --- the book -------------------------------------------------------------------------------

class _Cells:
    """Styled write-only cells for one sheet; each copies a style array made once up front."""

    def __init__(self, ws):
        self.ws = ws
        self._styles = {}
        for key, fmt in (("dt", "dd/mm/yyyy hh:mm"), ("date", "dd/mm/yyyy"), ("gbp", "£#,##0"),
                         ("int", "#,##0")):
            c = WriteOnlyCell(ws)
            c.number_format = fmt
            self._styles[key] = c._style

    def styled(self, value, key):
        if value is None:
            return None
        c = WriteOnlyCell(self.ws)
        c._style = copy(self._styles[key])
        c.value = value
        return c

    def bold(self, value, size=None):
        c = WriteOnlyCell(self.ws, value)
        c.font = Font(bold=True, size=size) if size else Font(bold=True)
        return c


def _write_stock(wb, cars):
    ws = wb.create_sheet("Stock")
    for col, width in zip("ABCDEFGHIJKL", (9, 10, 20, 14, 10, 6, 11, 9, 9, 11, 11, 6),
                          strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    cells = _Cells(ws)
    ws.append([cells.bold(h) for h in STOCK_HEADERS])
    for car in cars:
        ws.append([
            car["stock_no"], car["reg"], car["vin"], car["make"], car["model"], car["year"],
            car["body"], cells.styled(car["price"], "gbp"), cells.styled(car["mileage"], "int"),
            car["status_text"], cells.styled(car["eta"], "date"), car["sold"],
        ])


def _write_staff(wb):
    ws = wb.create_sheet("Staff")
    ws.column_dimensions["A"].width = 14
    cells = _Cells(ws)
    ws.append([cells.bold(h) for h in ("Name", "Active", "Days", "Max leads")])
    for row in STAFF:
        ws.append(list(row))


def _write_notes(wb):
    ws = wb.create_sheet("Notes")
    ws.column_dimensions["A"].width = 90
    cells = _Cells(ws)
    ws.append([cells.bold(NOTES[0])])
    for line in NOTES[1:]:
        ws.append([line])
    ws.append([])
    ws.append(["Last tidied up by Sarah 14/10/2026"])


def _lead_rows(rng: Random, n: int, cars, ws, cells: _Cells):
    staff_names = [s[0] for s in STAFF]
    received = _received_times(rng, n)
    recent = collections.deque()  # (received, phone digits, email, source group, name, first, last)
    for i, rec in enumerate(received):
        r = i + 4  # sheet row: title, blank, headers, then leads
        while recent and rec - recent[0][0] > REPEAT_WINDOW:
            recent.popleft()

        # --- who: a new person, or (about 2 %) someone who asked within the last 30 days
        repeat_of = None
        if recent and rng.random() < 0.02:
            earlier = recent[rng.randrange(len(recent))]
            if earlier[1] is not None or earlier[2] is not None:
                repeat_of = earlier
        if repeat_of is not None:
            _, p_digits, p_email, p_group, name, first, last = repeat_of
            group = p_group
            while group == p_group:
                group = _pick(rng, SOURCE_GROUPS)
            use_phone = p_digits is not None and (p_email is None or rng.random() < 0.65)
            if use_phone:
                phone, digits = _phone(rng, p_digits)  # same number, maybe typed differently
            else:
                phone, digits = _phone(rng)
            if p_email is not None and (not use_phone or rng.random() < 0.5):
                email = p_email if rng.random() < 0.8 else p_email.upper()
            else:
                email = _email(rng, first, last) if rng.random() < 0.6 else None
            if rng.random() < 0.3:
                name = first  # same person, typed shorter the second time
        else:
            name, first, last = _name(rng)
            group = _pick(rng, SOURCE_GROUPS)
            phone, digits = _phone(rng)
            email = _email(rng, first, last) if rng.random() < 0.6 else None
        recent.append((rec, digits, email.lower() if email else None, group, name, first, last))
        source = _pick(rng, SOURCES[group][1])

        # --- status
        age_days = (NOW - rec).total_seconds() / 86400
        u = rng.random()
        if u < 0.02:
            status = None
        elif rng.random() < (0.12 if age_days < 30 else 0.25):
            status = _pick(rng, CLOSED)
        else:
            status = _pick(rng, OPEN_RECENT if age_days < 30 else OPEN_OLDER)
        status_text = _pick(rng, STATUS_VARIANTS[status]) if status else None

        # --- the car
        # A third of all enquiries name no car; a sale or a deposit always names one, so the
        # others go without one a little more often (Won + Deposit taken are ~15 % of rows).
        car = None
        if status in ("Won", "Deposit taken") or rng.random() >= 0.39:
            car = cars[rng.randrange(len(cars))]
        if car is None:
            reg_vin = None
            wanted = rng.choice(WANTED_GENERIC) if rng.random() < 0.93 else None
        else:
            x = rng.random()
            if x < 0.55:
                reg_vin = car["vin"] if rng.random() < 0.95 else car["vin"].lower()
            else:
                reg_vin = car["reg"] if rng.random() < 0.85 else car["reg"].replace(" ", "")
            w = rng.random()
            if w < 0.4:
                wanted = f"{car['make']} {car['model']}"
            elif w < 0.6:
                wanted = f"{car['year']} {car['model']} {car['body'].lower()}"
            elif w < 0.75:
                where = rng.choice(("AutoTrader", "FB", "the website"))
                wanted = f"the {car['colour'].lower()} {car['model']} on {where}"
            elif w < 0.85:
                wanted = "as advertised"
            elif w < 0.95:
                wanted = car["model"]
            else:
                wanted = None

        # --- dates
        typed = rng.random() >= 0.95
        rec_cell = _fmt_text_date(rec, rng) if typed else cells.styled(rec, "dt")
        last_spoke = None
        if (status in CONTACTED_OR_LATER and rng.random() < 0.94) or (
                status == "Attempting contact" and rng.random() < 0.6):
            span = min(age_days, 45 if status in ("Won", "Lost") else 20)
            delay = min(rng.expovariate(1 / 1.5), span) * rng.random() ** 0.3
            last_spoke = rec + dt.timedelta(minutes=max(3, int(delay * 1440)))
            if last_spoke >= NOW:
                last_spoke = NOW - dt.timedelta(minutes=rng.randint(1, 60))
            if last_spoke <= rec:
                last_spoke = None
        test_drive = None
        if (status in APPOINTMENT_STAGE and rng.random() < 0.92) or (
                status in AFTER_APPOINTMENT and rng.random() < 0.5):
            base = last_spoke or rec
            test_drive = _day_time(base, rng, rng.randint(1, 8))
            if status not in ("Appointment set", "Appointment confirmed") and test_drive >= NOW:
                # it has happened: put it between the enquiry and now
                test_drive = rec + (NOW - rec) * rng.uniform(0.3, 0.95)
                test_drive = test_drive.replace(second=0, microsecond=0)

        # --- the rest
        owner = rng.choice(staff_names) if rng.random() < 0.85 else None
        px = rng.random()
        if px < 0.40:
            part_ex = "No"
        elif px < 0.68:
            part_ex = None
        elif px < 0.83:
            part_ex = "Yes"
        elif px < 0.88:
            part_ex = "yes"
        else:
            px_model = MODELS[_pick(rng, MODEL_WEIGHTS)]
            px_plate = _plate(rng, rng.randint(2010, 2022))
            part_ex = rng.choice((f"Yes - {px_plate}", px_plate,
                                  f"{px_model[1]} {px_plate}"))
        b = rng.random()
        if b < 0.68:
            budget = rng.randrange(6, 61) * 500
        elif b < 0.78:
            budget = rng.choice(BUDGET_TEXT)
        else:
            budget = None
        yield [
            f"E-{i + 1:06d}" if rng.random() < 0.9 else None,
            rec_cell, name, phone, email, source, reg_vin, wanted, status_text,
            owner, cells.styled(last_spoke, "dt"), cells.styled(test_drive, "dt"), part_ex,
            _pick(rng, FINANCE), budget, _pick(rng, COMMENTS), DAYS_OPEN.format(r=r),
            _pick(rng, COLOUR_PREF),
        ]


def build_messy_book(path: str | pathlib.Path, leads: int, seed: int = 7) -> None:
    """Write a messy English dealer's book with `leads` enquiries to `path` (see module doc)."""
    if leads < 0:
        raise ValueError("leads must be >= 0")
    rng = Random(seed)
    cars = _stock(rng, max(50, leads // 50))

    wb = Workbook(write_only=True)
    wb.properties.creator = "Dave Smith"
    wb.properties.created = FIXED_STAMP
    wb.properties.modified = FIXED_STAMP

    ws = wb.create_sheet("Enquiries")
    widths = (10, 16, 20, 16, 28, 16, 20, 26, 18, 12, 16, 16, 12, 9, 10, 30, 9, 11)
    for idx, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + idx)].width = width
    ws.freeze_panes = "A4"
    cells = _Cells(ws)
    title = cells.bold(TITLE, size=14)
    title.alignment = Alignment(horizontal="left")
    ws.append([title])
    ws.append([])
    ws.append([cells.bold(h) for h in LEAD_HEADERS])
    # Write-only sheets keep a `merged_cells` range list that openpyxl serialises after the
    # rows (<mergeCells> follows <sheetData>), so the banner is merged as in a real book.
    ws.merged_cells.add(TITLE_MERGE)
    for row in _lead_rows(rng, leads, cars, ws, cells):
        ws.append(row)

    _write_stock(wb, cars)
    _write_staff(wb)
    _write_notes(wb)
    with tempfile.TemporaryFile() as raw:
        wb.save(raw)
        raw.seek(0)
        _share_strings(raw, pathlib.Path(path))


# --- inline strings -> shared strings ---------------------------------------------------------

_INLINE = re.compile(
    rb'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"(?:><is><t([^>]*)>(.*?)</t></is></c>|'
    rb"\s*/>|></c>)",
    re.S,
)
_SST_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


class _SharedStrings:
    def __init__(self):
        self.index: dict[bytes, int] = {}
        self.count = 0

    def sub(self, m: re.Match) -> bytes:
        ref, style, t_attrs, text = m.groups()
        if text is None:  # an empty inline string: an empty (possibly styled) cell
            return b'<c r="' + ref + b'"' + style + b"/>"
        key = (t_attrs or b"") + b">" + text
        idx = self.index.get(key)
        if idx is None:
            idx = self.index[key] = len(self.index)
        self.count += 1
        return b'<c r="' + ref + b'"' + style + b' t="s"><v>' + str(idx).encode() + b"</v></c>"

    def write(self, out) -> None:
        out.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="'
                  + _SST_NS + b'" count="' + str(self.count).encode() + b'" uniqueCount="'
                  + str(len(self.index)).encode() + b'">')
        batch = []
        for key in self.index:  # insertion order = index order
            batch.append(b"<si><t" + key + b"</t></si>")
            if len(batch) >= 10000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch) + b"</sst>")


def _zinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_STAMP.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def _share_strings(src, dst: pathlib.Path) -> None:
    """Copy the package openpyxl saved to `dst`, moving inline strings to sharedStrings.xml."""
    sst = _SharedStrings()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            name = item.filename
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with zin.open(item) as fin, zout.open(_zinfo(name), "w") as fout:
                    rest = b""
                    while True:
                        chunk = fin.read(1 << 20)
                        buf = rest + chunk
                        # cut after the last complete row; "<" never occurs inside a text node
                        cut = len(buf) if not chunk else buf.rfind(b"</row>") + 6
                        if cut < 6 and chunk:
                            rest = buf
                            continue
                        done, rest = _INLINE.sub(sst.sub, buf[:cut]), buf[cut:]
                        if b"inlineStr" in done:
                            raise RuntimeError(f"unconverted inline string in {name}")
                        fout.write(done)
                        if not chunk:
                            break
                continue
            data = zin.read(item)
            if name == "[Content_Types].xml":
                data = data.replace(b"</Types>", (
                    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SST_TYPE}"/>'
                    "</Types>").encode())
            elif name == "xl/_rels/workbook.xml.rels":
                ids = {int(n) for n in re.findall(rb'Id="rId([0-9]+)"', data)}
                rid = max(ids, default=0) + 1
                data = data.replace(b"</Relationships>", (
                    f'<Relationship Type="{_SST_REL}" Target="sharedStrings.xml" Id="rId{rid}"/>'
                    "</Relationships>").encode())
            elif name == "docProps/core.xml":  # openpyxl stamps the save time as modified
                stamp = FIXED_STAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            zout.writestr(_zinfo(name), data)
        with zout.open(_zinfo("xl/sharedStrings.xml"), "w") as fout:
            sst.write(fout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=pathlib.Path, help="the .xlsx to write")
    parser.add_argument("--leads", type=int, default=1000, help="number of enquiries")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    build_messy_book(args.out, args.leads, args.seed)
    print(f"wrote {args.out} ({args.leads} enquiries, {args.out.stat().st_size / 2**20:.1f} MiB)"
          f" in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
