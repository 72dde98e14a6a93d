"""Every shop's dashboard refuses anonymous users, non-staff users and POSTs without CSRF.

Against the shops on real servers (no browser needed): the same checks for the
three integrations, each with its own notion of who may see and change.
"""

from __future__ import annotations

import pytest

pytest.importorskip("httpx")

import httpx

from tests.browser.shops import Shop

pytestmark = pytest.mark.slow

REFUSED = {"django": 403, "flask": 403, "fastapi": 401}
"""What each shop answers a request that is not allowed to see the dashboard."""


def states(shop: Shop) -> dict[str, str]:
    with shop.client(shop.admin) as admin:
        document = admin.get(shop.status).json()
    return {entry["name"]: entry["state"] for entry in document["breakers"]}


def post_action(client: httpx.Client, shop: Shop, token: str | None, **headers: str):
    data = {"name": "recommendations", "action": "open"}
    if token is not None:
        data[shop.csrf_field] = token
    return client.post(shop.action, data=data, headers=headers)


def test_anonymous_visitors_are_refused_but_health_answers(shop: Shop):
    with shop.client() as anonymous:
        page = anonymous.get(shop.dashboard)
        if shop.kind == "django":  # Django sends them to LOGIN_URL
            assert page.status_code == 302
            assert page.headers["location"].startswith("/login/?next=")
        else:
            assert page.status_code == REFUSED[shop.kind]
        for path in (shop.status, shop.metrics):
            assert anonymous.get(path).status_code == REFUSED[shop.kind], path
        assert post_action(anonymous, shop, None).status_code == REFUSED[shop.kind]
        health = anonymous.get(shop.health)
        assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert states(shop)["recommendations"] == "closed"


def test_signed_in_users_who_are_not_staff_are_refused(shop: Shop):
    with shop.client(shop.member) as member:
        for path in (shop.dashboard, shop.status, shop.metrics):
            assert member.get(path).status_code == REFUSED[shop.kind], path
        assert post_action(member, shop, None).status_code == REFUSED[shop.kind]
    assert states(shop)["recommendations"] == "closed"


def test_the_admins_posts_need_the_csrf_token_from_the_same_origin(shop: Shop):
    with shop.client(shop.admin) as admin:
        token = shop.dashboard_token(admin)
        assert post_action(admin, shop, None).status_code == 403
        assert post_action(admin, shop, "x" * len(token)).status_code == 403
        cross_site = post_action(admin, shop, token, Origin="https://evil.example")
        assert cross_site.status_code == 403
        assert states(shop)["recommendations"] == "closed"

        accepted = post_action(admin, shop, token)  # the control: the same POST, done right
        assert accepted.status_code in (302, 303)
        assert states(shop)["recommendations"] == "forced_open"
        reset = {"name": "recommendations", "action": "reset", shop.csrf_field: token}
        assert admin.post(shop.action, data=reset).status_code in (302, 303)
    assert states(shop)["recommendations"] == "closed"


def test_the_admin_reads_the_metrics(shop: Shop):
    with shop.client(shop.admin) as admin:
        response = admin.get(shop.metrics)
    if shop.kind == "django":
        # The Django shop does not enable metrics (breaker_django.metrics.enable_metrics):
        # the staff endpoint says how to.
        assert response.status_code == 404
        assert "enable_metrics()" in response.text
        return
    assert response.status_code == 200
    assert 'breakerpanel_state{dependency="inventory",state="closed"} 1.0' in response.text
