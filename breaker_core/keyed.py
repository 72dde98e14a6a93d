"""Breakers per key: one breaker per host, tenant or region of a declared dependency.

``registry.for_key("payments", "acct_42")`` returns the breaker of that key,
made on first use with the dependency's settings and kept in a bounded LRU
(the dependency's ``max_keys``, 1000 by default). Like every breaker of the
registry it shares its state through the registry's storage (Redis: every
process sees the same per-key state) and tells the registry's listeners.

Eviction never splits a key in two. The LRU holds the breakers it keeps;
a weak map holds every keyed breaker still alive anywhere (a call in flight, a
response body not read yet, an attempt held by the caller). Asking again for a
key that was evicted while still in use returns that same breaker, so its
window counts, probe slots and bulkhead slots stay in one place; a breaker
nobody holds any more is simply dropped (with memory storage its key starts
closed again; with Redis storage it reloads the shared state, and counts not
sent yet are sent first: the storage keeps them until then).

Eviction prefers the least recently used *closed* breaker among the oldest
few, so keys cycling through the LRU do not push out a breaker that is open
on a bad host while a closed one could go instead.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import collections
import threading
import weakref
from typing import Protocol

from breaker_core.breaker import CircuitBreaker
from breaker_core.clock import Clock
from breaker_core.errors import ConfigurationError
from breaker_core.state import State

__all__ = [
    "DEFAULT_KEY_LABELS",
    "MAX_KEY_LENGTH",
    "OTHER_KEY",
    "KeyLabels",
    "KeyedBreakers",
    "key_name",
    "split_key_name",
]

MAX_KEY_LENGTH = 200
"""The longest key, in characters: keys name Redis keys and metric labels."""

_EVICTION_SCAN = 16  # oldest entries looked at for a closed breaker to evict


def key_name(dependency: str, key: str) -> str:
    """The name of the breaker of ``key`` under ``dependency``: ``payments[acct_42]``.

    Dependency names hold no ``[``, so the name splits back unambiguously.
    """
    return f"{dependency}[{key}]"


def split_key_name(name: str) -> tuple[str, str | None]:
    """``("payments", "acct_42")`` for ``payments[acct_42]``; ``(name, None)`` for a plain name."""
    dependency, bracket, rest = name.partition("[")
    if not bracket or not rest.endswith("]"):
        return name, None
    return dependency, rest[:-1]


def check_key(dependency: str, key: object) -> str:
    """Return ``key`` if it may name a breaker.

    Raises:
        TypeError: ``key`` is not a string.
        ValueError: ``key`` is empty, too long or holds a control character.
    """
    where = f"for_key({dependency!r}, key)"
    if not isinstance(key, str):
        raise TypeError(f"{where}: expected a string key, got {type(key).__name__} {key!r}")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f"{where}: expected a key of 1 to {MAX_KEY_LENGTH} characters, got {len(key)}"
        )
    if not key.isprintable():
        raise ValueError(f"{where}: expected a key without control characters, got {key!r}")
    return key


class KeyedOwner(Protocol):
    """What :class:`KeyedBreakers` uses of its registry (a :class:`~breaker_core.Registry`).

    Named here so this module need not import ``registry`` (which builds the per-key
    breakers): no circle, even for the type checker.
    """

    @property
    def generation(self) -> int: ...

    @property
    def clock(self) -> Clock: ...

    def adopt(self, breaker: CircuitBreaker) -> CircuitBreaker: ...


class KeyedBreakers:
    """The per-key breakers of one declared dependency (see the module docs).

    Thread-safe. Built by the registry on the first ``for_key`` of the dependency.
    """

    def __init__(self, registry: KeyedOwner, dependency: CircuitBreaker) -> None:
        self.registry = registry
        self.dependency = dependency
        self._generation = registry.generation
        self._lock = threading.Lock()
        self._kept: collections.OrderedDict[str, CircuitBreaker] = collections.OrderedDict()
        self._alive: weakref.WeakValueDictionary[str, CircuitBreaker] = (
            weakref.WeakValueDictionary()
        )
        self.evictions = 0
        """Breakers dropped from the LRU since the start (a sign ``max_keys`` is too small)."""

    @property
    def limit(self) -> int:
        """How many breakers the LRU keeps: the dependency's ``max_keys``."""
        return self.dependency.config.max_keys

    def get(self, key: str) -> CircuitBreaker:
        """The breaker of ``key``: kept, still alive after eviction, or made now.

        Raises:
            TypeError, ValueError: ``key`` cannot name a breaker (see :func:`check_key`).
        """
        if type(key) is not str:
            check_key(self.dependency.name, key)  # raises: only strings name breakers
        with self._lock:
            breaker = self._kept.get(key)
            if breaker is not None:
                self._kept.move_to_end(key)
                return breaker
            check_key(self.dependency.name, key)  # a new key: checked once, when first used
            breaker = self._alive.get(key)
            if breaker is None:
                breaker = self._make(key)
            self._kept[key] = breaker
            self._shrink()
            return breaker

    def _make(self, key: str) -> CircuitBreaker:
        registry = self.registry
        breaker = CircuitBreaker(
            key_name(self.dependency.name, key), self.dependency.config, clock=registry.clock
        )
        registry.adopt(breaker)
        self._alive[key] = breaker
        return breaker

    def _shrink(self) -> None:
        kept = self._kept
        while len(kept) > self.limit:
            victim = None
            for index, (key, breaker) in enumerate(kept.items()):
                if index >= _EVICTION_SCAN or index == len(kept) - 1:
                    break
                if breaker.state is State.CLOSED:
                    victim = key
                    break
            if victim is None:
                victim = next(iter(kept))
            del kept[victim]
            self.evictions += 1

    def reconfigured(self, dependency: CircuitBreaker) -> None:
        """Give every live keyed breaker the dependency's new settings."""
        with self._lock:
            self.dependency = dependency
            self._generation = self.registry.generation
            for breaker in list(self._alive.values()):
                breaker.apply_config(dependency.config)
            self._shrink()

    def listeners_changed(self) -> None:
        """The registry's listeners changed: every live keyed breaker recomputes its own."""
        with self._lock:
            alive = list(self._alive.values())
        for breaker in alive:
            breaker.listeners_changed()

    def detach(self) -> None:
        """The dependency left the registry: forget the kept keys, stop telling its listeners.

        Code still holding a keyed breaker keeps a working, detached one.
        """
        with self._lock:
            self._kept.clear()
            for breaker in list(self._alive.values()):
                breaker.share_listeners([])

    @property
    def stale(self) -> bool:
        """True once the registry was reconfigured since this family last looked."""
        return self._generation != self.registry.generation

    def breakers(self) -> list[CircuitBreaker]:
        """The kept breakers, least recently used first."""
        with self._lock:
            return list(self._kept.values())

    def state_counts(self) -> dict[str, int]:
        """How many kept breakers are in each state (``{"closed": 980, "open": 2}``)."""
        counts: dict[str, int] = {}
        for breaker in self.breakers():
            state = breaker.state.value
            counts[state] = counts.get(state, 0) + 1
        return counts

    def shown(self, limit: int) -> tuple[list[CircuitBreaker], int]:
        """At most ``limit`` kept breakers worth showing, and how many were left out.

        Breakers not closed come first (most recently used first), then closed
        ones, most recently used first: a dashboard of thousands of keys shows
        the ones in trouble.
        """
        kept = self.breakers()[::-1]
        troubled = [b for b in kept if b.state is not State.CLOSED]
        ordered = troubled + [b for b in kept if b.state is State.CLOSED]
        return ordered[:limit], max(0, len(ordered) - limit)

    def keys(self) -> list[str]:
        """The kept keys, least recently used first."""
        with self._lock:
            return list(self._kept)

    def __len__(self) -> int:
        return len(self._kept)

    def __repr__(self) -> str:
        return f"<KeyedBreakers {self.dependency.name!r} {len(self)}/{self.limit}>"


OTHER_KEY = "(other)"
"""The label of every key beyond a :class:`KeyLabels` limit."""

DEFAULT_KEY_LABELS = 20
"""Keys per dependency that metrics label by name before aggregating the rest."""


class KeyLabels:
    """Which keys get their own metric label: the first ``limit`` seen per dependency.

    Every other key of that dependency is reported as :data:`OTHER_KEY`, so a
    dependency adds at most ``limit + 1`` key labels to a metric however many
    keys it has. A key keeps the label it was given (series never change
    name). Thread-safe; a few dict look-ups per event of a keyed breaker.

    Raises:
        ConfigurationError: ``limit`` is not an int from 0 to 10,000.
    """

    def __init__(self, limit: int = DEFAULT_KEY_LABELS) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 10_000:
            raise ConfigurationError(
                f"key_labels: expected an int from 0 to 10000 (keys labelled by name per "
                f"dependency, the rest as {OTHER_KEY!r}), got {limit!r}"
            )
        self.limit = limit
        self._named: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def label(self, name: str) -> tuple[str, str | None]:
        """``(dependency, key label)`` of a breaker name; the label is None for a plain name."""
        dependency, key = split_key_name(name)
        if key is None:
            return dependency, None
        named = self._named.get(dependency)
        if named is not None and key in named:
            return dependency, key
        with self._lock:
            named = self._named.setdefault(dependency, set())
            if key in named or len(named) < self.limit:
                named.add(key)
                return dependency, key
        return dependency, OTHER_KEY

    def named(self, dependency: str) -> frozenset[str]:
        """The keys of ``dependency`` that have their own label so far."""
        with self._lock:
            return frozenset(self._named.get(dependency, ()))
