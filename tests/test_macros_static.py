"""Static checks of the Excel macros and the Office Script in macros/ (no Excel runs here): the
VBA module imports (ASCII, CRLF, its name), compiles as far as a reader can tell (every procedure
and class it uses exists in it or in xlwings' modules, blocks are closed), puts events back on
when it fails, and folds text as forecourt's Python does; the Office Script has its entry point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import xlwings

from forecourt.validators.text import fold
from forecourt.validators.vocabulary import STATUSES

MACROS = Path(__file__).resolve().parents[1] / "macros"
MODULE = MACROS / "forecourt.bas"
SNIPPET = MACROS / "ThisWorkbook.cls.txt"
OFFICE_SCRIPT = MACROS / "forecourt_officescript.ts"
XLWINGS = Path(xlwings.__file__).parent
# The xlwings modules `forecourt macros export` copies next to ours.
XLWINGS_MODULES = ("Remote.bas", "Main.bas", "Config.bas", "Utils.bas", "WebHelpers.bas",
                   "License.bas", "WebClient.cls", "WebRequest.cls", "WebResponse.cls",
                   "IWebAuthenticator.cls", "Dictionary.cls")
PLACEHOLDER = "' __FORECOURT_WORDS__"
# What the exporter puts in the placeholder's place, reduced to a few words.
STAND_IN_WORDS = """Private Function ForecourtWords(ByVal kind As String) As String
    Select Case kind
    Case "status"
        ForecourtWords = "|status|etap|"
    Case "status_since"
        ForecourtWords = "|status since|"
    Case "status:Won"
        ForecourtWords = "|won|sold|verkauft|"
    Case Else
        ForecourtWords = "||"
    End Select
End Function"""
WORD_KINDS = {"status", "first_response_at", "last_contact_at", "status_since", "qualifiers",
              "negations", "stock"}


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


KEYWORDS = _names("""And As Attribute ByRef ByVal Call Case Close Const Debug Declare Dim Do Each
    Else ElseIf Empty End Enum Erase Error Exit Explicit False For Friend Function Get GoTo If In
    Input Is Let Like Line Loop Me Mod New Next Not Nothing Null On Open Option Optional Or
    ParamArray Preserve Print Private Property Public PtrSafe ReDim Resume Select Set Static Step
    Stop Sub Then To True Type Until Wend While With Write Xor""")
# VBA's own functions and the Excel objects a module may name without a prefix.
BUILTINS = _names("""Abs Array Asc AscW CBool CByte CCur CDate CDbl CInt CLng CSng CStr CVar Chr
    ChrW CreateObject Date DateAdd DateDiff DateSerial DoEvents Environ Err FileLen Fix Format
    FreeFile GetObject Hex IIf InStr InStrRev InputBox Int IsArray IsDate IsEmpty IsError
    IsMissing IsNull IsNumeric IsObject Join LBound LCase LTrim Left Len Mid MsgBox Now Oct RTrim
    Replace Right Round Space Split Str StrComp String Time TimeSerial Timer Trim TypeName UBound
    UCase Val VarType Application ActiveSheet ActiveWorkbook Cells Intersect Range Selection
    Sheets ThisWorkbook Union Worksheets""")
TYPES = _names("""Boolean Byte Collection Currency Date Double Integer Long LongLong LongPtr Object
    Single String Variant Range Workbook Worksheet Chart Shape Name ListObject""")


def vba_lines(source: str) -> list[str]:
    """The module's statements: comments and string contents gone, continued lines joined."""
    lines: list[str] = []
    pending = ""
    for raw in source.splitlines():
        code, in_string = "", False
        for ch in raw:
            if ch == '"':
                in_string = not in_string
                code += ch
            elif in_string:
                continue
            elif ch == "'":
                break
            else:
                code += ch
        code = code.strip()
        if code.endswith(" _"):
            pending += code[:-1]
            continue
        code = (pending + code).strip()
        pending = ""
        if code and not code.startswith("Rem "):
            lines.append(code)
    return lines


_OPENERS = (
    (re.compile(r"^(?:(?:Public|Private|Friend)\s+)?(?:Static\s+)?Sub\s+\w+"), "Sub"),
    (re.compile(r"^(?:(?:Public|Private|Friend)\s+)?(?:Static\s+)?Function\s+\w+"), "Function"),
    (re.compile(r"^(?:(?:Public|Private|Friend)\s+)?Property\s+(?:Get|Let|Set)\s+\w+"),
     "Property"),
    (re.compile(r"^If\b.*\bThen$"), "If"),  # a block If: nothing after Then
    (re.compile(r"^#If\b"), "#If"),
    (re.compile(r"^For\b"), "For"),
    (re.compile(r"^Do\b"), "Do"),
    (re.compile(r"^Select\s+Case\b"), "Select"),
    (re.compile(r"^With\b"), "With"),
)
_CLOSERS = (
    (re.compile(r"^End\s+Sub$"), "Sub"), (re.compile(r"^End\s+Function$"), "Function"),
    (re.compile(r"^End\s+Property$"), "Property"), (re.compile(r"^End\s+If$"), "If"),
    (re.compile(r"^#End\s+If$"), "#If"), (re.compile(r"^Next\b"), "For"),
    (re.compile(r"^Loop\b"), "Do"), (re.compile(r"^End\s+Select$"), "Select"),
    (re.compile(r"^End\s+With$"), "With"),
)


def block_errors(lines: list[str]) -> list[str]:
    """Blocks opened and not closed, closed and not opened, or procedures inside procedures."""
    errors, stack = [], []
    for number, line in enumerate(lines, 1):
        opened = next((kind for pattern, kind in _OPENERS if pattern.match(line)), None)
        closed = next((kind for pattern, kind in _CLOSERS if pattern.match(line)), None)
        if opened in ("Sub", "Function", "Property") and any(
                kind in ("Sub", "Function", "Property") for kind in stack):
            errors.append(f"statement {number}: {opened} inside {stack[-1]}: {line}")
        if opened:
            stack.append(opened)
        elif closed:
            if not stack or stack[-1] != closed:
                open_block = stack[-1] if stack else "nothing"
                errors.append(f"statement {number}: {line} closes {open_block}")
            else:
                stack.pop()
    return errors + [f"{kind} never closed" for kind in stack]


_PROCEDURE = re.compile(
    r"^((?:Public|Private|Friend)\s+)?(?:Static\s+)?(?:Sub|Function|Property\s+(?:Get|Let|Set))"
    r"\s+(\w+)", re.MULTILINE)
_DECLARED = re.compile(r"\b(\w+)\s*(?:\([^()]*\))?\s+As\s", re.IGNORECASE)
_CONST = re.compile(r"\bConst\s+(\w+)")
_STATEMENT_CALL = re.compile(r"^(?:Call\s+)?([A-Za-z_]\w*)\b(?!\s*[=.:(])")
_FUNCTION_CALL = re.compile(r"(?<![.\w])([A-Za-z_]\w*)\$?\s*\(")
_TYPE_NAME = re.compile(r"\bAs\s+(?:New\s+)?(\w+)|\bNew\s+(\w+)")


def procedures(source: str, public_only: bool = False) -> set[str]:
    return {name for scope, name in
            ((m.group(1) or "", m.group(2)) for m in _PROCEDURE.finditer(source))
            if not (public_only and scope.strip() == "Private")}


def _xlwings_sources() -> dict[str, str]:
    return {name: (XLWINGS / "addin" / name).read_text(encoding="cp1252")
            for name in XLWINGS_MODULES}


def unknown_names(module: str) -> set[str]:
    """Procedures and classes the module uses that neither it nor xlwings' modules define."""
    lines = vba_lines(module)
    declared = {m.group(1) for line in lines for m in _DECLARED.finditer(line)}
    declared |= {m.group(1) for line in lines for m in _CONST.finditer(line)}
    xlwings = _xlwings_sources()
    defined = procedures(module) | set().union(
        *(procedures(source, public_only=True) for source in xlwings.values()))
    classes = {re.search(r'Attribute VB_Name = "(\w+)"', source).group(1)
               for name, source in xlwings.items() if name.endswith(".cls")}
    called: set[str] = set()
    for line in lines:
        match = _STATEMENT_CALL.match(line)
        if match and not line.startswith(("Declare ", "Private Declare ", "Public Declare ")):
            called.add(match.group(1))
        called |= {m.group(1) for m in _FUNCTION_CALL.finditer(line)}
        called |= {m.group(1) or m.group(2) for m in _TYPE_NAME.finditer(line)} - TYPES - classes
    return called - defined - declared - KEYWORDS - BUILTINS


def compiled_module(source: str | None = None) -> str:
    """The module as the exporter writes it: the placeholder replaced by a words function."""
    source = MODULE.read_text(encoding="ascii") if source is None else source
    return source.replace(PLACEHOLDER, STAND_IN_WORDS)


def procedure_bodies(module: str) -> dict[str, str]:
    parts = re.split(_PROCEDURE, module)  # [before, scope, name, body, scope, name, body, ...]
    return dict(zip(parts[2::3], parts[3::3], strict=True))


def events_not_restored(module: str) -> list[str]:
    """Procedures that turn events off without an error handler that turns them back on."""
    problems = []
    for name, body in procedure_bodies(module).items():
        lines = vba_lines(body)
        off = [i for i, line in enumerate(lines)
               if re.fullmatch(r"Application\.EnableEvents\s*=\s*False", line)]
        if not off:
            continue
        handlers = [m.group(1) for line in lines[:off[0]]
                    if (m := re.fullmatch(r"On Error GoTo (\w+)", line))]
        label = f"{handlers[-1]}:" if handlers else None
        after = lines[lines.index(label):] if label in lines else []
        if not any(re.fullmatch(r"Application\.EnableEvents\s*=\s*(?!False)\S+", line)
                   for line in after):
            problems.append(name)
    return problems


def test_the_module_imports_into_excel_as_forecourt():
    raw = MODULE.read_bytes()
    assert raw.isascii(), "VBA modules are stored in the ANSI code page: use ChrW for others"
    assert raw.count(b"\n") == raw.count(b"\r\n"), "the VBA editor imports CRLF line ends only"
    text = raw.decode("ascii")
    assert text.splitlines()[0] == 'Attribute VB_Name = "forecourt"'
    assert "Option Explicit" in vba_lines(text)


def test_the_snippet_is_ascii_and_calls_only_the_modules_public_subs():
    raw = SNIPPET.read_bytes()
    assert raw.isascii()
    public = procedures(MODULE.read_text(encoding="ascii"), public_only=True)
    calls = {m.group(1) for line in vba_lines(raw.decode("ascii"))
             if (m := _STATEMENT_CALL.match(line))} - KEYWORDS
    assert calls and calls <= public, calls - public
    assert not block_errors(vba_lines(raw.decode("ascii")))


def test_the_words_placeholder_is_one_line_and_the_module_defines_no_words_itself():
    text = MODULE.read_text(encoding="ascii")
    assert text.splitlines().count(PLACEHOLDER) == 1
    assert "ForecourtWords" not in procedures(text)


def test_every_procedure_and_class_used_is_defined():
    assert unknown_names(compiled_module()) == set()


@pytest.mark.parametrize(("change", "caught"), [
    (("ForecourtFold(cell.Value)", "ForecourtFlod(cell.Value)"), "ForecourtFlod"),
    (("ForecourtWriteTime Target, Sh, cell.Row, statusSinceCol",
      "ForecourtWriteTme Target, Sh, cell.Row, statusSinceCol"), "ForecourtWriteTme"),
    (("RunServerPython serverUrl", "RunServerPyton serverUrl"), "RunServerPyton"),
    (("New WebClient", "New WebClent"), "WebClent"),
])
def test_the_name_check_catches_a_misspelling(change, caught):
    source = MODULE.read_text(encoding="ascii")
    assert change[0] in source
    assert caught in unknown_names(compiled_module(source.replace(change[0], change[1], 1)))


def test_blocks_are_closed():
    assert block_errors(vba_lines(compiled_module())) == []


@pytest.mark.parametrize("closer", ["End If", "End Sub", "End Function", "Next i", "Loop"])
def test_the_block_check_catches_a_missing_end(closer):
    lines = vba_lines(compiled_module())
    lines.remove(closer)
    assert block_errors(lines)


def test_events_are_turned_back_on_when_the_server_call_or_the_stamping_fails():
    module = compiled_module()
    turned_off = {name for name, body in procedure_bodies(module).items()
                  if "EnableEvents = False" in body}
    assert turned_off == {"ForecourtCall", "ForecourtOnChange"}
    assert events_not_restored(module) == []


def test_the_events_check_catches_a_handler_that_leaves_them_off():
    module = compiled_module()
    handler = "Failed:\n    Application.EnableEvents = True\n"
    assert handler in module
    assert events_not_restored(module.replace(handler, "Failed:\n", 1))


def test_the_menu_runs_public_subs_of_the_module():
    text = MODULE.read_text(encoding="ascii")
    targets = re.findall(r'ForecourtAddMenuItem menu, "[^"]+", "(\w+)"', text)
    assert targets == ["ForecourtRunNow", "ForecourtSyncNow"]
    assert set(targets) <= procedures(text, public_only=True)


def test_statuses_are_forecourts_and_only_known_word_kinds_are_asked_for():
    text = MODULE.read_text(encoding="ascii")
    statuses = re.search(r'Const STATUSES As String = ((?:"[^"]*"(?: & _\s+)?)+)', text).group(1)
    assert "".join(re.findall(r'"([^"]*)"', statuses)).split("|") == list(STATUSES)
    contact = re.search(r'Const CONTACT_STATUSES As String = ((?:"[^"]*"(?: & _\s+)?)+)', text)
    assert set("".join(re.findall(r'"([^"]*)"', contact.group(1))).strip("|").split("|")) == {
        "Contacted", "Appointment set", "Appointment confirmed", "Shown", "Offer sent",
        "Deposit taken", "Won"}
    assert set(re.findall(r'ForecourtWords\("([^"]+)"\)', text)) == WORD_KINDS
    assert 'ForecourtWords("status:" & canonical)' in text


def test_the_vba_fold_table_folds_each_letter_as_python_does():
    text = MODULE.read_text(encoding="ascii")
    table = "".join(re.findall(
        r'"([^"]*)"', re.search(r"Const LATIN_TO_ASCII As String = _((?:\s+\"[^\"]*\"(?: & _)?)+)",
                                text).group(1)))
    markers = dict(re.findall(r'Case "(\w)"\s+piece = "([^"]*)"', text))
    assert len(table) == 0x180 - 0xA0
    for offset, letter in enumerate(table):
        char = chr(0xA0 + offset)
        assert markers.get(letter, letter).strip() == fold(char), f"U+{ord(char):04X} {char}"


def test_the_office_script_has_its_entry_point_and_calls_xlwings():
    script = OFFICE_SCRIPT.read_text(encoding="utf-8")
    xlwings_ts = (XLWINGS / "js" / "xlwings.ts").read_text(encoding="utf-8")
    assert script.isascii()
    assert re.search(r"^async function main\(workbook: ExcelScript\.Workbook\)", script, re.M)
    assert re.search(r"\bawait runPython\(workbook,", script)
    defined = set(re.findall(r"^(?:async )?function (\w+)", script + xlwings_ts, re.M))
    assert not {"runPython", "registerCallback"} & set(
        re.findall(r"^(?:async )?function (\w+)", script, re.M)), "those come from xlwings.ts"
    code = re.sub(r'"[^"\n]*"', '""', re.sub(r"//[^\n]*|/\*.*?\*/", "", script, flags=re.S))
    called = set(re.findall(r"(?<![.\w])([A-Za-z_]\w*)\(", code))
    javascript = {"fetch", "String", "encodeURIComponent", "Error"}
    assert called - javascript <= defined, called - javascript - defined
    # the server never answers runMacro: no script waits for one
    assert "ForecourtDone" not in script
