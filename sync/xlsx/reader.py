"""Reading an .xlsx / .xlsm file: safety checks on the package, then every sheet's values.

Values are read with python-calamine (Rust, no XML entity expansion, a fraction of openpyxl's
time and memory). Before it sees the file, the zip package is checked so that a damaged,
encrypted, disguised or hostile file ends in one clear :class:`UnreadableWorkbook`.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import python_calamine

from forecourt.background import Background
from forecourt.errors import UnreadableWorkbook, WorkbookMissing
from forecourt.sync.base import Tab, Tabs

#: Largest total uncompressed size accepted (bytes). A 100k-lead book is ~60 MB unpacked.
MAX_UNCOMPRESSED = int(os.environ.get("FORECOURT_MAX_UNCOMPRESSED", 1 << 30))
#: Largest compression ratio of one member; real sheets stay well under 100.
MAX_RATIO = 1000
#: The biggest sheet is parsed in a second thread when the other sheets unpack to more.
PARALLEL_REST = 512 << 10

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _unreadable(path: Path, why: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(f"{path} {why}", path=path)


def check_package(path: Path) -> None:
    """Raise :class:`UnreadableWorkbook` unless ``path`` is a plausible, safe xlsx package."""
    if not path.exists():
        raise WorkbookMissing(f"{path} does not exist: check the name and the folder.", path=path)
    if path.is_dir():
        raise WorkbookMissing(f"{path} is a folder, not a workbook file.", path=path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise _unreadable(path, f"cannot be opened ({exc.strerror}).") from None
    if not head:
        raise _unreadable(path, "is empty (0 bytes): restore it from a backup.")
    if head.startswith(_OLE_MAGIC):
        raise _unreadable(path, "is password-protected or an old .xls file: save it in Excel "
                                "as an .xlsx workbook without a password, then try again.")
    if not head.startswith(b"PK"):
        kind = "a PDF" if head.startswith(b"%PDF") else "not an Excel workbook"
        raise _unreadable(path, f"is {kind} (perhaps a CSV or another file renamed): "
                                "open it in Excel and save it as .xlsx.")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            names = {m.filename for m in members}
            if "xl/workbook.xml" not in names:
                raise _unreadable(path, "is a zip file but not an Excel workbook "
                                        "(it has no xl/workbook.xml).")
            total = sum(m.file_size for m in members)
            if total > MAX_UNCOMPRESSED:
                raise _unreadable(path, f"would unpack to {total / 2**30:.1f} GiB, more than "
                                        f"the {MAX_UNCOMPRESSED / 2**30:.1f} GiB limit: it is "
                                        "damaged or unsafe (set FORECOURT_MAX_UNCOMPRESSED "
                                        "to raise the limit).")
            for m in members:
                if m.compress_size and m.file_size / m.compress_size > MAX_RATIO \
                        and m.file_size > 10 << 20:
                    raise _unreadable(path, f"contains {m.filename} which unpacks "
                                            f"{m.file_size // m.compress_size}x: "
                                            "this looks like a zip bomb, not a workbook.")
            for m in members:
                if m.filename.endswith((".xml", ".rels")):
                    with zf.open(m) as fh:
                        if _DTD.search(fh.read(4096)):
                            raise _unreadable(path, f"contains XML entity declarations in "
                                                    f"{m.filename}, which Excel never writes: "
                                                    "it is unsafe to read.")
    except zipfile.BadZipFile:
        raise _unreadable(path, "is damaged (truncated or not a complete zip): "
                                "restore it from a backup.") from None
    except (OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise _unreadable(path, f"cannot be read ({exc}).") from None


def read_tabs(path: Path | str) -> Tabs:
    """All visible-or-hidden worksheets of an .xlsx/.xlsm file as :class:`Tab` rectangles.

    When the other sheets are big too (a stock list of thousands of cars), the biggest sheet
    is parsed in a second thread meanwhile: python-calamine leaves the GIL while it parses.
    Only two workbook instances at most: each one parses the shared-strings table again.
    """
    path = Path(path)
    check_package(path)
    try:
        skip, sizes = _survey(path)
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            names = [meta.name for meta in book.sheets_metadata
                     if str(meta.typ).split(".")[-1] == "WorkSheet" and meta.name not in skip]
            biggest = max(names, key=lambda n: sizes.get(n, 0), default=None)
            rest = sum(sizes.get(n, 0) for n in names if n != biggest)
            pending = Background(_read_sheet, path, biggest, name="forecourt-sheet") \
                if biggest is not None and rest > PARALLEL_REST else None
            tabs = [None if pending is not None and name == biggest else _sheet(book, name)
                    for name in names]
        finally:
            book.close()
        if pending is not None:
            tabs[names.index(biggest)] = pending.result()
    except UnreadableWorkbook:
        raise
    except Exception as exc:  # calamine raises several unrelated types for a broken package
        raise _unreadable(path, f"could not be read as a workbook ({exc}).") from None
    return Tabs(str(path), tabs, kind="xlsm" if path.suffix.lower() == ".xlsm" else "xlsx")


def _read_sheet(path: Path, name: str) -> Tab:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return _sheet(book, name)
    finally:
        book.close()


def _sheet(book: python_calamine.CalamineWorkbook, name: str) -> Tab:
    sheet = book.get_sheet_by_name(name)
    rows = sheet.to_python(skip_empty_area=True)
    start = sheet.start or (0, 0)
    merged = list(sheet.merged_cell_ranges or [])
    return Tab(name, rows, first_row=start[0] + 1, first_col=start[1], merged=merged)


def _survey(path: Path) -> tuple[set[str], dict[str, int]]:
    """(the sheets forecourt wrote itself, each sheet's unpacked XML size).

    The KPI, Issues and Log sheets are rebuilt on every run, so they are not worth parsing (a
    big book's Issues sheet holds thousands of rows); only the start of each sheet is
    inflated to look at its A1."""
    # Imported here rather than at the top: the package module imports forecourt.locks (json,
    # socket, ...), not worth delaying the start of a read in the background for.
    from forecourt.sync.xlsx.package import is_ours, sheet_parts

    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        if "xl/workbook.xml" not in infos or "xl/_rels/workbook.xml.rels" not in infos:
            return set(), {}
        parts = sheet_parts(zf.read("xl/workbook.xml"), zf.read("xl/_rels/workbook.xml.rels"))
        found, sizes = set(), {}
        for sheet, part in parts.items():
            if part in infos:
                sizes[sheet] = infos[part].file_size
                with zf.open(part) as fh:
                    if is_ours(fh.read(4000)):
                        found.add(sheet)
    return found, sizes


class PendingTabs(Background[Tabs]):
    """:func:`read_tabs` of ``path`` running in a background thread.

    python-calamine releases the GIL while it parses, so a command can import pandas and
    pandera (most of a small run) while the workbook is read. :meth:`result` waits and returns
    the tabs, or raises what reading raised (missing, unreadable, ...).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        #: the file's revision before reading began (None: it was not there)
        self.revision = revision_of(self.path)
        super().__init__(read_tabs, self.path, name="forecourt-read")


def revision_of(path: Path) -> str | None:
    """What changes whenever the file does: its size and modification time (ns); None when
    there is no such file."""
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_size}-{st.st_mtime_ns}"
