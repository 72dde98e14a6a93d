"""The dependency the docs' examples talk to, healthy, failing or hanging on demand.

Hosts ending in ``.internal`` resolve to one :class:`DocsUpstream` (``docblocks.internal_hosts``).
Healthy, it answers as ``example_apps.upstream`` does (``/inventory/<sku>``,
``/recommendations/<user>``...). Failing, it answers every request ``502`` with an HTML body
(a proxy's error page: not JSON). Hanging, it reads the request and never answers until the
mode changes or it stops.

:func:`sweep` requests an example app's pages in each mode and lists what a user must never
see: a 500 (any 5xx but the breaker's 503), an exception, or an answer slower than the bound.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from example_apps.upstream.routes import resolve
from tests.mode_server import Answer, ModeServer

MODES = ("healthy", "failing", "hanging")
FAILING_BODY = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>\n"
MAX_HANG = 60.0


class DocsUpstream(ModeServer):
    """A local HTTP server on 127.0.0.1 whose mode is one of :data:`MODES`."""

    modes = MODES
    hang_mode = "hanging"
    max_hang = MAX_HANG
    keep_alive = False

    def answer(self, method: str, path: str, mode: str) -> Answer:
        if mode == "failing":
            return Answer(502, "text/html", FAILING_BODY)
        reply = resolve(method, urlsplit(path).path)
        body = b"" if reply.body is None else json.dumps(reply.body).encode() + b"\n"
        return Answer(reply.status, "application/json", body)


@dataclasses.dataclass(frozen=True)
class Page:
    """One request of a sweep: ``"GET /products/SKU-1"``."""

    method: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Page:
        method, path = text.split(" ", 1)
        return cls(method, path)


Send = Callable[[str, str], int]
"""``send(method, path)``: request a page of the app, return its status code."""


def sweep(
    upstream: DocsUpstream,
    send: Send,
    pages: Iterable[str],
    *,
    reset: Callable[[], None],
    bound: float,
    repeat: int = 7,
) -> list[str]:
    """Request every page in each mode; the problems found (empty: the example survives).

    In ``healthy`` and ``failing`` each page is requested ``repeat`` times, enough to trip a
    breaker with the default threshold and then see its open state; in ``hanging`` twice
    (each request waits for the dependency's timeout until the breaker opens). ``reset``
    (closing every breaker) runs before each mode so that each mode starts closed.
    ``bound``: seconds within which every answer must come.
    """
    problems: list[str] = []
    listed = [Page.parse(text) for text in pages]
    try:
        for mode in MODES:
            reset()
            upstream.set_mode(mode)
            for page in listed:
                for _ in range(repeat if mode != "hanging" else 2):
                    problems.extend(_one(send, page, mode, bound))
    finally:
        upstream.set_mode("healthy")
        reset()
    counted: dict[str, int] = {}
    for problem in problems:
        counted[problem] = counted.get(problem, 0) + 1
    return [f"{problem} (x{n})" if n > 1 else problem for problem, n in counted.items()]


def _one(send: Send, page: Page, mode: str, bound: float) -> Sequence[str]:
    started = time.monotonic()
    try:
        status = send(page.method, page.path)
    except Exception as exc:
        return [f"{mode}: {page.method} {page.path} raised {type(exc).__name__}: {exc}"]
    took = time.monotonic() - started
    found = []
    if status >= 500 and status != 503:
        found.append(f"{mode}: {page.method} {page.path} answered {status}")
    if took > bound:
        found.append(f"{mode}: {page.method} {page.path} took {took:.1f}s (bound {bound:g}s)")
    return found


def reset_all(registry: Any) -> Callable[[], None]:
    """A ``reset`` for :func:`sweep`: every breaker of ``registry`` back to closed."""

    def reset() -> None:
        for breaker in registry.breakers():
            breaker.reset()

    return reset
