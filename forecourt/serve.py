"""``forecourt serve``: the server the spreadsheet menus call (Excel's VBA module, the Google
Sheet's Apps Script, Excel on the web's Office Script, through xlwings' open-source clients).

A menu first asks ``POST /tabs`` which tabs to send (the ones the last run of that workbook
read, when the server remembers them; else all), then sends the workbook to ``POST /run``
(the engine, as ``forecourt run``) or ``POST /sync`` (the two-way sync of the workbook and Sheet
the server was started with). The answer lists the actions the client applies: see
:mod:`forecourt.sync.payload`. Every request carries the token in its ``Authorization`` header
(compared in constant time); a refused, oversized or unreadable request, or a run that fails,
is answered with one sentence the client shows to the person who pressed the button.

Only the server side of the clients' protocol is here, written from what the BSD clients send
and accept: nothing of xlwings' own (non-BSD) server code is used.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from forecourt.errors import ForecourtError

_log = logging.getLogger("forecourt.serve")

#: the largest request accepted (the Office Script client cannot send more than 5 MB; a 10k
#: lead workbook from Excel is about 3 MB)
MAX_BYTES = 32 * 2**20
#: the browsers' origin of Office Scripts' fetch (Excel on the web)
OFFICE_SCRIPTS_ORIGIN = r"https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.officescripts\.microsoftusercontent\.com"
#: tabs forecourt writes itself: always sent, so that their content can be checked
GENERATED = ("KPI", "Issues", "Log", "Conflicts")


class Refused(Exception):
    """A request answered with ``status`` and the one sentence ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class SyncTarget:
    """The pair ``POST /sync`` syncs: the owner's workbook and the team's Sheet."""

    book: Path
    sheet: str
    credentials: Path | None = None
    oauth: bool = False
    backend: Any = None  # a Sheets backend to use instead (tests: the stand-in)


@dataclass
class ServeConfig:
    token: str
    as_of: dt.datetime | None = None
    max_bytes: int = MAX_BYTES
    allow_origin_regex: str | None = OFFICE_SCRIPTS_ORIGIN
    state: Path | None = None  # folder of the workbooks' memories (default: the state folder)
    sync: SyncTarget | None = None
    #: workbook -> (the tabs its last run needed, all its tabs then), kept while the server runs
    tabs: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorised(header: str | None, token: str) -> bool:
    """The ``Authorization`` header is the token (as the clients send it), or ``Bearer``
    and the token; compared in constant time."""
    given = (header or "").strip()
    if given[:7].lower() == "bearer ":
        given = given[7:].strip()
    try:  # the header's bytes (decoded as Latin-1 by the server): a UTF-8 token matches
        raw = given.encode("latin-1")
    except UnicodeEncodeError:
        raw = given.encode("utf-8")
    return hmac.compare_digest(raw, token.encode("utf-8"))


def create_app(token: str | None, *, as_of: dt.datetime | None = None,
               max_bytes: int = MAX_BYTES,
               allow_origin_regex: str | None = OFFICE_SCRIPTS_ORIGIN,
               state: Path | None = None, sync: SyncTarget | None = None) -> FastAPI:
    """The FastAPI application. ``token`` is required (None or empty refuses every request:
    a server is never open). ``as_of`` fixes the clock (tests, reports); ``state`` is the
    folder of the workbooks' memories; ``sync`` the pair ``/sync`` syncs."""
    config = ServeConfig(token or "", as_of, max_bytes, allow_origin_regex, state, sync)
    app = FastAPI(title="forecourt", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = config
    if allow_origin_regex:
        # Office Scripts' fetch runs in the browser: it sends a preflight, and reads the
        # answer only when the origin is allowed. Nothing else needs CORS.
        app.add_middleware(CORSMiddleware, allow_origin_regex=allow_origin_regex,
                           allow_methods=["POST"],
                           allow_headers=["Authorization", "Content-Type"],
                           allow_credentials=False, max_age=600)
    engine_lock = threading.Lock()

    async def body_of(request: Request) -> Any:
        if not config.token:
            raise Refused(503, "This forecourt server has no token set, so it refuses every "
                               "request: start it again with --token.")
        if not authorised(request.headers.get("authorization"), config.token):
            raise Refused(401, "The forecourt server refused the request: the token is "
                               "missing or wrong; set the token you were given (forecourt > "
                               "Set up…, or AUTH in xlwings.conf).")
        declared = request.headers.get("content-length")
        too_big = Refused(413, f"The workbook is too big to send ({_mb(config.max_bytes)} "
                               "at most): leave other tabs out, or start the server with a "
                               "larger --max-mb.")
        if declared is not None and declared.isdigit() and int(declared) > config.max_bytes:
            raise too_big
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_bytes:
                raise too_big
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise Refused(400, "The workbook arrived unreadable (not JSON): a cell showing a "
                               "newer Excel error such as #SPILL! or #CALC!, or a long number "
                               "typed as text, breaks what Excel sends; fix those cells, or "
                               "the request is not from the forecourt menu.") from None

    def refused(exc: Refused) -> PlainTextResponse:
        return PlainTextResponse(str(exc), status_code=exc.status)

    def failed(exc: Exception, what: str) -> PlainTextResponse:
        if isinstance(exc, ForecourtError):
            status = 409 if _busy(exc) else 422
            return PlainTextResponse(one_sentence(str(exc)), status_code=status)
        _log.exception("forecourt serve: %s failed", what)
        return PlainTextResponse(
            f"forecourt could not finish the {what} ({type(exc).__name__}); nothing was "
            "written. The server's log has the details for a bug report.", status_code=500)

    @app.post("/tabs")
    async def tabs(request: Request) -> Any:
        try:
            body = await body_of(request)
        except Refused as exc:
            return refused(exc)
        if not isinstance(body, dict) or not isinstance(body.get("sheets"), list):
            return refused(Refused(400, "The request does not list the workbook's sheets; "
                                        "nothing was done."))
        names = [str(n) for n in body["sheets"]]
        key = workbook_key(request.query_params.get("id"), str(body.get("book", "")))
        return JSONResponse({"include": include_for(config, key, names)})

    async def workbook_call(request: Request, what: str,
                            work: Callable[[Any, set[str] | None, str | None],
                                           list[dict[str, Any]]]) -> Any:
        try:
            body = await body_of(request)
        except Refused as exc:
            return refused(exc)
        sent_q = request.query_params.get("sent")
        sent = {s for s in sent_q.split(",") if s} if sent_q else None
        book_id = request.query_params.get("id") or None
        started = time.perf_counter()

        def locked() -> list[dict[str, Any]]:
            with engine_lock:
                return work(body, sent, book_id)
        try:
            actions = await run_in_threadpool(locked)
        except Refused as exc:
            return refused(exc)
        except Exception as exc:  # noqa: BLE001 - every failure is answered in one sentence
            return failed(exc, what)
        _log.info("forecourt serve: %s of %s: %d actions in %.2f s", what,
                  _book_name(body), len(actions), time.perf_counter() - started)
        return JSONResponse({"actions": actions})

    @app.post("/run")
    async def run_now(request: Request) -> Any:
        return await workbook_call(request, "run", lambda body, sent, book_id: run_payload(
            config, body, sent, book_id))

    @app.post("/sync")
    async def sync_now(request: Request) -> Any:
        return await workbook_call(request, "sync", lambda body, sent, book_id: sync_pair(
            config, body, sent, book_id))

    return app


def workbook_key(book_id: str | None, name: str) -> str:
    """Which workbook a request is about: the id the menu sends (the Google Sheet's id, the
    Excel workbook's full path), else its name."""
    return (book_id or "").strip()[:2000] or name


def run_payload(config: ServeConfig, body: Any, sent: set[str] | None,
                book_id: str | None = None) -> list[dict[str, Any]]:
    """The engine on the workbook of one request: the actions that write its result.

    The engine's memory is the workbook's own where the server can tell it: the file's
    ``BOOK.forecourt.sqlite`` when the Excel menu sends the full path of a workbook on this
    computer (under the file's run lock, as ``forecourt run`` takes it), the Sheet's when the
    Google menu sends its id (``forecourt run --sheet`` keeps the same one); else one kept by
    the workbook's id or name in the state folder."""
    from forecourt import locks
    from forecourt.engine import run
    from forecourt.errors import NoLeadsTab
    from forecourt.sync.backend import WorkbookId
    from forecourt.sync.payload import CLIENTS, PayloadBackend, Request

    request = Request.parse(body, sent)
    if request.client not in CLIENTS:
        raise Refused(400, f"forecourt does not know the client {request.client!r}: use the "
                           "files of `forecourt macros export`.")
    key = workbook_key(book_id, request.book)
    own = _store_path(config, WorkbookId("payload", key))  # the fills are kept beside it
    backend = PayloadBackend(request, key=key, colours=own.with_name(
        own.name.removesuffix(".forecourt.sqlite") + ".fills.json"))
    file = _workbook_file(request.client, book_id)
    if file is not None:
        store_path = _store_path(config, WorkbookId("file", str(file)))
    elif request.client == "Google Apps Script" and book_id and _SHEET_ID.match(book_id):
        store_path = _store_path(config, WorkbookId("sheet", book_id))
    else:
        store_path = own
    lock = locks.take_run_lock(file) if file is not None else None
    try:
        result = run(backend, as_of=config.as_of, state=store_path)
    except NoLeadsTab:
        if not backend.unsent:
            raise
        config.tabs.pop(key, None)  # send everything next time
        raise Refused(409, f"The leads tab of {request.book} was not among the tabs sent: "
                           "press the menu again, it then sends every tab.") from None
    finally:
        if lock is not None:
            lock.release()
    now = dt.datetime.strptime(result.outcome.summary["as_of"], "%Y-%m-%d %H:%M")
    if backend.unsent:
        config.tabs[key] = (needed_tabs(result.outcome, request),
                            config.tabs.get(key, ([], []))[1])
    else:  # the tabs it will have once the answer is applied: forecourt's own added
        config.tabs[key] = (needed_tabs(result.outcome, request), list(backend.sheets))
    return backend.answer(now)


_SHEET_ID = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def _workbook_file(client: str, book_id: str | None) -> Path | None:
    """The workbook file on this computer the Excel menu named by its full path, if any."""
    if client != "VBA" or not book_id:
        return None
    path = Path(book_id)
    try:
        found = path.is_absolute() and path.suffix.lower() in (".xlsx", ".xlsm") \
            and path.is_file()
    except OSError:
        return None
    return path if found else None


def _store_path(config: ServeConfig, owner: Any) -> Path:
    from forecourt.store import memory_store

    store = memory_store(owner)
    path = Path(str(store.path))
    if config.state is not None and owner.kind != "file":
        path = config.state / path.name
    return path


def needed_tabs(outcome: Any, request: Any) -> list[str]:
    """The tabs a run of this workbook reads: those the engine found, and forecourt's own."""
    found = outcome.summary.get("tabs") or {}
    names = {v for v in found.values() if isinstance(v, str)} if isinstance(found, dict) \
        else set()
    return [n for n, _ in request.sheets if n in names or _generated_name(n)]


def include_for(config: ServeConfig, key: str, sheets: list[str]) -> str:
    """The ``include`` list a client sends with: the tabs the last run of the workbook
    needed, when its tabs are still those of that run; else "" (every tab: a tab added or
    renamed since may be one forecourt reads). Also "" where the clients could not name a
    tab exactly (they split the list at commas and trim each name)."""
    needed, known = config.tabs.get(key, ([], []))
    if not needed or sorted(known) != sorted(sheets):
        return ""
    keep = set(needed) | {n for n in sheets if _generated_name(n)}
    if any("," in n or n != n.strip() or not n for n in keep):
        return ""
    return ",".join(n for n in sheets if n in keep)


def sync_pair(config: ServeConfig, body: Any, sent: set[str] | None,
              book_id: str | None = None) -> list[dict[str, Any]]:
    """The sync of the server's pair (``--book`` and ``--sheet``). The sync writes the Sheet
    itself; the workbook too when it is closed. Sent from that workbook open in Excel (the
    menu saves it first), the workbook's side is answered as actions instead."""
    from forecourt.errors import ExitCode
    from forecourt.sync.payload import PayloadBackend, Request
    from forecourt.syncjob import sync_once

    target = config.sync
    if target is None:
        raise Refused(404, "This forecourt server syncs nothing: start it with --book and "
                           "--sheet to use Sync now.")
    request = Request.parse(body, sent)
    if request.client == "Google Apps Script" and book_id and book_id not in target.sheet:
        raise Refused(409, "This Google Sheet is not the one this forecourt server syncs: "
                           "use Sync now in the team's Sheet, or Run now here.")
    workbook = PayloadBackend(request) \
        if request.client != "Google Apps Script" and request.book == target.book.name \
        else None
    code, report = sync_once(target.book, target.sheet, credentials=target.credentials,
                             oauth=target.oauth, as_of=config.as_of, backend=target.backend,
                             open_workbook=workbook)
    if code == ExitCode.PARTIAL:
        deferred = report.get("excel", {}).get("deferred") or \
            report.get("sheet", {}).get("deferred") or "one side was left for the next sync"
        raise Refused(409, one_sentence(f"Synced in part: {deferred}"))
    if code != ExitCode.OK:
        raise Refused(409 if code in (ExitCode.BUSY, ExitCode.QUOTA, ExitCode.LOCKED) else 422,
                      one_sentence(str(report.get("error") or "the sync failed")))
    if workbook is None or not report.get("excel", {}).get("written"):
        return []
    as_of = report.get("engine", {}).get("as_of")
    return workbook.answer(dt.datetime.strptime(as_of, "%Y-%m-%d %H:%M") if as_of
                           else config.as_of or dt.datetime.now())


def _generated_name(name: str) -> bool:
    return name in GENERATED or any(name == f"{g} (forecourt)" for g in GENERATED)


def _busy(exc: ForecourtError) -> bool:
    from forecourt.errors import RunUnderWay, WorkbookLocked

    return isinstance(exc, RunUnderWay | WorkbookLocked)


_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)([.!?])\s+(?=[A-Z])")


def one_sentence(text: str) -> str:
    """A message of several sentences as one (the menus show the text as it is)."""
    text = _sentence(text)
    return _SENTENCE_END.sub(lambda m: "; " if m.group(1) == "." else m.group(1) + " ",
                             text[:-1]) + text[-1:] if text else text


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    text = text[0].upper() + text[1:] if text else text
    return text if text.endswith((".", "!", "?")) else text + "."


def _mb(n: int) -> str:
    return f"{n / 2**20:g} MB"


def _book_name(body: Any) -> str:
    try:
        return str(body["book"]["name"])
    except (KeyError, TypeError):
        return "?"


def new_token() -> str:
    return secrets.token_urlsafe(24)
