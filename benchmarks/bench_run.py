"""Benchmark (not a test): time and peak memory of `forecourt run` and `forecourt check` against
the floor on the same book, in one run so the ratios are comparable on a noisy machine.

Two books at each size: the demo book (``forecourt demo``'s generator) and a messy one built
by ``benchmarks/messy_book.py`` the way real dealers' books look (three quarters of the leads
open, a third without a car, national phone numbers, repeat buyers, the source column under a
header forecourt does not know, a formula column, shared strings).

The floor is what any tool must do at least: read every sheet's values with python-calamine and
rewrite the same .xlsx zip (every part decompressed and compressed again).

    .venv/bin/python benchmarks/bench_run.py [--sizes 1000 10000 100000] [--books demo messy]
        [--dir /tmp/fc-bench]

Each measurement is a fresh process; peak memory is that process's max RSS (os.wait4).
``forecourt`` runs as a dealer installs it: byte-compiled (pip compiles a package it installs;
an editable checkout under PYTHONDONTWRITEBYTECODE would compile ours on every start, about
15 ms) and without the test extras. pandera imports hypothesis whenever it is installed
(about 0.1 s), so the child hides it (``--with-test-extras`` keeps it).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

AS_OF = "2026-11-23 10:00"

FLOOR = r"""
import sys, zipfile, python_calamine
src, dst = sys.argv[1], sys.argv[2]
book = python_calamine.CalamineWorkbook.from_path(src)
cells = 0
for name in book.sheet_names:
    rows = book.get_sheet_by_name(name).to_python()
    cells += sum(len(r) for r in rows)
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        zout.writestr(info, zin.read(info))
print(cells)
"""


# The `forecourt` command (its entry point), as installed without the test extras (see the
# module docstring).
FORECOURT = """
import sys
if HIDE:
    sys.modules["hypothesis"] = None  # an import of it now fails, as on a dealer's machine
from forecourt.cli import entry
entry()
"""


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """(seconds, peak MB, stdout) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {err.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, out.decode()


def compile_forecourt() -> None:
    """Byte-compile the forecourt package wherever it is imported from, as pip does."""
    spec = importlib.util.find_spec("forecourt")
    assert spec is not None and spec.submodule_search_locations is not None
    roots = set(spec.submodule_search_locations)
    for sub in ("sync", "validators", "rules", "workbook_templates"):
        found = importlib.util.find_spec(f"forecourt.{sub}")
        if found is not None and found.submodule_search_locations:
            roots |= set(found.submodule_search_locations)
    for root in sorted(roots):
        compileall.compile_dir(root, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--books", nargs="+", choices=["demo", "messy"], default=["demo", "messy"],
                        help="which books to build and measure (default both; the messy book "
                             "is measured at 10k and over, the sizes its targets name)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/forecourt-bench"))
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds per size (default 3): medians are printed, and the "
                             "ratio is the median of each round's run / floor")
    parser.add_argument("--with-test-extras", action="store_true",
                        help="let pandera import hypothesis (as in the dev environment)")
    args = parser.parse_args()
    run = FORECOURT.replace("HIDE", str(not args.with_test_extras))
    compile_forecourt()
    args.dir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    rows = []
    for kind in args.books:
        for n in args.sizes:
            if kind == "messy" and n < 10000 and len(args.sizes) > 1:
                continue
            book = args.dir / f"{kind}-{n}.xlsx"
            if not book.exists():
                t0 = time.perf_counter()
                build = (f"from forecourt.demo import generate_demo; "
                         f"generate_demo({str(book)!r}, {n})") if kind == "demo" else \
                    (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                     f"from messy_book import build_messy_book; "
                     f"build_messy_book({str(book)!r}, {n})")
                subprocess.run([py, "-c", build], check=True)
                print(f"built {book.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            work = args.dir / f"run-{kind}-{n}.xlsx"
            rounds = []
            for _ in range(args.repeat):  # one round: the four measurements close together
                for stale in args.dir.glob(f"run-{kind}-{n}.*"):
                    stale.unlink()
                shutil.copy(book, work)
                floor = measure([py, "-c", FLOOR, str(book),
                                 str(args.dir / f"floor-{kind}-{n}.xlsx")])
                check = measure([py, "-c", run, "check", str(book), "--as-of", AS_OF, "--json"])
                first = measure([py, "-c", run, "run", str(work), "--as-of", AS_OF, "--json"])
                second = measure([py, "-c", run, "run", str(work), "--as-of", AS_OF, "--json"])
                rounds.append((floor, check, first, second))
            rows.append((kind, n, book.stat().st_size / 2**20, rounds))
    print(f"{'book':<6} {'leads':>7} {'MB':>5} | {'floor s':>7} {'MB':>5} | {'check s':>7} "
          f"{'MB':>5} | {'run s':>6} {'MB':>5} {'x floor':>7} {'(range)':>11} | {'rerun s':>7} "
          f"{'MB':>5}")
    for kind, n, size, rounds in rows:
        floor, check, first, second = (
            (statistics.median(r[k][0] for r in rounds), max(r[k][1] for r in rounds))
            for k in range(4))
        ratios = [r[2][0] / r[0][0] for r in rounds]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(f"{kind:<6} {n:>7} {size:>5.1f} | {floor[0]:>7.2f} {floor[1]:>5.0f} | "
              f"{check[0]:>7.2f} {check[1]:>5.0f} | {first[0]:>6.2f} {first[1]:>5.0f} "
              f"{statistics.median(ratios):>7.2f} {spread:>11} | {second[0]:>7.2f} "
              f"{second[1]:>5.0f}")
    print(f"(median of {args.repeat} rounds; MB is the largest peak of any round)")


if __name__ == "__main__":
    main()
