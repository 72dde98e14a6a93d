"""Where breaker state and cached results live, chosen by URL.

``"memory://"`` keeps state inside each process (the default, nothing to
install). ``"redis://"``, ``"rediss://"`` and ``"unix://"`` share it through
Redis (:mod:`breaker_core.redis`, loaded lazily; needs the redis extra). Schemes are looked
up in plain dicts; an unknown scheme or a missing driver is a
:class:`~breaker_core.ConfigurationError` that says what to write or install.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import importlib
import importlib.util
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from breaker_core.cache import DEFAULT_MAX_BYTES, Cache, MemoryCache
from breaker_core.clock import Clock
from breaker_core.coordination import MEMORY, Coordinated, Coordination
from breaker_core.drivers import load_driver
from breaker_core.validation import Invalid

__all__ = [
    "CACHE_SCHEMES",
    "REDIS_SCHEMES",
    "STORAGE_SCHEMES",
    "CacheFactory",
    "Storage",
    "cache_from_url",
    "redact_url",
    "storage_from_url",
]

REDIS_SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "redis+sentinel",
    "rediss+sentinel",
    "redis+cluster",
    "rediss+cluster",
)
"""Every URL scheme that names Redis (the driver loads when a storage connects)."""


REDACTED = "***"
"""What a password in a URL is shown as."""


def redact_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` option) as ``***``.

    Every message and log line that shows a storage or cache URL shows it through
    this: ``redis://:s3cret@host:6379/0`` reads ``redis://:***@host:6379/0``. Text
    that is not a URL comes back unchanged.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:netloc_end], rest[netloc_end:]
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:{REDACTED}@{hosts}"
    path, question, query = tail.partition("?")
    if question:
        query, hash_, fragment = query.partition("#")
        fields = [
            f"{field.partition('=')[0]}={REDACTED}"
            if urllib.parse.unquote_plus(field.partition("=")[0]) == "password"
            else field
            for field in query.split("&")
        ]
        tail = f"{path}?{'&'.join(fields)}{hash_}{fragment}"
    return f"{scheme}://{netloc}{tail}"


class Storage:
    """The breaker state storage a registry uses.

    ``shared`` is True when every process sees the same state, so that
    commands run from another process (``manage.py breakers open ...``) can
    change it. The memory storage keeps each breaker's state in the breaker.
    """

    degraded = False
    """True while a shared storage cannot be reached (never for memory)."""

    def __init__(self, url: str, shared: bool) -> None:
        self.url = url
        self.shared = shared

    def sync_now(self) -> bool:
        """Bring every breaker up to date with the storage now; False if unreachable."""
        return True

    def attach(self, machine: Coordinated) -> Coordination:
        """The port ``machine`` decides through (memory: the machine's own state)."""
        return MEMORY

    def close(self) -> None:
        """Release connections and background threads (nothing for memory)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {redact_url(self.url)!r}>"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Storage)
        return (self.url, self.shared) == (other.url, other.shared)

    def __hash__(self) -> int:
        return hash((type(self), self.url))


def _memory_storage(url: str, parts: urllib.parse.SplitResult) -> Storage:
    if parts.netloc or parts.path or parts.query:
        raise Invalid('"memory://" with nothing after it')
    return Storage(url=url, shared=False)


def _redis_class(kind: str) -> Any:
    # Named in the drivers table, not imported: the engine never depends on the Redis
    # package, which loads (with redis-py) only when a Redis URL is opened.
    _require_redis_driver(kind)
    return load_driver(f"redis-{kind}")


def _redis_storage(url: str, parts: urllib.parse.SplitResult) -> Storage:
    storage_class = _redis_class("storage")
    try:
        storage: Storage = storage_class(url)
        return storage
    except ValueError as exc:
        raise Invalid(
            'a Redis URL like "redis://127.0.0.1:6379/0?prefix=myapp&timeout=100ms&refresh=250ms"',
            str(exc),
        ) from None


STORAGE_SCHEMES: dict[str, Callable[[str, urllib.parse.SplitResult], Storage]] = {
    "memory": _memory_storage,
    **dict.fromkeys(REDIS_SCHEMES, _redis_storage),
}
"""Storage URL schemes and the functions that open them."""

CacheFactory = Callable[[str, urllib.parse.SplitResult, Clock | None], Cache]
"""Opens a cache from its URL: ``factory(url, parts, clock)``."""


_MEMORY_CACHE = '"memory://" or "memory://?max_entries=1000&max_bytes=64MB"'
_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def _positive(raw: str, option: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise Invalid(_MEMORY_CACHE, f"{option} must be a positive integer")
    return int(raw)


def _byte_size(raw: str) -> int:
    number = raw.rstrip("BKMGbkmg")
    unit = raw[len(number) :].upper()
    if unit not in _UNITS or not (number.isascii() and number.isdigit()) or int(number) < 1:
        raise Invalid(
            _MEMORY_CACHE, "max_bytes must be a positive number of bytes, like 65536 or 64MB"
        )
    return int(number) * _UNITS[unit]


def _memory_cache(url: str, parts: urllib.parse.SplitResult, clock: Clock | None) -> Cache:
    if parts.netloc or parts.path:
        raise Invalid(_MEMORY_CACHE)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"max_entries", "max_bytes"}
    if unknown:
        raise Invalid(_MEMORY_CACHE, f"unknown option {sorted(unknown)[0]!r}")
    max_entries = 1000
    if "max_entries" in query:
        max_entries = _positive(query["max_entries"][-1], "max_entries")
    max_bytes = _byte_size(query["max_bytes"][-1]) if "max_bytes" in query else DEFAULT_MAX_BYTES
    return MemoryCache(max_entries, max_bytes=max_bytes, clock=clock)


def _redis_cache(url: str, parts: urllib.parse.SplitResult, clock: Clock | None) -> Cache:
    cache_class = _redis_class("cache")
    try:
        cache: Cache = cache_class(url, clock=clock)
        return cache
    except ValueError as exc:
        raise Invalid(
            'a Redis URL like "redis://127.0.0.1:6379/0?prefix=myapp&max_entries=10000"',
            str(exc),
        ) from None


CACHE_SCHEMES: dict[str, CacheFactory] = {
    "memory": _memory_cache,
    **dict.fromkeys(REDIS_SCHEMES, _redis_cache),
}
"""Cache URL schemes of the engine; integrations add their own (Django adds ``django``)."""


def _require_redis_driver(kind: str) -> None:
    if importlib.util.find_spec("redis") is None:
        raise Invalid(
            f"a {kind} whose driver is installed",
            'the redis driver is missing: pip install "breakerpanel[redis]"',
        )


def _split(url: object, schemes: Mapping[str, object]) -> tuple[str, urllib.parse.SplitResult]:
    allowed = " or ".join(f'"{s}://..."' for s in schemes)
    if not isinstance(url, str) or "://" not in url:
        raise Invalid(f"a URL like {allowed}")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise Invalid(f"a URL like {allowed}", str(exc)) from None
    if parts.scheme not in schemes:
        raise Invalid(f"a URL like {allowed}", f"unknown scheme {parts.scheme!r}")
    return url, parts


def storage_from_url(url: object) -> Storage:
    """Open the state storage named by ``url``.

    Raises:
        Invalid: the scheme is unknown, the URL malformed or the driver missing;
            the settings layer turns this into a ConfigurationError with the path.
    """
    text, parts = _split(url, STORAGE_SCHEMES)
    return STORAGE_SCHEMES[parts.scheme](text, parts)


def cache_from_url(
    url: object,
    *,
    clock: Clock | None = None,
    extra_schemes: Mapping[str, CacheFactory] | None = None,
) -> Cache:
    """Open the result cache named by ``url``; ``extra_schemes`` come from integrations.

    Raises:
        Invalid: as :func:`storage_from_url`.
    """
    schemes = {**CACHE_SCHEMES, **(extra_schemes or {})}
    text, parts = _split(url, schemes)
    return schemes[parts.scheme](text, parts, clock)
