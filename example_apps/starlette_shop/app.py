"""The shop in FastAPI: pages, the guarded outbound calls, the breakers dashboard and probes."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import importlib.util
import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import jinja2
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from breaker_core import CircuitBreaker, CircuitOpenError, Registry
from breaker_core.clock import Clock
from breaker_starlette import (
    BreakerMiddleware,
    csrf,
    dashboard_app,
    render_template,
    require,
    setup_templates,
)
from example_apps.starlette_shop.settings import CATALOGUE, breakers_settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["USER_COOKIE", "create_app"]

TEMPLATES = Path(__file__).parent / "templates"
USER_COOKIE = "shop_user"
"""The fake login's cookie: ``/login?user=alice`` sets it."""


def current_user(request: Request) -> str:
    """The logged-in user's name, or "guest" (a fake login, for the demo)."""
    user = request.cookies.get(USER_COOKIE, "")
    return user if user.isalnum() and len(user) <= 32 else "guest"


def _admin_hook(password: str | None) -> Callable[[Request], bool]:
    """The dashboard's auth hook: HTTP Basic, user ``admin``, the given password."""

    def is_admin(request: Request) -> bool:
        if not password:
            return False  # no password configured: nobody gets in
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, given = "", ""
        if scheme.lower() == "basic" and user == "admin" and hmac.compare_digest(given, password):
            return True
        raise HTTPException(401, headers={"WWW-Authenticate": 'Basic realm="breakers"'})

    return is_admin


def _metrics() -> CollectorRegistry | bool:
    """Where this app keeps its metrics: its own registry, or False without prometheus_client.

    An app with an exporter of its own would pass ``metrics=True`` (the global
    registry). The shop gives each app its own: the module builds one at
    import and tests build more, and a registry takes one set of series only.
    """
    if importlib.util.find_spec("prometheus_client") is None:
        return False
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


def create_app(
    settings: Mapping[str, object] | None = None,
    *,
    clock: Clock | None = None,
    admin_password: str | None = None,
) -> FastAPI:
    """Build the shop. ``settings`` default to :func:`breakers_settings` (environment URLs);
    ``admin_password`` (default: ``$SHOP_ADMIN_PASSWORD``) opens the dashboard to ``admin``.

    Raises:
        ConfigurationError: the settings are invalid.
    """
    registry = Registry.from_settings(
        breakers_settings() if settings is None else settings, clock=clock
    )
    if admin_password is None:
        admin_password = os.environ.get("SHOP_ADMIN_PASSWORD")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, enable_async=True
    )

    def shop_context(request: Request) -> dict[str, Any]:
        return {"user": current_user(request), "catalogue": CATALOGUE}

    templates = Jinja2Templates(env=env, context_processors=[shop_context])
    setup_templates(templates, registry)
    recommendations = registry["recommendations"].config

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # Inventory: the guarded client; its breaker counts failures and rejects while open.
        # Recommendations: called inside {% breaker "recommendations" %}, which already
        # guards the call, so a plain client is enough (a guarded one would count once too).
        async with (
            registry.async_client("inventory") as inventory,
            httpx.AsyncClient(
                base_url=recommendations.url or "", timeout=recommendations.timeout
            ) as picks,
        ):
            yield {"inventory": inventory, "picks": picks}

    app = FastAPI(title="Breakerpanel shop", lifespan=lifespan)
    app.add_middleware(BreakerMiddleware, registry=registry)
    # /breakers/: the dashboard, its JSON and /metrics for the admin; /breakers/health for all.
    admin = _admin_hook(admin_password)
    app.mount(
        "/breakers",
        dashboard_app(registry, can_view=admin, can_change=admin, metrics=_metrics()),
    )

    async def stock_of(request: Request, sku: str) -> int:
        """Stock from the Inventory service; raises CircuitOpenError or httpx errors."""
        response = await request.state.inventory.get(f"/{sku}")
        response.raise_for_status()
        return int(response.json()["stock"])

    def product_name(sku: str) -> str:
        if sku not in CATALOGUE:
            raise HTTPException(404, f"No product {sku!r}.")
        return CATALOGUE[sku]

    async def checkout_page(
        request: Request, sku: str, *, error: str | None = None, status_code: int = 200
    ) -> Response:
        token = csrf.token_of(request) or csrf.new_token()
        context = {
            "sku": sku,
            "name": product_name(sku),
            "error": error,
            "csrf_field": csrf.FIELD,
            "csrf_token": token,
        }
        page = await render_template(
            templates, request, "checkout.html", context, status_code=status_code
        )
        csrf.set_cookie(page, token, secure=request.url.scheme == "https")
        return page

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        return await render_template(templates, request, "home.html")

    @app.get("/product/{sku}", response_class=HTMLResponse)
    async def product(request: Request, sku: str) -> Response:
        name = product_name(sku)
        stock: int | None
        try:
            stock = await stock_of(request, sku)
        except (CircuitOpenError, httpx.HTTPError):
            stock = None  # the page degrades: it is still useful without the stock

        async def recommended(user: str) -> list[str]:
            """The lazy call of the widget, awaited inside its {% breaker %} block."""
            response = await request.state.picks.get(f"/{user}")
            response.raise_for_status()
            return [str(sku) for sku in response.json()["items"]]

        context = {"sku": sku, "name": name, "stock": stock, "recommended": recommended}
        return await render_template(templates, request, "product.html", context)

    # The inventory's "routes" cover /checkout/*: while it is open these do not run;
    # the visitor gets a 503 with Retry-After instead.
    @app.get("/checkout/", response_class=HTMLResponse)
    async def checkout(request: Request, sku: str = "SKU-1") -> Response:
        return await checkout_page(request, sku)

    @app.post("/checkout/", response_class=HTMLResponse)
    async def place_order(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=5) as form:
            sku, token = str(form.get("sku", "SKU-1")), form.get(csrf.FIELD)
        name = product_name(sku)
        problem = csrf.check(request, token, ())  # an order changes state: same-origin + token
        if problem is not None:
            raise HTTPException(403, problem)
        try:
            stock = await stock_of(request, sku)  # a CircuitOpenError here is the 503 too
        except httpx.HTTPError:
            message = "The inventory did not answer; your order was not placed. Please try again."
            return await checkout_page(request, sku, error=message, status_code=503)
        if stock == 0:
            message = f"Sorry, {name} is out of stock."
            return await checkout_page(request, sku, error=message, status_code=409)
        return await render_template(templates, request, "ordered.html", {"name": name})

    @app.get("/api/stock/{sku}")
    async def api_stock(
        request: Request,
        sku: str,
        inventory: Annotated[CircuitBreaker, Depends(require("inventory"))],
    ) -> dict[str, object]:
        product_name(sku)
        try:
            stock = await stock_of(request, sku)
        except httpx.HTTPError:
            raise HTTPException(
                503, "The inventory did not answer.", headers={"Retry-After": "1"}
            ) from None
        return {"sku": sku, "stock": stock, "breaker": inventory.name}

    @app.get("/about", response_class=HTMLResponse)
    async def about(request: Request) -> Response:
        return await render_template(templates, request, "about.html")

    @app.get("/login")
    async def login(user: str = "") -> Response:
        """A fake login for the demo: ``/login?user=alice`` (anything else logs out)."""
        response = RedirectResponse("/", status_code=303)
        if user.isalnum() and len(user) <= 32:
            response.set_cookie(USER_COOKIE, user, httponly=True, samesite="lax")
        else:
            response.delete_cookie(USER_COOKIE)
        return response

    return app
