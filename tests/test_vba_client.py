"""The Excel menu's client, xlwings' VBA module ``Remote.bas``, applying ``forecourt serve``'s
answer: its own code, run in headless LibreOffice Basic (``Option VBASupport 1``) on a Calc
document that holds the dealer's workbook; the document is saved as .xlsx and read back, and
compared with what ``forecourt run`` writes to the same workbook.

What runs is xlwings' code, extracted by name from the installed files at test time: the five
action Subs the server sends (``setValues``, ``rangeClearContents``, ``setRangeColor``,
``setNumberFormat``, ``addSheet``), ``GetRange``, ``HexToRgb`` and ``WebHelpers.ParseIso``
(which ``setValues`` tries on every value), each called by name through ``Application.Run``.

What LibreOffice 7.4's Basic lacks, bridged without changing what xlwings' code does:

- conditional compilation: LibreOffice runs every ``#If`` branch, so the directives are
  resolved here as VBA does on Windows (``Mac`` false, ``VBA7`` true);
- the ``VBA.`` qualifier (``VBA.Split``): "Variable not defined"; it is dropped, the same
  built-ins being called;
- VBA's ``CInt`` raises on a text that is not a number, which ``ParseIso`` relies on to leave
  text alone; LibreOffice's returns its leading digits, or 0 (``"Window: 2026-11-07 …"`` came
  back as 7 Nov 2000): a strict ``CInt`` is put before ``ParseIso`` (:data:`STRICT_CINT`);
- ``Application.Run`` finds a document's macro only by its full name
  (``Standard.Remote.setValues``; Excel takes ``setValues``).

The answer is not parsed by xlwings' ``ParseJson``: it builds ``Dictionary`` objects
(VBA-Dictionary, ``Dictionary.cls``), and that class does not run in LibreOffice (its
``Public Enum`` leaves the class without members; ``Property Let Item(Key)`` fails "Argument
is not optional"; ``Exists`` is always true; and ``action("func")``, a call of the default
member, fails with error 380 on any class). The actions are built instead as keyed
Collections, which ``action("func")`` can read in LibreOffice, holding what VBA-JSON parses:
numbers ``Val(their text)`` (Double; text when 16 characters or more), strings, Booleans, Null
(:func:`_basic_value`); the test checks the types the action Subs received.

LibreOffice's spreadsheet is not Excel: what a written text turns into (``'`` keeps text, ``=``
makes a formula) is LibreOffice's emulation of Excel's rules, close but not proven identical.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import xlwings
from addin_client import ClientBook
from fastapi.testclient import TestClient
from libreoffice_macro import require_soffice, run_macro
from openpyxl import Workbook, load_workbook

from forecourt.engine import run
from forecourt.serve import create_app

AS_OF = dt.datetime(2026, 12, 7, 11, 0)
HEADER = ["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Owner", "Next action",
          "Due"]
FORMULA_NAME = '=HYPERLINK("http://x","y")'
LEADS = [
    HEADER,
    ["L-1", AS_OF - dt.timedelta(hours=30), "Anna Schmidt", "+49 171 2345678", "WhatsApp", "New",
     "", "", ""],
    ["L-2", AS_OF - dt.timedelta(hours=2), FORMULA_NAME, "+49 171 2345679", "Website", "New",
     "", "", ""],
    ["L-3", AS_OF - dt.timedelta(days=3), "Ben Meyer", "+49 171 2345670", "Phone", "Contacted",
     "Zed", "", ""],
    # a phone the engine cannot read: the Issues tab quotes it, sent as "'=1+2"
    ["L-4", AS_OF - dt.timedelta(minutes=20), "Cleo Wolf", "=1+2", "Phone", "New", "", "", ""],
]
TEAM = [["Name", "Active"], ["Zed", "yes"], ["Yan", "yes"]]
GRIDS = {"Leads": LEADS, "Team": TEAM}
ADDIN = Path(xlwings.__file__).resolve().parent / "addin"
#: the actions forecourt's server may send (forecourt.sync.payload.ALLOWED)
ACTIONS = ("setValues", "rangeClearContents", "setRangeColor", "setNumberFormat", "addSheet")
LO_TIMEOUT = 90


# ---- xlwings' VBA code, as installed --------------------------------------------------------

def _source(name: str) -> str:
    path = ADDIN / name
    assert path.is_file(), f"xlwings' VBA file {path} is not installed"
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


def _resolve_directives(text: str, consts: dict[str, bool]) -> str:
    """``#If``/``#ElseIf``/``#Else``/``#End If`` resolved as VBA's compiler does with
    ``consts`` (``#Const`` lines count too, unless ``consts`` names them): the lines of the
    branches not taken are left out."""
    known = dict(consts)
    out: list[str] = []
    stack: list[tuple[bool, bool]] = []  # (this branch is active, a branch was taken)

    def holds(cond: str) -> bool:
        expr = re.sub(r"\b(Or|And|Not)\b", lambda m: m.group(1).lower(), cond)
        names = set(re.findall(r"\b[A-Za-z_]\w*\b", expr)) - {"or", "and", "not"}
        missing = names - set(known)
        assert not missing, f"unknown compiler constants {missing} in #If {cond}"
        return bool(eval(expr, {"__builtins__": {}}, dict(known)))  # noqa: S307 - ours

    def active() -> bool:
        return all(a for a, _ in stack)

    for line in text.split("\n"):
        s = line.strip()
        if m := re.match(r"#If (.*) Then$", s, re.I):
            took = active() and holds(m.group(1))
            stack.append((took, took))
        elif m := re.match(r"#ElseIf (.*) Then$", s, re.I):
            _, taken = stack.pop()
            outer = active()
            took = outer and not taken and holds(m.group(1))
            stack.append((took, taken or took))
        elif re.match(r"#Else$", s, re.I):
            _, taken = stack.pop()
            stack.append((active() and not taken, True))
        elif re.match(r"#End If$", s, re.I):
            stack.pop()
        elif m := re.match(r"#Const (\w+) = (True|False)$", s, re.I):
            if active():
                known.setdefault(m.group(1), m.group(2).lower() == "true")
        elif active():
            out.append(line)
    assert not stack, "unbalanced #If"
    return "\n".join(out)


def _procedure(text: str, name: str) -> str:
    m = re.search(r"^(?:Public |Private )?(Sub|Function) " + re.escape(name)
                  + r"\b.*?^End \1\n", text, re.S | re.M)
    assert m, f"{name} not found in xlwings' VBA code"
    return m.group(0)


def _block(text: str, pattern: str) -> str:
    m = re.search(pattern, text, re.S | re.M)
    assert m, f"{pattern} not found in xlwings' VBA code"
    return m.group(0)


WINDOWS = {"Mac": False, "VBA7": True, "Win64": True, "EnableCustomFormatting": False}
HEAD = "Option VBASupport 1\nOption Explicit\n"


def _xlwings_modules() -> list[tuple[str, str, int]]:
    """(module name, source, ModuleType 1: normal) of xlwings' code that runs."""
    remote = _resolve_directives(_source("Remote.bas"), WINDOWS)
    helpers = _resolve_directives(_source("WebHelpers.bas"), WINDOWS)
    modules = [("WebHelpers", HEAD + _procedure(helpers, "ParseIso"), 1),
               ("Remote", HEAD + "".join(_procedure(remote, p)
                                         for p in ["GetRange", "HexToRgb", *ACTIONS]), 1)]
    modules = [(name, _unqualified(source, modules), kind) for name, source, kind in modules]
    web = modules[0]
    return [(web[0], web[1].replace(HEAD, HEAD + STRICT_CINT, 1), web[2]), *modules[1:]]


#: ParseIso leaves a text that is not an ISO date alone because VBA's CInt raises "Type
#: mismatch" (13) on its first part; LibreOffice's CInt reads leading digits, or 0, instead
#: ("Window: 2026-11-07 …" would become 7 Nov 2000). VBA's behaviour, before ParseIso in its
#: module (LibreOffice takes a procedure of the module declared above the call over its
#: built-in; one of another module, or below, it does not).
STRICT_CINT = """
Private Function CInt(ByVal v As Variant) As Integer
    Dim n As Long
    If VarType(v) = vbString Then
        If Not IsNumeric(v) Then Err.Raise 13
    End If
    n = CLng(v)
    If n < -32768 Or n > 32767 Then Err.Raise 6
    CInt = n
End Function
"""


def _unqualified(source: str, modules: list[tuple[str, str, int]]) -> str:
    """``VBA.Mid$`` as ``Mid$``: LibreOffice does not know the ``VBA`` library's name ("Variable
    not defined"); the name without it is the same built-in, as none of the code loaded
    defines a procedure of that name."""
    defined = {m.lower() for _, s, _ in modules
               for m in re.findall(r"^(?:Public |Private )?(?:Sub|Function|Property \w+) (\w+)",
                                   s, re.M)}
    used = {m.lower().rstrip("$") for m in re.findall(r"\bVBA\.(\w+\$?)", source)}
    assert not used & defined, used & defined
    return re.sub(r"\bVBA\.(?=\w)", "", source)


# ---- ours: the driver (RunServerPython's last lines) and the launcher ---------------------

DRIVER = """Option VBASupport 1
Option Explicit

Private Sub Note(ByVal msg As String)
    Dim f As Integer
    f = FreeFile
    Open "{log}" For Append As #f
    Print #f, msg
    Close #f
End Sub

' the types of an action's values, as the action Subs receive them
Private Function Types(action As Variant) As String
    Dim r As Variant, v As Variant, s As String
    For Each r In action("values")
        For Each v In r
            s = s & " " & TypeName(v)
        Next v
    Next r
    Types = Mid(s, 2)
End Function

Private Function ApplyOne(ByVal n As Long, action As Variant) As String
    On Error GoTo Failed
    ApplyOne = "action " & n & " " & action("func") & " types " & Types(action)
    Application.Run "Standard.Remote." & action("func"), ActiveWorkbook, action
    ApplyOne = ApplyOne & " ok"
    Exit Function
Failed:
    ApplyOne = ApplyOne & " FAILED " & Err & " " & Error
End Function

Sub Main
    Dim actions As Object, n As Long
    On Error GoTo Failed
    Set actions = TheActions()
    Note "parsed " & actions.Count
    For n = 1 To actions.Count
        Note ApplyOne(n, actions(n))
    Next n
    Note "applied"
    Exit Sub
Failed:
    Note "DRIVER FAILED " & Err & " " & Error
End Sub
"""


def _basic_text(text: str) -> str:
    """A Basic expression for ``text`` as VBA-JSON's json_ParseString returns it (``\\n``
    comes as vbCrLf)."""
    assert all(ord(ch) < 0x10000 for ch in text), "no surrogate pairs here"
    parts, literal = [], ""
    for ch in text.replace("\n", "\r\n"):
        if 32 <= ord(ch) < 127:
            literal += '""' if ch == '"' else ch
            continue
        if literal:
            parts.append(f'"{literal}"')
            literal = ""
        parts.append(f"ChrW({ord(ch)})")
    if literal or not parts:
        parts.append(f'"{literal}"')
    return " & ".join(parts)


def _basic_value(value: Any) -> str:
    """A Basic expression of the value VBA-JSON's json_ParseValue makes of ``value``: null
    Null, true/false Booleans, a number ``Val(its text)`` (a Double) unless its text is long
    (16 characters, 17 with a point: kept as text), text a String."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        text = json.dumps(value)
        if len(text) >= (17 if "." in text else 16):
            return _basic_text(text)
        return f'Val("{text}")'
    assert isinstance(value, str), value
    return _basic_text(value)


def _basic_actions(actions: list[dict[str, Any]]) -> str:
    """Basic that builds the parsed answer's actions as keyed Collections, one Function per
    action (JSON objects as Collections keyed by the object's keys, arrays as Collections)."""
    out = []
    for n, action in enumerate(actions, 1):
        lines = [f"Private Function Action{n}() As Object", "    Dim a As Object, l As Object, "
                 "r As Object", "    Set a = New Collection"]
        for key, value in action.items():
            if isinstance(value, list):
                lines.append("    Set l = New Collection")
                for item in value:
                    if isinstance(item, list):
                        lines.append("    Set r = New Collection")
                        lines += [f"    r.Add {_basic_value(v)}" for v in item]
                        lines.append("    l.Add r")
                    else:
                        lines.append(f"    l.Add {_basic_value(item)}")
                lines.append(f'    a.Add l, "{key}"')
            else:
                lines.append(f'    a.Add {_basic_value(value)}, "{key}"')
        lines += [f"    Set Action{n} = a", "End Function", ""]
        out += lines
    out += ["Private Function TheActions() As Object", "    Dim all As Object",
            "    Set all = New Collection"]
    out += [f"    all.Add Action{n}()" for n in range(1, len(actions) + 1)]
    out += ["    Set TheActions = all", "End Function", ""]
    return "\n".join(out)


LAUNCHER = """Sub Note(ByVal msg As String)
    Dim f As Integer
    f = FreeFile
    Open "{log}" For Append As #f
    Print #f, msg
    Close #f
End Sub

Function ReadText(ByVal path As String) As String
    Dim sfa As Object, strm As Object, tin As Object, s As String
    sfa = CreateUnoService("com.sun.star.ucb.SimpleFileAccess")
    strm = sfa.openFileRead(ConvertToURL(path))
    tin = CreateUnoService("com.sun.star.io.TextInputStream")
    tin.setInputStream(strm)
    tin.setEncoding("UTF-8")
    Do While Not tin.isEOF()
        s = s & tin.readLine() & Chr(10)
    Loop
    tin.closeInput()
    ReadText = s
End Function

Sub Main
    Dim doc As Object, basicLib As Object, script As Object, outIdx(), outVals()
    Dim args(1) As New com.sun.star.beans.PropertyValue
    Dim info As New com.sun.star.script.ModuleInfo
    Dim save(0) As New com.sun.star.beans.PropertyValue
    On Error GoTo Failed
    args(0).Name = "MacroExecutionMode"
    args(0).Value = 4
    args(1).Name = "Hidden"
    args(1).Value = True
    doc = StarDesktop.loadComponentFromURL(ConvertToURL("{book}"), "_blank", 0, args())
    Note "loaded"
    doc.BasicLibraries.VBACompatibilityMode = True
    If Not doc.BasicLibraries.hasByName("Standard") Then
        doc.BasicLibraries.createLibrary("Standard")
    End If
    basicLib = doc.BasicLibraries.getByName("Standard")
{modules}
    script = doc.getScriptProvider().getScript( _
        "vnd.sun.star.script:Standard.Driver.Main?language=Basic&location=document")
    script.invoke(Array(), outIdx, outVals)
    save(0).Name = "FilterName"
    save(0).Value = "Calc MS Excel 2007 XML"
    doc.storeToURL(ConvertToURL("{out}"), save())
    Note "saved"
    doc.close(True)
    Note "closed"
    Exit Sub
Failed:
    Note "LAUNCHER FAILED " & Err & " " & Error
    On Error Resume Next
    doc.close(True)
End Sub
"""

INSERT = """    info.ModuleType = {kind}
    basicLib.insertModuleInfo("{name}", info)
    basicLib.insertByName("{name}", ReadText("{path}"))
    Note "inserted {name}"
"""

def _apply_in_libreoffice(work: Path, book: Path, answer: str) -> tuple[Path, list[str]]:
    """``book`` opened in LibreOffice Calc, the answer applied by xlwings' VBA code, saved as
    .xlsx: (that file, the log of the run)."""
    require_soffice("xlwings' VBA client")
    lo = work / "lo"
    lo.mkdir()
    log, out = lo / "run.log", lo / "applied.xlsx"
    (lo / "answer.json").write_text(answer, encoding="utf-8")  # for whoever reads the files
    driver = DRIVER.format(log=log) + _basic_actions(json.loads(answer)["actions"])
    inserts = []
    for name, source, kind in [*_xlwings_modules(), ("Driver", driver, 1)]:
        path = lo / f"{name}.bas"
        path.write_text(source, encoding="utf-8")
        inserts.append(INSERT.format(kind=kind, name=name, path=path))
    launcher = LAUNCHER.format(log=log, book=book, out=out, modules="".join(inserts))
    code = run_macro(launcher, lo, lo / "soffice.log", LO_TIMEOUT)
    assert code != -1, f"LibreOffice did not finish within {LO_TIMEOUT} s"
    assert code == 0, f"LibreOffice exited {code}: {(lo / 'soffice.log').read_text()!r}"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    assert lines, "LibreOffice ran nothing (the launcher did not compile?)"
    assert "closed" in lines, "\n".join(lines)
    return out, lines


# ---- the workbook and the server's answer ---------------------------------------------------

def _write_book(path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in GRIDS.items():
        ws = wb.create_sheet(name)
        for i, row in enumerate(rows, 1):
            for j, v in enumerate(row, 1):
                if v == "":
                    continue
                cell = ws.cell(i, j, v)
                if isinstance(v, str):
                    cell.data_type = "s"  # text, though it looks like a formula
                if isinstance(v, dt.datetime):
                    cell.number_format = "m/d/yyyy h:mm"
    wb.save(path)


def _answer(state: Path) -> tuple[str, list[dict[str, Any]]]:
    payload = ClientBook.of("Dealer.xlsx", GRIDS, "VBA").payload()
    server = TestClient(create_app("t", as_of=AS_OF, state=state))
    answer = server.post("/run", json=payload, headers={"Authorization": "t"})
    assert answer.status_code == 200, answer.text
    return answer.text, answer.json()["actions"]


def _vba_type(value: Any) -> str:
    """TypeName of what VBA-JSON parses ``value`` into (see :func:`_basic_value`)."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        text = json.dumps(value)
        return "String" if len(text) >= (17 if "." in text else 16) else "Double"
    return "String"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return abs(a - b) < dt.timedelta(seconds=1)
    return (None if a == "" else a) == (None if b == "" else b)


def test_the_vba_client_applies_the_answer_as_the_server_meant(tmp_path: Path) -> None:
    book = tmp_path / "Dealer.xlsx"
    _write_book(book)
    text, actions = _answer(tmp_path / "state")
    assert {a["func"] for a in actions} <= set(ACTIONS)
    assert {a["func"] for a in actions} >= {"setValues", "setNumberFormat", "setRangeColor",
                                            "addSheet"}
    out, log = _apply_in_libreoffice(tmp_path, book, text)

    # every action ran through xlwings' Sub, with the values typed as VBA-JSON types them
    ran = [line for line in log if line.startswith("action ")]
    assert len(ran) == len(actions) and "applied" in log, "\n".join(log)
    for n, (line, action) in enumerate(zip(ran, actions, strict=True), 1):
        types = " ".join(_vba_type(v) for row in action["values"] for v in row)
        assert line == f"action {n} {action['func']} types {types} ok", line

    # the same workbook run by the engine itself: what the server meant to write
    meant = tmp_path / "engine" / "Dealer.xlsx"
    meant.parent.mkdir()
    shutil.copy(book, meant)
    run(meant, as_of=AS_OF)
    got, want = load_workbook(out), load_workbook(meant)

    # KPI, Issues and Log added after the last tab, in that order (addSheet's position)
    assert got.sheetnames == ["Leads", "Team", "KPI", "Issues", "Log"]
    assert got.sheetnames == want.sheetnames
    for name in got.sheetnames:
        g, w = got[name], want[name]
        rows, cols = max(g.max_row, w.max_row), max(g.max_column, w.max_column)
        diffs = [f"{name}!{g.cell(i, j).coordinate}: {g.cell(i, j).value!r} "
                 f"(the engine: {w.cell(i, j).value!r})"
                 for i in range(1, rows + 1) for j in range(1, cols + 1)
                 if not _same(g.cell(i, j).value, w.cell(i, j).value)]
        assert not diffs, "\n".join(diffs)
    assert got["KPI"]["A1"].value == "forecourt KPI"
    assert got["Log"]["B4"].value == "L-1" and got["Log"]["C4"].value

    # owners, next actions and due times where the server meant them; Due cells are dates
    leads = got["Leads"]
    header = [c.value for c in leads[1]]
    owner, nxt, due = (header.index(h) + 1 for h in ("Owner", "Next action", "Due"))
    for i in range(2, len(LEADS) + 1):
        assert leads.cell(i, owner).value and leads.cell(i, nxt).value, i
        assert isinstance(leads.cell(i, due).value, dt.datetime), leads.cell(i, due).value
        assert leads.cell(i, due).number_format.lower().replace("\\", "") == "yyyy-mm-dd hh:mm"

    # text that looks like a formula stayed text: no formula anywhere in the saved file
    formulas = [f"{ws.title}!{c.coordinate}" for ws in got for row in ws.iter_rows()
                for c in row if c.data_type == "f"]
    assert not formulas, formulas
    assert leads["C3"].value == FORMULA_NAME
    assert leads["D3"].value == "+49 171 2345679"
    issues = [[c.value for c in row] for row in got["Issues"].iter_rows()]
    assert any(row[-1] == "=1+2" for row in issues), issues  # sent as "'=1+2"
    assert str(got["Issues"]["A2"].value).startswith("Computed 2026-12-07 11:00")

    # the rows the server flagged got its fill, the others none
    colours = [a for a in actions if a["func"] == "setRangeColor"]
    filled: dict[int, str] = {}
    for a in colours:
        assert a["sheet_position"] == 0 and a["start_column"] == 0
        for i in range(a["start_row"], a["start_row"] + a["row_count"]):
            filled[i + 1] = a["args"][0].lstrip("#").upper()
    assert filled, "the server flagged no overdue row"
    last = colours[0]["column_count"]
    for i in range(1, leads.max_row + 1):
        for j in range(1, last + 1):
            cell = leads.cell(i, j)
            rgb = cell.fill.fgColor.rgb if cell.fill.fill_type == "solid" else None
            assert rgb == ("FF" + filled[i] if i in filled else None), (cell.coordinate, rgb)
