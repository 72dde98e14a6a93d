"""The WSGI and ASGI apps the demo's servers load, one factory per shop.

``gunicorn 'example_apps.demo.apps:django_app()'``,
``gunicorn 'example_apps.demo.apps:flask_app()'`` and
``uvicorn --factory example_apps.demo.apps:starlette_app``. Each factory builds
the shop as its own module does, and logs breaker transitions (the engine's
``breaker_core`` logger) to stderr, one line each, so the demo's terminal shows
them as they happen. Each import happens inside its factory: a server loads
only the framework it serves.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from example_apps.demo import switches

if TYPE_CHECKING:
    import httpx

__all__ = ["NaiveInventory", "django_app", "flask_app", "show_transitions", "starlette_app"]

DJANGO_SETTINGS = "example_apps.django_shop.settings"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def show_transitions() -> None:
    """Log every breaker transition of this process to stderr (once per process)."""
    logger = logging.getLogger("breaker_core")
    if any(getattr(handler, "_demo", False) for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    # UTC, like gunicorn's own lines: Django sets the process's local time zone to TIME_ZONE.
    formatter = logging.Formatter("%(asctime)s UTC [pid %(process)d] %(message)s")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler._demo = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def django_app() -> Any:
    """The Django shop's WSGI application (settings ``example_apps.django_shop.settings``).

    Raises:
        ImproperlyConfigured: the settings cannot be loaded.
        ConfigurationError: a ``SHOP_*`` switch in the environment is invalid.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DJANGO_SETTINGS)
    from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped]

    application = get_wsgi_application()
    show_transitions()
    return application


def flask_app() -> Any:
    """The Flask shop, built by ``create_app()`` from the environment.

    Raises:
        ConfigurationError: ``BREAKERS`` or a ``SHOP_*`` switch is invalid.
    """
    from example_apps.flask_shop import create_app

    application = create_app()
    show_transitions()
    return application


def starlette_app() -> ASGIApp:
    """The FastAPI shop (``example_apps.starlette_shop:app``), naive under ``SHOP_MODE=naive``.

    Raises:
        ConfigurationError: ``BREAKERS`` or a ``SHOP_*`` switch is invalid.
    """
    from example_apps.starlette_shop import app

    show_transitions()
    if switches.from_environ().mode == "naive":
        return NaiveInventory(app)
    return app


class NaiveInventory:
    """Gives the FastAPI shop's product page the naive Inventory client.

    The shop's lifespan opens its Inventory client as ``state["inventory"]``;
    this wrapper replaces it, once startup is complete, with
    :func:`example_apps.starlette_shop.naive.inventory_client` for the same
    URL, and closes that client at shutdown. (Interim: once the shop's
    lifespan opens ``naive.inventory_client(registry)`` itself, this wrapper
    has nothing left to do; see ``docs/scenario.md``.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._swap(scope.get("state"))
            elif message["type"] == "lifespan.shutdown.complete" and self._client is not None:
                await self._client.aclose()
            await send(message)

        await self.app(scope, receive, lifespan_send)

    def _swap(self, state: MutableMapping[str, Any] | None) -> None:
        from example_apps.starlette_shop.naive import naive_client

        if state is None or "inventory" not in state:
            raise RuntimeError(
                "NaiveInventory: the shop's lifespan no longer yields an 'inventory' client; "
                "open example_apps.starlette_shop.naive.inventory_client(registry) there instead"
            )
        shop = switches.from_environ()
        base_url = str(state["inventory"].base_url)
        self._client = naive_client(base_url, shop.naive_timeout, shop.naive_retries)
        state["inventory"] = self._client
