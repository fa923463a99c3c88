"""`forecourt check --json` on dealer workbooks in German, Polish and English.

Each book is checked once per module (the CLI is a subprocess); the tests then read the one
JSON object it printed. Expected issues are (sheet, row, column, code); a tuple in a slot
means "any of these" (used only where the contract leaves the choice open).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from workbooks import (
    ANY,
    LANGUAGE_BOOKS,
    CheckRun,
    assert_issue,
    assert_no_issue,
    find_issues,
    format_issues,
    matches,
    run_check,
)

from forecourt.issues import CODES

SHEET_LEVEL_CODES = ("missing-column", "missing-tab")

EXPECTED: dict[str, dict[str, Any]] = {
    "de": {
        "language": "de",
        "tabs": {"leads": "Anfragen", "stock": "Bestand", "team": "Verkäufer",
                 "settings": "Einstellungen"},
        "header_rows": {"leads": 3, "stock": 1, "team": 1},
        "columns": {
            "leads": {"received_at": "A", "name": "B", "phone": "C", "email": "D",
                      "source": "E", "vin": "F", "vehicle_wanted": "G", "status": "H",
                      "owner": "I", "last_contact_at": "J", "appointment_at": "K",
                      "trade_in": "L"},
            "stock": {"vin": "A", "make": "B", "model": "C", "price": "D", "status": "E"},
            "team": {"name": "A", "active": "B", "cap": "C"},
        },
        "unmapped": {"leads": ["M"]},  # Lieblingsfarbe
        "counts": {"leads": 10, "stock": 7, "team": 3},
        "issues": [
            ("Anfragen", 3, "C", "fuzzy-header"),          # "Telefonnumer"
            ("Anfragen", 7, "C", "duplicate-person"),      # same phone as row 4, via Telefon
            ("Anfragen", 8, "A", "bad-date"),              # "gestern"
            ("Anfragen", 9, ("C", "D", None), "missing-contact"),
            ("Anfragen", 10, "E", "unknown-source"),       # "Brieftaube"
            ("Anfragen", 10, "H", "unknown-status"),       # "Vielleicht"
            ("Anfragen", 11, "F", "vin-not-in-stock"),
            ("Anfragen", 12, "A", "future-lead"),          # 01.12.2026
            ("Bestand", 6, "A", "duplicate-vin"),          # same as row 5
            ("Bestand", 7, "A", "vin-characters"),         # an O
            ("Bestand", 8, "A", "vin-length"),             # 16 characters
        ],
        # Defensible extras: an unreadable date may also count as missing; a duplicate VIN may
        # be flagged on both rows.
        "tolerated": [
            ("Anfragen", 8, "A", "missing-received-at"),
            ("Bestand", 5, "A", "duplicate-vin"),
        ],
        "clean": [  # (sheet, row, column, codes) that must NOT be reported
            ("Bestand", (2, 3, 4), ANY, ANY),  # European VIN, spaced lower-case VIN, JDM frame
            ("Anfragen", (4, 5, 6, 13), "F", ANY),  # FINs that are in stock, in any spelling
            ("Anfragen", (4, 5, 6, 8, 9, 12, 13), ANY, "unknown-source"),
            ("Anfragen", ANY, ANY, "bad-phone"),
            ("Anfragen", (4, 5, 6, 7, 9, 10, 11, 12, 13), ANY, "bad-date"),
            ("Anfragen", ANY, "M", ANY),  # the unknown column is left alone
            ("Anfragen", (4, 5, 6, 8, 9, 10, 11, 12, 13), ANY, "duplicate-person"),
            ("Einstellungen", ANY, ANY, ANY),  # exactly what `forecourt new` writes
            ("Verkäufer", ANY, ANY, ANY),
        ],
        "duplicate_of": {7: 4},
    },
    "pl": {
        "language": "pl",
        "tabs": {"leads": "Zapytania", "stock": "Magazyn", "team": "Zespół",
                 "settings": "Ustawienia"},
        "header_rows": {"leads": 2, "stock": 1, "team": 1},
        "columns": {
            "leads": {"received_at": "A", "name": "B", "phone": "C", "email": "D",
                      "source": "E", "vin": "F", "status": "G", "owner": "H"},
            "stock": {"vin": "A", "make": "B", "model": "C", "year": "D", "price": "E",
                      "status": "F"},
            "team": {"name": "A", "active": "B"},
        },
        "unmapped": {},
        "counts": {"leads": 5, "stock": 4, "team": 2},
        "issues": [
            ("Magazyn", 3, "A", "vin-check-digit"),        # 1M8GDM9A1KP042788
            ("Zapytania", 7, "D", "duplicate-person"),     # e-mail of row 3, upper case, OLX
        ],
        "tolerated": [],
        "clean": [
            ("Magazyn", (2, 4, 5), ANY, ANY),  # valid US VIN, European VIN, valid Chinese VIN
            ("Zapytania", (3, 5), "F", ANY),
            ("Zapytania", ANY, ANY, ("unknown-source", "unknown-status", "bad-date",
                                     "bad-phone", "bad-email", "future-lead")),
            ("Zapytania", (3, 4, 5, 6), ANY, "duplicate-person"),
            ("Ustawienia", ANY, ANY, ANY),
            ("Zespół", ANY, ANY, ANY),
        ],
        "duplicate_of": {7: 3},
    },
    "en": {
        "language": "en",
        "tabs": {"leads": "Sheet1", "stock": "Sheet2", "team": None, "settings": None},
        "header_rows": {"leads": 1, "stock": 1},
        "columns": {
            "leads": {"received_at": "A", "name": "B", "phone": "C", "email": "D",
                      "source": "E", "vin": "F", "status": "G", "owner": "H", "notes": "I"},
            "stock": {"vin": "A", "make": "B", "model": "C", "price": "D", "status": "E"},
        },
        "unmapped": {},
        "counts": {"leads": 5, "stock": 3, "team": (0, None)},
        "issues": [
            ("Sheet1", 3, "D", "bad-email"),               # mary(at)example
            ("Sheet1", 4, "A", "missing-received-at"),
            ("Sheet1", 5, "E", "missing-source"),
            ("Sheet2", 3, "E", "unknown-stock-status"),    # "At auction"
        ],
        "tolerated": [],
        "clean": [
            ("Sheet1", 2, ANY, ANY),  # JOHN@EXAMPLE.COM is a fine address
            ("Sheet1", ANY, ANY, ("fuzzy-header", "bad-phone", "bad-date", "duplicate-person",
                                  "vin-not-in-stock")),
            ("Sheet1", (2, 3, 4, 6), ANY, "unknown-source"),  # AutoTrader, WhatsApp, ...
            ("Sheet2", ANY, "A", ANY),
            ("Sheet3", ANY, ANY, ANY),
        ],
        "duplicate_of": {},
    },
}
BOOKS = sorted(EXPECTED)


@dataclass
class Checked:
    path: Path
    run: CheckRun
    bytes_before: bytes = field(repr=False)
    bytes_after: bytes = field(repr=False)
    listing_before: list[str]
    listing_after: list[str]

    @property
    def data(self) -> dict[str, Any]:
        return self.run.data


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """book -> the result of checking it (built and checked once per module)."""
    cache: dict[str, Checked] = {}

    def get(book: str) -> Checked:
        if book not in cache:
            folder = tmp_path_factory.mktemp(f"book-{book}")
            path = LANGUAGE_BOOKS[book](folder)
            before = path.read_bytes()
            listing = sorted(p.name for p in folder.iterdir())
            run = run_check(path)
            cache[book] = Checked(path, run, before, path.read_bytes(), listing,
                                  sorted(p.name for p in folder.iterdir()))
        c = cache[book]
        assert c.run.returncode == 0, (f"exit {c.run.returncode}\n--- stdout ---\n"
                                       f"{c.run.stdout}\n--- stderr ---\n{c.run.stderr}")
        return c

    return get


@pytest.mark.parametrize("book", BOOKS)
def test_exit_0_and_one_json_object(checked, book):
    c = checked(book)
    assert c.run.returncode == 0
    assert isinstance(c.data, dict)
    assert "Traceback" not in c.run.stderr
    assert Path(c.data["file"]).name == c.path.name
    for key in ("file", "language", "tabs", "header_rows", "columns", "counts", "issues"):
        assert key in c.data, f"{key!r} missing from {sorted(c.data)}"


@pytest.mark.parametrize("book", BOOKS)
def test_input_left_byte_identical(checked, book):
    c = checked(book)
    assert c.bytes_after == c.bytes_before


@pytest.mark.parametrize("book", BOOKS)
def test_check_writes_no_files(checked, book):
    """`check` only reads: no lock file, state file or backup appears next to the workbook."""
    c = checked(book)
    assert c.listing_after == c.listing_before


@pytest.mark.parametrize("book", BOOKS)
def test_language_and_tabs(checked, book):
    data, exp = checked(book).data, EXPECTED[book]
    assert data["language"] == exp["language"]
    assert data["tabs"] == exp["tabs"]


@pytest.mark.parametrize("book", BOOKS)
def test_header_rows(checked, book):
    data, exp = checked(book).data, EXPECTED[book]
    for kind, row in exp["header_rows"].items():
        assert data["header_rows"].get(kind) == row, (kind, data["header_rows"])


@pytest.mark.parametrize("book", BOOKS)
def test_columns(checked, book):
    data, exp = checked(book).data, EXPECTED[book]
    for kind, fields in exp["columns"].items():
        got = data["columns"].get(kind) or {}
        wrong = {f: (letter, got.get(f)) for f, letter in fields.items() if got.get(f) != letter}
        assert not wrong, f"{kind}: field -> (expected, got): {wrong}; all: {got}"
    for kind, letters in exp["unmapped"].items():
        mapped = set((data["columns"].get(kind) or {}).values())
        assert not mapped & set(letters), f"{kind}: unknown column(s) {letters} were mapped"


@pytest.mark.parametrize("book", BOOKS)
def test_counts(checked, book):
    data, exp = checked(book).data, EXPECTED[book]
    for kind, n in exp["counts"].items():
        assert matches(n, data["counts"].get(kind)), (kind, data["counts"])


@pytest.mark.parametrize("book", BOOKS)
def test_issue_shape(checked, book):
    """Every issue has the contract's keys, a known code with its severity, a letter column."""
    issues = checked(book).data["issues"]
    keys = {"sheet", "row", "column", "code", "severity", "message", "value", "field"}
    for issue in issues:
        assert keys <= set(issue), issue
        assert issue["code"] in CODES, issue
        assert issue["severity"] == CODES[issue["code"]][0], issue
        assert issue["row"] is None or (isinstance(issue["row"], int) and issue["row"] >= 1)
        assert issue["column"] is None or re.fullmatch(r"[A-Z]{1,3}", issue["column"]), issue
        assert isinstance(issue["message"], str) and issue["message"].strip(), issue


def _expected_params() -> list:
    params = []
    for book in BOOKS:
        for sheet, row, column, code in EXPECTED[book]["issues"]:
            label = f"{book}-{sheet}!{column if isinstance(column, str) else '?'}{row}-{code}"
            params.append(pytest.param(book, (sheet, row, column, code), id=label))
    return params


@pytest.mark.parametrize("book,where", _expected_params())
def test_expected_issue(checked, book, where):
    sheet, row, column, code = where
    assert_issue(checked(book).data["issues"], sheet=sheet, row=row, column=column, code=code)


@pytest.mark.parametrize("book", BOOKS)
def test_no_false_positives(checked, book):
    issues = checked(book).data["issues"]
    for sheet, row, column, code in EXPECTED[book]["clean"]:
        assert_no_issue(issues, sheet=sheet, row=row, column=column, code=code)


@pytest.mark.parametrize("book", BOOKS)
def test_no_unexpected_cell_issues(checked, book):
    """Every issue located on a row is one the book was built to contain (or a tolerated
    variant of one). Sheet-level warnings (missing optional columns or tabs) are not judged."""
    exp = EXPECTED[book]
    allowed = exp["issues"] + exp["tolerated"]
    issues = checked(book).data["issues"]
    unexpected = [i for i in issues
                  if i["row"] is not None and i["code"] not in SHEET_LEVEL_CODES
                  and not any(find_issues([i], *where) for where in allowed)]
    assert not unexpected, (f"unexpected issues:\n{format_issues(unexpected)}\n"
                            f"all issues:\n{format_issues(issues)}")


@pytest.mark.parametrize("book", [b for b in BOOKS if EXPECTED[b]["duplicate_of"]])
def test_duplicate_person_names_the_earlier_row(checked, book):
    issues = checked(book).data["issues"]
    sheet = EXPECTED[book]["tabs"]["leads"]
    for later, earlier in EXPECTED[book]["duplicate_of"].items():
        issue = assert_issue(issues, sheet=sheet, row=later, code="duplicate-person")
        assert re.search(rf"\b{earlier}\b", issue["message"]), issue
        assert issue["severity"] == "warning"


def test_german_details(checked):
    issues = checked("de").data["issues"]
    fuzzy = assert_issue(issues, sheet="Anfragen", row=3, column="C", code="fuzzy-header")
    assert fuzzy["field"] == "phone", fuzzy
    assert "Telefonnumer" in f"{fuzzy['message']} {fuzzy['value']}", fuzzy
    source = assert_issue(issues, sheet="Anfragen", row=10, column="E", code="unknown-source")
    assert source["value"] == "Brieftaube" and source["field"] == "source", source
    status = assert_issue(issues, sheet="Anfragen", row=10, column="H", code="unknown-status")
    assert status["value"] == "Vielleicht" and status["field"] == "status", status
    bad = assert_issue(issues, sheet="Anfragen", row=8, column="A", code="bad-date")
    assert bad["value"] == "gestern" and bad["field"] == "received_at", bad
    missing = assert_issue(issues, sheet="Anfragen", row=11, column="F", code="vin-not-in-stock")
    assert missing["field"] == "vin", missing


def test_english_missing_tabs_are_warned_once_each(checked):
    issues = checked("en").data["issues"]
    missing = find_issues(issues, code="missing-tab")
    assert len(missing) == 2, format_issues(issues)  # Team and Settings
    assert all(i["row"] is None and i["severity"] == "warning" for i in missing), missing


def test_human_output(tmp_path):
    path = LANGUAGE_BOOKS["de"](tmp_path)
    before = path.read_bytes()
    run = run_check(path, json_output=False)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    for text in ("Anfragen", "Bestand", "duplicate-vin", "unknown-source"):
        assert text in run.stdout, f"{text!r} not in:\n{run.stdout}"
    assert path.read_bytes() == before
