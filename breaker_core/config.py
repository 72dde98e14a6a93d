"""``BreakerConfig``: one dependency's settings, validated and normalised.

The same table of fields serves ``CircuitBreaker(name, **options)``,
``BreakerConfig(...)`` and every entry of ``BREAKERS["dependencies"]``, so a
setting means the same thing and fails with the same message everywhere.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal

from breaker_core import validation as v
from breaker_core.errors import ConfigurationError
from breaker_core.matching import ExceptionSpec
from breaker_core.policy import TRIP_POLICIES

__all__ = ["BREAKER_FIELDS", "DEPENDENCY_ONLY_FIELDS", "BreakerConfig"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BreakerConfig:
    """The settings of one breaker. Durations are float seconds.

    Every field is also a settings key of ``BREAKERS["dependencies"][name]``
    and a keyword of :class:`~breaker_core.CircuitBreaker`. Values may be
    given in settings form (``"10s"``, dotted exception paths); they are
    normalised on construction.

    Raises:
        ConfigurationError: a value is invalid, or two values contradict each
            other. Every problem is listed.
    """

    # When to trip.
    trip_policy: str = "time_window"
    """How failures are counted to trip: ``"time_window"`` (inside ``window`` seconds),
    ``"count_window"`` (among the last ``window_calls`` calls) or ``"consecutive"``
    (``failure_threshold`` failures in a row)."""
    failure_threshold: int | None = 5
    """Failures inside ``window`` that trip the breaker; None to trip on ``failure_rate`` only."""
    window: float = 10.0
    """Length in seconds of the sliding window in which outcomes are counted."""
    failure_rate: float | None = None
    """Share of failed calls in the window (0-1] that trips the breaker; None: off."""
    minimum_calls: int = 10
    """Calls needed in the window before ``failure_rate`` is judged."""
    window_calls: int = 100
    """Calls the ``count_window`` policy looks back over."""
    # What counts as a failure.
    record: tuple[ExceptionSpec, ...] = (Exception,)
    """Exceptions that count as failures (classes or predicates); others count as successes."""
    ignore: tuple[ExceptionSpec, ...] = ()
    """Exceptions that count as neither success nor failure (classes or predicates)."""
    slow_call_duration: float | None = None
    """A call slower than this many seconds is a failure; None: off."""
    result_is_failure: Callable[[Any], object] | None = None
    """Called with each result; a true answer makes the call a failure."""
    # Open and half-open.
    reset_timeout: float = 10.0
    """Seconds the breaker stays open before letting a probe through."""
    backoff: float = 1.0
    """Open wait multiplier per failed probe in a row (1: constant wait)."""
    max_reset_timeout: float | None = None
    """Cap on the open wait after backoff; None: no cap."""
    jitter: float = 0.0
    """Open wait spread: the wait is multiplied by a random factor in [1-jitter, 1+jitter]."""
    half_open_max_calls: int = 1
    """Probes allowed in flight at once while half-open."""
    success_threshold: int = 1
    """Successful probes needed to close again."""
    probe_timeout: float = 60.0
    """Seconds after which a probe that never reported back gives its slot back."""
    honor_retry_after: bool = False
    """Let a failure that says how long to wait (an HTTP 429/503 ``Retry-After``) lengthen
    the open wait it causes, up to ``max_reset_timeout`` (which it then requires)."""
    # Bulkhead.
    max_concurrent: int | Literal["auto"] | None = None
    """Calls allowed in flight at once in this process; ``"auto"``: an adaptive limit
    that follows the dependency's latency (:mod:`breaker_core.adaptive`); None: no cap."""
    max_wait: float = 0.0
    """Seconds a call may wait for a bulkhead slot before it is rejected."""
    # Used by the integrations.
    url: str | None = None
    """Base URL; outbound HTTP clients map requests to this dependency by it."""
    timeout: float | None = None
    """Timeout in seconds that outbound clients apply unless the caller sets one."""
    routes: tuple[str, ...] = ()
    """Inbound path patterns (``"/checkout/*"``) that cannot work without this dependency."""
    stale_for: float = 0.0
    """Seconds a last good result or page may be served while open or failing; 0: off."""
    failure_statuses: frozenset[int] | None = None
    """HTTP statuses counted as failures by outbound clients; None: every 5xx."""
    required: bool = False
    """Whether the health endpoint answers 503 while this dependency is open."""
    database: str | Literal[True] | None = None
    """The database this breaker guards: a Django ``DATABASES`` alias (every query on it runs
    under this breaker), or True for one guarded in code (``breaker_sqlalchemy.guard``). Either
    makes it a database dependency: no concurrency limit unless asked (settings.py)."""
    # Breakers per key.
    per: str | None = None
    """``"host"``: outbound HTTP clients use one breaker per host of this dependency
    (``registry.for_key(name, "host:port")``) instead of one for all; None: one breaker."""
    max_keys: int = 1000
    """Per-key breakers (``registry.for_key``) kept per dependency, least recently used
    dropped first."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name, parse in _PARSERS.items():
            raw = getattr(self, name)
            if raw == _DEFAULTS[name] and type(raw) is type(_DEFAULTS[name]):
                continue
            try:
                value = parse(raw)
            except v.Invalid as exc:
                problems.append(exc.message(_path_of(self, name), raw))
            else:
                object.__setattr__(self, name, value)
        if not problems:
            problems.extend(_cross_field_problems(self))
        if problems:
            raise ConfigurationError(problems)

    @classmethod
    def from_mapping(
        cls,
        options: Mapping[str, object],
        *,
        path: str = "BreakerConfig()",
        defaults: BreakerConfig | None = None,
    ) -> BreakerConfig:
        """Build a config from a settings mapping, reporting problems under ``path``.

        Keys missing from ``options`` take their value from ``defaults`` (or
        the field default). ``path`` names the mapping in messages, e.g.
        ``BREAKERS["dependencies"]["inventory"]``.

        Raises:
            ConfigurationError: unknown keys or invalid values, every one listed.
        """
        problems: list[str] = []
        values: dict[str, object] = {}
        for key, raw in options.items():
            if key not in _PARSERS:
                problems.append(v.unknown_key_problem(path, key, _PARSERS))
                continue
            try:
                values[key] = _PARSERS[key](raw)
            except v.Invalid as exc:
                problems.append(exc.message(v.key_path(path, key), raw))
        if problems:
            raise ConfigurationError(problems)
        base = defaults if defaults is not None else _DEFAULT_CONFIG
        merged = {f: getattr(base, f) for f in _PARSERS} | values
        token = _PATH.set(path)
        try:
            return cls(**merged)
        finally:
            _PATH.reset(token)


BREAKER_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(BreakerConfig))
"""Every key a dependency's settings may hold."""

DEPENDENCY_ONLY_FIELDS: frozenset[str] = frozenset({"url", "routes", "database", "per"})
"""Keys that make no sense in ``BREAKERS["defaults"]``."""

_PARSERS: dict[str, v.Parser] = {
    "trip_policy": v.one_of(TRIP_POLICIES),
    "failure_threshold": v.optional(v.positive_int),
    "window": v.positive_duration,
    "failure_rate": v.optional(v.fraction),
    "minimum_calls": v.positive_int,
    "window_calls": v.count_up_to(100_000),
    "record": v.exception_matchers,
    "ignore": v.exception_matchers,
    "slow_call_duration": v.optional(v.positive_duration),
    "result_is_failure": v.optional(v.predicate),
    "reset_timeout": v.positive_duration,
    "backoff": v.at_least_one,
    "max_reset_timeout": v.optional(v.positive_duration),
    "jitter": v.unit_interval,
    "half_open_max_calls": v.count_up_to(10_000),
    "success_threshold": v.count_up_to(10_000),
    "probe_timeout": v.positive_duration,
    "honor_retry_after": v.boolean,
    "max_concurrent": v.optional(v.concurrency_limit),
    "max_wait": v.non_negative_duration,
    "url": v.optional(v.url),
    "timeout": v.optional(v.positive_duration),
    "routes": v.routes,
    "stale_for": v.non_negative_duration,
    "failure_statuses": v.optional(v.failure_statuses),
    "required": v.boolean,
    "database": v.optional(v.database),
    "per": v.optional(v.one_of(("host",))),
    "max_keys": v.count_up_to(1_000_000),
}

_DEFAULTS: dict[str, object] = {f.name: f.default for f in dataclasses.fields(BreakerConfig)}

# The path used in messages while from_mapping() constructs a config.
_PATH: contextvars.ContextVar[str] = contextvars.ContextVar("breaker_config_path", default="")


def _path_of(config: BreakerConfig, name: str) -> str:
    return v.key_path(_PATH.get() or "BreakerConfig()", name)


def _cross_field_problems(config: BreakerConfig) -> list[str]:
    problems: list[str] = []
    if config.trip_policy == "consecutive" and config.failure_rate is not None:
        problems.append(
            f"{_path_of(config, 'failure_rate')}: expected None when trip_policy is "
            f'"consecutive" (it counts failures in a row, not a share), '
            f"got {config.failure_rate:g}"
        )
    if (
        config.trip_policy == "count_window"
        and config.failure_rate is not None
        and config.minimum_calls > config.window_calls
    ):
        problems.append(
            f"{_path_of(config, 'minimum_calls')}: expected at most window_calls "
            f'({config.window_calls}) when trip_policy is "count_window", '
            f"got {config.minimum_calls} (failure_rate could never be judged)"
        )
    if (
        config.trip_policy == "count_window"
        and config.failure_threshold is not None
        and config.failure_threshold > config.window_calls
    ):
        problems.append(
            f"{_path_of(config, 'failure_threshold')}: expected at most window_calls "
            f'({config.window_calls}) when trip_policy is "count_window", '
            f"got {config.failure_threshold} (the breaker could never trip on it)"
        )
    if config.per == "host" and config.url is None:
        problems.append(
            f'{_path_of(config, "url")}: expected an http(s) URL like "https://*.example.com" '
            'when per is "host" (hosts are matched by it), got None'
        )
    if config.failure_threshold is None and config.failure_rate is None:
        problems.append(
            f"{_path_of(config, 'failure_threshold')}: expected a positive integer like 5 "
            "when failure_rate is not set, got None (nothing could ever trip the breaker)"
        )
    if config.max_reset_timeout is not None and config.max_reset_timeout < config.reset_timeout:
        problems.append(
            f"{_path_of(config, 'max_reset_timeout')}: expected at least reset_timeout "
            f"({config.reset_timeout:g}s), got {config.max_reset_timeout:g}s"
        )
    if config.honor_retry_after and config.max_reset_timeout is None:
        problems.append(
            f'{_path_of(config, "max_reset_timeout")}: expected a duration like "5m" '
            "when honor_retry_after is true, got None (the dependency could ask for any wait)"
        )
    if config.backoff > 1 and config.max_reset_timeout is None:
        problems.append(
            f'{_path_of(config, "max_reset_timeout")}: expected a duration like "5m" '
            f"when backoff is above 1 (got backoff {config.backoff:g}), got None "
            "(the open wait would grow without bound)"
        )
    return problems


_DEFAULT_CONFIG = BreakerConfig()
