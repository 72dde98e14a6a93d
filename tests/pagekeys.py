"""One check of a framework's raw key (the kept-a-moment-ago shortcut) for every framework.

Requests that differ only in their host, or in a cookie the page varies on
(``Vary: Cookie``, ``Cache-Control: public``), or in a key cookie, are all
made within one refresh interval through the framework's own ``page_request``
and ``raw_key``; then the dependency is opened and each request must get its
own copy, and a host nobody asked for none. A raw key that says too little
skips storing the second request's copy, and it gets a 503 or another's page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from breaker_core import CircuitOpenError, Registry
from breaker_core.web.pages import PageGuard

SETTINGS = {"dependencies": {"catalog": {"routes": ["/p/*"], "stale_for": 60}}}

Make = Callable[[str, str, str | None], Any]
"""``make(host, path, cookie)``: the framework's request for ``GET path`` on ``host``."""

PLAIN = [("Content-Type", "text/html")]
BY_COOKIE = [("Content-Type", "text/html"), ("Vary", "Cookie"), ("Cache-Control", "public")]


def check_own_copies(
    guard: PageGuard,
    make: Make,
    page_request: Callable[[Any], Any],
    raw_key: Callable[[Any], Any],
    key_cookie: str | None = None,
) -> None:
    """Every request gets the copy kept from a request like it, never another's (see module)."""
    registry = guard.registry

    def serve(host: str, path: str, cookie: str | None, headers: list[tuple[str, str]]) -> None:
        request = make(host, path, cookie)
        plan = guard.routes.plan(path)
        assert plan is not None
        visit = guard.visit(plan, "GET", request, page_request, raw_key)
        if visit is not None:
            visit.keep(200, headers, f"{host} {path} {cookie}".encode())

    def answer(host: str, path: str, cookie: str | None = None) -> bytes | int:
        got = guard.answer_for(
            CircuitOpenError("catalog", 30.0), page_request(make(host, path, cookie))
        )
        return got.body if got.stale else got.status

    for _ in range(3):  # several times each: the shortcut is taken from the second on
        serve("a.example", "/p/1", None, PLAIN)
        serve("b.example", "/p/1", None, PLAIN)
        serve("a.example", "/p/2", "session=ann", BY_COOKIE)
        serve("a.example", "/p/2", "session=bob", BY_COOKIE)
        if key_cookie is not None:
            serve("a.example", "/p/3", f"{key_cookie}=fr", PLAIN)
            serve("a.example", "/p/3", f"{key_cookie}=de", PLAIN)
    registry["catalog"].force_open()
    assert answer("a.example", "/p/1") == b"a.example /p/1 None"
    assert answer("b.example", "/p/1") == b"b.example /p/1 None"
    assert answer("c.example", "/p/1") == 503
    assert answer("a.example", "/p/2", "session=ann") == b"a.example /p/2 session=ann"
    assert answer("a.example", "/p/2", "session=bob") == b"a.example /p/2 session=bob"
    assert answer("a.example", "/p/2", "session=eve") == 503
    if key_cookie is not None:
        assert (
            answer("a.example", "/p/3", f"{key_cookie}=fr")
            == f"a.example /p/3 {key_cookie}=fr".encode()
        )
        assert (
            answer("a.example", "/p/3", f"{key_cookie}=de")
            == f"a.example /p/3 {key_cookie}=de".encode()
        )


def registry(clock: Any) -> Registry:
    """The registry of :func:`check_own_copies` (``catalog`` keeps ``/p/*`` for a minute)."""
    return Registry.from_settings(SETTINGS, clock=clock)
