"""BreakerConfig: defaults, normalisation and the messages of invalid values.

One table of fields serves ``BreakerConfig(...)``, ``BreakerConfig.from_mapping``,
``CircuitBreaker(name, **options)`` and ``BREAKERS["dependencies"][name]``, so most tests
run through all four and expect the same line, each with its own path.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from breaker_core import BreakerConfig, CircuitBreaker, ConfigurationError, Registry
from breaker_core.config import BREAKER_FIELDS


class UpstreamError(Exception):
    """Referenced from settings by its dotted path."""


def is_error(result):
    return result == "error"


HERE = __name__  # the dotted module of this file, for dotted-path settings

DEP = 'BREAKERS["dependencies"]["inventory"]'


def build_config(options):
    return BreakerConfig(**options)


def build_from_mapping(options):
    return BreakerConfig.from_mapping(options, path=DEP)


def build_breaker(options):
    return CircuitBreaker("inventory", **options).config


def build_from_settings(options):
    return Registry.from_settings({"dependencies": {"inventory": options}})["inventory"].config


# name: (builder, the path under which a problem with field ``f`` is reported)
BUILDERS = {
    "from_mapping": (build_from_mapping, DEP + '["{f}"]'),
    "CircuitBreaker": (build_breaker, 'CircuitBreaker("inventory", {f}=...)'),
    "from_settings": (build_from_settings, DEP + '["{f}"]'),
}
EVERY_BUILDER = [pytest.param(build_config, id="BreakerConfig")] + [
    pytest.param(build, id=name) for name, (build, _) in BUILDERS.items()
]
# BreakerConfig(...) itself is left out here: its paths are tested on their own below.
EVERY_PATH = [pytest.param(build, path, id=name) for name, (build, path) in BUILDERS.items()]


def problems_of(build, options):
    with pytest.raises(ConfigurationError) as info:
        build(options)
    error = info.value
    assert str(error) == "\n".join(error.problems)
    return list(error.problems)


# -- defaults ------------------------------------------------------------------------------

EXPECTED_DEFAULTS = {
    "trip_policy": "time_window",
    "failure_threshold": 5,
    "window": 10.0,
    "failure_rate": None,
    "minimum_calls": 10,
    "window_calls": 100,
    "record": (Exception,),
    "ignore": (),
    "slow_call_duration": None,
    "result_is_failure": None,
    "reset_timeout": 10.0,
    "backoff": 1.0,
    "max_reset_timeout": None,
    "jitter": 0.0,
    "half_open_max_calls": 1,
    "success_threshold": 1,
    "probe_timeout": 60.0,
    "honor_retry_after": False,
    "max_concurrent": None,
    "max_wait": 0.0,
    "url": None,
    "timeout": None,
    "routes": (),
    "stale_for": 0.0,
    "failure_statuses": None,
    "required": False,
    "database": None,
    "per": None,
    "max_keys": 1000,
}


@pytest.mark.parametrize("build", EVERY_BUILDER)
def test_defaults(build):
    config = build({})
    # A dependency in settings also gets the adaptive concurrency limit (docs/bulkhead.md).
    expected = dict(EXPECTED_DEFAULTS)
    if build is build_from_settings:
        expected["max_concurrent"] = "auto"

    values = {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}
    assert values == expected
    for name, value in expected.items():
        assert type(values[name]) is type(value), name
    assert config == BreakerConfig(max_concurrent=expected["max_concurrent"])


def test_every_field_is_a_settings_key():
    assert set(BREAKER_FIELDS) == set(EXPECTED_DEFAULTS)


def test_config_is_immutable():
    config = BreakerConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.window = 5.0


# -- normalisation -------------------------------------------------------------------------

NORMALISED = [
    ("failure_threshold", None, None),  # with failure_rate 0.5: see options_with()
    ("failure_threshold", 3, 3),
    ("window", "250ms", 0.25),
    ("window", 3, 3.0),
    ("window", "1.5s", 1.5),
    ("failure_rate", 0.5, 0.5),
    ("failure_rate", 1, 1.0),
    ("minimum_calls", 20, 20),
    ("record", "builtins.ValueError", (ValueError,)),
    ("record", ValueError, (ValueError,)),
    ("record", [ValueError, "builtins.KeyError"], (ValueError, KeyError)),
    ("record", f"{HERE}.UpstreamError", (UpstreamError,)),
    ("record", [], ()),
    ("ignore", f"{HERE}.UpstreamError", (UpstreamError,)),
    ("ignore", ("builtins.LookupError",), (LookupError,)),
    ("slow_call_duration", "800ms", 0.8),
    ("slow_call_duration", None, None),
    ("result_is_failure", f"{HERE}.is_error", is_error),
    ("result_is_failure", is_error, is_error),
    ("reset_timeout", "5s", 5.0),
    ("reset_timeout", 2, 2.0),
    ("backoff", 1, 1.0),
    ("max_reset_timeout", "2m", 120.0),
    ("jitter", 0, 0.0),
    ("jitter", 0.1, 0.1),
    ("jitter", 1, 1.0),
    ("half_open_max_calls", 3, 3),
    ("success_threshold", 2, 2),
    ("probe_timeout", "1h", 3600.0),
    ("max_concurrent", 8, 8),
    ("max_concurrent", "auto", "auto"),
    ("max_wait", "250ms", 0.25),
    ("max_wait", 0, 0.0),
    ("url", "http://inventory.internal:8000", "http://inventory.internal:8000"),
    ("url", "https://inventory.internal/api/", "https://inventory.internal/api"),
    ("timeout", "2s", 2.0),
    ("routes", ["/checkout/*", "/cart"], ("/checkout/*", "/cart")),
    ("stale_for", "5m", 300.0),
    ("stale_for", 0, 0.0),
    ("failure_statuses", [500, 503, 429], frozenset({500, 503, 429})),
]


def options_with(field, value):
    options = {field: value}
    if field == "failure_threshold" and value is None:
        options["failure_rate"] = 0.5  # something must still be able to trip the breaker
    return options


@pytest.mark.parametrize("build", EVERY_BUILDER)
@pytest.mark.parametrize(("field", "given", "expected"), NORMALISED)
def test_values_are_normalised(build, field, given, expected):
    value = getattr(build(options_with(field, given)), field)

    assert value == expected
    assert type(value) is type(expected)


def test_equal_settings_written_differently_give_equal_configs():
    assert BreakerConfig(window="10s", reset_timeout="1m", record="builtins.Exception") == (
        BreakerConfig(window=10, reset_timeout=60.0, record=[Exception])
    )


# -- invalid values ------------------------------------------------------------------------

POSITIVE_INT = "a positive integer like 5"
CONCURRENCY = 'a positive integer like 4 or "auto"'
POSITIVE_DURATION = 'a positive duration like "10s"'
DURATION_OR_ZERO = 'a duration like "250ms" (0 to turn it off)'
FRACTION = "a number greater than 0 and at most 1, like 0.5"
EXCEPTIONS = (
    "an exception class or a callable taking the exception, a dotted path to either "
    'like "myapp.errors.UpstreamError", or a list of them'
)
PREDICATE = 'a callable or a dotted path to one like "myapp.checks.is_error"'
URL = 'an http(s) URL like "http://inventory.internal:8000"'
OR_NONE = " or None"

# field, bad value, what is allowed, the value as shown, a detail the line must contain
DATABASE = (
    'a database alias like "default", True (a database guarded in code, like a SQLAlchemy '
    "engine) or None"
)
INVALID = [
    ("failure_threshold", 0, POSITIVE_INT + OR_NONE, "0", None),
    ("failure_threshold", -1, POSITIVE_INT + OR_NONE, "-1", None),
    ("failure_threshold", True, POSITIVE_INT + OR_NONE, "True", None),
    ("failure_threshold", 2.5, POSITIVE_INT + OR_NONE, "2.5", None),
    ("failure_threshold", "5", POSITIVE_INT + OR_NONE, '"5"', None),
    ("window", "10x", POSITIVE_DURATION, '"10x"', None),
    ("window", "10", POSITIVE_DURATION, '"10"', None),
    ("window", "", POSITIVE_DURATION, '""', None),
    ("window", 0, POSITIVE_DURATION, "0", None),
    ("window", "0s", POSITIVE_DURATION, '"0s"', None),
    ("window", -1, POSITIVE_DURATION, "-1", None),
    ("window", True, POSITIVE_DURATION, "True", None),
    ("window", math.nan, POSITIVE_DURATION, "nan", None),
    ("window", math.inf, POSITIVE_DURATION, "inf", None),
    ("window", None, POSITIVE_DURATION, "None", None),
    ("window", [10], POSITIVE_DURATION, "[10]", None),
    ("failure_rate", 0, FRACTION + OR_NONE, "0", None),
    ("failure_rate", 1.5, FRACTION + OR_NONE, "1.5", None),
    ("failure_rate", -0.1, FRACTION + OR_NONE, "-0.1", None),
    ("failure_rate", True, FRACTION + OR_NONE, "True", None),
    ("failure_rate", "50%", FRACTION + OR_NONE, '"50%"', None),
    ("failure_rate", math.nan, FRACTION + OR_NONE, "nan", None),
    ("minimum_calls", 0, POSITIVE_INT, "0", None),
    ("minimum_calls", None, POSITIVE_INT, "None", None),
    ("minimum_calls", 1.5, POSITIVE_INT, "1.5", None),
    ("record", "builtins.NoSuchError", EXCEPTIONS, '"builtins.NoSuchError"', "NoSuchError"),
    ("record", "no_such_module_xyz.Error", EXCEPTIONS, '"no_such_module_xyz.Error"', "xyz"),
    ("record", "ValueError", EXCEPTIONS, '"ValueError"', "dotted path"),
    ("record", "math.pi", EXCEPTIONS, '"math.pi"', None),  # neither class nor callable
    ("record", 42, EXCEPTIONS, "42", None),
    ("record", ["builtins.ValueError", 42], EXCEPTIONS, '["builtins.ValueError", 42]', None),
    (
        "record",
        "builtins.KeyboardInterrupt",
        EXCEPTIONS,
        '"builtins.KeyboardInterrupt"',
        "KeyboardInterrupt is a BaseException but not an Exception",
    ),
    ("ignore", SystemExit, EXCEPTIONS, "builtins.SystemExit", "SystemExit is a BaseException"),
    ("ignore", f"{HERE}.Nope", EXCEPTIONS, f'"{HERE}.Nope"', "has no attribute 'Nope'"),
    ("slow_call_duration", "fast", POSITIVE_DURATION + OR_NONE, '"fast"', None),
    ("slow_call_duration", 0, POSITIVE_DURATION + OR_NONE, "0", None),
    ("result_is_failure", 42, PREDICATE + OR_NONE, "42", None),
    ("result_is_failure", "builtins.nope", PREDICATE + OR_NONE, '"builtins.nope"', "nope"),
    ("result_is_failure", "is_error", PREDICATE + OR_NONE, '"is_error"', "dotted path"),
    ("reset_timeout", "10x", POSITIVE_DURATION, '"10x"', None),
    ("reset_timeout", 0, POSITIVE_DURATION, "0", None),
    ("backoff", 0.5, "a number from 1 to 100, like 2", "0.5", None),
    ("backoff", True, "a number from 1 to 100, like 2", "True", None),
    ("backoff", math.inf, "a number from 1 to 100, like 2", "inf", None),
    ("backoff", "2", "a number from 1 to 100, like 2", '"2"', None),
    ("max_reset_timeout", "1x", POSITIVE_DURATION + OR_NONE, '"1x"', None),
    ("max_reset_timeout", 0, POSITIVE_DURATION + OR_NONE, "0", None),
    ("jitter", -0.1, "a number from 0 to 1, like 0.1", "-0.1", None),
    ("jitter", 1.5, "a number from 0 to 1, like 0.1", "1.5", None),
    ("jitter", True, "a number from 0 to 1, like 0.1", "True", None),
    ("jitter", "10%", "a number from 0 to 1, like 0.1", '"10%"', None),
    ("half_open_max_calls", 0, POSITIVE_INT, "0", None),
    ("half_open_max_calls", None, POSITIVE_INT, "None", None),
    ("success_threshold", 0, POSITIVE_INT, "0", None),
    ("success_threshold", "1", POSITIVE_INT, '"1"', None),
    ("probe_timeout", "1 minute", POSITIVE_DURATION, '"1 minute"', None),
    ("probe_timeout", 0, POSITIVE_DURATION, "0", None),
    ("max_concurrent", 0, CONCURRENCY + OR_NONE, "0", None),
    ("max_concurrent", -5, CONCURRENCY + OR_NONE, "-5", None),
    ("max_concurrent", True, CONCURRENCY + OR_NONE, "True", None),
    ("max_concurrent", "Auto", CONCURRENCY + OR_NONE, '"Auto"', None),
    ("max_wait", -1, DURATION_OR_ZERO, "-1", None),
    ("max_wait", "soon", DURATION_OR_ZERO, '"soon"', None),
    ("max_wait", None, DURATION_OR_ZERO, "None", None),
    ("url", "inventory.internal", URL + OR_NONE, '"inventory.internal"', None),
    ("url", "ftp://inventory.internal", URL + OR_NONE, '"ftp://inventory.internal"', None),
    ("url", "http://", URL + OR_NONE, '"http://"', None),
    ("url", "http://inventory:99999", URL + OR_NONE, '"http://inventory:99999"', "Port"),
    ("url", "http://inventory/?q=1", URL + OR_NONE, '"http://inventory/?q=1"', "no query"),
    ("url", 8000, URL + OR_NONE, "8000", None),
    ("timeout", "2x", POSITIVE_DURATION + OR_NONE, '"2x"', None),
    ("timeout", 0, POSITIVE_DURATION + OR_NONE, "0", None),
    (
        "routes",
        "/checkout/*",
        'a list of path patterns like ["/checkout/*"]',
        '"/checkout/*"',
        None,
    ),
    (
        "routes",
        ["checkout"],
        'a list of path patterns like ["/checkout/*"]',
        '["checkout"]',
        '"checkout" does not start with /',
    ),
    ("stale_for", -1, DURATION_OR_ZERO, "-1", None),
    ("stale_for", "5 min", DURATION_OR_ZERO, '"5 min"', None),
    ("stale_for", None, DURATION_OR_ZERO, "None", None),
    (
        "failure_statuses",
        500,
        "a list of HTTP status codes like [500, 502, 503, 504, 429] or None",
        "500",
        None,
    ),
    (
        "failure_statuses",
        [600],
        "a list of HTTP status codes like [500, 502, 503, 504, 429] or None",
        "[600]",
        "600 is not a status code",
    ),
    (
        "failure_statuses",
        ["500"],
        "a list of HTTP status codes like [500, 502, 503, 504, 429] or None",
        '["500"]',
        '"500" is not a status code',
    ),
    ("required", "yes", "true or false", '"yes"', None),
    ("honor_retry_after", "yes", "true or false", '"yes"', None),
    (
        "trip_policy",
        "streak",
        'one of "time_window", "count_window", "consecutive"',
        '"streak"',
        None,
    ),
    ("trip_policy", None, 'one of "time_window", "count_window", "consecutive"', "None", None),
    ("window_calls", 0, POSITIVE_INT, "0", None),
    ("window_calls", 10**6, POSITIVE_INT, "1000000", "at most 100000"),
    ("honor_retry_after", 1, "true or false", "1", None),
    ("required", 1, "true or false", "1", None),
    ("database", "", DATABASE, '""', None),
    ("database", 5, DATABASE, "5", None),
    ("database", False, DATABASE, "False", None),
    ("per", "tenant", 'one of "host" or None', '"tenant"', None),
    ("max_keys", 0, POSITIVE_INT, "0", None),
    ("max_keys", 10**7, POSITIVE_INT, "10000000", "at most 1000000"),
]


def test_the_invalid_table_covers_every_field():
    assert {row[0] for row in INVALID} == set(BREAKER_FIELDS)


@pytest.mark.parametrize(("build", "path"), EVERY_PATH)
@pytest.mark.parametrize(
    ("field", "value", "allowed", "shown", "detail"),
    INVALID,
    ids=[f"{row[0]}={row[3]}" for row in INVALID],
)
def test_invalid_value_names_path_value_and_what_is_allowed(
    build, path, field, value, allowed, shown, detail
):
    [problem] = problems_of(build, {field: value})

    line = f"{path.format(f=field)}: expected {allowed}, got {shown}"
    if detail is None:
        assert problem == line
    else:
        assert problem.startswith(line + " (")
        assert problem.endswith(")")
        assert detail in problem


def test_the_design_example_message():
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings({"dependencies": {"inventory": {"window": "10x"}}})

    line = (
        'BREAKERS["dependencies"]["inventory"]["window"]: '
        'expected a positive duration like "10s", got "10x"'
    )
    assert info.value.problems == (line,)
    assert str(info.value) == line


def test_circuit_breaker_keyword_is_named_in_the_path():
    with pytest.raises(ConfigurationError) as info:
        CircuitBreaker("inventory", window="10x")

    assert str(info.value) == (
        'CircuitBreaker("inventory", window=...): '
        'expected a positive duration like "10s", got "10x"'
    )


@pytest.mark.parametrize("field", ["window", "failure_rate", "jitter", "backoff"])
def test_a_number_too_large_for_a_float_is_a_configuration_error(field):
    # Today float(10**400) raises OverflowError from inside the parsers.
    [problem] = problems_of(build_breaker, {field: 10**400})

    assert problem.startswith(f'CircuitBreaker("inventory", {field}=...): expected ')


@pytest.mark.parametrize("field", ["record", "result_is_failure"])
def test_a_relative_dotted_path_is_a_configuration_error(field):
    # Today importlib raises TypeError ("the 'package' argument is required ...").
    [problem] = problems_of(build_breaker, {field: ".errors.UpstreamError"})

    assert problem.startswith(f'CircuitBreaker("inventory", {field}=...): expected ')
    assert 'got ".errors.UpstreamError"' in problem


def test_a_huge_bad_int_is_still_reported():
    # Today describe() calls repr(), which refuses ints over 4300 digits (ValueError).
    [problem] = problems_of(build_breaker, {"failure_threshold": -(10**5000)})

    assert problem.startswith('CircuitBreaker("inventory", failure_threshold=...): expected ')


# -- several problems at once ---------------------------------------------------------------


def test_every_problem_is_reported_in_one_error():
    problems = problems_of(
        build_breaker,
        {"window": "10x", "failure_threshold": 0, "windw": 10, "jitter": 2, "url": "nope"},
    )

    assert len(problems) == 5
    assert sorted(p.split(":")[0] for p in problems) == sorted(
        [
            'CircuitBreaker("inventory")',  # the unknown key "windw"
            'CircuitBreaker("inventory", failure_threshold=...)',
            'CircuitBreaker("inventory", jitter=...)',
            'CircuitBreaker("inventory", url=...)',
            'CircuitBreaker("inventory", window=...)',
        ]
    )


@pytest.mark.parametrize(
    ("options", "path"),
    [
        pytest.param({"window": "10x"}, "BreakerConfig(window=...)", id="value"),
        pytest.param(
            {"failure_threshold": None}, "BreakerConfig(failure_threshold=...)", id="cross-field"
        ),
        pytest.param({"backoff": 2}, "BreakerConfig(max_reset_timeout=...)", id="missing-key"),
    ],
)
def test_breaker_config_keyword_is_named_in_the_path(options, path):
    # Today the path reads "BreakerConfig(, window=...)".
    [problem] = problems_of(build_config, options)

    assert problem.startswith(f"{path}: expected "), problem


def test_constructor_reports_every_bad_value():
    problems = problems_of(build_config, {"window": "10x", "jitter": 2, "minimum_calls": 0})

    assert len(problems) == 3
    for field in ("window", "jitter", "minimum_calls"):
        assert sum(f"{field}=...): expected " in p for p in problems) == 1


# -- unknown keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("windw", "window"),
        ("failure_treshold", "failure_threshold"),
        ("resettimeout", "reset_timeout"),
        ("stalefor", "stale_for"),
        ("half_open_max_call", "half_open_max_calls"),
        ("Timeout", "timeout"),
    ],
)
def test_unknown_key_suggests_the_closest_setting(typo, meant):
    [problem] = problems_of(build_from_mapping, {typo: 1})

    assert problem.startswith(f'{DEP}: unknown setting "{typo}"; did you mean "{meant}"? ')
    assert problem.endswith(f"(allowed: {', '.join(sorted(BREAKER_FIELDS))})")


def test_unknown_key_without_a_close_match_lists_what_is_allowed():
    [problem] = problems_of(build_from_mapping, {"colour": "blue"})

    assert (
        problem == f'{DEP}: unknown setting "colour" (allowed: {", ".join(sorted(BREAKER_FIELDS))})'
    )


def test_unknown_keyword_of_circuit_breaker():
    [problem] = problems_of(build_breaker, {"windw": 10})

    assert problem.startswith('CircuitBreaker("inventory"): unknown setting "windw"; did you mean')


def test_unknown_key_that_is_not_a_string():
    [problem] = problems_of(build_from_mapping, {1: 2})

    assert problem.startswith(f"{DEP}: unknown setting 1 (allowed: ")


# -- problems between fields ----------------------------------------------------------------


@pytest.mark.parametrize(("build", "path"), EVERY_PATH)
def test_nothing_could_trip_without_threshold_or_rate(build, path):
    [problem] = problems_of(build, {"failure_threshold": None})

    assert problem.startswith(f"{path.format(f='failure_threshold')}: expected a positive integer")
    assert "when failure_rate is not set, got None" in problem


def test_failure_rate_alone_is_enough_to_trip():
    config = BreakerConfig(failure_threshold=None, failure_rate=0.5, minimum_calls=20)

    assert (config.failure_threshold, config.failure_rate) == (None, 0.5)


@pytest.mark.parametrize(("build", "path"), EVERY_PATH)
def test_max_reset_timeout_below_reset_timeout(build, path):
    [problem] = problems_of(build, {"reset_timeout": "1m", "max_reset_timeout": "30s"})

    assert problem.startswith(f"{path.format(f='max_reset_timeout')}: expected at least ")
    assert "reset_timeout (60s)" in problem
    assert "30s" in problem.rpartition(", got ")[2]


def test_max_reset_timeout_may_equal_reset_timeout():
    config = BreakerConfig(reset_timeout=30, max_reset_timeout="30s")

    assert config.max_reset_timeout == config.reset_timeout == 30.0


@pytest.mark.parametrize(("build", "path"), EVERY_PATH)
def test_backoff_needs_a_cap(build, path):
    [problem] = problems_of(build, {"backoff": 2})

    assert problem.startswith(f"{path.format(f='max_reset_timeout')}: expected a duration")
    assert "when backoff is above 1 (got backoff 2)" in problem
    assert "got None" in problem


def test_backoff_with_a_cap():
    config = BreakerConfig(backoff=2, max_reset_timeout="5m")

    assert (config.backoff, config.max_reset_timeout) == (2.0, 300.0)
