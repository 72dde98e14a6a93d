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
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from example_apps.upstream.routes import resolve

MODES = ("healthy", "failing", "hanging")
FAILING_BODY = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>\n"
MAX_HANG = 60.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    upstream: DocsUpstream


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        upstream = self.server.upstream
        upstream.requests += 1
        mode, released = upstream.mode, upstream.released
        if mode == "hanging":
            released.wait(MAX_HANG)
            self.close_connection = True
            return
        if mode == "failing":
            self._send(502, "text/html", FAILING_BODY)
            return
        reply = resolve(self.command, urlsplit(self.path).path)
        body = b"" if reply.body is None else json.dumps(reply.body).encode() + b"\n"
        self._send(reply.status, "application/json", body)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class DocsUpstream:
    """A local HTTP server on 127.0.0.1 whose mode is one of :data:`MODES`."""

    def __init__(self) -> None:
        self.mode = "healthy"
        self.released = threading.Event()
        self.requests = 0
        self._server: _Server | None = None

    def start(self) -> DocsUpstream:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.upstream = self
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def set_mode(self, mode: str) -> None:
        """Switch mode; requests held by ``hanging`` are let go (unanswered)."""
        assert mode in MODES, mode
        self.mode = mode
        self.released.set()
        self.released = threading.Event()

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


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
