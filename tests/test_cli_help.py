"""What a dealer sees of the command itself: `forecourt` alone, `--version`, every command's
`--help` (a description, an example, a help text for every option, only the exit codes it can
return, SLA / KPI / memory file said in plain words), `forecourt columns`, a `demo` that will
not overwrite, and counts in the output said in the singular or plural as they should be."""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from preserve_books import hermetic_env

from forecourt.cli import build_parser
from forecourt.errors import ExitCode
from forecourt.validators.vocabulary import LEAD_FIELDS, STOCK_FIELDS, TEAM_FIELDS

COMMANDS = ("new", "demo", "check", "run", "sync", "serve", "macros", "columns", "codes")
ALL_CODES = sorted(v for k, v in vars(ExitCode).items() if k.isupper())
# What each command can end with, as its help must say: no more, no fewer.
CAN_RETURN = {
    "new": {0, 1, 2, 7},
    "demo": {0, 1, 2, 6, 7, 8, 9},
    "check": {0, 1, 2, 3, 4, 5},
    "run": set(ALL_CODES) - {13, 14},  # 13 and 14 are the sync's
    "sync": set(ALL_CODES),
    "serve": {0, 1, 2},
    "macros": {0, 1, 2, 7},
    "columns": {0, 1, 2},
    "codes": {0, 1, 2},
}


def forecourt(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, as a dealer's terminal runs it (80 columns, no FORECOURT_* settings)."""
    env = hermetic_env() | {"COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "forecourt", *args], capture_output=True,
                          text=True, encoding="utf-8", env=env, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    """Every help page: "" for `forecourt --help`, else the command's."""
    out = {}
    for command in ("", *COMMANDS):
        proc = forecourt(*([command] if command else []), "--help")
        assert proc.returncode == 0, proc.stderr
        out[command] = proc.stdout
    return out


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _section(page: str, title: str) -> list[str]:
    """The lines under a heading such as "exit codes:" up to the next blank line."""
    lines = page.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(title))
    body = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        body.append(line)
    return body


def _codes_in(page: str, title: str) -> list[int]:
    return [int(m.group(1)) for line in _section(page, title)
            if (m := re.match(r"^  (\d+)  \S", line))]


# --- forecourt alone, --version, --debug ---------------------------------------------------------


def test_forecourt_alone_prints_the_full_help_and_exits_2():
    proc = forecourt()
    assert proc.returncode == ExitCode.USAGE
    assert "the following arguments are required" not in proc.stdout + proc.stderr
    for command in COMMANDS:
        assert re.search(rf"^    {command}\s+\S", proc.stdout, re.MULTILINE), \
            f"{command} is not listed with its one line:\n{proc.stdout}"
    assert re.search(r"^  forecourt demo\b", proc.stdout, re.MULTILINE), "no example"
    assert _codes_in(proc.stdout, "exit codes:") == ALL_CODES


def test_forecourt_with_only_debug_prints_the_help_too():
    proc = forecourt("--debug")
    assert proc.returncode == ExitCode.USAGE
    assert "commands:" in proc.stdout


def test_version_is_the_installed_packages():
    proc = forecourt("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"forecourt {importlib.metadata.version('forecourt')}"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_command_shows_the_traceback(tmp_path, where):
    args = ["check", str(tmp_path / "nowhere.xlsx")]
    proc = forecourt(*(["--debug", *args] if where == "before" else [*args, "--debug"]))
    assert "Traceback" in proc.stderr and "WorkbookMissing" in proc.stderr


def test_without_debug_a_missing_workbook_is_one_sentence_and_exit_3(tmp_path):
    proc = forecourt("check", str(tmp_path / "nowhere.xlsx"))
    assert proc.returncode == ExitCode.FILE_MISSING
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr


# --- every command's help ----------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_description_and_every_option_a_help_text(pages, command):
    sub = _subparsers()[command]
    assert sub.description and len(sub.description.split()) >= 10, command
    for action in sub._actions:
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help != argparse.SUPPRESS, f"{command} {name}: no help"
        shown = action.option_strings[0] if action.option_strings else action.dest
        line = next((x for x in pages[command].splitlines() if x.strip().startswith(shown)),
                    None)
        assert line is not None, f"{command} --help does not show {shown}"
    summary = re.search(rf"^    {command}\s+(\S.*)$", pages[""], re.MULTILINE)
    assert summary, f"`forecourt --help` has no line for {command}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_gives_an_example(pages, command):
    examples = _section(pages[command], "examples:")
    assert any(line.strip().startswith(f"forecourt {command}") for line in examples), \
        pages[command]


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_lists_only_the_exit_codes_it_can_return(pages, command):
    listed = _codes_in(pages[command], "exit codes")
    assert listed == sorted(CAN_RETURN[command]), pages[command]


def test_the_full_exit_code_table_is_printed_once_in_forecourt_help(pages):
    assert _codes_in(pages[""], "exit codes:") == ALL_CODES
    for command in COMMANDS:
        if CAN_RETURN[command] != set(ALL_CODES):
            assert _codes_in(pages[command], "exit codes") != ALL_CODES, command


def test_run_help_says_what_8_and_9_mean_for_a_scheduler(pages):
    lines = _section(pages["run"], "exit codes")
    eight = next(x for x in lines if x.startswith("  8  "))
    nine = next(x for x in lines if x.startswith("  9  "))
    assert "read-only" in eight and "try again later" in nine


WORDS = [("SLA", 0), ("KPI", 0), ("memory file", re.IGNORECASE)]


@pytest.mark.parametrize("page", ["", *COMMANDS])
@pytest.mark.parametrize(("term", "flags"), WORDS)
def test_sla_kpi_and_memory_file_are_explained_where_a_page_first_uses_them(
        pages, page, term, flags):
    text = " ".join(pages[page].split())
    first = re.search(rf"\b{term}", text, flags)
    if first is None:
        return  # the page does not use the word
    after = text[first.end():first.end() + 20]
    assert re.match(r"s?(?: \w+)? \(\w", after), \
        f"`forecourt {page} --help` uses {term!r} first without saying what it is: " \
        f"...{text[first.start():first.start() + 80]}..."


@pytest.mark.parametrize("page", ["", *COMMANDS])
def test_help_fits_an_80_column_terminal(pages, page):
    long = [line for line in pages[page].splitlines() if len(line) > 80]
    assert not long, long


# --- forecourt columns -------------------------------------------------------------------------


def _field_block(out: str, field: str) -> str:
    """The headers listed for ``field``: its line and the lines that continue it."""
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if re.match(rf"^  {field}\s{{2,}}\S", line))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith(" " * 21):
            break
        block.append(line)
    return " ".join(" ".join(block).split())


def test_columns_lists_the_german_headers_of_the_leads_tab_under_each_field():
    proc = forecourt("columns", "--language", "de", "--tab", "leads")
    assert proc.returncode == 0, proc.stderr
    phone = _field_block(proc.stdout, "phone")
    assert "Telefon," in phone and "Handy" in phone and "Phone," not in phone
    assert "Eingang" in _field_block(proc.stdout, "received at")
    for fld, words in LEAD_FIELDS.items():
        block = _field_block(proc.stdout, fld.replace("_", " "))
        assert all(w in block for w in words["de"]), fld
    assert "stock tab" not in proc.stdout and "team tab" not in proc.stdout
    assert "Column:" in proc.stdout and "Spalte:" in proc.stdout and "ignore" in proc.stdout


def test_columns_without_options_lists_every_tab_in_every_language():
    proc = forecourt("columns")
    assert proc.returncode == 0, proc.stderr
    for kind, fields in (("leads", LEAD_FIELDS), ("stock", STOCK_FIELDS), ("team", TEAM_FIELDS)):
        assert f"The {kind} tab" in proc.stdout
        for fld in fields:
            assert re.search(rf"^  {fld.replace('_', ' ')}\s+en: ", proc.stdout, re.MULTILINE), \
                (kind, fld)
    assert "Numer VIN" in proc.stdout and "Fahrgestellnummer" in proc.stdout
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())


def test_columns_rejects_a_language_it_does_not_know():
    proc = forecourt("columns", "--language", "fr")
    assert proc.returncode == ExitCode.USAGE
    assert "invalid choice" in proc.stderr


# --- forecourt demo does not overwrite ------------------------------------------------------------


def test_demo_refuses_to_replace_an_existing_demo_and_force_replaces_it_with_its_memory(tmp_path):
    first = forecourt("demo", "--leads", "12", "--as-of", "2026-11-23 10:00", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    book = tmp_path / "demo" / "forecourt-demo-en.xlsx"
    memory = book.with_name("forecourt-demo-en.forecourt.sqlite")
    assert book.exists() and memory.exists()
    before = book.read_bytes(), memory.read_bytes()

    again = forecourt("demo", "--leads", "30", cwd=tmp_path)
    assert again.returncode == ExitCode.USAGE
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert again.stderr.strip().count("\n") == 0, "one sentence"
    assert (book.read_bytes(), memory.read_bytes()) == before, "nothing was written"

    forced = forecourt("demo", "--leads", "30", "--as-of", "2026-11-23 10:00", "--force",
                       cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "wrote demo/forecourt-demo-en.xlsx (30 leads)" in forced.stdout
    wb = load_workbook(book, read_only=True)
    assert sum(1 for row in wb["Leads"].iter_rows(min_row=2) if row[1].value) == 30
    wb.close()
    # a fresh demo, not one run on top of the old demo's memory: the same as in a new folder
    fresh = forecourt("demo", "fresh", "--leads", "30", "--as-of", "2026-11-23 10:00",
                      cwd=tmp_path)
    assert forced.stdout.replace("demo/", "fresh/") == fresh.stdout


def test_demo_refuses_when_only_the_old_demos_memory_is_left(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "forecourt-demo-en.forecourt.sqlite").write_bytes(b"old")
    proc = forecourt("demo", "--leads", "5", cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE and "forecourt.sqlite already exists" in proc.stderr
    assert not (folder / "forecourt-demo-en.xlsx").exists()


# --- counts said as they should be -------------------------------------------------------------


def test_one_of_a_kind_is_said_in_the_singular(tmp_path):
    book = tmp_path / "one.xlsx"
    assert forecourt("new", str(book)).returncode == 0
    wb = load_workbook(book)
    ws = wb["Leads"]
    header = [c.value for c in ws[1]]
    row = [None] * len(header)
    row[header.index("Received")] = "2026-11-20 10:00"
    row[header.index("Name")] = "Ann Lee"
    row[header.index("Phone")] = "+447700900123"  # no source: one error
    ws.append(row)
    wb.save(book)

    check = forecourt("check", str(book), "--as-of", "2026-11-23 10:00")
    assert check.returncode == 0, check.stderr
    assert "1 lead, 0 cars, 1 person;" in check.stdout
    assert re.search(r"^1 error, \d+ warnings?$", check.stdout, re.MULTILINE), check.stdout
    assert re.search(r"^Leads: 1 error, 0 warnings$", check.stdout, re.MULTILINE), check.stdout

    run = forecourt("run", str(book), "--as-of", "2026-11-23 10:00")
    assert run.returncode == 0, run.stderr
    assert ": 1 lead (1 open), 0 cars" in run.stdout
    assert re.search(r"  1 error, \d+ warnings? \(see the Issues sheet\)", run.stdout)
    assert re.search(r"  last 30 days: 1 lead, ", run.stdout)
    assert "1 errors" not in run.stdout + check.stdout
    assert "1 leads" not in run.stdout + check.stdout


def test_every_error_a_user_can_act_on_has_its_own_exit_code():
    """Exit codes are the command's choice: each error class forecourt raises maps to one,
    none to the internal-error code, and no two to the same."""
    from forecourt import errors
    from forecourt.cli import exit_code_of

    classes = [c for c in vars(errors).values() if isinstance(c, type)
               and issubclass(c, errors.ForecourtError) and c is not errors.ForecourtError]
    codes = [exit_code_of(c("x")) for c in classes]
    assert ExitCode.INTERNAL not in codes and len(set(codes)) == len(classes), codes
    assert exit_code_of(errors.ForecourtError("x")) == ExitCode.INTERNAL
