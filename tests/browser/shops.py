"""What the tests need to know about each running shop: its URLs, its users, its logins."""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from example_apps.upstream import Upstream

FASTAPI_ADMIN_PASSWORD = "browser-test-admin"


@dataclass
class Shop:
    """One example shop served on 127.0.0.1, in front of two upstreams of its own."""

    kind: str
    url: str
    inventory: Upstream
    recommendations: Upstream
    trip_calls: int
    """Failed inventory calls that open the inventory breaker (the shop's threshold)."""
    product: str
    status: str
    health: str

    dashboard = "/breakers/"
    action = "/breakers/action"
    metrics = "/breakers/metrics"
    admin = "admin"
    member = "alice"
    """A signed-in user who is not staff."""
    csrf_field = ""
    """The name of the dashboard forms' CSRF field."""

    # -- the browser ---------------------------------------------------------------------------

    def context_options(self) -> dict[str, Any]:
        """Options of the browser context (the FastAPI shop's admin uses HTTP Basic)."""
        return {"viewport": {"width": 1200, "height": 900}}

    def sign_in(self, page: Any, user: str) -> None:
        """Sign ``user`` in, in the browser ``page``, as the shop defines its login."""
        raise NotImplementedError

    # -- scripts -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def client(self, user: str | None = None) -> Iterator[httpx.Client]:
        """An HTTP client, signed in as ``user`` (None: anonymous)."""
        with httpx.Client(base_url=self.url, timeout=10) as client:
            if user is not None:
                self.sign_in_client(client, user)
            yield client

    def sign_in_client(self, client: httpx.Client, user: str) -> None:
        raise NotImplementedError

    def dashboard_token(self, client: httpx.Client) -> str:
        """The CSRF token of the dashboard's forms, as ``client`` sees the page."""
        page = client.get(self.dashboard)
        assert page.status_code == 200, page.text
        tokens = set(re.findall(rf'name="{self.csrf_field}" value="([^"]+)"', page.text))
        assert len(tokens) == 1, "every form of the page carries the same token"
        return tokens.pop()


class DjangoShop(Shop):
    """Django: a real login form (users from the demo command, password ``breakerpanel``)."""

    csrf_field = "csrfmiddlewaretoken"
    password = "breakerpanel"

    def sign_in(self, page: Any, user: str) -> None:
        page.goto(f"{self.url}/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", self.password)
        with page.expect_navigation():
            page.click("form button")

    def sign_in_client(self, client: httpx.Client, user: str) -> None:
        form = client.get("/login/")
        token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[0]
        answer = client.post(
            "/login/",
            data={"username": user, "password": self.password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.url}/login/"},
        )
        assert answer.status_code == 302, f"{user} could not sign in: {answer.text[:300]}"


class FlaskShop(Shop):
    """Flask: the shop's fake login, ``/login?user=<name>``; "admin" may see the dashboard."""

    csrf_field = "breakerpanel_csrf"

    def sign_in(self, page: Any, user: str) -> None:
        page.goto(f"{self.url}/login?user={user}")

    def sign_in_client(self, client: httpx.Client, user: str) -> None:
        assert client.get("/login", params={"user": user}).status_code == 302


class FastAPIShop(Shop):
    """FastAPI: the dashboard is HTTP Basic (admin and the shop's admin password)."""

    csrf_field = "csrf_token"

    def context_options(self) -> dict[str, Any]:
        return {
            **super().context_options(),
            "http_credentials": {"username": "admin", "password": FASTAPI_ADMIN_PASSWORD},
        }

    def sign_in(self, page: Any, user: str) -> None:
        # The admin's credentials are the context's; any other user is a shop login.
        if user != self.admin:
            page.goto(f"{self.url}/login?user={user}")

    def sign_in_client(self, client: httpx.Client, user: str) -> None:
        if user == self.admin:
            secret = base64.b64encode(f"admin:{FASTAPI_ADMIN_PASSWORD}".encode()).decode()
            client.headers["Authorization"] = f"Basic {secret}"
        else:
            assert client.get("/login", params={"user": user}).status_code == 303
