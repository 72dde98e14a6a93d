"""The dashboard next to Flask-WTF's CSRFProtect (the real package): no manual exemption.

The dashboard's action checks its own token and the origin, and exempts itself
from CSRFProtect whichever is set up first; the app's other views keep
Flask-WTF's protection.
"""

from __future__ import annotations

import re

import pytest

flask = pytest.importorskip("flask")
flask_wtf = pytest.importorskip("flask_wtf")

from flask_wtf.csrf import CSRFProtect, generate_csrf  # noqa: E402

from breaker_core import State  # noqa: E402
from breaker_flask import dashboard_blueprint  # noqa: E402
from breaker_flask.csrf import FIELD  # noqa: E402


def is_admin() -> bool:
    return flask.session.get("user") == "admin"


def protect(app, order: str):
    """CSRFProtect and the dashboard in the given order, as a user might write them."""
    app.config["WTF_CSRF_SSL_STRICT"] = False  # the test client speaks plain http

    @app.post("/profile")
    def profile() -> str:
        return "saved"

    @app.get("/profile-form")
    def profile_form() -> str:
        return generate_csrf()

    blueprint = dashboard_blueprint(can_change=is_admin)
    if order == "protect-first":
        CSRFProtect(app)
        app.register_blueprint(blueprint, url_prefix="/breakers")
    else:
        app.register_blueprint(blueprint, url_prefix="/breakers")
        csrf = CSRFProtect()
        csrf.init_app(app)
    admin = app.test_client()
    admin.get("/login/admin")
    page = admin.get("/breakers/")
    assert page.status_code == 200
    match = re.search(rf'name="{FIELD}" value="([^"]+)"', page.text)
    assert match is not None
    return admin, match.group(1)


ORDERS = ["protect-first", "dashboard-first"]


@pytest.mark.parametrize("order", ORDERS)
def test_dashboard_actions_work_under_csrf_protect(app, registry, order):
    admin, token = protect(app, order)
    done = admin.post("/breakers/action", data={"name": "payments", "action": "open", FIELD: token})
    assert done.status_code == 303, done.text
    assert registry["payments"].state is State.FORCED_OPEN
    json = admin.post(
        "/breakers/action",
        data={"name": "payments", "action": "reset", FIELD: token},
        headers={"Accept": "application/json"},
    )
    assert json.json["ok"] is True
    assert registry["payments"].state is State.CLOSED


@pytest.mark.parametrize("order", ORDERS)
def test_forged_dashboard_posts_are_still_refused(app, registry, order):
    admin, token = protect(app, order)
    forged = [
        ({"name": "payments", "action": "open"}, {}),  # no token
        ({"name": "payments", "action": "open", FIELD: token + "x"}, {}),  # a wrong one
        ({"name": "payments", "action": "open", FIELD: token}, {"Origin": "https://evil.example"}),
        ({"name": "payments", "action": "open", FIELD: token}, {"Sec-Fetch-Site": "cross-site"}),
    ]
    for data, headers in forged:
        refused = admin.post("/breakers/action", data=data, headers=headers)
        assert refused.status_code == 403, (data, headers, refused.status_code)
        assert registry["payments"].state is State.CLOSED
    other = app.test_client()  # another visitor's session holds no token
    other.get("/login/admin")
    stolen = other.post("/breakers/action", data={"name": "payments", "action": "open"})
    assert stolen.status_code == 403
    assert registry["payments"].state is State.CLOSED


@pytest.mark.parametrize("order", ORDERS)
def test_the_apps_own_views_keep_flask_wtf_protection(app, order):
    admin, _ = protect(app, order)
    admin.post("/breakers/action", data={"name": "payments", "action": "open"})  # any order
    refused = admin.post("/profile", data={"name": "x"})
    assert refused.status_code == 400
    assert "CSRF" in refused.text
    token = admin.get("/profile-form").text
    assert admin.post("/profile", data={"csrf_token": token}).text == "saved"
