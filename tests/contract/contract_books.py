"""The books of the contract suite: what a dealer keeps, written from DOMAIN.md, as plain Python
rows (sheet name -> rows, row 1 first; ``""`` an empty cell). Every backend gets the same rows.

The calendar: Thu 2026-11-19 · Fri 20 · Sat 21 · Sun 22 · Mon 23 (AS_OF 10:00).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from forecourt.validators.text import fold
from forecourt.validators.vocabulary import LEAD_FIELDS, STOCK_FIELDS

d = dt.datetime
AS_OF = d(2026, 11, 23, 10, 0)  # a Monday morning


@dataclass(frozen=True)
class Book:
    """One workbook and what the tests need to know about it."""

    id: str
    lang: str
    sheets: dict[str, list[list[Any]]]
    leads: str  # the leads tab
    header_row: int
    team: tuple[str, ...]  # active people on the Team tab
    closed: tuple[str, ...]  # the words for Won and Lost this book uses
    stock: str | None = None
    #: a lead whose owner and next action a person changes (its row)
    person_row: int = 0
    #: a lead whose status a person moves on: its row, the new status and the engine's action
    moved_row: int = 0
    moved_to: str = ""
    moved_action: str = ""


SMALL = Book(
    id="small-english",
    lang="en",
    leads="Leads",
    header_row=1,
    team=("Sam", "Priya"),
    closed=("Won", "Lost"),
    person_row=4,
    moved_row=2,
    moved_to="Contacted",
    moved_action="follow up",
    sheets={
        "Leads": [
            ["Received", "Name", "Phone", "Email", "Source", "Status", "Owner", "Next action",
             "Due"],
            [d(2026, 11, 23, 9, 40), "Anna Brown", "+44 7700 900123", "", "WhatsApp", "New",
             "", "", ""],
            [d(2026, 11, 23, 9, 55), "Ben Carter", "", "ben.carter@example.com", "Email", "New",
             "", "", ""],
            [d(2026, 11, 20, 15, 0), "Chloe Davies", "+44 7700 900456", "chloe@example.com",
             "AutoTrader", "Contacted", "", "", ""],
            [d(2026, 11, 18, 11, 0), "Dan Evans", "+44 7700 900789", "", "Walk-in", "Won", "Sam",
             "", ""],
            [d(2026, 11, 16, 12, 0), "Ella Fox", "+44 7700 900321", "", "Phone", "Lost", "", "",
             ""],
            [d(2026, 11, 12, 10, 0), "Finn Green", "+44 7700 900654", "", "Missed call", "New",
             "", "", ""],
            [d(2026, 11, 23, 9, 0), "Gwen Hughes", "+44 7700 900987", "gwen@example.com",
             "Website", "Attempting contact", "Priya", "Call again after 5pm",
             d(2026, 11, 23, 17, 0)],
        ],
        "Team": [["Name", "Active"], ["Sam", "yes"], ["Priya", "yes"], ["Tom", "no"]],
    },
)

GERMAN = Book(
    id="german",
    lang="de",
    leads="Anfragen",
    header_row=1,
    team=("Klaus", "Petra"),
    closed=("Verkauft", "Verloren", "Gewonnen"),
    person_row=3,
    moved_row=2,
    moved_to="Kontaktiert",
    moved_action="nachfassen",
    sheets={
        "Anfragen": [
            ["Eingang", "Name", "Telefon", "E-Mail", "Quelle", "Status", "Notizen"],
            [d(2026, 11, 23, 9, 30), "Jonas Müller", "+49 151 23456789", "", "WhatsApp", "Neu",
             ""],
            [d(2026, 11, 20, 14, 0), "Lena Schmidt", "+49 160 9876543", "lena@example.de",
             "mobile.de", "Kontaktiert", "will Finanzierung"],
            [d(2026, 11, 19, 10, 0), "Paul Weber", "", "paul@example.de", "E-Mail", "Verkauft",
             ""],
            [d(2026, 11, 17, 16, 0), "Marie Fischer", "+49 170 1112223", "", "Telefon",
             "Verloren", ""],
            [d(2026, 11, 18, 11, 0), "Emma Hoffmann", "+49 172 3334445", "", "AutoScout24",
             "Gewonnen", ""],
            [d(2026, 11, 10, 9, 0), "Sophie Becker", "+49 171 4445556", "", "Anruf", "Neu", ""],
            [d(2026, 11, 23, 9, 52), "Felix Wagner", "+49 176 5556667", "felix@example.de",
             "E-Mail", "Neu", ""],
        ],
        "Verkäufer": [["Name", "Aktiv"], ["Klaus", "ja"], ["Petra", "ja"]],
    },
)

SOLD_GOLF = "WVWZZZ1KZ6W123456"
MESSY = Book(
    id="messy",
    lang="en",
    leads="Leads",
    header_row=2,
    team=("Sam", "Priya"),
    closed=("Won", "Lost"),
    stock="Stock",
    person_row=4,
    moved_row=3,
    moved_to="Contacted",
    moved_action="follow up",
    sheets={
        "Leads": [
            ["Northside Motors – enquiries 2026 (please don't sort)"],
            ["Date", "Customer", "Mobile", "E-mail", "Lead source", "VIN", "Status", "Owner",
             "Notes"],
            # asks about a car that is sold; the VIN typed in lower case with dashes
            [d(2026, 11, 23, 9, 45), '=HYPERLINK("http://bad.example","click me")',
             "+44 7700 900111", "", "Website", "wvw-zzz1kz6w123456", "New", "", ""],
            [d(2026, 11, 21, 13, 58), "+Mike Jones", "+44 7700 900222", "", "WhatsApp",
             "WBA8E9C50GK123456", "New", "", "@ask about the warranty"],
            # a status nobody knows
            [d(2026, 11, 22, 18, 30), "Olga Petrova", "+44 7700 900333", "olga@example.com",
             "AutoTrader", "", "Ring back maybe??", "", ""],
            # no phone, no e-mail
            [d(2026, 11, 23, 8, 15), "Nina Patel", "", "", "Walk-in", "", "New", "", ""],
            [d(2026, 11, 19, 12, 0), "-Rob Stone", "+44 7700 900444", "", "Phone", "", "Lost",
             "Sam", ""],
            [d(2026, 11, 18, 10, 0), "Zara Ali", "+44 7700 900555", "zara@example.com", "Email",
             "", "Won", "Priya", ""],
            [d(2026, 11, 16, 9, 0), "Ian Moss", "07700 900666", "", "Facebook Marketplace",
             "", "Contacted", "", ""],
        ],
        "Stock": [
            ["VIN", "Make", "Model", "Price", "Status"],
            [SOLD_GOLF, "Volkswagen", "Golf", 8990, "Sold"],
            ["WVWZZZ1KZ7W654321", "Volkswagen", "Golf", 9490, "On lot"],
            ["WBA8E9C50GK123456", "BMW", "320i", 14500, "On lot"],
            ["VF1RFB00X56123456", "Renault", "Megane", 5990, "In prep"],
        ],
        "Team": [["Name", "Active"], ["Sam", "yes"], ["Priya", "yes"]],
    },
)

BOOKS = (SMALL, GERMAN, MESSY)

# A book whose leads carry their ids already (rows found by key, plans made by hand).
KEYED = Book(
    id="keyed",
    lang="en",
    leads="Leads",
    header_row=1,
    team=("Sam", "Priya"),
    closed=("Won", "Lost"),
    sheets={
        "Leads": [
            ["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Owner", "Next action",
             "Due"],
            ["L-1001", d(2026, 11, 23, 9, 20), "Amy Lee", "+44 7700 900801", "WhatsApp", "New",
             "", "", ""],
            ["L-1002", d(2026, 11, 23, 8, 50), "Bob Kent", "+44 7700 900802", "Phone", "New",
             "", "", ""],
            ["L-1003", d(2026, 11, 20, 11, 0), "Cara Lind", "+44 7700 900803", "AutoTrader",
             "Contacted", "", "", ""],
            ["L-1004", d(2026, 11, 19, 16, 0), "Dev Rao", "+44 7700 900804", "Email",
             "Attempting contact", "", "", ""],
            ["L-1005", d(2026, 11, 17, 10, 0), "Eve Moss", "+44 7700 900805", "Walk-in", "Won",
             "Sam", "", ""],
        ],
        "Team": [["Name", "Active"], ["Sam", "yes"], ["Priya", "yes"]],
    },
)


# Reading a result -----------------------------------------------------------------------------

def letter(j: int) -> str:
    """0 -> A, 26 -> AA."""
    out, j = "", j + 1
    while j:
        j, rem = divmod(j - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell(rows: list[list[Any]], row: int, column: str) -> Any:
    """The value at (1-based row, column letter) of normalised rows ("" beyond them)."""
    j = 0
    for ch in column:
        j = j * 26 + ord(ch) - 64
    j -= 1
    return rows[row - 1][j] if row - 1 < len(rows) and j < len(rows[row - 1]) else ""


def header_column(rows: list[list[Any]], header_row: int, *names: str) -> str:
    """The letter of the first header in ``header_row`` that reads as one of ``names``."""
    wanted = {fold(n) for n in names}
    headers = rows[header_row - 1] if header_row - 1 < len(rows) else []
    for j, text in enumerate(headers):
        if isinstance(text, str) and fold(text) in wanted:
            return letter(j)
    raise AssertionError(f"no header {names} in row {header_row}: {headers}")


def field_column(rows: list[list[Any]], book: Book, name: str, tab: str = "leads") -> str:
    """The column of a lead (or stock) field, by the words the book's language uses for it."""
    words = (LEAD_FIELDS if tab == "leads" else STOCK_FIELDS)[name][book.lang]
    return header_column(rows, book.header_row if tab == "leads" else 1, *words)


def lead_rows(rows: list[list[Any]], book: Book) -> list[int]:
    """The row numbers of the leads (every non-empty row below the header)."""
    return [i + 1 for i in range(book.header_row, len(rows)) if any(v != "" for v in rows[i])]


def is_closed(book: Book, status: Any) -> bool:
    return isinstance(status, str) and fold(status.strip()) in {fold(w) for w in book.closed}
