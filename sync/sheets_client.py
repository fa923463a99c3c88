"""How forecourt talks to Google Sheets: a gspread client that counts its calls, backs off on
quota and server errors the way Google advises, turns every failure into one sentence a person
can act on, and can be pointed at a local emulator.

- :class:`CountingHTTPClient`: gspread's HTTP client with call counting and retries by HTTP
  status (never gspread's ``BackOffHTTPClient``: in 6.2.1 its stop check never stops and it
  decides by the body's code, which is -1 when a proxy answers with an HTML page).
- :func:`make_client`: a ``gspread.Client`` from a service-account key, from gspread's OAuth
  flow for a personal account, or, with ``FORECOURT_SHEETS_EMULATOR=http://127.0.0.1:PORT``
  (the way Google's ``*_EMULATOR_HOST`` variables work), for a local emulator without any
  credentials.
- :func:`rewriting_session`: the ``requests.Session`` behind the emulator switch (gspread
  6.2.1 has no base-URL option and imports its URL constants by name).
- :func:`spreadsheet_id`: the id inside whatever a person pasted (a bare id or a URL).

Errors (``path=None, sheet=None``; the spreadsheet id is in the sentence; a key's contents never
are):

========================================  ==============================================
what happened                             raised
========================================  ==============================================
429, Drive's 403 rate limits (after the   :class:`~forecourt.errors.QuotaExhausted`
retries)
500/502/503/504 (after the retries)       :class:`~forecourt.errors.UnreadableWorkbook`
401, 403, 404; no, unreadable or wrong    :class:`~forecourt.errors.NoAccess`
credentials
another 4xx, 501, no connection, timeout  :class:`~forecourt.errors.UnreadableWorkbook`
an emulator address that is not local;    ``ValueError`` (a usage error for the CLI)
not a Sheet id or URL
========================================  ==============================================

Each raised error carries ``http_status`` (``None`` when no answer came) beside its message,
and, for an answer, the ``gspread.exceptions.APIError`` as its ``__cause__``.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping, MutableMapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import gspread
import requests
from gspread.exceptions import APIError
from gspread.http_client import FileType, HTTPClient, ParamsType

from forecourt.errors import ForecourtError, NoAccess, QuotaExhausted, UnreadableWorkbook

_log = logging.getLogger("forecourt.sheets")

#: The environment variable that sends every Sheets and Drive call to a local emulator.
EMULATOR_ENV = "FORECOURT_SHEETS_EMULATOR"
#: The environment variable Google's libraries read a service-account key's path from.
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
#: The scopes gspread asks for (read and write Sheets, and Drive for create/delete/metadata).
SCOPES: tuple[str, ...] = tuple(gspread.auth.DEFAULT_SCOPES)
#: The hosts gspread 6.2.1 calls; the emulator session sends all of them to one base URL.
GOOGLE_HOSTS: tuple[str, ...] = (
    "https://sheets.googleapis.com",
    "https://www.googleapis.com",
    "https://oauth2.googleapis.com",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

DEFAULT_MAX_WAIT = 120.0  # seconds of waiting, at most, for one call (all its retries)
DEFAULT_MAX_ATTEMPTS = 8  # one call and up to 7 retries: 1+2+4+8+16+32+32 s, about 95 s
DEFAULT_MAX_BACKOFF = 32.0  # Google's advice: 32 or 64 s
DEFAULT_TIMEOUT = (10.0, 300.0)  # connect, read: a big batchUpdate may take a while
DEFAULT_QUOTA_PER_MINUTE = 60  # Sheets' documented requests a minute per user

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Drive (not Sheets) answers some rate limits with 403 and one of these reasons; Google's
# Drive guide says to back off on them as on a 429.
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded",
                                 "RATE_LIMIT_EXCEEDED"})
_ID = re.compile(r"[A-Za-z0-9_-]{20,}")
_ID_IN_PATH = re.compile(r"/(?:v4/spreadsheets|drive/v[23]/files|upload/drive/v[23]/files)"
                         r"/([A-Za-z0-9_-]+)")


class CountingHTTPClient(HTTPClient):
    """gspread's HTTP client, counting calls and retrying by HTTP status.

    Counters (never reset by the client; read them before and after a run):

    - ``calls``: logical calls, one per :meth:`request`, whatever its retries and outcome;
    - ``retries``: extra attempts sent after a 429 or a 500/502/503/504;
    - ``attempts``: HTTP requests actually sent (``calls + retries``);
    - ``waited``: seconds of back-off asked of ``sleep`` in all.

    A 429 or 500/502/503/504 is retried after ``min(2**n + rng.uniform(0, 1), max_backoff)``
    seconds (n = 0 for the first retry), or after the answer's ``Retry-After`` (seconds or an
    HTTP date) when it sends one. One call makes at most ``max_attempts`` attempts and waits at
    most ``max_wait`` seconds in all: a wait that would pass that bound is not started; the
    call fails at once with the error of the last answer. The decision is by HTTP status
    alone (plus Drive's documented 403 rate-limit reasons); the body only words the error.

    ``account_email`` (the service account's, when known) is named in a 403's sentence.
    """

    def __init__(
        self,
        auth: Any,
        session: requests.Session | None = None,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        account_email: str | None = None,
    ) -> None:
        super().__init__(auth, session)
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_wait = float(max_wait)
        self.max_attempts = int(max_attempts)
        self.max_backoff = float(max_backoff)
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random()
        self.clock = clock
        self.account_email = account_email
        self.calls = 0
        self.retries = 0
        self.waited = 0.0

    @property
    def attempts(self) -> int:
        """HTTP requests sent: logical calls plus retries."""
        return self.calls + self.retries

    def backoff(self, n: int) -> float:
        """Google's advice for the n-th retry (n from 0): ``min(2**n + random ≤ 1 s, max)``."""
        return min(2.0**n + self.rng.uniform(0, 1), self.max_backoff)

    def request(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: FileType = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> requests.Response:
        self.calls += 1
        sid = _spreadsheet_of(endpoint)
        waited = 0.0
        attempt = 1
        while True:
            response = self._send(method, endpoint, params, data, json, files, headers, sid)
            if response.ok:
                return response
            status = response.status_code
            error = _error_body(response)
            retryable = status in RETRY_STATUSES or _is_rate_limit_403(status, error)
            if not retryable:
                raise _failure(response, error, sid, self.account_email, attempt)
            advised = _retry_after(response.headers.get("Retry-After"), self.clock)
            delay = 0.0
            if attempt < self.max_attempts:
                delay = advised if advised is not None else self.backoff(attempt - 1)
            if attempt >= self.max_attempts or waited + delay > self.max_wait:
                _log.warning("Google answered HTTP %s %s; giving up after %d attempts and "
                             "%.1f s of waiting", status, _where(sid), attempt, waited)
                raise _failure(response, error, sid, self.account_email, attempt,
                               retry_after=advised)
            _log.warning("Google answered HTTP %s %s; waiting %.1f s before attempt %d of %d",
                         status, _where(sid), delay, attempt + 1, self.max_attempts)
            response.close()
            self.sleep(delay)
            waited += delay
            self.waited += delay
            self.retries += 1
            attempt += 1

    def _send(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None,
        data: bytes | None,
        json: Mapping[str, Any] | None,
        files: FileType,
        headers: MutableMapping[str, str] | None,
        sid: str | None,
    ) -> requests.Response:
        """One attempt; a failure to get any answer at all becomes a ForecourtError (raised
        outside the ``except`` so that no exception quoting a token endpoint's answer or a URL
        stays attached to it)."""
        from google.auth.exceptions import RefreshError, TransportError

        failure: ForecourtError
        try:
            return self.session.request(method=method, url=endpoint, json=json, params=params,
                                        data=data, files=files, headers=headers,
                                        timeout=self.timeout)
        except RefreshError:
            who = f" for {self.account_email}" if self.account_email else ""
            failure = NoAccess(
                f"Google refused forecourt's credentials{who}: the key may have been deleted "
                "or revoked; create a new key for the service account and run again.")
        except requests.Timeout:
            failure = UnreadableWorkbook(
                f"Google Sheets did not answer in time {_where(sid)}: check the network and "
                "try again; the sheet may or may not have been changed.")
        except (requests.ConnectionError, TransportError) as exc:
            failure = UnreadableWorkbook(
                f"forecourt could not reach Google Sheets {_where(sid)} "
                f"({type(exc).__name__}): check the network and try again.")
        raise _tagged(failure, None)


def rewriting_session(base_url: str) -> requests.Session:
    """A ``requests.Session`` that sends every call to Google's API hosts (:data:`GOOGLE_HOSTS`)
    to ``base_url`` instead, with no credentials, and refuses any other address. ``base_url``
    must be on this machine (see :func:`emulator_base_url`)."""
    return _RewritingSession(emulator_base_url(base_url))


class _RewritingSession(requests.Session):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.trust_env = False  # no proxy from the environment, no .netrc credentials

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        for host in GOOGLE_HOSTS:
            if text == host or text.startswith(host + "/"):
                text = self.base_url + text[len(host):]
                break
        else:
            if not (text == self.base_url or text.startswith(self.base_url + "/")):
                raise ValueError(f"the emulator session sends nothing outside {self.base_url}")
        return super().request(method, text, *args, **kwargs)


def emulator_base_url(address: str) -> str:
    """The base URL of a local emulator (``http://127.0.0.1:8080``, ``localhost:8080``,
    ``http://[::1]:8080``), without a trailing slash. Raises ``ValueError`` for any host other
    than 127.0.0.1, localhost or ::1: the emulator switch sends no credentials and must never
    send a sheet's contents off this machine."""
    text = address.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or host is None:
        raise ValueError(f"{EMULATOR_ENV} must be an address like http://127.0.0.1:8080, "
                         f"not {_shown(address)}")
    local = host.lower() in LOCAL_HOSTS
    if not local:
        try:
            local = ipaddress.ip_address(host) == ipaddress.ip_address("::1")
        except ValueError:
            local = False
    if not local or parts.username is not None or parts.password is not None:
        raise ValueError(f"{EMULATOR_ENV} must point at this machine (127.0.0.1, localhost "
                         f"or ::1), not at {host}: an emulator gets no credentials and no "
                         "sheet may leave the machine through it")
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def make_client(
    credentials: str | Path | None = None,
    *,
    emulator: str | None = None,
    oauth: bool = False,
    max_wait: float = DEFAULT_MAX_WAIT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
    timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT,
) -> gspread.Client:
    """A ``gspread.Client`` whose ``http_client`` is a :class:`CountingHTTPClient`.

    The first of these that applies is used:

    1. ``emulator``, or the environment's ``FORECOURT_SHEETS_EMULATOR``: every Sheets and
       Drive call goes there (:func:`rewriting_session`), with no credentials at all;
       ``credentials`` is then ignored. A host other than 127.0.0.1/localhost/::1 raises
       ``ValueError`` (the CLI reports it as a usage error).
    2. ``credentials``: the path of a service-account JSON key.
    3. ``oauth=True``: gspread's OAuth flow for a personal account (its credentials and token
       files under ``~/.config/gspread``; opens a browser the first time).
    4. The environment's ``GOOGLE_APPLICATION_CREDENTIALS``: a service-account key's path.

    Missing, unreadable or wrong credentials raise :class:`~forecourt.errors.NoAccess` with
    one sentence that never quotes the file. The service account's e-mail is
    ``client.http_client.account_email`` (``None`` for the emulator and OAuth).
    """
    settings: dict[str, Any] = {"max_wait": max_wait, "max_attempts": max_attempts,
                                "sleep": sleep, "rng": rng}
    address = emulator if emulator is not None else os.environ.get(EMULATOR_ENV, "").strip()
    if address:
        base = emulator_base_url(address)
        client = gspread.Client(auth=None, session=_RewritingSession(base),
                                http_client=partial(CountingHTTPClient, **settings))
    elif credentials is not None and str(credentials).strip():
        client = _service_account_client(Path(credentials), "--credentials", settings)
    elif oauth:
        client = _oauth_client(settings)
    elif os.environ.get(CREDENTIALS_ENV, "").strip():
        client = _service_account_client(Path(os.environ[CREDENTIALS_ENV].strip()),
                                         CREDENTIALS_ENV, settings)
    else:
        raise _tagged(NoAccess(
            "no Google credentials: pass --credentials PATH to a service-account JSON key, "
            f"or set {CREDENTIALS_ENV}"), None)
    client.set_timeout(timeout)
    return client


def spreadsheet_id(id_or_url: str) -> str:
    """The spreadsheet id in a bare id or a Google Sheets URL (``/spreadsheets/d/ID/edit#gid=0``,
    with ``/u/0/`` or ``/a/DOMAIN/``, query strings, no scheme, the old ``?key=ID``, Drive's
    ``/file/d/ID`` and ``open?id=ID``). Raises ``ValueError`` with one sentence for anything
    else (a published ``/d/e/...`` link, a Docs or Slides URL, a file name, an empty string)."""
    text = (id_or_url or "").strip()
    if _ID.fullmatch(text):
        return text
    url = text if "://" in text else "https://" + text
    parts = urlsplit(url)
    host = (parts.hostname or "").lower() if parts.scheme in ("http", "https") else ""
    segments = [s for s in parts.path.split("/") if s]
    query = parse_qs(parts.query)
    if host == "docs.google.com":
        kind = next((s for s in segments if s in _DOCS_KINDS), None)
        if kind in ("spreadsheets", "spreadsheet"):
            if "d" in segments:
                after = segments[segments.index("d") + 1: segments.index("d") + 2]
                if after == ["e"]:
                    raise ValueError(
                        f"{_shown(text)} is a “Publish to the web” link, not the sheet's own "
                        "address: open the sheet and copy the URL from the address bar")
                if after and _ID.fullmatch(after[0]):
                    return after[0]
            for key in query.get("key", []):
                if _ID.fullmatch(key):
                    return key
        elif kind is not None:
            raise ValueError(f"{_shown(text)} is a Google {_DOCS_KINDS[kind]}, not a Google "
                             "Sheet: give the id or URL of a sheet")
    elif host == "drive.google.com":
        if "d" in segments:
            after = segments[segments.index("d") + 1: segments.index("d") + 2]
            if after and _ID.fullmatch(after[0]):
                return after[0]
        for key in query.get("id", []):
            if _ID.fullmatch(key):
                return key
    raise ValueError(f"{_shown(text)} is not a Google Sheet id or URL: copy the sheet's address "
                     "from the browser (https://docs.google.com/spreadsheets/d/…)")


_DOCS_KINDS = {"spreadsheets": "Sheet", "spreadsheet": "Sheet", "document": "Docs document",
               "presentation": "Slides presentation", "forms": "Form", "drawings": "Drawing"}


# --- credentials --------------------------------------------------------------------------
def _service_account_client(path: Path, source: str, settings: dict[str, Any]) -> gspread.Client:
    """A client signed by the service-account key at ``path``; NoAccess when it is not one.
    (``Credentials.from_service_account_file`` is ``json.load`` then ``..._info``: reading the
    file here first gives each failure its own sentence and keeps the contents out of it.)"""
    from google.oauth2.service_account import Credentials

    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _tagged(NoAccess(
            f"no Google credentials: the service-account key file {shown} does not exist "
            f"(from {source})"), None) from None
    except IsADirectoryError:
        raise _tagged(NoAccess(
            f"{shown} is a folder, not a service-account key file (from {source})"),
            None) from None
    except OSError as exc:
        raise _tagged(NoAccess(
            f"the service-account key file {shown} cannot be read ({_os_reason(exc)}): check "
            f"its permissions (from {source})"), None) from None
    try:
        info = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        info = None
    if not isinstance(info, dict):
        raise _tagged(NoAccess(
            f"{shown} is not a service-account key file (it is not JSON): download the key "
            "again from the Google Cloud console"), None)
    kind = info.get("type")
    if kind != "service_account":
        hint = ("; use the OAuth sign-in for a personal account"
                if kind == "authorized_user" else "")
        what = f"its type is {str(kind)[:40]!r}" if isinstance(kind, str) else "it has no type"
        raise _tagged(NoAccess(
            f"{shown} is not a service-account key file ({what}, not 'service_account'{hint})"),
            None)
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise _tagged(NoAccess(
            f"{shown} is not a service-account key file (it lacks {', '.join(missing)})"), None)
    creds = None
    with contextlib.suppress(Exception):  # what the key parser says may quote the key
        creds = Credentials.from_service_account_info(info, scopes=list(SCOPES))
    if creds is None:
        raise _tagged(NoAccess(
            f"{shown} is not a service-account key file (its private key cannot be read): "
            "download the key again from the Google Cloud console"), None)
    email_address = str(creds.service_account_email)
    return gspread.Client(auth=creds, http_client=partial(
        CountingHTTPClient, account_email=email_address, **settings))


def _oauth_client(settings: dict[str, Any]) -> gspread.Client:
    """gspread's OAuth flow for a personal account (not exercised by the tests: it needs a
    browser and a Google account)."""
    failure: ForecourtError
    try:
        return gspread.auth.oauth(scopes=list(SCOPES),
                                  http_client=partial(CountingHTTPClient, **settings))
    except FileNotFoundError:
        failure = NoAccess(
            "no Google credentials for the OAuth sign-in: save the OAuth client file from "
            "the Google Cloud console as ~/.config/gspread/credentials.json and run again")
    except (OSError, ValueError) as exc:  # a client file's text may hold its secret
        failure = NoAccess(
            f"the OAuth sign-in with Google failed ({type(exc).__name__}): sign in again")
    raise _tagged(failure, None)


# --- errors -------------------------------------------------------------------------------
def _failure(response: requests.Response, error: Mapping[str, Any], sid: str | None,
             account_email: str | None, attempts: int,
             retry_after: float | None = None) -> ForecourtError:
    """The one-sentence error for a failed answer, its APIError as the cause."""
    status = response.status_code
    message = _api_message(error)
    where = _where(sid)
    exc: ForecourtError
    if status == 429 or _is_rate_limit_403(status, error):
        service = "Google Drive" if "/drive/" in response.url else "Google Sheets"
        limit = _quota_limit(error)
        per = f"{limit} requests a minute per user" if service == "Google Sheets" else \
            "its per-user rate limit"
        again = "in a minute"
        if retry_after is not None and retry_after > 90:
            again = f"in {max(2, round(retry_after / 60))} minutes"
        exc = QuotaExhausted(f"the {service} quota is used up for now ({per}): try again "
                             f"{again}; nothing was written.")
    elif status in RETRY_STATUSES:
        times = "once" if attempts == 1 else f"{attempts} times in a row"
        exc = UnreadableWorkbook(f"Google's service failed {times} (HTTP {status}) {where}: "
                                 "try again later.")
    elif status == 401:
        exc = NoAccess(f"Google did not accept forecourt's credentials (HTTP 401) {where}: "
                       "check the service-account key, or sign in again.")
    elif status == 403 and _reason(error) in ("SERVICE_DISABLED", "accessNotConfigured"):
        exc = NoAccess("the Google Sheets and Drive APIs are not enabled for the Google Cloud "
                       "project of forecourt's account: enable them in the Cloud console and "
                       "run again.")
    elif status == 403:
        if sid and account_email:
            exc = NoAccess(f"the Google Sheet {sid} is not shared with {account_email}: share "
                           f"the sheet with {account_email} (Editor) and run again.")
        elif sid:
            exc = NoAccess(f"the Google Sheet {sid} is not shared with the account forecourt "
                           "uses: share it with that account (Editor) and run again.")
        else:
            exc = NoAccess(f"Google refused forecourt's account access (HTTP 403): {message}")
    elif status == 404:
        if sid:
            exc = NoAccess(f"no Google Sheet with the id {sid}: check the id or URL.")
        else:
            exc = NoAccess(f"Google found nothing at that address (HTTP 404): {message}")
    else:
        exc = UnreadableWorkbook(f"Google Sheets refused a request {where} (HTTP {status}): "
                                 f"{message}")
    _tagged(exc, status)
    exc.__cause__ = APIError(response)
    exc.__suppress_context__ = True
    return exc


def _tagged(exc: ForecourtError, status: int | None) -> ForecourtError:
    exc.http_status = status  # type: ignore[attr-defined]
    return exc


def _error_body(response: requests.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _api_message(error: Mapping[str, Any]) -> str:
    text = " ".join(str(error.get("message") or "").split())
    if not text:
        return "no reason given."
    if len(text) > 300:
        text = text[:299] + "…"
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _reason(error: Mapping[str, Any]) -> str | None:
    """The machine-readable reason: Sheets' ErrorInfo detail, or Drive's ``errors[0]``."""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    errors = error.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        return str(reason) if reason else None
    return None


def _is_rate_limit_403(status: int, error: Mapping[str, Any]) -> bool:
    return status == 403 and _reason(error) in _RATE_LIMIT_REASONS


def _quota_limit(error: Mapping[str, Any]) -> int:
    for detail in error.get("details") or []:
        metadata = detail.get("metadata") if isinstance(detail, dict) else None
        value = metadata.get("quota_limit_value") if isinstance(metadata, dict) else None
        if value is not None and str(value).isdigit():
            return int(value)
    return DEFAULT_QUOTA_PER_MINUTE


def _retry_after(value: str | None, clock: Callable[[], float]) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        seconds = moment.timestamp() - clock()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _spreadsheet_of(endpoint: str) -> str | None:
    match = _ID_IN_PATH.search(urlsplit(endpoint).path)
    return match.group(1) if match else None


def _where(sid: str | None) -> str:
    return f"for the Google Sheet {sid}" if sid else "for Google Sheets"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:79] + "…")


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()
