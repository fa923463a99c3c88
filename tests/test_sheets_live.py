"""One smoke test against the real Google Sheets API, run only when asked: set
``FORECOURT_LIVE_SHEET`` to the id of a Sheet made for testing (shared with the service
account) and ``GOOGLE_APPLICATION_CREDENTIALS`` to the account's key. Without both it is
skipped: nothing else in the suite leaves this computer."""

from __future__ import annotations

import os

import pytest

LIVE_SHEET = os.environ.get("FORECOURT_LIVE_SHEET")
KEY = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")

pytestmark = pytest.mark.skipif(not (LIVE_SHEET and KEY) or bool(
    os.environ.get("FORECOURT_SHEETS_EMULATOR")),
    reason="set FORECOURT_LIVE_SHEET and GOOGLE_APPLICATION_CREDENTIALS to run against Google")


def test_a_dry_run_on_a_real_sheet_reads_it_in_two_calls(tmp_path):
    from forecourt.engine import run
    from forecourt.sync.sheets import SheetsBackend

    sheet = SheetsBackend(LIVE_SHEET or "", credentials=KEY)
    result = run(sheet, dry_run=True, state=tmp_path / "memory.sqlite")
    assert sheet.api_calls == 2 and not result.written
    assert result.outcome.summary["leads"] >= 0
