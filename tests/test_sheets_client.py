"""forecourt.sync.sheets_client over real HTTP on 127.0.0.1: retries and call counts, the
sentences of its errors, credentials (and that no secret ever shows), the emulator switch and
the ids a person may paste.

Two servers: a tiny scripted one (answers the statuses, headers and bodies a test lists, and
records what it was sent) and the Sheets stand-in (tests/sheets_standin.py) where its quota,
injected failures and real spreadsheets are what a test needs. Nothing sleeps: the client's
``sleep`` is a recorder (advancing the stand-in's clock where its quota window matters)."""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

gspread = pytest.importorskip("gspread")
requests = pytest.importorskip("requests")

from forecourt.errors import (  # noqa: E402 - after the skips
    ForecourtError,
    NoAccess,
    QuotaExhausted,
    UnreadableWorkbook,
)
from forecourt.sync.sheets_client import (  # noqa: E402
    CREDENTIALS_ENV,
    EMULATOR_ENV,
    CountingHTTPClient,
    make_client,
    rewriting_session,
    spreadsheet_id,
)

SID = "1ieRgnZ296CcvWYi5GY21vAxIzU93-_9kHAdMdDNzkaQ"
SHEET_URL = f"https://sheets.googleapis.com/v4/spreadsheets/{SID}"
EMAIL = "forecourt@project.iam.gserviceaccount.com"
SECRET = "FORECOURT-TEST-SECRET-d41d8cd98f00b204e9800998ecf8427e"
SEED = 7
QUOTA_SENTENCE = ("the Google Sheets quota is used up for now (60 requests a minute per user): "
                  "try again in a minute; nothing was written.")


# --- a scripted server ----------------------------------------------------------------------
class Scripted(ThreadingHTTPServer):
    """Answers each request with the next scripted (status, headers, body), then with
    ``default``; keeps what it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[tuple[int, dict[str, str], Any]] = []
        self.default: tuple[int, dict[str, str], Any] = (200, {}, {"ok": True})
        self.seen: list[dict[str, Any]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, *responses: tuple[int, dict[str, str], Any]) -> None:
        self.script.extend(responses)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server: Scripted = self.server  # type: ignore[assignment]
        server.seen.append({"method": self.command, "path": self.path,
                            "headers": dict(self.headers), "body": body})
        status, headers, payload = server.script.pop(0) if server.script else server.default
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json; charset=UTF-8", **headers}
        else:
            data = str(payload).encode()
            headers = {"Content-Type": "text/html", **headers}
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


@pytest.fixture
def server() -> Iterator[Scripted]:
    srv = Scripted()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def google_error(code: int, message: str, reason: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, **extra}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason}]
    return {"error": error}


QUOTA_429 = (429, {}, google_error(429, "Quota exceeded for quota metric 'Read requests'.",
                                   status="RESOURCE_EXHAUSTED"))
UNAVAILABLE_503 = (503, {}, google_error(503, "The service is currently unavailable.",
                                         status="UNAVAILABLE"))
OK = (200, {}, {"spreadsheetId": SID})


def http_client(base: str, **settings: Any) -> tuple[CountingHTTPClient, list[float]]:
    """A client sending Google's URLs to ``base``, its sleeps recorded, its randomness seeded."""
    sleeps: list[float] = []
    settings = {"sleep": sleeps.append, "rng": random.Random(SEED), **settings}
    return CountingHTTPClient(None, rewriting_session(base), **settings), sleeps


def google_waits(count: int, max_wait: float = 120.0, max_backoff: float = 32.0) -> list[float]:
    """Google's advice, min(2**n + uniform(0, 1), max), for up to ``count`` retries, stopping
    before the total would pass ``max_wait``: the waits the client must ask for."""
    rng, waits = random.Random(SEED), []
    for n in range(count):
        wait = min(2**n + rng.uniform(0, 1), max_backoff)
        if sum(waits) + wait > max_wait:
            break
        waits.append(wait)
    return waits


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


# --- retries and counts -------------------------------------------------------------------
def test_503_twice_then_200_is_retried_and_counted(server: Scripted) -> None:
    server.answer(UNAVAILABLE_503, UNAVAILABLE_503, OK)
    client, sleeps = http_client(server.base)
    response = client.request("get", SHEET_URL, params={"fields": "spreadsheetId"})
    assert response.json() == {"spreadsheetId": SID}
    assert (client.calls, client.retries, client.attempts) == (1, 2, 3)
    assert len(server.seen) == 3
    assert all(s["path"] == f"/v4/spreadsheets/{SID}?fields=spreadsheetId" for s in server.seen)
    assert sleeps == pytest.approx(google_waits(2))
    assert 1 <= sleeps[0] <= 2 and 2 <= sleeps[1] <= 3
    assert client.waited == pytest.approx(sum(sleeps))
    client.request("get", SHEET_URL)  # a second logical call, first time lucky
    assert (client.calls, client.retries) == (2, 2)


def test_429_backs_off_by_googles_formula_up_to_the_attempts_then_quota(
        server: Scripted, caplog: pytest.LogCaptureFixture) -> None:
    server.default = QUOTA_429
    client, sleeps = http_client(server.base)
    with caplog.at_level(logging.WARNING, logger="forecourt.sheets"), \
            pytest.raises(QuotaExhausted) as caught:
        client.request("post", SHEET_URL + "/values:batchUpdate", json={"data": []})
    assert str(caught.value) == QUOTA_SENTENCE
    # 8 attempts: 7 waits of 1+, 2+, 4+, 8+, 16+, 32, 32 s (about 95 s, under the 120 s bound)
    assert sleeps == pytest.approx(google_waits(7))
    assert sleeps[-2:] == [32.0, 32.0] and 95 <= sum(sleeps) <= 100
    assert (client.calls, client.retries, len(server.seen)) == (1, 7, 8)
    assert all(s["method"] == "POST" for s in server.seen)
    assert caught.value.path is None and caught.value.sheet is None
    assert caught.value.http_status == 429  # type: ignore[attr-defined]
    assert isinstance(caught.value.__cause__, gspread.exceptions.APIError)
    assert len([r for r in caplog.records if "before attempt" in r.getMessage()]) == 7
    assert "giving up after 8 attempts" in caplog.records[-1].getMessage()


def test_the_total_wait_is_bounded(server: Scripted) -> None:
    server.default = QUOTA_429
    client, sleeps = http_client(server.base, max_wait=10)
    with pytest.raises(QuotaExhausted):
        client.request("get", SHEET_URL)
    assert sleeps == pytest.approx(google_waits(7, max_wait=10))
    assert len(sleeps) == 3 and sum(sleeps) <= 10  # 1+, 2+, 4+: the next 8+ would pass 10 s
    assert client.retries == 3 and len(server.seen) == 4

    server.seen.clear()
    client, sleeps = http_client(server.base, max_attempts=2, max_backoff=1.5)
    with pytest.raises(QuotaExhausted):
        client.request("get", SHEET_URL)
    assert sleeps == [pytest.approx(google_waits(1)[0])] and len(server.seen) == 2

    server.seen.clear()
    client, sleeps = http_client(server.base, max_backoff=1.5)
    with pytest.raises(QuotaExhausted):
        client.request("get", SHEET_URL)
    assert max(sleeps) == 1.5 and sleeps[1:] == [1.5] * 6  # capped at the maximum


def test_retry_after_in_seconds_is_honoured(server: Scripted) -> None:
    server.answer((429, {"Retry-After": "7"}, QUOTA_429[2]), UNAVAILABLE_503[:1] + (
        {"Retry-After": "0"}, "<html>busy</html>"), OK)
    client, sleeps = http_client(server.base)
    assert client.request("get", SHEET_URL).ok
    assert sleeps == [7.0, 0.0] and client.retries == 2


def test_retry_after_as_an_http_date_is_honoured(server: Scripted) -> None:
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 30, usegmt=True)
    server.answer((503, {"Retry-After": later}, "Service Unavailable"), OK)
    client, sleeps = http_client(server.base, clock=lambda: now)
    assert client.request("get", SHEET_URL).ok
    assert sleeps == [30.0]


def test_a_retry_after_past_the_bound_fails_at_once(server: Scripted) -> None:
    server.default = (429, {"Retry-After": "600"}, QUOTA_429[2])
    client, sleeps = http_client(server.base)
    with pytest.raises(QuotaExhausted) as caught:
        client.request("get", SHEET_URL)
    assert sleeps == [] and len(server.seen) == 1 and client.retries == 0
    assert str(caught.value) == (
        "the Google Sheets quota is used up for now (60 requests a minute per user): try "
        "again in 10 minutes; nothing was written.")


def test_the_status_decides_not_the_body(server: Scripted) -> None:
    # a proxy's HTML 502 (gspread's BackOffHTTPClient sees code -1 there and gives up)
    server.answer((502, {}, "<html><body>Bad Gateway</body></html>"),
                  (504, {}, google_error(200, "a body that says all is well")), OK)
    client, sleeps = http_client(server.base)
    assert client.request("get", SHEET_URL).ok
    assert client.retries == 2 and len(sleeps) == 2

    # a 400 whose body claims a quota is not retried
    server.seen.clear()
    server.answer((400, {}, google_error(429, "Invalid requests[0]: no such sheet.",
                                         status="RESOURCE_EXHAUSTED")))
    client, sleeps = http_client(server.base)
    with pytest.raises(UnreadableWorkbook) as caught:
        client.request("post", SHEET_URL + ":batchUpdate", json={"requests": []})
    assert sleeps == [] and len(server.seen) == 1
    assert str(caught.value) == (f"Google Sheets refused a request for the Google Sheet {SID} "
                                 "(HTTP 400): Invalid requests[0]: no such sheet.")

    # a 501 is a 5xx Google does not advise retrying
    server.seen.clear()
    server.answer((501, {}, google_error(501, "Request kind addChart is not implemented.")))
    client, sleeps = http_client(server.base)
    with pytest.raises(UnreadableWorkbook):
        client.request("post", SHEET_URL + ":batchUpdate", json={"requests": []})
    assert sleeps == [] and len(server.seen) == 1


def test_5xx_after_the_retries_says_google_failed(server: Scripted) -> None:
    server.default = UNAVAILABLE_503
    client, sleeps = http_client(server.base, max_attempts=3)
    with pytest.raises(UnreadableWorkbook) as caught:
        client.request("get", SHEET_URL)
    assert str(caught.value) == (f"Google's service failed 3 times in a row (HTTP 503) for the "
                                 f"Google Sheet {SID}: try again later.")
    assert not isinstance(caught.value, QuotaExhausted)
    assert (client.calls, client.retries, len(sleeps)) == (1, 2, 2)


def test_drive_403_rate_limit_is_backed_off_like_a_429(server: Scripted) -> None:
    body = {"error": {"code": 403, "message": "User Rate Limit Exceeded.",
                      "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded",
                                  "message": "User Rate Limit Exceeded."}]}}
    server.answer((403, {}, body), (200, {}, {"id": SID}))
    client, sleeps = http_client(server.base, account_email=EMAIL)
    url = f"https://www.googleapis.com/drive/v3/files/{SID}"
    assert client.request("get", url).json() == {"id": SID}
    assert client.retries == 1 and server.seen[0]["path"].startswith("/drive/v3/files/")

    server.default = (403, {}, body)
    with pytest.raises(QuotaExhausted) as caught:
        client.request("get", url)
    assert "Google Drive quota is used up" in str(caught.value)


@pytest.mark.parametrize(("status", "body", "email", "cls", "sentence"), [
    (403, google_error(403, "The caller does not have permission", status="PERMISSION_DENIED"),
     EMAIL, NoAccess,
     f"the Google Sheet {SID} is not shared with {EMAIL}: share the sheet with {EMAIL} "
     "(Editor) and run again."),
    (403, google_error(403, "The caller does not have permission"), None, NoAccess,
     f"the Google Sheet {SID} is not shared with the account forecourt uses: share it with "
     "that account (Editor) and run again."),
    (403, google_error(403, "Google Sheets API has not been used in project 123 before or it "
                       "is disabled.", reason="SERVICE_DISABLED"), EMAIL, NoAccess,
     "the Google Sheets and Drive APIs are not enabled for the Google Cloud project of "
     "forecourt's account: enable them in the Cloud console and run again."),
    (404, google_error(404, "Requested entity was not found.", status="NOT_FOUND"), EMAIL,
     NoAccess, f"no Google Sheet with the id {SID}: check the id or URL."),
    (401, google_error(401, "Request had invalid authentication credentials."), EMAIL,
     NoAccess, f"Google did not accept forecourt's credentials (HTTP 401) for the Google Sheet "
     f"{SID}: check the service-account key, or sign in again."),
    (400, google_error(400, "Unable to parse range: 'Stöck ü'!A1"), EMAIL, UnreadableWorkbook,
     f"Google Sheets refused a request for the Google Sheet {SID} (HTTP 400): Unable to parse "
     "range: 'Stöck ü'!A1."),
    (400, "<html>not json</html>", EMAIL, UnreadableWorkbook,
     f"Google Sheets refused a request for the Google Sheet {SID} (HTTP 400): no reason "
     "given."),
])
def test_errors_in_one_sentence(server: Scripted, status: int, body: Any, email: str | None,
                                cls: type[ForecourtError], sentence: str) -> None:
    server.answer((status, {}, body))
    client, sleeps = http_client(server.base, account_email=email)
    with pytest.raises(ForecourtError) as caught:
        client.request("get", SHEET_URL + "/values/A1")
    assert type(caught.value) is cls
    assert str(caught.value) == sentence
    assert caught.value.path is None and caught.value.sheet is None
    assert caught.value.http_status == status  # type: ignore[attr-defined]
    assert sleeps == [] and (client.calls, client.retries) == (1, 0)


def test_no_answer_at_all_is_one_sentence() -> None:
    srv = Scripted()  # bound, never served, closed: its port refuses connections
    base = srv.base
    srv.server_close()
    client, sleeps = http_client(base)
    with pytest.raises(UnreadableWorkbook) as caught:
        client.request("get", SHEET_URL)
    assert str(caught.value) == (f"forecourt could not reach Google Sheets for the Google Sheet "
                                 f"{SID} (ConnectionError): check the network and try again.")
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert sleeps == [] and client.calls == 1


# --- the emulator switch ------------------------------------------------------------------
def test_rewriting_session_sends_google_hosts_to_the_base_without_credentials(
        server: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://203.0.113.1:9")  # ignored: trust_env is off
    session = rewriting_session(server.base + "/")
    for url in (SHEET_URL + "?includeGridData=false",
                "https://www.googleapis.com/drive/v3/files?supportsAllDrives=True",
                "https://oauth2.googleapis.com/token"):
        assert session.get(url, timeout=5).ok
    assert [s["path"] for s in server.seen] == [
        f"/v4/spreadsheets/{SID}?includeGridData=false",
        "/drive/v3/files?supportsAllDrives=True", "/token"]
    assert not any("Authorization" in s["headers"] for s in server.seen)
    with pytest.raises(ValueError):
        session.get("https://example.com/v4/spreadsheets", timeout=5)
    with pytest.raises(ValueError):
        rewriting_session("http://sheets.googleapis.com")


def test_make_client_with_the_emulator_variable_reaches_the_local_server(
        server: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EMULATOR_ENV, server.base)
    monkeypatch.setenv(CREDENTIALS_ENV, "/nonexistent/key.json")  # never read
    client = make_client()
    assert isinstance(client, gspread.Client)
    assert isinstance(client.http_client, CountingHTTPClient)
    assert client.http_client.account_email is None
    response = client.http_client.request("get", SHEET_URL)
    assert response.json() == {"ok": True}
    assert server.seen[0]["path"] == f"/v4/spreadsheets/{SID}"
    assert "Authorization" not in server.seen[0]["headers"]
    assert client.http_client.calls == 1


@pytest.mark.parametrize("address", [
    "http://10.0.0.5:8080", "https://sheets.googleapis.com", "http://localhost.example.com:80",
    "http://127.0.0.1@evil.example.com:8080", "http://user:pw@127.0.0.1:8080",
    "ftp://127.0.0.1:21", "http://127.0.0.1:port", "http://0.0.0.0:8080", "192.168.1.2:80",
])
def test_a_non_local_emulator_is_refused(address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=EMULATOR_ENV):
        make_client(emulator=address)
    monkeypatch.setenv(EMULATOR_ENV, address)
    with pytest.raises(ValueError, match=EMULATOR_ENV):
        make_client()


@pytest.mark.parametrize(("address", "base"), [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("localhost:8080", "http://localhost:8080"),
    ("http://[::1]:8080/", "http://[::1]:8080"),
    ("https://LOCALHOST:8443", "https://LOCALHOST:8443"),
])
def test_local_emulator_addresses_are_accepted(address: str, base: str) -> None:
    client = make_client(emulator=address)
    assert client.http_client.session.base_url == base  # type: ignore[attr-defined]


# --- through the stand-in -------------------------------------------------------------------
@pytest.fixture
def standin() -> Iterator[tuple[Any, str]]:
    sheets_standin = pytest.importorskip("sheets_standin")
    srv, base = sheets_standin.start(port=0)
    try:
        yield srv, base
    finally:
        sheets_standin.stop(srv)


def control(base: str, path: str, body: Any = None) -> Any:
    method = "get" if body is None else "post"
    response = requests.request(method, base + "/_standin/" + path, json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def test_gspread_through_the_emulator_switch(standin: tuple[Any, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = standin
    monkeypatch.setenv(EMULATOR_ENV, base)
    client = make_client()
    book = client.create("Forecourt client test")  # Drive v3 create, then gspread's metadata
    again = client.open_by_key(book.id)  # Sheets metadata
    assert again.title == "Forecourt client test"
    raw = client.http_client.request("get", f"https://sheets.googleapis.com/v4/spreadsheets/"
                                     f"{book.id}", params={"fields": "spreadsheetId"})
    assert raw.json() == {"spreadsheetId": book.id}
    calls = control(base, "calls")["calls"]
    assert [(c["method"], c["api"]) for c in calls] == [
        ("POST", "drive"), ("GET", "sheets"), ("GET", "sheets"), ("GET", "sheets")]
    assert client.http_client.calls == 4 and client.http_client.retries == 0

    with pytest.raises(NoAccess) as caught:
        client.open_by_key("1" + "x" * 43)
    assert str(caught.value) == f"no Google Sheet with the id 1{'x' * 43}: check the id or URL."

    control(base, "fail", {"status": 403, "times": 1})
    with pytest.raises(NoAccess, match="not shared with the account forecourt uses"):
        client.open_by_key(book.id)


def test_the_standins_quota_and_failures(standin: tuple[Any, str]) -> None:
    _, base = standin
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # time passes for the stand-in's quota window only
        sleeps.append(seconds)
        control(base, "clock", {"advance": seconds})

    client = make_client(emulator=base, sleep=sleep, rng=random.Random(SEED))
    book = client.create("Quota")
    calls = client.http_client.calls
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}"

    control(base, "quota", {"per_minute": 1, "retry_after": 20})
    client.http_client.request("get", url)
    client.http_client.request("get", url)  # 429 Retry-After: 20, three times: the minute
    assert sleeps == [20, 20, 20]
    assert (client.http_client.calls - calls, client.http_client.retries) == (2, 3)

    control(base, "quota", {"per_minute": 1})  # no Retry-After: Google's back-off
    sleeps.clear()
    client.http_client.request("get", url)
    client.http_client.request("get", url)
    assert sleeps == pytest.approx(google_waits(6)) and sum(sleeps) >= 60

    control(base, "quota", {"per_minute": None})
    control(base, "fail", {"status": 503, "times": 2})
    sleeps.clear()
    client.http_client.rng = random.Random(SEED)
    assert client.http_client.request("get", url).ok
    assert sleeps == pytest.approx(google_waits(2))
    statuses = [c["status"] for c in control(base, "calls")["calls"]][-3:]
    assert statuses == [503, 503, 200]

    control(base, "quota", {"per_minute": 1, "retry_after": 3600})
    client.http_client.request("get", url)
    with pytest.raises(QuotaExhausted, match=r"\(1 requests a minute per user\): try again in "
                                             r"60 minutes"):
        client.http_client.request("get", url)


# --- credentials, and no secret anywhere ----------------------------------------------------
@pytest.fixture
def no_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    monkeypatch.delenv(CREDENTIALS_ENV, raising=False)


def pem_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def key_info(private_key: str, token_uri: str = "https://oauth2.googleapis.com/token",
             **changes: Any) -> dict[str, Any]:
    info = {"type": "service_account", "project_id": "project",
            "private_key_id": SECRET + "-id", "private_key": private_key,
            "client_email": EMAIL, "client_id": "1234567890", "token_uri": token_uri}
    info.update(changes)
    return {k: v for k, v in info.items() if v is not None}


def secret_parts(private_key: str) -> list[str]:
    """What must never show: the marker, the key id, every line of the key's body."""
    lines = [line for line in private_key.splitlines() if line and "-----" not in line]
    return [SECRET, *lines]


def assert_no_secret(texts: list[str], private_key: str) -> None:
    for text in texts:
        for part in secret_parts(private_key):
            assert part not in text, f"a secret shows in {text[:200]!r}"


FAKE_KEY = f"-----BEGIN PRIVATE KEY-----\n{SECRET}\nMIIEvQIBADANBgkqhkiG9w0BAQEFAAS\n" \
           "-----END PRIVATE KEY-----\n"


def test_credential_failures_in_one_sentence_without_secrets(
        tmp_path: Path, no_google_env: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def fails(*args: Any, sentence: str, **kwargs: Any) -> None:
        with pytest.raises(NoAccess) as caught:
            make_client(*args, **kwargs)
        assert str(caught.value) == sentence
        assert caught.value.path is None and caught.value.sheet is None
        for exc in chain(caught.value):
            texts.extend([str(exc), repr(exc)])

    fails(sentence="no Google credentials: pass --credentials PATH to a service-account JSON "
                   "key, or set GOOGLE_APPLICATION_CREDENTIALS")
    missing = tmp_path / "missing.json"
    fails(missing, sentence=f"no Google credentials: the service-account key file "
                            f"{missing} does not exist (from --credentials)")
    fails(tmp_path, sentence=f"{tmp_path} is a folder, not a service-account key file "
                             "(from --credentials)")

    pem = tmp_path / "key.pem"  # the bare private key, not the JSON file
    pem.write_text(FAKE_KEY)
    fails(pem, sentence=f"{pem} is not a service-account key file (it is not JSON): "
                        "download the key again from the Google Cloud console")

    user = tmp_path / "authorized_user.json"
    user.write_text(json.dumps({"type": "authorized_user", "client_id": "x",
                                "client_secret": SECRET, "refresh_token": SECRET}))
    fails(user, sentence=f"{user} is not a service-account key file (its type is "
                         "'authorized_user', not 'service_account'; use the OAuth sign-in for a "
                         "personal account)")

    lacking = tmp_path / "lacking.json"
    lacking.write_text(json.dumps(key_info(FAKE_KEY, client_email=None, token_uri=None)))
    fails(lacking, sentence=f"{lacking} is not a service-account key file (it lacks "
                            "client_email, token_uri)")

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(key_info(FAKE_KEY)))
    monkeypatch.setenv(CREDENTIALS_ENV, str(broken))
    fails(sentence=f"{broken} is not a service-account key file (its private key cannot "
                   "be read): download the key again from the Google Cloud console")

    if hasattr(os, "geteuid") and os.geteuid() != 0:
        locked = tmp_path / "locked.json"
        locked.write_text(json.dumps(key_info(FAKE_KEY)))
        locked.chmod(0)
        fails(locked, sentence=f"the service-account key file {locked} cannot be read "
                               "(permission denied): check its permissions (from --credentials)")

    assert texts
    assert_no_secret(texts + [r.getMessage() for r in caplog.records], FAKE_KEY)


def test_a_service_account_key_gives_a_client_naming_its_email(
        tmp_path: Path, no_google_env: None, server: Scripted,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    private_key = pem_key()
    key = tmp_path / "forecourt-key.json"
    key.write_text(json.dumps(key_info(private_key, token_uri=server.base + "/token")))

    client = make_client(key)
    assert isinstance(client.http_client, CountingHTTPClient)
    assert client.http_client.account_email == EMAIL
    assert set(client.http_client.auth.scopes) == {  # type: ignore[attr-defined]
        "https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive"}
    assert client.http_client.timeout == (10.0, 300.0)

    # the key is used for real: a signed token request goes to the key's token_uri (this
    # server), which refuses it; nothing reaches Google and the sentence names the account
    server.answer((400, {}, {"error": "invalid_grant", "error_description":
                             f"Invalid JWT Signature. {SECRET}"}))
    with pytest.raises(NoAccess) as caught:
        client.http_client.request("get", SHEET_URL)
    assert str(caught.value) == (
        f"Google refused forecourt's credentials for {EMAIL}: the key may have been deleted or "
        "revoked; create a new key for the service account and run again.")
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert [(s["method"], s["path"]) for s in server.seen] == [("POST", "/token")]
    assert b"assertion=" in server.seen[0]["body"]

    # an account's 403 names the e-mail to share the sheet with (the same client's settings)
    other, _ = http_client(server.base, account_email=client.http_client.account_email)
    server.answer((403, {}, google_error(403, "The caller does not have permission")))
    with pytest.raises(NoAccess) as denied:
        other.request("get", SHEET_URL)
    assert f"share the sheet with {EMAIL} (Editor)" in str(denied.value)

    texts = [str(e) for e in (*chain(caught.value), *chain(denied.value))]
    texts += [repr(client.http_client.auth), repr(client)]
    texts += [r.getMessage() for r in caplog.records]
    assert_no_secret(texts, private_key)


def test_env_credentials_are_used_and_an_explicit_path_wins(
        tmp_path: Path, no_google_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    private_key = pem_key()
    env_key = tmp_path / "env.json"
    env_key.write_text(json.dumps(key_info(private_key, client_email="env@p.iam."
                                           "gserviceaccount.com")))
    arg_key = tmp_path / "arg.json"
    arg_key.write_text(json.dumps(key_info(private_key)))
    monkeypatch.setenv(CREDENTIALS_ENV, str(env_key))
    assert make_client().http_client.account_email == "env@p.iam.gserviceaccount.com"
    assert make_client(arg_key).http_client.account_email == EMAIL
    assert make_client(str(arg_key)).http_client.account_email == EMAIL


# --- spreadsheet ids -----------------------------------------------------------------------
@pytest.mark.parametrize("given", [
    SID,
    f"  {SID}\n",
    f"https://docs.google.com/spreadsheets/d/{SID}",
    f"https://docs.google.com/spreadsheets/d/{SID}/",
    f"https://docs.google.com/spreadsheets/d/{SID}/edit#gid=0",
    f"https://docs.google.com/spreadsheets/d/{SID}/edit?usp=sharing",
    f"https://docs.google.com/spreadsheets/d/{SID}/edit?gid=123456#gid=123456",
    f"https://docs.google.com/spreadsheets/u/0/d/{SID}/edit",
    f"https://docs.google.com/spreadsheets/u/1/d/{SID}/htmlview?pru=AAABj",
    f"https://docs.google.com/a/dealer.example/spreadsheets/d/{SID}/edit#gid=7",
    f"http://docs.google.com/spreadsheets/d/{SID}/edit",
    f"docs.google.com/spreadsheets/d/{SID}/edit",
    f"https://DOCS.google.com/spreadsheets/d/{SID}/copy",
    f"https://docs.google.com/spreadsheet/ccc?key={SID}&usp=drive_web#gid=0",
    f"https://drive.google.com/open?id={SID}",
    f"https://drive.google.com/file/d/{SID}/view?usp=sharing",
])
def test_spreadsheet_id_accepts_ids_and_urls(given: str) -> None:
    assert spreadsheet_id(given) == SID


@pytest.mark.parametrize(("given", "words"), [
    ("", "is not a Google Sheet id or URL"),
    ("Leads.xlsx", "is not a Google Sheet id or URL"),
    ("abc", "is not a Google Sheet id or URL"),
    ("https://example.com/spreadsheets/d/" + SID, "is not a Google Sheet id or URL"),
    ("https://docs.google.com/spreadsheets/d/e/2PACX-1vQ" + "a" * 80 + "/pubhtml",
     "“Publish to the web” link"),
    (f"https://docs.google.com/document/d/{SID}/edit", "is a Google Docs document, not a Google"),
    (f"https://docs.google.com/presentation/d/{SID}/edit", "Slides presentation"),
    ("https://docs.google.com/spreadsheets/u/0/", "is not a Google Sheet id or URL"),
    (f"{SID}/edit", "is not a Google Sheet id or URL"),
    ("file:///home/me/" + SID, "is not a Google Sheet id or URL"),
])
def test_spreadsheet_id_refuses_anything_else(given: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        spreadsheet_id(given)
    assert len(str(caught.value)) < 250
