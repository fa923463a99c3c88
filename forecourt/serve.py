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
    #: book name -> the tabs its last run needed (kept while the server runs)
    tabs: dict[str, list[str]] = field(default_factory=dict)


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
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


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
        except (ValueError, UnicodeDecodeError):
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
        return JSONResponse({"include": include_for(config, str(body.get("book", "")),
                                                    names)})

    async def workbook_call(request: Request, what: str,
                            work: Callable[[Any, set[str] | None], list[dict[str, Any]]]
                            ) -> Any:
        try:
            body = await body_of(request)
        except Refused as exc:
            return refused(exc)
        sent_q = request.query_params.get("sent")
        sent = {s.strip() for s in sent_q.split(",") if s.strip()} if sent_q else None
        started = time.perf_counter()

        def locked() -> list[dict[str, Any]]:
            with engine_lock:
                return work(body, sent)
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
        return await workbook_call(request, "run", lambda body, sent: run_payload(
            config, body, sent))

    @app.post("/sync")
    async def sync_now(request: Request) -> Any:
        return await workbook_call(request, "sync", lambda body, sent: sync_pair(
            config, body, sent))

    return app


def run_payload(config: ServeConfig, body: Any, sent: set[str] | None
                ) -> list[dict[str, Any]]:
    """The engine on the workbook of one request: the actions that write its result."""
    from forecourt.engine import run
    from forecourt.errors import NoLeadsTab
    from forecourt.store import memory_store, state_folder
    from forecourt.sync.payload import CLIENTS, PayloadBackend, Request, colours_path

    request = Request.parse(body, sent)
    if request.client not in CLIENTS:
        raise Refused(400, f"forecourt does not know the client {request.client!r}: use the "
                           "files of `forecourt macros export`.")
    folder = config.state or state_folder()
    backend = PayloadBackend(request, colours=colours_path(folder, request.book))
    store = memory_store(backend.identity)
    if config.state is not None:
        store = memory_store(backend.identity,
                             folder / Path(str(store.path)).name)  # type: ignore[arg-type]
    try:
        result = run(backend, as_of=config.as_of, state=store.path)
    except NoLeadsTab:
        if not backend.unsent:
            raise
        config.tabs.pop(request.book, None)  # send everything next time
        raise Refused(409, f"The leads tab of {request.book} was not among the tabs sent: "
                           "press the menu again, it then sends every tab.") from None
    now = dt.datetime.strptime(result.outcome.summary["as_of"], "%Y-%m-%d %H:%M")
    config.tabs[request.book] = needed_tabs(result.outcome, request)
    return backend.answer(now)


def needed_tabs(outcome: Any, request: Any) -> list[str]:
    """The tabs a run of this workbook reads: those the engine found, and forecourt's own."""
    found = outcome.summary.get("tabs") or {}
    names = {v for v in found.values() if isinstance(v, str)} if isinstance(found, dict) \
        else set()
    return [n for n, _ in request.sheets if n in names or _generated_name(n)]


def include_for(config: ServeConfig, book: str, sheets: list[str]) -> str:
    """The ``include`` list a client sends with: the tabs the last run of ``book`` needed,
    when they are all still there; else "" (every tab)."""
    needed = config.tabs.get(book)
    if not needed or any(n not in sheets or "," in n for n in needed):
        return ""
    keep = set(needed) | {n for n in sheets if _generated_name(n)}
    if any("," in n for n in keep):
        return ""
    return ",".join(n for n in sheets if n in keep)


def sync_pair(config: ServeConfig, body: Any, sent: set[str] | None) -> list[dict[str, Any]]:
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
