"""The Excel stamping, run for real: `forecourt macros export` writes excel/forecourt.bas; the
procedures ForecourtOnChange needs (found by what it calls, with the module's constants and its
Busy flag, and the generated ForecourtWords) are taken from that exported file, run in headless
LibreOffice Basic's VBA mode (`Option VBASupport 1`) on Calc sheets as Workbook_SheetChange
would call them, and every cell of each sheet is read back: its value, whether a date was
written (and when), its number format.

One LibreOffice run (its own profile in a tmp folder) serves all the tests of this file:
1. `soffice --terminate_after_init` creates the profile (a first start writes LibreOffice's
   default macro library over anything put there before);
2. a launcher (plain LibreOffice Basic, in the profile's "My Macros") opens a hidden Calc
   document, turns on its VBA compatibility, inserts the module this file builds and runs it;
3. the module writes one line per cell into a text file (ASCII, other characters as \\uXXXX).

Excel itself is not here: LibreOffice's VBA layer stands in for it (Range, Intersect,
UsedRange, NumberFormat, Application.EnableEvents). MsgBox, the module's way of reporting a
failure, is the one thing replaced: it is recorded instead of shown (a headless run has nobody
to click OK), and a recorded message fails the tests.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from libreoffice_macro import require_soffice, run_macro

from forecourt.macros import export, words
from forecourt.validators.text import fold
from forecourt.validators.vocabulary import STATUSES

STAMP_FORMAT = "yyyy-mm-dd hh:mm"
EPOCH = dt.datetime(1899, 12, 30)
SECOND = 1 / 86400
# Both LibreOffice starts together are given this long (a run takes a few seconds).
TIMEOUT = 80
MAX_MODULE = 150_000

# What each status stamps (README/the module's comments): Status since always, First response
# (only when empty) unless New or Lost, Last contact for these.
CONTACT = {"Contacted", "Appointment set", "Appointment confirmed", "Shown", "Offer sent",
           "Deposit taken", "Won"}
NOT_A_RESPONSE = {"New", "Lost"}

Value = str | float | dt.datetime | None
OLD = dt.datetime(2026, 1, 5, 9, 30)  # a time already in a cell, kept where it must be
PASTED = dt.datetime(2026, 2, 3, 16, 45)
DATE_SHOWN = "dd/mm/yyyy hh:mm"  # the format of those times


# ---------------------------------------------------------------------------------------------
# The module under test, taken from the exported file
# ---------------------------------------------------------------------------------------------

_PROC = re.compile(r"^(?:(?:Public|Private|Friend)\s+)?(?:Static\s+)?"
                   r"(?:Sub|Function|Property\s+(?:Get|Let|Set))\s+(\w+)", re.IGNORECASE)
_END = re.compile(r"^End\s+(?:Sub|Function|Property)\s*(?:'.*)?$", re.IGNORECASE)
_DECLARATION = re.compile(r"^(?:(?:Private|Public|Global)\s+(?:Const\s+)?|Dim\s+|Const\s+)"
                          r"(?!Declare\b)\w+", re.IGNORECASE)


def split_module(text: str) -> tuple[list[str], dict[str, str]]:
    """(module-level statements: options, constants, variables; procedure name -> its text).
    A module-level line of another kind fails: this reading of the module would be wrong."""
    lines = text.replace("\r\n", "\n").split("\n")
    statements: list[str] = []
    procs: dict[str, str] = {}
    i = 0
    while i < len(lines):
        start = _PROC.match(lines[i])
        if start:
            end = i
            while not _END.match(lines[end]):
                end += 1
                assert end < len(lines), f"no End for {start.group(1)}"
            procs[start.group(1)] = "\n".join(lines[i:end + 1]) + "\n"
            i = end + 1
            continue
        first = i
        while lines[i].endswith(" _"):  # a statement continued on the next lines
            i += 1
        statement = "\n".join(lines[first:i + 1])
        bare = lines[first].strip()
        if bare.lower().startswith("option ") or _DECLARATION.match(bare):
            statements.append(statement)
        else:
            assert (not bare or bare.startswith("'") or bare.lower().startswith("rem ")
                    or bare.lower().startswith("attribute ")), f"not understood: {bare!r}"
        i += 1
    return statements, procs


def _code(text: str) -> str:
    """VBA without its string literals and comments (what a procedure really calls)."""
    out = []
    for line in text.split("\n"):
        line = re.sub(r'"(?:[^"]|"")*"', '""', line)
        out.append(line.split("'", 1)[0])
    return "\n".join(out)


def stamping_procedures(procs: dict[str, str], root: str = "ForecourtOnChange") -> list[str]:
    """``root`` and every procedure it calls, directly or not, in the module's order."""
    needed, todo = set(), [root]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        body = _code(procs[name])
        todo += [other for other in procs if re.search(rf"\b{other}\b", body)]
    return [name for name in procs if name in needed]


def basic_string(text: str) -> str:
    """A Basic expression for ``text``: ASCII in quotes, other characters as ChrW(n)."""
    parts, run = [], ""
    for ch in text:
        if " " <= ch <= "~" and ch != '"':
            run += ch
            continue
        if run:
            parts.append(f'"{run}"')
            run = ""
        data = ch.encode("utf-16-le")
        parts += [f"ChrW({int.from_bytes(data[k:k + 2], 'little')})"
                  for k in range(0, len(data), 2)]
    if run or not parts:
        parts.append(f'"{run}"')
    return " & ".join(parts)


def basic_set(cell: str, value: Value) -> list[str]:
    """Basic writing ``value`` into ``cell`` of ``sh`` (a time with its format)."""
    out = [f'sh.Range("{cell}").Value = {basic_value(value)}']
    if isinstance(value, dt.datetime):
        out.append(f'sh.Range("{cell}").NumberFormat = "{DATE_SHOWN}"')
    return out


def basic_value(value: Value) -> str:
    if value is None:
        return "Empty"
    if isinstance(value, dt.datetime):
        return (f"DateSerial({value.year}, {value.month}, {value.day}) + "
                f"TimeSerial({value.hour}, {value.minute}, {value.second})")
    if isinstance(value, float | int):
        return repr(float(value))
    return basic_string(value)


# ---------------------------------------------------------------------------------------------
# The sheets, the changes made on them, and what must be stamped
# ---------------------------------------------------------------------------------------------


@dataclass
class Change:
    """One Workbook_SheetChange: the cells the person (or paste) wrote, and its Target."""

    target: str
    values: dict[str, Value]
    busy: bool = False


@dataclass
class Tab:
    name: str
    cells: dict[str, Value]  # before any change
    changes: list[Change]
    stamped: set[str]  # the cells that must hold a time written by a change
    formats: dict[str, str] = field(default_factory=dict)
    dump: str = "A1:G14"

    def all_formats(self) -> dict[str, str]:
        """The formats set: a time written before or by a change is shown as one (as Excel
        formats a date written to a General cell, and a paste brings the copied format)."""
        out = {cell: DATE_SHOWN for change in [Change("", self.cells), *self.changes]
               for cell, value in change.values.items() if isinstance(value, dt.datetime)}
        return out | self.formats

    def final(self) -> dict[str, Value]:
        out = dict(self.cells)
        for change in self.changes:
            out.update(change.values)
        return out


def typed(cell: str, value: Value, busy: bool = False) -> Change:
    return Change(cell, {cell: value}, busy)


def _rule(status: str, status_since: str, first_response: str, last_contact: str) -> set[str]:
    stamped = {status_since}
    if status not in NOT_A_RESPONSE:
        stamped.add(first_response)
    if status in CONTACT:
        stamped.add(last_contact)
    return stamped


def _every_status_word() -> Tab:
    """Every status word forecourt knows (as written, accents and all), in one pasted column:
    each row is stamped as the engine reads its word."""
    engine = words()["statuses"]
    assert set(STATUSES) == NOT_A_RESPONSE | CONTACT | {"Attempting contact", "No show"}, \
        "a status was added or renamed: say here what it stamps"
    cells: dict[str, Value] = {"A1": "Status", "B1": "First response", "C1": "Last contact",
                               "D1": "Status since"}
    column: dict[str, Value] = {}
    stamped: set[str] = set()
    row = 1
    for langs in STATUSES.values():
        for lang_words in langs.values():
            for word in lang_words:
                row += 1
                column[f"A{row}"] = word
                status = engine[fold(word)]  # type: ignore[index]
                stamped |= _rule(status, f"D{row}", f"B{row}", f"C{row}")
    return Tab("Words", cells, [Change(f"A2:A{row}", column)], stamped, dump=f"A1:D{row + 1}")


def tabs() -> list[Tab]:
    title = "Leads \u2014 July"
    return [
        Tab("English", {
            "A1": title,
            "A2": "Name", "B2": "Status", "C2": "First response", "D2": "Last contact",
            "E2": "Status since", "F2": "Notes",
            "A3": "Anna", "B3": "New", "E3": OLD,
            "A4": "Ben", "A5": "Cleo", "A6": "Dan", "C6": OLD, "A7": "Eve", "A8": "Finn",
            "F8": "call Tuesday",
        }, [
            typed("B3", "Contacted"),  # New -> Contacted: all three, Status since replaced
            typed("B4", "Attempting contact"),
            typed("B5", "Lost"),
            typed("B6", "Won"),  # First response already there: kept
            typed("B7", "call back"),  # no status forecourt knows
            typed("B8", "New"),
        ], {"C3", "D3", "E3", "C4", "E4", "E5", "D6", "E6", "E8"}),
        Tab("German", {
            "A1": "Anfragen 2026",
            "A3": "Kunde", "B3": "Erste Antwort", "C3": "Status",
            "D3": "Letzter Kontakt (Datum)", "E3": "Status seit",
            "B8": "gestern",
        }, [
            typed("C4", "Kontaktiert (Tel.)"),
            typed("C5", "Kontaktversuch"),
            typed("C6", "Verloren"),
            typed("C7", "Termin best\u00e4tigt"),  # not "Termin" (Appointment set)
            typed("C8", "Angebot gesendet"),  # "gestern" in First response is kept
            typed("C9", "  KONTAKTIERT  "),
            typed("C10", "Nicht erschienen"),  # No show: a response, no contact
        ], {"B4", "D4", "E4", "B5", "E5", "E6", "B7", "D7", "E7", "D8", "E8", "B9", "D9", "E9",
            "B10", "E10"}),
        Tab("Polish", {
            "A1": "Zg\u0142oszenia \u2014 lipiec",
            "A2": "Klient", "B2": "W statusie od", "C2": "Pierwsza odpowied\u017a",
            "D2": "Etap", "E2": "Data ostatniego kontaktu",
        }, [
            typed("D3", "Skontaktowano"),
            typed("D4", "Pr\u00f3ba kontaktu"),
            typed("D5", "Utracony"),
            typed("D6", "Nie przyszed\u0142"),
            typed("D7", "Kontakt nawi\u0105zany (tel.)"),
            typed("D8", "Pro\u0301ba kontaktu"),  # the accent apart, as a Mac may type it
        ], {"B3", "C3", "E3", "B4", "C4", "B5", "B6", "C6", "B7", "C7", "E7", "B8", "C8"}),
        # A stock tab has a Status column and none of the time columns: never stamped.
        Tab("Stock", {
            "A1": "VIN", "B1": "Model", "C1": "Status", "D1": "Price", "E1": "Since",
            "A2": "WVWZZZ1KZAW000001", "B2": "Golf", "D2": 18990.0,
            "A3": "WVWZZZ1KZAW000002", "B3": "Polo", "D3": 12490.0,
        }, [typed("C2", "Won"), typed("C3", "Verkauft")], set()),
        Tab("Busy", {
            "A1": "Name", "B1": "Status", "C1": "First response", "D1": "Last contact",
            "E1": "Status since",
        }, [
            typed("B2", "Won", busy=True),  # the server's own writes
            typed("B3", "Won"),  # the same change without Busy is stamped
        ], {"C3", "D3", "E3"}),
        Tab("Pasted", {
            "A1": "Name", "B1": "Status", "C1": "First response", "D1": "Last contact",
            "E1": "Status since",
        }, [
            # a whole row pasted: its times stand, an empty one too (the paste wrote it; a sort
            # or a deleted row is a change of whole rows as well). The Google script stamps an
            # empty cell the edit covered: Sheets fires no onEdit for a sort.
            Change("A2:E2", {"A2": "Gina", "B2": "Contacted", "C2": PASTED, "D2": None,
                             "E2": PASTED}),
            # part of a row pasted: what it wrote stands, the rest is stamped
            Change("A3:C3", {"A3": "Hal", "B3": "Won", "C3": PASTED}),
        ], {"D3", "E3"}),
        Tab("Formats", {
            "A1": "Name", "B1": "Status", "C1": "First response", "D1": "Last contact",
            "E1": "Status since",
        }, [typed("B2", "Contacted")], {"C2", "D2", "E2"},
            formats={"C2": "dd.mm.yyyy", "D2": "0.00"}),
        # the lowest header row looked at; only one of the time columns (the others: none)
        Tab("Header row 10", {
            **{f"A{r}": f"note {r}" for r in range(1, 10)},
            "A10": "Name", "B10": "Status", "C10": "Status since",
        }, [typed("B11", "Won")], {"C11"}),
        Tab("Header row 11", {
            **{f"A{r}": f"note {r}" for r in range(1, 11)},
            "A11": "Name", "B11": "Status", "C11": "Status since",
        }, [typed("B12", "New")], set()),
        # a Status cell alone above the table (a filter, a note) is not its header
        Tab("Status above", {
            "A1": "Status", "B1": "open only",
            "A3": "Name", "B3": "Status", "C3": "First response", "D3": "Last contact",
            "E3": "Status since",
        }, [typed("B4", "Contacted")], {"C4", "D4", "E4"}),
        Tab("Several", {
            "A1": "Name", "B1": "Status", "C1": "First response", "D1": "Last contact",
            "E1": "Status since", "B5": "Won",
        }, [
            Change("B2:B4", {"B2": "Contacted", "B3": "New", "B4": "Lost"}),  # filled down
            typed("A5", "Ivy"),  # not the status column
            typed("B1", "Status"),  # the header itself
        ], {"C2", "D2", "E2", "E3", "E4"}),
        # a header that starts like a time column but names another: "Last contact notes"
        # is notes (forecourt run leaves it beside its own Status since), never overwritten
        Tab("Look-alikes", {
            "A1": "Name", "B1": "Status", "C1": "Last contact notes", "D1": "Salesperson",
            "E1": "Status since", "F1": "First contact channel", "G1": "Status note",
            "C2": "promised a call back Friday", "F2": "WhatsApp", "G2": "vip",
        }, [typed("B2", "Offer sent")], {"E2"}),
        # a stock tab whose "Last updated" reads as a last-contact header: never stamped
        Tab("Stock updated", {
            "A1": "VIN", "B1": "Make", "C1": "Price", "D1": "Status", "E1": "Last updated",
            "C2": 18990.0, "E2": "checked Monday",
        }, [typed("D2", "Won")], set()),
        # a status undone by the words after it is no status: nothing stamped
        Tab("Undone", {
            "A1": "Name", "B1": "Status", "C1": "First response", "D1": "Last contact",
            "E1": "Status since",
        }, [typed("B2", "Appointment cancelled"), typed("B3", "Termin abgesagt"),
            typed("B4", "Contacted (phone)")], {"C4", "D4", "E4"}),
        _every_status_word(),
    ]


# ---------------------------------------------------------------------------------------------
# The Basic that runs it
# ---------------------------------------------------------------------------------------------

HELPERS = """
Private TestOut As Integer

Private Function ForecourtTestEsc(ByVal raw As String) As String
    Dim i As Long, code As Long, escaped As String
    For i = 1 To Len(raw)
        code = AscW(Mid$(raw, i, 1)) And &HFFFF&
        If code >= 32 And code < 127 And code <> 92 Then
            escaped = escaped & Mid$(raw, i, 1)
        Else
            escaped = escaped & "\\u" & Right$("000" & Hex$(code), 4)
        End If
    Next i
    ForecourtTestEsc = escaped
End Function

Private Sub ForecourtTestLine(ByVal kind As String, ByVal text As String)
    Print #TestOut, kind & Chr(9) & text
End Sub

' MsgBox, recorded (nobody is there to click OK)
Private Function ForecourtTestMsgBox(ByVal prompt As Variant, Optional ByVal buttons As Variant, _
        Optional ByVal title As Variant) As Integer
    ForecourtTestLine "MSGBOX", ForecourtTestEsc(CStr(prompt))
End Function

Private Function ForecourtTestSheet(ByVal sheetName As String, ByVal first As Boolean) As Object
    Dim sh As Object
    If first Then
        Set sh = ActiveWorkbook.Worksheets(1)
    Else
        Set sh = ActiveWorkbook.Worksheets.Add
    End If
    sh.Name = sheetName
    Set ForecourtTestSheet = sh
End Function

Private Sub ForecourtTestChange(ByVal sh As Object, ByVal n As Long, ByVal target As String, _
        ByVal busyNow As Boolean)
    Dim t0 As Date, t1 As Date
    Busy = busyNow
    t0 = Now
    ForecourtOnChange sh, sh.Range(target)
    t1 = Now
    Busy = False
    ForecourtTestLine "CHANGE", ForecourtTestEsc(sh.Name) & Chr(9) & n & Chr(9) & _
        Trim$(Str(CDbl(t0))) & Chr(9) & Trim$(Str(CDbl(t1))) & Chr(9) & _
        CStr(Application.EnableEvents)
End Sub

Private Sub ForecourtTestDump(ByVal sh As Object, ByVal area As String)
    Dim cell As Object, v As Variant, shown As String
    For Each cell In sh.Range(area).Cells
        v = cell.Value
        Select Case VarType(v)
        Case vbEmpty
            shown = ""
        Case vbString
            shown = ForecourtTestEsc(v)
        Case vbDate, vbDouble, vbSingle, vbInteger, vbLong, vbCurrency
            shown = Trim$(Str(CDbl(v)))
        Case Else
            shown = ForecourtTestEsc(CStr(v))
        End Select
        ForecourtTestLine "CELL", ForecourtTestEsc(sh.Name) & Chr(9) & _
            cell.Address(False, False) & Chr(9) & TypeName(v) & Chr(9) & shown & Chr(9) & _
            ForecourtTestEsc(cell.NumberFormat)
    Next cell
End Sub
"""

LAUNCHER = """
Sub Note(ByVal text As String)
    Dim f As Integer
    f = FreeFile
    Open {log} For Append As #f
    Print #f, text
    Close #f
End Sub

Sub Main
    Dim doc As Object, files As Object, stream As Object, reader As Object, source As String
    Dim script As Object, outIndex(), outValues()
    Dim args(1) As New com.sun.star.beans.PropertyValue
    On Error GoTo Failed
    args(0).Name = "Hidden"
    args(0).Value = True
    args(1).Name = "MacroExecutionMode"
    args(1).Value = 4
    doc = StarDesktop.loadComponentFromURL("private:factory/scalc", "_blank", 0, args())
    Note "opened"
    files = CreateUnoService("com.sun.star.ucb.SimpleFileAccess")
    stream = files.openFileRead(ConvertToURL({module}))
    reader = CreateUnoService("com.sun.star.io.TextInputStream")
    reader.setInputStream(stream)
    reader.setEncoding("UTF-8")
    Do While Not reader.isEOF()
        source = source & reader.readLine() & Chr(10)
    Loop
    stream.closeInput()
    doc.BasicLibraries.VBACompatibilityMode = True
    doc.BasicLibraries.getByName("Standard").insertByName("ForecourtTest", source)
    Note "inserted"
    script = doc.getScriptProvider().getScript( _
        "vnd.sun.star.script:Standard.ForecourtTest.ForecourtTestMain?language=Basic&location=document")
    script.invoke(Array(), outIndex, outValues)
    Note "ran"
    doc.close(True)
    StarDesktop.terminate()
    Exit Sub
Failed:
    Note "LAUNCHER ERROR " & Err & " " & Error$ & " line " & Erl
    If Not IsNull(doc) Then doc.close(True)
    StarDesktop.terminate()
End Sub
"""


def driver(all_tabs: list[Tab], results: Path, chunk: int = 200) -> str:
    """ForecourtTestMain: fills each sheet, makes its changes, writes out every cell (the
    statements in Subs of at most ``chunk`` lines, called one after the other)."""
    steps: list[str] = []
    for k, tab in enumerate(all_tabs):
        steps.append(f"Set sh = ForecourtTestSheet({basic_string(tab.name)}, {k == 0})")
        for cell, value in tab.cells.items():
            steps += basic_set(cell, value)
        for cell, fmt in tab.formats.items():
            steps.append(f'sh.Range("{cell}").NumberFormat = {basic_string(fmt)}')
        for n, change in enumerate(tab.changes):
            for cell, value in change.values.items():
                steps += basic_set(cell, value)
            steps.append(f'ForecourtTestChange sh, {n}, "{change.target}", {change.busy}')
        steps.append(f'ForecourtTestDump sh, "{tab.dump}"')
    parts = [steps[i:i + chunk] for i in range(0, len(steps), chunk)]
    subs = [f"Private Sub ForecourtTestPart{k}()\n" + "".join(f"    {s}\n" for s in part)
            + "End Sub\n" for k, part in enumerate(parts)]
    main = ["Public Sub ForecourtTestMain()", "    TestOut = FreeFile",
            f"    Open {basic_string(str(results))} For Output As #TestOut",
            "    On Error GoTo Failed",
            *(f"    ForecourtTestPart{k}" for k in range(len(parts))),
            '    ForecourtTestLine "DONE", ""', "    Close #TestOut", "    Exit Sub", "Failed:",
            '    ForecourtTestLine "ERROR", Err.Number & " " & ForecourtTestEsc(Err.Description)',
            "    Close #TestOut", "End Sub", ""]
    return "Private sh As Object\n\n" + "\n".join(subs) + "\n".join(main)


def build_module(bas: str, all_tabs: list[Tab], results: Path) -> str:
    """The stamping procedures of the exported ``bas`` with what they need, and the driver."""
    statements, procs = split_module(bas)
    names = stamping_procedures(procs)
    assert "ForecourtWords" in names, names  # the generated words, not a stand-in
    code = [re.sub(r"\bMsgBox\b", "ForecourtTestMsgBox", procs[name]) for name in names]
    module = "\n".join(["Option VBASupport 1", *statements, HELPERS, *code,
                        driver(all_tabs, results)])
    # LibreOffice 7.4's Basic ran a module of 210 KB and miscompiled one of 280 KB ("Variable
    # not defined" for a piece of a literal): keep the sheets here small enough.
    assert len(module) < MAX_MODULE, f"the test module is {len(module)} characters"
    return module


@dataclass
class Run:
    cells: dict[tuple[str, str], tuple[str, str, str]]  # (tab, cell) -> (type, value, format)
    changes: dict[str, list[tuple[float, float, str]]]  # tab -> (start, end, events on)
    other: list[str]  # MSGBOX / ERROR lines
    seconds: float


def _unescape(text: str) -> str:
    return re.sub(r"\\u([0-9A-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def run_in_libreoffice(bas: str, all_tabs: list[Tab], folder: Path) -> Run:
    require_soffice("the Excel stamping")
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    results, log = folder / "results.txt", folder / "launch.log"
    module = folder / "ForecourtTest.bas"
    module.write_text(build_module(bas, all_tabs, results), encoding="ascii")
    launcher = LAUNCHER.format(log=basic_string(str(log)), module=basic_string(str(module)))
    code = run_macro(launcher, folder, log, TIMEOUT)
    text = results.read_text(encoding="ascii") if results.exists() else ""
    if not text.endswith("DONE\t\n"):
        why = (f"LibreOffice did not end within {TIMEOUT} s" if code == -1
               else "the module did not start: LibreOffice could not compile it (a syntax "
               f"error, or VBA its Basic does not know): {module}" if not text
               else "it stopped on an error")
        pytest.fail(f"The stamping did not run to the end in LibreOffice: {why} (exit {code})"
                    f"\n--- launcher log ---\n{log.read_text(errors='replace')}"
                    f"\n--- results (tail) ---\n{text[-3000:]}")
    assert code == 0, f"LibreOffice exited with {code}: {log.read_text(errors='replace')}"
    run = Run({}, {}, [], time.monotonic() - started)
    for line in text.splitlines():
        kind, *rest = line.split("\t")
        if kind == "CELL":
            tab, cell, type_name, value, fmt = rest
            run.cells[_unescape(tab), cell] = (type_name, _unescape(value), _unescape(fmt))
        elif kind == "CHANGE":
            tab, _n, t0, t1, events = rest
            run.changes.setdefault(_unescape(tab), []).append((float(t0), float(t1), events))
        elif kind != "DONE":
            run.other.append(_unescape(line))
    return run


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------

TABS = tabs()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> str:
    menus = tmp_path_factory.mktemp("menus")
    export(menus, force=True)
    return (menus / "excel" / "forecourt.bas").read_text(encoding="ascii")


@pytest.fixture(scope="module")
def run(exported: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_in_libreoffice(exported, TABS, tmp_path_factory.mktemp("lo"))


def _serial(moment: dt.datetime) -> float:
    return (moment - EPOCH) / dt.timedelta(days=1)


def problems(tab: Tab, run: Run) -> list[str]:
    """Every cell of ``tab`` that is not as it must be after its changes."""
    found: list[str] = []
    changes = run.changes.get(tab.name, [])
    if len(changes) != len(tab.changes):
        return [f"{len(changes)} of {len(tab.changes)} changes ran"]
    earliest, latest = changes[0][0] - SECOND, changes[-1][1] + SECOND
    final, formats = tab.final(), tab.all_formats()
    cells = {cell: got for (name, cell), got in run.cells.items() if name == tab.name}
    assert cells, f"nothing read back from {tab.name}"
    for cell, (type_name, shown, fmt) in cells.items():
        want = final.get(cell)
        preset = formats.get(cell, "General")
        if cell in tab.stamped:
            stamp_fmt = STAMP_FORMAT if preset == "General" else preset
            when = float(shown) if type_name in ("Date", "Double") else None
            if when is None or not earliest <= when <= latest:
                found.append(f"{cell}: want the change's time, got {type_name} {shown!r} "
                             f"(was {want!r})")
            if fmt.lower() != stamp_fmt.lower():
                found.append(f"{cell}: want format {stamp_fmt!r}, got {fmt!r}")
            if preset == "General" and type_name != "Date":
                found.append(f"{cell}: want a date, got {type_name}")
            continue
        if want is None:
            ok = type_name == "Empty"
        elif isinstance(want, dt.datetime):
            ok = type_name == "Date" and abs(float(shown) - _serial(want)) < SECOND / 2
        elif isinstance(want, float):
            ok = type_name == "Double" and float(shown) == want
        else:
            ok = type_name == "String" and shown == want
        if not ok:
            kept = "left empty" if want is None else f"{want!r} kept"
            found.append(f"{cell}: want it {kept}, got {type_name} {shown!r}")
        if fmt.lower() != preset.lower():
            found.append(f"{cell}: want format {preset!r} kept, got {fmt!r}")
    return found


@pytest.mark.parametrize("tab", TABS, ids=[t.name for t in TABS])
def test_stamping_in_libreoffice_vba_mode(tab: Tab, run: Run) -> None:
    found = problems(tab, run)
    assert not found, f"{tab.name}:\n" + "\n".join(found)


def test_no_message_box_no_error_and_events_back_on(run: Run) -> None:
    assert run.other == []
    off = {tab: events for tab, changes in run.changes.items()
           for *_, events in changes if events != "True"}
    assert off == {}, "Application.EnableEvents left off"


def test_the_module_run_is_the_exported_one(exported: str, tmp_path: Path) -> None:
    """The procedures run come from the exported file, with its generated words; the
    module-level statements kept are the constants and the Busy flag."""
    module = build_module(exported, TABS, tmp_path / "results.txt")
    statements, procs = split_module(exported)
    for name in stamping_procedures(procs):
        assert procs[name].replace("MsgBox", "ForecourtTestMsgBox") in module, name
    assert "__FORECOURT_WORDS__" not in module
    assert re.search(r"^Private Busy As Boolean$", module, re.MULTILINE)
    assert "ForecourtCall" not in module  # the server call is not part of the stamping
    assert module.isascii()
