"""``Registry``: the breakers of an app's declared dependencies, built from settings.

What it hands out (guards, retry budgets, HTTP clients) is in :mod:`breaker_core.handouts`.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from breaker_core.breaker import CircuitBreaker
from breaker_core.cache import Cache, MemoryCache
from breaker_core.clock import Clock
from breaker_core.errors import ConfigurationError
from breaker_core.events import GatedListener, Listener
from breaker_core.handouts import Handouts
from breaker_core.keyed import KeyedBreakers
from breaker_core.pagesettings import PageSettings
from breaker_core.settings import parse_settings
from breaker_core.storage import CacheFactory, Storage

if TYPE_CHECKING:
    from breaker_core.retry import RetryBudget

__all__ = ["Registry", "SettingsGeneration", "on_reconfigure"]

P = ParamSpec("P")
R = TypeVar("R")

_logger = logging.getLogger("breaker_core")


class SettingsGeneration:
    """A registry's settings generation in an object of its own (``.value``).

    The same number as :attr:`Registry.generation`. A table rebuilt after
    :meth:`Registry.reconfigure` keeps this object and reads ``.value`` on every
    request: a plain slot read, where reading an attribute of the registry goes
    through its ``__getattr__`` hook (breakers reached as attributes) first.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Registry(Handouts):
    """The breakers of an app, by dependency name, with a shared cache and listeners.

    Usually built with :meth:`from_settings`. Breakers are reached as
    ``registry["inventory"]`` or, in templates, ``registry.inventory``; a
    dependency whose name is also a method name (``guard``, ``client``) is
    reached with the subscript.
    """

    do_not_call_in_templates = True  # Django templates must not call it

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        cache: Cache | None = None,
        storage: Storage | None = None,
    ) -> None:
        self._clock: Clock = clock if clock is not None else time.monotonic
        self._cache: Cache = cache if cache is not None else MemoryCache(clock=self._clock)
        self._storage = storage if storage is not None else Storage("memory://", shared=False)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._listeners: list[Listener] = []
        self.pages = PageSettings()
        """``BREAKERS["pages"]``: what decides whether a page may be kept."""
        self.enabled = True
        """``BREAKERS["enabled"]``: False when every breaker is a pass-through (DISABLED)."""
        self._budgets: dict[str, RetryBudget] = {}
        self._keyed: dict[str, KeyedBreakers] = {}
        self._keyed_lock = threading.Lock()
        # What reconfigure() compares new settings with (from_settings fills it in).
        self._source: dict[str, Any] = {"cache": None, "path": "BREAKERS"}
        self.generation = 0
        """Bumped by every :meth:`reconfigure`: tables built from the settings rebuild then."""
        self.settings_generation = SettingsGeneration()
        """:attr:`generation` as an object a table keeps (``.value``), cheaper to read."""
        self._on_reconfigure: list[Callable[[Registry], None]] = []  # see on_reconfigure()

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, object] | None,
        *,
        clock: Clock | None = None,
        path: str = "BREAKERS",
        cache_schemes: Mapping[str, CacheFactory] | None = None,
        default_cache: str = "memory://",
    ) -> Registry:
        """Build a registry from a ``BREAKERS`` mapping (see the settings docs).

        ``clock`` is given to every breaker and the cache; ``path`` names the
        mapping in error messages; ``cache_schemes`` and ``default_cache`` let
        an integration plug in its own cache (Django: ``django://default``).

        Raises:
            ConfigurationError: every problem in the settings, each with its path.
        """
        parsed = parse_settings(
            settings,
            path=path,
            clock=clock,
            cache_schemes=cache_schemes,
            default_cache=default_cache,
        )
        for warning in parsed.warnings:
            _logger.warning("%s", warning)
        registry = cls(clock=parsed.clock, cache=parsed.cache, storage=parsed.storage)
        registry.pages = parsed.pages
        registry.enabled = parsed.enabled
        registry._source = {
            "cache": (settings or {}).get("cache", default_cache),
            "path": path,
            "cache_schemes": cache_schemes,
            "default_cache": default_cache,
        }
        for name, config in parsed.dependencies.items():
            breaker = CircuitBreaker(name, config, clock=registry._clock)
            registry.add(breaker)
            if not parsed.enabled:
                breaker.disable()
        return registry

    # -- breakers ------------------------------------------------------------------------

    def add(self, breaker: CircuitBreaker) -> CircuitBreaker:
        """Register ``breaker`` under its name and return it.

        Raises:
            ConfigurationError: a breaker of that name is already registered.
        """
        if breaker.name in self._breakers:
            raise ConfigurationError(f"Registry: a breaker named {breaker.name!r} already exists")
        breaker.share_listeners(self._listeners)
        breaker.coordinate(self._storage.attach(breaker))
        self._breakers[breaker.name] = breaker
        return breaker

    def adopt(self, breaker: CircuitBreaker) -> CircuitBreaker:
        """Connect ``breaker`` to this registry without listing it: its listeners, its
        storage and its ``enabled`` switch (per-key breakers, breakers ``reconfigure`` adds).
        """
        breaker.share_listeners(self._listeners)
        breaker.coordinate(self._storage.attach(breaker))
        if not self.enabled:
            breaker.disable()
        return breaker

    @property
    def settings_source(self) -> Mapping[str, Any]:
        """What the registry was built from, for :meth:`reconfigure` to compare new settings
        with: ``path``, ``cache`` (as written), ``cache_schemes``, ``default_cache``."""
        return types.MappingProxyType(self._source)

    def reconfigure(self, settings: Mapping[str, object] | None) -> None:
        """Apply new ``BREAKERS`` settings to this live registry.

        Validated exactly like :meth:`from_settings` (same messages, same
        paths); when anything is wrong nothing changes. Dependencies that
        remain keep their breaker, state and window counts and take their new
        settings from the next call; new dependencies get a fresh breaker; removed
        ones leave the registry (code still holding one keeps a working,
        detached breaker). ``storage`` and ``cache``, and a dependency's
        ``max_concurrent`` and ``max_wait``, cannot change while running: a
        change to them is reported as a problem.

        Raises:
            ConfigurationError: every problem, each with its path.
        """
        from breaker_core.reconfigure import reconfigure_registry

        kept = reconfigure_registry(self, settings)
        removed = [b for name, b in self._breakers.items() if name not in kept]
        self._breakers = kept
        for name in [n for n in self._budgets if n not in kept]:
            del self._budgets[name]
        for breaker in removed:
            breaker.share_listeners([])
        with self._keyed_lock:
            for name in [n for n in self._keyed if n not in kept]:
                self._keyed.pop(name).detach()  # its keys leave with it
        self.generation += 1
        self.settings_generation.value = self.generation
        for hook in list(self._on_reconfigure):
            hook(self)

    def __getitem__(self, name: str) -> CircuitBreaker:
        try:
            return self._breakers[name]
        except KeyError:
            raise KeyError(self._unknown(name)) from None

    def __getattr__(self, name: str) -> CircuitBreaker:
        # Only reached when normal lookup fails: methods always win.
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._breakers[name]
        except KeyError:
            raise AttributeError(self._unknown(name)) from None

    def _unknown(self, name: str) -> str:
        declared = ", ".join(sorted(self._breakers)) or "none"
        text = f"no dependency named {name!r} (declared: {declared})"
        close = difflib.get_close_matches(name, list(self._breakers), n=1)
        return f"{text}; did you mean {close[0]!r}?" if close else text

    def __contains__(self, name: object) -> bool:
        return name in self._breakers

    def __iter__(self) -> Iterator[str]:
        return iter(self._breakers)

    def __len__(self) -> int:
        return len(self._breakers)

    def get(self, name: str) -> CircuitBreaker | None:
        """Return the breaker named ``name``, or None."""
        return self._breakers.get(name)

    def for_key(self, name: str, key: str) -> CircuitBreaker:
        """The breaker of ``key`` (a host, tenant, region...) under dependency ``name``.

        Made on first use with the dependency's settings and named
        ``name[key]``; the dependency keeps its ``max_keys`` most recently used
        ones (see docs/keys.md). Shared through the registry's storage and
        heard by its listeners like every breaker; not in :meth:`breakers`.

        Raises:
            KeyError: no dependency is named ``name``.
            TypeError, ValueError: ``key`` is not a string of 1 to 200
                printable characters.
        """
        family = self._keyed.get(name)
        if family is None or family.stale:
            family = self._family(name)
        return family.get(key)

    def _family(self, name: str) -> KeyedBreakers:
        with self._keyed_lock:
            dependency = self[name]
            family = self._keyed.get(name)
            if family is None:
                family = self._keyed[name] = KeyedBreakers(self, dependency)
            elif family.stale:
                family.reconfigured(dependency)
            return family

    def keyed(self, name: str) -> KeyedBreakers | None:
        """The per-key breakers of dependency ``name``, or None before its first ``for_key``."""
        family = self._keyed.get(name)
        return family if family is not None and name in self._breakers else None

    @property
    def names(self) -> tuple[str, ...]:
        """The declared dependency names, in settings order."""
        return tuple(self._breakers)

    def breakers(self) -> list[CircuitBreaker]:
        """Every breaker, in settings order."""
        return list(self._breakers.values())

    @property
    def cache(self) -> Cache:
        """The cache of last good results and fragments."""
        return self._cache

    @property
    def storage(self) -> Storage:
        """Where breaker state lives; ``storage.shared`` tells if other processes see it."""
        return self._storage

    @property
    def clock(self) -> Clock:
        """The clock every breaker of this registry uses."""
        return self._clock

    def close(self) -> None:
        """Stop the storage's background work and close its and the cache's connections."""
        self._storage.close()
        close_cache = getattr(self._cache, "close", None)
        if callable(close_cache):
            close_cache()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Return ``{name: breaker.snapshot()}`` for every breaker."""
        return {name: breaker.snapshot() for name, breaker in self._breakers.items()}

    def __repr__(self) -> str:
        return f"<Registry {', '.join(self._breakers) or 'empty'}>"

    # -- listeners ---------------------------------------------------------------------

    def add_listener(self, listener: Listener, *, when: Callable[[], bool] | None = None) -> None:
        """Call ``listener(event)`` for every event of every breaker, present and future.

        With ``when``, only for the events of calls made while ``when()`` is
        true (see :class:`~breaker_core.events.GatedListener`): the breakers
        keep their fast path for the other calls.
        """
        self._listeners.append(listener if when is None else GatedListener(listener, when))
        self._listeners_changed()

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``. Raises ValueError if it was not added."""
        self._listeners.remove(listener)
        self._listeners_changed()

    def _listeners_changed(self) -> None:
        for breaker in self._breakers.values():
            breaker.listeners_changed()
        for family in list(self._keyed.values()):
            family.listeners_changed()  # breakers per key made before the change


def on_reconfigure(registry: Registry, hook: Callable[[Registry], None]) -> None:
    """Call ``hook(registry)`` after every successful :meth:`Registry.reconfigure` of it.

    For an integration that keeps what it worked out from the registry's
    settings where polling :attr:`Registry.generation` costs too much (the
    Django database guard, per statement): it is told instead. ``hook`` runs
    on the thread that reconfigures, after the new settings are in place (and
    ``generation`` bumped); it must be quick and must not raise. A failed
    ``reconfigure`` changes nothing and calls no hook. Added once per hook
    (adding it again does nothing).
    """
    if hook not in registry._on_reconfigure:
        registry._on_reconfigure.append(hook)
