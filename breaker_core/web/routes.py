"""Route guards: which inbound pages need which dependencies.

A dependency's ``routes`` setting lists path patterns. ``*`` matches any run of
characters, slashes included; a pattern ending in ``/*`` also matches the bare
prefix (``"/checkout/*"`` matches ``/checkout``, ``/checkout/`` and
``/checkout/pay/confirm``). Matching is on the request path only, never the
query string.

Matching takes time linear in the path's length, whatever the patterns: a
pattern is its literal pieces between the stars, and a path matches when it
starts with the first piece, ends with the last, and holds the others in order
between them. Taking each middle piece at its leftmost place is always right
(a star can absorb anything), so each piece is searched once with
``str.find``; nothing backtracks, and a visitor's long URL costs a few scans
of it, not an exponential search.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import re

from breaker_core.breaker import CircuitBreaker
from breaker_core.errors import CircuitOpenError
from breaker_core.registry import Registry
from breaker_core.state import State

__all__ = ["Glob", "RoutePlan", "RouteTable", "compile_route", "rejection"]


_PLAN_LIMIT = 4096
"""Paths whose plan is remembered; past it the memo starts again (visitors choose paths)."""


class Glob:
    """One ``routes`` pattern, matched against whole paths in linear time."""

    __slots__ = ("bare", "pattern", "pieces")

    def __init__(self, pattern: str, *, bare: bool = True) -> None:
        self.pattern = pattern
        # "/checkout/*" also matches "/checkout": the bare prefix (itself matched as written).
        self.bare: Glob | None = (
            Glob(pattern[:-2], bare=False) if bare and pattern.endswith("/*") else None
        )
        self.pieces = pattern.split("*")

    @property
    def prefix(self) -> str:
        """The literal text every matching path starts with."""
        return self.pieces[0] if self.bare is None else self.bare.prefix

    def match(self, path: str) -> bool:
        """True when the whole ``path`` matches the pattern."""
        if self.bare is not None and self.bare.match(path):
            return True
        pieces = self.pieces
        if len(pieces) == 1:
            return path == pieces[0]
        first, last = pieces[0], pieces[-1]
        if len(path) < len(first) + len(last):
            return False
        if not path.startswith(first) or not path.endswith(last):
            return False
        position, end = len(first), len(path) - len(last)
        for piece in pieces[1:-1]:
            found = path.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


def compile_route(pattern: str) -> Glob:
    """Compile one ``routes`` pattern to a matcher of whole paths (``.match(path)``)."""
    return Glob(pattern)


class RoutePlan:
    """What one path needs, worked out once per path and settings generation.

    ``breakers``: the breakers of the dependencies whose routes match, in
    settings order (empty for a path no dependency guards); ``keepers``: the
    names of those with ``stale_for``; ``generation``: the registry's settings
    generation the plan was worked out for (see :attr:`RouteTable.plans`).
    """

    __slots__ = ("breakers", "generation", "keepers", "names")

    def __init__(self, breakers: list[CircuitBreaker], generation: int = 0) -> None:
        self.breakers = tuple(breakers)
        self.generation = generation
        self.names = [breaker.name for breaker in breakers]
        self.keepers = [breaker.name for breaker in breakers if breaker.config.stale_for > 0]

    def rejection(self) -> CircuitOpenError | None:
        """The error of the first open dependency, else None."""
        for breaker in self.breakers:
            if breaker.may_be_open and breaker.is_open:
                return rejection(breaker)
        return None


class RouteTable:
    """The ``routes`` of every dependency of a registry, ready to match paths.

    A middleware on the request path looks a path's plan up without a call of
    its own (a Python call costs more than the look-up)::

        plans, generation = table.plans, table.generation   # once, at start-up
        try:
            plan = plans[path]
        except KeyError:
            plan = table.find(path)
        if plan.generation != generation.value:              # the settings changed
            plan = table.find(path)
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.generation = registry.settings_generation
        """The registry's settings generation (``.value``), read on every request: a slot."""
        self.plans: dict[str, RoutePlan] = {}
        """Path -> its plan, an empty one when no route matches it.

        The same dict for the table's life (emptied, never replaced): a
        middleware keeps it. It may still hold plans of an older settings
        generation; compare ``plan.generation`` with ``generation.value``, and
        ask :meth:`find` when they differ. Bounded: see ``_PLAN_LIMIT``. Read-only
        for everyone but the table.
        """
        self._compile()

    def _compile(self) -> None:
        registry = self.registry
        # Read first: a reconfigure() finishing while the patterns are read is
        # seen on the next request (the plans carry the older number).
        self._generation = self.generation.value  # rebuilt after registry.reconfigure()
        self._routes: list[tuple[Glob, str]] = [
            (Glob(pattern), breaker.name)
            for breaker in registry.breakers()
            for pattern in breaker.config.routes
        ]
        # Most paths need no dependency: one match of an alternation of the
        # patterns' literal prefixes (no star in it, so no backtracking) says so.
        prefixes = sorted({glob.prefix for glob, _ in self._routes}, key=len, reverse=True)
        self._any = (
            re.compile("|".join(re.escape(prefix) for prefix in prefixes)) if self._routes else None
        )
        self._unguarded = RoutePlan([], self._generation)
        self.plans.clear()

    def __bool__(self) -> bool:
        if self.generation.value != self._generation:
            self._compile()
        return bool(self._routes)

    def patterns(self) -> list[tuple[str, str]]:
        """``(pattern, dependency)`` pairs, as declared."""
        return [(pattern, b.name) for b in self.registry.breakers() for pattern in b.config.routes]

    def plan(self, path: str) -> RoutePlan | None:
        """What ``path`` needs, or None when no dependency's routes match it.

        Remembered per path until the settings change, so a path is matched
        against the patterns once, not on every request.
        """
        plan = self.plans.get(path)
        if plan is None or plan.generation != self.generation.value:
            plan = self.find(path)
        return plan if plan.breakers else None

    def find(self, path: str) -> RoutePlan:
        """What ``path`` needs under the current settings: its plan, empty when nothing guards it.

        Remembered in :attr:`plans` until the settings change.
        """
        if self.generation.value != self._generation:
            self._compile()
        plans = self.plans
        plan = plans.get(path)
        if plan is not None and plan.generation == self._generation:
            return plan
        names = self._match(path)
        plan = (
            RoutePlan([self.registry[name] for name in names], self._generation)
            if names
            else self._unguarded
        )
        if len(plans) >= _PLAN_LIMIT:
            plans.clear()
        plans[path] = plan
        return plan

    def dependencies_for(self, path: str) -> list[str]:
        """The dependencies whose routes match ``path``, in settings order, without repeats."""
        if self.generation.value != self._generation:
            self._compile()
        return self._match(path)

    def _match(self, path: str) -> list[str]:
        if self._any is None or self._any.match(path) is None:
            return []
        names: list[str] = []
        for glob, name in self._routes:
            if name not in names and glob.match(path):
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
    if not (breaker.may_be_open and breaker.is_open):
        return None
    reason = "forced_open" if breaker.state is State.FORCED_OPEN else "open"
    return CircuitOpenError(breaker.name, breaker.retry_after, reason)
