"""The dashboard blueprint: who may view, who may change, and CSRF on the POST."""

from __future__ import annotations

import re

import pytest

flask = pytest.importorskip("flask")

from breaker_core import State  # noqa: E402
from breaker_flask import dashboard_blueprint  # noqa: E402
from breaker_flask.csrf import FIELD, HEADER  # noqa: E402


def user_is(name: str):
    return lambda: flask.session.get("user") == name


def mount(app, **hooks):
    app.register_blueprint(dashboard_blueprint(**hooks), url_prefix="/breakers")
    return app


def logged_in(app, user: str):
    client = app.test_client()
    client.get(f"/login/{user}")
    return client


def token_from(page: str) -> str:
    match = re.search(rf'name="{FIELD}" value="([^"]+)"', page)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)


def test_without_hooks_nothing_is_open(app):
    client = mount(app).test_client()
    page = client.get("/breakers/")
    assert page.status_code == 403
    assert "pass can_view=" in page.text
    assert client.get("/breakers/status").status_code == 403
    post = client.post("/breakers/action", data={"name": "payments", "action": "open"})
    assert post.status_code == 403
    assert app.extensions["breakers"]["payments"].state is State.CLOSED


def test_view_only_dashboard(app, registry):
    mount(app, can_view=user_is("staff"))
    assert logged_in(app, "mallory").get("/breakers/").status_code == 403
    staff = logged_in(app, "staff")
    page = staff.get("/breakers/")
    assert page.status_code == 200
    assert 'data-name="payments"' in page.text
    assert "<form" not in page.text  # no buttons for viewers who may not change state
    assert "no-store" in page.headers["Cache-Control"]
    assert page.headers["X-Frame-Options"] == "DENY"
    status = staff.get("/breakers/status")
    assert status.json["schema"] == "breakerpanel.status/1"
    assert "no-store" in status.headers["Cache-Control"]
    post = staff.post("/breakers/action", data={"name": "payments", "action": "open"})
    assert post.status_code == 403
    assert "read-only" in post.text
    assert registry["payments"].state is State.CLOSED


def test_changing_state_needs_the_hook_and_the_token(app, registry):
    mount(app, can_view=user_is("staff"), can_change=user_is("admin"))
    staff = logged_in(app, "staff")
    assert "<form" not in staff.get("/breakers/").text
    denied = staff.post("/breakers/action", data={"name": "payments", "action": "open"})
    assert denied.status_code == 403

    admin = logged_in(app, "admin")
    page = admin.get("/breakers/").text
    token = token_from(page)
    assert page.count('<form method="post" action="/breakers/action"') == 4 * 3

    no_token = admin.post("/breakers/action", data={"name": "payments", "action": "open"})
    assert (no_token.status_code, registry["payments"].state) == (403, State.CLOSED)
    wrong = admin.post(
        "/breakers/action", data={"name": "payments", "action": "open", FIELD: token + "x"}
    )
    assert (wrong.status_code, registry["payments"].state) == (403, State.CLOSED)
    stolen = staff.post(  # another session's token is no good either
        "/breakers/action", data={"name": "payments", "action": "open", FIELD: token}
    )
    assert (stolen.status_code, registry["payments"].state) == (403, State.CLOSED)

    done = admin.post("/breakers/action", data={"name": "payments", "action": "open", FIELD: token})
    assert done.status_code == 303
    assert done.headers["Location"] == "/breakers/"
    assert registry["payments"].state is State.FORCED_OPEN


def test_cross_site_posts_are_refused_even_with_the_token(app, registry):
    mount(app, can_change=user_is("admin"))
    admin = logged_in(app, "admin")
    token = token_from(admin.get("/breakers/").text)
    data = {"name": "payments", "action": "disable", FIELD: token}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert admin.post("/breakers/action", data=data, headers=headers).status_code == 403
    assert registry["payments"].state is State.CLOSED
    same = admin.post("/breakers/action", data=data, headers={"Origin": "http://localhost"})
    assert same.status_code == 303
    assert registry["payments"].state is State.DISABLED


def test_scripts_send_the_token_in_a_header_and_get_json(app, registry):
    mount(app, can_change=user_is("admin"))
    admin = logged_in(app, "admin")
    token = token_from(admin.get("/breakers/").text)
    response = admin.post(
        "/breakers/action",
        data={"name": "payments", "action": "metrics-only"},
        headers={HEADER: token, "Accept": "application/json"},
    )
    assert response.json == {
        "ok": True,
        "message": "payments: in metrics-only mode: recorded, never rejected",
    }
    assert registry["payments"].state is State.METRICS_ONLY


def test_bad_actions_are_400(app):
    mount(app, can_change=user_is("admin"))
    admin = logged_in(app, "admin")
    token = token_from(admin.get("/breakers/").text)
    bad = admin.post(
        "/breakers/action", data={"name": "payments", "action": "explode", FIELD: token}
    )
    assert bad.status_code == 400
    assert "unknown action &#39;explode&#39;" in bad.text
    unknown = admin.post("/breakers/action", data={"name": "nope", "action": "open", FIELD: token})
    assert unknown.status_code == 400


def test_the_dashboard_needs_a_secret_key(make_app):
    app = make_app()
    app.config["SECRET_KEY"] = None
    mount(app, can_change=lambda: True)
    with pytest.raises(RuntimeError, match=r'set app\.config\["SECRET_KEY"\]'):
        app.test_client().get("/breakers/")
