"""The window's ``end``: the closed fast path's ``now < end`` agrees with the division.

The fast path counts a success in the newest bucket when ``now < window.end``;
advancing the window decides with ``int(now // width)``. Both must agree at
every float, bucket boundaries included.
"""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from breaker_core.window import BUCKETS, SlidingWindow


@given(
    length=st.floats(min_value=1e-3, max_value=1e5, allow_nan=False),
    now=st.floats(min_value=0.0, max_value=1e9, allow_nan=False),
)
def test_end_is_the_first_time_of_the_next_bucket(length: float, now: float) -> None:
    window = SlidingWindow(length)
    window.advance(now)
    head = window.head
    assert head == int(now // window.width)
    end = window.end
    assert int(end // window.width) == head + 1
    assert int(math.nextafter(end, -math.inf) // window.width) == head


@given(
    length=st.floats(min_value=1e-3, max_value=1e5, allow_nan=False),
    start=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    steps=st.lists(st.floats(min_value=0.0, max_value=2.0), max_size=20),
)
def test_counts_land_in_the_bucket_the_division_names(
    length: float, start: float, steps: list[float]
) -> None:
    window = SlidingWindow(length)
    model: dict[int, int] = {}
    now = start
    for step in steps:
        now += step * window.width
        window.add_success(now)
        index = int(now // window.width)
        model[index] = model.get(index, 0) + 1
        assert window.head == index
        newest = window.bucket_successes[window.slot]
        assert newest == model[index]
        kept = sum(count for at, count in model.items() if at > index - BUCKETS)
        assert window.successes == kept


def test_a_new_or_reset_window_has_no_newest_bucket() -> None:
    window = SlidingWindow(10.0)
    assert window.end == -math.inf
    window.add_failure(3.0)
    assert window.end == 4.0
    window.reset()
    assert window.end == -math.inf
