"""Fixtures of the contract suite: a backend of each kind, and one engine run per book and
backend shared by the tests that only read its result. The Google Sheets backend's stand-in
runs once a session (started when first used, stopped at the end), and a Sheet's memory goes
to a state folder of the session's own (``XDG_STATE_HOME``), never the user's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sheets_fixtures
from contract_backends import FACTORIES, KINDS, Factory, Rows
from contract_books import AS_OF, Book

from forecourt.engine import RunResult, run


@pytest.fixture(scope="session", autouse=True)
def sheets_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The session's state folder for a Sheet's memory; the stand-in stopped at the end."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
        try:
            yield
        finally:
            sheets_fixtures.stop_shared()


@pytest.fixture(params=KINDS)
def factory(request: pytest.FixtureRequest) -> Factory:
    """Each kind of backend in turn."""
    return FACTORIES[request.param]


@dataclass
class Ran:
    """One run of the engine on a book through one backend: the backend (not to be changed
    by the tests that share it), the run's result and the cells it left."""

    factory: Factory
    backend: Any
    result: RunResult
    sheets: dict[str, Rows]


@pytest.fixture(scope="session")
def first_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Book], dict[str, Ran]]:
    """book -> {kind: the book run once at AS_OF through that backend}, made once a session."""
    done: dict[str, dict[str, Ran]] = {}

    def runs(book: Book) -> dict[str, Ran]:
        if book.id not in done:
            results = {}
            for kind, made in FACTORIES.items():
                backend = made.make(book.sheets, tmp_path_factory.mktemp(f"{book.id}-{kind}"))
                result = run(backend, as_of=AS_OF)
                results[kind] = Ran(made, backend, result, made.sheets(backend))
            done[book.id] = results
        return done[book.id]

    return runs
