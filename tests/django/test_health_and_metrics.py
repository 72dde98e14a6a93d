"""The health endpoint (open to all) and the Prometheus metrics (staff), in the Django app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("django")
prometheus = pytest.importorskip("prometheus_client")
pytest.importorskip("httpx")

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402

from breaker_core import CircuitOpenError, ConfigurationError  # noqa: E402
from breaker_django import breakers, conf  # noqa: E402
from breaker_django.metrics import (  # noqa: E402
    disable_metrics,
    enable_metrics,
    enabled_metrics,
    metrics_view,
)
from example_apps.upstream import Upstream  # noqa: E402
from tests.prometheus_samples import calls, metrics_listeners, samples  # noqa: E402

HEALTH = "/ops/breakers/health/"
METRICS = "/ops/breakers/metrics"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


@pytest.fixture
def breakers_settings(settings, upstream):
    """Inventory is required (its outage fails health); recommendations are optional."""
    upstream.set_mode("healthy")
    settings.BREAKERS = {
        "defaults": {"failure_threshold": 2, "window": "10s", "reset_timeout": "10s"},
        "dependencies": {
            "inventory": {"url": f"{upstream.url}/inventory", "required": True},
            "recommendations": {"url": f"{upstream.url}/recommendations"},
        },
    }
    return settings


@pytest.fixture
def collector() -> Iterator[object]:
    """A fresh CollectorRegistry; metrics are switched off again after the test."""
    yield prometheus.CollectorRegistry()
    disable_metrics()


def staff_client() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user("ops", is_staff=True))
    return client


def get_stock(sku: str = "SKU-1") -> int:
    with breakers.client("inventory") as client:
        response = client.get(f"/{sku}")
    return response.status_code


# -- health ---------------------------------------------------------------------------------------


def test_health_follows_the_policy_per_state(breakers_settings, clock):
    client = Client()  # anonymous, as a load balancer
    response = client.get(HEALTH)
    assert (response.status_code, response.json()) == (
        200,
        {"schema": "breakerpanel.health/1", "status": "ok", "open": [], "required_open": []},
    )
    assert "no-store" in response["Cache-Control"]

    breakers["recommendations"].force_open()  # optional: degraded, still 200
    response = client.get(HEALTH)
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["open"] == ["recommendations"]

    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            breakers["inventory"].call(lambda: 1 / 0)
    response = client.get(HEALTH)  # required and open: take this instance out
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["required_open"] == ["inventory"]

    clock.advance(10)  # half-open: the probe may pass, the instance is usable
    assert client.get(HEALTH).status_code == 200
    breakers["inventory"].disable()
    assert client.get(HEALTH).status_code == 200
    breakers["inventory"].force_open()
    assert client.get(HEALTH).status_code == 503
    breakers["inventory"].reset()
    assert client.get(HEALTH).json()["required_open"] == []


def test_health_answers_head_and_refuses_posts(breakers_settings):
    client = Client()
    assert client.head(HEALTH).status_code == 200
    assert client.post(HEALTH).status_code == 405


def test_health_needs_no_login_even_under_login_required_middleware(breakers_settings, settings):
    from django.contrib.auth import middleware

    if not hasattr(middleware, "LoginRequiredMiddleware"):
        pytest.skip("LoginRequiredMiddleware is Django 5.1+")
    required = "django.contrib.auth.middleware.LoginRequiredMiddleware"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, required]
    client = Client()
    assert client.get("/checkout/").status_code == 302  # other views now need a login
    assert client.get(HEALTH).status_code == 200


# -- metrics --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_for_staff_only(breakers_settings, collector):
    enable_metrics(collector)
    assert Client().get(METRICS).status_code == 403
    someone = Client()
    someone.force_login(get_user_model().objects.create_user("carol"))
    assert someone.get(METRICS).status_code == 403
    assert staff_client().get(METRICS).status_code == 200


@pytest.mark.django_db
def test_metrics_are_404_until_enabled_and_nothing_listens(breakers_settings):
    response = staff_client().get(METRICS)
    assert response.status_code == 404
    assert b"enable_metrics()" in response.content
    assert metrics_listeners(conf.get_registry()) == []  # breakers keep their fast path


@pytest.mark.django_db
def test_metrics_count_real_calls(breakers_settings, collector, upstream):
    enable_metrics(collector)
    assert get_stock() == 200
    upstream.set_mode("errors", status=503)
    assert [get_stock(), get_stock()] == [503, 503]  # the second failure trips it
    with pytest.raises(CircuitOpenError):
        get_stock()

    response = staff_client().get(METRICS)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    series = samples(response.content.decode())
    assert [calls(series, "inventory", o) for o in ("success", "failure", "rejected")] == [1, 2, 1]
    assert calls(series, "recommendations", "success") == 0
    assert series[("breakerpanel_state", (("dependency", "inventory"), ("state", "open")))] == 1
    assert series[("breakerpanel_state", (("dependency", "inventory"), ("state", "closed")))] == 0
    transition = (("dependency", "inventory"), ("from_state", "closed"), ("to_state", "open"))
    assert series[("breakerpanel_transitions_total", transition)] == 1
    count = ("breakerpanel_call_duration_seconds_count", (("dependency", "inventory"),))
    assert series[count] == 3


@pytest.mark.django_db
def test_metrics_follow_a_rebuilt_registry(breakers_settings, collector, settings, upstream):
    enable_metrics(collector)
    first = conf.get_registry()
    settings.BREAKERS_CLOCK = None  # a new clock: the registry is rebuilt
    settings.BREAKERS = {"dependencies": {"inventory": {"url": f"{upstream.url}/inventory"}}}
    rebuilt = conf.get_registry()
    assert rebuilt is not first
    assert metrics_listeners(first) == []
    assert get_stock() == 200
    series = samples(staff_client().get(METRICS).content.decode())
    assert calls(series, "inventory", "success") == 1


def test_enabling_is_idempotent_and_disabling_restores_the_fast_path(breakers_settings, collector):
    metrics = enable_metrics(collector)
    assert enable_metrics(collector) is metrics
    assert enabled_metrics() is metrics
    assert metrics_listeners(conf.get_registry()) == [metrics.observe]
    disable_metrics()
    assert enabled_metrics() is None
    assert metrics_listeners(conf.get_registry()) == []
    assert enable_metrics(collector) is metrics  # the same series carry on


def test_a_registry_already_holding_the_series_names_the_fix(breakers_settings, collector):
    from breaker_core.ops.metrics import install_metrics

    install_metrics(conf.get_registry(), collector)  # someone else got there first
    with pytest.raises(ConfigurationError, match=r"collector_registry=prometheus_client"):
        enable_metrics(collector)
    assert enabled_metrics() is None


def test_the_bare_view_serves_the_metrics_without_a_check_of_its_own(breakers_settings, collector):
    request = RequestFactory().get("/metrics")
    assert metrics_view(request).status_code == 404
    enable_metrics(collector)
    response = metrics_view(request)
    assert response.status_code == 200
    assert b"breakerpanel_calls_total" in response.content
