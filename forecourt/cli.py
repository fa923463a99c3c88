"""The ``forecourt`` command: a thin face over the library (no logic of its own)."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from forecourt.errors import (
    CannotWrite,
    ChangedSinceRead,
    ConflictStop,
    ExitCode,
    ForecourtError,
    NeedsPerson,
    NoAccess,
    NoLeadsTab,
    QuotaExhausted,
    RunUnderWay,
    UnreadableWorkbook,
    WorkbookLocked,
    WorkbookMissing,
)
from forecourt.issues import CODES

# What each exit code means, in the words `forecourt --help` prints them (the README's table
# says the same at more length; a test keeps both equal to ExitCode).
EXIT_MEANINGS: dict[int, str] = {
    ExitCode.OK: "done (check, run: the workbook was read; problems in its rows are\n"
                 "reported, not fatal)",
    ExitCode.INTERNAL: "internal error, a bug: run again with --debug and report the traceback",
    ExitCode.USAGE: "wrong command-line arguments, or a file that is already there\n"
                    "(nothing was written; --force replaces it)",
    ExitCode.FILE_MISSING: "the workbook file does not exist",
    ExitCode.UNREADABLE: "not a readable workbook (empty, damaged, encrypted, not .xlsx, unsafe)",
    ExitCode.NO_LEADS: "no leads tab, or no recognisable header row in it",
    ExitCode.LOCKED: "the workbook is open in Excel: close it and run again (nothing was\n"
                     "written)",
    ExitCode.CANNOT_WRITE: "the workbook or its memory file could not be written (disk full):\n"
                           "nothing was changed",
    ExitCode.NEEDS_PERSON: "the workbook is read-only (the file, its folder or its memory\n"
                           "file): a person must act; trying again will not help",
    ExitCode.BUSY: "another run on this workbook is under way: try again later (nothing\n"
                   "was written)",
    ExitCode.NO_ACCESS: "the Google Sheet is not shared with forecourt's account, or does not\n"
                        "exist: share it (the message names the e-mail) and run again",
    ExitCode.QUOTA: "the Google Sheets quota is used up for now: try again later (nothing\n"
                    "was written)",
    ExitCode.CHANGED: "the workbook changed while forecourt worked on it (another program\n"
                      "saved it): nothing was written; run again",
    ExitCode.CONFLICT_STOP: "a safety stop of the sync (a side empty, mass deletions, a key\n"
                            "column gone): nothing was written; a person must look",
    ExitCode.PARTIAL: "the sync wrote one side and left the other for the next run (the\n"
                      "workbook open in Excel, or a side changed meanwhile): nothing lost",
}

# What 0 and 2 mean for one command, where the general words above would not fit it.
_WORDS_FOR: dict[str, dict[int, str]] = {
    "check": {ExitCode.OK: "the workbook was read (problems in its rows are reported, not "
                           "fatal)",
              ExitCode.USAGE: "wrong command-line arguments"},
    "run": {ExitCode.OK: "done: the workbook was read (problems in its rows are reported, "
                         "not fatal)",
            ExitCode.USAGE: "wrong command-line arguments"},
    "new": {ExitCode.OK: "done",
            ExitCode.USAGE: "wrong arguments, or the file is already there (nothing was\n"
                            "written; --force replaces it)",
            ExitCode.CANNOT_WRITE: "the file could not be written (a read-only folder, a\n"
                                   "full disk): nothing was written"},
    "demo": {ExitCode.OK: "done",
             ExitCode.USAGE: "wrong arguments, or the demo is already there (nothing was\n"
                             "written; --force replaces it)"},
    "columns": {ExitCode.OK: "done", ExitCode.USAGE: "wrong command-line arguments"},
    "codes": {ExitCode.OK: "done", ExitCode.USAGE: "wrong command-line arguments"},
    "serve": {ExitCode.OK: "stopped (Ctrl-C or SIGTERM)",
              ExitCode.USAGE: "wrong command-line arguments (another address than 127.0.0.1\n"
                              "without --token, a port in use, fastapi or uvicorn missing)"},
    "macros": {ExitCode.OK: "done",
               ExitCode.USAGE: "wrong arguments, or the folder is not empty (nothing was\n"
                               "written; --force writes into it), or xlwings is missing",
               ExitCode.CANNOT_WRITE: "the folder could not be written"},
    "sync": {ExitCode.OK: "synced: both sides hold the same (conflicts, if any, are listed\n"
                          "in the Conflicts tab); --status: the last sync succeeded",
             ExitCode.USAGE: "wrong command-line arguments"},
}

# The codes each command can return; its --help lists these and no others.
_ALWAYS = (ExitCode.OK, ExitCode.INTERNAL, ExitCode.USAGE)
_WRITES = (ExitCode.LOCKED, ExitCode.CANNOT_WRITE, ExitCode.NEEDS_PERSON, ExitCode.BUSY)
_READS = (ExitCode.FILE_MISSING, ExitCode.UNREADABLE, ExitCode.NO_LEADS)
COMMAND_CODES: dict[str, tuple[int, ...]] = {
    "new": _ALWAYS + (ExitCode.CANNOT_WRITE,),
    "demo": _ALWAYS + _WRITES,  # a workbook it has just written is there and readable
    "check": _ALWAYS + _READS,
    "run": _ALWAYS + _READS + _WRITES + (ExitCode.NO_ACCESS, ExitCode.QUOTA, ExitCode.CHANGED),
    "columns": _ALWAYS,
    "codes": _ALWAYS,
    "serve": _ALWAYS,
    "macros": _ALWAYS + (ExitCode.CANNOT_WRITE,),
    "sync": _ALWAYS + _READS + _WRITES + (ExitCode.NO_ACCESS, ExitCode.QUOTA, ExitCode.CHANGED,
                                          ExitCode.CONFLICT_STOP, ExitCode.PARTIAL),
}


def _codes_table(codes: Sequence[int], title: str, command: str | None = None) -> str:
    lines = [title]
    words = _WORDS_FOR.get(command or "", {})
    for code in codes:
        meaning = words.get(code, EXIT_MEANINGS[code]).replace("\n", "\n" + " " * 5)
        lines.append(f"  {code}  {meaning}")
    return "\n".join(lines) + "\n"


def _epilog(command: str, examples: Sequence[tuple[str, str]], extra: str = "") -> str:
    """A command's examples, anything else it needs to say, and the exit codes it can return."""
    lines = ["examples:"]
    for example, what in examples:
        lines += [f"  {example}", f"      {what}"]
    text = "\n".join(lines) + "\n\n" + (extra + "\n" if extra else "")
    return text + _codes_table(COMMAND_CODES[command],
                               "exit codes (all of them: forecourt --help):", command)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    """``1 error``, ``2 errors``; ``1 person``, ``3 people``."""
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _as_of(text: str) -> dt.datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"--as-of must look like 2026-11-23 14:05, not {text!r}")


def _check_report(book: Any) -> dict[str, Any]:
    return {
        "file": book.source,
        "language": book.language,
        "tabs": {k: (v.sheet if v else None) for k, v in book.tabs.items()},
        "header_rows": {
            k: v.header_row for k, v in book.tabs.items() if v is not None and k != "settings"
        },
        "columns": {
            k: v.columns for k, v in book.tabs.items() if v is not None and k != "settings"
        },
        "mapping": _mapping(book),
        "counts": {"leads": len(book.leads), "stock": len(book.stock), "team": len(book.team)},
        "errors": sum(i.severity == "error" for i in book.issues),
        "warnings": sum(i.severity == "warning" for i in book.issues),
        "issues": [i.to_dict() for i in book.issues],
    }


def _mapping(book: Any) -> dict[str, list[dict[str, Any]]]:
    """Per tab, every column as read: header, field (None: kept as the dealer's) and why."""
    from forecourt.sync.base import column_index

    out: dict[str, list[dict[str, Any]]] = {}
    for kind, info in book.tabs.items():
        if info is None or kind == "settings":
            continue
        rows = [{"column": letter, "header": info.how.get(fld, ("", "", ""))[2], "field": fld,
                 "how": info.how.get(fld, ("header", "", ""))[0],
                 "why": info.how.get(fld, ("", "", ""))[1]}
                for fld, letter in info.columns.items()]
        rows += [{"column": letter, "header": header, "field": None,
                  "how": "settings" if header in info.ignored else None,
                  "why": f"'Column: {header}' = ignore" if header in info.ignored else None}
                 | _ambiguous(header, info.ambiguous.get(header))
                 for header, letter in info.extra.items()]
        out[kind] = sorted(rows, key=lambda r: column_index(r["column"]))
    return out


def _ambiguous(header: str, fields: tuple[str, ...] | None) -> dict[str, Any]:
    if not fields:
        return {}
    named = " or ".join(f.replace("_", " ") for f in fields)
    return {"how": "unsure", "why": f"could be {named}: a Settings row 'Column: {header}' "
                                    "with the field says which"}


def print_mapping(book: Any, out: Any = sys.stdout) -> None:
    """How each column was read, so a dealer can see (and correct in Settings) every guess."""
    for kind, rows in _mapping(book).items():
        info = book.tabs[kind]
        print(f"\ncolumns of {info.sheet!r} (header row {info.header_row}):", file=out)
        for r in rows:
            header = (r["header"] or "")[:28]
            if r["field"] is None:
                why = f" ({r['how']}: {r['why']})" if r["how"] else ""
                print(f"  {r['column']:<3} {header:<28} kept as it is{why}", file=out)
                continue
            why = "" if r["how"] == "header" else f" ({r['how']}: {r['why']})"
            print(f"  {r['column']:<3} {header:<28} -> {r['field'].replace('_', ' ')}{why}",
                  file=out)


def print_issues(issues: Sequence[Any], limit: int | None, out: Any = sys.stdout) -> None:
    """Issues grouped by sheet as a table a person reads."""
    by_sheet: dict[str, list[Any]] = {}
    for issue in issues:
        by_sheet.setdefault(issue.sheet or "(workbook)", []).append(issue)
    for sheet, items in by_sheet.items():
        errors = sum(i.severity == "error" for i in items)
        print(f"\n{sheet}: {_plural(errors, 'error')}, "
              f"{_plural(len(items) - errors, 'warning')}", file=out)
        print(f"  {'cell':<8} {'severity':<8} {'code':<20} message", file=out)
        for issue in items[:limit] if limit else items:
            print(
                f"  {issue.cell or '-':<8} {issue.severity:<8} {issue.code:<20} {issue.message}",
                file=out,
            )
        if limit and len(items) > limit:
            print(f"  ... and {len(items) - limit} more (use --all or --json)", file=out)


def cmd_check(args: argparse.Namespace) -> int:
    from forecourt.sync.xlsx import PendingTabs

    pending = PendingTabs(args.book)  # read while pandas and pandera import
    from forecourt.book import load_book

    progress = _Progress() if sys.stderr.isatty() and not args.json else None
    try:
        book = load_book(pending.result(), as_of=args.as_of, progress=progress)
    finally:
        if progress:
            progress.finish()
    from forecourt.sync.twoway import private_column_issues

    book.issues += private_column_issues(book)
    if args.json:
        # One line, no indent: json's C encoder (an indent makes it use the Python one).
        sys.stdout.write(json.dumps(_check_report(book), ensure_ascii=False, default=str))
        print()
        return ExitCode.OK
    tabs = ", ".join(
        f"{k} = {v.sheet!r} (header row {v.header_row})"
        if k != "settings"
        else f"settings = {v.sheet!r}"
        for k, v in book.tabs.items()
        if v
    )
    print(
        f"{book.source}: {_plural(len(book.leads), 'lead')}, {_plural(len(book.stock), 'car')}, "
        f"{_plural(len(book.team), 'person', 'people')}; language {book.language}"
    )
    print(f"tabs: {tabs}")
    print_mapping(book)
    if not book.issues:
        print("no problems found")
    else:
        errors = len(book.errors)
        print(f"{_plural(errors, 'error')}, {_plural(len(book.issues) - errors, 'warning')}")
        print_issues(book.issues, None if args.all else 50)
    return ExitCode.OK


class _Progress:
    """Stage messages with a bar on a terminal; silent otherwise (cron logs stay clean)."""

    STAGES = ("reading", "validating", "deciding", "writing")

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.done = 0

    def __call__(self, message: str) -> None:
        for k, stage in enumerate(self.STAGES):
            if message.startswith(stage):
                self.done = max(self.done, k + 1)
        width = 20
        filled = width * self.done // len(self.STAGES)
        bar = "#" * filled + "-" * (width - filled)
        print(
            f"\r[{bar}] {time.monotonic() - self.start:5.1f}s {message[:50]:<50}",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def finish(self) -> None:
        print("\r" + " " * 90 + "\r", end="", file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    if (args.book is None) == (args.sheet is None):
        print("forecourt run: name a workbook file or --sheet ID_OR_URL (one of them)",
              file=sys.stderr)
        return ExitCode.USAGE
    if args.sheet is not None and args.out is not None:
        print("forecourt run: --out is for a workbook file, not for --sheet", file=sys.stderr)
        return ExitCode.USAGE
    if args.sheet is None:
        from forecourt.sync.xlsx import PendingTabs

        target: Any = args.book
        pending: Any = PendingTabs(args.book)  # read while pandas and pandera import
    else:
        from forecourt.sync.sheets import SheetsBackend

        try:
            target = SheetsBackend(args.sheet, credentials=args.credentials, oauth=args.oauth)
            pending = None
        except ValueError as exc:  # not a Sheet's id or URL; an emulator not on this computer
            print(f"forecourt run: {exc}", file=sys.stderr)
            return ExitCode.USAGE
    from forecourt.engine import run

    progress = _Progress() if sys.stderr.isatty() and not args.json else None
    try:
        result = run(
            target,
            tabs=pending,
            as_of=args.as_of,
            out=args.out,
            dry_run=args.dry_run,
            state=args.state,
            progress=progress,
        )
    finally:
        if progress:
            progress.finish()
    summary = result.outcome.summary
    if args.sheet is not None:
        summary["api_calls"] = target.api_calls
        summary["retries"] = target.retries
    summary["written"] = result.written
    summary["output"] = str(result.path)
    summary["backup"] = str(result.backup) if result.backup else None
    summary["state"] = str(result.state) if result.state else None
    if args.json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
        print()
        return ExitCode.OK
    overall = summary["kpi"]["overall"]
    print(
        f"{summary['file']} as of {summary['as_of']}: {_plural(summary['leads'], 'lead')} "
        f"({summary['open']} open), {_plural(summary['stock'], 'car')}"
    )
    print(
        f"  overdue {summary['overdue']} · due soon {summary['due_soon']} · stalled "
        f"{summary['stalled']} · owners assigned now {summary['assigned']}"
    )
    rate, median = overall.get("sla_met"), overall.get("median_first_response_min")
    if summary["kpi"].get("first_response_known", True):
        response = (f"SLA met {'-' if rate is None else f'{rate:.0%}'}, median first response "
                    f"{'-' if median is None else median} min")
    else:
        response = "SLA met and first response not known (no first-response column)"
    print(f"  last {_plural(summary['kpi']['window']['days'], 'day')}: "
          f"{_plural(overall.get('leads') or 0, 'lead')}, {response}")
    print(f"  {_plural(summary['errors'], 'error')}, {_plural(summary['warnings'], 'warning')} "
          "(see the Issues sheet)")
    skipped = summary.get("skipped") or []
    if skipped:
        print(f"  {_plural(len(skipped), 'cell')} left as they are: changed in the workbook "
              "while forecourt worked (a person's entry wins; the next run takes them up)")
    if args.dry_run:
        print("  dry run: nothing was written")
    elif result.written and summary.get("only_generated"):
        names = summary["changed_sheets"] or ["generated"]
        sheets = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        print(f"  updated the {sheets} {'sheets' if len(names) > 1 else 'sheet'} of "
              f"{result.path} (figures as of "
              f"{summary['as_of']}); none of your own cells changed, so the backup was kept")
    elif result.written:
        where = f", previous version in {result.backup}" if result.backup else ""
        print(f"  wrote {result.path} ({_plural(summary['cells_written'], 'cell')}){where}")
    else:
        print(f"  {result.path} was already up to date: nothing written")
    return ExitCode.OK


def cmd_sync(args: argparse.Namespace) -> int:
    from forecourt import syncjob

    if args.status:
        return _sync_status(args)
    if args.book is None or args.sheet is None:
        print("forecourt sync: name the workbook file and --sheet ID_OR_URL", file=sys.stderr)
        return ExitCode.USAGE
    try:
        every = syncjob.parse_every(args.every) if args.every else None
    except ValueError as exc:
        print(f"forecourt sync: --every: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    progress = _Progress() if sys.stderr.isatty() and not args.json and every is None \
        else None

    def once() -> tuple[int, dict[str, Any]]:
        try:
            return syncjob.sync_once(args.book, args.sheet, credentials=args.credentials,
                                     oauth=args.oauth, as_of=args.as_of,
                                     allow_mass_delete=args.allow_mass_delete,
                                     prefer=args.prefer, progress=progress)
        finally:
            if progress:
                progress.finish()

    if every is not None:
        if args.json:
            return _every_json(syncjob, every, once)
        return syncjob.run_every(every, once)
    code, report = once()
    if report.get("result") == "failed":
        print(f"forecourt: {report.get('error')}", file=sys.stderr)
    if args.json:
        syncjob.print_json(report)
        return code
    if report.get("result") == "failed":
        return code
    _print_sync(report)
    return code


def _every_json(syncjob: Any, every: Any, once: Any) -> int:
    """--every with --json: one JSON object per run, one per line."""
    def logged() -> tuple[int, dict[str, Any]]:
        code, report = once()
        syncjob.print_json(report)
        return code, report

    return syncjob.run_every(every, logged, log=lambda text: print(text, file=sys.stderr,
                                                                   flush=True))


def _print_sync(report: dict[str, Any]) -> None:
    for side, label in (("excel", report["book"]), ("sheet", "the Google Sheet")):
        r = report[side]
        took = f"{_plural(r['cells_taken'], 'cell')} and {_plural(r['rows_taken'], 'row')}"
        if r.get("deferred"):
            print(f"  {label}: not written this time: {r['deferred']}")
        elif r.get("written") and not r["cells_written"]:
            print(f"  {label}: none of its cells changed, only forecourt's tabs (KPI, Issues, "
                  f"Log, Conflicts); it brought {took}")
        elif r.get("written"):
            print(f"  {label}: {_plural(r['cells_written'], 'cell')} written; it brought "
                  f"{took}")
        else:
            print(f"  {label}: already up to date; it brought {took}")
    n = report.get("conflict_count", 0)
    if n:
        print(f"  {_plural(n, 'conflict')}: both sides changed a cell differently; see the "
              "Conflicts tab")
    for note in report.get("notes", []):
        print(f"  note: {note}")
    print(f"  {report.get('sheet', {}).get('api_calls')} Sheets API calls, "
          f"{report.get('seconds')} s")


def _sync_status(args: argparse.Namespace) -> int:
    from forecourt import syncjob
    from forecourt.sync.sheets_client import spreadsheet_id
    from forecourt.sync.twoway import read_status, sync_paths

    if args.book is None or args.sheet is None:
        print("forecourt sync --status: name the workbook file and --sheet ID_OR_URL",
              file=sys.stderr)
        return ExitCode.USAGE
    try:
        paths = sync_paths(args.book, spreadsheet_id(args.sheet))
    except ValueError as exc:
        print(f"forecourt sync: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    status = read_status(paths.status)
    if status is None:
        print(f"no sync of {args.book} with that Sheet has run yet ({paths.status} is not "
              "there)")
        return ExitCode.OK
    age = syncjob.lock_age_hours(paths.base)
    text, loud = syncjob.status_text(status, age)
    if args.json:
        syncjob.print_json({**status, "lock_age_hours": age, "attention": loud})
    else:
        print(text)
    return int(status.get("exit", 0)) if status.get("result") == "failed" else ExitCode.OK


def cmd_new(args: argparse.Namespace) -> int:
    from forecourt.starter import write_starter

    path = Path(args.path)
    if path.suffix.lower() != ".xlsx":
        print(f"forecourt new: {path} must end in .xlsx", file=sys.stderr)
        return ExitCode.USAGE
    if path.exists() and not args.force:
        print(
            f"forecourt new: {path} already exists; nothing was written (use --force to "
            "replace it).",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    try:
        write_starter(path, args.language)
    except OSError as exc:
        raise CannotWrite(f"{path} could not be written ({exc.strerror or exc}); nothing was "
                          "written (is the folder read-only, or the disk full?).",
                          path=path) from exc
    print(f"wrote {path} (Leads, Stock, Team and Settings tabs, language {args.language})")
    return ExitCode.OK


def cmd_demo(args: argparse.Namespace) -> int:
    from forecourt.memory import state_path
    from forecourt.sync.xlsx import backup_path

    folder = Path(args.dir)
    path = folder / f"forecourt-demo-{args.language}.xlsx"
    # The demo's memory and backup belong to the demo: an old demo's memory would change what a
    # new one shows, so --force replaces all three and nothing replaces any of them without it.
    beside = (state_path(path), backup_path(path))
    there = [p for p in (path, *beside) if p.exists()]
    if there and not args.force:
        print(
            f"forecourt demo: {there[0]} already exists; nothing was written (use --force to "
            "replace the demo, or name another folder: forecourt demo DIR).",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    from forecourt.demo import demo_as_of, generate_demo

    folder.mkdir(parents=True, exist_ok=True)
    for old in beside:
        old.unlink(missing_ok=True)
    as_of = demo_as_of(args.as_of)
    generate_demo(path, args.leads, seed=args.seed, as_of=as_of, language=args.language)
    print(f"wrote {path} ({_plural(args.leads, 'lead')})")
    run_args = argparse.Namespace(
        book=path, as_of=as_of, json=False, out=None, dry_run=False, state=None, sheet=None,
        credentials=None, oauth=False,
    )
    return cmd_run(run_args)


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    try:
        import uvicorn

        from forecourt import serve
    except ImportError:
        print("forecourt serve: needs fastapi and uvicorn: pip install 'forecourt[addin]'",
              file=sys.stderr)
        return ExitCode.USAGE
    gc.enable()  # a long-running server: entry() turned the collector off for short runs
    token = args.token or os.environ.get("FORECOURT_TOKEN") or ""
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            print(f"forecourt serve: cannot read --token-file: {exc}", file=sys.stderr)
            return ExitCode.USAGE
    if not token and not serve.is_loopback(args.host):
        print(f"forecourt serve: refusing to listen on {args.host} without a token: give "
              "--token, --token-file or FORECOURT_TOKEN (anyone who reaches the address could "
              "otherwise run forecourt on your workbooks)", file=sys.stderr)
        return ExitCode.USAGE
    if not token:
        token = serve.new_token()
        print(f"forecourt serve: no token given; this run's token is {token}\n"
              "  (give it to the menus: forecourt > Set up…, or AUTH in xlwings.conf)",
              file=sys.stderr)
    if (args.book is None) != (args.sheet is None):
        print("forecourt serve: --book and --sheet go together (the pair Sync now syncs)",
              file=sys.stderr)
        return ExitCode.USAGE
    target = serve.SyncTarget(args.book, args.sheet, args.credentials, args.oauth) \
        if args.book is not None else None
    app = serve.create_app(token, as_of=args.as_of, max_bytes=int(args.max_mb * 2**20),
                           allow_origin_regex=None if args.no_cors
                           else serve.OFFICE_SCRIPTS_ORIGIN,
                           state=args.state, sync=target)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(f"forecourt serve: listening on http://{args.host}:{args.port} (Ctrl-C stops)",
          file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                    server_header=False)
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        print(f"forecourt serve: could not listen on {args.host}:{args.port} (in use?)",
              file=sys.stderr)
        return ExitCode.USAGE if exc.code else ExitCode.OK
    return ExitCode.OK


def cmd_macros(args: argparse.Namespace) -> int:
    from forecourt.macros import XlwingsMissing, export

    try:
        written = export(args.dir, force=args.force)
    except (FileExistsError, XlwingsMissing) as exc:
        print(f"forecourt macros: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except OSError as exc:
        print(f"forecourt macros: cannot write {args.dir}: {exc}", file=sys.stderr)
        return ExitCode.CANNOT_WRITE
    for path in written:
        print(path)
    print(f"forecourt macros: {_plural(len(written), 'file')} written; each folder's "
          "README.md says how to install them", file=sys.stderr)
    return ExitCode.OK


def cmd_codes(_args: argparse.Namespace) -> int:
    for code, (severity, meaning) in CODES.items():
        print(f"{code:<22} {severity:<8} {meaning}")
    return ExitCode.OK


TABS = ("leads", "stock", "team")
LANGUAGE_NAMES = {"en": "English", "de": "German", "pl": "Polish"}
_WIDTH = 79  # fixed, so the output is the same in a terminal, a pipe and the README
_FIELD = 18  # width of the field column

# After the lists: what else is read, and how a dealer names a column forecourt does not know.
COLUMNS_FOOTER = (
    'Case, accents and punctuation do not matter ("E-MAIL" is "Email"). A header with other '
    'words around one of these ("Customer phone no.") or a near miss ("Telefonnumer") is read '
    "too, and a column whose header says nothing may be read by its contents: `forecourt "
    "check BOOK.xlsx` shows how each column of your workbook was read.",
    'To say what a column is, add a row to the Settings tab: in column A "Column:" and the '
    "header as it is on the tab, in column B the field (as listed above, such as received at, "
    'or any of its headers). "ignore" in column B keeps the column as yours, unread. "Spalte:" '
    'and "Kolumna:" work too. For example:',
)
COLUMNS_EXAMPLE = """\
  Column: Woher kam er     source
  Column: Farbe            ignore"""


def _wrapped(items: Sequence[str], first: str, indent: int) -> list[str]:
    """``first``, then ``items`` joined by commas, wrapped between items (never inside one)."""
    lines: list[str] = []
    line, fresh = first, True
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else "")
        if not fresh and len(line) + 1 + len(piece) > _WIDTH:
            lines.append(line)
            line, fresh = " " * indent, True
        line += piece if fresh else " " + piece
        fresh = False
    lines.append(line)
    return lines


def _names(names: Sequence[str]) -> str:
    """``A, B or C``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def cmd_columns(args: argparse.Namespace) -> int:
    from forecourt.validators.vocabulary import FIELDS_BY_TAB, LANGUAGES, TAB_NAMES

    languages = [args.language] if args.language else list(LANGUAGES)
    in_words = LANGUAGE_NAMES[args.language] + " headers" if args.language else \
        "headers in " + _names([LANGUAGE_NAMES[lang] for lang in languages])
    for kind in [args.tab] if args.tab else TABS:
        names = list(dict.fromkeys(n for lang in languages for n in TAB_NAMES[kind][lang]))
        intro = (f"The {kind} tab: a sheet named {_names(names)}, or found by its contents. "
                 f"Its columns by the field forecourt reads from them ({in_words}; the first "
                 "is the one forecourt writes):")
        print(textwrap.fill(intro, _WIDTH))
        for fld, by_lang in FIELDS_BY_TAB[kind].items():
            for k, lang in enumerate(languages):
                label = fld.replace("_", " ") if k == 0 else ""
                prefix = f"{lang}: " if len(languages) > 1 else ""
                first = f"  {label:<{_FIELD}} " + prefix
                if len(label) > _FIELD:  # never wider than the column
                    print(f"  {label}")
                    first = " " * (_FIELD + 3) + prefix
                for line in _wrapped(by_lang.get(lang, ()), first, len(first)):
                    print(line)
        print()
    print("\n\n".join(textwrap.fill(p, _WIDTH, break_on_hyphens=False) for p in COLUMNS_FOOTER))
    print(COLUMNS_EXAMPLE)
    return ExitCode.OK


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("forecourt")
        except PackageNotFoundError:  # run from a source tree that was never installed
            from forecourt import __version__ as number
        print(f"forecourt {number}")
        parser.exit()


DESCRIPTION = """\
forecourt keeps a small used-car dealer's leads in order inside the Excel
workbook they already use. Every open lead gets an owner, a next action and a
due time under your SLAs (service levels: the time you promise to answer in,
e.g. 5 minutes for a WhatsApp message, counted in opening hours only); late
work turns red; a KPI sheet (key figures: how many leads came in, how fast they
were answered, how many got an appointment, how many were won) shows where
leads leak. forecourt keeps a memory file (BOOK.forecourt.sqlite beside the
workbook: what it wrote into which cell), so it never overwrites what a person
typed. Your own columns, sheets and formatting stay exactly as they are."""

EPILOG = """\
a first hour with forecourt:
  forecourt demo                 see it work on a made-up dealer's workbook
  forecourt new Leads.xlsx       start a workbook of your own (or keep yours)
  forecourt check Leads.xlsx     see how forecourt reads it; changes nothing
  forecourt run Leads.xlsx       owners, due times, Issues and KPI sheets
  forecourt columns --tab leads  the headers forecourt knows; how to name others

The rules (statuses, opening hours, the SLA table, who gets a lead, the KPIs,
the Settings tab) are in docs/rules.md of forecourt's source.

""" + _codes_table(sorted(EXIT_MEANINGS), "exit codes:")


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="forecourt", description=DESCRIPTION, epilog=EPILOG, formatter_class=raw
    )
    debug = "show the full traceback instead of a one-sentence message (for a bug report)"
    # SUPPRESS: a --debug before the command must not be reset by the command's own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug)
    parser.add_argument("--version", action=_Version, help="print forecourt's version and exit")
    parser.add_argument("--debug", action="store_true", help=debug)
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND",
                                help="one of these; `forecourt COMMAND --help` explains it")

    def command(name: str, summary: str, description: str, examples: Sequence[tuple[str, str]],
                extra: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=summary,
                              description=textwrap.fill(" ".join(description.split()), _WIDTH),
                              epilog=_epilog(name, examples, extra), formatter_class=raw)

    as_of_help = "treat this moment as now (default: the clock)"
    new = command(
        "new",
        "write a starter workbook (Leads, Stock, Team and Settings tabs)",
        "Write a starter workbook to fill in: Leads, Stock, Team and Settings tabs with\n"
        "headers in your language, frozen header rows, dropdowns for statuses, sources and\n"
        "yes/no columns, one example person on the Team tab, and on the Settings tab the\n"
        "default opening hours and SLA table (SLA: the time you promise to answer a lead\n"
        "in, counted in opening hours). An existing file is never replaced without --force.",
        [("forecourt new Leads.xlsx", "an English starter workbook"),
         ("forecourt new Anfragen.xlsx --language de", "the same in German")],
    )
    new.add_argument("path", type=Path, help="where to write it (a name ending in .xlsx)")
    new.add_argument("--language", choices=("en", "de", "pl"), default="en",
                     help="language of the tab names, headers and texts (default en)")
    new.add_argument("--force", action="store_true", help="replace the file if it exists")
    new.set_defaults(func=cmd_new)

    demo = command(
        "demo",
        "write a made-up dealer's workbook and run forecourt on it",
        "Write a made-up dealer's workbook, DIR/forecourt-demo-LANG.xlsx (leads from\n"
        "WhatsApp, portals, phone calls and walk-ins, stock, a team of four, settings, and\n"
        "the mistakes real workbooks hold), its dates around now, then do `forecourt run`\n"
        "on it, to see what forecourt does before you give it your own. The run\n"
        "leaves a memory file (forecourt-demo-LANG.forecourt.sqlite beside the workbook: what\n"
        "forecourt wrote into which cell) and a backup, as it does for your workbook. An\n"
        "existing demo is never replaced without --force.",
        [("forecourt demo", "writes and runs demo/forecourt-demo-en.xlsx"),
         ("forecourt demo --language de --leads 1000", "a bigger German one"),
         ("forecourt demo --force", "start the demo again from scratch")],
    )
    demo.add_argument("dir", nargs="?", default="demo",
                      help="folder to write it in (default ./demo)")
    demo.add_argument("--leads", type=int, default=300, metavar="N",
                      help="how many leads (default 300)")
    demo.add_argument("--language", choices=("en", "de", "pl"), default="en",
                      help="language of the workbook (default en)")
    demo.add_argument("--seed", type=int, default=7, metavar="N",
                      help="another number makes other made-up data (default 7)")
    demo.add_argument("--as-of", type=_as_of, default=None, metavar="'YYYY-MM-DD HH:MM'",
                      help="the demo's now (default: now, to the minute)")
    demo.add_argument("--force", action="store_true",
                      help="replace an existing demo workbook, its memory file and backup")
    demo.set_defaults(func=cmd_demo)

    check = command(
        "check",
        "read a workbook and list its problems (changes nothing)",
        "Read a workbook and show what forecourt makes of it, changing nothing: which sheet\n"
        "is which tab, how each column was read (by its header, by the words in it, as a\n"
        "near miss, by its contents, or by a Settings row 'Column: <header>' = <field or\n"
        "ignore>), and every problem, grouped by sheet, with its cell. A row with problems\n"
        "is kept and flagged, never dropped.",
        [("forecourt check Leads.xlsx", "the columns and the first 50 problems of each sheet"),
         ("forecourt check Leads.xlsx --all", "every problem"),
         ("forecourt check Leads.xlsx --json | jq .errors", "the number of errors")],
        extra=textwrap.fill("issue codes: " + ", ".join(CODES), _WIDTH,
                            break_on_hyphens=False)
        + "\n(`forecourt codes` explains each)\n",
    )
    check.add_argument("book", type=Path, help="the .xlsx or .xlsm workbook")
    check.add_argument("--json", action="store_true",
                       help="print one JSON object on one line instead of the report")
    check.add_argument("--all", action="store_true",
                       help="list every problem (default: 50 per sheet)")
    check.add_argument("--as-of", type=_as_of, default=None, metavar="'YYYY-MM-DD HH:MM'",
                       help=as_of_help + "; a lead received after it is a future-lead")
    check.set_defaults(func=cmd_check)

    run_p = command(
        "run",
        "give leads owners, next actions and due times; write Issues, KPI and Log sheets",
        "Do the work on the workbook, in place. Open leads without an owner get one from\n"
        "the Team tab, in fair rotation; open leads get a next action and a due time under\n"
        "the SLAs (service levels: the time you promise to answer in, e.g. 5 minutes for a\n"
        "WhatsApp message, counted in opening hours; the table is on the Settings tab);\n"
        "late work is marked; the Issues, KPI (key figures: leads, response times,\n"
        "appointments, wins) and Log sheets are written. What a person typed always wins:\n"
        "forecourt fills empty cells and later changes only what it wrote. Only forecourt's own\n"
        "columns and sheets change. The previous version is kept as BOOK.forecourt.bak.xlsx\n"
        "beside it, and so is the memory file (BOOK.forecourt.sqlite: what forecourt wrote\n"
        "into which cell, each lead's status history, the owner rotation).",
        [("forecourt run Leads.xlsx", "the day's work, written into Leads.xlsx"),
         ("forecourt run Leads.xlsx --dry-run", "what it would do; writes nothing"),
         ('forecourt run Leads.xlsx --as-of "2026-11-23 10:00" --out Test.xlsx',
          "as if it were that moment, into another file"),
         ("forecourt run --sheet 1AbC...xyz --credentials key.json",
          "the same on the team's Google Sheet (shared with the key's e-mail)")],
        extra="For a scheduler: 6 and 9 mean try again later; 3-5, 7 and 8 need a person.\n",
    )
    run_p.add_argument("book", type=Path, nargs="?", default=None,
                       help="the .xlsx or .xlsm workbook (or --sheet)")
    run_p.add_argument("--sheet", default=None, metavar="ID_OR_URL",
                       help="run on the team's Google Sheet instead of a file (its id, or its "
                            "URL as the browser shows it)")
    run_p.add_argument("--credentials", type=Path, default=None, metavar="PATH",
                       help="the Google service-account key (JSON) for --sheet (default: "
                            "GOOGLE_APPLICATION_CREDENTIALS); share the Sheet with its e-mail")
    run_p.add_argument("--oauth", action="store_true",
                       help="for --sheet: sign in with your own Google account instead (a "
                            "browser opens the first time; gspread keeps the token)")
    run_p.add_argument("--as-of", type=_as_of, default=None, metavar="'YYYY-MM-DD HH:MM'",
                       help=as_of_help + ", for reports you can reproduce")
    run_p.add_argument("--out", type=Path, default=None, metavar="PATH",
                       help="write the result here and leave BOOK as it is")
    run_p.add_argument("--dry-run", action="store_true",
                       help="decide and report, write nothing")
    run_p.add_argument("--json", action="store_true",
                       help="print one JSON object on one line instead of the summary")
    run_p.add_argument("--state", type=Path, default=None, metavar="PATH",
                       help="keep the memory file here (default: BOOK.forecourt.sqlite beside "
                            "the output; for --sheet, in your state folder, by the Sheet's id)")
    run_p.set_defaults(func=cmd_run)

    sync_p = command(
        "sync",
        "two-way sync of the Excel workbook and the team's Google Sheet",
        "Bring the owner's Excel workbook and the team's Google Sheet to the same content:\n"
        "rows matched by key (lead id; VIN for stock; name for the team), each cell merged\n"
        "against the last sync (one side changed it: taken; both changed it differently: a\n"
        "conflict, kept by the Settings row 'Sync conflicts' and listed in the Conflicts tab\n"
        "on both sides). Then the engine runs once on the result and both sides are written,\n"
        "only the cells that differ. A new, empty Sheet gets the workbook's tabs. Columns\n"
        "named in the Settings row 'Private columns' never leave the workbook. Safety stops\n"
        "(exit 13, nothing written): a side empty or unreadable, more than half of a side's\n"
        "rows deleted, a key column gone. The last sync's content is kept beside the workbook\n"
        "(BOOK.sync-ID.forecourt.sqlite) with a status file (BOOK.sync-ID.status.json), as\n"
        "is the memory file (BOOK.forecourt.sqlite: what forecourt wrote into which cell).",
        [("forecourt sync Leads.xlsx --sheet 1AbC...xyz --credentials key.json",
          "one sync"),
         ("forecourt sync Leads.xlsx --sheet 1AbC...xyz --every 10m",
          "a sync every 10 minutes until Ctrl-C or SIGTERM (the current one finishes)"),
         ("forecourt sync Leads.xlsx --sheet 1AbC...xyz --status",
          "how the last sync went")],
        extra="For a scheduler: 14 is fine (the next run completes it); 6, 9, 11 and 12 mean\n"
              "try again later; 3-5, 7, 8, 10 and 13 need a person.\n",
    )
    sync_p.add_argument("book", type=Path, nargs="?", default=None,
                        help="the owner's .xlsx or .xlsm workbook")
    sync_p.add_argument("--sheet", default=None, metavar="ID_OR_URL",
                        help="the team's Google Sheet (its id, or its URL)")
    sync_p.add_argument("--credentials", type=Path, default=None, metavar="PATH",
                        help="the Google service-account key (JSON) (default: "
                             "GOOGLE_APPLICATION_CREDENTIALS); share the Sheet with its e-mail")
    sync_p.add_argument("--oauth", action="store_true",
                        help="sign in with your own Google account instead")
    sync_p.add_argument("--as-of", type=_as_of, default=None, metavar="'YYYY-MM-DD HH:MM'",
                        help=as_of_help)
    sync_p.add_argument("--prefer", choices=("excel", "sheet"), default=None,
                        help="whose value a conflict keeps (default: the Settings row 'Sync "
                             "conflicts', else excel)")
    sync_p.add_argument("--allow-mass-delete", action="store_true",
                        help="let through the deletion of more than half of a side's rows")
    sync_p.add_argument("--every", default=None, metavar="INTERVAL",
                        help="keep syncing at this interval (10m, 90s, 1h), with 10%% jitter, "
                             "one log line per sync, until stopped")
    sync_p.add_argument("--status", action="store_true",
                        help="print how the last sync of this pair went, and exit")
    sync_p.add_argument("--json", action="store_true",
                        help="print one JSON object per sync instead of the summary")
    sync_p.set_defaults(func=cmd_sync)

    serve_p = command(
        "serve",
        "the server the spreadsheet menus call (Run now, Sync now)",
        "Answer the forecourt menus of Excel, Excel on the web and Google Sheets (installed\n"
        "from `forecourt macros export`): Run now sends the workbook, forecourt runs on it\n"
        "and answers with the changes the menu writes into the open workbook; Sync now\n"
        "syncs the --book and --sheet pair. Every request must carry the token. It listens\n"
        "on 127.0.0.1 unless told otherwise; Google's servers cannot reach that: for the\n"
        "Google menu, put it behind a public HTTPS address (README).",
        [("forecourt serve", "on http://127.0.0.1:8765 with a token it prints"),
         ("forecourt serve --token-file token.txt --book Leads.xlsx --sheet 1AbC...xyz",
          "with Sync now for that pair"),
         ("forecourt serve --host 0.0.0.0 --port 8080 --token-file token.txt",
          "reachable from other machines (behind an HTTPS proxy)")],
    )
    serve_p.add_argument("--host", default="127.0.0.1",
                         help="the address to listen on (default 127.0.0.1: this machine only)")
    serve_p.add_argument("--port", type=int, default=8765, help="the port (default 8765)")
    serve_p.add_argument("--token", default=None,
                         help="the token the menus send (default: FORECOURT_TOKEN, else a new "
                              "one, printed, on 127.0.0.1 only)")
    serve_p.add_argument("--token-file", type=Path, default=None, metavar="PATH",
                         help="read the token from this file (keeps it out of the process list)")
    serve_p.add_argument("--max-mb", type=float, default=32.0, metavar="MB",
                         help="the largest workbook accepted, in MB (default 32)")
    serve_p.add_argument("--no-cors", action="store_true",
                         help="refuse Excel on the web's Office Scripts (no CORS answers)")
    serve_p.add_argument("--book", type=Path, default=None,
                         help="the owner's workbook Sync now syncs (with --sheet)")
    serve_p.add_argument("--sheet", default=None, metavar="ID_OR_URL",
                         help="the team's Google Sheet Sync now syncs (with --book)")
    serve_p.add_argument("--credentials", type=Path, default=None, metavar="PATH",
                         help="the Google service-account key for --sheet")
    serve_p.add_argument("--oauth", action="store_true",
                         help="for --sheet: your own Google account instead")
    serve_p.add_argument("--state", type=Path, default=None, metavar="DIR",
                         help="keep the memory files (what forecourt wrote into which cell) of "
                              "the menus' workbooks in this folder (default: your state folder)")
    serve_p.add_argument("--as-of", type=_as_of, default=None, metavar="'YYYY-MM-DD HH:MM'",
                         help=as_of_help + " (tests)")
    serve_p.set_defaults(func=cmd_serve)

    macros = command(
        "macros",
        "write the menus' files for Excel, Excel on the web and Google Sheets",
        "`forecourt macros export DIR` writes, in DIR/excel, DIR/excel-web and DIR/google,\n"
        "the files that put a forecourt menu into the spreadsheet (Run now, Sync now) and\n"
        "stamp First response, Last contact and Status since when a status changes, each\n"
        "folder with a README that says how to install them step by step. xlwings'\n"
        "open-source client files come from the installed xlwings package.",
        [("forecourt macros export menus", "writes menus/excel, menus/excel-web, menus/google")],
    )
    macros.add_argument("action", choices=("export",), metavar="action",
                        help="export: write the files")
    macros.add_argument("dir", type=Path, help="the folder to write them in")
    macros.add_argument("--force", action="store_true",
                        help="write into a folder that is not empty (replacing those files)")
    macros.set_defaults(func=cmd_macros)

    columns = command(
        "columns",
        "list the column headers forecourt knows, per field and language",
        "List the column headers forecourt understands, field by field, in English, German\n"
        "and Polish, for the leads, stock and team tabs; and how to tell forecourt what a\n"
        "column is when its header is none of them (a Settings row 'Column: <header>' with\n"
        "the field beside it).",
        [("forecourt columns --language de --tab leads", "the German headers of the leads tab"),
         ("forecourt columns --tab team", "the team tab's headers in every language")],
    )
    columns.add_argument("--language", choices=("en", "de", "pl"), default=None,
                         help="only the headers in this language (default: all three)")
    columns.add_argument("--tab", choices=TABS, default=None,
                         help="only this tab (default: all three)")
    columns.set_defaults(func=cmd_columns)

    codes = command(
        "codes",
        "list the issue codes check reports",
        "List every issue code `forecourt check` reports (and `forecourt run` writes on the\n"
        "Issues sheet), with its severity, error or warning, and what it means.",
        [("forecourt codes", "the whole list"),
         ("forecourt codes | grep vin", "the VIN problems")],
    )
    codes.set_defaults(func=cmd_codes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `forecourt` alone: what it is and what it can do
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(args.func(args))
    except ForecourtError as exc:
        if args.debug:
            raise
        print(f"forecourt: {exc}", file=sys.stderr)
        return exit_code_of(exc)
    except KeyboardInterrupt:
        print("forecourt: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (`forecourt codes | head`): fine
        return ExitCode.OK
    except Exception as exc:  # a bug: say so plainly, keep the traceback for --debug
        if args.debug:
            raise
        print(
            f"forecourt: internal error ({type(exc).__name__}: {exc}). Run again with "
            "--debug and report the traceback.",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL


#: Python's switch interval for the command. A run's second threads (reading, inflating,
#: compressing, saving the memory) work outside the GIL but need it back after each call into
#: C; with the default 5 ms they wait that long each time while the main thread computes, and
#: the compressing thread fell so far behind that a 10k book's write took as long with it as
#: without it (write phase 183 -> 150 ms at 0.2 ms). Set here, not in the library: a program
#: that calls ``forecourt.run`` keeps its own.
SWITCH_INTERVAL = 0.0002


_EXIT_CODE_OF: dict[type[ForecourtError], int] = {
    WorkbookMissing: ExitCode.FILE_MISSING,
    UnreadableWorkbook: ExitCode.UNREADABLE,
    NoLeadsTab: ExitCode.NO_LEADS,
    WorkbookLocked: ExitCode.LOCKED,
    CannotWrite: ExitCode.CANNOT_WRITE,
    NeedsPerson: ExitCode.NEEDS_PERSON,
    RunUnderWay: ExitCode.BUSY,
    NoAccess: ExitCode.NO_ACCESS,
    QuotaExhausted: ExitCode.QUOTA,
    ChangedSinceRead: ExitCode.CHANGED,
    ConflictStop: ExitCode.CONFLICT_STOP,
}


def exit_code_of(exc: ForecourtError) -> int:
    """The command's exit code for an error: the nearest class in :data:`_EXIT_CODE_OF`
    (an error of a kind the table does not know is a bug)."""
    for cls in type(exc).__mro__:
        if cls in _EXIT_CODE_OF:
            return _EXIT_CODE_OF[cls]
    return ExitCode.INTERNAL


def entry() -> NoReturn:
    """The ``forecourt`` command and ``python -m forecourt``: :func:`main`, then exit at once.

    A big run leaves hundreds of MB of objects, and freeing them one by one at interpreter
    exit takes longer than reading a small workbook. Nothing is left to clean up by then (the
    workbook is renamed into place, the memory committed, every file closed), so the process
    flushes its output and ends with ``os._exit``.

    Python's switch interval is shortened (:data:`SWITCH_INTERVAL`) and its cyclic garbage
    collector is off for the command: a run's cells and frames hold no
    reference cycles worth collecting (a 100k run peaks at the same memory either way), and its
    scans of millions of new objects took a tenth of a 10k run. (A command that keeps running,
    such as a loop, must turn it back on.)
    """
    gc.disable()
    sys.setswitchinterval(SWITCH_INTERVAL)
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (`forecourt codes | head`): nobody reads
        pass
    os._exit(code)


if __name__ == "__main__":
    entry()
