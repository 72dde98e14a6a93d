"""Route matching does work linear in the path's length, whatever the patterns.

Counted, not timed: the profiler reports every call into C (``str.find``,
``startswith``, a regex match) made while matching. Their number must not
grow with the path, and each of them scans the path at most once (no
backtracking regex runs on the path).
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breaker_core import Registry
from breaker_core.web.routes import RouteTable, compile_route

HOSTILE = ["/a*a*a*a*a*b", "/x/*/y/*/z/*/w", "/*a*a*a*", "/checkout/*"]


def _c_calls(action) -> int:
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event == "c_call":
            calls += 1

    sys.setprofile(count)
    try:
        action()
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("size", [1024, 65536])
def test_matching_a_64_kb_path_makes_as_many_scans_as_a_short_one(size):
    registry = Registry.from_settings(
        {"dependencies": {f"d{i}": {"routes": [p]} for i, p in enumerate(HOSTILE)}}
    )
    table = RouteTable(registry)
    short = "/" + "a" * 64
    long = "/" + "a" * size  # every piece found everywhere, the end never: the worst case
    assert table.dependencies_for(long) == table.dependencies_for(short) == ["d2"]
    # A few calls of slack for the interpreter's own bookkeeping (a GC pass, say).
    assert _c_calls(lambda: table.dependencies_for(long)) <= (
        _c_calls(lambda: table.dependencies_for(short)) + 5
    )


@st.composite
def pattern_and_path(draw):
    alphabet = st.sampled_from("ab/")
    pieces = draw(st.lists(st.text(alphabet, max_size=3), min_size=1, max_size=4))
    pattern = "*".join(pieces)
    if draw(st.booleans()):
        pattern = pattern.rstrip("/*") + "/*"
    return pattern, draw(st.text(alphabet, max_size=12))


@given(pattern_and_path())
def test_the_linear_matcher_agrees_with_a_glob_regex(case):
    import re

    pattern, path = case
    expected_regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    expected = re.fullmatch(expected_regex, path, re.DOTALL) is not None
    if pattern.endswith("/*"):
        bare = ".*".join(re.escape(part) for part in pattern[:-2].split("*"))
        expected = expected or re.fullmatch(bare, path, re.DOTALL) is not None
    assert compile_route(pattern).match(path) is expected
