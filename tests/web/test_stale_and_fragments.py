"""Template fragments under a breaker, and their keys."""

from __future__ import annotations

import time

import pytest

from breaker_core import Registry
from breaker_core.web.fragments import fragment_key, render_fragment, render_fragment_async


@pytest.fixture
def registry(clock):
    return Registry.from_settings(
        {"dependencies": {"recs": {"failure_threshold": 2, "stale_for": "5m"}}}, clock=clock
    )


def test_fragment_renders_and_keeps_the_good_rendering(registry):
    key = fragment_key("recs", "shop/product.html", 3, [42])
    html = render_fragment(registry, "recs", key=key, body=lambda: "<ul>for 42</ul>")
    assert html == "<ul>for 42</ul>"
    assert registry.cache.get(key).value == "<ul>for 42</ul>"


def test_failing_body_degrades_to_stored_then_fallback_then_nothing(registry, clock):
    key = fragment_key("recs", "t.html", 1, [42])

    def broken() -> str:
        raise ConnectionError("recommendations down")

    render_fragment(registry, "recs", key=key, body=lambda: "<ul>old</ul>")
    assert render_fragment(registry, "recs", key=key, body=broken) == "<ul>old</ul>"
    clock.advance(301)
    assert render_fragment(registry, "recs", key=key, body=broken, fallback=lambda: "fb") == "fb"
    assert render_fragment(registry, "recs", key=key, body=broken) == ""  # hidden
    assert registry["recs"].is_open  # two failures inside the window


def test_open_breaker_never_renders_the_body(registry):
    registry["recs"].force_open()
    calls = []
    html = render_fragment(
        registry, "recs", key="k", body=lambda: calls.append(1) or "x", fallback=lambda: "fb"
    )
    assert (html, calls) == ("fb", [])


def test_a_fragment_is_never_served_to_another_user(registry):
    render_fragment(
        registry, "recs", key=fragment_key("recs", "t", 1, ["alice"]), body=lambda: "alice's"
    )
    registry["recs"].force_open()
    bob = fragment_key("recs", "t", 1, ["bob"])
    assert render_fragment(registry, "recs", key=bob, body=lambda: "never") == ""
    alice = fragment_key("recs", "t", 1, ["alice"])
    assert render_fragment(registry, "recs", key=alice, body=lambda: "never") == "alice's"


def test_fragment_keys_separate_templates_blocks_and_values():
    keys = {
        fragment_key("recs", "a.html", 1, [1]),
        fragment_key("recs", "b.html", 1, [1]),
        fragment_key("recs", "a.html", 2, [1]),
        fragment_key("recs", "a.html", 1, ["1"]),
        fragment_key("recs", "a.html", 1, [1, None]),
        fragment_key("other", "a.html", 1, [1]),
    }
    assert len(keys) == 6


def test_errors_the_breaker_does_not_count_are_raised(clock):
    registry = Registry.from_settings(
        {"dependencies": {"recs": {"record": ["builtins.ConnectionError"]}}}, clock=clock
    )

    def bug() -> str:
        raise TypeError("template bug")

    with pytest.raises(TypeError):
        render_fragment(registry, "recs", key="k", body=bug)


async def test_async_fragments(registry):
    async def body() -> str:
        return "async body"

    async def broken() -> str:
        raise ConnectionError

    async def fallback() -> str:
        return "async fallback"

    assert await render_fragment_async(registry, "recs", key="k", body=body) == "async body"
    registry["recs"].force_open()
    got = await render_fragment_async(registry, "recs", key="k2", body=broken, fallback=fallback)
    assert got == "async fallback"
    assert await render_fragment_async(registry, "recs", key="k", body=broken) == "async body"


def test_a_block_whose_inner_call_failed_without_raising_is_not_kept(registry):
    key = fragment_key("recs", "t.html", 9, [1])
    breaker = registry["recs"]

    def body_rendering_an_error_page() -> str:
        with breaker.attempt() as inner:  # e.g. the transport saw a 503
            inner.fail()
        return "<p>Service Unavailable</p>"

    html = render_fragment(
        registry, "recs", key=key, body=body_rendering_an_error_page, fallback=lambda: "fb"
    )
    assert html == "fb"
    assert registry.cache.get(key) is None
    assert breaker.snapshot()["failures"] == 1


def test_shared_storage_and_its_cache_share_one_clock(redis_url):
    shared = Registry.from_settings(
        {"storage": f"{redis_url}?refresh=0", "dependencies": {"recs": {}}}
    )
    try:
        shared.cache.set("k", "v", 60)
        assert 0.0 <= shared.cache.get("k").age < 5.0  # measured by the cache itself
        # The registry keeps a monotonic clock; shared decisions take the Redis server's.
        assert shared.clock is time.monotonic
    finally:
        shared.close()


def test_a_degrading_block_logs_the_exception_type_and_repr(registry, caplog):
    """``str(TimeoutError())`` is empty: the log line must still say what failed."""

    def hanging() -> str:
        raise TimeoutError()

    key = fragment_key("recs", "t.html", 1, [7])
    with caplog.at_level("WARNING", logger="breaker_core"):
        assert render_fragment(registry, "recs", key=key, body=hanging, fallback=lambda: "") == ""
    (message,) = [r.getMessage() for r in caplog.records if "degrades" in r.getMessage()]
    assert message.endswith("failed to render and degrades (TimeoutError())")
