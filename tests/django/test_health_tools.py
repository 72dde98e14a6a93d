"""django-health-check entries per dependency and the debug-toolbar panel (real packages)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("django")
pytest.importorskip("health_check")
pytest.importorskip("debug_toolbar")

from django.test import Client, override_settings

from breaker_django import breakers

DEPENDENCIES = {
    "defaults": {"failure_threshold": 2, "window": "10s", "reset_timeout": "10s"},
    "dependencies": {
        "inventory": {"required": True},
        "catalogue": {},
    },
}


@pytest.fixture
def health_settings(settings):
    settings.BREAKERS = DEPENDENCIES
    settings.ROOT_URLCONF = "tests.django.urls_health"
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "health_check"]):
        yield settings


def ready(client: Client) -> tuple[int, dict[str, str]]:
    response = client.get("/ready/", HTTP_ACCEPT="application/json")
    return response.status_code, response.json()


def test_one_entry_per_dependency_honouring_required(health_settings) -> None:
    client = Client()
    assert ready(client) == (
        200,
        {
            "BreakerCheck(dependency='inventory')": "OK",
            "BreakerCheck(dependency='catalogue')": "OK",
        },
    )
    breakers["catalogue"].force_open()  # optional: pages degrade, the instance stays ready
    assert ready(client)[0] == 200
    breakers["inventory"].force_open()  # required: not ready
    code, body = ready(client)
    assert code == 500
    assert body["BreakerCheck(dependency='inventory')"].startswith(
        "Unavailable: required dependency 'inventory' is forced_open"
    )
    assert body["BreakerCheck(dependency='catalogue')"] == "OK"
    breakers["inventory"].reset()
    assert ready(client)[0] == 200


TOOLBAR = {
    "DEBUG": True,
    "INTERNAL_IPS": ["127.0.0.1"],
    "DEBUG_TOOLBAR_PANELS": ["breaker_django.debug_panel.BreakersPanel"],
    "DEBUG_TOOLBAR_CONFIG": {"IS_RUNNING_TESTS": False},
}


@pytest.fixture
def toolbar(health_settings):
    from django.core.checks.registry import registry

    # debug_toolbar registers system checks when its app loads: they must not outlive
    # this test (they look the app up, which is uninstalled again afterwards).
    checks = (set(registry.registered_checks), set(registry.deployment_checks))
    # Settings first: installing apps (below) runs their ready() at once.
    with (
        override_settings(
            MIDDLEWARE=[
                "debug_toolbar.middleware.DebugToolbarMiddleware",
                *health_settings.MIDDLEWARE,
            ],
            STATIC_URL="/static/",
            STORAGES={
                "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
            ROOT_URLCONF="tests.django.urls_toolbar",
            **TOOLBAR,
        ),
        override_settings(
            INSTALLED_APPS=[
                *health_settings.INSTALLED_APPS,
                "django.contrib.staticfiles",
                "debug_toolbar",
            ]
        ),
    ):
        try:
            yield
        finally:
            registry.registered_checks, registry.deployment_checks = checks


def panel_html(client: Client, page: str) -> str:
    html = client.get(page).content.decode()
    request_id = re.search(r'data-request-id="([0-9a-f]+)"', html)
    assert request_id, html[:500]
    response = client.get(
        "/__debug__/render_panel/",
        {"request_id": request_id.group(1), "panel_id": "BreakersPanel"},
    )
    assert response.status_code == 200
    return response.json()["content"]


def rows(html: str) -> list[list[str]]:
    table = html.split("<h4>Breakers when")[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)][1:]


@pytest.mark.django_db
def test_debug_toolbar_panel_lists_this_requests_calls(toolbar) -> None:
    client = Client()
    found = rows(panel_html(client, "/page/"))
    assert [(r[0], r[1], r[4], r[5]) for r in found] == [
        ("catalogue", "success", "closed", "no"),
        ("inventory", "failure", "closed", "no"),
        ("inventory", "failure", "closed", "no"),
        ("inventory", "rejected", "open", "yes"),
    ]
    assert all(r[3] for r in found[:3])  # a time for calls that ran
    second = panel_html(client, "/async-page/")
    assert [(r[0], r[1]) for r in rows(second)] == [("catalogue", "success")]
    assert "<td>inventory</td><td>open</td>" in second  # states when the response left
