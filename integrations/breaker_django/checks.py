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
``W005``       a ``slow_call_duration`` not below its dependency's ``timeout``
``W006``       (``--deploy``) per-process ``memory://`` storage under a multi-process server
``W007``       (``--deploy``) a dependency with a ``url`` and ``"timeout": None``
``W008``       (``--deploy``) ``BREAKERS["enabled"]`` is False
=============  =================================================================

The errors (``E0xx``) also stop Django from starting: :func:`startup_errors` runs in
``AppConfig.ready()``, in every server (``runserver``, gunicorn, uvicorn, ``manage.py``
commands), and raises :class:`InvalidBreakerSettings` listing all of them.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.core.checks import CheckMessage, Error, Tags, Warning, register  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]

from breaker_core import ConfigurationError, Registry
from breaker_core.extension import dependency_warnings, docs_url, key_path, settings_problems
from breaker_django import conf
from breaker_django.cache import cache_alias
from breaker_django.placement import MIDDLEWARE_PATH, placement
from breaker_django.servers import worker_processes
from breaker_django.urlcheck import unmatched_routes

__all__ = [
    "InvalidBreakerSettings",
    "check_deploy",
    "check_middleware",
    "check_routes",
    "check_settings",
    "check_warnings",
    "startup_errors",
]

_DEPENDENCIES = 'BREAKERS["dependencies"]'
_DOCS = f"See {docs_url('settings')} and {docs_url('django')}."


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


def check_warnings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``breaker.W005``: valid settings that defeat themselves."""
    registry = _registry()
    if registry is None:
        return []
    configs = {breaker.name: breaker.config for breaker in registry.breakers()}
    return [
        Warning(
            message,
            hint=f"See timeout and slow_call_duration in {docs_url('settings')}.",
            id="breaker.W005",
        )
        for message in dependency_warnings(configs)
    ]


def _storage_warning(registry: Registry) -> list[CheckMessage]:
    """``breaker.W006``: per-process breakers under several worker processes."""
    if registry.storage.shared or not list(registry.breakers()):
        return []
    workers = worker_processes()
    if workers.count is not None and workers.count <= 1:
        return []  # one process: its breakers are the site's
    if workers.count is not None:
        serving = f"{workers.count} worker processes serve the site ({workers.source})"
    elif workers.source:
        serving = f"{workers.source}, which runs several worker processes when told to"
    else:
        return []
    return [
        Warning(
            f'BREAKERS["storage"] is per-process memory ("memory://") and {serving}: each '
            "worker keeps its own breakers, so a dependency needs failure_threshold failures "
            "in every worker before all of them stop calling it, and the dashboard shows and "
            "changes one worker only",
            hint='Share state across workers: BREAKERS["storage"] = "redis://host:6379/0" '
            "(the redis extra), or run one worker process.",
            id="breaker.W006",
        )
    ]


def check_deploy(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``breaker.W006``, ``W007`` and ``W008`` (``manage.py check --deploy``)."""
    registry = _registry()
    if registry is None:
        return []
    messages = _storage_warning(registry)
    for breaker in registry.breakers():
        if breaker.config.url is not None and breaker.config.timeout is None:
            where = key_path(key_path(_DEPENDENCIES, breaker.name), "timeout")
            messages.append(
                Warning(
                    f"{where} is None: outbound clients of {breaker.name} wait without bound "
                    "on a dependency that hangs, and every waiting request holds a worker",
                    hint='Remove "timeout": None (the default is 5 s) or set a duration.',
                    id="breaker.W007",
                )
            )
    if not registry.enabled:
        messages.append(
            Warning(
                'BREAKERS["enabled"] is False: every breaker is a pass-through, so nothing '
                "is counted, nothing trips and a failing dependency is called on every request",
                hint='Remove "enabled": False from the production settings (it is meant for '
                "development and tests).",
                id="breaker.W008",
            )
        )
    return messages


class InvalidBreakerSettings(ConfigurationError, ImproperlyConfigured):  # type: ignore[misc]
    """``settings.BREAKERS`` is invalid: raised by ``AppConfig.ready()``, so Django does not start.

    Both a :class:`~breaker_core.ConfigurationError` (``problems`` lists each check's id,
    message and hint) and Django's ``ImproperlyConfigured``.
    """

    def __init__(self, errors: list[CheckMessage]) -> None:
        problems = [
            f"{e.id}: {e.msg}" + (f"\n    HINT: {e.hint}" if e.hint else "") for e in errors
        ]
        super().__init__(problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        self.args = (
            f"breakerpanel: settings.BREAKERS has {count}; Django cannot start until "
            "it is fixed (manage.py check reports the same):\n" + "\n".join(problems),
        )


def startup_errors() -> list[CheckMessage]:
    """The errors of :func:`check_settings` and :func:`check_middleware`, minus silenced ones."""
    silenced = set(getattr(settings, "SILENCED_SYSTEM_CHECKS", ()) or ())
    errors = check_settings()
    if not errors:
        errors = check_middleware()
    return [m for m in errors if m.is_serious() and m.id not in silenced]


register(check_settings)
register(check_middleware)
register(check_warnings)
register(check_routes, Tags.urls)
register(check_deploy, deploy=True)
