"""Health (open to all) and Prometheus metrics (behind the hook) in Starlette and FastAPI."""

from __future__ import annotations

import base64

import pytest

pytest.importorskip("starlette")
pytest.importorskip("fastapi")
prometheus = pytest.importorskip("prometheus_client")

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from breaker_core import ConfigurationError, Registry, State  # noqa: E402
from breaker_core.ops.metrics import install_metrics  # noqa: E402
from breaker_starlette import dashboard_app, health_view, metrics_view  # noqa: E402
from example_apps.starlette_shop import create_app as create_shop  # noqa: E402
from example_apps.starlette_shop.settings import breakers_settings  # noqa: E402
from tests.prometheus_samples import calls, metrics_listeners, samples  # noqa: E402

SETTINGS = {
    "defaults": {"failure_threshold": 2, "window": "10s", "reset_timeout": "10s"},
    "dependencies": {"payments": {"required": True}, "recommendations": {}},
}
STAFF = {"x-user": "staff"}


def is_staff(request: Request) -> bool:
    return request.headers.get("x-user") == "staff"


@pytest.fixture
def registry(clock) -> Registry:
    return Registry.from_settings(SETTINGS, clock=clock)


def mounted(registry: Registry, backend: str, **options: object) -> TestClient:
    app = Starlette(routes=[Mount("/ops", app=dashboard_app(registry, **options))])  # type: ignore[arg-type]
    return TestClient(app, backend=backend)


# -- health ---------------------------------------------------------------------------------------


def test_health_follows_the_policy_per_state(registry: Registry, clock, backend: str):
    with mounted(
        registry, backend, can_view=is_staff, can_change=is_staff
    ) as client:  # anonymous requests
        response = client.get("/ops/health")
        assert (response.status_code, response.json()) == (
            200,
            {"schema": "breakerpanel.health/1", "status": "ok", "open": [], "required_open": []},
        )
        assert response.headers["cache-control"] == "no-store"
        assert client.get("/ops/status").status_code == 403  # the status keeps its hook

        registry["recommendations"].force_open()
        response = client.get("/ops/health")
        assert (response.status_code, response.json()["status"]) == (200, "degraded")

        for _ in range(2):
            with pytest.raises(ZeroDivisionError):
                registry["payments"].call(lambda: 1 / 0)
        response = client.get("/ops/health")
        assert (response.status_code, response.json()["status"]) == (503, "unavailable")
        assert response.json()["required_open"] == ["payments"]

        clock.advance(10)
        assert registry["payments"].state is State.HALF_OPEN
        assert client.get("/ops/health").status_code == 200
        registry["payments"].disable()
        assert client.get("/ops/health").status_code == 200
        registry["payments"].force_open()
        assert client.get("/ops/health").status_code == 503
        assert client.head("/ops/health").status_code == 503


def test_health_is_open_even_without_a_can_view_hook(registry: Registry, backend: str):
    with mounted(registry, backend) as client:
        assert client.get("/ops/").status_code == 403
        assert client.get("/ops/health").status_code == 200


def test_health_endpoint_on_a_route_of_its_own(registry: Registry, backend: str):
    app = Starlette(routes=[Route("/healthz", health_view(registry))])
    registry["payments"].force_open()
    with TestClient(app, backend=backend) as client:
        response = client.get("/healthz")
    assert (response.status_code, response.json()["required_open"]) == (503, ["payments"])
    with pytest.raises(ConfigurationError, match=r"expected a breaker_core\.Registry"):
        health_view(SETTINGS)  # type: ignore[arg-type]


# -- metrics --------------------------------------------------------------------------------------


def test_metrics_need_the_hook_and_count_calls(registry: Registry, backend: str):
    collector = prometheus.CollectorRegistry()
    with mounted(
        registry, backend, can_view=is_staff, can_change=is_staff, metrics=collector
    ) as client:
        registry["payments"].call(int)
        with pytest.raises(ZeroDivisionError):
            registry["payments"].call(lambda: 1 / 0)
        assert client.get("/ops/metrics").status_code == 403
        assert client.get("/ops/metrics", headers={"x-user": "mallory"}).status_code == 403
        response = client.get("/ops/metrics", headers=STAFF)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    series = samples(response.text)
    assert [calls(series, "payments", o) for o in ("success", "failure")] == [1, 1]
    assert series[("breakerpanel_state", (("dependency", "payments"), ("state", "closed")))] == 1


def test_without_metrics_there_is_no_endpoint_and_nothing_listens(registry: Registry):
    with mounted(registry, "asyncio", can_view=is_staff, can_change=is_staff) as client:
        assert client.get("/ops/metrics", headers=STAFF).status_code == 404
    assert metrics_listeners(registry) == []  # the fast path is kept


def test_metrics_endpoint_on_a_route_of_its_own(registry: Registry):
    collector = prometheus.CollectorRegistry()
    install_metrics(registry, collector)
    registry["payments"].force_open()
    app = Starlette(routes=[Route("/metrics", metrics_view(collector))])
    with TestClient(app) as client:
        series = samples(client.get("/metrics").text)
    transition = (("dependency", "payments"), ("from_state", "closed"), ("to_state", "forced_open"))
    assert series[("breakerpanel_transitions_total", transition)] == 1


def test_metrics_installed_twice_name_the_fix(registry: Registry, clock):
    collector = prometheus.CollectorRegistry()
    dashboard_app(registry, can_view=is_staff, can_change=is_staff, metrics=collector)
    other = Registry.from_settings(SETTINGS, clock=clock)
    with pytest.raises(ConfigurationError, match=r"its own prometheus_client.CollectorRegistry"):
        dashboard_app(other, can_view=is_staff, can_change=is_staff, metrics=collector)


# -- the FastAPI shop, against real upstreams -----------------------------------------------------

ADMIN = {"authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}


def test_the_shop_serves_health_and_metrics_after_real_calls(upstreams, clock):
    inventory, recommendations = upstreams
    settings = breakers_settings(
        {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url}
    )
    with TestClient(create_shop(settings, clock=clock, admin_password="s3cret")) as shop:
        assert shop.get("/product/SKU-1").status_code == 200
        inventory.set_mode("errors", status=503)
        for _ in range(4):  # three failures trip it, the fourth call is rejected
            assert shop.get("/product/SKU-2").status_code == 200  # the page degrades
        assert shop.get("/breakers/metrics").status_code == 401  # the shop's Basic auth
        health = shop.get("/breakers/health")
        assert (health.status_code, health.json()["open"]) == (200, ["inventory"])
        response = shop.get("/breakers/metrics", headers=ADMIN)
    assert response.status_code == 200
    series = samples(response.text)
    assert [calls(series, "inventory", o) for o in ("success", "failure", "rejected")] == [1, 3, 1]
    assert calls(series, "recommendations", "failure") == 0
    assert series[("breakerpanel_state", (("dependency", "inventory"), ("state", "open")))] == 1
    assert inventory.stats()["requests"] == {"200": 1, "503": 3}  # the rejection sent nothing


def test_the_old_names_warn_and_still_work(registry: Registry, backend: str):
    import breaker_starlette

    collector = prometheus.CollectorRegistry()
    with pytest.warns(DeprecationWarning, match=r"use breaker_starlette\.enable_metrics\(\)"):
        breaker_starlette.keep_metrics(registry, collector)
    with pytest.warns(DeprecationWarning, match=r"use breaker_starlette\.health_view\(\)"):
        health = breaker_starlette.health_endpoint(registry)
    with pytest.warns(DeprecationWarning, match=r"use breaker_starlette\.metrics_view\(\)"):
        metrics = breaker_starlette.metrics_endpoint(collector)

    async def names(request: Request) -> JSONResponse:
        return JSONResponse(list(breaker_starlette.breakers_of(request).names))

    app = Starlette(
        routes=[Route("/healthz", health), Route("/metrics", metrics), Route("/names", names)]
    )
    app.add_middleware(breaker_starlette.BreakerMiddleware, registry=registry)
    with TestClient(app, backend=backend) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        assert "breakerpanel_calls_total" in client.get("/metrics").text
        with pytest.warns(DeprecationWarning, match=r"use breaker_starlette\.current_registry"):
            assert client.get("/names").json() == list(registry.names)
