"""Benchmark (not a test): `forecourt run` on a demo book as an .xlsx file and on the same data
in a Google Sheet served by the local Sheets API stand-in (``tests/sheets_standin.py``), in one
run so the figures compare: seconds of each run, and the Sheet's API calls, retries and
request bytes (first run, then a rerun at the same moment, which should only read).

    .venv/bin/python benchmarks/bench_sheet.py [--leads 10000] [--dir /tmp/forecourt-bench-sheet]

The stand-in runs in its own process on 127.0.0.1; the Sheet is filled through gspread with
the book's values (dates as serial numbers with a date format), as a team's Sheet would hold
them. Each `forecourt` run is a fresh process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-23 10:00"
EPOCH = dt.datetime(1899, 12, 30)


def timed(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "forecourt", *args], capture_output=True,
                          text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"forecourt {' '.join(args)} failed: {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def fill_sheet(client, book: Path) -> str:
    """A Sheet holding ``book``'s tabs, values RAW, dates as serials with a date format."""
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_path(str(book))
    sheet = client.create(book.stem)
    first = True
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python()
        width = max((len(r) for r in rows), default=1)
        ws = sheet.sheet1 if first else sheet.add_worksheet(name, len(rows) + 10, width)
        if first:
            ws.update_title(name)
            ws.resize(len(rows) + 10, width)
            first = False
        dates = []
        values = []
        for i, row in enumerate(rows):
            out = []
            for j, v in enumerate(row):
                if isinstance(v, dt.datetime | dt.date):
                    if not isinstance(v, dt.datetime):
                        v = dt.datetime(v.year, v.month, v.day)
                    dates.append((i, j))
                    v = (v - EPOCH) / dt.timedelta(days=1)
                out.append(v)
            values.append(out)
        ws.update(values, "A1", raw=True)
        columns = sorted({j for _i, j in dates})
        if columns:
            sheet.batch_update({"requests": [{"repeatCell": {
                "range": {"sheetId": ws.id, "startRowIndex": 1, "startColumnIndex": j,
                          "endColumnIndex": j + 1},
                "cell": {"userEnteredFormat": {"numberFormat": {
                    "type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}}},
                "fields": "userEnteredFormat.numberFormat"}} for j in columns]})
    return sheet.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/forecourt-bench-sheet"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    import gspread
    import requests

    from forecourt.demo import generate_demo
    from forecourt.sync.sheets_client import rewriting_session

    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    book = args.dir / f"demo-{args.leads}.xlsx"
    generate_demo(book, args.leads, as_of=dt.datetime(2026, 11, 23, 10))
    standin = subprocess.Popen([sys.executable, str(ROOT / "tests" / "sheets_standin.py"),
                                "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        base = standin.stdout.readline().strip()  # type: ignore[union-attr]
        client = gspread.Client(auth=None, session=rewriting_session(base))
        t0 = time.perf_counter()
        sheet = fill_sheet(client, book)
        print(f"filled the Sheet in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORECOURT_")}
        env["XDG_STATE_HOME"] = str(args.dir / "state")
        sheet_env = env | {"FORECOURT_SHEETS_EMULATOR": base}
        rows = []
        for label in ("first run", "rerun"):
            file_s, file_summary = timed(["run", str(book), "--as-of", AS_OF, "--json"], env)
            requests.delete(base + "/_standin/calls", timeout=10)
            sheet_s, summary = timed(["run", "--sheet", sheet, "--as-of", AS_OF, "--json"],
                                     sheet_env)
            calls = requests.get(base + "/_standin/calls", timeout=10).json()
            calls = calls.get("calls", calls) if isinstance(calls, dict) else calls
            sent = sum(int(c.get("bytes") or 0) for c in calls)
            same = all(file_summary[k] == summary[k] for k in
                       ("leads", "open", "overdue", "due_soon", "stalled", "assigned"))
            rows.append((label, file_s, sheet_s, summary["api_calls"], summary["retries"],
                         sent, same))
    finally:
        standin.terminate()
        standin.wait(10)
    print(f"{'':<10} | {'file s':>7} | {'Sheet s':>7} {'x file':>6} | {'calls':>5} "
          f"{'retries':>7} {'MB sent':>7} | same result")
    for label, file_s, sheet_s, calls, retries, sent, same in rows:
        print(f"{label:<10} | {file_s:>7.2f} | {sheet_s:>7.2f} {sheet_s / file_s:>6.2f} | "
              f"{calls:>5} {retries:>7} {sent / 2**20:>7.2f} | {'yes' if same else 'NO'}")
    print(f"({args.leads} leads; the Sheet served by the local stand-in, so its seconds are "
          "the engine's and the stand-in's, not Google's network)")


if __name__ == "__main__":
    main()
