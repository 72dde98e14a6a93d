"""FastAPI's OpenAPI lists ``require()``'s 503; a registry the middleware built is closed."""

from __future__ import annotations

import threading
from typing import Annotated

import pytest

fastapi = pytest.importorskip("fastapi")
pytest.importorskip("redis")
from fastapi import Depends, FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from breaker_core import CircuitBreaker, Registry  # noqa: E402
from breaker_starlette import BreakerMiddleware, require  # noqa: E402
from breaker_starlette.dependencies import UNAVAILABLE_RESPONSE, declare_unavailable  # noqa: E402

BREAKERS = {"dependencies": {"inventory": {}, "recommendations": {}}}


def _app(registry: Registry) -> FastAPI:
    app = FastAPI()
    app.add_middleware(BreakerMiddleware, registry=registry)

    @app.post("/reserve/{sku}")
    async def reserve(
        sku: str, inventory: Annotated[CircuitBreaker, Depends(require("inventory"))]
    ):
        return {"reserved": sku}

    @app.get("/guarded", dependencies=[Depends(require("recommendations"))])
    async def guarded():
        return {}

    @app.get("/custom", responses={503: {"description": "we say it ourselves"}})
    async def custom(inventory: Annotated[CircuitBreaker, Depends(require("inventory"))]):
        return {}

    @app.get("/about")
    async def about():
        return {}

    return app


def test_the_503_is_in_the_openapi_schema_of_every_route_that_requires_a_dependency():
    registry = Registry.from_settings(BREAKERS)
    with TestClient(_app(registry)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert (
        paths["/reserve/{sku}"]["post"]["responses"]["503"]["description"]
        == (UNAVAILABLE_RESPONSE["description"])
    )
    assert "Retry-After" in paths["/guarded"]["get"]["responses"]["503"]["headers"]
    assert paths["/custom"]["get"]["responses"]["503"]["description"] == "we say it ourselves"
    assert "503" not in paths["/about"]["get"]["responses"]
    registry.close()


def test_the_schema_says_what_the_503_really_is():
    registry = Registry.from_settings(BREAKERS)
    registry["inventory"].force_open()
    with TestClient(_app(registry)) as client:
        answer = client.post("/reserve/SKU-1", headers={"Accept": "application/json"})
    schema = UNAVAILABLE_RESPONSE["content"]["application/json"]["schema"]
    body = answer.json()
    assert answer.status_code == 503
    assert set(schema["required"]) <= set(body)
    assert body["error"] in schema["properties"]["error"]["enum"]
    assert int(answer.headers["Retry-After"]) >= 1
    registry.close()


def test_declare_unavailable_leaves_other_apps_alone():
    assert declare_unavailable(None) == 0
    assert declare_unavailable(object()) == 0


def _redis_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "breakerpanel-redis" and t.is_alive()}


def test_a_registry_the_middleware_built_is_closed_at_shutdown(redis_url):
    before = _redis_threads()
    settings = {"storage": redis_url, "dependencies": {"inventory": {}}}
    app = FastAPI()
    app.add_middleware(BreakerMiddleware, settings=settings)

    @app.get("/")
    async def home():
        return {}

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        started = _redis_threads() - before
        assert started, "the shared storage's worker did not start"
    assert not any(thread.is_alive() for thread in started)


def test_a_registry_given_to_the_middleware_is_left_open(redis_url):
    before = _redis_threads()
    registry = Registry.from_settings({"storage": redis_url, "dependencies": {"inventory": {}}})
    registry["inventory"].call(int)
    with TestClient(_app(registry)) as client:
        client.get("/about")
        started = _redis_threads() - before
        assert started
    assert all(thread.is_alive() for thread in started)  # the app does not own it
    registry.close()
    assert not any(thread.is_alive() for thread in started)
