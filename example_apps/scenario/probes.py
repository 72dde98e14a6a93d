"""What the scenario measures inside the servers: requests in flight and breaker transitions.

Both write to a probe directory (``$SCENARIO_PROBE_DIR``) that the scenario
reads while and after it runs:

- ``busy-<pid>.bin``: an 8-byte counter per server process, mapped in memory,
  of the requests its app is handling right now (incremented when the app is
  called, decremented when the response is finished). The scenario samples
  the sum every 50 ms: with gunicorn, "every worker busy" is that sum reaching
  workers x threads.
- ``collections-<pid>.bin``: an 8-byte counter per server process, mapped in
  memory, of the full (generation 2) garbage collections the process has run
  since the app was loaded, counted by a ``gc.callbacks`` hook. The scenario
  warms each server up until every process has run one under load (past its
  start-up collections) and notes when one falls in the measured schedule.
- ``transitions-<pid>.jsonl``: one JSON line per record of the engine's
  ``breaker_core`` logger that is a state change (the engine logs one per
  transition), with the wall-clock time, the process id, the breaker, the old
  and new state and the reason.
"""

from __future__ import annotations

import gc
import json
import logging
import mmap
import os
import struct
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

__all__ = [
    "PROBE_DIR_ENV",
    "BusyCounter",
    "CountingASGI",
    "CountingWSGI",
    "FullCollections",
    "log_transitions",
    "read_busy",
    "read_full_collections",
    "read_transitions",
]

PROBE_DIR_ENV = "SCENARIO_PROBE_DIR"
_COUNT = struct.Struct("<q")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class BusyCounter:
    """This process's requests in flight, kept in ``busy-<pid>.bin`` under ``directory``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"busy-{os.getpid()}.bin"
        with self.path.open("wb") as file:
            file.write(_COUNT.pack(0))
        with self.path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), _COUNT.size)  # keeps its own descriptor
        self._lock = threading.Lock()
        self._value = 0

    def add(self, delta: int) -> None:
        """Add ``delta`` (1 when a request starts, -1 when it ends)."""
        with self._lock:
            self._value += delta
            self._map[: _COUNT.size] = _COUNT.pack(self._value)

    def close(self) -> None:
        """Unmap the counter (its file stays, with its last value)."""
        self._map.close()


def _read_counters(directory: Path, prefix: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for path in directory.glob(f"{prefix}-*.bin"):
        data = path.read_bytes()
        if len(data) == _COUNT.size:
            counts[int(path.stem.removeprefix(f"{prefix}-"))] = _COUNT.unpack(data)[0]
    return counts


def read_busy(directory: Path) -> dict[int, int]:
    """The in-flight count of every server process that wrote one, by process id."""
    return _read_counters(directory, "busy")


class FullCollections:
    """This process's full garbage collections from now on, kept in ``collections-<pid>.bin``.

    A ``gc.callbacks`` hook adds one when a generation-2 collection finishes;
    younger collections are not counted. :meth:`close` removes the hook.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"collections-{os.getpid()}.bin"
        with self.path.open("wb") as file:
            file.write(_COUNT.pack(0))
        with self.path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), _COUNT.size)
        self.count = 0
        gc.callbacks.append(self._collected)

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        # The collector runs one collection at a time (it holds the GIL, and a
        # collection is never started from a callback), so no lock is needed.
        if phase == "stop" and info["generation"] == 2:
            self.count += 1
            self._map[: _COUNT.size] = _COUNT.pack(self.count)

    def close(self) -> None:
        """Stop counting and unmap the counter (its file stays, with its last value)."""
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        self._map.close()


def read_full_collections(directory: Path) -> dict[int, int]:
    """The full collections of every server process that counts them, by process id."""
    return _read_counters(directory, "collections")


class _Finished:
    """A WSGI response iterable that calls ``done`` once, when it is closed."""

    def __init__(self, result: Iterable[bytes], done: Callable[[], None]) -> None:
        self._result = result
        self._done: Callable[[], None] | None = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


class CountingWSGI:
    """WSGI middleware counting the requests ``app`` is handling in a :class:`BusyCounter`."""

    def __init__(self, app: WSGIApp, counter: BusyCounter) -> None:
        self.app = app
        self.counter = counter

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        self.counter.add(1)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self.counter.add(-1)
            raise
        return _Finished(result, lambda: self.counter.add(-1))


class CountingASGI:
    """ASGI middleware counting the HTTP requests ``app`` is handling in a :class:`BusyCounter`."""

    def __init__(self, app: ASGIApp, counter: BusyCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.counter.add(1)
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter.add(-1)


class _TransitionLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": record.created,
                "pid": record.process,
                "breaker": getattr(record, "breaker", None),
                "old_state": getattr(record, "old_state", None),
                "new_state": getattr(record, "new_state", None),
                "reason": getattr(record, "reason", None),
            }
        )


class _OnlyTransitions(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return hasattr(record, "new_state")


def log_transitions(directory: Path) -> logging.Handler:
    """Append this process's breaker transitions to ``transitions-<pid>.jsonl`` in ``directory``.

    Returns the handler added to the ``breaker_core`` logger.
    """
    directory.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(directory / f"transitions-{os.getpid()}.jsonl")
    handler.setFormatter(_TransitionLines())
    handler.addFilter(_OnlyTransitions())
    logger = logging.getLogger("breaker_core")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def read_transitions(directory: Path) -> list[dict[str, Any]]:
    """Every transition logged under ``directory``, oldest first."""
    records: list[dict[str, Any]] = []
    for path in directory.glob("transitions-*.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
    records.sort(key=lambda record: record["time"])
    return records
