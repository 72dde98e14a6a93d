"""Calling a WSGI or ASGI app in-process, as a server would, once or in a timed loop.

A WSGI app is called with a prepared ``environ`` (a fresh copy per request),
its body iterated and its ``close()`` called; an ASGI app is awaited with a
prepared ``scope`` (a fresh copy per request, with an empty ``state``), a
``receive`` answering the empty request body and a ``send`` noting the status.
Every loop checks every answer is a 200 and runs on its own copy of the
loop's code object (:func:`benchmarks.loops.own_code`).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from benchmarks.loops import own_code
from benchmarks.timing import AsyncLoop, SyncLoop

__all__ = [
    "HEADERS",
    "ASGIApp",
    "WSGIApp",
    "asgi_call",
    "asgi_loop",
    "asgi_scope",
    "wsgi_call",
    "wsgi_environ",
    "wsgi_loop",
]

HEADERS: tuple[tuple[str, str], ...] = (
    ("Host", "127.0.0.1:8000"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "en-GB,en;q=0.5"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Connection", "keep-alive"),
)
"""The request's headers: what a browser sends for a page, without cookies."""

# -- WSGI ---------------------------------------------------------------------------------


def wsgi_environ(path: str) -> dict[str, Any]:
    """A WSGI environ for ``GET path`` with :data:`HEADERS`, as a server would pass it."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in HEADERS:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_call(app: WSGIApp, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """One ``GET path``: the status code, the headers and the body."""
    seen: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen[:] = [status, headers]

    result = app(wsgi_environ(path), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(seen[0].split()[0]), list(seen[1]), body


def wsgi_loop(app: WSGIApp, path: str) -> SyncLoop:
    """Time ``n`` calls of ``app`` for ``GET path``: body iterated, ``close()`` called, 200 checked.

    Every request gets a fresh copy of one prepared environ (the app may change it).
    """
    template = wsgi_environ(path)
    seen = [""]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen[0] = status

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            result = app(dict(template), start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
            if seen[0] != "200 OK":
                raise RuntimeError(f"GET {path} answered {seen[0]!r}, not 200")
        return clock() - start

    return own_code(loop)


# -- ASGI ---------------------------------------------------------------------------------

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]

_REQUEST = {"type": "http.request", "body": b"", "more_body": False}


async def _receive() -> dict[str, Any]:
    return _REQUEST


def asgi_scope(path: str) -> dict[str, Any]:
    """An HTTP scope for ``GET path`` with :data:`HEADERS`, as a server would pass it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in HEADERS],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def asgi_call(app: ASGIApp, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """One ``GET path`` through an ASGI app: the status code, the headers and the body."""
    status = 0
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.extend(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())
            )
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app({**asgi_scope(path), "state": {}}, _receive, send)
    return status, headers, b"".join(chunks)


def asgi_loop(app: ASGIApp, path: str) -> AsyncLoop:
    """Time ``n`` awaited calls of ``app`` for ``GET path``, each answer checked to be a 200.

    Every request gets a fresh copy of one prepared scope with an empty
    ``state`` (as servers give the lifespan state); ``receive`` answers the
    empty request body.
    """
    template = asgi_scope(path)
    seen = [0]

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen[0] = message["status"]

    async def loop(n: int) -> int:
        clock = time.perf_counter_ns
        receive = _receive
        start = clock()
        for _ in range(n):
            await app({**template, "state": {}}, receive, send)
            if seen[0] != 200:
                raise RuntimeError(f"GET {path} answered {seen[0]}, not 200")
        return clock() - start

    return own_code(loop)
