"""``forecourt sync``: one sync of a workbook and a Sheet, or a scheduled job of them.

One run (:func:`sync_once`) syncs, writes the pair's status file and returns the exit code. The
job (:func:`run_every`) repeats it every interval with jitter until SIGTERM or Ctrl-C, which let
the current run finish; it logs one line per run, and waits longer (doubling, up to an hour)
while the Sheets quota answers 429, so a group of stores on one account backs off as one.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forecourt.errors import ExitCode, ForecourtError

#: runs that failed in a row before the log and --status say so loudly
LOUD_FAILURES = 3
#: syncs in a row that left a side for later (the workbook open in Excel for hours) before
#: the log and --status say so loudly
LOUD_DEFERRED = 6
#: a sync lock older than this is reported loudly
OLD_LOCK_HOURS = 24.0
MAX_BACKOFF = dt.timedelta(hours=1)


def parse_every(text: str) -> dt.timedelta:
    """``10m``, ``90s``, ``1h``, ``1h30m``, or a number of minutes."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return dt.timedelta(minutes=float(text))
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", text)
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", text):
        raise ValueError(f"cannot read the interval {text!r}: use e.g. 10m, 90s or 1h")
    unit = {"h": 3600, "m": 60, "s": 1}
    seconds = sum(float(n) * unit[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError("the interval must be longer than 0")
    return dt.timedelta(seconds=seconds)


def sync_once(book: Path, sheet_ref: str, *, credentials: Path | None = None,
              oauth: bool = False, as_of: dt.datetime | None = None,
              allow_mass_delete: bool = False, prefer: str | None = None,
              progress: Callable[[str], None] | None = None,
              backend: Any = None, open_workbook: Any = None) -> tuple[int, dict[str, Any]]:
    """Sync once; (exit code, the report printed by ``--json``). The status file is updated
    whatever happens. ``open_workbook``: see :func:`forecourt.sync.twoway.sync`."""
    from forecourt.sync.twoway import sync, sync_paths, write_status

    started = dt.datetime.now().astimezone()
    report: dict[str, Any] = {"book": str(book), "sheet_id": sheet_ref,
                              "started": started.isoformat(timespec="seconds")}
    paths = None
    try:
        if backend is None:
            from forecourt.sync.sheets import SheetsBackend

            backend = SheetsBackend(sheet_ref, credentials=credentials, oauth=oauth)
        paths = sync_paths(book, str(backend.identity))
        if not book.exists():
            from forecourt.errors import WorkbookMissing

            raise WorkbookMissing(f"{book} does not exist; nothing was written.", path=book)
        result = sync(book, backend, as_of=as_of, allow_mass_delete=allow_mass_delete,
                      prefer=prefer, paths=paths, progress=progress,
                      open_workbook=open_workbook)
        report.update(result.to_dict())
        report["sheet_id"] = str(backend.identity)
        report["sheet"]["api_calls"] = backend.api_calls
        report["sheet"]["drive_calls"] = getattr(backend, "drive_calls", 0)
        code = ExitCode.OK if result.complete else ExitCode.PARTIAL
        report["result"] = "synced" if result.complete else "deferred"
    except ForecourtError as exc:
        from forecourt.cli import exit_code_of

        code = exit_code_of(exc)
        report["result"] = "failed"
        report["error"] = str(exc)
    except ValueError as exc:  # not a Sheet's id or URL; an emulator not on this computer
        code = ExitCode.USAGE
        report["result"] = "failed"
        report["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug: a scheduled job logs it and goes on
        import traceback

        code = ExitCode.INTERNAL
        report["result"] = "failed"
        report["error"] = (f"internal error ({type(exc).__name__}: {exc}); please report it "
                           "with this traceback")
        report["traceback"] = traceback.format_exc()
    report["exit"] = int(code)
    if backend is not None:
        report["sheet_api_calls"] = backend.api_calls
    finished = dt.datetime.now().astimezone()
    report["seconds"] = round((finished - started).total_seconds(), 2)
    if paths is not None:
        status = write_status(
            paths.status, last_run=started.isoformat(timespec="seconds"),
            result=report["result"], exit=int(code), error=report.get("error"),
            seconds=report["seconds"], book=str(book), sheet=report["sheet_id"],
            counts=_counts(report), conflicts_open=_open_conflicts(paths.base, as_of),
            deferred=[s for s in ("excel", "sheet")
                      if isinstance(report.get(s), dict) and report[s].get("deferred")])
        report["consecutive_failures"] = status["consecutive_failures"]
        report["consecutive_deferred"] = status["consecutive_deferred"]
        report["status_file"] = str(paths.status)
    return int(code), report


def _counts(report: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for side in ("excel", "sheet"):
        r = report.get(side)
        if isinstance(r, dict):
            out[side] = {k: r.get(k) for k in ("rows_taken", "cells_taken", "cells_written",
                                               "written")}
    out["conflicts"] = report.get("conflict_count", 0)
    return out


def _open_conflicts(base: Path, as_of: dt.datetime | None) -> int:
    from forecourt.sync.sync_base import load_conflicts
    from forecourt.sync.twoway import CONFLICT_DAYS

    now = as_of or dt.datetime.now()
    return len({c[1:4] for c in load_conflicts(base, now - dt.timedelta(days=CONFLICT_DAYS))})


def line(report: dict[str, Any]) -> str:
    """One log line for a run."""
    when = report.get("started", "")
    result = report.get("result", "?")
    if result == "failed":
        return f"{when} failed (exit {report.get('exit')}): {report.get('error')}"
    parts = []
    for side, label in (("excel", "workbook"), ("sheet", "Sheet")):
        r = report.get(side) or {}
        if r.get("deferred"):
            parts.append(f"{label} deferred ({r['deferred']})")
        else:
            parts.append(f"{label} {r.get('cells_written', 0)} cells written")
    calls = report.get("sheet_api_calls")
    return (f"{when} {result}: {'; '.join(parts)}; {report.get('conflict_count', 0)} "
            f"conflicts; {calls} Sheets API calls; {report.get('seconds')} s")


def status_text(status: dict[str, Any], lock_age_hours: float | None) -> tuple[str, bool]:
    """``--status`` for a person, and whether something needs one (loud)."""
    lines = [f"last run {status.get('last_run', 'never')}: {status.get('result', '?')} "
             f"(exit {status.get('exit', '?')})"]
    if status.get("error"):
        lines.append(f"  {status['error']}")
    if status.get("last_success"):
        lines.append(f"  last successful sync {status['last_success']}")
    lines.append(f"  conflicts open: {status.get('conflicts_open', 0)}")
    failures = int(status.get("consecutive_failures", 0))
    loud = failures >= LOUD_FAILURES
    if loud:
        lines.append(f"  ATTENTION: the last {failures} syncs failed in a row")
    deferred = int(status.get("consecutive_deferred", 0))
    if deferred >= LOUD_DEFERRED:
        loud = True
        lines.append(f"  ATTENTION: the last {deferred} syncs could not write "
                     f"{' and '.join(status.get('deferred') or ['a side'])} (open in Excel, or "
                     "changing while the sync worked): close it so the sync can finish")
    if lock_age_hours is not None and lock_age_hours > OLD_LOCK_HOURS:
        loud = True
        lines.append(f"  ATTENTION: the sync lock is {lock_age_hours:.0f} hours old: a sync "
                     "hangs, or was killed on another computer")
    return "\n".join(lines), loud


def lock_age_hours(base: Path) -> float | None:
    from forecourt.locks import Holder, run_lock_path

    holder = Holder.read(run_lock_path(base))
    if holder is None:
        return None
    return (dt.datetime.now() - holder.started).total_seconds() / 3600


def run_every(every: dt.timedelta, once: Callable[[], tuple[int, dict[str, Any]]], *,
              jitter: float = 0.1, log: Callable[[str], None] | None = None,
              runs: int | None = None) -> int:
    """Call ``once`` every ``every`` (plus or minus ``jitter`` of it) until SIGTERM or
    Ctrl-C; the exit code of the last run. ``runs``: stop after that many (tests)."""
    import gc

    gc.enable()  # the command turns it off for one run; a loop must not grow without end
    say = log or (lambda text: print(text, flush=True))
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    code = ExitCode.OK
    backoff = dt.timedelta(0)
    done = 0
    try:
        while not stop.is_set():
            code, report = once()
            done += 1
            say(line(report))
            if report.get("consecutive_failures", 0) >= LOUD_FAILURES:
                say(f"ATTENTION: the last {report['consecutive_failures']} syncs failed in a "
                    "row; see forecourt sync --status")
            if report.get("consecutive_deferred", 0) >= LOUD_DEFERRED:
                say(f"ATTENTION: the last {report['consecutive_deferred']} syncs could not "
                    "write one side (open in Excel?); see forecourt sync --status")
            if runs is not None and done >= runs:
                break
            if code == ExitCode.QUOTA:
                backoff = min(max(backoff * 2, every), MAX_BACKOFF)
                say(f"the Sheets quota is used up: waiting {backoff} before the next sync")
            else:
                backoff = dt.timedelta(0)
            wait = (every + backoff).total_seconds()
            wait *= 1 + random.uniform(-jitter, jitter)
            stop.wait(max(wait, 1.0))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stop.is_set():
        say("stopped")
    return int(code)


def print_json(report: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(report, ensure_ascii=False, default=str))
    print()
