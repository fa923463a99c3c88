"""The zip package of an .xlsx/.xlsm file: its parts, their paths and relationships.

A :class:`Package` reads parts from the source on demand and holds the edited ones in
memory; :meth:`Package.write` streams every part into a new zip, copying untouched parts
(charts, images, pivot tables, comments, the VBA project...) unchanged.
:func:`replace_atomically` writes it to a temporary file in the destination folder, flushes
it to disk, and then renames it over the destination in one step; the previous version is
kept as a backup (:func:`backup_path`).

The reader uses :func:`sheet_parts` and :func:`is_ours` too, so this module imports none of
the writing modules.
"""

from __future__ import annotations

import os
import posixpath
import queue
import re
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from forecourt.background import Background
from forecourt.locks import TEMP_PREFIX
from forecourt.sync.xlsx.xmltext import _attr, _unescape

OWNED_TITLE = "forecourt"

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_SHEET = NS_REL + "/worksheet"
REL_DRAWING = NS_REL + "/drawing"
REL_CHART = NS_REL + "/chart"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

#: Called when :meth:`Package.write` is done: caches of what was written, not to be kept
#: past the write (:mod:`forecourt.sync.xlsx.sheetdata` adds its cell cache here).
AFTER_WRITE: list[Callable[[], None]] = []


def _rels(xml: bytes) -> list[tuple[str, str, str]]:
    out = []
    for m in re.finditer(rb"<Relationship\b([^>]*?)/?>", xml):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1).decode()))
        out.append((attrs.get("Id", ""), attrs.get("Type", ""), attrs.get("Target", "")))
    return out


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(base_dir, target))


def _rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def rels_xml(rels: list[tuple[str, str, str]]) -> bytes:
    body = "".join(f'<Relationship Id="{rid}" Type="{typ}" Target="{_attr(target)}"/>'
                   for rid, typ, target in rels)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
            f'xmlns="{NS_PKG_REL}">{body}</Relationships>').encode()


@dataclass
class Package:
    """An .xlsx package being edited: parts are read from the source on demand, edited parts
    are held in memory (a big sheet as pieces that mostly point into the original), and
    :meth:`write` streams everything into a new zip."""

    source: Path
    infos: list[zipfile.ZipInfo]
    edited: dict[str, Iterable[bytes | memoryview]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)
    _cache: dict[str, bytes] = field(default_factory=dict)
    _coming: dict[str, Background[bytes]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Package:
        with zipfile.ZipFile(path) as zf:
            return cls(Path(path), zf.infolist())

    def prefetch(self, name: str) -> None:
        """Start inflating part ``name`` in a second thread (zlib leaves the GIL), so a big
        sheet is ready when the edit needs it."""
        if name not in self._cache and name not in self._coming \
                and any(i.filename == name for i in self.infos):
            self._coming[name] = Background(self._read, name, name="forecourt-inflate")

    def _read(self, name: str) -> bytes:
        with zipfile.ZipFile(self.source) as zf:
            return _read_part(zf, name)

    def _original(self, name: str) -> bytes | None:
        if name in self._coming:
            self._cache[name] = self._coming.pop(name).result()
        if name not in self._cache:
            if not any(i.filename == name for i in self.infos):
                return None
            with zipfile.ZipFile(self.source) as zf:
                self._cache[name] = _read_part(zf, name)
        return self._cache[name]

    def has(self, name: str) -> bool:
        if name in self.removed:
            return False
        return name in self.edited or any(i.filename == name for i in self.infos)

    def get(self, name: str) -> bytes:
        if name in self.edited:
            return b"".join(self.edited[name])
        data = self._original(name) if name not in self.removed else None
        if data is None:
            raise KeyError(name)
        return data

    def set(self, name: str, data: bytes) -> None:
        self.removed.discard(name)
        self.edited[name] = [data]
        if data == self._original(name):
            self.dirty.discard(name)
        else:
            self.dirty.add(name)

    def set_pieces(self, name: str, pieces: Iterable[bytes | memoryview], changed: bool
                   ) -> None:
        """An edited part given as pieces (possibly a generator, consumed by :meth:`write`)."""
        self.removed.discard(name)
        self.edited[name] = pieces
        if changed:
            self.dirty.add(name)

    def remove(self, name: str) -> None:
        self.edited.pop(name, None)
        self.dirty.discard(name)
        if any(i.filename == name for i in self.infos):
            self.removed.add(name)

    @property
    def changed(self) -> set[str]:
        """Parts added, removed or different from the file as read."""
        return self.dirty | {n for n in self.removed if self._original(n) is not None
                             and n not in self.edited}

    def sheets(self) -> dict[str, str]:
        """Sheet name -> part path, in workbook order."""
        return sheet_parts(self.get("xl/workbook.xml"), self.get("xl/_rels/workbook.xml.rels"))

    def unused(self, pattern: str) -> str:
        n = 1
        while self.has(pattern.format(n)):
            n += 1
        return pattern.format(n)

    def write(self, dest: Path) -> None:
        """Stream every part into ``dest``: untouched parts are copied in 1 MiB chunks."""
        known = {i.filename for i in self.infos}
        names = [i.filename for i in self.infos if self.has(i.filename)]
        names += sorted((n for n in self.edited if n not in known), key=_part_order)
        by_name = {i.filename: i for i in self.infos}
        with zipfile.ZipFile(self.source) as zin, \
                zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
            for name in names:
                old = by_name.get(name)
                info = zipfile.ZipInfo(name, old.date_time if old else FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                pieces = self.edited.get(name)
                if isinstance(pieces, list):
                    size = most = sum(len(p) for p in pieces)
                else:  # a generator (rewriting can add to the part) or untouched
                    size = old.file_size if old else 0
                    most = size * 2
                # Parts forecourt rewrites, over 256 KB: level 1 is ~3x faster and about a
                # quarter larger (8 MB of leads: 44 ms and 1.33 MB; level 6: 113 ms and
                # 1.06 MB). Parts copied untouched keep level 6 up to 2 MB, so a run does not
                # grow the dealer's other sheets. (_compresslevel is what ZipFile.open reads up
                # to 3.12, compress_level from 3.13.)
                level = 1 if size > ((256 << 10) if pieces is not None else (2 << 20)) else 6
                setattr(info, "compress_level" if hasattr(info, "compress_level")
                        else "_compresslevel", level)
                with zout.open(info, "w", force_zip64=most > (1 << 30)) as out:
                    if pieces is not None:
                        _write_pieces(pieces, out, in_background=most > (4 << 20))
                    else:
                        with zin.open(name) as src:
                            shutil.copyfileobj(src, out, 1 << 20)
        for clear in AFTER_WRITE:
            clear()


def _chunks(pieces: Iterable[bytes | memoryview]) -> Iterator[bytes | memoryview | bytearray]:
    """Many small pieces (rows) joined into about 1 MiB at a time, for zlib; a piece that
    big already passes as it is (not copied again)."""
    buffer = bytearray()
    for piece in pieces:
        if len(piece) >= (1 << 20):
            if buffer:
                yield buffer
                buffer = bytearray()
            yield piece
            continue
        buffer += piece
        if len(buffer) >= (1 << 20):
            yield buffer
            buffer = bytearray()
    yield buffer


def _write_pieces(pieces: Iterable[bytes | memoryview], out: IO[bytes], *,
                  in_background: bool) -> None:
    """Write pieces to a zip member. ``in_background``: a second thread compresses each MiB
    (zlib releases the GIL) while this one makes the next, so a big sheet's rewriting and
    compressing overlap. (That thread needs the GIL back after each zlib call and file write:
    :func:`forecourt.engine.run` shortens Python's switch interval so it does not wait 5 ms
    each time.)"""
    if not in_background:
        for chunk in _chunks(pieces):
            out.write(chunk)
        return
    ready: queue.Queue[bytes | memoryview | bytearray | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def drain() -> None:
        while (chunk := ready.get()) is not None:
            if not failed:
                try:
                    out.write(chunk)
                except BaseException as exc:  # handed to the writing thread below
                    failed.append(exc)

    worker = threading.Thread(target=drain, name="forecourt-compress", daemon=True)
    worker.start()
    try:
        for chunk in _chunks(pieces):
            if failed:
                break
            ready.put(chunk)
    finally:
        ready.put(None)
        worker.join()
    if failed:
        raise failed[0]


def _read_part(zf: zipfile.ZipFile, name: str) -> bytes:
    """A part's bytes, inflated straight into a buffer of its known size: ``ZipFile.read``
    needs about twice the part's size on the way (100 MB more for the leads sheet of a
    100k-lead book)."""
    info = zf.getinfo(name)
    data = bytearray(info.file_size)
    view = memoryview(data)
    pos = 0
    with zf.open(info) as src:
        while pos < len(data):
            n = src.readinto(view[pos:pos + (1 << 20)])
            if not n:
                break
            pos += n
        if pos != len(data) or src.read(1):
            raise zipfile.BadZipFile(f"{name}: size differs from the zip directory")
    view.release()
    return data  # type: ignore[return-value]  # a bytearray: every bytes method the edit uses


def sheet_parts(workbook_xml: bytes, workbook_rels: bytes) -> dict[str, str]:
    """Sheet name -> worksheet part path, in workbook order."""
    wb = workbook_xml.decode("utf-8")
    rels = {rid: _resolve("xl", target) for rid, _t, target in _rels(workbook_rels)}
    out = {}
    for m in re.finditer(r"<sheet\b([^>]*?)/?>", wb):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if rid in rels:
            out[_unescape(attrs.get("name", ""))] = rels[rid]
    return out


def _part_order(name: str) -> tuple[int, str]:
    return (0 if "worksheets" in name else 1, name)


def is_ours(part: bytes) -> bool:
    """Whether a worksheet part is one forecourt generated (its A1 is our title)."""
    head = part[:4000]
    m = re.search(rb"<c\b[^>]*\br=\"A1\"[^>]*>(.*?)</c>", head, re.S)
    return bool(m and re.search(rb"<t[^>]*>" + OWNED_TITLE.encode(), m.group(1)))


def _content_types(pkg: Package, add: dict[str, str], drop: set[str]) -> None:
    ct = pkg.get("[Content_Types].xml").decode("utf-8")
    for part in drop:
        ct = re.sub(rf'<Override\b[^>]*PartName="/{re.escape(part)}"[^>]*/>', "", ct)
    for part, typ in add.items():
        if f'PartName="/{part}"' not in ct:
            ct = ct.replace("</Types>", f'<Override PartName="/{part}" ContentType="{typ}"/>'
                                        "</Types>")
    pkg.set("[Content_Types].xml", ct.encode("utf-8"))


def _drop_sheet_extras(pkg: Package, sheet_part: str) -> set[str]:
    """Remove a generated sheet's drawing and charts (they are rebuilt); return removed parts."""
    removed: set[str] = set()
    rels_part = _rels_path(sheet_part)
    if not pkg.has(rels_part):
        return removed
    for _rid, typ, target in _rels(pkg.get(rels_part)):
        if typ == REL_DRAWING:
            drawing = _resolve(posixpath.dirname(sheet_part), target)
            d_rels = _rels_path(drawing)
            if pkg.has(d_rels):
                for _r, t2, chart_target in _rels(pkg.get(d_rels)):
                    if t2 == REL_CHART:
                        chart = _resolve(posixpath.dirname(drawing), chart_target)
                        pkg.remove(chart)
                        removed.add(chart)
                pkg.remove(d_rels)
            pkg.remove(drawing)
            removed.add(drawing)
    pkg.remove(rels_part)
    return removed


def _add_sheet(pkg: Package, name: str, part: str) -> None:
    wb = pkg.get("xl/workbook.xml").decode("utf-8")
    rels_xml_text = pkg.get("xl/_rels/workbook.xml.rels").decode("utf-8")
    ids = [int(x) for x in re.findall(r'Id="rId(\d+)"', rels_xml_text)]
    rid = f"rId{max(ids, default=0) + 1}"
    target = posixpath.relpath(part, "xl")
    rels_xml_text = rels_xml_text.replace(
        "</Relationships>", f'<Relationship Id="{rid}" Type="{REL_SHEET}" Target="{target}"/>'
                            "</Relationships>")
    sheet_ids = [int(x) for x in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', wb)]
    prefix = re.search(rf'xmlns:(\w+)="{re.escape(NS_REL)}"', wb)
    if prefix:
        rattr = prefix.group(1)
    else:
        rattr = "r"
        wb = re.sub(r"<workbook\b", f'<workbook xmlns:r="{NS_REL}"', wb, count=1)
    entry = (f'<sheet name="{_attr(name)}" sheetId="{max(sheet_ids, default=0) + 1}" '
             f'{rattr}:id="{rid}"/>')
    wb = wb.replace("</sheets>", entry + "</sheets>", 1)
    pkg.set("xl/workbook.xml", wb.encode("utf-8"))
    pkg.set("xl/_rels/workbook.xml.rels", rels_xml_text.encode("utf-8"))


def backup_path(path: Path) -> Path:
    """``BOOK.xlsx`` -> ``BOOK.forecourt.bak.xlsx`` (the version before the last run)."""
    return path.with_name(f"{path.stem}.forecourt.bak{path.suffix}")


def replace_atomically(pkg: Package, dest: Path, *, backup: bool = True,
                       before_replace: Callable[[], None] | None = None) -> None:
    """Write ``pkg`` over ``dest`` with :func:`write_atomically`, keeping the old version as a
    backup."""
    write_atomically(dest, pkg.write, backup=backup, before_replace=before_replace)


def write_atomically(dest: Path, write: Callable[[Path], None], *, backup: bool = False,
                     before_replace: Callable[[], None] | None = None) -> None:
    """``write`` a temporary file beside ``dest``, flush it to disk, keep the old version as a
    backup (``backup``), then rename over ``dest`` in one step: a crash leaves the old file or
    the new one, never half of either. ``before_replace`` runs just before the backup and
    rename; if it (or ``write``) raises, ``dest`` is left as it was. The temporary file is
    named as a killed run's leftovers are recognised (:func:`forecourt.locks.remove_debris`).
    """
    dest = Path(dest)
    tmp = dest.with_name(f"{TEMP_PREFIX}{os.getpid()}-{dest.name}")
    try:
        write(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        if dest.exists():
            if dest.stat().st_mode:
                shutil.copymode(dest, tmp)
            if backup:
                bak = backup_path(dest)
                bak_tmp = bak.with_name(TEMP_PREFIX + bak.name)
                shutil.copy2(dest, bak_tmp)
                os.replace(bak_tmp, bak)
        os.replace(tmp, dest)
        if hasattr(os, "O_DIRECTORY"):
            fd = os.open(dest.parent, os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        if tmp.exists():
            tmp.unlink()
