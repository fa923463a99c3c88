"""`forecourt run` edits the dealer's workbook in place and keeps everything it does not own.

The rich dealer book (tests/preserve_books.py) is run once per module with ``--json``; the tests
then compare the input and the output package part by part, cell by cell, and open the output
in LibreOffice. A second run with the same ``--as-of`` must change nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter
from preserve_books import (
    ACTIVE_PEOPLE,
    ADDED_LEAD_HEADERS,
    BMW_2,
    BUYERS_WAITING,
    CLOSED_ROWS,
    COMMENT_AUTHOR,
    COMMENT_CELL,
    COMMENT_TEXT,
    DEALER_LEAD_COLUMNS,
    DEALER_STOCK_COLUMNS,
    DEFINED_NAME,
    DEFINED_NAME_TEXT,
    EVIL_NAME,
    GENERATED_SHEETS,
    JSON_KEYS,
    LAST_LEAD_ROW,
    LEADS,
    LEADS_SHEET,
    LOGO_DRAWING,
    MACRO_WORKBOOK_TYPE,
    NS,
    OPEN_ROWS,
    PIVOT_PARTS,
    REL,
    ROW_DUE_SOON_CHAT,
    ROW_EVIL_NAME,
    ROW_OVERDUE_CHAT,
    ROW_OVERDUE_FORM,
    ROW_OVERDUE_SATURDAY,
    ROW_UNKNOWN_SOURCE,
    ROW_WANTS_SOLD_CAR,
    ROWS_UNTRUSTED_NOTES,
    SOURCE_AT,
    STOCK,
    STOCK_SHEET,
    TRANSIT_STOCK_ROW,
    UNTRUSTED,
    VBA_CONTENT_TYPE,
    VBA_PART,
    Run,
    assert_parts_preserved,
    backup_path,
    build_rich,
    build_rich_xlsm,
    charts_on_sheet,
    content_type,
    listing,
    raw_cells,
    rels,
    run_forecourt,
    sheet_element_rels,
    sheet_parts,
    state_path,
    zip_parts,
)

ADDED_COLUMNS = [get_column_letter(len(DEALER_LEAD_COLUMNS) + 1 + i)
                 for i in range(len(ADDED_LEAD_HEADERS))]  # K..P


@dataclass
class RichRun:
    book: Path
    input_bytes: bytes
    first: Run
    output_bytes: bytes
    backup_bytes: bytes | None
    listing_after: list[str]

    @property
    def input_parts(self) -> dict[str, bytes]:
        return zip_parts(self.input_bytes)

    @property
    def output_parts(self) -> dict[str, bytes]:
        return zip_parts(self.output_bytes)


@pytest.fixture(scope="module")
def rich(tmp_path_factory) -> RichRun:
    folder = tmp_path_factory.mktemp("rich")
    book = build_rich(folder)
    before = book.read_bytes()
    first = run_forecourt(book, "--json").ok()
    bak = backup_path(book)
    return RichRun(book, before, first, book.read_bytes(),
                   bak.read_bytes() if bak.exists() else None, listing(folder))


def _load(data: bytes) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "image dropped: Pillow is not installed"
        return openpyxl.load_workbook(io.BytesIO(data))


@pytest.fixture(scope="module")
def books(rich) -> tuple[openpyxl.Workbook, openpyxl.Workbook]:
    """(input, output) opened with openpyxl."""
    return _load(rich.input_bytes), _load(rich.output_bytes)


def _headers(ws) -> dict[str, Any]:
    return {cell.column_letter: cell.value for cell in ws[1] if cell.value is not None}


def _lead_column(ws, header: str) -> str:
    found = [letter for letter, value in _headers(ws).items() if value == header]
    assert len(found) == 1, f"expected one {header!r} column in {LEADS_SHEET}; headers: " \
        f"{_headers(ws)}"
    return found[0]


def _cell_signature(cell) -> tuple:
    font, fill = cell.font, cell.fill
    return (cell.value, cell.data_type, cell.number_format, bool(font.b),
            font.color.rgb if font.color is not None else None, fill.fill_type,
            fill.fgColor.rgb if fill.fgColor is not None else None,
            cell.comment.text if cell.comment else None)


def _widths(ws) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, dim in ws.column_dimensions.items():
        first = dim.min or column_index_from_string(key)
        last = dim.max or first
        for i in range(first, last + 1):
            out[get_column_letter(i)] = dim.width
    return out


def _validations(ws) -> set[tuple]:
    return {(str(dv.sqref), dv.type, dv.formula1) for dv in ws.data_validations.dataValidation}


def _cf_rules(ws) -> list[tuple]:
    rules = []
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            dxf = rule.dxf
            rules.append((
                str(cf.sqref), rule.type, rule.operator, tuple(rule.formula or ()),
                repr(dxf.font) if dxf is not None else None,
                repr(dxf.fill) if dxf is not None else None,
            ))
    return rules


# ---------------------------------------------------------------------------------------------
# The run itself, its JSON and the files beside the book
# ---------------------------------------------------------------------------------------------


def test_run_reports_one_json_object_with_the_counts(rich):
    data = rich.first.data
    missing = [k for k in JSON_KEYS if k not in data]
    assert not missing, f"--json lacks {missing}\n{rich.first.detail()}"
    assert data["leads"] == len(LEADS)
    assert data["stock"] == len(STOCK)
    assert data["open"] == len(OPEN_ROWS)
    # Nobody owned any lead before: every open lead is assigned (a Won lead may be too).
    assert len(OPEN_ROWS) <= data["assigned"] <= len(LEADS)
    assert data["overdue"] >= 4, data  # rows 2, 4, 5, 6, 8 at least (the New ones)
    assert data["due_soon"] >= 2, data  # rows 3 and 7
    assert isinstance(data["issues"], list)
    assert any(i.get("sheet") == LEADS_SHEET and i.get("row") == ROW_UNKNOWN_SOURCE
               and i.get("code") == "unknown-source" for i in data["issues"]), \
        f"issues are not those of check --json: {data['issues']}"
    kpi = data["kpi"]
    assert isinstance(kpi, dict) and "overall" in kpi and "by_source" in kpi, kpi
    assert kpi["by_source"], kpi


def test_previous_version_kept_as_backup_and_memory_beside_the_book(rich):
    book = rich.book
    assert rich.backup_bytes is not None, \
        f"no backup {backup_path(book).name}; folder: {rich.listing_after}"
    assert rich.backup_bytes == rich.input_bytes, "the backup is not the previous version"
    assert state_path(book).exists(), f"no memory file; folder: {rich.listing_after}"
    expected = {book.name, backup_path(book).name, state_path(book).name}
    # A clean exit leaves no temporary files (SQLite's own -wal/-shm are tolerated).
    extra = [n for n in rich.listing_after
             if n not in expected and not n.startswith(state_path(book).name)]
    assert not extra, f"files left beside the book: {extra}"


# ---------------------------------------------------------------------------------------------
# 1. Byte level: what the engine does not own is the same part, byte for byte
# ---------------------------------------------------------------------------------------------


def test_parts_the_engine_does_not_own_are_byte_identical(rich):
    assert_parts_preserved(rich.input_parts, rich.output_parts)


def test_logo_comments_and_pivot_cache_still_wired(rich):
    before, after = rich.input_parts, rich.output_parts
    for element in ("drawing", "legacyDrawing"):
        assert sheet_element_rels(after, LEADS_SHEET, element) == \
            sheet_element_rels(before, LEADS_SHEET, element), element
    assert LOGO_DRAWING in sheet_element_rels(after, LEADS_SHEET, "drawing")
    assert charts_on_sheet(after, "Charts") == charts_on_sheet(before, "Charts")

    def pivot_caches(parts: dict[str, bytes]) -> dict[str, str]:
        wb_rels = rels(parts, "xl/workbook.xml")
        root = ET.fromstring(parts["xl/workbook.xml"])
        return {c.get("cacheId", ""): wb_rels[c.get(f"{{{REL}}}id", "")][1]
                for c in root.findall("m:pivotCaches/m:pivotCache", NS)}

    assert pivot_caches(before), "builder: the input has no pivot cache"
    assert pivot_caches(after) == pivot_caches(before)
    for part in PIVOT_PARTS:
        assert after[part] == before[part], part


# ---------------------------------------------------------------------------------------------
# 2. Cell level: the dealer's columns and the sheet's features
# ---------------------------------------------------------------------------------------------


def test_dealer_lead_cells_are_unchanged(books):
    wb_in, wb_out = books
    ws_in, ws_out = wb_in[LEADS_SHEET], wb_out[LEADS_SHEET]
    assert ws_out.max_row == ws_in.max_row == LAST_LEAD_ROW, "rows were added or removed"
    diffs = []
    for row in range(1, LAST_LEAD_ROW + 1):
        for letter in DEALER_LEAD_COLUMNS:
            ref = f"{letter}{row}"
            a, b = _cell_signature(ws_in[ref]), _cell_signature(ws_out[ref])
            if a != b:
                diffs.append(f"  {ref}: {a}\n   -> {b}")
    assert not diffs, "the dealer's cells changed (value, type, format, bold, font colour, " \
        "fill, comment):\n" + "\n".join(diffs[:40])


def test_leads_sheet_features_are_unchanged(books):
    wb_in, wb_out = books
    ws_in, ws_out = wb_in[LEADS_SHEET], wb_out[LEADS_SHEET]
    widths_in, widths_out = _widths(ws_in), _widths(ws_out)
    assert {c: widths_out.get(c) for c in DEALER_LEAD_COLUMNS} == \
        {c: widths_in.get(c) for c in DEALER_LEAD_COLUMNS}
    assert ws_out.freeze_panes == ws_in.freeze_panes == "B2"
    assert ws_out.auto_filter.ref == ws_in.auto_filter.ref
    assert _validations(ws_in) <= _validations(ws_out), "the dealer's dropdown is gone"
    rules_in, rules_out = _cf_rules(ws_in), _cf_rules(ws_out)
    assert all(rule in rules_out for rule in rules_in), \
        f"the dealer's conditional format changed:\n{rules_in}\n->\n{rules_out}"
    ours = [r for r in rules_out if r not in rules_in]
    assert any(r[1] == "expression" for r in ours), \
        f"no formula-based highlighting of the lead rows was added: {ours}"
    comment = ws_out[COMMENT_CELL].comment
    assert comment is not None and comment.text == COMMENT_TEXT
    assert comment.author == COMMENT_AUTHOR
    assert DEFINED_NAME in wb_out.defined_names
    assert wb_out.defined_names[DEFINED_NAME].attr_text == DEFINED_NAME_TEXT
    for row in range(2, LAST_LEAD_ROW + 1):
        cell = ws_out[f"J{row}"]
        assert cell.data_type == "f" and cell.value == f"=TODAY()-A{row}", (row, cell.value)


def test_days_open_formulas_are_still_formulas_in_the_xml(rich):
    cells = raw_cells(rich.output_parts, LEADS_SHEET)
    no_formula = [f"J{r}" for r in range(2, LAST_LEAD_ROW + 1)
                  if cells.get(f"J{r}") is None or cells[f"J{r}"].formula is None]
    assert not no_formula, f"formula cells lost their <f>: {no_formula}"


def test_other_sheets_keep_their_values(books):
    wb_in, wb_out = books
    for name in ("Team", "Settings", "Charts", "Pivot"):
        values_in = [[c.value for c in row] for row in wb_in[name].iter_rows()]
        values_out = [[c.value for c in row] for row in wb_out[name].iter_rows()]
        assert values_out == values_in, name
    assert len(wb_out["Pivot"]._pivots) == 1, "the pivot table is gone"
    assert len(wb_out["Charts"]._charts) == 1, "the dealer's chart is gone"


def test_stock_cells_unchanged_and_buyers_waiting_added(books):
    wb_in, wb_out = books
    ws_in, ws_out = wb_in[STOCK_SHEET], wb_out[STOCK_SHEET]
    assert ws_out.max_row == ws_in.max_row == len(STOCK) + 1
    for row in range(1, len(STOCK) + 2):
        for letter in DEALER_STOCK_COLUMNS:
            ref = f"{letter}{row}"
            assert _cell_signature(ws_out[ref]) == _cell_signature(ws_in[ref]), ref
    headers = _headers(ws_out)
    waiting = [letter for letter, v in headers.items() if v == BUYERS_WAITING]
    assert waiting, f"no {BUYERS_WAITING!r} column on {STOCK_SHEET}: {headers}"
    assert column_index_from_string(waiting[0]) > len(DEALER_STOCK_COLUMNS)
    value = ws_out[f"{waiting[0]}{TRANSIT_STOCK_ROW}"].value
    assert value == 2 or str(value).strip().startswith("2"), \
        f"two open leads wait for the car in transit; the cell says {value!r}"


# ---------------------------------------------------------------------------------------------
# 3. The columns the engine owns
# ---------------------------------------------------------------------------------------------


def test_missing_columns_added_at_the_right_with_english_headers(books):
    _, wb_out = books
    ws = wb_out[LEADS_SHEET]
    headers = _headers(ws)
    added = {letter: v for letter, v in headers.items() if letter not in DEALER_LEAD_COLUMNS}
    assert sorted(added) == ADDED_COLUMNS and set(added.values()) == set(ADDED_LEAD_HEADERS), \
        f"expected {ADDED_LEAD_HEADERS} in {ADDED_COLUMNS[0]}..{ADDED_COLUMNS[-1]}; " \
        f"got {added}"


def test_every_open_lead_has_an_owner_a_next_action_and_a_due_date(books):
    ws = books[1][LEADS_SHEET]
    col = {h: _lead_column(ws, h) for h in ADDED_LEAD_HEADERS}
    problems = []
    for row in OPEN_ROWS:
        owner = ws[f"{col['Owner']}{row}"].value
        action = ws[f"{col['Next action']}{row}"].value
        due = ws[f"{col['Due']}{row}"]
        if owner not in ACTIVE_PEOPLE:
            problems.append(f"row {row}: owner {owner!r} is not an active person")
        if not (isinstance(action, str) and action.strip()):
            problems.append(f"row {row}: next action {action!r}")
        if not (isinstance(due.value, dt.datetime) and due.is_date):
            problems.append(f"row {row}: due {due.value!r} ({due.number_format}) is not a "
                            "date cell")
    assert not problems, "\n".join(problems)
    ids = [ws[f"{col['Lead ID']}{row}"].value for row in range(2, LAST_LEAD_ROW + 1)]
    assert all(ids) and len(set(ids)) == len(ids), f"lead ids missing or repeated: {ids}"
    since = [ws[f"{col['Status since']}{row}"] for row in OPEN_ROWS]
    assert all(isinstance(c.value, dt.datetime) and c.is_date for c in since), \
        [(c.coordinate, c.value) for c in since]


@pytest.mark.parametrize(("row", "due", "state"), [
    (ROW_OVERDUE_CHAT, dt.datetime(2026, 11, 23, 9, 55), "overdue"),
    (ROW_DUE_SOON_CHAT, dt.datetime(2026, 11, 23, 10, 3), "due soon"),
    (ROW_OVERDUE_FORM, dt.datetime(2026, 11, 21, 9, 15), "overdue"),  # Saturday opens 09:00
    (ROW_OVERDUE_SATURDAY, dt.datetime(2026, 11, 23, 9, 3), "overdue"),
])
def test_new_leads_get_their_first_response_due_and_state(books, row, due, state):
    ws = books[1][LEADS_SHEET]
    got = ws[f"{_lead_column(ws, 'Due')}{row}"].value
    assert isinstance(got, dt.datetime) and abs((got - due).total_seconds()) < 1, \
        f"row {row}: due {got!r}, expected {due:%a %Y-%m-%d %H:%M}"
    action = str(ws[f"{_lead_column(ws, 'Next action')}{row}"].value or "")
    assert "first reply" in action.lower(), action
    text = str(ws[f"{_lead_column(ws, 'State')}{row}"].value or "")
    assert state in text.lower(), f"row {row}: state {text!r}, expected {state!r}"


def test_states_agree_with_the_json_counts(rich, books):
    ws = books[1][LEADS_SHEET]
    state = _lead_column(ws, "State")
    texts = {row: str(ws[f"{state}{row}"].value or "").lower()
             for row in range(2, LAST_LEAD_ROW + 1)}
    data = rich.first.data
    assert sum("overdue" in t for t in texts.values()) == data["overdue"], texts
    assert sum("due soon" in t for t in texts.values()) == data["due_soon"], texts


def test_won_and_lost_leads_are_never_overdue(books):
    ws = books[1][LEADS_SHEET]
    state = _lead_column(ws, "State")
    for row in CLOSED_ROWS:
        text = str(ws[f"{state}{row}"].value or "").lower()
        assert "overdue" not in text and "due soon" not in text, (row, text)


def test_a_lead_for_a_sold_car_is_offered_the_similar_car_in_stock(books):
    ws = books[1][LEADS_SHEET]
    action = str(ws[f"{_lead_column(ws, 'Next action')}{ROW_WANTS_SOLD_CAR}"].value or "")
    # The other 320i is named so a person can find it: by its VIN or the VIN's tail (the stock
    # tab has no stock numbers); "BMW 320i" alone would also describe the sold car.
    assert BMW_2[-5:] in action, \
        f"the BMW asked about is sold; {BMW_2} (BMW 320i) is on the lot: {action!r}"


# ---------------------------------------------------------------------------------------------
# 4. Untrusted text stays text
# ---------------------------------------------------------------------------------------------


def test_untrusted_lead_text_is_still_text(rich, books):
    cells = raw_cells(rich.output_parts, LEADS_SHEET)
    expected = {f"B{ROW_EVIL_NAME}": EVIL_NAME, f"E{ROW_UNKNOWN_SOURCE}": SOURCE_AT}
    expected.update({f"H{row}": note for row, note in ROWS_UNTRUSTED_NOTES.items()})
    ws = books[1][LEADS_SHEET]
    for ref, text in expected.items():
        cell = cells[ref]
        assert cell.formula is None and cell.type in ("s", "inlineStr"), cell
        assert cell.text == text, cell
        assert ws[ref].data_type == "s" and ws[ref].value == text, ref


def test_generated_sheets_never_turn_text_into_formulas(rich):
    parts = rich.output_parts
    names = sheet_parts(parts)
    missing = [s for s in GENERATED_SHEETS if s not in names]
    assert not missing, f"sheets not written: {missing}; sheets: {list(names)}"
    bad = []
    for sheet in (*GENERATED_SHEETS, LEADS_SHEET, STOCK_SHEET):
        for cell in raw_cells(parts, sheet).values():
            if cell.formula is not None:
                f = cell.formula
                if any(p in f for p in ("evil", "call me", "@here", SOURCE_AT)) or \
                        f.strip() in ("-5", "5", "+1"):
                    bad.append(f"{sheet}!{cell.ref}: formula {f!r}")
            elif cell.text and cell.text[0] in "=+-@" and cell.type not in ("s", "inlineStr"):
                bad.append(f"{sheet}!{cell.ref}: {cell.text!r} stored as t={cell.type!r}")
    assert not bad, "\n".join(bad)
    # The unknown source is an issue; wherever the Issues sheet shows it, it is a string.
    shown = [c for c in raw_cells(parts, "Issues").values()
             if c.text and any(u in c.text for u in UNTRUSTED)]
    assert all(c.formula is None and c.type in ("s", "inlineStr") for c in shown), shown


# ---------------------------------------------------------------------------------------------
# Generated sheets
# ---------------------------------------------------------------------------------------------


def test_kpi_sheet_has_at_least_two_native_charts(rich):
    before, after = rich.input_parts, rich.output_parts
    charts = charts_on_sheet(after, "KPI")
    assert len(charts) >= 2, f"KPI sheet charts: {charts}"
    for chart in charts:
        assert chart in after and chart not in before, chart
        assert chart.startswith("xl/charts/chart") and chart.endswith(".xml")


# ---------------------------------------------------------------------------------------------
# 5. Idempotence
# ---------------------------------------------------------------------------------------------


def test_second_run_with_the_same_as_of_changes_nothing(rich):
    book = rich.book
    assert book.read_bytes() == rich.output_bytes, "the book changed after the first run"
    mtime = book.stat().st_mtime_ns
    second = run_forecourt(book, "--json").ok()
    assert book.read_bytes() == rich.output_bytes, "the second run changed the workbook"
    assert second.data["assigned"] == 0, "the second run assigned owners again"
    for key in ("leads", "open", "overdue", "due_soon", "stalled"):
        assert second.data[key] == rich.first.data[key], key
    if book.stat().st_mtime_ns != mtime:  # allowed, but worth knowing
        print("note: the second run rewrote identical bytes (mtime changed)")


# ---------------------------------------------------------------------------------------------
# 6. LibreOffice, a second real client, opens the result
# ---------------------------------------------------------------------------------------------


def test_output_opens_in_libreoffice(rich, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is not installed: install libreoffice-calc-nogui "
                    "(.ci/run does) to run this test")
    book = tmp_path / "out.xlsx"
    book.write_bytes(rich.output_bytes)
    outdir = tmp_path / "csv"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless",
         "--convert-to", "csv", "--outdir", str(outdir), str(book)],
        capture_output=True, timeout=180)
    detail = (f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout.decode(errors='replace')}"
              f"\n--- stderr ---\n{proc.stderr.decode(errors='replace')}")
    assert proc.returncode == 0, detail
    csv = outdir / "out.csv"
    assert csv.exists() and csv.stat().st_size > 0, detail
    assert b"Error" not in proc.stderr, detail


# ---------------------------------------------------------------------------------------------
# 7. A macro-enabled workbook keeps its VBA project
# ---------------------------------------------------------------------------------------------


def test_xlsm_keeps_its_vba_project_and_pivot_table(tmp_path):
    book = build_rich_xlsm(tmp_path)
    before_bytes = book.read_bytes()
    run_forecourt(book).ok()
    assert book.exists(), "the .xlsm is gone"
    before, after = zip_parts(before_bytes), zip_parts(book.read_bytes())
    assert before != after, "nothing was written"
    assert after.get(VBA_PART) == before[VBA_PART], "vbaProject.bin changed or dropped"
    assert content_type(after, "xl/workbook.xml") == MACRO_WORKBOOK_TYPE
    assert content_type(after, VBA_PART) == VBA_CONTENT_TYPE
    assert any(kind == "vbaProject" and target == VBA_PART
               for kind, target in rels(after, "xl/workbook.xml").values())
    assert b'codeName="ThisWorkbook"' in after["xl/workbook.xml"]
    assert_parts_preserved(before, after)
    for part in PIVOT_PARTS:
        assert after[part] == before[part], part
    # An .xlsm backup must stay an .xlsm: Excel refuses macro content under .xlsx.
    assert backup_path(book).name == "dealer.forecourt.bak.xlsm"
    assert backup_path(book).read_bytes() == before_bytes
