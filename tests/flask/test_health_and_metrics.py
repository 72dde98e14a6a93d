"""Health (open to all) and Prometheus metrics (behind the dashboard's hook) in Flask."""

from __future__ import annotations

import pytest

flask = pytest.importorskip("flask")
prometheus = pytest.importorskip("prometheus_client")
pytest.importorskip("httpx")

from breaker_core import ConfigurationError, State  # noqa: E402
from breaker_flask import (  # noqa: E402
    Breakers,
    dashboard_blueprint,
    enable_metrics,
    health_view,
    metrics_view,
)
from example_apps.flask_shop import create_app as create_shop  # noqa: E402
from tests.prometheus_samples import calls, metrics_listeners, samples  # noqa: E402

SETTINGS = {
    "defaults": {"failure_threshold": 2, "window": "10s", "reset_timeout": "10s"},
    "dependencies": {"payments": {"required": True}, "recommendations": {}},
}


def small_app(clock, **blueprint_options) -> flask.Flask:
    app = flask.Flask("breakerpanel_probes")
    app.config.update(TESTING=True, SECRET_KEY="test", BREAKERS=SETTINGS)
    Breakers(app, clock=clock)
    options = {"can_view": lambda: flask.session.get("user") == "staff", **blueprint_options}
    app.register_blueprint(dashboard_blueprint(**options), url_prefix="/breakers")

    @app.get("/login/<user>")
    def login(user: str) -> str:
        flask.session["user"] = user
        return user

    return app


# -- health ---------------------------------------------------------------------------------------


def test_health_follows_the_policy_per_state(clock):
    app = small_app(clock)
    registry = app.extensions["breakers"]
    client = app.test_client()  # anonymous, as a load balancer
    response = client.get("/breakers/health")
    assert (response.status_code, response.json) == (
        200,
        {"schema": "breakerpanel.health/1", "status": "ok", "open": [], "required_open": []},
    )
    assert "no-store" in response.headers["Cache-Control"]
    assert client.get("/breakers/status").status_code == 403  # the status keeps its hook

    registry["recommendations"].force_open()
    response = client.get("/breakers/health")
    assert (response.status_code, response.json["status"]) == (200, "degraded")

    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            registry["payments"].call(lambda: 1 / 0)
    response = client.get("/breakers/health")
    assert (response.status_code, response.json["status"]) == (503, "unavailable")
    assert response.json["required_open"] == ["payments"]

    clock.advance(10)  # half-open
    assert registry["payments"].state is State.HALF_OPEN
    assert client.get("/breakers/health").status_code == 200
    registry["payments"].metrics_only()
    assert client.get("/breakers/health").status_code == 200
    registry["payments"].force_open()
    assert client.get("/breakers/health").status_code == 503
    assert client.head("/breakers/health").status_code == 503


def test_health_is_open_even_when_the_dashboard_has_no_hooks(clock):
    app = flask.Flask("no_hooks")
    app.config.update(SECRET_KEY="test", BREAKERS=SETTINGS)
    Breakers(app, clock=clock)
    app.register_blueprint(dashboard_blueprint(), url_prefix="/ops")
    client = app.test_client()
    assert client.get("/ops/").status_code == 403
    assert client.get("/ops/health").status_code == 200


def test_health_view_on_a_route_of_its_own(clock):
    app = flask.Flask("own_route")
    app.config.update(BREAKERS=SETTINGS)
    Breakers(app, clock=clock)
    app.add_url_rule("/healthz", view_func=health_view)
    app.extensions["breakers"]["payments"].force_open()
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.json["required_open"]) == (503, ["payments"])


# -- metrics --------------------------------------------------------------------------------------


def test_metrics_need_the_view_hook_and_count_calls(clock):
    collector = prometheus.CollectorRegistry()
    app = small_app(clock, metrics=collector)
    registry = app.extensions["breakers"]
    registry["payments"].call(int)
    with pytest.raises(ZeroDivisionError):
        registry["payments"].call(lambda: 1 / 0)

    assert app.test_client().get("/breakers/metrics").status_code == 403
    mallory = app.test_client()
    mallory.get("/login/mallory")
    assert mallory.get("/breakers/metrics").status_code == 403
    staff = app.test_client()
    staff.get("/login/staff")
    response = staff.get("/breakers/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "no-store" in response.headers["Cache-Control"]
    series = samples(response.text)
    assert calls(series, "payments", "success") == 1
    assert calls(series, "payments", "failure") == 1
    assert series[("breakerpanel_state", (("dependency", "payments"), ("state", "closed")))] == 1


def test_metrics_are_404_until_enabled_and_nothing_listens(clock):
    app = small_app(clock)
    staff = app.test_client()
    staff.get("/login/staff")
    response = staff.get("/breakers/metrics")
    assert response.status_code == 404
    assert "enable_metrics(app)" in response.text
    assert metrics_listeners(app.extensions["breakers"]) == []  # the fast path is kept


def test_enable_metrics_by_hand_with_a_route_of_its_own(clock):
    app = flask.Flask("by_hand")
    app.config.update(BREAKERS=SETTINGS)
    Breakers(app, clock=clock)
    app.add_url_rule("/metrics", view_func=metrics_view)
    assert app.test_client().get("/metrics").status_code == 404
    collector = prometheus.CollectorRegistry()
    metrics = enable_metrics(app, collector)
    assert enable_metrics(app, collector) is metrics  # once per app
    app.extensions["breakers"]["payments"].force_open()
    series = samples(app.test_client().get("/metrics").text)
    transition = (("dependency", "payments"), ("from_state", "closed"), ("to_state", "forced_open"))
    assert series[("breakerpanel_transitions_total", transition)] == 1


def test_metrics_errors_name_the_fix(clock):
    bare = flask.Flask("bare")
    with pytest.raises(ConfigurationError, match=r"call Breakers\(app\)"):
        enable_metrics(bare)
    collector = prometheus.CollectorRegistry()
    small_app(clock, metrics=collector)
    with pytest.raises(ConfigurationError, match=r"its own"):
        small_app(clock, metrics=collector)  # a second app in the same CollectorRegistry


# -- the shop, against real upstreams -------------------------------------------------------------


def test_the_shop_serves_health_and_metrics_after_real_calls(upstreams, clock):
    inventory, recommendations = upstreams
    shop = create_shop(
        {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url},
        clock=clock,
    )
    visitor = shop.test_client()
    assert visitor.get("/product/SKU-1").status_code == 200
    inventory.set_mode("errors", status=503)
    for _ in range(4):  # three failures trip it, the fourth call is rejected
        assert visitor.get("/product/SKU-2").status_code == 200  # the page degrades
    assert visitor.get("/breakers/metrics").status_code == 403
    health = visitor.get("/breakers/health")
    assert (health.status_code, health.json["status"]) == (200, "degraded")  # optional

    admin = shop.test_client()
    admin.get("/login?user=admin")
    response = admin.get("/breakers/metrics")
    assert response.status_code == 200
    series = samples(response.text)
    assert [calls(series, "inventory", o) for o in ("success", "failure", "rejected")] == [1, 3, 1]
    assert calls(series, "recommendations", "failure") == 0
    assert calls(series, "recommendations", "success") >= 1
    assert series[("breakerpanel_state", (("dependency", "inventory"), ("state", "open")))] == 1
    assert inventory.stats()["requests"] == {"200": 1, "503": 3}  # the rejection sent nothing
