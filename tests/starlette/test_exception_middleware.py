"""BreakerMiddleware innermost: it does the HTTP work of Starlette's ExceptionMiddleware itself.

Wrapping Starlette's own ``ExceptionMiddleware`` directly, the middleware puts
its handlers in the scope and awaits Starlette's wrapper itself (one coroutine
less per request); the app's handlers must answer exactly as without the
middleware. A subclass overriding ``__call__`` or a wrapper another library
patched in is awaited as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from breaker_core import Registry
from breaker_starlette import BreakerMiddleware

SETTINGS = {
    "dependencies": {
        "catalog": {"routes": ["/products/*"], "stale_for": 60},
        "recommendations": {"failure_threshold": 1},
    }
}

PATHS = ("/page", "/missing", "/boom", "/teapot", "/products/1", "/recommended")


def _app(registry: Registry | None) -> Starlette:
    async def page(request: Request) -> Response:
        return PlainTextResponse("page")

    async def boom(request: Request) -> Response:
        raise ValueError("boom")

    async def teapot(request: Request) -> Response:
        raise HTTPException(418, "short and stout")

    async def product(request: Request) -> Response:
        return PlainTextResponse("product")

    async def recommended(request: Request) -> Response:
        assert registry is not None
        registry["recommendations"].call(lambda: None)
        return PlainTextResponse("recommended")

    async def not_found(request: Request, error: Exception) -> Response:
        return PlainTextResponse(f"no {request.url.path} here", status_code=404)

    async def value_error(request: Request, error: Exception) -> Response:
        return PlainTextResponse(f"bad value: {error}", status_code=422)

    middleware = [] if registry is None else [Middleware(BreakerMiddleware, registry=registry)]
    return Starlette(
        routes=[
            Route("/page", page),
            Route("/boom", boom),
            Route("/teapot", teapot),
            Route("/products/{sku}", product),
            Route("/recommended", recommended),
        ],
        middleware=middleware,
        exception_handlers={404: not_found, ValueError: value_error},
    )


def _answers(app: Starlette, backend: str) -> dict[str, tuple[int, str]]:
    with TestClient(app, backend=backend) as client:
        return {
            path: (response.status_code, response.text)
            for path in PATHS[:-1]
            for response in [client.get(path)]
        }


def test_the_apps_handlers_answer_as_without_the_middleware(clock: Any, backend: str) -> None:
    registry = Registry.from_settings(SETTINGS, clock=clock)
    with_middleware = _answers(_app(registry), backend)
    assert with_middleware == _answers(_app(None), backend)
    assert with_middleware["/missing"] == (404, "no /missing here")
    assert with_middleware["/boom"] == (422, "bad value: boom")
    assert with_middleware["/teapot"] == (418, "short and stout")


def _counting(calls: list[str]) -> Callable[..., Awaitable[None]]:
    """ExceptionMiddleware.__call__ wrapped as an instrumenting library would patch it."""
    original = ExceptionMiddleware.__call__

    @functools.wraps(original)
    async def call(self: ExceptionMiddleware, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])
        await original(self, scope, receive, send)

    return call


def test_starlettes_exception_middleware_is_not_awaited_on_http_requests(
    clock: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry.from_settings(SETTINGS, clock=clock)
    app = _app(registry)
    calls: list[str] = []
    with TestClient(app, backend=backend) as client:  # the stack is built at startup
        monkeypatch.setattr(ExceptionMiddleware, "__call__", _counting(calls))
        assert client.get("/page").text == "page"
        registry["recommendations"].force_open()
        response = client.get("/recommended")  # answered by the handler it registered
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert calls == []


def test_a_patched_exception_middleware_is_awaited(
    clock: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(ExceptionMiddleware, "__call__", _counting(calls))
    registry = Registry.from_settings(SETTINGS, clock=clock)
    app = _app(registry)
    with TestClient(app, backend=backend) as client:
        assert client.get("/page").text == "page"
        assert client.get("/missing").text == "no /missing here"
        registry["recommendations"].force_open()
        response = client.get("/recommended")
    assert response.status_code == 503
    assert calls == ["lifespan", "http", "http", "http"]


async def test_a_subclass_overriding_call_is_awaited(clock: Any) -> None:
    calls: list[str] = []

    class Instrumented(ExceptionMiddleware):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            calls.append(scope["type"])
            await super().__call__(scope, receive, send)

    async def page(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("page")(scope, receive, send)

    registry = Registry.from_settings(SETTINGS, clock=clock)
    app = BreakerMiddleware(Instrumented(page), registry=registry)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/page",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    await app(scope, receive, send)
    assert calls == ["http"]
    assert sent[0]["status"] == 200


@pytest.mark.parametrize("present", [True, False])
def test_the_exception_middleware_is_absorbed_only_with_starlettes_private_handler_wrapper(
    clock: Any, backend: str, monkeypatch: pytest.MonkeyPatch, present: bool
) -> None:
    """Starlette's ``wrap_app_handling_exceptions`` is private: without it nothing is absorbed."""
    from breaker_starlette import middleware

    if not present:
        monkeypatch.setattr(middleware, "wrap_app_handling_exceptions", None)
    assert middleware._absorbs(ExceptionMiddleware(_app(None))) is present
    registry = Registry.from_settings(SETTINGS, clock=clock)
    assert _answers(_app(registry), backend) == _answers(_app(None), backend)
