"""What every library adapter implements (:class:`Adapter`), and the settings they share.

The thresholds and timeouts of the cases (:data:`HUGE_THRESHOLD`,
:data:`OPEN_TIMEOUT`, the peers' real reset wait), :class:`Unsupported` for a
case a library has no API for, and the helpers that name and trip a breaker.
The adapters themselves are listed in :mod:`benchmarks.adapters`.

Imports benchmarks.timing and benchmarks.guarded only.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import itertools
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import ClassVar

from benchmarks.guarded import fail
from benchmarks.timing import AsyncLoop, SyncLoop

__all__ = [
    "HUGE_THRESHOLD",
    "OPEN_TIMEOUT",
    "PEER_RESET_SLEEP",
    "PEER_RESET_TIMEOUT",
    "Adapter",
    "Unsupported",
    "trip",
    "unique",
]

HUGE_THRESHOLD = 10**12
"""Failure threshold of the closed-failure case: never reached, so the breaker stays closed."""

OPEN_TIMEOUT = 3600.0
"""Reset timeout of the open-rejection case: the breaker stays open for the whole run."""

PEER_RESET_TIMEOUT = 0.05
"""Reset timeout (seconds) of the peers' half-open setup; they are waited out for real."""

PEER_RESET_SLEEP = 0.1
"""Real sleep after tripping a peer, comfortably past :data:`PEER_RESET_TIMEOUT`."""


class Unsupported(Exception):
    """The library has no API for this case; ``str(exc)`` says why."""


_names = itertools.count()


def unique(prefix: str) -> str:
    """A breaker name not used before in this process."""
    return f"bench-{prefix}-{next(_names)}"


class Adapter(ABC):
    """The operations the harness needs from a library.

    Case methods return a timing loop over a freshly built breaker, or raise
    :class:`Unsupported`. ``half_open_*`` return a zero-argument callable that
    sends ``fn`` through a breaker that has just become eligible for a probe.
    """

    name: ClassVar[str]
    """The library's import name, used as its column title."""
    distribution: ClassVar[str]
    """The distribution name, for the version lookup."""
    module_name: ClassVar[str]
    """The module imported to check availability."""

    def unavailable(self) -> str | None:
        """Return why the library cannot be benchmarked here, or None if it can."""
        try:
            importlib.import_module(self.module_name)
        except ImportError as exc:
            return f"not installed ({exc})"
        return None

    def version(self) -> str:
        """The installed version of the library."""
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    @property
    @abstractmethod
    def rejection(self) -> tuple[type[BaseException], ...]:
        """The exception types the library raises for a rejected call."""

    @abstractmethod
    def closed_success(self) -> SyncLoop:
        """A loop calling :func:`succeed` through a closed breaker."""

    @abstractmethod
    def closed_failure(self) -> SyncLoop:
        """A loop calling :func:`fail` through a breaker that never trips, catching BenchError."""

    @abstractmethod
    def open_rejection(self) -> SyncLoop:
        """A loop calling :func:`must_not_run` through a tripped breaker, catching rejections."""

    @abstractmethod
    async def async_closed_success(self) -> AsyncLoop:
        """A loop awaiting :func:`asucceed` through a closed breaker."""

    @abstractmethod
    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """Trip a breaker, move it past its reset timeout, return ``lambda: call fn through it``."""

    @abstractmethod
    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """The async counterpart of :meth:`half_open_sync`."""

    def notes(self) -> list[str]:
        """Remarks about how this library was driven, printed under the tables."""
        return []


def trip(call: Callable[[Callable[[], object]], object]) -> None:
    """Call :func:`fail` through a breaker whose threshold is 1, swallowing what it raises."""
    try:
        call(fail)
    except Exception:  # BenchError, or the library's own "just tripped" error
        pass
