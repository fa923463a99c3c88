"""`forecourt macros export DIR`: the three menus' files, ready to install, with xlwings'
client files copied unmodified from the installed package (and never kept in the repository),
forecourt's words written into the stamping scripts, and a README per folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from preserve_books import hermetic_env

from forecourt.macros import VBA_FILES, words, xlwings_dir

ROOT = Path(__file__).resolve().parent.parent


def export(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "forecourt", "macros", "export", str(folder),
                           *args], capture_output=True, text=True, env=hermetic_env(),
                          timeout=120)


def test_export_writes_each_client_ready_to_install(tmp_path: Path) -> None:
    done = export(tmp_path / "menus")
    assert done.returncode == 0, done.stderr
    menus = tmp_path / "menus"
    source = xlwings_dir()
    google, excel, web = menus / "google", menus / "excel", menus / "excel-web"
    # xlwings' clients, byte for byte as installed
    assert (google / "xlwings.js").read_bytes() == (source / "js" / "xlwings.js").read_bytes()
    for name in VBA_FILES:
        assert (excel / name).read_bytes() == (source / "addin" / name).read_bytes(), name
    # ours, with forecourt's words in place of the placeholders
    gs = (google / "forecourt.gs").read_text(encoding="utf-8")
    assert "__FORECOURT_WORDS__" not in gs and '"erste antwort"' in gs and '"sprzedane"' in gs
    bas = (excel / "forecourt.bas").read_bytes()
    assert bas.isascii() and b"__FORECOURT_WORDS__" not in bas
    assert b"Private Function ForecourtWords(" in bas and b'Case "status:Won"' in bas
    assert b"\r\n" in bas and b"\n" not in bas.replace(b"\r\n", b"")  # VBA imports CRLF
    assert max(len(line) for line in bas.split(b"\r\n")) < 1000  # VBA's line limit is 1023
    ts = (web / "forecourt.ts").read_text(encoding="utf-8")
    assert len(re.findall(r"^async function main\(", ts, re.MULTILINE)) == 1
    assert "async function xlwingsExampleMain(" in ts and "function runPython(" in ts
    for folder in (google, excel, web):
        readme = (folder / "README.md").read_text(encoding="utf-8")
        assert "BSD" in readme and len(readme.splitlines()) > 10, folder
    listed = [Path(line) for line in done.stdout.splitlines()]
    assert set(listed) == {p for p in menus.rglob("*") if p.is_file()}

    again = export(tmp_path / "menus")
    assert again.returncode == 2 and "not empty" in again.stderr
    assert export(tmp_path / "menus", "--force").returncode == 0


def test_the_vba_words_are_the_engine_s_words() -> None:
    w = words()
    assert w["statuses"]["kontaktiert"] == "Contacted"
    assert w["statuses"]["nowy"] == "New"
    assert "pierwsza odpowiedz" in w["headers"]["first_response_at"]
    assert "status seit" in w["headers"]["status_since"]
    assert "status" in w["headers"]["status"]


def test_no_xlwings_client_file_is_kept_in_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    theirs = {"xlwings.js", "xlwings.ts", *VBA_FILES}
    assert not [t for t in tracked if Path(t).name in theirs]
