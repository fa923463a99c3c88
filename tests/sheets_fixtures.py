"""The local Sheets API stand-in (``tests/sheets_standin.py``) as the tests use it: one server
for a whole test session, started when first needed, and the real gspread client talking to it.

gspread 6.2.1 has no base-URL option, so its ``requests.Session`` rewrites Google's hosts to
the stand-in's address; nothing else about the client changes. :func:`shared` returns the one
stand-in of the session; :func:`stop_shared` (a session fixture's teardown) stops it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import gspread
import requests
import sheets_standin

#: the hosts gspread calls (Sheets, and Drive for creating a spreadsheet)
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
API = "https://sheets.googleapis.com/v4/spreadsheets"
EPOCH = dt.datetime(1899, 12, 30)


class RewritingSession(requests.Session):
    """A session that sends every call for Google's hosts to ``base`` instead."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        for host in GOOGLE_HOSTS:
            if url.startswith(host):
                url = self.base + url[len(host):]
                break
        return super().request(method, url, *args, **kwargs)


class StandIn:
    """A running stand-in, a gspread client for it, and its test controls."""

    def __init__(self) -> None:
        self.server, self.base = sheets_standin.start(port=0)
        self.client = gspread.Client(auth=None, session=RewritingSession(self.base))
        self.controls = requests.Session()

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """A Sheets API call through the client (``path`` after ``/v4/spreadsheets``); its
        JSON answer."""
        response = self.client.http_client.request(method, API + path, **kwargs)
        return response.json() if response.content else {}

    def calls(self, spreadsheet_id: str | None = None) -> list[dict[str, Any]]:
        """The API calls made since the last :meth:`forget_calls` (``spreadsheet_id``: only
        those about that spreadsheet)."""
        found = self.controls.get(f"{self.base}/_standin/calls", timeout=30).json()["calls"]
        return [c for c in found if spreadsheet_id is None or spreadsheet_id in c["path"]]

    def forget_calls(self) -> None:
        self.controls.delete(f"{self.base}/_standin/calls", timeout=30).raise_for_status()

    def stop(self) -> None:
        self.controls.close()
        self.client.http_client.session.close()
        sheets_standin.stop(self.server)


_SHARED: list[StandIn] = []


def shared() -> StandIn:
    """The session's stand-in, started on first use."""
    if not _SHARED:
        _SHARED.append(StandIn())
    return _SHARED[0]


def stop_shared() -> None:
    """Stop the session's stand-in, if it was started."""
    while _SHARED:
        _SHARED.pop().stop()


def to_serial(moment: dt.datetime | dt.date) -> float:
    """A wall-clock moment as a serial number (days since 1899-12-30)."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time())
    return (moment.replace(tzinfo=None) - EPOCH) / dt.timedelta(days=1)


def from_serial(value: float) -> dt.datetime:
    """A serial number as a moment, to the nearest second (a float's last bits are noise)."""
    return EPOCH + dt.timedelta(seconds=round(value * 86400))
