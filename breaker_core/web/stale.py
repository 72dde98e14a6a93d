"""Last good pages: which responses may be kept and served while a dependency is open.

A response is kept only when it is **shareable**: the answer to a GET (or
HEAD) without an ``Authorization`` header, status 200, no ``Set-Cookie``, no
``Cache-Control`` of ``private``, ``no-store`` or ``no-cache``, a ``Vary`` on
nothing but ``Accept``, ``Accept-Encoding`` and ``Accept-Language``, a body of
at most ``MAX_BODY`` bytes. Such a response is the same for every visitor who
sends those three headers alike, so serving it to them is safe; anything
personal is never stored. The key is a digest of the dependency, the request
path and query, and those three request headers (so a gzipped or French copy
only goes to a client that asked for one); served copies carry ``Age``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from breaker_core.cache import Cache
from breaker_core.clock import Clock

__all__ = [
    "MAX_BODY",
    "VARIANT_HEADERS",
    "StoredResponse",
    "is_shareable",
    "load",
    "page_key",
    "store",
]

MAX_BODY = 1_000_000
"""Largest body (bytes) kept for stale serving."""

_DROPPED = frozenset(
    {"set-cookie", "date", "age", "connection", "keep-alive", "transfer-encoding", "content-length"}
)


class StoredResponse:
    """A kept response: ``status``, ``headers`` (pairs) and ``body``."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def _values(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def is_shareable(
    method: str,
    request_headers: Iterable[tuple[str, str]],
    status: int,
    response_headers: Iterable[tuple[str, str]],
    body_length: int | None,
) -> bool:
    """True if this response may be kept and served to any visitor later."""
    if method not in ("GET", "HEAD") or status != 200:
        return False
    if body_length is None or body_length > MAX_BODY:
        return False
    if _values(request_headers, "authorization"):
        return False
    response_headers = list(response_headers)
    if _values(response_headers, "set-cookie"):
        return False
    directives = {
        part.strip().split("=")[0].lower()
        for value in _values(response_headers, "cache-control")
        for part in value.split(",")
    }
    if directives & {"private", "no-store", "no-cache"}:
        return False
    varies = {
        part.strip().lower()
        for value in _values(response_headers, "vary")
        for part in value.split(",")
        if part.strip()
    }
    return varies <= set(VARIANT_HEADERS)


VARIANT_HEADERS = ("accept", "accept-encoding", "accept-language")
"""Request headers every page key includes, so a response may vary on them."""


def page_key(
    dependency: str, path: str, query: str, request_headers: Iterable[tuple[str, str]] = ()
) -> str:
    """The cache key of the page at ``path?query`` guarded by ``dependency``.

    The values of :data:`VARIANT_HEADERS` in ``request_headers`` are part of it.
    """
    headers = list(request_headers)
    variant = "\x1f".join(",".join(_values(headers, name)) for name in VARIANT_HEADERS)
    text = f"{path}?{query}\x1e{variant}"
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
    return f"breakerpanel:page:{dependency}:{digest}"


def store(
    cache: Cache,
    key: str,
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    stale_for: float,
) -> None:
    """Keep a shareable response for ``stale_for`` seconds (hop-by-hop headers dropped)."""
    kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED]
    cache.set(key, StoredResponse(status, kept, body), stale_for)


def load(
    cache: Cache, key: str, stale_for: float, clock: Clock
) -> tuple[StoredResponse, int] | None:
    """The kept response and its age in whole seconds, if one at most ``stale_for`` old exists."""
    entry = cache.get(key)
    if entry is None or not isinstance(entry.value, StoredResponse):
        return None
    age = clock() - entry.stored_at
    if age > stale_for:
        return None
    return entry.value, int(age)
