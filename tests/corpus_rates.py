"""Recognition rates of the header and status corpus (tests/fixtures/corpus.json).

The corpus was written by someone who had not seen forecourt's vocabulary: realistic headers,
statuses, stock statuses and sources as dealers in the UK, Germany and Poland type them, each
with the field or value a person would read in it (null: none). Run as a script to print the
rates; ``tests/test_corpus.py`` holds the targets.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from forecourt.sync.base import Tab
from forecourt.validators import normalise
from forecourt.validators.headers import map_columns

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus.json"
# A second corpus by another helper, written after the vocabulary was fitted to the first and
# never looked at while changing it: the rates on text nobody tuned the words to.
HOLDOUT = FIXTURES / "corpus_holdout.json"


def load(path: Path = CORPUS) -> dict[str, list[dict[str, Any]]]:
    return json.loads(path.read_text(encoding="utf-8"))


def header_field(tab: str, language: str, header: str) -> str | None:
    """The field forecourt reads a header as, alone on a header row of a book in
    ``language``."""
    fields = map_columns(tab, Tab("x", [[header]]), 0, language).fields
    return next(iter(fields), None)


def value_of(kind: str, text: str) -> str | None:
    return normalise.to_canonical([text], kind).iloc[0]


def half(entry: dict[str, Any]) -> str:
    """"tuned" or "held out": a fixed half of the corpus by a hash of its text. Vocabulary
    changes were made looking at the failures of the tuned half only; the held-out half shows
    how the words do on text nobody fitted them to."""
    text = entry.get("header") or entry.get("text") or ""
    return "tuned" if zlib.crc32(text.encode()) % 2 == 0 else "held out"


def judge(entries: list[dict[str, Any]], got: list[str | None], key: str) -> dict[str, Any]:
    """right (the expected field or value, null included), wrong (a field or value, not the
    expected one: the worst outcome), missed (nothing, where something was expected)."""
    right = wrong = missed = 0
    failures = []
    for entry, found in zip(entries, got, strict=True):
        want = entry[key]
        if found == want:
            right += 1
            continue
        if found is None:
            missed += 1
        else:
            wrong += 1
        failures.append((entry, found))
    return {"n": len(entries), "right": right, "wrong": wrong, "missed": missed,
            "rate": right / len(entries) if entries else 1.0, "failures": failures,
            "entries": entries}


def rates(path: Path = CORPUS) -> dict[str, dict[str, Any]]:
    corpus = load(path)
    headers = corpus["headers"]
    out = {"headers": judge(headers, [header_field(e["tab"], e["language"], e["header"])
                                      for e in headers], "field")}
    for name, kind, key in (("statuses", "status", "status"),
                            ("stock_statuses", "stock", "status"),
                            ("sources", "channel", "channel")):
        entries = corpus[name]
        out[name] = judge(entries, [value_of(kind, e["text"]) for e in entries], key)
    return out


def main(path: Path = CORPUS) -> None:
    results = rates(path)
    print(path.name)
    for name, r in results.items():
        print(f"{name:<15} {r['n']:>5}  right {r['right']:>5} ({r['rate']:.1%})  "
              f"wrong {r['wrong']:>4}  missed {r['missed']:>4}", end="")
        for part in ("tuned", "held out"):
            n = sum(half(e) == part for e in r["entries"])
            bad = sum(half(e) == part for e, _ in r["failures"])
            print(f"  | {part} {1 - bad / n if n else 1:.1%} of {n}", end="")
        print()
    by_field: Counter = Counter()
    for entry, _found in results["headers"]["failures"]:
        by_field[(entry["tab"], entry["field"])] += 1
    print("header failures by (tab, field):", dict(by_field.most_common()))


if __name__ == "__main__":
    import sys

    paths = [Path(a) for a in sys.argv[1:] if a.endswith(".json")]
    main(paths[0] if paths else HOLDOUT if "--holdout" in sys.argv else CORPUS)
    if "-v" in sys.argv:
        for name, r in rates().items():
            for entry, found in r["failures"]:
                if half(entry) != "tuned":
                    continue  # looked at only by the tests' totals (see half())
                print(name, json.dumps(entry, ensure_ascii=False), "->", found)
