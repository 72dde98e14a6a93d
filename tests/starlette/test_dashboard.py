"""The mountable dashboard: auth hook, JSON status, state-changing POSTs and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

pytest.importorskip("starlette")
pytest.importorskip("itsdangerous")  # SessionMiddleware, for a realistic login

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from breaker_core import ConfigurationError, Registry, State
from breaker_starlette import Check, dashboard_app

SETTINGS = {"dependencies": {"inventory": {"routes": ["/checkout/*"]}, "recommendations": {}}}


def is_staff(request: Request) -> bool:
    return request.session.get("user") == "staff"


async def login(request: Request) -> Response:
    request.session["user"] = request.path_params["user"]
    return PlainTextResponse("logged in")


def make_app(registry: Registry, **options: object) -> Starlette:
    return Starlette(
        routes=[
            Route("/login/{user}", login),
            Mount("/ops/breakers", app=dashboard_app(registry, **options)),  # type: ignore[arg-type]
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="test-only", same_site="strict")],
    )


@pytest.fixture
def registry(clock) -> Registry:
    return Registry.from_settings(SETTINGS, clock=clock)


@pytest.fixture
def client(registry: Registry, backend: str) -> Iterator[TestClient]:
    with TestClient(
        make_app(registry, can_view=is_staff, can_change=is_staff), backend=backend
    ) as test_client:
        yield test_client


def staff(client: TestClient) -> TestClient:
    client.get("/login/staff")
    return client


def token_from(page: str) -> str:
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
    assert len(tokens) == 1
    return tokens.pop()


def post(client: TestClient, data: dict[str, str], **headers: str) -> Response:
    return client.post("/ops/breakers/action", data=data, headers=headers, follow_redirects=False)


# -- who may see it -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ops/breakers/", "/ops/breakers/status"])
def test_anonymous_and_other_users_are_refused(client: TestClient, path: str):
    assert client.get(path).status_code == 403
    client.get("/login/mallory")
    assert client.get(path).status_code == 403


def test_without_a_can_view_hook_everything_is_refused(
    registry: Registry, backend: str, caplog: pytest.LogCaptureFixture
):
    app = make_app(registry)
    assert "no can_view hook" in caplog.text
    with TestClient(app, backend=backend) as client:
        client.get("/login/staff")
        assert client.get("/ops/breakers/").status_code == 403
        assert client.get("/ops/breakers/status").status_code == 403
        assert post(client, {"name": "inventory", "action": "open"}).status_code == 403
    assert registry["inventory"].state is State.CLOSED


def test_staff_see_the_page_with_the_mounted_urls(client: TestClient):
    response = staff(client).get("/ops/breakers/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["x-frame-options"] == "DENY"
    page = response.text
    assert 'data-name="inventory"' in page
    assert 'data-name="recommendations"' in page
    assert '"status_url": "/ops/breakers/status"' in page
    assert 'action="/ops/breakers/action"' in page
    cookie = response.headers["set-cookie"]
    assert f"breakerpanel_csrf={token_from(page)}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/;" in cookie  # constant: never built from the request's path


def test_staff_get_the_json_status(client: TestClient, registry: Registry):
    registry["inventory"].force_open()
    response = staff(client).get("/ops/breakers/status")
    assert "no-store" in response.headers["cache-control"]
    document = response.json()
    assert document["schema"] == "breakerpanel.status/1"
    states = {entry["name"]: entry["state"] for entry in document["breakers"]}
    assert states == {"inventory": "forced_open", "recommendations": "closed"}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_sync_and_async_hooks(registry: Registry, backend: str, kind: str):
    def sync_hook(request: Request) -> bool:
        return request.headers.get("x-role") == "ops"

    async def async_hook(request: Request) -> bool:
        return request.headers.get("x-role") == "ops"

    hook: Check = sync_hook if kind == "sync" else async_hook
    with TestClient(make_app(registry, can_view=hook, can_change=hook), backend=backend) as client:
        assert client.get("/ops/breakers/status").status_code == 403
        assert client.get("/ops/breakers/status", headers={"x-role": "ops"}).status_code == 200


def test_a_hook_may_answer_by_raising(registry: Registry, backend: str):
    def must_log_in(request: Request) -> bool:
        raise HTTPException(401, headers={"WWW-Authenticate": 'Basic realm="ops"'})

    with TestClient(
        make_app(registry, can_view=must_log_in, can_change=must_log_in), backend=backend
    ) as client:
        response = client.get("/ops/breakers/")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="ops"'


def test_a_truthy_but_not_true_answer_is_a_refusal(registry: Registry, backend: str):
    with TestClient(make_app(registry, can_view=lambda r: "yes"), backend=backend) as client:  # type: ignore[arg-type,return-value]
        assert client.get("/ops/breakers/").status_code == 403


# -- changing state -------------------------------------------------------------------------


def test_a_post_with_the_token_changes_state_and_redirects(client: TestClient, registry: Registry):
    token = token_from(staff(client).get("/ops/breakers/").text)
    response = post(client, {"name": "inventory", "action": "open", "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/ops/breakers/"
    assert registry["inventory"].state is State.FORCED_OPEN
    response = post(
        client,
        {"name": "inventory", "action": "reset", "csrf_token": token},
        accept="application/json",
    )
    assert response.json() == {
        "ok": True,
        "message": "inventory: reset: closed, with an empty window",
    }
    assert registry["inventory"].state is State.CLOSED


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "the CSRF token is missing or wrong"),
        ("A" * 43, "the CSRF token is missing or wrong"),
        ("not a token", "the CSRF token is missing or wrong"),
    ],
)
def test_a_post_without_the_right_token_is_refused(
    client: TestClient, registry: Registry, token: str | None, reason: str
):
    staff(client).get("/ops/breakers/")  # has the cookie
    data = {"name": "inventory", "action": "open"}
    if token is not None:
        data["csrf_token"] = token
    response = post(client, data)
    assert response.status_code == 403
    assert reason in response.text
    assert registry["inventory"].state is State.CLOSED


def test_a_post_without_the_cookie_is_refused(client: TestClient, registry: Registry):
    token = token_from(staff(client).get("/ops/breakers/").text)
    client.cookies.delete("breakerpanel_csrf", path="/")
    response = post(client, {"name": "inventory", "action": "open", "csrf_token": token})
    assert response.status_code == 403
    assert "the CSRF cookie is missing" in response.text
    assert registry["inventory"].state is State.CLOSED


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_cross_site_post_is_refused_even_with_the_token(
    client: TestClient, registry: Registry, headers: dict[str, str]
):
    token = token_from(staff(client).get("/ops/breakers/").text)
    response = post(client, {"name": "inventory", "action": "open", "csrf_token": token}, **headers)
    assert response.status_code == 403
    assert "another" in response.text
    assert registry["inventory"].state is State.CLOSED


def test_same_origin_and_trusted_origins_pass(registry: Registry, backend: str):
    app = make_app(
        registry, can_view=is_staff, can_change=is_staff, trusted_origins=["https://ops.example"]
    )
    with TestClient(app, backend=backend) as client:
        token = token_from(staff(client).get("/ops/breakers/").text)
        data = {"name": "inventory", "action": "disable", "csrf_token": token}
        same = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
        assert post(client, data, **same).status_code == 303
        assert registry["inventory"].state is State.DISABLED
        data["action"] = "metrics-only"
        assert post(client, data, origin="https://ops.example").status_code == 303
        assert registry["inventory"].state is State.METRICS_ONLY


def test_other_users_cannot_post_even_with_a_token(client: TestClient, registry: Registry):
    token = token_from(staff(client).get("/ops/breakers/").text)
    client.get("/login/mallory")
    response = post(client, {"name": "inventory", "action": "open", "csrf_token": token})
    assert response.status_code == 403
    assert registry["inventory"].state is State.CLOSED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "inventory", "action": "explode"}, "unknown action 'explode'"),
        ({"name": "payments", "action": "open"}, "no dependency named 'payments'"),
        ({"action": "open"}, "the form needs the fields name and action"),
    ],
)
def test_bad_actions_are_a_400(client: TestClient, data: dict[str, str], message: str):
    data["csrf_token"] = token_from(staff(client).get("/ops/breakers/").text)
    response = post(client, data)
    assert response.status_code == 400
    assert message in response.text


def test_get_on_the_action_url_is_not_allowed(client: TestClient):
    assert staff(client).get("/ops/breakers/action").status_code == 405


def test_read_only_has_no_buttons_and_refuses_posts(registry: Registry, backend: str):
    with TestClient(
        make_app(registry, can_view=is_staff, can_change=is_staff, read_only=True), backend=backend
    ) as c:
        page = staff(c).get("/ops/breakers/").text
        assert "<button" not in page
        response = post(c, {"name": "inventory", "action": "open", "csrf_token": "x" * 43})
        assert response.status_code == 403
        assert "read-only" in response.text
    assert registry["inventory"].state is State.CLOSED


def test_bad_arguments_name_the_fix(registry: Registry):
    with pytest.raises(ConfigurationError, match=r"expected a breaker_core\.Registry"):
        dashboard_app(SETTINGS, can_view=is_staff, can_change=is_staff)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"interval=\.\.\.\): expected a positive number"):
        dashboard_app(registry, can_view=is_staff, can_change=is_staff, interval=0)


def test_a_hostile_mount_path_never_reaches_the_cookie_attributes(registry: Registry, backend: str):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from breaker_starlette import dashboard_app

    app = Starlette(
        routes=[
            Mount(
                "/t/{tenant}/breakers",
                app=dashboard_app(registry, can_view=lambda request: True),
            )
        ]
    )
    with TestClient(app, backend=backend) as client:
        response = client.get("/t/x;%20Domain=evil.example;%20SameSite=None/breakers/")
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "evil" not in cookie
    assert "Domain" not in cookie
    assert cookie.endswith("HttpOnly; Path=/; SameSite=strict")


# -- can_view and can_change, the words of every integration ---------------------------------


def is_ops(request: Request) -> bool:
    return request.session.get("user") in {"staff", "ops"}


def test_a_viewer_sees_no_buttons_and_cannot_change(registry: Registry, backend: str):
    calls: list[str] = []

    def may_change(request: Request) -> bool:
        calls.append("change")
        return request.session.get("user") == "ops"

    app = make_app(registry, can_view=is_ops, can_change=may_change)
    with TestClient(app, backend=backend) as client:
        page = staff(client).get("/ops/breakers/").text
        assert "<button" not in page
        assert client.get("/ops/breakers/status").status_code == 200
        response = post(client, {"name": "inventory", "action": "open", "csrf_token": "x" * 43})
        assert response.status_code == 403
        assert registry["inventory"].state is State.CLOSED
        client.get("/login/ops")
        page = client.get("/ops/breakers/").text
        assert "<button" in page
        response = post(
            client, {"name": "inventory", "action": "open", "csrf_token": token_from(page)}
        )
        assert response.status_code == 303
    assert registry["inventory"].state is State.FORCED_OPEN
    assert calls  # the change hook was asked


def test_can_change_alone_lets_its_users_view(registry: Registry, backend: str):
    with TestClient(make_app(registry, can_change=is_staff), backend=backend) as client:
        assert client.get("/ops/breakers/status").status_code == 403
        assert staff(client).get("/ops/breakers/status").status_code == 200


def test_authorize_is_a_deprecated_name_for_both_hooks(registry: Registry, backend: str):
    calls: list[Request] = []

    def hook(request: Request) -> bool:
        calls.append(request)
        return False

    with pytest.warns(DeprecationWarning, match=r"authorize=.*can_view=\.\.\., can_change="):
        app = make_app(registry, authorize=hook)
    with TestClient(app, backend=backend) as client:
        assert client.get("/ops/breakers/status").status_code == 403
    assert len(calls) == 1  # one hook for both: asked once per request, as before
    with pytest.warns(DeprecationWarning, match="authorize"):
        app = make_app(registry, authorize=is_staff)
    with TestClient(app, backend=backend) as client:
        page = staff(client).get("/ops/breakers/").text
        assert "<button" in page
    with pytest.raises(ConfigurationError, match="either authorize or those, not both"):
        dashboard_app(registry, authorize=is_staff, can_view=is_staff)
