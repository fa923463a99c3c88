"""Recognition of headers, statuses and sources written by people who had not seen the
vocabulary, each corpus by another helper: tests/fixtures/corpus.json (the vocabulary was
fitted to it), corpus_holdout.json, corpus_third.json and corpus_fourth.json (each measured
blind first, then its misses fixed; the fourth was asked for three writers per language: a
tidy office, a salesperson typing on a phone, an owner writing whole questions). Rates are
printed by ``python tests/corpus_rates.py [--holdout | PATH]``.

Measured blind, before any word was changed for it:
- corpus_holdout.json: headers 97.0%, statuses 91.7% (7 wrong each), stock statuses 92.9%,
  sources 97.6% (code of 2026-12-02 morning);
- corpus_third.json: headers 95.5% (5 wrong), statuses 94.0% (5 wrong), stock statuses and
  sources 100% (after the holdout's fixes; before issue 13: 49.7%, 32.6%, 54.3%, 71.2%);
- corpus_fourth.json: headers 86.2% (11 wrong), statuses 92.4% (4 wrong), stock statuses
  97.5%, sources 93.6% (1 wrong) (after the third's fixes; before issue 13: 32.8%, 29.2%,
  40.0%, 63.8%). Its whole-question headers ("When did we first get back to them") are
  still mostly missed.

The targets are floors under what the words reach today, so a change that makes forecourt
read dealers' books worse fails here. Wrong readings (a field or value, but not the right
one) are worse than misses: a miss leaves a column as the dealer's own, a wrong reading acts
on it. The one wrong header left is "State", the name of forecourt's own column: a dealer's
statuses under it are read as their status by the column's contents (test_infer.py).
"""

import pytest
from corpus_rates import CORPUS, FIXTURES, HOLDOUT, rates

THIRD = FIXTURES / "corpus_third.json"
FOURTH = FIXTURES / "corpus_fourth.json"

# (share right, at most this many wrong) per part of each corpus.
TARGETS = {
    CORPUS.name: {"headers": (0.99, 1), "statuses": (0.99, 0), "stock_statuses": (1.0, 0),
                  "sources": (1.0, 0)},
    HOLDOUT.name: {"headers": (0.99, 0), "statuses": (0.99, 0), "stock_statuses": (0.99, 0),
                   "sources": (0.99, 0)},
    THIRD.name: {"headers": (0.99, 0), "statuses": (0.99, 0), "stock_statuses": (0.99, 0),
                 "sources": (0.99, 0)},
    FOURTH.name: {"headers": (0.96, 1), "statuses": (0.98, 1), "stock_statuses": (0.99, 0),
                  "sources": (0.99, 0)},
}


@pytest.fixture(scope="module")
def measured():
    return {path.name: rates(path) for path in (CORPUS, HOLDOUT, THIRD, FOURTH)}


@pytest.mark.parametrize(("corpus", "part"), [(c, p) for c in TARGETS for p in TARGETS[c]])
def test_the_corpus_is_read_as_a_person_reads_it(measured, corpus, part):
    rate, most_wrong = TARGETS[corpus][part]
    result = measured[corpus][part]
    shown = "\n".join(f"  {entry} -> {found}" for entry, found in result["failures"][:40])
    assert result["rate"] >= rate, f"{part}: {result['rate']:.1%} right\n{shown}"
    assert result["wrong"] <= most_wrong, f"{part}: {result['wrong']} wrong\n{shown}"


def test_the_corpus_is_big_enough_to_mean_something(measured):
    corpus_headers = measured[CORPUS.name]["headers"]["entries"]
    per_field: dict[tuple[str, str], int] = {}
    for entry in corpus_headers:
        if entry["field"]:
            key = (entry["tab"], entry["field"])
            per_field[key] = per_field.get(key, 0) + 1
    assert min(n for (tab, _f), n in per_field.items() if tab != "team") >= 25
    statuses: dict[str, int] = {}
    for entry in measured[CORPUS.name]["statuses"]["entries"]:
        if entry["status"]:
            statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
    assert len(statuses) == 11 and min(statuses.values()) >= 15
