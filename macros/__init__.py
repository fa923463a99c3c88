"""The spreadsheet menus: our client sources (this folder) and :func:`export`, which writes them,
ready to install, with xlwings' BSD-licensed client code copied from the installed xlwings
package (never committed here).

- ``google/``: ``forecourt.gs`` (menu, ``onEdit`` stamping) and xlwings' ``xlwings.js``;
- ``excel/``: ``forecourt.bas`` (menu buttons, ``Workbook_SheetChange`` stamping), the
  ThisWorkbook snippet, and xlwings' VBA modules and classes;
- ``excel-web/``: ``forecourt.ts``, one Office Script: ours above xlwings' ``xlwings.ts``.

The stamping needs the header and status words forecourt knows; they are written into the
scripts at export (folded like :func:`forecourt.validators.text.fold`), so the menus match the
engine's vocabulary in English, German and Polish.
"""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path

#: the fields the stamping reads or writes
STAMP_FIELDS = ("status", "first_response_at", "last_contact_at", "status_since")
WORDS_TOKEN = "__FORECOURT_WORDS__"
VBA_WORDS_LINE = "' __FORECOURT_WORDS__"
#: xlwings' VBA files the remote call needs (Main.bas holds the version constant; not
#: Extensions.bas, whose only function would add an =sql() worksheet function to the dealer's
#: workbook, nor the ribbon's module)
VBA_FILES = ("Remote.bas", "Main.bas", "Config.bas", "Utils.bas", "WebHelpers.bas",
             "License.bas", "Dictionary.cls", "IWebAuthenticator.cls", "WebClient.cls",
             "WebRequest.cls", "WebResponse.cls")


class XlwingsMissing(RuntimeError):
    pass


def xlwings_dir() -> Path:
    """The installed xlwings package's folder (its client files are copied from it)."""
    try:
        import xlwings  # only its files are used
    except ImportError as exc:
        raise XlwingsMissing("xlwings is not installed, and its client files are needed: "
                             "pip install 'forecourt[addin]'") from exc
    return Path(xlwings.__file__).parent


#: words that may follow a known header and leave it that header: "First response (date/
#: time)", "Letzter Kontakt (Datum)", "Lead status (current)"; any other word makes another
#: column of it ("Last contact notes" is notes, "First contact channel" the source)
HEADER_QUALIFIERS = ("date", "time", "at", "on", "when", "dd", "mm", "yyyy", "yy", "hh",
                     "current", "now", "datum", "zeit", "uhrzeit", "am", "um", "aktuell",
                     "data", "czas", "godzina", "aktualny", "aktualna", "dnia", "o")
#: words that, after a known status, make it something else: "Appointment cancelled" is no
#: appointment, "New - no answer" no longer new (the stamping then does nothing)
STATUS_NEGATIONS = ("no", "not", "non", "never", "cancelled", "canceled", "cancel",
                    "declined", "rejected", "refused", "lost", "nicht", "kein", "keine",
                    "keinen", "abgesagt", "storniert", "abgelehnt", "verloren", "nie", "brak",
                    "odwolane", "odwolany", "odwolana", "anulowane", "anulowany", "odrzucona",
                    "odrzucone", "odrzucony", "stracony")


#: stock fields whose headers mark a tab as the stock, never the leads (a stock tab with
#: "Status" and "Last updated" must not be stamped)
STOCK_MARKERS = ("price", "mileage", "eta", "sold", "waiting", "year", "body")


def words() -> dict[str, object]:
    """The folded header words of :data:`STAMP_FIELDS`, status word -> status, and the words
    that may follow a header (:data:`HEADER_QUALIFIERS`) or undo a status
    (:data:`STATUS_NEGATIONS`)."""
    from forecourt.validators.text import fold
    from forecourt.validators.vocabulary import LEAD_FIELDS, STATUSES, STOCK_FIELDS

    headers = {f: sorted({fold(w) for lang in LEAD_FIELDS[f].values() for w in lang} - {""})
               for f in STAMP_FIELDS}
    statuses: dict[str, str] = {}
    for status, langs in STATUSES.items():
        for lang in langs.values():
            for w in lang:
                statuses.setdefault(fold(w), status)
    statuses.pop("", None)
    lead_words = {fold(w) for f in LEAD_FIELDS.values() for lang in f.values() for w in lang}
    stock = sorted({fold(w) for f in STOCK_MARKERS for lang in STOCK_FIELDS[f].values()
                    for w in lang} - lead_words - {""})
    return {"headers": headers, "statuses": dict(sorted(statuses.items())), "stock": stock,
            "qualifiers": sorted(HEADER_QUALIFIERS), "negations": sorted(STATUS_NEGATIONS)}


def vba_words() -> str:
    """:func:`words` as the VBA function ``ForecourtWords(kind)`` (ASCII, lines short)."""
    w = words()
    lists: dict[str, list[str]] = {k: list(v) for k, v in w["headers"].items()}  # type: ignore[union-attr]
    lists["qualifiers"] = list(w["qualifiers"])  # type: ignore[call-overload]
    lists["negations"] = list(w["negations"])  # type: ignore[call-overload]
    lists["stock"] = list(w["stock"])  # type: ignore[call-overload]
    for word, status in w["statuses"].items():  # type: ignore[union-attr]
        lists.setdefault(f"status:{status}", []).append(word)
    out = ["Private Function ForecourtWords(ByVal kind As String) As String",
           "    Dim s As String", "    Select Case kind"]
    for kind, items in lists.items():
        out.append(f'    Case "{kind}"')
        out.append('        s = "|"')
        line: list[str] = []
        for item in items:
            if not item.isascii() or '"' in item:
                continue
            line.append(item)
            if sum(len(x) + 1 for x in line) > 150:
                out.append(f'        s = s & "{"|".join(line)}|"')
                line = []
        if line:
            out.append(f'        s = s & "{"|".join(line)}|"')
    out += ["    End Select", "    ForecourtWords = s", "End Function"]
    return "\n".join(out)


def _ours(name: str) -> str:
    return resources.files("forecourt.macros").joinpath(name).read_text(encoding="utf-8")


def export(folder: Path | str, *, force: bool = False) -> list[Path]:
    """Write the three clients' files into ``folder`` (see the module docstring); the files
    written, in order. An existing non-empty folder is refused unless ``force``."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not force:
        raise FileExistsError(f"{folder} is not empty; choose another folder or add --force")
    source = xlwings_dir()
    written: list[Path] = []

    def put(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="\n" if path.suffix != ".bas" and
                       path.suffix != ".cls" else "\r\n")
        tmp.replace(path)
        written.append(path)

    def copy(src: Path, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        written.append(dest)

    json_words = json.dumps(words(), ensure_ascii=False, separators=(",", ":"))

    google = folder / "google"
    put(google / "forecourt.gs", _ours("forecourt.gs").replace(WORDS_TOKEN, json_words))
    copy(source / "js" / "xlwings.js", google / "xlwings.js")
    put(google / "README.md", _ours("README_google.md"))

    excel = folder / "excel"
    bas = _ours("forecourt.bas")
    if VBA_WORDS_LINE not in bas:
        raise RuntimeError("forecourt.bas lacks its words placeholder")
    put(excel / "forecourt.bas", bas.replace(VBA_WORDS_LINE, vba_words()))
    put(excel / "ThisWorkbook.txt", _ours("ThisWorkbook.cls.txt"))
    for name in VBA_FILES:
        copy(source / "addin" / name, excel / name)
    put(excel / "README.md", _ours("README_excel.md"))

    web = folder / "excel-web"
    ts = (source / "js" / "xlwings.ts").read_text(encoding="utf-8")
    # One Office Script has one main: xlwings' example main is renamed, nothing else changes.
    ts, renamed = re.subn(r"^async function main\(", "async function xlwingsExampleMain(",
                          ts, count=1, flags=re.MULTILINE)
    if not renamed:
        raise RuntimeError(f"{source}'s xlwings.ts has no main function to rename")
    put(web / "forecourt.ts", _ours("forecourt_officescript.ts") + "\n" + ts)
    put(web / "README.md", _ours("README_excel_web.md"))
    return written
