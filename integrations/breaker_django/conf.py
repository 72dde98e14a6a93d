"""The one place breakerpanel reads Django settings and keeps the registry built from them.

``settings.BREAKERS`` (the mapping of ``docs/settings.md``; the cache defaults
to ``"django://default"``) and ``settings.BREAKERS_CLOCK`` (optional: a
callable or a dotted path to one, returning monotonic seconds; tests set a
fake clock) are read when the registry is built: at ``ready()``. A
``setting_changed`` of ``BREAKERS`` (``override_settings``, a settings
reloader) is applied to the live registry with ``Registry.reconfigure`` (state
and counts of the remaining dependencies kept); when the new settings are
invalid or change ``storage``/``cache``, and on a change of ``BREAKERS_CLOCK``,
the registry is rebuilt as at start-up.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.core.signals import setting_changed  # type: ignore[import-untyped]

from breaker_core import ConfigurationError, Registry
from breaker_core.extension import CacheFactory, Clock, import_string, warn_deprecated
from breaker_django.cache import cache_factory

__all__ = [
    "CLOCK_SETTING",
    "DEFAULT_CACHE",
    "SETTING",
    "BuiltRegistry",
    "built",
    "built_registry",
    "cache_schemes",
    "current_registry",
    "get_clock",
    "get_registry",
    "on_build",
    "on_reload",
    "reload",
    "user_settings",
]

SETTING = "BREAKERS"
CLOCK_SETTING = "BREAKERS_CLOCK"
DEFAULT_CACHE = "django://default"
"""The cache used when ``BREAKERS`` has no ``cache`` key: Django's default cache."""

_lock = threading.Lock()


class BuiltRegistry:
    """Where this module keeps the registry built from settings: :data:`built`.

    ``registry`` is that registry, or None before it is built, after
    :func:`reload` and while the settings are invalid. Read ``built.registry``
    where even a call to :func:`built_registry` costs too much (the database
    guard reads it once per query); only this module writes it.
    """

    __slots__ = ("registry",)

    def __init__(self) -> None:
        self.registry: Registry | None = None


built = BuiltRegistry()
"""The one :class:`BuiltRegistry`: ``built.registry`` is what :func:`built_registry` returns."""
_error: ConfigurationError | None = None
_on_build: list[Callable[[Registry], None]] = []
_on_reload: list[Callable[[], None]] = []


def user_settings() -> Mapping[str, object] | None:
    """``settings.BREAKERS`` as the user wrote it (never modified), or None."""
    value: Mapping[str, object] | None = getattr(settings, SETTING, None)
    return value


def cache_schemes(*, strict: bool = True) -> dict[str, CacheFactory]:
    """The cache URL schemes Django adds to the engine's: ``django://<alias>``."""
    return {"django": cache_factory(strict=strict)}


def get_clock() -> Clock | None:
    """The clock from ``settings.BREAKERS_CLOCK``, or None when it is not set.

    None lets the engine choose: :func:`time.monotonic`, or wall time with
    shared storage (times are compared across processes then).

    Raises:
        ConfigurationError: the setting is neither a callable nor a dotted
            path to one.
    """
    value: Any = getattr(settings, CLOCK_SETTING, None)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ConfigurationError(
                f"{CLOCK_SETTING}: expected a dotted path to a clock callable like "
                f'"myproject.testing.clock", got "{value}" ({exc})'
            ) from None
    if not callable(value):
        raise ConfigurationError(
            f"{CLOCK_SETTING}: expected a callable returning monotonic seconds (or a dotted "
            f"path to one), got {value!r}; remove the setting to use the default clock"
        )
    clock: Clock = value
    return clock


def _build() -> Registry:
    registry = Registry.from_settings(
        user_settings(),
        clock=get_clock(),
        cache_schemes=cache_schemes(),
        default_cache=DEFAULT_CACHE,
    )
    for hook in _on_build:
        hook(registry)
    return registry


def on_build(hook: Callable[[Registry], None]) -> None:
    """Call ``hook(registry)`` for every registry built from settings from now on.

    How :mod:`breaker_django.signals` bridges each new registry to its signals
    without this module importing it (signals imports conf, never the reverse).
    """
    if hook not in _on_build:
        _on_build.append(hook)


def on_reload(hook: Callable[[], None]) -> None:
    """Call ``hook()`` after every :func:`reload`, once the registry is forgotten.

    How :mod:`breaker_django.db` tells its guards (their next statement finds
    the breaker of the registry built next) without this module importing it.
    """
    if hook not in _on_reload:
        _on_reload.append(hook)


def get_registry() -> Registry:
    """The registry built from the current settings (built on first use).

    Raises:
        ConfigurationError: ``settings.BREAKERS`` or ``BREAKERS_CLOCK`` is
            invalid; the message lists every problem with its path (``manage.py
            check`` reports the same as ``breaker.E0xx``).
    """
    global _error
    registry = built.registry
    if registry is not None:
        return registry
    with _lock:
        if _error is not None:
            raise _error
        registry = built.registry
        if registry is None:
            try:
                registry = built.registry = _build()
            except ConfigurationError as exc:
                _error = exc
                raise
        return registry


def built_registry() -> Registry | None:
    """The registry if it is built and valid, else None (never builds, never raises)."""
    return built.registry


def current_registry() -> Registry | None:
    """Deprecated: :func:`built_registry` (``current_registry`` now means, as in Flask and
    Starlette, the registry in use: :func:`breaker_django.current_registry`)."""
    warn_deprecated("breaker_django.conf.current_registry()", "conf.built_registry()")
    return built.registry


def reload() -> None:
    """Forget the registry; the next use builds a new one from the current settings.

    Called on ``setting_changed`` for ``BREAKERS`` and ``BREAKERS_CLOCK``; tests
    may call it to start from fresh breakers. Breaker state kept in memory
    is lost; the old registry's storage is closed (shared storage stops its
    background worker).
    """
    global _error
    with _lock:
        old, built.registry, _error = built.registry, None, None
    for hook in _on_reload:
        hook()
    if old is not None:
        old.close()


def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    if setting == SETTING:
        registry = built.registry
        if registry is not None:
            try:
                # New thresholds, timeouts and dependencies, on the live breakers.
                registry.reconfigure(user_settings())
                return
            except ConfigurationError:
                pass  # invalid, or storage/cache changed: rebuilt (and judged) as at start-up
        reload()
    elif setting == CLOCK_SETTING:
        reload()


setting_changed.connect(_on_setting_changed, dispatch_uid="breaker_django.conf.reload")
