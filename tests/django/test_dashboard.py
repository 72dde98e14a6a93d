"""The dashboard, the JSON status endpoint and the POST action endpoint: staff only, CSRF."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("django")

from django.contrib.auth import get_user_model
from django.test import Client

from breaker_core import State
from breaker_django import breakers

pytestmark = pytest.mark.django_db

DASHBOARD = "/ops/breakers/"
STATUS = "/ops/breakers/status"
ACTION = "/ops/breakers/action"


def user(name: str, *, staff: bool = False, superuser: bool = False, operator: bool = False):
    created = get_user_model().objects.create_user(
        name, is_staff=staff or superuser, is_superuser=superuser
    )
    if operator:
        from django.contrib.auth.models import Permission

        created.user_permissions.add(Permission.objects.get(codename="change_breaker_state"))
    return created


def client_for(who, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(who)
    return client


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match is not None, "the dashboard has no CSRF field"
    return match.group(1)


# -- who may see ------------------------------------------------------------------------------


def test_anonymous_visitors_go_to_the_login_page():
    response = Client().get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fops%2Fbreakers%2F"


def test_anonymous_json_and_posts_get_403():
    client = Client()
    assert client.get(STATUS).status_code == 403
    assert client.get(STATUS).json()["error"] == "forbidden"
    assert client.post(ACTION, {"name": "inventory", "action": "open"}).status_code == 403
    assert breakers["inventory"].state is State.CLOSED


def test_signed_in_users_who_are_not_staff_get_403():
    client = client_for(user("carol"))
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(STATUS).status_code == 403


def test_staff_sees_every_dependency_read_only():
    breakers["inventory"].force_open()
    page = client_for(user("dave", staff=True)).get(DASHBOARD)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert "private" in page["Cache-Control"]
    assert page["X-Frame-Options"] == "DENY"  # it has state-changing buttons for some
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    html = page.content.decode()
    for name in ("inventory", "catalogue", "recommendations"):
        assert f'data-name="{name}"' in html
    assert 'class="state forced_open"' in html
    assert "<form" not in html  # no buttons without the permission
    assert '"status_url": "/ops/breakers/status"' in html


def test_staff_gets_the_status_document():
    breakers["inventory"].force_open()
    document = client_for(user("dave", staff=True)).get(STATUS).json()
    assert document["schema"] == "breakerpanel.status/1"
    assert document["storage"] == {"scheme": "memory", "shared": False}
    assert [(b["name"], b["state"]) for b in document["breakers"]] == [
        ("inventory", "forced_open"),
        ("catalogue", "closed"),
        ("recommendations", "closed"),
    ]


@pytest.mark.parametrize("kind", ["operator", "superuser"])
def test_operators_get_buttons_with_a_csrf_field(kind):
    who = (
        user("erin", staff=True, operator=True)
        if kind == "operator"
        else user("root", superuser=True)
    )
    html = client_for(who).get(DASHBOARD).content.decode()
    forms = html.count('<form method="post" action="/ops/breakers/action"')
    assert forms >= 3  # buttons for each of the 3 breakers
    assert forms % 3 == 0
    assert html.count('name="csrfmiddlewaretoken"') == forms  # every form carries the token
    assert csrf_token(html)


# -- who may change ------------------------------------------------------------------------------


def test_a_post_without_csrf_token_is_refused():
    client = client_for(user("erin", staff=True, operator=True), csrf=True)
    response = client.post(ACTION, {"name": "inventory", "action": "open"})
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert breakers["inventory"].state is State.CLOSED


def test_an_operator_changes_state_with_the_dashboard_form():
    client = client_for(user("erin", staff=True, operator=True), csrf=True)
    token = csrf_token(client.get(DASHBOARD).content.decode())
    response = client.post(
        ACTION, {"name": "inventory", "action": "open", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 303
    assert response["Location"] == DASHBOARD
    assert breakers["inventory"].state is State.FORCED_OPEN
    response = client.post(
        ACTION,
        {"name": "inventory", "action": "reset", "csrfmiddlewaretoken": token},
        headers={"Accept": "application/json"},
    )
    assert response.json() == {
        "ok": True,
        "message": "inventory: reset: closed, with an empty window",
    }
    assert breakers["inventory"].state is State.CLOSED


def test_staff_without_the_permission_cannot_change_state():
    client = client_for(user("dave", staff=True))
    response = client.post(ACTION, {"name": "inventory", "action": "open"})
    assert response.status_code == 403
    assert breakers["inventory"].state is State.CLOSED


def test_bad_actions_are_400_and_change_nothing():
    client = client_for(user("root", superuser=True))
    response = client.post(ACTION, {"name": "inventroy", "action": "open"})
    assert response.status_code == 400
    assert response.content.decode().startswith("no dependency named 'inventroy'")
    response = client.post(
        ACTION, {"name": "inventory", "action": "explode"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("unknown action 'explode'")
    assert breakers["inventory"].state is State.CLOSED


def test_the_action_endpoint_takes_posts_only():
    client = client_for(user("root", superuser=True))
    assert client.get(ACTION, {"name": "inventory", "action": "open"}).status_code == 405
    assert breakers["inventory"].state is State.CLOSED


def test_a_state_change_is_logged_with_the_user(caplog):
    client_for(user("root", superuser=True)).post(ACTION, {"name": "inventory", "action": "open"})
    assert (
        "breakerpanel dashboard: inventory: forced open: every call is rejected until it is "
        "reset (by 'root' from 127.0.0.1)"
    ) in caplog.text


# -- one vocabulary: the names of Flask and Starlette; the old ones for one release ------------


def test_the_old_status_path_answers_the_same_document():
    client = client_for(user("ops", staff=True))
    new = client.get(STATUS)
    old = client.get("/ops/breakers/status.json")
    assert (new.status_code, old.status_code) == (200, 200)
    assert old.json()["schema"] == new.json()["schema"] == "breakerpanel.status/1"
    assert [b["name"] for b in old.json()["breakers"]] == [
        b["name"] for b in new.json()["breakers"]
    ]
    assert Client().get("/ops/breakers/status.json").status_code == 403  # same protection


def test_current_registry_is_the_registry_in_use_and_the_old_one_warns():
    from breaker_django import conf, current_registry

    registry = current_registry()
    assert registry is conf.get_registry()
    assert registry.names == breakers.names
    assert conf.built_registry() is registry
    with pytest.warns(
        DeprecationWarning, match=r"conf\.current_registry\(\) .* use conf\.built_registry"
    ):
        assert conf.current_registry() is registry


def test_views_health_is_the_old_name_of_health_view():
    from breaker_django import views

    with pytest.warns(DeprecationWarning, match=r"use breaker_django\.views\.health_view"):
        old = views.health
    assert old is views.health_view
    with pytest.raises(AttributeError):
        views.no_such_view  # noqa: B018
