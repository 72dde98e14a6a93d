"""FastAPI: the middleware, ``Depends(require(...))`` and the exception handler installer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Annotated

import pytest

pytest.importorskip("starlette")
pytest.importorskip("fastapi")

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from breaker_core import CircuitBreaker, ConfigurationError, Registry, State
from breaker_starlette import (
    BreakerMiddleware,
    current_registry,
    install_exception_handlers,
    require,
)

SETTINGS = {
    "dependencies": {
        "inventory": {"failure_threshold": 1, "reset_timeout": 15},
        "catalog": {"routes": ["/products/*"], "stale_for": 60},
    }
}


def build(
    registry: Registry | None, *, middleware: bool, handlers: bool
) -> tuple[FastAPI, Counter[str]]:
    calls: Counter[str] = Counter()
    app = FastAPI()
    if middleware:
        app.add_middleware(BreakerMiddleware, registry=registry)
    if handlers:
        install_exception_handlers(app, registry=None if middleware else registry)

    @app.get("/checkout")
    async def checkout(
        inventory: Annotated[CircuitBreaker, Depends(require("inventory"))],
    ) -> dict[str, str]:
        calls["checkout"] += 1
        return {"breaker": inventory.name, "state": inventory.state.value}

    @app.get("/reserve")
    async def reserve(request: Request) -> dict[str, str]:
        calls["reserve"] += 1
        current_registry(request)["inventory"].call(lambda: None)  # raises while open
        return {"reserved": "yes"}

    @app.get("/products/{sku}", response_class=HTMLResponse)
    async def product(sku: str) -> str:
        calls["product"] += 1
        return f"<h1>Product {sku}</h1>"

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(status_code=418, detail="short and stout")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    return app, calls


@pytest.fixture
def registry(clock) -> Registry:
    return Registry.from_settings(SETTINGS, clock=clock)


@pytest.fixture(
    params=[
        pytest.param((True, False), id="middleware"),
        pytest.param((False, True), id="handlers"),
        pytest.param((True, True), id="both"),
    ]
)
def setup(
    request: pytest.FixtureRequest, registry: Registry, backend: str
) -> Iterator[tuple[TestClient, Counter[str]]]:
    middleware, handlers = request.param
    app, calls = build(registry, middleware=middleware, handlers=handlers)
    with TestClient(app, backend=backend) as client:
        yield client, calls


def test_require_passes_the_breaker_to_the_endpoint_while_closed(setup):
    client, calls = setup
    assert client.get("/checkout").json() == {"breaker": "inventory", "state": "closed"}
    assert calls["checkout"] == 1


def test_require_rejects_with_the_503_while_open(setup, registry: Registry):
    client, calls = setup
    registry["inventory"].force_open()
    html = client.get("/checkout")
    assert html.status_code == 503
    assert html.headers["retry-after"] == "15"
    assert "Temporarily unavailable" in html.text
    data = client.get("/checkout", headers={"accept": "application/json"})
    assert data.status_code == 503
    assert data.json()["error"] == "service_unavailable"
    assert calls["checkout"] == 0


def test_require_lets_the_probe_through_when_half_open(setup, registry: Registry, clock):
    client, calls = setup
    breaker = registry["inventory"]
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    assert client.get("/checkout").status_code == 503
    clock.advance(15)
    assert client.get("/checkout").json()["state"] == "half_open"
    assert calls["checkout"] == 1


def test_an_escaping_circuit_open_error_is_a_503_never_a_500(setup, registry: Registry):
    client, calls = setup
    assert client.get("/reserve").json() == {"reserved": "yes"}
    registry["inventory"].force_open()
    response = client.get("/reserve")
    assert response.status_code == 503
    assert response.headers["cache-control"] == "no-store"
    assert calls["reserve"] == 2


def test_fastapi_http_exceptions_are_untouched(setup):
    client, _ = setup
    response = client.get("/teapot")
    assert (response.status_code, response.json()) == (418, {"detail": "short and stout"})


def test_websockets_work_under_fastapi(setup):
    client, _ = setup
    with client.websocket_connect("/ws") as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "ping"


def test_the_installed_handler_serves_pages_the_middleware_kept(registry: Registry, backend: str):
    app, calls = build(registry, middleware=True, handlers=True)

    @app.get("/products/{sku}/live")
    async def live(sku: str) -> dict[str, str]:
        registry["catalog"].call(lambda: None)
        return {"sku": sku}

    with TestClient(app, backend=backend) as client:
        kept = client.get("/products/3")
        registry["catalog"].force_open()
        assert client.get("/products/3").text == kept.text  # route guard, stale copy
        assert client.get("/products/3/live").status_code == 503  # nothing kept there
    assert calls["product"] == 1


def test_require_with_an_explicit_registry_needs_no_setup(registry: Registry, backend: str):
    app = FastAPI()
    install_exception_handlers(app)  # no registry: only the 503

    @app.get("/checkout")
    async def checkout(
        # A default, not Annotated[...]: this module's annotations are strings (from
        # __future__), which FastAPI resolves in the module's globals, not this function's.
        breaker: CircuitBreaker = Depends(require("inventory", registry=registry)),  # noqa: B008
    ) -> str:
        return breaker.name

    with TestClient(app, backend=backend) as client:
        assert client.get("/checkout").json() == "inventory"
        registry["inventory"].force_open()
        assert client.get("/checkout").status_code == 503


def test_require_checks_the_name_at_once_when_given_a_registry(registry: Registry):
    with pytest.raises(
        KeyError, match=r"no dependency named 'inventroy'.*did you mean 'inventory'"
    ):
        require("inventroy", registry=registry)


def test_require_without_any_registry_says_how_to_set_one_up(backend: str):
    app = FastAPI()

    @app.get("/checkout")
    async def checkout(breaker: Annotated[CircuitBreaker, Depends(require("inventory"))]) -> str:
        return breaker.name

    with (
        TestClient(app, backend=backend) as client,
        pytest.raises(ConfigurationError, match=r"add_middleware\(BreakerMiddleware"),
    ):
        client.get("/checkout")


def test_install_exception_handlers_rejects_a_wrong_registry():
    with pytest.raises(ConfigurationError, match=r"expected a breaker_core\.Registry"):
        install_exception_handlers(FastAPI(), registry={"dependencies": {}})  # type: ignore[arg-type]


def test_state_of_the_breaker_is_visible_in_the_endpoint(registry: Registry, backend: str):
    app, _ = build(registry, middleware=True, handlers=False)
    registry["inventory"].metrics_only()
    with TestClient(app, backend=backend) as client:
        assert client.get("/checkout").json()["state"] == State.METRICS_ONLY.value


def test_websockets_reach_the_registry_stored_by_the_installer(registry: Registry, backend: str):
    app = FastAPI()
    install_exception_handlers(app, registry=registry)

    @app.websocket("/ws")
    async def state(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(current_registry(websocket)["inventory"].state.value)
        await websocket.close()

    registry["inventory"].disable()
    with TestClient(app, backend=backend) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "disabled"


def test_the_installed_handler_closes_a_websocket_with_try_again_later(
    registry: Registry, backend: str
):
    app = FastAPI()
    install_exception_handlers(app, registry=registry)

    @app.websocket("/ws")
    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()
        registry["inventory"].call(lambda: None)  # raises while open

    registry["inventory"].force_open()
    with (
        TestClient(app, backend=backend) as client,
        client.websocket_connect("/ws") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert closed.value.code == 1013
