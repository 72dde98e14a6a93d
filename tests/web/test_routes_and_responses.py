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


def test_half_open_does_not_block_a_page(clock):
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"routes": ["/checkout/*"], "failure_threshold": 1}}},
        clock=clock,
    )
    with pytest.raises(ZeroDivisionError):
        registry["inventory"].call(lambda: 1 / 0)
    table = RouteTable(registry)
    assert table.rejection_for("/checkout") is not None
    clock.advance(10)
    assert table.rejection_for("/checkout") is None


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
    assert guard.before("GET", "/product/1", "", None) is None
    assert guard.keeps("GET", "/product/1") == ["inventory"]
    assert guard.keeps("POST", "/product/1") == []
    assert guard.keeps("GET", "/checkout") == []  # payments keeps nothing (no stale_for)
    headers = [("Content-Type", "text/html")]
    assert guard.after("GET", "/product/1", "", [], 200, headers, b"good page")
    assert not guard.after("GET", "/product/2", "", [], 200, [("Set-Cookie", "s=1")], b"mine")
    registry["inventory"].force_open()
    clock.advance(5)
    kept = guard.before("GET", "/product/1", "", "text/html")
    assert kept is not None
    assert (kept.status, kept.body, kept.stale) == (200, b"good page", True)
    assert ("Age", "5") in kept.headers
    fresh = guard.before("GET", "/product/2", "", "application/json")
    assert (fresh.status, fresh.stale) == (503, False)
    assert ("Content-Type", "application/json") in fresh.headers
    post = guard.before("POST", "/product/1", "", None)
    assert post.status == 503
    clock.advance(60)
    assert guard.before("GET", "/product/1", "", None).status == 503  # too old now
    escaped = guard.answer_for(CircuitOpenError("payments", 3.0), "GET", "/about", "", None)
    assert (escaped.status, dict(escaped.headers)["Retry-After"]) == (503, "3")
