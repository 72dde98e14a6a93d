"""Route guards, stale pages, escaping rejections and @breakers.guard, through the test client."""

from __future__ import annotations

import pytest

flask = pytest.importorskip("flask")

from breaker_core import CircuitOpenError, ConfigurationError, State  # noqa: E402
from breaker_flask import Breakers, BreakerUnavailable  # noqa: E402

JSON = {"Accept": "application/json"}


def trip(registry, name: str) -> None:
    """Open ``name`` the way production does: two failures in the window."""
    for _ in range(2):
        with pytest.raises(ConnectionError):
            registry[name].call(_fail)
    assert registry[name].state is State.OPEN


def _fail() -> None:
    raise ConnectionError("down")


# -- route guards ------------------------------------------------------------------------


def test_closed_routes_run_their_views(client, counter):
    assert client.get("/checkout/pay").text == "paid"
    assert counter.views == {"pay": 1}


def test_open_route_is_answered_at_once_with_a_503(client, registry, counter):
    trip(registry, "inventory")
    response = client.get("/checkout/pay")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/html"
    assert "Temporarily unavailable" in response.text
    assert "inventory" not in response.text  # internal names are not the visitor's business
    assert response.headers["Content-Length"] == str(len(response.data))
    assert counter.views == {}  # the view never ran
    assert client.post("/checkout/pay").status_code == 503
    assert client.get("/checkout").status_code == 503  # "/checkout/*" covers the bare prefix


def test_the_503_is_json_when_the_client_prefers_json(client, registry, clock):
    trip(registry, "inventory")
    clock.advance(2.5)
    response = client.get("/checkout/pay", headers=JSON)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "8"  # 7.5 s, rounded up
    assert response.json == {
        "error": "service_unavailable",
        "detail": "A service this resource needs is temporarily unavailable.",
        "retry_after": 8,
    }


def test_other_pages_and_half_open_routes_pass(client, registry, counter, clock):
    trip(registry, "inventory")
    assert client.get("/about").text == "about us"
    clock.advance(10)  # half-open: the page's own call may be the probe
    assert client.get("/checkout/pay").text == "paid"
    assert counter.views == {"about": 1, "pay": 1}


def test_forced_open_answers_with_reset_timeout(client, registry):
    registry["inventory"].force_open()
    response = client.get("/checkout/pay", headers=JSON)
    assert (response.status_code, response.headers["Retry-After"]) == (503, "10")


# -- stale pages -------------------------------------------------------------------------


def test_last_good_shareable_page_is_served_while_open(client, registry, counter, clock):
    assert client.get("/checkout/?step=2").text == "checkout page 2"
    trip(registry, "inventory")
    clock.advance(5)
    response = client.get("/checkout/?step=2")
    assert response.status_code == 200
    assert response.text == "checkout page 2"
    assert response.headers["X-Breakerpanel"] == "stale"
    assert response.headers["Age"] == "5"
    assert counter.views == {"checkout": 1}
    assert client.get("/checkout/?step=3").status_code == 503  # another query: nothing kept
    assert client.post("/checkout/").status_code == 503  # only GET/HEAD get stale copies
    head = client.head("/checkout/?step=2")
    assert (head.status_code, head.data) == (200, b"")


def test_a_stale_copy_is_not_kept_again_and_expires(client, registry, clock):
    client.get("/checkout/")
    registry["inventory"].force_open()
    clock.advance(40)
    assert client.get("/checkout/").headers["Age"] == "40"
    clock.advance(15)
    assert client.get("/checkout/").headers["Age"] == "55"  # still the original copy
    clock.advance(6)  # 61 s old: older than stale_for (1m)
    assert client.get("/checkout/").status_code == 503


def test_pages_that_touch_the_session_are_never_kept(client, registry):
    client.get("/login/alice")
    assert client.get("/checkout/cart").text == "cart of alice"
    registry["inventory"].force_open()
    other = flask.testing.FlaskClient(client.application, use_cookies=True)
    assert other.get("/checkout/cart").status_code == 503  # not alice's cart
    assert client.get("/checkout/cart").status_code == 503


def test_private_pages_are_never_kept(client, registry):
    assert client.get("/checkout/private").text == "private page"
    registry["inventory"].force_open()
    assert client.get("/checkout/private").status_code == 503


def test_requests_with_authorization_are_never_kept(client, registry):
    client.get("/checkout/", headers={"Authorization": "Bearer token"})
    registry["inventory"].force_open()
    assert client.get("/checkout/").status_code == 503


# -- rejections escaping views -------------------------------------------------------------


def test_a_rejection_escaping_a_view_is_a_503_not_a_500(client, registry):
    assert client.get("/charge").text == "charged"
    registry["payments"].force_open()
    response = client.get("/charge", headers=JSON)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert response.json["error"] == "service_unavailable"
    raised = client.get("/raise")
    assert (raised.status_code, raised.headers["Retry-After"]) == (503, "5")


def test_a_rejection_mid_page_serves_the_kept_copy(client, registry, clock, counter):
    assert client.get("/checkout/stock").text == "12 in stock"
    trip(registry, "inventory")
    clock.advance(10)  # half-open: the route guard lets the page through...
    probe = registry["inventory"].attempt(detached=True)
    probe.__enter__()  # ...but another request holds the only probe slot
    try:
        response = client.get("/checkout/stock")
    finally:
        probe.__exit__(None, None, None)
    assert counter.views == {"stock": 2}  # the view ran; its call was rejected
    assert (response.status_code, response.text) == (200, "12 in stock")
    assert response.headers["X-Breakerpanel"] == "stale"
    assert registry["inventory"].state is State.CLOSED  # the other probe succeeded


def test_an_app_errorhandler_renders_the_503(app, client, registry):
    @app.errorhandler(503)
    def paused(error: BreakerUnavailable):
        return f"paused, back in {error.retry_after}s", 503, {"Retry-After": error.retry_after}

    registry["payments"].force_open()
    response = client.get("/charge")
    assert (response.status_code, response.text) == (503, "paused, back in 10s")
    assert response.headers["Retry-After"] == "10"
    registry["inventory"].force_open()
    assert client.get("/checkout/pay").text == "paused, back in 10s"


# -- @breakers.guard ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/wallet", "/wallet-async"])
def test_guarded_view_is_rejected_while_open(client, registry, counter, clock, path):
    assert client.get(path).status_code == 200
    trip(registry, "payments")
    response = client.get(path, headers=JSON)
    assert (response.status_code, response.headers["Retry-After"]) == (503, "10")
    assert sum(counter.views.values()) == 1
    clock.advance(10)  # half-open: the view runs
    assert client.get(path).status_code == 200
    assert sum(counter.views.values()) == 2


def test_guarded_view_fallbacks(client, registry, counter):
    assert client.get("/gift-card").text == "gift card"
    registry["payments"].force_open()
    response = client.get("/gift-card")
    assert (response.status_code, response.text) == (200, "Gift cards are paused")
    assert client.get("/voucher").text == "Vouchers are paused"
    assert counter.views == {"gift_card": 1}


def test_guard_does_not_count_the_views_exceptions(app, registry):
    assert registry["payments"].snapshot()["calls"] == 0
    assert app.test_client().get("/wallet").status_code == 200
    assert registry["payments"].snapshot()["calls"] == 0


def test_guard_with_an_unknown_dependency_names_the_declared_ones(client):
    with pytest.raises(ConfigurationError) as info:
        client.get("/typo")
    assert str(info.value) == (
        "@breakers.guard('paymnts') on create_app.<locals>.typo: no dependency named "
        "'paymnts' (declared: inventory, recommendations, payments); "
        'declare it in app.config["BREAKERS"]["dependencies"]'
    )


def test_an_app_handler_for_circuit_open_error_stays_in_charge(clock):
    app = flask.Flask("own_handler")
    app.config["BREAKERS"] = {"dependencies": {"payments": {}}}

    @app.errorhandler(CircuitOpenError)
    def own(error):
        return f"own handler for {error.name}", 200

    Breakers(app, clock=clock)

    @app.get("/charge")
    def charge():
        raise CircuitOpenError("payments", 1.0)

    assert app.test_client().get("/charge").text == "own handler for payments"
