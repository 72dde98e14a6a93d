"""Applying new settings to a live breaker without losing its state or its counts.

Used by :meth:`breaker_core.Registry.reconfigure`. A breaker keeps its state
(an open breaker stays open until the wait it started with ends; the next
wait uses the new ``reset_timeout``), its window counts (moved into a window
of the new length when ``window`` changes: they then age out on the new
window's schedule), its probes and its listeners. Thresholds, rates,
``record``/``ignore``, slow-call and probe settings, ``url``, ``timeout``,
``routes``, ``stale_for`` and the rest apply from the next call on.

``storage``, ``cache`` and ``pages`` cannot change while running either.
``max_concurrent`` and ``max_wait`` cannot change on a live breaker: calls in
flight hold slots of the bulkhead they entered. Changing them is reported as
a problem (remove the dependency and add it back, or restart).

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from breaker_core.breaker import CircuitBreaker
from breaker_core.clock import Clock
from breaker_core.config import BreakerConfig
from breaker_core.errors import ConfigurationError
from breaker_core.pagesettings import PageSettings
from breaker_core.settings import parse_settings
from breaker_core.storage import Storage, redact_url

__all__ = [
    "FIXED_FIELDS",
    "SHARED_FIELDS",
    "Reconfigurable",
    "fixed_field_problems",
    "reconfigure_registry",
    "shared_field_problems",
]

FIXED_FIELDS = ("max_concurrent", "max_wait")
"""Settings a live breaker keeps until it is removed or the process restarts."""


def fixed_field_problems(old: BreakerConfig, new: BreakerConfig, path: str) -> list[str]:
    """A problem for each field of :data:`FIXED_FIELDS` that ``new`` changes."""
    problems = []
    for field in FIXED_FIELDS:
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            problems.append(
                f'{path}["{field}"]: cannot change while the app runs (it is {before!r}, got '
                f"{after!r}): calls in flight hold slots of the current bulkhead; remove the "
                "dependency and add it back, or restart"
            )
    return problems


SHARED_FIELDS = ("window", "trip_policy", "window_calls")
"""Settings every process sharing a breaker must agree on: fixed while running with Redis."""


def shared_field_problems(old: BreakerConfig, new: BreakerConfig, path: str) -> list[str]:
    """A problem for each field of :data:`SHARED_FIELDS` that ``new`` changes."""
    return [
        f'{path}["{field}"]: cannot change while the app runs with shared storage (it is '
        f"{getattr(old, field)!r}, got {getattr(new, field)!r}; every process counts into "
        "the same shared window); restart them all"
        for field in SHARED_FIELDS
        if getattr(old, field) != getattr(new, field)
    ]


class Reconfigurable(Protocol):
    """What :func:`reconfigure_registry` reads of the registry (a :class:`~breaker_core.Registry`).

    Named here so this module need not import ``registry`` (which calls it): no circle,
    even for the type checker.
    """

    @property
    def settings_source(self) -> Mapping[str, Any]: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def storage(self) -> Storage: ...

    @property
    def pages(self) -> PageSettings: ...

    @property
    def enabled(self) -> bool: ...

    def get(self, name: str) -> CircuitBreaker | None: ...

    def adopt(self, breaker: CircuitBreaker) -> CircuitBreaker: ...


def reconfigure_registry(
    registry: Reconfigurable, settings: Mapping[str, object] | None
) -> dict[str, CircuitBreaker]:
    """:meth:`breaker_core.Registry.reconfigure`: validate everything, then apply.

    Returns the breakers the registry keeps, in settings order: those that remain,
    with their new settings applied, and new ones connected with
    :meth:`~breaker_core.Registry.adopt`. The registry swaps its table for them.
    Reads the registry through its public methods only.
    """
    source = registry.settings_source
    path: str = source["path"]
    parsed = parse_settings(
        settings,
        path=path,
        clock=registry.clock,
        cache_schemes=source.get("cache_schemes"),
        default_cache=source.get("default_cache", "memory://"),
    )
    problems: list[str] = []
    try:
        if parsed.storage != registry.storage:
            problems.append(
                f'{path}["storage"]: cannot change while the app runs (it is '
                f"{redact_url(registry.storage.url)!r}, got {redact_url(parsed.storage.url)!r}); "
                "restart to move breaker state"
            )
        raw_cache = (settings or {}).get("cache", source.get("default_cache", "memory://"))
        if source["cache"] is not None and raw_cache != source["cache"]:
            problems.append(
                f'{path}["cache"]: cannot change while the app runs (it is '
                f"{_shown(source['cache'])!r}, got {_shown(raw_cache)!r}); restart to use "
                "another cache"
            )
        if parsed.pages != registry.pages:
            problems.append(
                f'{path}["pages"]: cannot change while the app runs (the route guards of '
                "running middleware read it once); restart to apply it"
            )
        if parsed.enabled != registry.enabled:
            problems.append(
                f'{path}["enabled"]: cannot change while the app runs (it is '
                f"{registry.enabled}, got {parsed.enabled}); restart to apply it"
            )
        for name, config in parsed.dependencies.items():
            breaker = registry.get(name)
            if breaker is not None:
                dep_path = f'{path}["dependencies"]["{name}"]'
                problems.extend(fixed_field_problems(breaker.config, config, dep_path))
                if registry.storage.shared:
                    problems.extend(shared_field_problems(breaker.config, config, dep_path))
    finally:
        parsed.storage.close()
        close_cache = getattr(parsed.cache, "close", None)
        if callable(close_cache):
            close_cache()
    if problems:
        raise ConfigurationError(problems)
    kept: dict[str, CircuitBreaker] = {}
    for name, config in parsed.dependencies.items():
        breaker = registry.get(name)
        if breaker is None:
            breaker = registry.adopt(CircuitBreaker(name, config, clock=registry.clock))
        else:
            breaker.apply_config(config)
        kept[name] = breaker
    return kept


def _shown(raw: object) -> object:
    """A cache setting as shown in a problem: a URL never with its password."""
    return redact_url(raw) if isinstance(raw, str) else raw
