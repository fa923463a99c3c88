"""Benchmark (not a test): the three-way merge of the sync (:func:`forecourt.sync.merge.merge`)
on a base of 50,000 rows x 20 columns, beside a plain dict merge of the same tables measured
in the same run (the floor: per cell, the left value if it changed, else the right one; no
conflicts, no cell comparison, no changes per side), and their ratio. Target (issue 17): the
merge in at most 0.5 s.

    .venv/bin/python benchmarks/bench_merge.py [--rows 50000] [--columns 20] [--changed 0.05]
        [--repeat 5]

Each side edits about 5% of its cells (``--changed``), deletes and adds about 1% of the rows
and is in another order than the base (Excel sorted by a column, the Sheet shuffled). Times
are the best of ``--repeat`` runs, the two alternating.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from typing import Any

from forecourt.sync.merge import Row, Table, merge

START = dt.datetime(2026, 1, 5, 9, 0)


def value(rng: random.Random, j: int) -> Any:
    """A cell of column ``j``: text, numbers, times, yes/no, empty, as a dealer's tab holds."""
    kind = j % 5
    if rng.random() < 0.1:
        return ""
    if kind == 0:
        return rng.choice(["New", "Contacted", "Offer sent", "Won", "Lost", "WhatsApp note"])
    if kind == 1:
        return rng.randint(1_000, 60_000)
    if kind == 2:
        return round(rng.uniform(0, 1_000), 2)
    if kind == 3:
        return START + dt.timedelta(minutes=rng.randint(0, 500_000))
    return rng.random() < 0.5


def tables(rows: int, columns: int, changed: float = 0.05,
           seed: int = 17) -> tuple[Table, Table, Table]:
    """A base and two sides, each with ``changed`` of its cells edited, 1% of the rows deleted
    and 1% added, in another order than the base."""
    rng = random.Random(seed)
    headers = ["Lead id"] + [f"Field {j}" for j in range(1, columns)]
    folded = [h.lower() for h in headers]
    base_rows: dict[str, Row] = {}
    for i in range(rows):
        key = f"L{i:06d}"
        cells = {"lead id": key} | {h: value(rng, j) for j, h in enumerate(folded[1:], 1)}
        base_rows[key] = Row(i + 2, cells)
    base = Table("Lead id", headers, base_rows)

    def side(order: str) -> Table:
        out = {k: Row(r.position, dict(r.cells)) for k, r in base_rows.items()}
        for k in rng.sample(sorted(out), rows // 100):
            del out[k]
        for cells in (r.cells for r in out.values()):
            for j in range(1, columns):
                if rng.random() < changed:
                    cells[folded[j]] = value(rng, j)
        for n in range(rows // 100):
            key = f"N{order[0]}{n:05d}"
            out[key] = Row(0, {"lead id": key} | {h: value(rng, j)
                                                 for j, h in enumerate(folded[1:], 1)})
        keys = list(out)
        if order == "excel":
            keys.sort(key=lambda k: str(out[k].cells[folded[1]]))
        else:
            rng.shuffle(keys)
        return Table("Lead id", list(headers),
                     {k: Row(p, out[k].cells) for p, k in enumerate(keys, 2)})

    return base, side("excel"), side("sheet")


def dict_merge(base: dict[str, dict], left: dict[str, dict],
               right: dict[str, dict]) -> dict[str, dict]:
    """The floor: a plain per-cell three-way merge of dicts (left wins where it changed)."""
    out: dict[str, dict] = {}
    for k, lc in left.items():
        bc = base.get(k)
        rc = right.get(k)
        if bc is None or rc is None:
            out[k] = lc
            continue
        out[k] = {h: (v if v != bc[h] else rc[h]) for h, v in lc.items()}
    for k, rc in right.items():
        if k not in left:
            out[k] = rc
    return out


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    base, excel, sheet = tables(args.rows, args.columns, args.changed)
    plain = [{k: r.cells for k, r in t.rows.items()} for t in (base, excel, sheet)]
    merged = merge(base, excel, sheet)
    times: list[float] = []
    floor_times: list[float] = []
    for _ in range(args.repeat):
        times.append(timed(lambda: merge(base, excel, sheet)))
        floor_times.append(timed(lambda: dict_merge(*plain)))
    took, floor = min(times), min(floor_times)

    print(f"three-way merge of {args.rows:,} rows x {args.columns} columns, "
          f"{args.changed:.1%} of the cells changed per side (best of {args.repeat})")
    print(f"  merge:            {took:.3f} s  (median {statistics.median(times):.3f} s)")
    print(f"  plain dict merge: {floor:.3f} s  (median {statistics.median(floor_times):.3f} s)")
    print(f"  ratio:            {took / floor:.2f}x")
    print(f"  merged rows {len(merged.rows):,}, conflicts {len(merged.conflicts):,}, "
          f"revived {len(merged.revived):,}")
    for side in ("excel", "sheet"):
        c = merged.changes(side)
        print(f"  to {side}: {len(c.set_cells):,} cells, {len(c.add_rows):,} rows added, "
              f"{len(c.delete_rows):,} deleted")


if __name__ == "__main__":
    main()
