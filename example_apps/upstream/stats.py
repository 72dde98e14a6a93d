"""Counters of what reached the service port: connections, answers by status, hanging requests."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypedDict


class StatsSnapshot(TypedDict):
    """The counters at one instant, as returned by ``Upstream.stats()`` and ``GET /_control``."""

    connections: int
    """TCP connections accepted on the service port (counted at accept time)."""
    requests: dict[str, int]
    """Service requests answered, by status code (as a string, like the JSON keys)."""
    requests_total: int
    """Sum of ``requests``."""
    hanging: int
    """Requests being held right now by ``hang`` mode (a gauge: reset leaves it alone)."""
    dropped: int
    """Requests whose connection was closed with no answer (hang cap, refuse, stop)."""


class Stats:
    """Thread-safe counters for one upstream."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections = 0
        self._requests: Counter[int] = Counter()
        self._hanging = 0
        self._dropped = 0

    def connection_accepted(self) -> None:
        """Count one TCP connection accepted on the service port."""
        with self._lock:
            self._connections += 1

    def request_answered(self, status: int) -> None:
        """Count one service request answered with ``status`` (called before the reply is sent)."""
        with self._lock:
            self._requests[status] += 1

    def request_dropped(self) -> None:
        """Count one service request closed without an answer."""
        with self._lock:
            self._dropped += 1

    @contextmanager
    def hanging_request(self) -> Iterator[None]:
        """Count a request as hanging for the duration of the ``with`` block."""
        with self._lock:
            self._hanging += 1
        try:
            yield
        finally:
            with self._lock:
                self._hanging -= 1

    def reset(self) -> None:
        """Zero the counters (``hanging`` is a gauge of live requests and is kept)."""
        with self._lock:
            self._connections = 0
            self._requests.clear()
            self._dropped = 0

    def snapshot(self) -> StatsSnapshot:
        """A consistent copy of every counter."""
        with self._lock:
            return {
                "connections": self._connections,
                "requests": {str(code): n for code, n in sorted(self._requests.items())},
                "requests_total": sum(self._requests.values()),
                "hanging": self._hanging,
                "dropped": self._dropped,
            }
