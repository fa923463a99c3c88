"""Benchmark (not a test): two installs of forecourt compared on the same books, run by run in
alternation, so that a noisy shared machine slows both alike. Prints, per book and for a first
run and a rerun, the median wall seconds, the median CPU seconds of the child (user + sys,
which another process's load disturbs less than wall time) and the peak memory, with the ratio
of the second install to the first.

    .venv/bin/python benchmarks/bench_ab.py BASE_PYTHON NEW_PYTHON BOOK.xlsx [BOOK.xlsx ...]
        [--rounds 5]

BASE_PYTHON and NEW_PYTHON are the interpreters of two virtual environments with forecourt
installed (e.g. a checkout of an older commit installed with ``pip install .``); run it from a
folder where neither checkout's ``forecourt/`` is importable (not the repository root).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

AS_OF = "2026-11-23 10:00"
RUN = ("import sys; sys.modules['hypothesis'] = None\n"
       "from forecourt.cli import entry\nentry()")


def measure(python: str, args: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen([python, "-c", RUN, *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    err = child.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{python} forecourt {' '.join(args)} failed: {err.decode()[-1000:]}")
    return (time.perf_counter() - start, usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("books", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pythons = {"base": args.base, "new": args.new}
    for book in args.books:
        found: dict[str, dict[str, list[tuple[float, float, float]]]] = {
            k: {"first": [], "rerun": []} for k in pythons}
        for r in range(args.rounds):
            order = list(pythons.items()) if r % 2 == 0 else list(pythons.items())[::-1]
            for kind, python in order:
                work = book.with_name(f".ab-{kind}-{book.name}")
                for old in book.parent.glob(f".ab-{kind}-{book.stem}*"):
                    old.unlink()
                shutil.copy(book, work)
                for phase in ("first", "rerun"):
                    found[kind][phase].append(measure(python, ["run", str(work), "--as-of",
                                                               AS_OF, "--json"]))
        for phase in ("first", "rerun"):
            m = {k: (statistics.median(x[0] for x in found[k][phase]),
                     statistics.median(x[1] for x in found[k][phase]),
                     max(x[2] for x in found[k][phase])) for k in pythons}
            b, n = m["base"], m["new"]
            print(f"{book.stem:<14} {phase:<5} wall {b[0]:6.2f} -> {n[0]:6.2f} "
                  f"({n[0] / b[0]:.3f})  cpu {b[1]:6.2f} -> {n[1]:6.2f} ({n[1] / b[1]:.3f})  "
                  f"MB {b[2]:5.0f} -> {n[2]:5.0f} ({n[2] / b[2]:.3f})", flush=True)
    print(f"(medians of {args.rounds} alternated rounds; MB the largest peak)")


if __name__ == "__main__":
    main()
