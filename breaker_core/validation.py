"""Value parsers shared by breaker and registry settings.

Each parser takes a raw settings value and returns it normalised, or raises
:class:`Invalid` with a phrase saying what is allowed. Callers add the path and
the bad value, so every message reads
``<path>: expected <what is allowed>, got <value>``. :class:`Invalid` and the helpers
that word problems are in :mod:`breaker_core.problems` (re-exported here).

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Literal

from breaker_core.durations import parse_duration
from breaker_core.imports import import_string
from breaker_core.matching import ExceptionSpec
from breaker_core.problems import Invalid, describe, key_path, unknown_key_problem

__all__ = [
    "Invalid",
    "alias",
    "concurrency_limit",
    "count_up_to",
    "database",
    "describe",
    "exception_classes",
    "exception_matchers",
    "failure_statuses",
    "fraction",
    "key_path",
    "non_negative_duration",
    "one_of",
    "optional",
    "positive_duration",
    "positive_int",
    "predicate",
    "routes",
    "unknown_key_problem",
    "url",
]


Parser = Callable[[object], object]


def optional(parser: Parser) -> Parser:
    """Wrap ``parser`` so that ``None`` is allowed and kept."""

    def parse(value: object) -> object:
        if value is None:
            return None
        try:
            return parser(value)
        except Invalid as exc:
            raise Invalid(f"{exc.allowed} or None", exc.detail) from None

    return parse


def one_of(choices: tuple[str, ...]) -> Parser:
    """A parser accepting exactly one of ``choices`` (strings)."""
    allowed = "one of " + ", ".join(json.dumps(choice) for choice in choices)

    def parse(value: object) -> str:
        if not isinstance(value, str) or value not in choices:
            raise Invalid(allowed)
        return value

    return parse


def boolean(value: object) -> bool:
    """True or False (no truthy stand-ins)."""
    if not isinstance(value, bool):
        raise Invalid("true or false")
    return value


MAX_COUNT = 1_000_000_000_000_000
"""The largest count a setting takes unless it says otherwise (thresholds, minimum calls)."""
MIN_DURATION = 0.001
"""The shortest positive duration a setting takes (1ms): below it is surely a unit mistake."""
MAX_DURATION = 30 * 24 * 3600.0
"""The longest duration a setting takes (30 days, 720h): clocks, sockets and waits all hold it."""


def positive_int(value: object, maximum: int = MAX_COUNT) -> int:
    """An int from 1 to ``maximum`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid("a positive integer like 5")
    if value > maximum:
        raise Invalid("a positive integer like 5", f"at most {maximum}")
    return value


def count_up_to(maximum: int) -> Parser:
    """A :func:`positive_int` parser with its own ``maximum``."""

    def parse(value: object) -> int:
        return positive_int(value, maximum)

    return parse


MAX_CONCURRENT = 100_000
"""The largest fixed ``max_concurrent`` (one slot object each)."""


def concurrency_limit(value: object) -> int | Literal["auto"]:
    """A positive int up to :data:`MAX_CONCURRENT` (a fixed cap) or ``"auto"`` (adaptive)."""
    if value == "auto":
        return "auto"
    try:
        return positive_int(value, MAX_CONCURRENT)
    except Invalid as exc:
        raise Invalid('a positive integer like 4 or "auto"', exc.detail) from None


def _number(value: object, allowed: str, accept: Callable[[float], bool]) -> float:
    """A finite int or float (bools refused) for which ``accept`` holds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(allowed)
    try:
        number = float(value)
    except OverflowError:
        raise Invalid(allowed) from None
    if not math.isfinite(number) or not accept(number):
        raise Invalid(allowed)
    return number


def fraction(value: object) -> float:
    """A number in (0, 1], as for ``failure_rate``."""
    return _number(value, "a number greater than 0 and at most 1, like 0.5", lambda n: 0 < n <= 1)


def unit_interval(value: object) -> float:
    """A number in [0, 1], as for ``jitter``."""
    return _number(value, "a number from 0 to 1, like 0.1", lambda n: 0 <= n <= 1)


def at_least_one(value: object) -> float:
    """A number from 1 to 100, as for ``backoff``."""
    return _number(value, "a number from 1 to 100, like 2", lambda n: 1 <= n <= 100)


_DURATION_RANGE = "from 1ms to 720h"


def _duration(value: object, allowed: str) -> float:
    """:func:`parse_duration`, a value it cannot read refused with ``allowed``."""
    try:
        return parse_duration(value)
    except ValueError:
        raise Invalid(allowed) from None


def positive_duration(value: object) -> float:
    """A duration from 1ms to 30 days: seconds, a ``timedelta`` or a string like ``"10s"``."""
    allowed = 'a positive duration like "10s"'
    seconds = _duration(value, allowed)
    if seconds <= 0:
        raise Invalid(allowed)
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise Invalid(allowed, _DURATION_RANGE)
    return seconds


def non_negative_duration(value: object) -> float:
    """0, or a duration from 1ms to 30 days: seconds, a ``timedelta`` or ``"250ms"``."""
    allowed = 'a duration like "250ms" (0 to turn it off)'
    seconds = _duration(value, allowed)
    if seconds and not MIN_DURATION <= seconds <= MAX_DURATION:
        raise Invalid(allowed, f"0, or {_DURATION_RANGE}")
    return seconds


def exception_classes(value: object) -> tuple[type[Exception], ...]:
    """One exception class or dotted path, or a list of them; returned as a tuple."""
    matchers = exception_matchers(value, predicates=False)
    return tuple(item for item in matchers if isinstance(item, type))


def _resolved(value: object, allowed: str) -> object:
    """``value``, or what it names if a dotted path; an import error refused with ``allowed``."""
    if not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise Invalid(allowed, str(exc)) from None


def exception_matchers(value: object, *, predicates: bool = True) -> tuple[ExceptionSpec, ...]:
    """Exception classes and predicates on an exception, or dotted paths to them.

    One item or a list; returned as a tuple. A class must be an ``Exception``
    subclass; anything else callable is a predicate (``predicates=False``
    refuses them).
    """
    allowed = (
        'an exception class, a dotted path to one like "myapp.errors.UpstreamError", '
        "or a list of them"
    )
    if predicates:
        allowed = (
            "an exception class or a callable taking the exception, a dotted path to "
            'either like "myapp.errors.UpstreamError", or a list of them'
        )
    items: Iterable[object] = value if isinstance(value, list | tuple) else (value,)
    found: list[ExceptionSpec] = []
    for item in items:
        resolved = _resolved(item, allowed)
        if isinstance(resolved, type):
            if not issubclass(resolved, Exception):
                detail = ""
                if issubclass(resolved, BaseException):
                    detail = (
                        f"{resolved.__name__} is a BaseException but not an Exception; "
                        "those are never counted"
                    )
                raise Invalid(allowed, detail)
            found.append(resolved)
        elif predicates and callable(resolved):
            found.append(resolved)
        else:
            raise Invalid(allowed)
    return tuple(found)


def predicate(value: object) -> Callable[[object], object]:
    """A callable, or a dotted path to one, taking a call's result."""
    allowed = 'a callable or a dotted path to one like "myapp.checks.is_error"'
    resolved = _resolved(value, allowed)
    if not callable(resolved):
        raise Invalid(allowed)
    return resolved


def url(value: object) -> str:
    """An absolute http(s) URL, kept without a trailing slash."""
    allowed = 'an http(s) URL like "http://inventory.internal:8000"'
    if not isinstance(value, str):
        raise Invalid(allowed)
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise Invalid(allowed, str(exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(allowed)
    if parts.query or parts.fragment:
        raise Invalid(allowed, "a base URL has no query or fragment")
    host = parts.hostname
    if "*" in host and not (host == "*" or (host.startswith("*.") and "*" not in host[1:])):
        raise Invalid(allowed, 'a wildcard host is "*" or starts with "*." (like "*.example.com")')
    return value.rstrip("/")


def routes(value: object) -> tuple[str, ...]:
    """A list of inbound path patterns, each starting with ``/``."""
    allowed = 'a list of path patterns like ["/checkout/*"]'
    if not isinstance(value, list | tuple):
        raise Invalid(allowed)
    for item in value:
        if not isinstance(item, str) or not item.startswith("/"):
            raise Invalid(allowed, f"{describe(item)} does not start with /")
    return tuple(value)


def failure_statuses(value: object) -> frozenset[int]:
    """A list of HTTP status codes (100-599) that count as failures."""
    allowed = "a list of HTTP status codes like [500, 502, 503, 504, 429]"
    if not isinstance(value, list | tuple | set | frozenset):
        raise Invalid(allowed)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 100 <= item <= 599:
            raise Invalid(allowed, f"{describe(item)} is not a status code")
    return frozenset(value)


def alias(value: object) -> str:
    """A non-empty name such as a ``DATABASES`` alias (``"default"``)."""
    if not isinstance(value, str) or not value or value != value.strip():
        raise Invalid('a database alias like "default"')
    return value


def database(value: object) -> str | Literal[True]:
    """A ``DATABASES`` alias (Django guards it), or True: a database guarded in code."""
    if value is True:
        return True
    try:
        return alias(value)
    except Invalid:
        allowed = 'a database alias like "default", True (a database guarded in code'
        raise Invalid(allowed + ", like a SQLAlchemy engine)") from None
