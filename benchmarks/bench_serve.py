"""Benchmark (not a test): the menu's "Run now" on a demo book through a real `forecourt serve`
(uvicorn on 127.0.0.1), in one run with `forecourt run` on the same book as a file, so the
figures compare:

1. `forecourt run BOOK.xlsx` (a fresh process: reading the file, the engine, writing it);
2. the first Run now: the workbook as the Excel (VBA) client sends it, over HTTP; the answer's
   actions, their size and kinds;
3. a second Run now with the answer applied (as a person's Excel would hold it): what is left
   to write.

    .venv/bin/python benchmarks/bench_serve.py [--leads 10000] [--dir /tmp/forecourt-bench-serve]

The seconds of a Run now are the server's (receiving, the engine, the answer) plus the local
HTTP; what the client then takes to apply the actions (VBA parsing the JSON, Excel writing
the ranges) is not measured here: there is no Excel on this machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
AS_OF = "2026-11-23 10:00"
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: bytes) -> tuple[float, int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": TOKEN, "Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310 - 127.0.0.1
        data = answer.read()
        return time.perf_counter() - start, answer.status, data


def main() -> None:
    from addin_client import ClientBook
    from openpyxl import load_workbook

    from forecourt.demo import generate_demo

    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=10000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/forecourt-bench-serve"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    as_of = dt.datetime.strptime(AS_OF, "%Y-%m-%d %H:%M")
    book = generate_demo(args.dir / "Dealer.xlsx", args.leads, as_of=as_of)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORECOURT_")}

    ran = args.dir / "ran.xlsx"
    shutil.copy(book, ran)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "forecourt", "run", str(ran), "--as-of", AS_OF],
                   check=True, capture_output=True, env=env)
    run_seconds = time.perf_counter() - start

    wb = load_workbook(book, data_only=True)
    grids = {ws.title: [["" if v is None else v for v in row]
                        for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    client = ClientBook.of(book.name, grids)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "forecourt", "serve", "--port", str(port), "--token", TOKEN,
         "--as-of", AS_OF, "--state", str(args.dir / "state")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(
                        f"forecourt serve did not start: {server.stderr.read()}") from None
                time.sleep(0.1)
        rows = []
        for label in ("first Run now", "second Run now (answer applied)"):
            body = json.dumps(client.payload()).encode()
            seconds, status, data = post(url + "/run", body)
            actions = json.loads(data)["actions"]
            client.apply(actions)
            kinds = Counter(a["func"] for a in actions)
            rows.append((label, seconds, len(body) / 1e6, len(data) / 1e6, len(actions),
                         dict(kinds)))
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"demo book: {args.leads} leads; `forecourt run` on the file: {run_seconds:.2f} s")
    print(f"{'step':34} {'seconds':>8} {'x run':>6} {'sent MB':>8} {'answer MB':>9} "
          f"{'actions':>8}  kinds")
    for label, seconds, sent, answer, count, kinds in rows:
        print(f"{label:34} {seconds:8.2f} {seconds / run_seconds:6.2f} {sent:8.2f} "
              f"{answer:9.2f} {count:8d}  {kinds}")


if __name__ == "__main__":
    main()
