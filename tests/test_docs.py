"""The README and docs/rules.md say what the program does: every issue code is listed with its
severity, as `forecourt codes` prints it; the exit-code table is ExitCode; the sample output is
what the commands print today; the rules page's defaults are the code's defaults."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from preserve_books import hermetic_env

from forecourt.errors import ExitCode
from forecourt.issues import CODES
from forecourt.settings import (
    DEFAULT_HOURS,
    DEFAULT_SLA,
    DEFAULT_STALLED_DAYS,
    KEYS,
    format_hours,
    format_minutes,
)

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
RULES = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")


def test_every_issue_code_is_in_the_readme_with_its_severity():
    rows = dict(re.findall(r"^\| ([a-z-]+) \| (error|warning) \|", README, re.MULTILINE))
    missing = {code: severity for code, (severity, _) in CODES.items()
               if rows.get(code) != severity}
    assert not missing, f"README lacks or mislabels: {missing}"


# --- exit codes ---------------------------------------------------------------------------------


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start:end if end != -1 else None]


def test_the_readme_exit_code_table_is_exit_code_exactly():
    table = re.findall(r"^\| (\d+) \| (.+) \|$", _section(README, "### Exit codes"),
                       re.MULTILINE)
    codes = [int(code) for code, _ in table]
    assert codes == sorted(v for k, v in vars(ExitCode).items() if k.isupper()), table
    assert all(meaning.strip() for _, meaning in table)


def test_the_readme_names_8_and_9_where_it_tells_a_scheduler_what_to_do():
    scheduled = _section(README, "**Scheduled runs.**")
    assert "9 (another run under way)" in scheduled and "8 (read-only)" in scheduled


# --- sample output ------------------------------------------------------------------------------


def _samples(text: str) -> list[tuple[str, str]]:
    """(command, the output shown under it) for every ``$ forecourt ...`` line in a fenced
    block; other prompts (the benchmark's) are not ours to rerun."""
    samples: list[tuple[str, str]] = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    samples.append((command, "\n".join(output)))
                command, output = line[2:], []
            elif command is not None:
                output.append(line)
        if command is not None:
            samples.append((command, "\n".join(output)))
    return [(c, o) for c, o in samples if c.startswith("forecourt ")]


def test_the_readme_shows_sample_output_of_demo_and_run():
    commands = [c for c, _ in _samples(README)]
    assert any(c.startswith("forecourt demo") for c in commands), commands
    assert any(c.startswith("forecourt run") for c in commands), commands


def test_the_readme_sample_output_is_what_the_commands_print(tmp_path):
    """The README's commands, in order, in an empty folder: each prints exactly what the README
    shows under it (the folder's own path aside)."""
    for command, expected in _samples(README):
        args = shlex.split(command, comments=True)
        proc = subprocess.run([sys.executable, "-m", "forecourt", *args[1:]], cwd=tmp_path,
                              capture_output=True, text=True, encoding="utf-8",
                              env=hermetic_env() | {"COLUMNS": "80"}, timeout=300)
        actual = proc.stdout.replace(f"{tmp_path}/", "").rstrip("\n")
        assert proc.returncode == 0, f"$ {command}\nexit {proc.returncode}\n{proc.stderr}"
        assert actual == expected, (
            f"the README's sample of `{command}` is not what it prints today; it prints:\n"
            f"{actual}\n--- stderr ---\n{proc.stderr}")


# --- links and the rules page -------------------------------------------------------------------


def test_the_readme_links_the_rules_in_the_repository_not_a_file_outside_it():
    assert "DOMAIN.md" not in README
    assert "](docs/rules.md" in README
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), f"README links to a missing {target}"


def _anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readmes_links_into_the_rules_page_name_its_headings():
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", RULES, re.MULTILINE)}
    for anchor in re.findall(r"\]\(docs/rules\.md#([^)]+)\)", README):
        assert anchor in anchors, f"docs/rules.md has no heading for #{anchor}: {anchors}"


def test_the_rules_page_sla_table_is_the_default_sla_table():
    rows = re.findall(r"^\| (New lead, [\w-]+|[A-Z][\w -]+?) \| ([^|]+) \| (business|calendar) \| "
                      r"([^|]+) \|$", _section(RULES, "## 3."), re.MULTILINE)
    documented = [(t, due.strip(), clock, action.strip()) for t, due, clock, action in rows]
    defaults = [(r.trigger, format_minutes(r.minutes) + (" before" if r.before else ""), r.clock,
                 r.text("en")) for r in DEFAULT_SLA]
    assert documented == defaults


def test_the_rules_page_opening_hours_and_stalled_limits_are_the_defaults():
    hours = _section(RULES, "## 2.")
    weekdays = {format_hours(DEFAULT_HOURS[d]) for d in range(5)}
    assert weekdays == {"09:00-18:00"} and "| Monday to Friday | 09:00-18:00 |" in hours
    assert f"| Saturday | {format_hours(DEFAULT_HOURS[5])} |" in hours
    assert f"| Sunday | {format_hours(DEFAULT_HOURS[6])} |" in hours
    *most, last = (f"{status} {days}" for status, days in DEFAULT_STALLED_DAYS.items())
    assert f"{', '.join(most)} and {last}." in " ".join(RULES.split())


@pytest.mark.parametrize("key", list(KEYS))
def test_the_rules_page_says_how_to_change_every_setting(key):
    assert f"| `{key}` |" in _section(RULES, "## 6."), key
