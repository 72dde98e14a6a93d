"""Route guards: which inbound pages need which dependencies.

A dependency's ``routes`` setting lists path patterns. ``*`` matches any run of
characters, slashes included; a pattern ending in ``/*`` also matches the bare
prefix (``"/checkout/*"`` matches ``/checkout``, ``/checkout/`` and
``/checkout/pay/confirm``). Matching is on the request path only, never the
query string.
"""

from __future__ import annotations

import re

from breaker_core.breaker import CircuitBreaker
from breaker_core.errors import CircuitOpenError
from breaker_core.registry import Registry
from breaker_core.state import State

__all__ = ["RouteTable", "compile_route", "rejection"]


def compile_route(pattern: str) -> re.Pattern[str]:
    """Compile one ``routes`` pattern to a regular expression matching whole paths."""
    if pattern.endswith("/*"):
        prefix = pattern[:-2]
        return re.compile(_glob(prefix) + r"(?:/.*)?\Z", re.DOTALL)
    return re.compile(_glob(pattern) + r"\Z", re.DOTALL)


def _glob(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


class RouteTable:
    """The ``routes`` of every dependency of a registry, ready to match paths."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._routes: list[tuple[re.Pattern[str], str]] = [
            (compile_route(pattern), breaker.name)
            for breaker in registry.breakers()
            for pattern in breaker.config.routes
        ]
        # One alternation of every pattern: most paths need no dependency, and a
        # single match call says so without a Python loop over the patterns.
        self._any = (
            re.compile("|".join(f"(?:{regex.pattern})" for regex, _ in self._routes), re.DOTALL)
            if self._routes
            else None
        )

    def __bool__(self) -> bool:
        return bool(self._routes)

    def patterns(self) -> list[tuple[str, str]]:
        """``(pattern, dependency)`` pairs, as declared."""
        return [(pattern, b.name) for b in self.registry.breakers() for pattern in b.config.routes]

    def dependencies_for(self, path: str) -> list[str]:
        """The dependencies whose routes match ``path``, in settings order, without repeats."""
        if self._any is None or self._any.match(path) is None:
            return []
        names: list[str] = []
        for regex, name in self._routes:
            if name not in names and regex.match(path):
                names.append(name)
        return names

    def rejection_for(self, path: str, names: list[str] | None = None) -> CircuitOpenError | None:
        """The error to answer ``path`` with when a dependency it needs is open, else None.

        ``names``: the result of :meth:`dependencies_for` when the caller has it
        already. HALF_OPEN does not block a page: the page's own call to the
        dependency may be the probe.
        """
        for name in self.dependencies_for(path) if names is None else names:
            error = rejection(self.registry[name])
            if error is not None:
                return error
        return None


def rejection(breaker: CircuitBreaker) -> CircuitOpenError | None:
    """The error a page or view that needs ``breaker`` is answered with now, or None.

    Open (before its wait ends) and forced open reject; half-open lets the
    request through, since its own call to the dependency may be the probe.
    """
    if not breaker.is_open:
        return None
    reason = "forced_open" if breaker.state is State.FORCED_OPEN else "open"
    return CircuitOpenError(breaker.name, breaker.retry_after, reason)
