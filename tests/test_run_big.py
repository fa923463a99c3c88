"""A book big enough for the paths small test books never take: the leads sheet is over 4 MB,
so it is compressed in a second thread while its rows are rewritten, and it is parsed in a
second thread while the stock sheet is."""

from __future__ import annotations

import io
import shutil
import threading
import zipfile

import pytest
from preserve_books import NOW, run_forecourt
from python_calamine import CalamineWorkbook

from forecourt.demo import generate_demo
from forecourt.sync.xlsx import PARALLEL_REST
from forecourt.sync.xlsx.package import _write_pieces

LEADS = 6000


def values(path):
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    original = generate_demo(folder / "original.xlsx", LEADS, as_of=NOW)
    book = folder / "dealer.xlsx"
    shutil.copy(original, book)
    with zipfile.ZipFile(book) as zf:
        sizes = {i.filename: i.file_size for i in zf.infolist()}
    first = run_forecourt(book)
    after_first = book.read_bytes()
    second = run_forecourt(book)
    return original, book, sizes, first, after_first, second


def test_the_book_is_big_enough_to_take_the_threaded_paths(runs):
    _, _, sizes, *_ = runs
    sheets = sorted((size for name, size in sizes.items() if "worksheets/sheet" in name),
                    reverse=True)
    assert sheets[0] > 4 << 20, "the leads sheet is compressed in the background above 4 MB"
    assert sum(sheets[1:]) > PARALLEL_REST, "the leads sheet is read in a second thread"


def test_every_cell_of_the_dealer_survives_and_open_leads_are_planned(runs):
    original, book, _, first, *_ = runs
    assert first.returncode == 0, first.detail()
    before, after = values(original), values(book)
    leads = before["Leads"]
    header = leads[0]
    for r, row in enumerate(leads):
        for c, value in enumerate(row):
            if header[c] in ("Owner", "Next action", "Due") or value == "":
                continue  # the engine's own cells (it fills the empty ones)
            assert after["Leads"][r][c] == value, (r + 1, header[c])
    out_header = after["Leads"][0]
    due = out_header.index("Due")
    state = out_header.index("State")
    rows = after["Leads"][1:]
    status = header.index("Status")
    open_rows = [row for row in rows if row[status] not in ("Won", "Lost")]
    assert len(rows) == LEADS
    assert sum(row[due] != "" for row in open_rows) > 0.95 * len(open_rows)
    assert any(row[state] for row in open_rows)
    assert after["Stock"][1:] and [r[: len(before["Stock"][0])] for r in after["Stock"]] \
        == before["Stock"], "the stock sheet changed beyond its new column"


def test_a_second_run_changes_nothing(runs):
    _, book, _, _, after_first, second = runs
    assert second.returncode == 0, second.detail()
    assert book.read_bytes() == after_first


def test_a_failure_while_compressing_in_the_background_is_raised_not_lost():
    class Full(io.RawIOBase):
        def write(self, data):
            raise OSError(28, "No space left on device")

    def rows():
        for _ in range(5000):
            yield b"<row>" + b"x" * 1000 + b"</row>"

    before = threading.active_count()
    with pytest.raises(OSError, match="No space left"):
        _write_pieces(rows(), Full(), in_background=True)
    assert threading.active_count() == before, "the compressing thread is left running"


def test_pieces_arrive_whole_and_in_order_through_the_background_thread():
    pieces = [f"<row r=\"{n}\">{'y' * (n % 97)}</row>".encode() for n in range(40000)]
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("sheet.xml", "w") as out:
        _write_pieces(iter(pieces), out, in_background=True)
    with zipfile.ZipFile(raw) as zf:
        assert zf.read("sheet.xml") == b"".join(pieces)


def test_the_sheets_forecourt_wrote_are_not_read_back(runs):
    """A rerun does not parse the KPI, Issues and Log sheets it is about to rebuild."""
    from forecourt.sync.xlsx import read_tabs

    _, book, *_ = runs
    every = set(CalamineWorkbook.from_path(str(book)).sheet_names)
    read = {t.name for t in read_tabs(book).tabs}
    assert {"KPI", "Issues", "Log"} <= every - read
    assert {"Leads", "Stock", "Team", "Settings"} <= read
