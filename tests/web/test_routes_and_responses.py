"""Route tables, the 503 answer and content negotiation."""

from __future__ import annotations

import json

import pytest

from breaker_core import CircuitOpenError, Registry
from breaker_core.web.routes import RouteTable, compile_route
from breaker_core.web.unavailable import prefers_json, retry_after_header, unavailable


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/checkout/*", "/checkout", True),
        ("/checkout/*", "/checkout/", True),
        ("/checkout/*", "/checkout/pay/confirm", True),
        ("/checkout/*", "/checkouts", False),
        ("/checkout", "/checkout", True),
        ("/checkout", "/checkout/", False),
        ("/product/*/reviews", "/product/42/reviews", True),
        ("/product/*/reviews", "/product/42/reviews/1", False),
        ("/a.b/*", "/aXb/c", False),  # regex characters are literal
        ("/*", "/anything/at/all", True),
    ],
)
def test_route_patterns(pattern, path, matches):
    assert bool(compile_route(pattern).match(path)) is matches


def test_route_table_finds_open_dependencies(clock):
    registry = Registry.from_settings(
        {
            "dependencies": {
                "inventory": {"routes": ["/checkout/*", "/product/*"]},
                "payments": {"routes": ["/checkout/*"], "reset_timeout": 30},
                "recs": {},
            }
        },
        clock=clock,
    )
    table = RouteTable(registry)
    assert table.dependencies_for("/checkout/pay") == ["inventory", "payments"]
    assert table.dependencies_for("/about") == []
    assert table.rejection_for("/checkout/pay") is None
    registry["payments"].force_open()
    error = table.rejection_for("/checkout/pay")
    assert isinstance(error, CircuitOpenError)
    assert (error.name, error.reason, error.retry_after) == ("payments", "forced_open", 30.0)
    assert table.rejection_for("/product/1") is None


def test_route_plans_are_remembered_per_path_until_the_settings_change(clock):
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"routes": ["/product/*"], "stale_for": "1m"}}},
        clock=clock,
    )
    table = RouteTable(registry)
    plan = table.plan("/product/1")
    assert plan is not None
    assert (plan.names, plan.keepers) == (["inventory"], ["inventory"])
    assert table.plan("/product/1") is plan  # matched once
    assert table.plan("/about") is None
    assert plan.rejection() is None
    registry["inventory"].force_open()
    assert plan.rejection().name == "inventory"  # states are read live, not remembered
    registry.reconfigure({"dependencies": {"inventory": {"routes": ["/about"]}}})
    assert table.plan("/product/1") is None
    fresh = table.plan("/about")
    assert (fresh.names, fresh.keepers) == (["inventory"], [])
    for number in range(5000):  # visitors choose paths: the memo stays bounded
        table.plan(f"/x/{number}")
    assert len(table.plans) <= 4096


def test_the_plans_memo_is_one_dict_whose_plans_carry_their_generation(clock):
    """What a middleware reads without a call: RouteTable.plans and each plan's generation."""
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"routes": ["/product/*"]}}}, clock=clock
    )
    table = RouteTable(registry)
    plans = table.plans
    guarded, unguarded = table.find("/product/1"), table.find("/about")
    assert (guarded.names, unguarded.breakers) == (["inventory"], ())
    assert plans == {"/product/1": guarded, "/about": unguarded}
    assert {guarded.generation, unguarded.generation} == {table.generation.value}
    assert table.plan("/about") is None  # plan() still says None for an unguarded path
    registry.reconfigure({"dependencies": {"inventory": {"routes": ["/about"]}}})
    # Until the table is asked again the memo holds the older plans, which say so.
    assert plans["/product/1"].generation != table.generation.value
    moved, now_guarded = table.find("/product/1"), table.find("/about")
    assert (moved.breakers, now_guarded.names) == ((), ["inventory"])
    assert table.plans is plans  # emptied and refilled, never replaced
    assert set(plans) == {"/product/1", "/about"}
    assert {moved.generation, now_guarded.generation} == {table.generation.value}
    # A plan of an older generation written late (a thread still matching while the
    # settings changed) is never handed out.
    plans["/product/1"] = guarded
    assert table.find("/product/1") is not guarded
    assert table.find("/product/1").breakers == ()


def test_half_open_does_not_block_a_page(clock):
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"routes": ["/checkout/*"], "failure_threshold": 1}}},
        clock=clock,
    )
    with pytest.raises(ZeroDivisionError):
        registry["inventory"].call(lambda: 1 / 0)
    table = RouteTable(registry)
    plan = table.plan("/checkout")
    assert table.rejection_for("/checkout") is not None
    assert plan.rejection().reason == "open"
    clock.advance(10)
    assert table.rejection_for("/checkout") is None
    assert plan.rejection() is None  # still OPEN inside, but its wait is over: half-open


@pytest.mark.parametrize(
    ("accept", "json_wanted"),
    [
        (None, False),
        ("", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("application/json", True),
        ("application/problem+json", True),
        ("application/json, text/html", False),  # a tie: HTML, our default
        ("text/html;q=0.5, application/json", True),
        ("*/*", False),
        ("application/json;q=0", False),
        ("application/json;q=abc", False),
    ],
)
def test_prefers_json(accept, json_wanted):
    assert prefers_json(accept) is json_wanted


def test_unavailable_as_json_and_html():
    error = CircuitOpenError("inventory", 7.2)
    answer = unavailable(error, "application/json")
    assert answer.status == 503
    headers = dict(answer.headers)
    assert headers["Retry-After"] == "8"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"] == "application/json"
    body = json.loads(answer.body)
    assert body == {
        "error": "service_unavailable",
        "detail": "A service this resource needs is temporarily unavailable.",
        "retry_after": 8,
    }
    assert "inventory" not in answer.body.decode()
    page = unavailable(error, "text/html")
    assert page.content_type == "text/html; charset=utf-8"
    assert b"try again in\n8 seconds" in page.body
    assert dict(page.headers)["Content-Length"] == str(len(page.body))


@pytest.mark.parametrize(("seconds", "header"), [(0.0, "1"), (0.2, "1"), (1.0, "1"), (9.01, "10")])
def test_retry_after_is_whole_seconds_rounded_up(seconds, header):
    assert retry_after_header(seconds) == header


def _visit(guard, method, path, make, raw=None):
    """A visit as the middlewares make one: the path's plan, then the visit if it has one."""
    plan = guard.routes.plan(path)
    if plan is None:
        return None
    return guard.visit(plan, method, make, lambda made: made(), raw and (lambda _: raw()))


def _request(method, path, query="", headers=(), host="shop.example"):
    from breaker_core.web.shareable import PageRequest

    return lambda: PageRequest(method, "https", host, path, query, list(headers))


def test_page_guard_flow_keeps_and_serves_the_last_good_page(clock):
    from breaker_core.web.pages import PageGuard

    registry = Registry.from_settings(
        {
            "dependencies": {
                "inventory": {"routes": ["/product/*"], "stale_for": "1m"},
                "payments": {"routes": ["/checkout/*"]},
            }
        },
        clock=clock,
    )
    guard = PageGuard(registry)
    assert (guard.guards("/about"), guard.guards("/product/1")) == (False, True)
    assert _visit(guard, "GET", "/about", _request("GET", "/about")) is None  # not guarded
    visit = _visit(guard, "GET", "/product/1", _request("GET", "/product/1"))
    assert visit.answer() is None
    assert visit.collect
    # Nothing to do: a POST is never kept, and /checkout's dependency keeps no pages.
    assert _visit(guard, "POST", "/product/1", _request("POST", "/product/1")) is None
    assert _visit(guard, "GET", "/checkout", _request("GET", "/checkout")) is None
    headers = [("Content-Type", "text/html")]
    assert visit.keep(200, headers, b"good page")
    # A fresh copy is kept: the next request neither reads its body nor stores it.
    assert _visit(guard, "GET", "/product/1", _request("GET", "/product/1")) is None
    mine = _visit(guard, "GET", "/product/2", _request("GET", "/product/2"))
    assert not mine.keep(200, [("Set-Cookie", "s=1")], b"mine")
    registry["inventory"].force_open()
    clock.advance(5)
    kept = _visit(guard, "GET", "/product/1", _request("GET", "/product/1")).answer()
    assert kept is not None
    assert (kept.status, kept.body, kept.stale) == (200, b"good page", True)
    assert ("Age", "5") in kept.headers
    other_host = _request("GET", "/product/1", host="other.example")
    assert _visit(guard, "GET", "/product/1", other_host).answer().status == 503
    json_client = _request("GET", "/product/2", headers=[("Accept", "application/json")])
    fresh = _visit(guard, "GET", "/product/2", json_client).answer()
    assert (fresh.status, fresh.stale) == (503, False)
    assert ("Content-Type", "application/json") in fresh.headers
    post = _visit(guard, "POST", "/product/1", _request("POST", "/product/1")).answer()
    assert post.status == 503
    clock.advance(60)
    assert _visit(guard, "GET", "/product/1", _request("GET", "/product/1")).answer().status == 503
    escaped = guard.answer_for(CircuitOpenError("payments", 3.0), _request("GET", "/about"))
    assert (escaped.status, dict(escaped.headers)["Retry-After"]) == (503, "3")


def test_a_good_page_is_stored_again_only_after_the_refresh_interval(clock):
    from breaker_core.web.pages import REFRESH, PageGuard

    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"routes": ["/p/*"], "stale_for": "1m"}}}, clock=clock
    )
    guard = PageGuard(registry)
    writes = []
    real_set = registry.cache.set
    registry.cache.set = lambda key, value, ttl: (writes.append(key), real_set(key, value, ttl))
    for _ in range(50):
        visit = _visit(guard, "GET", "/p/1", _request("GET", "/p/1"))
        if visit is not None and visit.collect:
            visit.keep(200, [("Content-Type", "text/html")], b"page")
    assert len(writes) == 2  # once: the page and its Vary index
    clock.advance(REFRESH)
    visit = _visit(guard, "GET", "/p/1", _request("GET", "/p/1"))
    assert visit.collect
    visit.keep(200, [("Content-Type", "text/html")], b"newer page")
    assert len(writes) == 4


def test_a_raw_key_skips_building_a_request_kept_a_moment_ago(clock):
    from breaker_core.web.pages import REFRESH, PageGuard

    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"routes": ["/p/*"], "stale_for": "1m"}}}, clock=clock
    )
    guard = PageGuard(registry)
    built = []

    def making(path, headers=()):
        make = _request("GET", path, headers=headers)
        return lambda: built.append(path) or make()

    def request(path, raw, response_headers=(("Content-Type", "text/html"),)):
        visit = _visit(guard, "GET", path, making(path), lambda: raw)
        if visit is not None:
            assert visit.keep(200, list(response_headers), b"page")
        return visit

    assert request("/p/1", ("raw", 1)) is not None
    assert built == ["/p/1"]
    for _ in range(20):  # kept a moment ago: not even the request is built
        assert request("/p/1", ("raw", 1)) is None
    assert built == ["/p/1"]
    assert request("/p/2", ("raw", 2)) is not None  # another key: looked at and kept
    clock.advance(REFRESH)
    assert request("/p/1", ("raw", 1)) is not None  # the interval is over: kept again
    # A page that varies on a header is not one copy for everyone: requests are looked at.
    request("/p/3", ("raw", 3), [("Content-Type", "text/html"), ("Vary", "Accept-Language")])
    built.clear()
    assert _visit(guard, "GET", "/p/3", making("/p/3"), lambda: ("raw", 3)) is None
    assert built == ["/p/3"]  # the request was built to read its Vary header


def test_a_raw_key_with_the_cookie_header_covers_key_cookies(clock):
    from breaker_core.web.pages import PageGuard

    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"routes": ["/p/*"], "stale_for": "1m"}}}, clock=clock
    )
    guard = PageGuard(registry, key_cookies=("lang",))
    built = []

    def visit(cookie):
        make = _request("GET", "/p/1", headers=[("Cookie", cookie)])
        return _visit(guard, "GET", "/p/1", lambda: built.append(cookie) or make(), lambda: cookie)

    first = visit("lang=fr")
    assert first.keep(200, [("Content-Type", "text/html")], b"page en francais")
    assert visit("lang=fr") is None
    assert built == ["lang=fr"]
    german = visit("lang=de")  # another language: another copy, looked at and kept
    assert german is not None
    assert built == ["lang=fr", "lang=de"]
