"""Recognition of headers, statuses and sources written by someone who had not seen the
vocabulary (tests/fixtures/corpus.json; rates printed by ``python tests/corpus_rates.py``).

The targets are floors under what the words reach today, so a change that makes forecourt
read dealers' books worse fails here. Wrong readings (a field or value, but not the right one)
are worse than misses: a miss leaves a column as the dealer's own, a wrong reading acts on it.
"""

import pytest
from corpus_rates import rates

# (share right, at most this many wrong) per part of the corpus.
TARGETS = {
    "headers": (0.95, 10),
    "statuses": (0.92, 13),
    "stock_statuses": (0.97, 1),
    "sources": (0.96, 2),
}


@pytest.fixture(scope="module")
def measured():
    return rates()


@pytest.mark.parametrize("part", list(TARGETS))
def test_the_corpus_is_read_as_a_person_reads_it(measured, part):
    rate, most_wrong = TARGETS[part]
    result = measured[part]
    shown = "\n".join(f"  {entry} -> {found}" for entry, found in result["failures"][:40])
    assert result["rate"] >= rate, f"{part}: {result['rate']:.1%} right\n{shown}"
    assert result["wrong"] <= most_wrong, f"{part}: {result['wrong']} wrong\n{shown}"


def test_the_corpus_is_big_enough_to_mean_something(measured):
    corpus_headers = measured["headers"]["entries"]
    per_field: dict[tuple[str, str], int] = {}
    for entry in corpus_headers:
        if entry["field"]:
            key = (entry["tab"], entry["field"])
            per_field[key] = per_field.get(key, 0) + 1
    assert min(n for (tab, _f), n in per_field.items() if tab != "team") >= 25
    statuses: dict[str, int] = {}
    for entry in measured["statuses"]["entries"]:
        if entry["status"]:
            statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
    assert len(statuses) == 11 and min(statuses.values()) >= 15
