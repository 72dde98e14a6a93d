"""Django's cache framework as the registry's cache of last good fragments and pages.

``BREAKERS["cache"] = "django://<alias>"`` (default ``"django://default"``) keeps
them in ``django.core.cache.caches[alias]``, so they live wherever the site's
cache lives (local memory, Redis, Memcached, the database).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import urllib.parse
import uuid
from collections.abc import Callable

from django.conf import settings  # type: ignore[import-untyped]
from django.core.cache import caches  # type: ignore[import-untyped]

from breaker_core.extension import Cache, CachedValue, Clock, Invalid, describe_exception

__all__ = ["DjangoCache", "cache_factory"]

logger = logging.getLogger("breaker_django")

_MAX_KEY = 200  # memcached refuses keys over 250 bytes, with room for KEY_PREFIX and version
_ALLOWED = '"django://<alias>" naming a cache of settings.CACHES, like "django://default"'


class DjangoCache:
    """The :class:`~breaker_core.cache.Cache` protocol over one Django cache alias.

    Entries are stored as ``(stored_at, wall_time, origin, value)``: the
    registry clock's reading and the wall clock's, and a token naming this
    process. :meth:`get` returns the entry's age: measured on the registry's
    clock in the process that stored it (so a test clock works), on the wall
    clock in another process or host (whose monotonic clock differs); never
    negative.

    A cache backend that fails (Redis down) is logged and treated as a miss:
    no request fails because the cache is unreachable.
    """

    def __init__(self, alias: str, clock: Clock | None = None) -> None:
        self.alias = alias
        self._clock: Clock = clock if clock is not None else time.monotonic
        self._origin = uuid.uuid4().hex
        self._failing = False
        self._namespace = ""

    def __repr__(self) -> str:
        return f"<DjangoCache django://{self.alias}>"

    def get(self, key: str) -> CachedValue | None:
        """Return the entry for ``key``, or None if absent, expired or unreadable."""
        try:
            entry = caches[self.alias].get(self._key(key))
        except Exception as exc:
            self._failed("read", exc)
            return None
        self._failing = False
        if not (isinstance(entry, tuple) and len(entry) == 4):
            return None
        stored_at, wall_time, origin, value = entry
        if origin == self._origin:
            return CachedValue(value, self._clock() - stored_at)
        return CachedValue(value, time.time() - wall_time)

    def set(self, key: str, value: object, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds (rounded up to whole seconds for the backend)."""
        entry = (self._clock(), time.time(), self._origin, value)
        try:
            caches[self.alias].set(self._key(key), entry, timeout=max(1, math.ceil(ttl)))
        except Exception as exc:
            self._failed("write", exc)
            return
        self._failing = False

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        try:
            caches[self.alias].delete(self._key(key))
        except Exception as exc:
            self._failed("delete", exc)

    def clear(self) -> None:
        """Forget every entry this cache stored, leaving the rest of the Django cache alone.

        Django caches cannot list keys, so clearing moves this instance to a
        fresh key namespace; the old entries expire on their own.
        """
        self._namespace = uuid.uuid4().hex[:12] + ":"

    def _key(self, key: str) -> str:
        if len(key) > _MAX_KEY or not key.isprintable() or " " in key:
            key = (
                "breakerpanel:digest:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
            )
        return self._namespace + key

    def _failed(self, what: str, exc: Exception) -> None:
        # Logged once per outage, not once per request.
        if not self._failing:
            self._failing = True
            logger.warning(
                "breakerpanel: cannot %s the Django cache %r (%s); stale fragments and pages "
                "are off until it answers again",
                what,
                self.alias,
                describe_exception(exc),
            )


def _alias(url: str, parts: urllib.parse.SplitResult) -> str:
    if not parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise Invalid(_ALLOWED)
    return parts.netloc


def cache_factory(
    *, strict: bool = True
) -> Callable[[str, urllib.parse.SplitResult, Clock | None], Cache]:
    """The ``django://`` cache scheme for ``Registry.from_settings(cache_schemes=...)``.

    With ``strict`` (building the registry) an alias missing from
    ``settings.CACHES`` is refused; the system checks use ``strict=False`` and
    report it as ``breaker.E002`` instead.
    """

    def open_cache(url: str, parts: urllib.parse.SplitResult, clock: Clock | None) -> Cache:
        alias = _alias(url, parts)
        if strict and alias not in getattr(settings, "CACHES", {}):
            known = ", ".join(f'"django://{name}"' for name in getattr(settings, "CACHES", {}))
            raise Invalid(_ALLOWED, f"settings.CACHES has no alias {alias!r}; known: {known}")
        return DjangoCache(alias, clock)

    return open_cache


def cache_alias(url: object) -> str | None:
    """The alias a ``django://`` cache URL names, or None for any other value."""
    if not isinstance(url, str) or not url.startswith("django://"):
        return None
    try:
        return _alias(url, urllib.parse.urlsplit(url))
    except (Invalid, ValueError):
        return None
