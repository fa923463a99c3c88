"""The ``forecourt`` command: a thin face over the library (no logic of its own)."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from forecourt.errors import ExitCode, ForecourtError
from forecourt.issues import CODES

EXIT_CODES_HELP = """exit codes:
  0  the workbook was read (row problems are reported, not fatal)
  1  internal error (a bug: run again with --debug and report the traceback)
  2  wrong command-line arguments
  3  the workbook file does not exist
  4  not a readable workbook (empty, damaged, encrypted, not .xlsx, unsafe)
  5  no leads tab, or no recognisable header row in it
  6  the workbook is open in Excel: close it and run again (nothing was written)
  7  the workbook or its memory could not be written (disk full, read-only folder);
     nothing was changed
"""


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
        print(f"\n{sheet}: {errors} errors, {len(items) - errors} warnings", file=out)
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
        f"{book.source}: {len(book.leads)} leads, {len(book.stock)} cars, "
        f"{len(book.team)} people; language {book.language}"
    )
    print(f"tabs: {tabs}")
    print_mapping(book)
    if not book.issues:
        print("no problems found")
    else:
        errors = len(book.errors)
        print(f"{errors} errors, {len(book.issues) - errors} warnings")
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
    from forecourt.sync.xlsx import PendingTabs

    pending = PendingTabs(args.book)  # read while pandas and pandera import
    from forecourt.engine import run

    progress = _Progress() if sys.stderr.isatty() and not args.json else None
    try:
        result = run(
            args.book,
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
        f"{summary['file']} as of {summary['as_of']}: {summary['leads']} leads "
        f"({summary['open']} open), {summary['stock']} cars"
    )
    print(
        f"  overdue {summary['overdue']} · due soon {summary['due_soon']} · stalled "
        f"{summary['stalled']} · owners assigned now {summary['assigned']}"
    )
    rate = overall.get("sla_met")
    print(
        f"  last {summary['kpi']['window']['days']} days: {overall.get('leads', 0)} leads, "
        f"SLA met {'-' if rate is None else f'{rate:.0%}'}, median first response "
        f"{overall.get('median_first_response_min') or '-'} min"
    )
    print(f"  {summary['errors']} errors, {summary['warnings']} warnings (see the Issues sheet)")
    if args.dry_run:
        print("  dry run: nothing was written")
    elif result.written and summary.get("only_generated"):
        names = summary["changed_sheets"] or ["generated"]
        sheets = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        print(f"  updated the {sheets} sheets of {result.path} (figures as of "
              f"{summary['as_of']}); none of your own cells changed, so the backup was kept")
    elif result.written:
        where = f", previous version in {result.backup}" if result.backup else ""
        print(f"  wrote {result.path} ({summary['cells_written']} cells){where}")
    else:
        print(f"  {result.path} was already up to date: nothing written")
    return ExitCode.OK


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
    write_starter(path, args.language)
    print(f"wrote {path} (Leads, Stock, Team and Settings tabs, language {args.language})")
    return ExitCode.OK


def cmd_demo(args: argparse.Namespace) -> int:
    from forecourt.demo import generate_demo

    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"forecourt-demo-{args.language}.xlsx"
    as_of = args.as_of or dt.datetime(2026, 11, 23, 10, 0)
    generate_demo(path, args.leads, seed=args.seed, as_of=as_of, language=args.language)
    print(f"wrote {path} ({args.leads} leads)")
    run_args = argparse.Namespace(
        book=path, as_of=as_of, json=False, out=None, dry_run=False, state=None
    )
    return cmd_run(run_args)


def cmd_codes(_args: argparse.Namespace) -> int:
    for code, (severity, meaning) in CODES.items():
        print(f"{code:<22} {severity:<8} {meaning}")
    return ExitCode.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forecourt",
        description="Dealer-CRM discipline inside your own spreadsheet.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES_HELP,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser(
        "check",
        parents=[common],
        help="read a workbook and list its problems (changes nothing)",
        description="Read a workbook, show how each column was read (by its header, by the\n"
        "words in it, as a near miss, by its contents, or by a Settings row\n"
        "'Column: <header>' = <field or ignore>) and list its problems grouped by sheet.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES_HELP
        + "\nissue codes: "
        + ", ".join(CODES)
        + "\n(`forecourt codes` explains each)",
    )
    check.add_argument("book", type=Path, help="the .xlsx or .xlsm workbook")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--all", action="store_true", help="list every problem (default: 50 per sheet)"
    )
    check.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        metavar="'YYYY-MM-DD HH:MM'",
        help="treat this as now (default: the clock)",
    )
    check.set_defaults(func=cmd_check)

    run_p = sub.add_parser(
        "run",
        parents=[common],
        help="fill owners, next actions and due times; flag late work; write KPI and Issues",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Edits the workbook in place (only the columns and sheets forecourt owns); "
        "the previous version is kept as BOOK.forecourt.bak.xlsx and the engine's memory in "
        "BOOK.forecourt.sqlite beside it.",
        epilog=EXIT_CODES_HELP,
    )
    run_p.add_argument("book", type=Path, help="the .xlsx or .xlsm workbook")
    run_p.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        metavar="'YYYY-MM-DD HH:MM'",
        help="treat this as now, for reproducible reports (default: the clock)",
    )
    run_p.add_argument(
        "--out", type=Path, default=None, help="write the result here instead of replacing BOOK"
    )
    run_p.add_argument("--dry-run", action="store_true", help="decide and report, write nothing")
    run_p.add_argument("--json", action="store_true", help="print one JSON object")
    run_p.add_argument(
        "--state",
        type=Path,
        default=None,
        help="the memory file (default: BOOK.forecourt.sqlite beside the output)",
    )
    run_p.set_defaults(func=cmd_run)

    new = sub.add_parser(
        "new", parents=[common], help="write a starter workbook (Leads, Stock, Team, Settings)"
    )
    new.add_argument("path", type=Path, help="where to write it (.xlsx)")
    new.add_argument("--language", choices=("en", "de", "pl"), default="en")
    new.add_argument("--force", action="store_true", help="replace an existing file")
    new.set_defaults(func=cmd_new)

    demo = sub.add_parser(
        "demo", parents=[common], help="write a realistic demo workbook and run on it"
    )
    demo.add_argument("dir", nargs="?", default="demo", help="folder for it (default ./demo)")
    demo.add_argument("--leads", type=int, default=300, help="how many leads (default 300)")
    demo.add_argument("--language", choices=("en", "de", "pl"), default="en")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        metavar="'YYYY-MM-DD HH:MM'",
        help="the demo's now (default 2026-11-23 10:00)",
    )
    demo.set_defaults(func=cmd_demo)

    codes = sub.add_parser("codes", parents=[common], help="list the issue codes check reports")
    codes.set_defaults(func=cmd_codes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ForecourtError as exc:
        if args.debug:
            raise
        print(f"forecourt: {exc}", file=sys.stderr)
        return exc.exit_code
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


def entry() -> NoReturn:
    """The ``forecourt`` command and ``python -m forecourt``: :func:`main`, then exit at once.

    A big run leaves hundreds of MB of objects, and freeing them one by one at interpreter
    exit takes longer than reading a small workbook. Nothing is left to clean up by then (the
    workbook is renamed into place, the memory committed, every file closed), so the process
    flushes its output and ends with ``os._exit``.

    Python's cyclic garbage collector is off for the command: a run's cells and frames hold no
    reference cycles worth collecting (a 100k run peaks at the same memory either way), and its
    scans of millions of new objects took a tenth of a 10k run. (A command that keeps running,
    such as a loop, must turn it back on.)
    """
    gc.disable()
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (`forecourt codes | head`): nobody reads
        pass
    os._exit(code)


if __name__ == "__main__":
    entry()
