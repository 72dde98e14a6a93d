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
import urllib.parse

from breaker_core import CircuitBreaker, Registry

__all__ = ["Router", "host_key"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclasses.dataclass(frozen=True, slots=True)
class _Route:
    scheme: str
    host: str
    port: int
    prefix: str  # "" or "/api" (no trailing slash)
    name: str
    suffix: str | None  # a wildcard host: ".example.com", or "" for "*"; None: exact host

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
            host = (parts.hostname or "").lower()
            routes.append(
                _Route(
                    scheme=parts.scheme,
                    host=host,
                    port=parts.port or _DEFAULT_PORTS[parts.scheme],
                    prefix=parts.path.rstrip("/"),
                    name=breaker.name,
                    suffix=host[1:] if host.startswith("*") else None,
                )
            )
        # The most specific first: named hosts, longer wildcards, then longer prefixes.
        self._routes = sorted(routes, key=_specificity, reverse=True)

    def match(self, scheme: str, host: str, port: int | None, path: str) -> str | None:
        """Return the name of the dependency serving this URL, or None."""
        if self._registry.generation != self._generation:
            self._compile()
        host = host.lower()
        port = port or _DEFAULT_PORTS.get(scheme)
        for route in self._routes:
            if route.scheme != scheme or route.port != port or not route.host_matches(host):
                continue
            prefix = route.prefix
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return route.name
        return None

    def breaker(self, scheme: str, host: str, port: int | None, path: str) -> CircuitBreaker | None:
        """The breaker guarding this URL: its dependency's, or its host's with ``"per": "host"``."""
        name = self.match(scheme, host, port, path)
        if name is None:
            return None
        breaker = self._registry[name]
        if breaker.config.per == "host":
            port = port or _DEFAULT_PORTS[scheme]
            breaker = self._registry.for_key(name, host_key(host.lower(), port))
        return breaker

    def match_url(self, url: str) -> str | None:
        """Like :meth:`match`, for a URL string."""
        parts = _parts(url)
        return None if parts is None else self.match(*parts)

    def breaker_for_url(self, url: str) -> CircuitBreaker | None:
        """Like :meth:`breaker`, for a URL string."""
        parts = _parts(url)
        return None if parts is None else self.breaker(*parts)


def _parts(url: str) -> tuple[str, str, int | None, str] | None:
    """Scheme, host, port and path of ``url``; None when its port is not a number."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.scheme, parts.hostname or "", port, parts.path or "/"
