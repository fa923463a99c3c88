"""Benchmark (not a test): what bad cells cost. The same 100k-lead tab, clean and then with a
required column missing or with thousands of unreadable cells, through ``load_book`` in one
process (tabs built in memory, so only the model and its validation are timed).

    .venv/bin/python benchmarks/bench_issues.py [--leads 100000] [--repeat 3]

Each case prints the median seconds of ``load_book`` and of its validation step, and the
number of issues found: the cost of a problem should be the issue rows it makes, with no
per-row work for a column that is not there at all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from random import Random

from forecourt.book import load_book
from forecourt.sync.base import Tab, Tabs

HEADER = ["Received", "Name", "Phone", "Email", "Source", "Status", "Budget", "Trade-in"]
NOW = dt.datetime(2026, 11, 23, 10, 0)


def leads(n: int, *, drop: tuple[str, ...] = (), bad_every: int = 0, seed: int = 3) -> Tabs:
    rng = Random(seed)
    header = [h for h in HEADER if h not in drop]
    rows = [header]
    for k in range(n):
        row = {
            "Received": NOW - dt.timedelta(minutes=rng.randrange(60 * 24 * 90)),
            "Name": f"Buyer {k}",
            "Phone": f"+44 7700 {k % 1000000:06d}",
            "Email": f"buyer{k}@example.com",
            "Source": rng.choice(["WhatsApp", "Phone", "AutoTrader", "Email", "Walk-in"]),
            "Status": rng.choice(["New", "Contacted", "Appointment set", "Won", "Lost"]),
            "Budget": rng.randrange(5000, 40000),
            "Trade-in": rng.choice(["yes", "no", ""]),
        }
        if bad_every and k % bad_every == 0:
            row.update({"Received": "yesterday-ish", "Phone": "call me", "Budget": "lots",
                        "Trade-in": "maybe", "Status": "dunno"})
        rows.append([row[h] for h in header])
    return Tabs("bench.xlsx", [Tab("Leads", rows)])


def measure(tabs: Tabs, repeat: int) -> tuple[float, float, int]:
    """(load_book s, validation s, issues): validation is timed from the "validating" stage
    message ``load_book`` sends to its progress callback to its return."""
    totals, checks, found = [], [], 0
    for _ in range(repeat):
        stages: dict[str, float] = {}

        def stage(message: str, stages: dict[str, float] = stages) -> None:
            stages.setdefault(message, time.perf_counter())

        t0 = time.perf_counter()
        book = load_book(tabs, as_of=NOW, progress=stage)
        end = time.perf_counter()
        totals.append(end - t0)
        checks.append(end - stages["validating"])
        found = len(book.issues)
    return statistics.median(totals), statistics.median(checks), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.leads
    load_book(leads(100), as_of=NOW)  # imports and pandera's first use
    cases = [
        ("clean", leads(n)),
        ("no source column", leads(n, drop=("Source",))),
        ("no phone or e-mail column", leads(n, drop=("Phone", "Email"))),
        (f"{n // 100} rows with 5 bad cells", leads(n, bad_every=100)),
        (f"{n // 10} rows with 5 bad cells", leads(n, bad_every=10)),
    ]
    print(f"{'case':<32} {'load s':>7} {'validate s':>10} {'issues':>7}")
    for name, tabs in cases:
        total, check, found = measure(tabs, args.repeat)
        print(f"{name:<32} {total:>7.2f} {check:>10.3f} {found:>7}")
    print(f"({n} leads, median of {args.repeat})")


if __name__ == "__main__":
    main()
