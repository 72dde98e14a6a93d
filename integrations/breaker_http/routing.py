"""Mapping an outbound request's URL to the dependency it calls.

A dependency's ``url`` setting gives a scheme, a host, a port and a path
prefix. A request matches when all four agree (the prefix on a path-segment
boundary); the longest prefix wins. A request that matches no dependency is
not guarded.

The host may be a wildcard: ``*.example.com`` matches every host under
``example.com`` (not ``example.com`` itself), ``*`` every host (on the URL's
scheme and port). A named host wins over a wildcard, a longer wildcard over a
shorter one, then the longest prefix. With ``"per": "host"`` each host of a
dependency gets its own breaker (``registry.for_key(name, "host:port")``).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import dataclasses
import threading
import urllib.parse
from typing import Protocol

from breaker_core import BreakerConfig, CircuitBreaker, Registry

__all__ = ["Guard", "Router", "host_key"]

Guard = tuple[CircuitBreaker, BreakerConfig]
"""A request's breaker and that breaker's settings."""


class _HasPath(Protocol):
    """A URL object whose ``path`` is read only when routing needs it (httpx's ``URL``)."""

    @property
    def path(self) -> str: ...


_DEFAULT_PORTS = {"http": 80, "https": 443}
_ORIGINS_KEPT = 256  # origins (scheme, host, port) whose candidate routes are remembered


@dataclasses.dataclass(frozen=True, slots=True)
class _Route:
    scheme: str
    host: str
    port: int
    prefix: str  # "" or "/api" (no trailing slash)
    name: str
    suffix: str | None  # a wildcard host: ".example.com", or "" for "*"; None: exact host
    per_host: bool  # "per": "host": one breaker per host of the dependency

    def host_matches(self, host: str) -> bool:
        if self.suffix is None:
            return self.host == host
        return host.endswith(self.suffix) and len(host) > len(self.suffix)


def host_key(host: str, port: int) -> str:
    """The key of one host's breaker under a ``"per": "host"`` dependency: ``host:port``.

    An IPv6 address is bracketed as in a URL (``[::1]:8080``).
    """
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _specificity(route: _Route) -> tuple[int, int]:
    host = 10_000 if route.suffix is None else len(route.suffix)
    return host, len(route.prefix)


class Router:
    """Finds the dependency an outbound URL belongs to."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        """The registry whose ``url`` settings are routed (its ``generation`` is compared
        with :attr:`generation` by the transports)."""
        # Held while the tables are rebuilt or an origin is added to them, so that an
        # origin judged by the old routes is never written into the new tables.
        self._lock = threading.Lock()
        self.generation = -1
        self._compile()

    def _compile(self) -> None:
        with self._lock:
            if self.registry.generation != self.generation:
                self._rebuild()

    def _rebuild(self) -> None:
        registry = self.registry
        generation = registry.generation
        routes: list[_Route] = []
        for breaker in registry.breakers():
            url = breaker.config.url
            if url is None:
                continue
            parts = urllib.parse.urlsplit(url)
            host = (parts.hostname or "").lower()
            routes.append(
                _Route(
                    scheme=parts.scheme,
                    host=host,
                    port=parts.port or _DEFAULT_PORTS[parts.scheme],
                    prefix=parts.path.rstrip("/"),
                    name=breaker.name,
                    suffix=host[1:] if host.startswith("*") else None,
                    per_host=breaker.config.per == "host",
                )
            )
        # The most specific first: named hosts, longer wildcards, then longer prefixes.
        self._routes = sorted(routes, key=_specificity, reverse=True)
        self._origins: dict[tuple[str, str, int | None], tuple[_Route, ...]] = {}
        self.whole: dict[tuple[str, str, int | None], Guard | None] = {}
        """Origins (scheme, host, port) answered whatever the path: no route, or the most
        specific one has no prefix and one breaker (not ``"per": "host"``). Their breaker
        and its settings, or None: not guarded. Valid while :attr:`generation` is the
        registry's; read by the transports without a call (a miss: :meth:`guard_at`)."""
        # Per netloc of a URL string: its host and port (None: not a number).
        self._netlocs: dict[str, tuple[str, int | None] | None] = {}
        # Last: a reader that sees the registry's generation here reads the new tables
        # (the transports test it, then read ``whole`` without a lock).
        self.generation = generation  # rebuilt after registry.reconfigure()

    def _route(self, scheme: str, host: str, port: int | None, path: str) -> _Route | None:
        if self.registry.generation != self.generation:
            self._compile()
        routes = self._origins.get((scheme, host, port))
        if routes is None:
            routes = self._candidates(scheme, host, port)
        for route in routes:
            prefix = route.prefix
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return route
        return None

    def _candidates(self, scheme: str, host: str, port: int | None) -> tuple[_Route, ...]:
        """The routes this origin may match, most specific first, remembered per origin.

        Keyed by the origin as the caller spelled it (host not lowercased): a
        request then costs a dict look-up and a prefix test per candidate.
        """
        with self._lock:
            return self._remember(scheme, host, port)

    def _remember(self, scheme: str, host: str, port: int | None) -> tuple[_Route, ...]:
        lowered = host.lower()
        number = port or _DEFAULT_PORTS.get(scheme)
        routes = tuple(
            route
            for route in self._routes
            if route.scheme == scheme and route.port == number and route.host_matches(lowered)
        )
        if len(self._origins) >= _ORIGINS_KEPT:
            self._origins.clear()  # many hosts (a wildcard dependency): start afresh
            self.whole.clear()
        self._origins[(scheme, host, port)] = routes
        if not routes:
            self.whole[(scheme, host, port)] = None
        elif not routes[0].prefix and not routes[0].per_host:
            # The first candidate matches every path: the path need not be read.
            breaker = self.registry[routes[0].name]
            self.whole[(scheme, host, port)] = (breaker, breaker.config)
        return routes

    def match(self, scheme: str, host: str, port: int | None, path: str) -> str | None:
        """Return the name of the dependency serving this URL, or None."""
        route = self._route(scheme, host, port, path)
        return None if route is None else route.name

    def breaker(self, scheme: str, host: str, port: int | None, path: str) -> CircuitBreaker | None:
        """The breaker guarding this URL: its dependency's, or its host's with ``"per": "host"``."""
        route = self._route(scheme, host, port, path)
        if route is None:
            return None
        if route.per_host:
            return self.registry.for_key(route.name, host_key(host.lower(), route.port))
        return self.registry[route.name]

    def breaker_at(
        self, scheme: str, host: str, port: int | None, url: _HasPath
    ) -> CircuitBreaker | None:
        """Like :meth:`breaker`, reading ``url.path`` only if the origin's routes need it.

        An origin whose most specific route has no path prefix (nor ``"per": "host"``),
        or that no route serves, is answered by one dictionary look-up: httpx
        decodes a URL's path anew on every read.
        """
        guard = self.guard_at(scheme, host, port, url)
        return None if guard is None else guard[0]

    def guard_at(self, scheme: str, host: str, port: int | None, url: _HasPath) -> Guard | None:
        """Like :meth:`breaker_at`, with the breaker's settings: ``(breaker, config)``.

        The settings are the breaker's when its origin was first seen since the
        registry's last ``reconfigure`` (which is what changes them).
        """
        if self.registry.generation == self.generation:
            try:
                return self.whole[(scheme, host, port)]
            except KeyError:
                pass
        breaker = self.breaker(scheme, host, port, url.path)
        return None if breaker is None else (breaker, breaker.config)

    def match_url(self, url: str) -> str | None:
        """Like :meth:`match`, for a URL string."""
        parts = self._parts(url)
        return None if parts is None else self.match(*parts)

    def breaker_for_url(self, url: str) -> CircuitBreaker | None:
        """Like :meth:`breaker`, for a URL string."""
        guard = self.guard_for_url(url)
        return None if guard is None else guard[0]

    def guard_for_url(self, url: str) -> Guard | None:
        """Like :meth:`guard_at`, for a URL string."""
        scheme, netloc, path, _, _ = urllib.parse.urlsplit(url)
        origin = self._origin(netloc)
        if origin is None:
            return None
        host, port = origin
        if self.registry.generation == self.generation:
            try:
                return self.whole[(scheme, host, port)]
            except KeyError:
                pass
        breaker = self.breaker(scheme, host, port, path or "/")
        return None if breaker is None else (breaker, breaker.config)

    def _parts(self, url: str) -> tuple[str, str, int | None, str] | None:
        """Scheme, host, port and path of ``url``; None when its port is not a number."""
        scheme, netloc, path, _, _ = urllib.parse.urlsplit(url)
        origin = self._origin(netloc)
        if origin is None:
            return None
        return scheme, origin[0], origin[1], path or "/"

    def _origin(self, netloc: str) -> tuple[str, int | None] | None:
        """Host and port of a URL's ``netloc``, remembered per netloc (256 at most)."""
        try:
            return self._netlocs[netloc]
        except KeyError:
            origin = _origin(netloc)
            if len(self._netlocs) >= _ORIGINS_KEPT:
                self._netlocs.clear()
            self._netlocs[netloc] = origin
            return origin


def _origin(netloc: str) -> tuple[str, int | None] | None:
    """Host and port of a URL's ``netloc``; None when its port is not a number."""
    parts = urllib.parse.SplitResult("", netloc, "", "", "")
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.hostname or "", port
