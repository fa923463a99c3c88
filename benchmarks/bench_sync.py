"""Benchmark (not a test): `forecourt sync` of a demo book with a Google Sheet served by the
local Sheets API stand-in, each sync a fresh process, in one run so the figures compare with
`forecourt run` on the same file:

1. the first sync into a new, empty Sheet (the Sheet gets every tab);
2. an immediate second sync (must write nothing);
3. a sync after a day's edits on both sides (cells on each side, rows added on the Sheet with
   and without an id, rows deleted in Excel, one conflict);
4. an immediate sync after that (nothing to write).

    .venv/bin/python benchmarks/bench_sync.py [--leads 10000] [--dir /tmp/forecourt-bench-sync]

Printed: wall seconds, the Sheets API calls (target: at most 6 a sync), megabytes sent to the
stand-in, and cells written per side. The stand-in is local: its seconds are the engine's, the
merge's and the stand-in's, not Google's network.
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


def timed(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "forecourt", *args], capture_output=True,
                          text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 14):
        raise SystemExit(f"forecourt {' '.join(args)} failed ({done.returncode}): "
                         f"{done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout.splitlines()[-1])


def edit_both_sides(book: Path, standin_base: str, sid: str, n: int) -> None:
    """A day's edits: n cells on each side, n/5 rows added on the Sheet (half without an id),
    n/10 rows deleted in Excel, one cell changed on both sides (row 2's Notes)."""
    import openpyxl
    import requests

    wb = openpyxl.load_workbook(book)
    ws = wb["Leads"]
    header = [c.value for c in ws[1]]
    notes = header.index("Notes") + 1 if "Notes" in header else len(header) + 1
    for r in range(2, 2 + n):
        ws.cell(r, notes).value = f"owner's note {r}"
    for r in range(2 + 2 * n, 2 + 2 * n + n // 10):
        for c in range(1, len(header) + 1):
            ws.cell(r, c).value = None
    wb.save(book)

    api = f"{standin_base}/v4/spreadsheets/{sid}"
    got = requests.get(f"{api}/values/Leads", params={"valueRenderOption": "UNFORMATTED_VALUE"},
                       timeout=60).json()["values"]
    s_header = got[0]
    s_status = s_header.index("Status")
    s_name = s_header.index("Name")
    updates = []
    for i in range(3 * n, 4 * n):  # other rows than Excel's
        updates.append({"range": f"Leads!{chr(65 + s_status)}{i + 1}", "values": [["Lost"]]})
    s_notes = s_header.index("Notes")
    updates.append({"range": f"Leads!{chr(65 + s_notes)}2", "values": [["team's note"]]})
    requests.post(f"{api}/values:batchUpdate", json={"valueInputOption": "RAW",
                                                     "data": updates}, timeout=60)
    width = len(s_header)
    added = []
    for k in range(n // 5):
        row = [""] * width
        row[s_name] = f"Walk-in {k}"
        row[s_header.index("Phone")] = f"+44 7700 9{k:05d}"
        row[s_header.index("Source")] = "Walk-in"
        row[s_header.index("Received")] = 46349.4 + k / 1000
        if k % 2:
            row[s_header.index("Lead ID")] = f"L-NEW{k:04d}"
        added.append(row)
    requests.post(f"{api}/values/Leads:append", params={"valueInputOption": "RAW",
                                                        "insertDataOption": "INSERT_ROWS"},
                  json={"values": added}, timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/forecourt-bench-sync"))
    args = parser.parse_args()
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
        sid = client.create("team").id
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORECOURT_")}
        env["XDG_STATE_HOME"] = str(args.dir / "state")
        sheet_env = env | {"FORECOURT_SHEETS_EMULATOR": base}
        copy = args.dir / "run-copy.xlsx"
        shutil.copy(book, copy)
        run_s, _ = timed(["run", str(copy), "--as-of", AS_OF, "--json"], env)
        rows = []
        steps = ["first sync (empty Sheet)", "second sync", "after a day's edits",
                 "and again"]
        for label in steps:
            if label == "after a day's edits":
                edit_both_sides(book, base, sid, args.edits)
            requests.delete(base + "/_standin/calls", timeout=10)
            seconds, report = timed(["sync", str(book), "--sheet", sid, "--as-of", AS_OF,
                                     "--json"], sheet_env)
            calls = requests.get(base + "/_standin/calls", timeout=10).json()
            calls = calls.get("calls", calls) if isinstance(calls, dict) else calls
            sent = sum(int(c.get("bytes") or 0) for c in calls)
            rows.append((label, seconds, report["sheet"]["api_calls"], sent,
                         report["excel"]["cells_written"], report["sheet"]["cells_written"],
                         report["conflict_count"], report["exit"]))
    finally:
        standin.terminate()
        standin.wait(10)
    print(f"forecourt run on the same file (first run): {run_s:.2f} s")
    print(f"{'':<26} | {'s':>6} {'x run':>6} | {'calls':>5} {'MB sent':>7} | "
          f"{'Excel cells':>11} {'Sheet cells':>11} | conflicts exit")
    for label, seconds, calls, sent, e_cells, s_cells, conflicts, code in rows:
        print(f"{label:<26} | {seconds:>6.2f} {seconds / run_s:>6.2f} | {calls:>5} "
              f"{sent / 2**20:>7.2f} | {e_cells:>11} {s_cells:>11} | {conflicts:>9} {code}")
    print(f"({args.leads} leads, {args.edits} edits a side; the Sheet served by the local "
          "stand-in)")


if __name__ == "__main__":
    main()
