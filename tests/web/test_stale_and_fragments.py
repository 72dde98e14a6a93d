"""Stale pages (which responses are shareable) and template fragments."""

from __future__ import annotations

import pytest

from breaker_core import Registry
from breaker_core.web import stale
from breaker_core.web.fragments import fragment_key, render_fragment, render_fragment_async

OK_HEADERS = [("Content-Type", "text/html")]


@pytest.mark.parametrize(
    ("method", "request_headers", "status", "response_headers", "length", "shareable"),
    [
        ("GET", [], 200, OK_HEADERS, 10, True),
        ("HEAD", [], 200, OK_HEADERS, 0, True),
        ("POST", [], 200, OK_HEADERS, 10, False),
        ("GET", [], 201, OK_HEADERS, 10, False),
        ("GET", [], 200, [("Set-Cookie", "a=b")], 10, False),
        ("GET", [], 200, [("cache-control", "max-age=60, private")], 10, False),
        ("GET", [], 200, [("Cache-Control", "no-store")], 10, False),
        ("GET", [], 200, [("Cache-Control", "no-cache")], 10, False),
        ("GET", [], 200, [("Cache-Control", "public, max-age=60")], 10, True),
        ("GET", [], 200, [("Vary", "Accept-Encoding, Cookie")], 10, False),
        ("GET", [], 200, [("Vary", "*")], 10, False),
        ("GET", [], 200, [("Vary", "Accept-Encoding")], 10, True),
        ("GET", [("Authorization", "Bearer x")], 200, OK_HEADERS, 10, False),
        ("GET", [], 200, OK_HEADERS, None, False),  # streaming: unknown length
        ("GET", [], 200, OK_HEADERS, stale.MAX_BODY + 1, False),
    ],
)
def test_only_shareable_responses_are_kept(
    method, request_headers, status, response_headers, length, shareable
):
    assert (
        stale.is_shareable(method, request_headers, status, response_headers, length) is shareable
    )


def test_store_and_load_a_page(clock):
    registry = Registry.from_settings({"dependencies": {"inv": {}}}, clock=clock)
    key = stale.page_key("inv", "/product/1", "a=1")
    assert key != stale.page_key("inv", "/product/1", "a=2")
    assert key != stale.page_key("other", "/product/1", "a=1")
    stale.store(
        registry.cache, key, 200, [("Content-Type", "text/html"), ("Date", "x")], b"page", 60
    )
    clock.advance(12.5)
    loaded = stale.load(registry.cache, key, 60, clock)
    assert loaded is not None
    page, age = loaded
    assert (page.status, page.headers, page.body, age) == (
        200,
        [("Content-Type", "text/html")],
        b"page",
        12,
    )
    assert stale.load(registry.cache, key, 10, clock) is None  # too old for a stricter reader


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


@pytest.mark.parametrize(
    ("vary", "shareable"),
    [
        ("Accept-Encoding", True),
        ("Accept, Accept-Language", True),
        ("User-Agent", False),
        ("Accept-Encoding, X-Tenant", False),
    ],
)
def test_vary_is_allowed_only_on_headers_the_key_covers(vary, shareable):
    headers = [("Vary", vary)]
    assert stale.is_shareable("GET", [], 200, headers, 10) is shareable


def test_a_kept_page_only_goes_to_clients_sending_the_same_variant_headers():
    gzip = [("Accept-Encoding", "gzip")]
    plain = [("Accept-Encoding", "identity")]
    french = [("Accept-Encoding", "gzip"), ("Accept-Language", "fr")]
    keys = {stale.page_key("inv", "/p", "", h) for h in (gzip, plain, french)}
    assert len(keys) == 3
    assert stale.page_key("inv", "/p", "", gzip) == stale.page_key(
        "inv", "/p", "", [("accept-encoding", "gzip"), ("Cookie", "ignored")]
    )


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


def test_shared_storage_and_its_cache_share_one_clock():
    shared = Registry.from_settings(
        {"storage": "redis://127.0.0.1:6379/15?refresh=0", "dependencies": {"recs": {}}}
    )
    try:
        before = shared.clock()
        shared.cache.set("k", "v", 60)
        assert shared.cache.get("k").stored_at >= before  # both on wall time
        assert before > 1_000_000_000  # not a monotonic clock's small numbers
    finally:
        shared.close()
