"""The bounded load: a fixed schedule of requests sent by a fixed number of clients.

Each page has its own schedule (``rate`` requests per second for the whole
run, evenly spaced) and its own pool of client threads, so a page whose
requests hang cannot stop the other page's requests from being sent. A client
takes the next request of its page's schedule, waits for its time and sends it
on a new connection (``Connection: close``, as a new visitor would). When
every client of a page is busy, the next request goes out late; its latency
is measured from its scheduled time, so waiting for a free client counts as
waiting (no coordinated omission).

The load generator is the measuring instrument, so its own pauses must not
read as the server's latency: the scenario runs each schedule inside
:func:`collector_paused`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import http.client
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Outcome", "Page", "Result", "classify", "collector_paused", "run_load"]

_STOCK_UNAVAILABLE = ("Stock information is", "unavailable")


class Outcome:
    """What a response was, as counted in the tables."""

    OK = "ok"
    """200 with the full page (the product page with its stock)."""
    DEGRADED = "degraded"
    """200 product page without the stock ("Stock information is ... unavailable")."""
    STALE = "stale"
    """A kept copy of the page served by breakerpanel (``X-Breakerpanel: stale``)."""
    UNAVAILABLE = "503"
    """breakerpanel's 503 with ``Retry-After``."""
    ERROR = "error"
    """Any other status, a refused or reset connection."""
    TIMEOUT = "timeout"
    """No answer within the client timeout."""


@dataclasses.dataclass(frozen=True)
class Page:
    """One page's load: its name, the paths to request (cycled), its rate and clients."""

    name: str
    paths: tuple[str, ...]
    rate: float
    clients: int
    phase: float = 0.0
    """Offset of the first request, so two pages' requests do not go out together."""


@dataclasses.dataclass(frozen=True)
class Result:
    """One request: when it was due, sent and answered (seconds from the start), and how."""

    page: str
    due: float
    sent: float
    done: float
    status: int
    outcome: str

    @property
    def latency(self) -> float:
        """Seconds from when it was due to its answer (or the client giving up)."""
        return self.done - self.due


def classify(page: str, status: int, headers: http.client.HTTPMessage, body: bytes) -> str:
    """The :class:`Outcome` of an answer to ``page`` ("product" or "about")."""
    if headers.get("X-Breakerpanel", "").lower() == "stale":
        return Outcome.STALE
    if status == 503 and headers.get("Retry-After"):
        return Outcome.UNAVAILABLE
    if status != 200:
        return Outcome.ERROR
    text = body.decode("utf-8", "replace")
    if page == "product" and all(part in text for part in _STOCK_UNAVAILABLE):
        return Outcome.DEGRADED
    return Outcome.OK


class _Clients:
    """The client threads of one page, taking requests from its schedule in order."""

    def __init__(
        self,
        page: Page,
        count: int,
        host: str,
        port: int,
        timeout: float,
        start: float,
        in_flight: Callable[[int], None],
    ) -> None:
        self.page = page
        self.host, self.port, self.timeout, self.start = host, port, timeout, start
        self.in_flight = in_flight
        self.results: list[Result] = []
        self._lock = threading.Lock()
        paths = itertools.cycle(page.paths)
        self._schedule: Iterator[tuple[float, str]] = iter(
            [(page.phase + i / page.rate, next(paths)) for i in range(count)]
        )
        self.threads = [
            threading.Thread(target=self._client, name=f"{page.name}-{n}", daemon=True)
            for n in range(page.clients)
        ]

    def _next(self) -> tuple[float, str] | None:
        with self._lock:
            return next(self._schedule, None)

    def _client(self) -> None:
        while (item := self._next()) is not None:
            due, path = item
            delay = self.start + due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.in_flight(1)
            try:
                result = self._send(due, path)
            finally:
                self.in_flight(-1)
            with self._lock:
                self.results.append(result)

    def _send(self, due: float, path: str) -> Result:
        sent = time.monotonic() - self.start
        status, outcome = 0, Outcome.ERROR
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("GET", path, headers={"Accept": "text/html", "Connection": "close"})
            response = connection.getresponse()
            body = response.read()
            status = response.status
            outcome = classify(self.page.name, status, response.headers, body)
        except TimeoutError:
            outcome = Outcome.TIMEOUT
        except (OSError, http.client.HTTPException):
            outcome = Outcome.ERROR
        finally:
            connection.close()
        done = time.monotonic() - self.start
        return Result(self.page.name, due, sent, done, status, outcome)


@contextlib.contextmanager
def collector_paused() -> Iterator[list[int]]:
    """This process's cyclic garbage collector off for the block, after a full collection.

    Measurement hygiene for the load generator: a collection stops every
    thread of the process, so a pause of the measuring process (which also
    holds the results of every earlier run, and Inventory and
    Recommendations) would be read as the server's latency by each request
    in flight. The collection first clears what the process left behind;
    inside the block only garbage in reference cycles waits (reference
    counting frees the rest as usual), and the clients make none. Yields the
    generation of every collection that ran inside the block all the same
    (an explicit ``gc.collect()``): the scenario records their number. The
    collector is turned back on only if it was on when the block began.
    """
    collections: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    gc.callbacks.append(count)
    try:
        yield collections
    finally:
        gc.callbacks.remove(count)
        if enabled:
            gc.enable()


def run_load(
    host: str,
    port: int,
    pages: list[Page],
    duration: float,
    *,
    timeout: float,
    start: float,
    in_flight: Callable[[int], None],
) -> list[Result]:
    """Send every page's schedule (``duration`` x ``rate`` requests) and return the results.

    ``start`` is the ``time.monotonic()`` the schedule counts from; ``in_flight``
    is called with +1 and -1 around every request. Returns once every request
    has been answered or given up on, sorted by due time.
    """
    groups = [
        _Clients(page, round(duration * page.rate), host, port, timeout, start, in_flight)
        for page in pages
    ]
    for group in groups:
        for thread in group.threads:
            thread.start()
    for group in groups:
        for thread in group.threads:
            thread.join()
    results = [result for group in groups for result in group.results]
    results.sort(key=lambda result: result.due)
    return results
