"""What every framework's contract app does, framework-free: settings, pages and test controls.

Each app (``flask_site``, ``starlette_site``, ``django_site``) serves the same
paths with the same behaviour; the contract suite (``test_contract.py``) talks
to them over HTTP only, so one list of cases runs against all three.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from breaker_core import Registry
from breaker_core.clock import FakeClock

MAX_BODY = 2000
DEPENDENCY = "catalog"

SETTINGS: dict[str, object] = {
    "pages": {"max_body": MAX_BODY},
    "dependencies": {
        DEPENDENCY: {
            "stale_for": "5m",
            "reset_timeout": "1h",
            "routes": [
                "/p/*",
                "/cookie",
                "/public",
                "/private",
                "/setcookie",
                "/vary",
                "/apikey",
                "/big",
                "/lang",
            ],
        }
    },
}

PATHS = ("/cookie", "/public", "/private", "/setcookie", "/vary", "/apikey", "/big", "/lang")
"""The fixed page paths (besides ``/p/<anything>``)."""


class Page:
    """A framework-free response: status, headers, body."""

    def __init__(self, body: str, headers: Mapping[str, str] | None = None) -> None:
        self.body = body
        self.headers = dict(headers or {})


def page(
    path: str,
    query: str,
    host: str,
    cookies: Mapping[str, str],
    header: Callable[[str], str | None],
) -> Page | None:
    """The page for ``path``: its body names what it was built from, so a leak shows."""
    if path.startswith("/p/"):
        return Page(f"page {path} q={query} host={host}")
    uid = cookies.get("uid", "nobody")
    if path == "/cookie":
        return Page(f"hello {uid}")
    if path == "/public":
        return Page(f"hello {uid}", {"Cache-Control": "public, max-age=60"})
    if path == "/private":
        return Page("private", {"Cache-Control": "private"})
    if path == "/setcookie":
        return Page("setcookie", {"Set-Cookie": "seen=1; Path=/"})
    if path == "/vary":
        return Page(f"tenant {header('x-tenant')}", {"Vary": "X-Tenant"})
    if path == "/apikey":
        return Page(f"key {header('x-api-key')}")
    if path == "/big":
        return Page("x" * (MAX_BODY + 1))
    if path == "/lang":
        return Page(f"lang {cookies.get('django_language', 'default')}")
    return None


def control(registry: Registry, clock: FakeClock, action: str) -> str:
    """``/_test/<action>``: open the dependency, or reset everything, or move time on."""
    if action == "open":
        registry[DEPENDENCY].force_open()
    elif action == "reset":
        registry[DEPENDENCY].reset()
        registry.cache.clear()
        clock.advance(60)  # past every "kept recently" memo
    elif action.startswith("advance-"):
        clock.advance(float(action.removeprefix("advance-")))
    else:
        return "unknown"
    return "ok"


def new_registry() -> tuple[Registry, FakeClock]:
    """A fresh registry of :data:`SETTINGS` on a fake clock."""
    clock = FakeClock()
    return Registry.from_settings(SETTINGS, clock=clock), clock
