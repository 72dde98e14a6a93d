"""Validation of the ``BREAKERS`` settings mapping shared by every integration.

One function, :func:`settings_problems`, finds every problem (Django reports
them as system checks); :func:`parse_settings` raises them all at once as a
:class:`~breaker_core.ConfigurationError` (Flask's ``init_app`` and
``Registry.from_settings``). The user's mapping is never modified.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from breaker_core import validation as v
from breaker_core.cache import Cache
from breaker_core.clock import Clock
from breaker_core.config import DEPENDENCY_ONLY_FIELDS, BreakerConfig
from breaker_core.errors import ConfigurationError
from breaker_core.pagesettings import PageSettings, parse_pages
from breaker_core.storage import (
    CacheFactory,
    Storage,
    cache_from_url,
    redact_url,
    storage_from_url,
)

__all__ = [
    "DEFAULT_URL_TIMEOUT",
    "SETTINGS_DEFAULTS",
    "SETTINGS_KEYS",
    "ParsedSettings",
    "dependency_warnings",
    "parse_settings",
    "settings_problems",
]

SETTINGS_KEYS = ("storage", "cache", "defaults", "dependencies", "pages", "enabled")
"""The top-level keys of ``BREAKERS``."""

SETTINGS_DEFAULTS = BreakerConfig(max_concurrent="auto")
"""What every dependency declared in settings starts from: the engine's defaults plus an
adaptive concurrency limit (``max_concurrent = "auto"``, docs/bulkhead.md). A breaker built in
code (``CircuitBreaker(...)``) has no limit unless asked: it may guard anything, while a
dependency in settings is a remote service called from a web worker. A dependency with a
``database`` (a Django alias, or True for an engine guarded in code such as SQLAlchemy's)
gets no limit unless it or ``defaults`` sets one: each thread's connection (or the pool)
already bounds its queries in flight, and the limit's bookkeeping would more than double
the guard's cost per query (docs/decisions.md)."""

DEFAULT_STORAGE = "memory://"
DEFAULT_CACHE = "memory://"

DEFAULT_URL_TIMEOUT = 5.0
"""The ``timeout`` (seconds) of a dependency with a ``url`` when neither it nor ``defaults``
sets one: an outbound client never waits without bound on a hung dependency."""

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedSettings:
    """``BREAKERS`` validated: the storage, the cache and one config per dependency."""

    storage: Storage
    cache: Cache
    defaults: BreakerConfig
    dependencies: dict[str, BreakerConfig]
    clock: Clock | None
    """The clock given (None: ``time.monotonic``; shared storage decides on the server's)."""
    pages: PageSettings = dataclasses.field(default_factory=PageSettings)
    """``BREAKERS["pages"]``: what decides whether a page may be kept."""
    warnings: tuple[str, ...] = ()
    """Settings that are valid but probably not what was meant (see :func:`dependency_warnings`)."""
    enabled: bool = True
    """``BREAKERS["enabled"]``: False turns every breaker into a pass-through (DISABLED)."""


def parse_settings(
    settings: Mapping[str, object] | None,
    *,
    path: str = "BREAKERS",
    clock: Clock | None = None,
    cache_schemes: Mapping[str, CacheFactory] | None = None,
    default_cache: str = DEFAULT_CACHE,
) -> ParsedSettings:
    """Validate ``settings`` and return them parsed.

    ``path`` names the mapping in messages (``BREAKERS``,
    ``app.config["BREAKERS"]``); ``cache_schemes`` adds cache URL schemes an
    integration provides; ``default_cache`` is used when ``cache`` is absent.

    Raises:
        ConfigurationError: every problem found, one per line, each naming the
            full path, the bad value and what is allowed.
    """
    problems: list[str] = []
    parsed = _parse(settings, path, clock, cache_schemes, default_cache, problems)
    if problems or parsed is None:
        raise ConfigurationError(problems)
    return parsed


def settings_problems(
    settings: Mapping[str, object] | None,
    *,
    path: str = "BREAKERS",
    cache_schemes: Mapping[str, CacheFactory] | None = None,
    default_cache: str = DEFAULT_CACHE,
) -> list[str]:
    """Return every problem in ``settings`` (empty when they are valid)."""
    problems: list[str] = []
    _parse(settings, path, None, cache_schemes, default_cache, problems)
    return problems


def _parse(
    settings: Mapping[str, object] | None,
    path: str,
    clock: Clock | None,
    cache_schemes: Mapping[str, CacheFactory] | None,
    default_cache: str,
    problems: list[str],
) -> ParsedSettings | None:
    if settings is None:
        settings = {}
    if not isinstance(settings, Mapping):
        problems.append(v.Invalid("a mapping (dict) of settings").message(path, settings))
        return None
    for key in settings:
        if key not in SETTINGS_KEYS:
            problems.append(v.unknown_key_problem(path, key, SETTINGS_KEYS))

    enabled = settings.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(v.Invalid("True or False").message(v.key_path(path, "enabled"), enabled))
        enabled = True

    storage: Storage | None = None
    raw_storage = settings.get("storage", DEFAULT_STORAGE)
    try:
        storage = storage_from_url(raw_storage)
    except v.Invalid as exc:
        problems.append(exc.message(v.key_path(path, "storage"), _redacted(raw_storage)))
    if not enabled and storage is not None and storage.shared:
        # Switched off: nothing is shared, so this process never changes the fleet's state.
        storage = storage_from_url(DEFAULT_STORAGE)

    cache: Cache | None = None
    raw_cache = settings.get("cache", default_cache)
    try:
        cache = cache_from_url(raw_cache, clock=clock, extra_schemes=cache_schemes)
    except v.Invalid as exc:
        problems.append(exc.message(v.key_path(path, "cache"), _redacted(raw_cache)))

    raw_defaults = settings.get("defaults")
    defaults = _parse_defaults(raw_defaults, v.key_path(path, "defaults"), problems)
    pages = parse_pages(settings.get("pages"), v.key_path(path, "pages"), problems)
    default_timeout = isinstance(raw_defaults, Mapping) and "timeout" in raw_defaults
    default_limit = isinstance(raw_defaults, Mapping) and "max_concurrent" in raw_defaults

    dependencies: dict[str, BreakerConfig] = {}
    deps_path = v.key_path(path, "dependencies")
    raw_deps = settings.get("dependencies")
    if raw_deps is None:
        raw_deps = {}
    if not isinstance(raw_deps, Mapping):
        problems.append(
            v.Invalid(
                'a mapping of dependency names to their settings, like {"inventory": {}}'
            ).message(deps_path, raw_deps)
        )
        raw_deps = {}
    for name, options in raw_deps.items():
        dep_path = v.key_path(deps_path, str(name))
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append(
                f"{deps_path}: expected dependency names of letters, digits, '_', '.' and '-' "
                f'(like "inventory"), got {v.describe(name)}'
            )
            continue
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            problems.append(v.Invalid("a mapping (dict) of settings").message(dep_path, options))
            continue
        try:
            config = BreakerConfig.from_mapping(
                options, path=dep_path, defaults=defaults or SETTINGS_DEFAULTS
            )
        except ConfigurationError as exc:
            problems.extend(exc.problems)
            continue
        if config.url is not None and "timeout" not in options and not default_timeout:
            config = dataclasses.replace(config, timeout=DEFAULT_URL_TIMEOUT)
        if config.database is not None and "max_concurrent" not in options and not default_limit:
            config = dataclasses.replace(config, max_concurrent=None)
        dependencies[name] = config

    if problems or storage is None or cache is None:
        return None
    return ParsedSettings(
        storage=storage,
        cache=cache,
        defaults=defaults or SETTINGS_DEFAULTS,
        dependencies=dependencies,
        clock=clock,
        pages=pages,
        warnings=tuple(dependency_warnings(dependencies, path=path)),
        enabled=enabled,
    )


def _redacted(raw: object) -> object:
    """A URL setting as shown in a problem: never with its password."""
    return redact_url(raw) if isinstance(raw, str) else raw


def dependency_warnings(
    dependencies: Mapping[str, BreakerConfig], *, path: str = "BREAKERS"
) -> list[str]:
    """Valid settings that are probably mistakes, one message per problem, with its path.

    - ``slow_call_duration`` not below ``timeout``: the client gives up at the timeout, so
      no call can ever be counted slow (and the slow-call rule never protects anything).
    """
    found: list[str] = []
    for name, config in dependencies.items():
        slow, timeout = config.slow_call_duration, config.timeout
        if slow is not None and timeout is not None and slow >= timeout:
            where = v.key_path(
                v.key_path(v.key_path(path, "dependencies"), name), "slow_call_duration"
            )
            found.append(
                f"{where}: {slow:g}s is not below the dependency's timeout ({timeout:g}s), so "
                "no call can be counted slow (the client gives up first); set it below the "
                "timeout, or raise the timeout"
            )
    return found


def _parse_defaults(raw: object, path: str, problems: list[str]) -> BreakerConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(v.Invalid("a mapping (dict) of settings").message(path, raw))
        return None
    misplaced = [key for key in raw if key in DEPENDENCY_ONLY_FIELDS]
    for key in misplaced:
        problems.append(
            f"{v.key_path(path, key)}: expected only settings that apply to every dependency, "
            f"got {v.describe(key)}, which belongs to one dependency (move it under "
            f'"dependencies")'
        )
    kept = {k: val for k, val in raw.items() if k not in misplaced}
    try:
        return BreakerConfig.from_mapping(kept, path=path, defaults=SETTINGS_DEFAULTS)
    except ConfigurationError as exc:
        problems.extend(exc.problems)
    # Judge the dependencies against the defaults that are valid on their own,
    # so one bad default does not add false problems to every dependency.
    valid: dict[str, object] = {}
    for key, val in kept.items():
        try:
            BreakerConfig.from_mapping({key: val})
        except ConfigurationError:
            continue
        valid[key] = val
    try:
        return BreakerConfig.from_mapping(valid, path=path, defaults=SETTINGS_DEFAULTS)
    except ConfigurationError:
        return None
