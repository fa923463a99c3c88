"""Files `forecourt check` must refuse: missing (exit 3), not a readable workbook (4), no leads
tab or no recognisable header (5). Each refusal is one sentence on stderr naming the file, no
traceback, and the file (or its absence) exactly as it was."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from workbooks import (
    BOMB_CHUNK,
    BOMB_CHUNKS,
    BOMB_MEMBER,
    NO_LEADS_BOOKS,
    UNREADABLE_BOOKS,
    build_encrypted,
    build_zip_bomb,
    missing_path,
    run_check,
)


def _assert_refused(path: Path, exit_code: int, json_output: bool = True) -> None:
    existed = path.exists()
    before = path.read_bytes() if existed else None
    listing = sorted(p.name for p in path.parent.iterdir())

    run = run_check(path, json_output=json_output)

    detail = f"exit {run.returncode}\n--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr}"
    assert run.returncode == exit_code, detail
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, detail
    message = run.stderr.strip()
    assert message, detail
    assert len(message.splitlines()) == 1, f"expected one sentence on stderr\n{detail}"
    assert path.name in message, f"stderr does not name the file\n{detail}"
    if existed:
        assert path.read_bytes() == before, "the input file was changed"
    else:
        assert not path.exists(), "check created the missing file"
    assert sorted(p.name for p in path.parent.iterdir()) == listing, "check wrote files"


def test_missing_file_exit_3(tmp_path):
    _assert_refused(missing_path(tmp_path), 3)


def test_missing_file_exit_3_human(tmp_path):
    _assert_refused(missing_path(tmp_path), 3, json_output=False)


@pytest.mark.parametrize("kind", sorted(UNREADABLE_BOOKS))
def test_unreadable_exit_4(tmp_path, kind):
    _assert_refused(UNREADABLE_BOOKS[kind](tmp_path), 4)


def test_unreadable_exit_4_human(tmp_path):
    _assert_refused(build_encrypted(tmp_path), 4, json_output=False)


@pytest.mark.parametrize("kind", sorted(NO_LEADS_BOOKS))
def test_no_leads_exit_5(tmp_path, kind):
    _assert_refused(NO_LEADS_BOOKS[kind](tmp_path), 5)


def test_zip_bomb_claims_more_than_the_limit(tmp_path):
    """The bomb is what it says: the zip directory claims 1.5 GiB for one member (no need to
    inflate it all: the first megabytes show the stream is real)."""
    with zipfile.ZipFile(build_zip_bomb(tmp_path)) as zf:
        info = zf.getinfo(BOMB_MEMBER)
        assert info.file_size == BOMB_CHUNK * BOMB_CHUNKS > 1 << 30
        assert info.compress_size < 2 << 20
        with zf.open(info) as member:  # the stream really inflates to zeros
            assert member.read(BOMB_CHUNK * 3) == bytes(BOMB_CHUNK * 3)
        assert "xl/workbook.xml" in zf.namelist()
