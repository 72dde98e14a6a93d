"""Durations: seconds as numbers, or strings like "250ms", "10s", "5m", "1h"."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breaker_core.durations import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (5, 5.0),
        (2.5, 2.5),
        (0.001, 0.001),
        ("250ms", 0.25),
        ("0ms", 0.0),
        ("10s", 10.0),
        ("1.5s", 1.5),
        (".5s", 0.5),
        ("0s", 0.0),
        ("5m", 300.0),
        ("1.5m", 90.0),
        ("1h", 3600.0),
    ],
)
def test_parses_numbers_and_unit_strings_to_float_seconds(value, seconds):
    parsed = parse_duration(value)

    assert type(parsed) is float
    assert parsed == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="True"),
        pytest.param(False, id="False"),
        pytest.param(-1, id="negative-int"),
        pytest.param(-0.5, id="negative-float"),
        pytest.param("-5s", id="negative-string"),
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="inf"),
        pytest.param(-math.inf, id="-inf"),
        pytest.param("10x", id="unknown-unit"),
        pytest.param("", id="empty"),
        pytest.param("10", id="no-unit"),
        pytest.param("s", id="no-number"),
        pytest.param("5 minutes", id="unit-spelled-out"),
        pytest.param("1h30m", id="compound"),
        pytest.param("nans", id="nan-string"),
        pytest.param("infs", id="inf-string"),
        pytest.param(None, id="None"),
        pytest.param([10], id="list"),
        pytest.param({"seconds": 10}, id="dict"),
    ],
)
def test_rejects_everything_else_with_value_error(value):
    with pytest.raises(ValueError):  # noqa: PT011 - the type is the contract; callers add text
        parse_duration(value)


def test_an_int_too_large_for_a_float_is_a_value_error():
    # parse_duration documents ValueError for any value that is not a finite duration.
    with pytest.raises(ValueError):  # noqa: PT011 - today an OverflowError escapes
        parse_duration(10**400)


def test_error_message_names_no_path():
    # Callers (settings validation) add the path and the bad value themselves.
    with pytest.raises(ValueError, match="unknown duration format") as info:
        parse_duration("10x")
    assert "BREAKERS" not in str(info.value)


# Finite, non-negative floats that Python writes without an exponent ("1e-05" is not a
# duration string the docs promise).
plain_floats = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False).filter(
    lambda x: "e" not in repr(x)
)


@given(plain_floats)
def test_any_plain_float_written_in_seconds_parses_back(x):
    assert math.isclose(parse_duration(f"{x}s"), x, rel_tol=1e-12, abs_tol=1e-12)


@given(plain_floats.map(lambda x: x * 1000).filter(lambda ms: "e" not in repr(ms)))
def test_any_plain_float_written_in_milliseconds_parses_back(ms):
    assert math.isclose(parse_duration(f"{ms}ms"), ms / 1000, rel_tol=1e-12, abs_tol=1e-12)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["s", "m", "h"]))
def test_whole_minutes_and_hours(n, unit):
    assert parse_duration(f"{n}{unit}") == n * {"s": 1, "m": 60, "h": 3600}[unit]


duration_like_text = st.from_regex(
    r"\A\s?-?\d{0,4}(\.\d{0,3})?\s?(ms|s|m|h|x|S|sec)?\s?\Z", fullmatch=True
)


def parses_or_raises_value_error(value: object) -> bool:
    """True if ``parse_duration(value)`` parsed it (to a finite float >= 0); False on ValueError."""
    try:
        seconds = parse_duration(value)
    except ValueError:
        return False
    assert type(seconds) is float
    assert math.isfinite(seconds)
    assert seconds >= 0
    return True


@given(st.one_of(st.text(), duration_like_text))
def test_any_text_parses_or_raises_value_error(text):
    parses_or_raises_value_error(text)


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.lists(st.integers(), max_size=2),
        st.binary(max_size=4),
    )
)
def test_any_value_parses_or_raises_value_error(value):
    if parses_or_raises_value_error(value):
        assert not isinstance(value, bool)
