"""A seeded demo workbook: a small used-car dealer's Leads, Stock, Team and Settings tabs.

``generate_demo(path, leads=300)`` writes an .xlsx that looks like a real dealer's file, in
English, German or Polish: leads from WhatsApp, portals, phone and walk-ins over the 60 days
before ``as_of``, in plausible hours, with statuses that agree with the evidence columns
(first response, last contact, appointment), a stock list keyed by valid VINs, a team of four
and the Settings tab. ``demo_backend(leads)`` is the same workbook as grids of values in
memory (:class:`~forecourt.sync.grid.GridBackend`), for running the engine without a file.

``as_of`` is the demo's now; by default the moment it is made (to the minute, as
``forecourt run`` takes it), so that a run on the file right after, with the real clock, and
the live highlighting (``NOW()``) tell the same story. Same seed, size, language and
``as_of`` give the same cell values: pass ``as_of`` to reproduce a file.

On purpose, at every size, the file also holds what real files hold:

* about 10 % of leads without a lead id, owner empty on about 30 % of open leads, next action
  and due mostly empty (the engine fills them);
* about 3 % likely duplicates: the same person (same phone, written differently, or same
  e-mail) asking again through another channel within 30 days;
* late leads: ``New``, received in the last hours before ``as_of`` (last night's chats and
  forms, Saturday's or this morning's calls), nobody answered;
* two public holidays of the country in the Settings tab (the latest two in the window, else
  the next ones), on which nobody phones or walks in;
* one lead with neither phone nor e-mail, one with an unknown source ("Carrier pigeon",
  "Brieftaube", "Gołąb pocztowy") and one whose name is a formula-injection string
  (``=HYPERLINK("http://x")``), stored as text, never as a formula;
* an ``In transit`` car with a future ETA that several open leads ask about, and a ``Sold``
  car that open leads still ask about (its ad is still online); every ``Won`` lead names a
  ``Sold`` car and every ``Deposit taken`` lead a ``Reserved`` one where stock allows;
* North American / Asian / Chinese-built VINs (WMI 1-5, J, K, L) with a correct ISO 3779 check
  digit, European ones with whatever position 9 their maker uses, and one Japanese
  grey-import frame number (``ZVW30-1234567``) instead of a VIN.

Run ``python -m forecourt.demo [leads] [language]`` to write ``demo.xlsx``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecourt.hours import OpeningHours
from forecourt.settings import Settings, now_in, settings_rows
from forecourt.sync.base import column_letter
from forecourt.sync.xlsx.create import NewSheet, create_workbook
from forecourt.validators.vin import check_digit
from forecourt.validators.vocabulary import (
    CHANNELS,
    LANGUAGES,
    LEAD_FIELDS,
    STATUSES,
    STOCK_FIELDS,
    STOCK_STATUSES,
    TAB_NAMES,
    TEAM_FIELDS,
)

if TYPE_CHECKING:
    from forecourt.sync.grid import GridBackend

WINDOW_DAYS = 60
COUNTRIES = {"en": "GB", "de": "DE", "pl": "PL"}

LEAD_COLUMNS = (
    "lead_id", "received_at", "name", "phone", "email", "source", "vin", "stock_no",
    "vehicle_wanted", "status", "owner", "next_action", "due", "first_response_at",
    "last_contact_at", "appointment_at", "trade_in", "finance", "budget", "store", "notes",
)
STOCK_COLUMNS = (
    "vin", "stock_no", "make", "model", "year", "body", "price", "mileage", "status", "eta",
    "store", "notes",
)
TEAM_COLUMNS = ("name", "active", "days", "stores", "makes", "languages", "cap", "email", "phone")

# Stages a lead can be in while the car is not (yet, or any more) on the lot.
_EARLY = frozenset(("New", "Attempting contact", "Contacted"))
_EARLY_OR_LOST = _EARLY | {"Lost"}

# Source value -> channel class, from the vocabulary (the demo only writes known values, plus
# the one deliberately unknown source).
_CHANNEL_OF = {value: cls for cls, values in CHANNELS.items() for value in values}

# Share of leads of a source that arrive outside opening hours (evenings, Sundays, holidays).
_OFF_HOURS = {"chat": 0.35, "form": 0.35, "email": 0.3}
_OFF_HOURS_SOURCES = {"Missed call": 0.2, "Voicemail": 0.2, "Verpasster Anruf": 0.2,
                      "Mailbox": 0.2, "Nieodebrane": 0.2, "Telefon nieodebrany": 0.2,
                      "Poczta głosowa": 0.2}

# --------------------------------------------------------------------------------------------
# Per-language world: stores, people, sources, texts.

_LOCALE: dict[str, dict[str, Any]] = {
    "en": {
        "stores": ("Leeds", "York"),
        "yes": "Yes", "no": "No",
        "currency": 0.86, "price_step": 250, "price_end": 5, "miles": True,
        "sources": (
            ("AutoTrader", 24), ("WhatsApp", 15), ("Website", 9), ("Phone", 9),
            ("Missed call", 6), ("Email", 8), ("Walk-in", 7), ("Facebook Marketplace", 6),
            ("CarGurus", 5), ("Referral", 3), ("SMS", 3), ("Web chat", 3), ("Voicemail", 2),
        ),
        "unknown_source": "Carrier pigeon",
        "first": (
            "Oliver", "Amelia", "George", "Olivia", "Harry", "Isla", "Jack", "Ava", "Noah",
            "Emily", "Charlie", "Sophie", "James", "Grace", "Thomas", "Lily", "Mohammed", "Aisha",
            "David", "Sarah", "Daniel", "Emma", "Liam", "Chloe", "Ryan", "Hannah", "Connor",
            "Megan", "Kieran", "Zara", "Wojciech", "Niamh", "Callum", "Priya", "Gareth", "Joanne",
        ),
        "last": (
            "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
            "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
            "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Ali", "Hughes", "Edwards",
            "Lee", "Murphy", "O'Brien", "Kowalski", "Singh", "Atkinson", "Sutcliffe",
        ),
        "mail": ("gmail.com", "gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.uk",
                 "btinternet.com", "icloud.com", "sky.com"),
        "dealer_domain": "northgate-cars.co.uk",
        "team": (
            ("Sarah Mitchell", True, "Mon-Fri", ("Leeds",), "", "EN"),
            ("Tom Hughes", True, "Tue-Sat", ("Leeds", "York"), "", "EN, PL"),
            ("Priya Shah", True, "Mon-Sat", ("York",), "BMW, Mini", "EN, HI"),
            ("Gary Lawson", False, "Mon-Fri", ("York",), "", "EN"),
        ),
        "body": {"small": "Hatchback", "hatch": "Hatchback", "sedan": "Saloon",
                 "estate": "Estate", "suv": "SUV", "coupe": "Coupe",
                 "convertible": "Convertible", "mpv": "MPV"},
        "notes": (
            "Is it still available?", "Can I come and see it on Saturday?",
            "What's your best price?", "Does it have full service history?",
            "Can you deliver to Harrogate?", "Interested in finance options",
            "Has it got two keys?", "- part-ex: 2015 Ford Focus, 80k miles",
            "How many owners?", "Any chance of a test drive after work?",
            "Needs to be ULEZ compliant", "+ wants a new MOT before collection",
        ),
        "wanted": (
            "{make} {model} or similar", "SUV under £{budget}", "Automatic estate",
            "First car for my son", "Something economical for commuting", "7 seater",
            "{make}, any model", "Small automatic, low mileage",
        ),
        "transit_note": "Waiting for it to arrive, call when it lands",
        "sold_note": "Saw the ad still online",
        "actions": ("call back after 5pm", "send more photos", "chase finance approval",
                    "book test drive", "send part-ex valuation"),
        "stock_notes": ("Full service history", "2 keys", "New MOT", "One owner",
                        "Cambelt done", "New tyres", "Small dent rear bumper"),
        "status_notes": {"In transit": "From auction, transport booked",
                         "In prep": "Valeting", "Reserved": "Deposit paid",
                         "Sold": "Sold, collected"},
        "jdm_note": "Grey import from Japan, chassis no. only",
        "landlines": (("113", 7, "Leeds"), ("1904", 6, "York")),
    },
    "de": {
        "stores": ("Berlin", "Potsdam"),
        "yes": "Ja", "no": "Nein",
        "currency": 1.0, "price_step": 500, "price_end": 10, "miles": False,
        "sources": (
            ("mobile.de", 24), ("WhatsApp", 17), ("AutoScout24", 12), ("Telefon", 8),
            ("Verpasster Anruf", 5), ("E-Mail", 7), ("Webseite", 6), ("Laufkundschaft", 6),
            ("Kleinanzeigen", 6), ("Facebook Marketplace", 3), ("SMS", 2), ("Empfehlung", 2),
            ("Instagram", 1), ("Anruf", 1),
        ),
        "unknown_source": "Brieftaube",
        "first": (
            "Anna", "Lukas", "Maximilian", "Sophie", "Leon", "Marie", "Paul", "Laura", "Jonas",
            "Julia", "Felix", "Lena", "Tim", "Sarah", "Jan", "Lisa", "Niklas", "Katharina",
            "Stefan", "Sabine", "Michael", "Andrea", "Thomas", "Petra", "Markus", "Claudia",
            "Ahmet", "Elif", "Mehmet", "Fatma", "Dmitri", "Olga", "Jürgen", "Jörg", "Björn",
            "Małgorzata",
        ),
        "last": (
            "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
            "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
            "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann",
            "Lange", "Krause", "Lehmann", "Yılmaz", "Kaya", "Demir", "Öztürk", "Nowak",
            "Popescu",
        ),
        "mail": ("gmx.de", "web.de", "t-online.de", "gmail.com", "gmail.com", "outlook.de",
                 "freenet.de", "posteo.de"),
        "dealer_domain": "autohaus-havelblick.de",
        "team": (
            ("Anna Weber", True, "Mo-Fr", ("Berlin",), "", "DE, EN"),
            ("Jonas Becker", True, "Di-Sa", ("Berlin", "Potsdam"), "", "DE, EN"),
            ("Mehmet Yılmaz", True, "Mo-Sa", ("Potsdam",), "BMW, Mini", "DE, TR"),
            ("Thomas Krüger", False, "Mo-Fr", ("Potsdam",), "", "DE"),
        ),
        "body": {"small": "Kleinwagen", "hatch": "Limousine", "sedan": "Limousine",
                 "estate": "Kombi", "suv": "SUV", "coupe": "Coupé", "convertible": "Cabrio",
                 "mpv": "Van"},
        "notes": (
            "Ist das Auto noch da?", "Letzter Preis?", "Kann ich am Samstag vorbeikommen?",
            "Scheckheft vorhanden?", "Inzahlungnahme: Opel Corsa 2012, 140.000 km",
            "Finanzierung über 48 Monate gewünscht", "- ruft nach 17 Uhr zurück",
            "Unfallfrei?", "Wie viele Vorbesitzer?", "Probefahrt möglich?",
            "Mit neuem TÜV?", "+ Winterreifen gewünscht",
        ),
        "wanted": (
            "{make} {model} oder ähnlich", "SUV bis {budget} €", "Kombi, Automatik",
            "Kleinwagen für Fahranfänger", "Sparsames Auto zum Pendeln", "7-Sitzer",
            "{make}, egal welches Modell", "Kleiner Automatik, wenig km",
        ),
        "transit_note": "Wartet auf Ankunft, anrufen sobald da",
        "sold_note": "Anzeige noch online gesehen",
        "actions": ("Rückruf nach 17 Uhr", "Fotos schicken", "Finanzierung nachhaken",
                    "Probefahrt vereinbaren", "Inzahlungnahme bewerten"),
        "stock_notes": ("Scheckheftgepflegt", "1. Hand", "Unfallfrei", "Neuer TÜV",
                        "Zahnriemen neu", "Winterreifen dabei", "Kleine Delle Heck"),
        "status_notes": {"In transit": "Import aus NL, Transport gebucht",
                         "In prep": "In Aufbereitung", "Reserved": "Anzahlung erhalten",
                         "Sold": "Verkauft, ausgeliefert"},
        "jdm_note": "Import aus Japan, nur Rahmennummer",
        "landlines": (("30", 8, "Berlin"), ("331", 7, "Potsdam")),
    },
    "pl": {
        "stores": ("Kraków", "Wieliczka"),
        "yes": "Tak", "no": "Nie",
        "currency": 4.3, "price_step": 1000, "price_end": 100, "miles": False,
        "sources": (
            ("OTOMOTO", 27), ("WhatsApp", 9), ("OLX", 10), ("Telefon", 10), ("Nieodebrane", 5),
            ("Messenger", 6), ("Facebook Marketplace", 4), ("E-mail", 6), ("Strona www", 5),
            ("Wizyta", 6), ("Polecenie", 3), ("SMS", 3), ("Allegro", 2),
        ),
        "unknown_source": "Gołąb pocztowy",
        "first": (
            "Jan", "Anna", "Piotr", "Katarzyna", "Krzysztof", "Małgorzata", "Andrzej",
            "Agnieszka", "Tomasz", "Barbara", "Paweł", "Ewa", "Michał", "Magdalena", "Marcin",
            "Joanna", "Łukasz", "Aleksandra", "Grzegorz", "Monika", "Jakub", "Zofia",
            "Mateusz", "Natalia", "Kamil", "Oliwia", "Wojciech", "Dorota", "Oleksandr", "Olena",
        ),
        "last": (
            "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
            "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
            "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski", "Pawłowski", "Michalski",
            "Król", "Wieczorek", "Jabłoński", "Wróbel", "Majewski", "Stępień", "Malinowski",
            "Jaworski", "Shevchenko", "Bondarenko",
        ),
        "mail": ("gmail.com", "gmail.com", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
                 "op.pl", "outlook.com"),
        "dealer_domain": "auto-wawel.pl",
        "team": (
            ("Katarzyna Nowak", True, "Pn-Pt", ("Kraków",), "", "PL, EN"),
            ("Piotr Wiśniewski", True, "Wt-Sob", ("Kraków", "Wieliczka"), "", "PL, DE"),
            ("Michał Zieliński", True, "Pn-Sob", ("Wieliczka",), "Skoda, Volkswagen",
             "PL, UA"),
            ("Agnieszka Lewandowska", False, "Pn-Pt", ("Wieliczka",), "", "PL"),
        ),
        "body": {"small": "Hatchback", "hatch": "Hatchback", "sedan": "Sedan",
                 "estate": "Kombi", "suv": "SUV", "coupe": "Coupe", "convertible": "Kabriolet",
                 "mpv": "Minivan"},
        "notes": (
            "Czy auto jest jeszcze dostępne?", "Jaka cena ostateczna?",
            "Czy mogę przyjechać w sobotę?", "Czy auto było bite?",
            "W rozliczeniu: Opel Astra 2011", "Interesuje mnie kredyt", "- dzwonić po 16",
            "Ilu właścicieli?", "Czy jest książka serwisowa?", "Możliwa jazda próbna?",
            "Czy auto jest zarejestrowane?", "+ pyta o opony zimowe",
        ),
        "wanted": (
            "{make} {model} lub podobny", "SUV do {budget} zł", "Kombi z automatem",
            "Auto dla córki, mały przebieg", "Coś oszczędnego do dojazdów", "7-osobowy",
            "{make}, dowolny model", "Mały automat, niski przebieg",
        ),
        "transit_note": "Czeka na przyjazd auta, dać znać",
        "sold_note": "Widział ogłoszenie na OTOMOTO",
        "actions": ("oddzwonić po 16", "wysłać zdjęcia", "sprawdzić decyzję kredytową",
                    "umówić jazdę próbną", "wycenić auto w rozliczeniu"),
        "stock_notes": ("Serwisowany w ASO", "Pierwszy właściciel", "Bezwypadkowy",
                        "Sprowadzony z Niemiec", "Nowy rozrząd", "Komplet kół zimowych",
                        "Drobne rysy na zderzaku"),
        "status_notes": {"In transit": "Sprowadzany z Niemiec, w drodze",
                         "In prep": "W przygotowaniu", "Reserved": "Zaliczka wpłacona",
                         "Sold": "Sprzedany, wydany"},
        "jdm_note": "Import z Japonii, tylko numer ramy",
        "landlines": (("12", 7, "Kraków"), ("12", 7, "Wieliczka")),
    },
}

# Fixed-date public holidays (month, day) per country, plus Easter-based offsets.
_FIXED_HOLIDAYS = {
    "DE": ((1, 1), (5, 1), (10, 3), (10, 31), (12, 25), (12, 26)),  # 31.10: Brandenburg
    "PL": ((1, 1), (1, 6), (5, 1), (5, 3), (8, 15), (11, 1), (11, 11), (12, 25), (12, 26)),
    "GB": ((1, 1), (12, 25), (12, 26)),
}
_EASTER_HOLIDAYS = {"DE": (-2, 1, 39, 50), "PL": (1, 60), "GB": (-2, 1)}

# --------------------------------------------------------------------------------------------
# Cars. (make, model, body, WMI, VDS choices (positions 4-8), position 9 rule, plants,
# first/last year, new price in EUR, weight). Position 9: "check" = ISO 3779 check digit,
# "Z" = VW group filler, "digit" = anything (check digit not used by that maker).

_EU_CARS = (
    ("Volkswagen", "Golf", "hatch", "WVW", ("ZZZAU", "ZZZCD", "ZZZ5G"), "Z", "WMP", 2014, 2023,
     28000, 12),
    ("Volkswagen", "Polo", "small", "WVW", ("ZZZAW", "ZZZ6R"), "Z", "YU", 2014, 2023, 19000, 7),
    ("Volkswagen", "Passat", "estate", "WVW", ("ZZZ3C", "ZZZ3G"), "Z", "EP", 2014, 2022, 36000,
     5),
    ("Volkswagen", "Tiguan", "suv", "WVG", ("ZZZ5N", "ZZZAD"), "Z", "WK", 2015, 2023, 36000, 6),
    ("Audi", "A3 Sportback", "hatch", "WAU", ("ZZZ8V", "ZZZGY"), "Z", "A1", 2014, 2023, 32000, 4),
    ("Audi", "A4 Avant", "estate", "WAU", ("ZZZF4", "ZZZ8W"), "Z", "AN", 2015, 2022, 42000, 4),
    ("Skoda", "Octavia", "estate", "TMB", ("JG7NE", "ZZZNX", "JJ7NX"), "Z", "P", 2014, 2023,
     29000, 8),
    ("Skoda", "Fabia", "small", "TMB", ("ZZZNJ", "EG6NJ"), "Z", "3", 2015, 2023, 18000, 5),
    ("Skoda", "Kodiaq", "suv", "TMB", ("JJ9NS", "ZZZNS"), "Z", "8", 2017, 2023, 38000, 3),
    ("Seat", "Leon", "hatch", "VSS", ("ZZZ5F", "ZZZKL"), "Z", "MR", 2014, 2023, 25000, 4),
    ("BMW", "320d Touring", "estate", "WBA", ("8G110", "5K710", "8J310"), "check", "FKA", 2015,
     2022, 45000, 5),
    ("BMW", "118i", "hatch", "WBA", ("1S510", "7K110"), "check", "7V", 2015, 2023, 31000, 4),
    ("BMW", "X3 xDrive20d", "suv", "WBA", ("TX310", "WX710"), "check", "NL", 2017, 2023, 52000,
     3),
    ("Mini", "Cooper", "small", "WMW", ("XP510", "XR310", "XU110"), "check", "T2", 2014, 2023,
     26000, 4),
    ("Mercedes-Benz", "C 200", "sedan", "WDD", ("20504", "20508"), "check", "FRU", 2014, 2021,
     44000, 4),
    ("Mercedes-Benz", "A 180", "hatch", "WDD", ("17604", "17701"), "check", "JV", 2014, 2022,
     30000, 4),
    ("Opel", "Astra", "hatch", "W0L", ("BD6EC", "0BD68", "PD6EC"), "digit", "G8", 2015, 2022,
     24000, 6),
    ("Opel", "Corsa", "small", "W0L", ("0XEP6", "PF68K"), "digit", "4Z", 2015, 2023, 18000, 5),
    ("Ford", "Focus", "hatch", "WF0", ("5XXGC", "NXXGC"), "digit", "LS", 2014, 2022, 25000, 6),
    ("Ford", "Kuga", "suv", "WF0", ("AXXWP", "3XXGC"), "digit", "BY", 2015, 2022, 32000, 3),
    ("Renault", "Clio", "small", "VF1", ("RJA00", "R5B00"), "digit", "BRV", 2014, 2023, 18000, 5),
    ("Renault", "Captur", "suv", "VF1", ("RJB00", "R8700"), "digit", "VA", 2015, 2023, 23000, 3),
    ("Peugeot", "308", "hatch", "VF3", ("LBHNZ", "LPHNS"), "digit", "SG", 2014, 2022, 25000, 4),
    ("Peugeot", "3008", "suv", "VF3", ("MCYHZ", "MRHNS"), "digit", "SY", 2016, 2023, 33000, 3),
    ("Fiat", "500", "small", "ZFA", ("31200", "31200", "33200"), "digit", "J", 2014, 2023,
     16000, 4),
    ("Fiat", "Tipo", "sedan", "ZFA", ("35600", "35700"), "digit", "Y", 2016, 2022, 19000, 2),
    ("Volvo", "XC60", "suv", "YV1", ("UZA8V", "DZ40L"), "check", "1", 2015, 2023, 52000, 3),
    ("Volvo", "V60", "estate", "YV1", ("ZW10M", "FW40C"), "check", "1", 2015, 2022, 44000, 2),
    ("Toyota", "Yaris", "small", "VNK", ("KL3D3", "BL3D3"), "check", "0", 2014, 2023, 19000, 4),
    ("Toyota", "Corolla", "hatch", "SB1", ("Z3BE6", "K93E4"), "check", "0", 2019, 2023, 28000, 4),
    ("Toyota", "C-HR", "suv", "NMT", ("KZ3BX", "KX3BX"), "check", "R", 2017, 2023, 29000, 3),
    ("Kia", "Ceed", "hatch", "U5Y", ("H5F24", "HM512"), "check", "T", 2015, 2023, 24000, 4),
    ("Kia", "Sportage", "suv", "U5Y", ("PK81A", "PG81B"), "check", "7", 2016, 2023, 31000, 3),
    ("Hyundai", "i30", "hatch", "TMA", ("H851D", "D381C"), "check", "U", 2015, 2023, 24000, 4),
    ("Hyundai", "Tucson", "suv", "TMA", ("J3817", "J81DB"), "check", "U", 2016, 2023, 32000, 3),
    ("Nissan", "Qashqai", "suv", "SJN", ("FAAJ1", "FBAJ1"), "check", "W", 2014, 2023, 29000, 4),
    ("Dacia", "Duster", "suv", "UU1", ("HSDJ5", "4SDB5"), "digit", "M", 2015, 2023, 19000, 4),
    ("Dacia", "Sandero", "small", "UU1", ("5SDB5", "B5C1B"), "digit", "M", 2016, 2023, 13000, 3),
)

# Built in North America, Japan, Korea or China: the check digit is mandatory and correct.
_WORLD_CARS = (
    ("Tesla", "Model 3", "sedan", "5YJ", ("3E1EA", "3E1EB"), "check", "F", 2019, 2021, 48000, 3),
    ("Tesla", "Model 3", "sedan", "LRW", ("3E7EK", "3E7EB"), "check", "C", 2021, 2023, 45000, 3),
    ("BMW", "X5 xDrive30d", "suv", "5UX", ("CR6C0", "KR6C5", "TA6C0"), "check", "9", 2015,
     2022, 80000, 2),
    ("Mercedes-Benz", "GLE 350 d", "suv", "4JG", ("FB4KB", "DA4EB"), "check", "A", 2015, 2021,
     75000, 1),
    ("Ford", "Mustang", "coupe", "1FA", ("6P8TH", "6P8CF"), "check", "5", 2015, 2022, 50000, 2),
    ("Jeep", "Wrangler", "suv", "1C4", ("HJXEG", "BJWDG"), "check", "W", 2015, 2021, 55000, 1),
    ("Volkswagen", "Jetta", "sedan", "3VW", ("C57BU", "217AU"), "check", "M", 2014, 2019, 25000,
     1),
    ("Toyota", "RAV4", "suv", "2T3", ("W1RFV", "RFREV"), "check", "W", 2016, 2021, 38000, 1),
    ("Toyota", "RAV4 Hybrid", "suv", "JTM", ("W1RFV", "RWRFV"), "check", "D", 2016, 2023, 40000,
     2),
    ("Mazda", "CX-5", "suv", "JMZ", ("KF6W7", "KFAW7"), "check", "0", 2015, 2023, 33000, 2),
    ("Mazda", "MX-5", "convertible", "JMZ", ("ND6E7", "NDAE7"), "check", "0", 2015, 2023,
     30000, 1),
    ("Kia", "Picanto", "small", "KNA", ("B2512", "B3511"), "check", "5", 2015, 2023, 13000, 2),
    ("Hyundai", "Kona", "suv", "KMH", ("K3813", "K381G"), "check", "U", 2018, 2023, 27000, 2),
    ("Subaru", "Forester", "suv", "JF1", ("SK9LC", "SJ8KC"), "check", "G", 2016, 2022, 36000, 1),
    ("MG", "ZS EV", "suv", "LSJ", ("W74C9", "A24U6"), "check", "Z", 2020, 2023, 33000, 2),
)

_SHORT_MAKE = {"Volkswagen": "VW", "Mercedes-Benz": "Mercedes"}

_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 1980 + i, repeating every 30 years


def _ascii(text: str) -> str:
    text = text.translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ł": "l",
                                         "Ł": "L", "ı": "i", "'": ""}))
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _easter(year: int) -> dt.date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _gb_holidays(year: int) -> list[dt.date]:
    def monday(month: int, first: bool) -> dt.date:
        day = dt.date(year, month, 1) if first else dt.date(year, month + 1, 1) - dt.timedelta(1)
        step = 1 if first else -1
        while day.weekday() != 0:
            day += dt.timedelta(step)
        return day
    return [monday(5, True), monday(5, False), monday(8, False)]


def demo_holidays(country: str, as_of: dt.datetime) -> tuple[dt.date, ...]:
    """Two public holidays for the Settings tab: the latest two in the 60 days before
    ``as_of``; where there are fewer (GB in autumn), the next ones after it."""
    today = as_of.date()
    days: set[dt.date] = set()
    for year in (today.year - 1, today.year, today.year + 1):
        days.update(dt.date(year, m, d) for m, d in _FIXED_HOLIDAYS[country])
        easter = _easter(year)
        days.update(easter + dt.timedelta(off) for off in _EASTER_HOLIDAYS[country])
        if country == "GB":
            days.update(_gb_holidays(year))
    ordered = sorted(days)
    past = [d for d in ordered if today - dt.timedelta(WINDOW_DAYS) <= d < today][-2:]
    future = [d for d in ordered if d >= today][: 2 - len(past)]
    return tuple(sorted(past + future))


# --------------------------------------------------------------------------------------------


class _Lead:
    __slots__ = ("received", "source", "channel", "first", "last", "appt", "status", "name",
                 "phone", "email", "car", "link", "wanted", "owner", "action", "due",
                 "trade_in", "finance", "budget", "store", "notes", "lead_id", "dup_of",
                 "fixed")

    def __init__(self, received: int, source: str) -> None:
        self.received = received
        self.source = source
        self.channel = _CHANNEL_OF.get(source, "other")
        self.first = self.last = self.appt = self.due = None
        self.status = "New"
        self.name = self.phone = self.email = self.owner = self.action = None
        self.trade_in = self.finance = self.budget = self.store = self.notes = None
        self.car: int | None = None
        self.link = "text"
        self.wanted = None
        self.lead_id = None
        self.dup_of: int | None = None
        self.fixed = False  # a special row: keep its id, do not reuse it for anything else


class _Car:
    __slots__ = ("vin", "stock_no", "make", "model", "year", "body", "price", "mileage",
                 "status", "eta", "store", "notes")


class _Demo:
    """Builds all values in memory (plain Python); :meth:`grids` lays them out as the
    workbook's tabs, for a file (:func:`generate_demo`) or grids in memory
    (:func:`demo_backend`)."""

    def __init__(self, leads: int, seed: int, as_of: dt.datetime, language: str) -> None:
        self.n = leads
        self.r = random.Random(f"forecourt-demo/{seed}/{language}/{leads}")
        self.lang = language
        self.loc = _LOCALE[language]
        self.country = COUNTRIES[language]
        self.as_of = as_of
        self.holidays = demo_holidays(self.country, as_of)
        self.settings = Settings(country=self.country, language=language,
                                 holidays=self.holidays)
        self.special: dict[str, list[_Lead]] = {}
        self._calendar()
        self._people_pools()

    # -- time, in whole minutes since self.base ------------------------------------------
    # Business-time arithmetic is the engine's own (forecourt.hours), so a reply the demo
    # makes "within the SLA" is within the deadline the engine computes.

    def _calendar(self) -> None:
        day0 = self.as_of.date() - dt.timedelta(days=WINDOW_DAYS + 2)
        self.base = dt.datetime.combine(day0, dt.time())
        self.opening = OpeningHours.of(self.settings.opening_hours, self.settings.holidays)
        self.ndays = WINDOW_DAYS + 2 + 120
        # Each day's opening and closing minute of the day (None: closed), for sampling.
        self.hours: list[tuple[int, int] | None] = []
        for i in range(self.ndays):
            w = self.opening.window(day0 + dt.timedelta(days=i))
            self.hours.append(None if w is None else
                              (w[0].hour * 60 + w[0].minute, w[1].hour * 60 + w[1].minute))
        self.now = self.minute(self.as_of)
        self.start = self.now - WINDOW_DAYS * 1440
        # Opening-hours segments inside the window, for uniform sampling of business minutes.
        self.segments: list[tuple[int, int]] = []
        self.cum: list[int] = []
        total = 0
        for d, h in enumerate(self.hours):
            if h is None:
                continue
            lo, hi = max(d * 1440 + h[0], self.start), min(d * 1440 + h[1], self.now)
            if hi > lo:
                self.segments.append((lo, hi))
                total += hi - lo
                self.cum.append(total)

    def moment(self, t: int) -> dt.datetime:
        return self.base + dt.timedelta(minutes=t)

    def minute(self, moment: dt.datetime) -> int:
        return (moment - self.base) // dt.timedelta(minutes=1)

    def next_open(self, t: int) -> int:
        return self.minute(self.opening.next_open(self.moment(t)))

    def add_biz(self, t: int, minutes: int) -> int:
        return self.minute(self.opening.add(self.moment(t), minutes))

    def sub_biz(self, t: int, minutes: int) -> int:
        return self.minute(self.opening.subtract(self.moment(t), minutes))

    def slot(self, after: int, days_ahead: int) -> int:
        """A half-hour appointment slot in opening hours, ``days_ahead`` days after ``after``."""
        r = self.r
        d = after // 1440 + days_ahead
        while True:
            h = self.hours[d] if d < self.ndays else (540, 1080)
            if h is not None and h[1] - h[0] >= 120:
                first, last = (h[0] + 30) // 30, (h[1] - 60) // 30
                t = d * 1440 + r.randint(first, last) * 30
                if t > after + 60:
                    return t
            d += 1

    def sample_received(self, source: str, channel: str) -> int:
        r = self.r
        off = _OFF_HOURS_SOURCES.get(source, _OFF_HOURS.get(channel, 0.0))
        if off and r.random() < off:
            for _ in range(20):
                d = r.randrange(self.start // 1440, self.now // 1440 + 1)
                h = self.hours[d]
                if h is None:
                    m = r.randint(9 * 60, 22 * 60)
                elif r.random() < 0.8 or h[0] <= 7 * 60:
                    m = r.randint(h[1], 22 * 60 + 30)
                else:
                    m = r.randint(7 * 60, h[0] - 1)
                t = d * 1440 + m
                if self.start <= t < self.now:
                    return t
        u = r.random() * self.cum[-1]
        i = bisect.bisect_right(self.cum, u)
        lo, hi = self.segments[i]
        return min(hi - 1, lo + int(u - (self.cum[i - 1] if i else 0)))

    # -- people --------------------------------------------------------------------------

    def _people_pools(self) -> None:
        loc = self.loc
        self.sources = [s for s, _ in loc["sources"]]
        self.source_weights = [w for _, w in loc["sources"]]
        for s in self.sources:
            assert s in _CHANNEL_OF, s
        self.first_names = loc["first"]
        self.last_names = loc["last"]
        self.ascii = {n: _ascii(n) for n in (*loc["first"], *loc["last"])}
        self.phones_used: set[str] = set()
        self.emails_used: set[str] = set()

    def person_name(self) -> str:
        r = self.r
        first, last = r.choice(self.first_names), r.choice(self.last_names)
        if self.lang == "pl" and first.endswith("a") and last.endswith(("ski", "cki", "dzki")):
            last = last[:-1] + "a"
        return f"{first} {last}"

    def phone_core(self) -> tuple[str, str]:
        """(area/mobile prefix, subscriber digits), unique within the file."""
        r = self.r
        while True:
            if r.random() < 0.07:
                prefix, length, _ = r.choice(self.loc["landlines"])
                rest = r.choice("2345") + "".join(str(r.randrange(10))
                                                  for _ in range(length - 1))
            elif self.country == "DE":
                prefix = r.choice(("151", "152", "157", "160", "162", "170", "171", "172",
                                   "173", "174", "175", "176", "177", "178", "179"))
                length = 8 if prefix[1] == "5" or r.random() < 0.6 else 7
                rest = "".join(str(r.randrange(10)) for _ in range(length))
            elif self.country == "PL":
                prefix = r.choice(("50", "51", "53", "57", "60", "66", "69", "72", "73", "78",
                                   "79", "88")) + str(r.randrange(10))
                rest = "".join(str(r.randrange(10)) for _ in range(6))
            else:
                prefix = "7" + r.choice("12345789") + "".join(str(r.randrange(10))
                                                              for _ in range(2))
                rest = "".join(str(r.randrange(10)) for _ in range(6))
            key = prefix + rest
            if key not in self.phones_used:
                self.phones_used.add(key)
                return prefix, rest

    def format_phone(self, core: tuple[str, str], style: int) -> str:
        prefix, rest = core
        cc = {"DE": "49", "PL": "48", "GB": "44"}[self.country]
        if self.country == "PL":
            grouped = (f"{prefix} {rest[:3]} {rest[3:5]} {rest[5:]}" if len(prefix) == 2 else
                       f"{prefix} {rest[:3]} {rest[3:]}")
            national, compact = grouped, prefix + rest
        else:
            if self.country == "GB" and len(prefix) == 3 and len(rest) == 7:
                rest_fmt = f"{rest[:3]} {rest[3:]}"
            else:
                rest_fmt = rest
            national, compact = f"0{prefix} {rest_fmt}", f"0{prefix}{rest}"
            grouped = f"{prefix} {rest_fmt}"
        return (national, f"+{cc} {grouped}", compact, f"+{cc}{prefix}{rest}",
                f"0{prefix}/{rest}" if self.country == "DE" else national)[style]

    def phone_style(self) -> int:
        return self.r.choices((0, 1, 2, 3, 4), (45, 30, 12, 8, 5))[0]

    def email_for(self, name: str) -> str:
        r = self.r
        parts = [self.ascii.get(p) or _ascii(p) for p in name.split()]
        first, last = parts[0], parts[-1]
        style = r.random()
        if style < 0.4:
            local = f"{first}.{last}"
        elif style < 0.6:
            local = f"{first}{last}{r.randint(1, 99)}"
        elif style < 0.8:
            local = f"{first[0]}.{last}"
        else:
            local = f"{first}{r.randint(70, 2005)}"
        domain = r.choice(self.loc["mail"])
        email = f"{local}@{domain}"
        while email in self.emails_used:
            email = f"{local}{r.randint(1, 9999)}@{domain}"
        self.emails_used.add(email)
        return email

    def contact(self, lead: _Lead) -> None:
        """Name, phone and e-mail as the channel delivers them."""
        r = self.r
        name = self.person_name()
        ch = lead.channel
        p_phone, p_email = {"chat": (1.0, 0.15), "phone": (1.0, 0.15), "form": (0.7, 0.95),
                            "email": (0.35, 1.0), "walk-in": (0.9, 0.4),
                            "other": (0.9, 0.4)}[ch]
        if lead.source in ("SMS",):
            p_email = 0.05
        core = self.phone_core() if r.random() < p_phone else None
        email = self.email_for(name) if (r.random() < p_email or core is None) else None
        if ch == "chat" and r.random() < 0.12:
            name = name.split()[0]  # chats often give a first name only
        elif r.random() < 0.03:
            name = name.lower()
        lead.name = name
        lead.phone = core and (core, self.phone_style())
        lead.email = email

    # -- the pipeline --------------------------------------------------------------------

    def simulate(self, lead: _Lead) -> None:
        """Walk the lead through the pipeline until the next step would be after now."""
        r = self.r
        now, t0, ch = self.now, lead.received, lead.channel
        age_days = (now - t0) / 1440
        lead.first = lead.last = lead.appt = None
        lead.status = "New"
        if ch == "walk-in":
            first = t0
        else:
            if r.random() < 0.04:
                return  # fell through the cracks: still New, nobody answered
            sla = self.settings.rule(f"New lead, {ch}").minutes
            delay = (r.uniform(1, sla) if r.random() < 0.55
                     else sla + r.expovariate(1 / (3 * sla)))
            first = self.add_biz(t0, int(delay) + 1)
        if first > now:
            return
        lead.first = lead.last = first
        if ch != "walk-in" and r.random() < 0.2:  # never reached
            for _ in range(r.randint(0, 2)):
                nxt = self.add_biz(lead.last, r.randint(120, 600))
                if nxt > now:
                    break
                lead.last = nxt
            lead.status = "Lost" if age_days > 10 and r.random() < 0.5 else "Attempting contact"
            return
        lead.status = "Contacted"
        if r.random() >= 0.55:
            nxt = self.add_biz(first, r.randint(240, 3 * 540))
            if nxt <= now:
                lead.last = nxt
            if age_days > 7 and r.random() < 0.4:
                lead.status = "Lost"
            return
        t_set = first if r.random() < 0.6 else self.add_biz(first, r.randint(30, 900))
        if t_set > now:
            return
        lead.last = t_set
        appt = self.slot(t_set, r.randint(0, 6))
        lead.appt = appt
        lead.status = "Appointment set"
        if appt > now:
            if appt - now < 2 * 1440 and r.random() < 0.6:
                lead.status = "Appointment confirmed"
                lead.last = max(t_set, now - r.randint(30, 1200))
            return
        if r.random() < 0.08:  # nobody updated the status after the appointment
            if r.random() < 0.5:
                lead.status = "Appointment confirmed"
            return
        if r.random() < 0.22:
            lead.status = "No show"
            if now - appt > 5 * 1440 and r.random() < 0.6:
                lead.status = "Lost"
                lead.last = min(now, self.add_biz(appt, 120))
            return
        lead.status = "Shown"
        lead.last = appt
        if r.random() >= 0.5:
            if now - appt > 7 * 1440 and r.random() < 0.6:
                lead.status = "Lost"
            return
        offer = self.add_biz(appt, r.randint(30, 2 * 540))
        if offer > now:
            return
        lead.status, lead.last = "Offer sent", offer
        if r.random() >= 0.36:
            if now - offer > 7 * 1440 and r.random() < 0.6:
                lead.status = "Lost"
            return
        deposit = self.add_biz(offer, r.randint(120, 4 * 540))
        if deposit > now:
            return
        lead.status, lead.last = "Deposit taken", deposit
        if r.random() < 0.85:
            won = self.add_biz(deposit, r.randint(2 * 540, 8 * 540))
            if won <= now:
                lead.status, lead.last = "Won", won

    # -- build ---------------------------------------------------------------------------

    def build(self) -> None:
        r = self.r
        n = self.n
        n_dup = round(n * 0.03) if n >= 20 else 0
        leads: list[_Lead] = []
        for _ in range(n - n_dup):
            source = r.choices(self.sources, self.source_weights)[0]
            lead = _Lead(0, source)
            lead.received = self.sample_received(source, lead.channel)
            self.contact(lead)
            self.simulate(lead)
            leads.append(lead)
        self.leads = leads
        self._duplicates(n_dup)
        self._specials()
        self._team()
        self._stock()
        self._link_cars()
        self._details()
        leads.sort(key=lambda x: x.received)
        number = r.randint(100, 400)
        for lead in leads:
            if lead.fixed or r.random() >= 0.1:
                lead.lead_id = f"L-{number:06d}"
                number += 1

    def _duplicates(self, n_dup: int) -> None:
        r = self.r
        base = self.leads
        candidates = [i for i, x in enumerate(base)
                      if x.received < self.now - 2 * 1440 and (x.phone or x.email)]
        originals = r.sample(candidates, min(n_dup, len(candidates)))
        for i in originals:
            orig = base[i]
            for _ in range(20):
                source = r.choices(self.sources, self.source_weights)[0]
                if _CHANNEL_OF[source] != orig.channel:
                    break
            dup = _Lead(0, source)
            latest = min(orig.received + 29 * 1440, self.now - 30)
            t = r.randint(orig.received + 60, max(orig.received + 61, latest))
            if dup.channel in ("phone", "walk-in", "other") or not 7 * 60 <= t % 1440 <= 1350:
                t = self.next_open(t)
            if t >= self.now or t - orig.received > 30 * 1440 - 60:
                t = orig.received + 60  # an hour later, e.g. a call after the form
                if dup.channel in ("phone", "walk-in", "other"):
                    t = self.add_biz(orig.received, 60)
                    if t >= self.now:
                        t = orig.received + 30
                        dup = _Lead(0, r.choice([s for s in self.sources
                                                 if _CHANNEL_OF[s] in ("chat", "form")
                                                 and _CHANNEL_OF[s] != orig.channel]))
            dup.received = t
            dup.dup_of = i
            dup.name = orig.name if r.random() < 0.7 else orig.name.split()[0]
            if orig.phone:
                core, style = orig.phone
                shown = self.format_phone(core, style)
                dup.phone = (core, r.choice([s for s in range(4)
                                             if self.format_phone(core, s) != shown]))
                dup.email = orig.email if r.random() < 0.4 else None
            else:
                dup.email = orig.email
            self.simulate(dup)
            base.append(dup)
        self.special["duplicates"] = base[len(base) - len(originals):]

    def _pick(self, pool: list[int], taken: set[int]) -> int | None:
        """A random index from ``pool`` not yet taken (``pool`` is consumed as it goes)."""
        r = self.r
        while pool:
            i = pool.pop(r.randrange(len(pool)))
            if i not in taken:
                taken.add(i)
                self.leads[i].fixed = True
                return i
        return None

    def _specials(self) -> None:
        r = self.r
        leads = self.leads
        dup_related = {x.dup_of for x in leads if x.dup_of is not None}
        plain = [i for i, x in enumerate(leads) if x.dup_of is None and i not in dup_related]
        taken: set[int] = set()
        self.taken = taken
        # One lead with neither phone nor e-mail (a walk-in who left no number, say).
        i = self._pick(list(plain), taken)
        if i is not None:
            leads[i].phone = leads[i].email = None
            self.special["no_contact"] = [leads[i]]
        i = self._pick([j for j in plain if leads[j].channel not in ("walk-in", "phone")], taken)
        if i is not None:
            leads[i].source, leads[i].channel = self.loc["unknown_source"], "other"
            self.special["unknown_source"] = [leads[i]]
        i = self._pick(list(plain), taken)
        if i is not None:
            leads[i].name = '=HYPERLINK("http://x")'
            self.special["formula_name"] = [leads[i]]
        # Late: New, received a few business hours ago, nobody has answered.
        late = []
        pool = [j for j in plain if leads[j].channel in ("chat", "form", "phone")]
        for _ in range(max(3, self.n // 250) if self.n >= 10 else 0):
            i = self._pick(pool, taken)
            if i is None:
                break
            lead = leads[i]
            t = self.now - r.randint(15, 16 * 60)  # last night's chats and forms
            if lead.channel == "phone" or not 7 * 60 <= t % 1440 <= 22 * 60 + 30:
                t = self.sub_biz(self.now, r.randint(15, 240))
            lead.received = t
            lead.status, lead.first, lead.last, lead.appt = "New", None, None, None
            late.append(lead)
        self.special["late"] = late

    def _team(self) -> None:
        r = self.r
        loc = self.loc
        self.team = []
        cap = max(25, self.n // 12)
        for k, (name, active, days, stores, makes, langs) in enumerate(loc["team"]):
            first = self.ascii.get(name.split()[0]) or _ascii(name.split()[0])
            prefix, rest = self.phone_core()
            self.team.append({
                "name": name, "active": active, "days": days, "stores": stores,
                "makes": makes, "languages": langs, "cap": cap if k == 1 else None,
                "email": f"{first}@{loc['dealer_domain']}",
                "phone": self.format_phone((prefix, rest), r.choice((0, 1))),
            })

    def _car_templates(self) -> tuple[list[tuple], list[int]]:
        cars = list(_EU_CARS) + list(_WORLD_CARS)
        weights = [c[-1] * (1 if c in _EU_CARS else 1.4) for c in cars]
        return cars, weights

    def _make_vin(self, tpl: tuple, year: int, used: set[str]) -> str:
        r = self.r
        _, _, _, wmi, vds, rule, plants, *_ = tpl
        while True:
            stem = wmi + r.choice(vds)
            tail = (_YEAR_CODES[(year - 1980) % 30] + r.choice(plants)
                    + f"{r.randrange(1_000_000):06d}")
            if rule == "Z":
                vin = stem + "Z" + tail
            elif rule == "digit":
                vin = stem + str(r.randrange(10)) + tail
            else:
                vin = stem + check_digit(stem + "0" + tail) + tail
            if vin not in used:
                used.add(vin)
                return vin

    def _stock(self) -> None:
        r = self.r
        loc = self.loc
        leads = self.leads
        n_stock = max(60, self.n // 5)
        n_won = sum(1 for x in leads if x.status == "Won")
        n_deposit = sum(1 for x in leads if x.status == "Deposit taken")
        n_transit = max(2, round(n_stock * 0.04))
        n_prep = max(2, round(n_stock * 0.06))
        n_sold = max(3, min(n_won + max(2, n_stock // 30), int(n_stock * 0.45)))
        n_reserved = max(2, min(n_deposit + max(1, n_stock // 40), int(n_stock * 0.12)))
        n_lot = n_stock - n_transit - n_prep - n_sold - n_reserved
        statuses = (["On lot"] * n_lot + ["In transit"] * n_transit + ["In prep"] * n_prep
                    + ["Sold"] * n_sold + ["Reserved"] * n_reserved)
        r.shuffle(statuses)
        jdm_at = r.randrange(n_stock)
        while statuses[jdm_at] != "On lot":
            jdm_at = (jdm_at + 1) % n_stock
        templates, weights = self._car_templates()
        this_year = self.as_of.year
        used: set[str] = set()
        number = r.randint(20, 300)
        stores = loc["stores"]
        self.cars: list[_Car] = []
        for k, status in enumerate(statuses):
            car = _Car()
            if k == jdm_at:
                tpl = ("Toyota", "Prius", "hatch", "", (), "", "", 2010, 2014, 28000, 0)
                car.year = r.randint(2010, 2014)
                car.vin = f"ZVW30-{r.randrange(1_000_000, 10_000_000)}"
            else:
                tpl = r.choices(templates, weights)[0]
                car.year = r.randint(tpl[7], min(tpl[8], this_year - 1))
                car.vin = self._make_vin(tpl, car.year, used)
            car.make, car.model = tpl[0], tpl[1]
            car.body = loc["body"][tpl[2]]
            age = max(0, this_year - car.year)
            price = tpl[9] * 1.15 * 0.92 ** age * r.uniform(0.85, 1.12) * loc["currency"]
            step = loc["price_step"]
            car.price = max(1, round(price / step)) * step - loc["price_end"]
            km = age * r.uniform(7000, 21000) + r.randint(1000, 9000)
            car.mileage = int(km * 0.621 if loc["miles"] else km)
            car.status = status
            car.eta = (self.as_of.date() + dt.timedelta(days=r.randint(3, 21))
                       if status == "In transit" else None)
            car.store = stores[0] if r.random() < 0.62 else stores[1]
            car.stock_no = f"S-{number:04d}"
            number += 1
            if k == jdm_at:
                car.notes = loc["jdm_note"]
            elif status != "On lot" and r.random() < 0.6:
                car.notes = loc["status_notes"][status]
            elif r.random() < 0.3:
                car.notes = r.choice(loc["stock_notes"])
            else:
                car.notes = None
            self.cars.append(car)
        self.jdm = jdm_at

    def _link_cars(self) -> None:
        r = self.r
        leads, cars = self.leads, self.cars
        by_status: dict[str, list[int]] = {s: [] for s in STOCK_STATUSES}
        for k, car in enumerate(cars):
            by_status[car.status].append(k)
        sold_free = list(by_status["Sold"])
        reserved_free = list(by_status["Reserved"])
        r.shuffle(sold_free)
        r.shuffle(reserved_free)
        self.cars_asked = {"transit_car": by_status["In transit"][:1],
                           "sold_car": by_status["Sold"][:1]}

        # Won leads bought a car that is now Sold; a deposit reserves one.
        for lead in leads:
            if lead.status == "Won" and sold_free:
                lead.car = sold_free.pop()
            elif lead.status == "Deposit taken" and reserved_free:
                lead.car = reserved_free.pop()
            else:
                continue
            lead.link = "stock_no" if r.random() < 0.15 else "vin"
        # Several open leads wait for the car in transit; some still ask about a sold one.
        open_free = [i for i, x in enumerate(leads)
                     if x.status in _EARLY and x.car is None and i not in self.taken]
        for key, count, note in (("transit_car", max(3, self.n // 400), "transit_note"),
                                 ("sold_car", max(2, self.n // 1000), "sold_note")):
            asked = []
            for car in self.cars_asked[key]:
                for _ in range(count):
                    if not open_free:
                        break
                    i = open_free.pop(r.randrange(len(open_free)))
                    leads[i].car = car
                    leads[i].link = "stock_no" if len(asked) == 1 else "vin"
                    leads[i].notes = self.loc[note]
                    leads[i].fixed = True
                    asked.append(leads[i])
            self.special[key + "_leads"] = asked

        pools = {s: by_status[s] for s in ("On lot", "In prep", "In transit", "Reserved", "Sold")}
        pool_names = [s for s in pools if pools[s]]
        pool_weights = [{"On lot": 80, "In prep": 6, "In transit": 6, "Reserved": 4,
                         "Sold": 4}[s] for s in pool_names]
        for lead in leads:
            if lead.car is not None:
                continue
            if lead.dup_of is not None and r.random() < 0.7:
                orig = leads[lead.dup_of]
                if orig.car is None:
                    lead.link = "text"  # _details copies what they wrote the first time
                    continue
                if orig.status not in ("Won", "Deposit taken"):
                    lead.car, lead.link = orig.car, orig.link
                    continue
            u = r.random()
            if u < 0.2 or lead.status in ("Won", "Deposit taken"):
                lead.link = "text"
                continue
            kind = r.choices(pool_names, pool_weights)[0]
            if kind in ("In transit", "Sold") and lead.status not in _EARLY_OR_LOST:
                kind = "On lot"  # nobody test-drives a car that is not there
            pool = pools[kind]
            lead.car = pool[int(len(pool) * r.random() ** 1.6)]  # some cars are popular
            lead.link = "vin" if u < 0.2 + 0.7 else "stock_no"

    def _details(self) -> None:
        r = self.r
        loc = self.loc
        leads, cars = self.leads, self.cars
        yes, no = loc["yes"], loc["no"]
        stores = loc["stores"]
        active = [p for p in self.team if p["active"]]
        inactive = [p for p in self.team if not p["active"]]
        step = loc["price_step"]
        separator = {"en": ",", "de": ".", "pl": " "}[self.lang]
        wanted_templates = loc["wanted"]
        for lead in leads:
            car = cars[lead.car] if lead.car is not None else None
            # What they asked about.
            if car is not None:
                u = r.random()
                short = _SHORT_MAKE.get(car.make, car.make)
                lead.wanted = (f"{short} {car.model}" if u < 0.5 else
                               car.model if u < 0.75 else None)
                if lead.link == "stock_no" and lead.wanted is None:
                    lead.wanted = f"{short} {car.model}"
                lead.store = car.store
                price = car.price
            else:
                price = r.choice(cars).price
                if lead.dup_of is not None and leads[lead.dup_of].car is None:
                    lead.wanted = leads[lead.dup_of].wanted
                if lead.wanted is None:
                    like = r.choice(cars)
                    budget = f"{round(price / step) * step:,}".replace(",", separator)
                    lead.wanted = r.choice(wanted_templates).format(
                        make=_SHORT_MAKE.get(like.make, like.make), model=like.model,
                        budget=budget)
                lead.store = (None if lead.channel == "chat" and r.random() < 0.1 else
                              stores[0] if r.random() < 0.62 else stores[1])
            if lead.budget is None and r.random() < 0.45:
                lead.budget = max(step, round(price * r.uniform(0.8, 1.05) / step) * step)
            closed = lead.status in ("Won", "Lost")
            settled = lead.status in ("Won", "Deposit taken", "Offer sent")
            if lead.status == "New" and r.random() < 0.5:
                lead.trade_in = None
            else:
                u = r.random()
                lead.trade_in = yes if u < 0.3 else no if u < 0.75 or settled else None
            u = r.random()
            lead.finance = yes if u < 0.3 else no if u < 0.7 or settled else None
            if lead.notes is None and r.random() < 0.35:
                lead.notes = r.choice(loc["notes"])
            # Who has it. Open leads: ~30 % nobody yet (the engine assigns).
            if not closed and r.random() < 0.3:
                lead.owner = None
            else:
                eligible = [p for p in active
                            if lead.store is None or lead.store in p["stores"]]
                eligible = [p for p in eligible if not p["makes"] or car is None
                            or car.make in p["makes"]] or eligible or active
                if closed and inactive and lead.received < self.now - 25 * 1440 \
                        and r.random() < 0.15:
                    eligible = inactive
                lead.owner = r.choice(eligible)["name"]
            # A person wrote a next step on a few open leads; the engine fills the rest.
            if not closed and lead.owner and r.random() < 0.1:
                actions = loc["actions"] if lead.trade_in == yes else loc["actions"][:-1]
                lead.action = r.choice(actions)
                anchor = lead.last if lead.last is not None else lead.received
                lead.due = self.slot(anchor, r.randint(0, 2))

    def summary(self) -> dict[str, Any]:
        """Where the special rows ended up (lead ids; None where the row has no id)."""
        out: dict[str, Any] = {k: [x.lead_id for x in v] for k, v in self.special.items()}
        out["jdm_frame_no"] = self.cars[self.jdm].vin
        for key, idx in self.cars_asked.items():
            out[key] = [self.cars[k].vin for k in idx]
        out["statuses"] = {s: sum(1 for x in self.leads if x.status == s) for s in STATUSES}
        out["stock"] = {s: sum(1 for c in self.cars if c.status == s) for s in STOCK_STATUSES}
        return out

    # -- content -------------------------------------------------------------------------

    def grids(self) -> list[NewSheet]:
        """The workbook's content as plain data, in no file format: per tab its name, rows of
        values (header first; datetimes, dates, None for an empty cell), column widths, the
        columns of date-times and dates, and whether the header row is frozen."""
        lang = self.lang

        def header(fields: dict, columns: tuple[str, ...]) -> list[Any]:
            return [fields[c][lang][0] for c in columns]

        def widths(values: list[int]) -> dict[str, float]:
            return {column_letter(k): w for k, w in enumerate(values)}

        def letters(columns: tuple[str, ...], *names: str) -> frozenset[str]:
            return frozenset(column_letter(columns.index(n)) for n in names)

        base = self.base
        minutes = dt.timedelta(minutes=1)

        def when(t: int | None) -> dt.datetime | None:
            return None if t is None else base + minutes * t

        status_word = {s: STATUSES[s][lang][0] for s in STATUSES}
        cars = self.cars
        fmt = self.format_phone
        leads: list[list[Any]] = [header(LEAD_FIELDS, LEAD_COLUMNS)]
        for lead in self.leads:
            car = cars[lead.car] if lead.car is not None else None
            vin = stock_no = None
            if car is not None:
                if lead.link == "vin":
                    vin = car.vin
                elif lead.link == "stock_no":
                    stock_no = car.stock_no
            leads.append([
                lead.lead_id, when(lead.received), lead.name,
                fmt(*lead.phone) if lead.phone else None, lead.email, lead.source, vin,
                stock_no, lead.wanted, status_word[lead.status], lead.owner, lead.action,
                when(lead.due), when(lead.first), when(lead.last), when(lead.appt),
                lead.trade_in, lead.finance, lead.budget, lead.store, lead.notes,
            ])

        stock_word = {s: STOCK_STATUSES[s][lang][0] for s in STOCK_STATUSES}
        stock: list[list[Any]] = [header(STOCK_FIELDS, STOCK_COLUMNS)]
        stock += [[car.vin, car.stock_no, car.make, car.model, car.year, car.body, car.price,
                   car.mileage, stock_word[car.status], car.eta, car.store, car.notes]
                  for car in cars]

        yes, no = self.loc["yes"], self.loc["no"]
        team: list[list[Any]] = [header(TEAM_FIELDS, TEAM_COLUMNS)]
        team += [[p["name"], yes if p["active"] else no, p["days"], ", ".join(p["stores"]),
                  p["makes"] or None, p["languages"], p["cap"], p["email"], p["phone"]]
                 for p in self.team]

        settings = [[None if v == "" else v for v in row]
                    for row in settings_rows(self.settings, lang)]

        return [
            NewSheet(TAB_NAMES["leads"][lang][0], leads,
                     widths([10, 17, 22, 18, 28, 16, 20, 9, 24, 18, 16, 48, 17, 17, 17, 17,
                             8, 8, 9, 11, 36]),
                     datetime_columns=letters(LEAD_COLUMNS, "received_at", "due",
                                              "first_response_at", "last_contact_at",
                                              "appointment_at"),
                     freeze_header=True),
            NewSheet(TAB_NAMES["stock"][lang][0], stock,
                     widths([20, 9, 14, 16, 7, 12, 10, 10, 13, 12, 11, 34]),
                     date_columns=letters(STOCK_COLUMNS, "eta"), freeze_header=True),
            NewSheet(TAB_NAMES["team"][lang][0], team,
                     widths([22, 8, 10, 18, 18, 11, 7, 30, 18]), freeze_header=True),
            # The holidays (column B) are dates; the rest of the column is text and numbers.
            NewSheet(TAB_NAMES["settings"][lang][0], settings, widths([30, 14, 50]),
                     date_columns=frozenset("B")),
        ]


def demo_backend(leads: int = 300, *, seed: int = 7, as_of: dt.datetime | dt.date | None = None,
                 language: str = "en") -> GridBackend:
    """The demo workbook of :func:`generate_demo` (same arguments, same values) as grids in
    memory, without any file: ``run(demo_backend(50, as_of=t), as_of=t)``.

    Values only (no widths or formats): each tab a rectangle padded with ``""`` for empty
    cells, as a file's tabs are read."""
    from forecourt.sync.grid import GridBackend

    demo = _make(leads, seed, as_of, language)
    grids = {}
    for sheet in demo.grids():
        width = max((len(row) for row in sheet.rows), default=0)
        grids[sheet.name] = [["" if v is None else v for v in row] + [""] * (width - len(row))
                             for row in sheet.rows]
    return GridBackend(grids, name=f"forecourt-demo-{language}")


def generate_demo(path: Path | str, leads: int = 300, *, seed: int = 7,
                  as_of: dt.datetime | dt.date | None = None, language: str = "en") -> Path:
    """Write a realistic demo dealer workbook with ``leads`` lead rows to ``path``.

    Four tabs (Leads, Stock, Team, Settings) named, with headers, in ``language`` ("en", "de"
    or "pl"); ``max(60, leads // 5)`` cars. Leads are received over the 60 days before
    ``as_of``: by default now (see :func:`demo_as_of`); a date means 10:00 that day.
    Deterministic: the same arguments, ``as_of`` included, give the same cell values.
    """
    return create_workbook(path, _make(leads, seed, as_of, language).grids())


def _make(leads: int, seed: int, as_of: dt.datetime | dt.date | None, language: str) -> _Demo:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if leads < 0:
        raise ValueError("leads must not be negative")
    demo = _Demo(int(leads), seed, demo_as_of(as_of), language)
    demo.build()
    return demo


def demo_as_of(as_of: dt.datetime | dt.date | None = None) -> dt.datetime:
    """The demo's now: ``as_of`` to the minute (a date: 10:00 that day), else the real now to
    the minute, the way ``forecourt run`` reads the clock."""
    if as_of is None:
        return now_in(None)
    if not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time(10))
    return as_of.replace(tzinfo=None, second=0, microsecond=0)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    lang = sys.argv[2] if len(sys.argv) > 2 else "en"
    print(generate_demo("demo.xlsx", count, language=lang))
