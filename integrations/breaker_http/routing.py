"""Mapping an outbound request's URL to the dependency it calls.

A dependency's ``url`` setting gives a scheme, a host, a port and a path
prefix. A request matches when all four agree (the prefix on a path-segment
boundary); the longest prefix wins. A request that matches no dependency is
not guarded.
"""

from __future__ import annotations

import dataclasses
import urllib.parse

from breaker_core import Registry

__all__ = ["Router"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclasses.dataclass(frozen=True, slots=True)
class _Route:
    scheme: str
    host: str
    port: int
    prefix: str  # "" or "/api" (no trailing slash)
    name: str


class Router:
    """Finds the dependency an outbound URL belongs to."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._compile()

    def _compile(self) -> None:
        registry = self._registry
        self._generation = registry.generation  # rebuilt after registry.reconfigure()
        routes: list[_Route] = []
        for breaker in registry.breakers():
            url = breaker.config.url
            if url is None:
                continue
            parts = urllib.parse.urlsplit(url)
            routes.append(
                _Route(
                    scheme=parts.scheme,
                    host=(parts.hostname or "").lower(),
                    port=parts.port or _DEFAULT_PORTS[parts.scheme],
                    prefix=parts.path.rstrip("/"),
                    name=breaker.name,
                )
            )
        # Longest prefix first, so the most specific dependency wins.
        self._routes = sorted(routes, key=lambda r: len(r.prefix), reverse=True)

    def match(self, scheme: str, host: str, port: int | None, path: str) -> str | None:
        """Return the name of the dependency serving this URL, or None."""
        if self._registry.generation != self._generation:
            self._compile()
        host = host.lower()
        port = port or _DEFAULT_PORTS.get(scheme)
        for route in self._routes:
            if route.scheme != scheme or route.host != host or route.port != port:
                continue
            prefix = route.prefix
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return route.name
        return None

    def match_url(self, url: str) -> str | None:
        """Like :meth:`match`, for a URL string."""
        parts = urllib.parse.urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return None
        return self.match(parts.scheme, parts.hostname or "", port, parts.path or "/")
