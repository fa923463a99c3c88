"""Work in a second thread while the main one goes on.

Worth it where the work leaves Python's GIL most of the time: python-calamine parsing a
workbook, zlib compressing, SQLite inserting. A run reads the workbook while pandas imports,
and saves its memory while the workbook is written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``fn(*args)`` running in a daemon thread from construction on."""

    def __init__(self, fn: Callable[..., T], *args: Any, name: str = "forecourt") -> None:
        self._value: T | None = None
        self._done = False
        self._error: BaseException | None = None

        def work() -> None:
            try:
                self._value = fn(*args)
                self._done = True
            except BaseException as exc:  # handed to the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=work, name=name, daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> T:
        """Wait for the work; its value (handed over once: this object lets go of it, which
        matters for a big workbook's cells), or raise what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if not self._done:
            raise RuntimeError("the result was already taken")
        value, self._value, self._done = self._value, None, False
        return value  # type: ignore[return-value]
