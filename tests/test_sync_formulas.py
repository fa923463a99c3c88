"""The owner's formulas and the sync: a formula that refers only to its own row is carried to
the Sheet, re-pointed to the row and columns the Sheet holds; one that cannot be carried goes
across as its value, in a column protected with a warning; a formula cell is never overwritten
by a value, on either side. The workbook is saved by LibreOffice, so its formulas have the
cached values Excel would leave."""

from __future__ import annotations

import shutil
import subprocess

import openpyxl
import pytest
import sheets_fixtures
import sync_sides as sides
from hypothesis import given
from hypothesis import strategies as st

from forecourt.sync.base import column_letter
from forecourt.sync.formulas import carry, shift, xlsx_formulas

# Unit: what can be carried, and how -----------------------------------------------------------

MOVE = {"B": "B", "E": "F", "F": "G", "G": "H", "J": "K"}.get


@pytest.mark.parametrize(("formula", "moved"), [
    ("=G5*1.2", "=H9*1.2"),
    ('=IF(J5="Won",G5,"")', '=IF(K9="Won",H9,"")'),
    ("=TODAY()-B5", "=TODAY()-B9"),
    ("=$G$5*2", "=$H$9*2"),
    ("=SUM(E5:G5)", "=SUM(F9:H9)"),
    ('=G5&" (G4)"', '=H9&" (G4)"'),  # text inside quotes is not a reference
    ("=LOG10(G5)", "=LOG10(H9)"),
])
def test_an_own_row_formula_is_re_pointed(formula, moved):
    assert carry(formula, 5, 9, MOVE) == moved


@pytest.mark.parametrize("formula", [
    "=G4*1.2",  # another row
    "=VLOOKUP(G5,Stock!A:F,3,FALSE)",  # another sheet
    "=G5*VAT",  # a defined name
    "=SUM(G:G)",  # a whole column
    "=C5",  # a column the Sheet does not have (private)
    "=SUM(E5:G5)+0",  # fine... but not with a gap: see below
])
def test_a_formula_that_cannot_be_carried_is_refused(formula):
    gap = {"B": "B", "E": "F", "F": "X", "G": "H"}.get
    assert carry(formula, 5, 9, gap) is None


@given(st.integers(1, 500), st.integers(1, 500), st.integers(0, 20))
def test_carrying_there_and_back_is_the_same_formula(row, to_row, j):
    letter = column_letter(j)
    formula = f'=IF({letter}{row}>0,{letter}{row}*2,"{letter}{row}")'
    there = carry(formula, row, to_row, lambda c: c)
    assert there == f'=IF({letter}{to_row}>0,{letter}{to_row}*2,"{letter}{row}")'
    assert carry(there, to_row, row, lambda c: c) == formula


def test_shared_formulas_are_expanded_as_excel_fills_them_down():
    xml = (b'<sheetData><row r="2"><c r="H2"><f t="shared" ref="H2:H4" si="0">G2*1.2</f>'
           b'<v>12</v></c></row><row r="3"><c r="H3"><f t="shared" si="0"/><v>1</v></c>'
           b'<c r="I3"><f>$G$2+G3</f></c></row><row r="4"><c r="H4"><f t="shared" si="0"/>'
           b'</c><c r="J4"><f t="array" ref="J4">SUM(A1:A3*B1:B3)</f></c></row></sheetData>')
    assert xlsx_formulas(xml) == {(2, 7): "G2*1.2", (3, 7): "G3*1.2", (4, 7): "G4*1.2",
                                  (3, 8): "$G$2+G3", (4, 9): None}
    assert shift("G2&\"G2\"", 2, 1) == 'H4&"G2"'


# With both sides -------------------------------------------------------------------------------

HEADER = ["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Purchase price",
          "Price", "Price incl VAT", "Make"]
ROWS = [["L-1", "2026-12-01 09:00", "Ann Baker", "+44 7700 900001", "WhatsApp", "New", 8000,
         10000],
        ["L-2", "2026-12-01 10:00", "Ben Cole", "+44 7700 900002", "Phone", "Contacted", 9000,
         12000],
        ["L-3", "2026-12-02 11:00", "Cy Dunn", "+44 7700 900003", "Email", "New", 7000, 9500]]


@pytest.fixture(scope="module")
def standin():
    return sheets_fixtures.shared()


def _book_saved_by_libreoffice(folder):
    """The leads with an own-row formula (I = H * 1.2) and one that reads another sheet
    (J: the make from Stock), saved by LibreOffice (cached values, as Excel leaves them)."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed")
    raw = folder / "raw" / "Leads.xlsx"
    raw.parent.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(HEADER)
    for i, row in enumerate(ROWS, start=2):
        ws.append([*row[:1], sides.parse_moment(row[1]), *row[2:], f"=H{i}*1.2",
                   f'=IFERROR(VLOOKUP(A{i},Stock!A:B,2,FALSE),"")'])
    stock = wb.create_sheet("Stock")
    stock.append(["Stock no", "Make"])
    for k, make in (("L-1", "VW"), ("L-2", "BMW"), ("L-3", "Skoda")):
        stock.append([k, make])  # a lookup table keyed like the leads, for the test
    team = wb.create_sheet("Team")
    for r in sides.TEAM:
        team.append(r)
    settings = wb.create_sheet("Settings")
    settings.append(["Setting", "Value"])
    settings.append(["Private columns", "Purchase price"])
    wb.save(raw)
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir",
                    str(folder), str(raw)], check=True, capture_output=True, timeout=180,
                   env={"HOME": str(folder), "PATH": "/usr/bin:/bin"})
    return folder / "Leads.xlsx"


def _sheet_formulas(standin, sid):
    got = standin.api("get", f"/{sid}/values/Leads", params={"valueRenderOption": "FORMULA"})
    return got["values"]


def test_formulas_are_carried_or_sent_as_values_and_never_overwritten(tmp_path, standin):
    book = _book_saved_by_libreoffice(tmp_path)
    sid = standin.client.create("formulas").id
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    assert report["sheet"]["api_calls"] <= 6

    rows = _sheet_formulas(standin, sid)
    header = rows[0]
    assert "Purchase price" not in header
    vat, make = header.index("Price incl VAT"), header.index("Make")
    price = column_letter(header.index("Price"))
    for i, row in enumerate(rows[1:], start=2):
        assert row[vat] == f"={price}{i}*1.2", row  # re-pointed past the private column
        assert not str(row[make]).startswith("=")  # sent as its value
    _, sheet = sides.sheet_rows(standin, sid)
    assert {r["Lead ID"]: r["Make"] for r in sheet} == {"L-1": "VW", "L-2": "BMW",
                                                        "L-3": "Skoda"}
    assert {r["Lead ID"]: r["Price incl VAT"] for r in sheet} == {
        "L-1": "12000", "L-2": "14400", "L-3": "11400"}  # computed by the Sheet itself
    meta = standin.api("get", f"/{sid}", params={"fields": "sheets(properties(title),"
                                                            "protectedRanges)"})
    leads = next(s for s in meta["sheets"] if s["properties"]["title"] == "Leads")
    ranges = [p for p in leads.get("protectedRanges", []) if p.get("warningOnly")]
    assert [(p["range"]["startColumnIndex"], p["range"]["endColumnIndex"])
            for p in ranges] == [(make, make + 1)]

    # a teammate types over both computed columns and changes a price
    edit = [{"op": "set", "key": "L-2", "column": "Price incl VAT", "value": "1"},
            {"op": "set", "key": "L-2", "column": "Make", "value": "Audi"},
            {"op": "set", "key": "L-3", "column": "Price", "value": "9000"}]
    sides.edit_sheet(standin, sid, edit)
    code, report, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    _, sheet = sides.sheet_rows(standin, sid)
    l2 = next(r for r in sheet if r["Lead ID"] == "L-2")
    assert l2["Make"] == "BMW" and l2["Price incl VAT"] == "14400"  # the formulas win
    assert all(str(r[vat]).startswith("=") for r in _sheet_formulas(standin, sid)[1:])
    wb = openpyxl.load_workbook(book)  # formulas as formulas
    ws = wb["Leads"]
    assert [ws.cell(r, 9).value for r in (2, 3, 4)] == ["=H2*1.2", "=H3*1.2", "=H4*1.2"]
    assert str(ws.cell(3, 10).value).startswith("=IFERROR(VLOOKUP(A3")
    assert sides.shown(ws.cell(4, 8).value) == "9000"  # the Sheet's price reached the workbook
    code, again, err = sides.run_sync(book, sid, standin.base)
    assert code == 0, err
    assert not again["sheet"]["written"] and not again["excel"]["written"], again
