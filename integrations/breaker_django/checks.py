"""System checks: every problem breakerpanel can see in the settings, at start-up.

=============  =================================================================
``E001``       a problem in ``settings.BREAKERS`` (one message per problem)
``E002``       ``BREAKERS["cache"]`` names a ``django://`` alias not in ``CACHES``
``E003``       a dependency has ``routes`` but ``BreakerMiddleware`` is not installed
``E004``       ``settings.BREAKERS_CLOCK`` is not a clock
``W001``       ``BreakerMiddleware`` is not installed (no dependency has ``routes``)
``W002``       a middleware that personalises responses is above ``BreakerMiddleware``
``W003``       a ``routes`` pattern that no URL of ``ROOT_URLCONF`` can match
``W004``       ``GZipMiddleware`` is below ``BreakerMiddleware``
=============  =================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.core.checks import CheckMessage, Error, Tags, Warning, register  # type: ignore[import-untyped]

from breaker_core import ConfigurationError, Registry
from breaker_core.settings import settings_problems
from breaker_core.validation import key_path
from breaker_django import conf
from breaker_django.cache import cache_alias
from breaker_django.placement import MIDDLEWARE_PATH, placement
from breaker_django.urlcheck import unmatched_routes

__all__ = ["check_middleware", "check_routes", "check_settings"]

_DEPENDENCIES = 'BREAKERS["dependencies"]'
_DOCS = "See docs/django.md (settings: docs/settings.md)."


def _registry() -> Registry | None:
    try:
        return conf.get_registry()
    except ConfigurationError:
        return None


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``breaker.E001``, ``E002`` and ``E004``: the settings themselves."""
    messages: list[CheckMessage] = []
    raw = conf.user_settings()
    for problem in settings_problems(
        raw, cache_schemes=conf.cache_schemes(strict=False), default_cache=conf.DEFAULT_CACHE
    ):
        messages.append(
            Error(
                problem,
                hint=f"Fix this entry of settings.BREAKERS. {_DOCS}",
                id="breaker.E001",
            )
        )
    url = raw.get("cache", conf.DEFAULT_CACHE) if isinstance(raw, Mapping) else conf.DEFAULT_CACHE
    alias = cache_alias(url)
    caches = getattr(settings, "CACHES", {}) or {}
    if alias is not None and alias not in caches:
        known = ", ".join(f'"django://{name}"' for name in caches) or "none"
        where = 'BREAKERS["cache"]'
        if not (isinstance(raw, Mapping) and "cache" in raw):
            where += f' (default "{conf.DEFAULT_CACHE}")'
        messages.append(
            Error(
                f"{where}: the Django cache alias {alias!r} is not in settings.CACHES",
                hint=f"Add {alias!r} to settings.CACHES, or use one of: {known}.",
                id="breaker.E002",
            )
        )
    try:
        conf.get_clock()
    except ConfigurationError as exc:
        messages.append(
            Error(
                str(exc),
                hint="Set BREAKERS_CLOCK to a callable (tests) or remove it (the default clock).",
                id="breaker.E004",
            )
        )
    return messages


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``breaker.E003``, ``W001``, ``W002`` and ``W004``: where the middleware is."""
    where = placement()
    registry = _registry()
    if where.count == 0:
        routed = sorted(b.name for b in registry.breakers() if b.config.routes) if registry else []
        if routed:
            return [
                Error(
                    f"{', '.join(routed)} {'declares' if len(routed) == 1 else 'declare'} "
                    f"routes, but {MIDDLEWARE_PATH} is not in "
                    "settings.MIDDLEWARE: those pages would not be guarded",
                    hint=f'Add "{MIDDLEWARE_PATH}" to MIDDLEWARE, right below SecurityMiddleware.',
                    id="breaker.E003",
                )
            ]
        return [
            Warning(
                f"{MIDDLEWARE_PATH} is not in settings.MIDDLEWARE: request.breakers is not set "
                "and a CircuitOpenError escaping a view becomes a 500 instead of a 503",
                hint=f'Add "{MIDDLEWARE_PATH}" to MIDDLEWARE, right below SecurityMiddleware.',
                id="breaker.W001",
            )
        ]
    messages: list[CheckMessage] = []
    if where.personalising_above:
        messages.append(
            Warning(
                f"{', '.join(where.personalising_above)} "
                f"{'is' if len(where.personalising_above) == 1 else 'are'} above "
                f"{MIDDLEWARE_PATH} in settings.MIDDLEWARE: it would see responses before "
                "they get their cookies and Vary headers, so it keeps no page for stale_for",
                hint=f"Move {MIDDLEWARE_PATH} above them (right below SecurityMiddleware).",
                id="breaker.W002",
            )
        )
    if where.compressing_below:
        messages.append(
            Warning(
                f"{', '.join(where.compressing_below)} is below {MIDDLEWARE_PATH} in "
                "settings.MIDDLEWARE: kept pages would be compressed for one client and "
                "served to others, so it keeps no page for stale_for",
                hint=f"Move {', '.join(where.compressing_below)} above {MIDDLEWARE_PATH}.",
                id="breaker.W004",
            )
        )
    return messages


def check_routes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``breaker.W003``: a ``routes`` pattern that no URL of the project can match."""
    registry = _registry()
    if registry is None:
        return []
    patterns = [(p, b.name) for b in registry.breakers() for p in b.config.routes]
    return [
        Warning(
            f"{key_path(key_path(_DEPENDENCIES, name), 'routes')}: no URL of ROOT_URLCONF "
            f'can match "{pattern}", so it guards no page',
            hint="Patterns match request.path_info (without SCRIPT_NAME), from its leading "
            "'/'; '*' matches any run of characters. Fix the pattern or remove it.",
            id="breaker.W003",
        )
        for pattern, name in unmatched_routes(patterns)
    ]


register(check_settings)
register(check_middleware)
register(check_routes, Tags.urls)
