"""Last good pages in the registry's cache: how a kept copy is written and found.

Which responses may be kept and under which key is decided in
:mod:`breaker_core.web.shareable`. A page is kept as two entries:

- under its primary key (scheme, authority, method, path and query), the
  names of the request headers its response varies on;
- under the primary key plus a digest of the request's values of those headers
  (and of the key cookies), the response itself, with that variant text, which
  is compared again on reading: a copy is only served to a request with the
  same values.

Served copies carry ``Age`` (from the cache's own measure) and
``X-Breakerpanel: stale``.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable

from breaker_core.cache import Cache
from breaker_core.pagesettings import DEFAULT_MAX_BODY

__all__ = ["MAX_BODY", "StoredResponse", "Variants", "load", "store", "variant_key"]

MAX_BODY = DEFAULT_MAX_BODY
"""Default largest body (bytes) kept (``BREAKERS["pages"]["max_body"]``)."""

_DROPPED = frozenset(
    {"set-cookie", "date", "age", "connection", "keep-alive", "transfer-encoding", "content-length"}
)


class Variants:
    """What the primary key holds: the request headers the page varies on."""

    __slots__ = ("names",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names


class StoredResponse:
    """A kept response: ``status``, ``headers`` (pairs), ``body`` and its ``variant`` text."""

    __slots__ = ("body", "headers", "status", "variant")

    def __init__(
        self, status: int, headers: list[tuple[str, str]], body: bytes, variant: str = ""
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.variant = variant

    def __sizeof__(self) -> int:
        headers = sum(len(k) + len(v) + 100 for k, v in self.headers)
        return object.__sizeof__(self) + sys.getsizeof(self.body) + len(self.variant) + headers


def variant_key(primary: str, variant: str) -> str:
    """The key of one variant of the page kept under ``primary``."""
    digest = hashlib.sha256(variant.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{primary}:{digest}"


def store(
    cache: Cache,
    primary: str,
    names: tuple[str, ...],
    variant: str,
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    stale_for: float,
) -> None:
    """Keep a page for ``stale_for`` seconds (hop-by-hop headers and cookies dropped)."""
    kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED]
    cache.set(variant_key(primary, variant), StoredResponse(status, kept, body, variant), stale_for)
    cache.set(primary, Variants(names), stale_for)


def load(
    cache: Cache, primary: str, variant_of: Callable[[tuple[str, ...]], str], stale_for: float
) -> tuple[StoredResponse, int] | None:
    """The kept copy for this request and its age in whole seconds, if one is fresh enough.

    ``variant_of`` is called with the varied header names and returns the
    request's variant text.
    """
    index = cache.get(primary)
    if index is None or not isinstance(index.value, Variants):
        return None
    variant = variant_of(index.value.names)
    entry = cache.get(variant_key(primary, variant))
    if entry is None or not isinstance(entry.value, StoredResponse):
        return None
    if entry.value.variant != variant or entry.age > stale_for:
        return None
    return entry.value, int(entry.age)
