"""BreakerMiddleware in a real Starlette app, through Starlette's TestClient."""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

pytest.importorskip("starlette")

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from breaker_core import BreakerError, CircuitOpenError, ConfigurationError, Registry, State
from breaker_starlette import BreakerMiddleware
from example_apps.upstream import Upstream


def settings(upstream_url: str = "http://127.0.0.1:9") -> dict[str, object]:
    return {
        "dependencies": {
            "inventory": {
                "url": upstream_url,
                "timeout": "2s",
                "routes": ["/checkout/*"],
                "failure_threshold": 2,
                "reset_timeout": 30,
            },
            "catalog": {
                "routes": ["/products/*"],
                "stale_for": 60,
                "failure_threshold": 1,
                "reset_timeout": 30,
            },
            "recommendations": {"failure_threshold": 1, "reset_timeout": 20},
        }
    }


class PassThrough:
    """A pure ASGI middleware doing nothing: put between BreakerMiddleware and Starlette's
    ExceptionMiddleware, the middleware cannot hand its answer to that one and watches
    every response itself."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class Shop:
    """A small Starlette app under the middleware, counting the views it runs.

    ``watched``: with :class:`PassThrough` inside the middleware (it watches the
    responses itself instead of answering through Starlette's ExceptionMiddleware).
    """

    def __init__(self, registry: Registry, *, watched: bool = False) -> None:
        self.registry = registry
        self.calls: Counter[str] = Counter()
        self.lifespan_events: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/about", self.about),
                Route("/checkout", self.checkout, methods=["GET", "POST", "HEAD"]),
                Route("/products/{sku}", self.product, methods=["GET", "POST", "HEAD"]),
                Route("/stock/{sku}", self.stock),
                Route("/recommended", self.recommended),
                Route("/stream", self.stream),
                Route("/state", self.state),
                WebSocketRoute("/ws", self.websocket),
            ],
            lifespan=self.lifespan,
        )
        if watched:
            self.app.add_middleware(PassThrough)  # added first: the innermost
        self.app.add_middleware(BreakerMiddleware, registry=registry)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[dict[str, object]]:
        self.lifespan_events.append("startup")
        yield {"started_by_lifespan": True}
        self.lifespan_events.append("shutdown")

    async def about(self, request: Request) -> Response:
        self.calls["about"] += 1
        return PlainTextResponse("about us")

    async def checkout(self, request: Request) -> Response:
        self.calls["checkout"] += 1
        return HTMLResponse("<h1>Checkout</h1>")

    async def product(self, request: Request) -> Response:
        self.calls["product"] += 1
        sku = request.path_params["sku"]
        # The page's own call to its dependency: rejected while half-open and busy.
        name = self.registry["catalog"].call(lambda: f"Product {sku}")
        headers = {}
        if "cookie" in request.query_params:
            headers["set-cookie"] = "session=abc"
        if "private" in request.query_params:
            headers["cache-control"] = "private"
        if "public" in request.query_params:
            headers["cache-control"] = "public, max-age=60"
        return HTMLResponse(
            f"<h1>{name}</h1><p>render {self.calls['product']}</p>", headers=headers
        )

    async def stock(self, request: Request) -> Response:
        async with self.registry.async_client("inventory") as client:
            answer = await client.get(f"/inventory/{request.path_params['sku']}")
        return JSONResponse(answer.json(), status_code=answer.status_code)

    async def recommended(self, request: Request) -> Response:
        self.calls["recommended"] += 1
        self.registry["recommendations"].call(lambda: None)  # raises while open
        return PlainTextResponse("recommended")

    async def stream(self, request: Request) -> Response:
        registry = self.registry

        async def body() -> AsyncIterator[bytes]:
            yield b"part one;"
            registry["recommendations"].call(lambda: None)  # raises while open
            yield b"part two"

        return StreamingResponse(body(), media_type="text/plain")

    async def state(self, request: Request) -> Response:
        return JSONResponse(
            {
                "is_registry": request.state.breakers is self.registry,
                "lifespan_state_kept": request.state.started_by_lifespan,
            }
        )

    async def websocket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        state = websocket.scope.get("state", {})
        await websocket.send_json({"echo": text, "breakers_in_state": "breakers" in state})
        await websocket.close()


@pytest.fixture
def registry(clock) -> Registry:
    return Registry.from_settings(settings(), clock=clock)


@pytest.fixture
def shop(registry: Registry) -> Shop:
    return Shop(registry)


@pytest.fixture
def client(shop: Shop, backend: str) -> Iterator[TestClient]:
    with TestClient(shop.app, backend=backend) as test_client:
        yield test_client


@pytest.fixture(params=["handed_over", "watched"])
def either_shop(request: pytest.FixtureRequest, registry: Registry) -> Shop:
    """The shop with the middleware innermost (Starlette's ExceptionMiddleware answers
    an escaping error with the middleware's handler) and with a middleware in between
    (the middleware watches each response itself): both must behave the same."""
    return Shop(registry, watched=request.param == "watched")


@pytest.fixture
def either_client(either_shop: Shop, backend: str) -> Iterator[TestClient]:
    with TestClient(either_shop.app, backend=backend) as test_client:
        yield test_client


def trip(registry: Registry, name: str) -> None:
    """Open ``name`` the honest way: failing calls up to its threshold."""
    breaker = registry[name]
    for _ in range(breaker.config.failure_threshold or 1):
        with contextlib.suppress(ZeroDivisionError):
            breaker.call(lambda: 1 / 0)
    assert breaker.state is State.OPEN


# -- request.state, lifespan and websockets ---------------------------------------------


def test_request_state_breakers_is_the_registry(client: TestClient):
    assert client.get("/state").json() == {"is_registry": True, "lifespan_state_kept": True}


def test_lifespan_passes_through(shop: Shop, backend: str):
    with TestClient(shop.app, backend=backend) as test_client:
        assert shop.lifespan_events == ["startup"]
        assert test_client.get("/about").status_code == 200
    assert shop.lifespan_events == ["startup", "shutdown"]


def test_websocket_passes_through_untouched(client: TestClient, registry: Registry):
    registry["inventory"].force_open()  # even with breakers open: not an HTTP page
    with client.websocket_connect("/ws") as ws:
        ws.send_text("hello")
        assert ws.receive_json() == {"echo": "hello", "breakers_in_state": False}


# -- route guards -----------------------------------------------------------------------


def test_route_guard_answers_503_without_running_the_view(
    client: TestClient, shop: Shop, registry: Registry
):
    assert client.get("/checkout").status_code == 200
    trip(registry, "inventory")
    response = client.get("/checkout")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/html")
    assert "Temporarily unavailable" in response.text
    assert "inventory" not in response.text  # internal names are not the visitor's business
    assert shop.calls["checkout"] == 1
    # sub-paths match "/checkout/*" too, and JSON is given to clients that prefer it
    response = client.get("/checkout/pay", headers={"accept": "application/json"})
    assert response.status_code == 503
    assert response.json() == {
        "error": "service_unavailable",
        "detail": "A service this resource needs is temporarily unavailable.",
        "retry_after": 30,
    }
    # pages that do not need the dependency are untouched
    assert client.get("/about").text == "about us"


def test_route_guard_lets_pages_through_again_once_half_open(
    client: TestClient, shop: Shop, registry: Registry, clock
):
    trip(registry, "inventory")
    clock.advance(29)
    assert client.get("/checkout").headers["retry-after"] == "1"
    clock.advance(1)
    assert client.get("/checkout").status_code == 200  # its own call may be the probe
    assert shop.calls["checkout"] == 1


def test_forced_open_and_post_are_guarded_too(client: TestClient, registry: Registry):
    registry["inventory"].force_open()
    assert client.post("/checkout").status_code == 503
    head = client.head("/checkout")
    assert head.status_code == 503
    assert head.content == b""


def test_route_guard_with_a_real_failing_upstream(clock, backend: str, upstream: Upstream):
    registry = Registry.from_settings(settings(upstream.url), clock=clock)
    shop = Shop(registry)
    with TestClient(shop.app, backend=backend) as client:
        assert client.get("/stock/SKU-1").json()["sku"] == "SKU-1"
        upstream.set_mode("errors", status=503)
        assert client.get("/stock/SKU-1").status_code == 503  # the upstream's own 503
        assert client.get("/stock/SKU-1").status_code == 503
        assert registry["inventory"].state is State.OPEN
        connections = upstream.stats()["connections"]
        assert client.get("/checkout").status_code == 503  # answered by the guard
        # the outbound call itself is rejected without a socket; it escapes the view
        # and becomes the same 503, never a 500
        response = client.get("/stock/SKU-1", headers={"accept": "application/json"})
        assert response.status_code == 503
        assert response.json()["error"] == "service_unavailable"
        assert upstream.stats()["connections"] == connections
        upstream.set_mode("healthy")
        clock.advance(30)
        assert client.get("/stock/SKU-1").status_code == 200  # the probe closes it
        assert registry["inventory"].state is State.CLOSED
        assert client.get("/checkout").status_code == 200


# -- stale pages ------------------------------------------------------------------------


def test_last_good_page_is_served_while_open(
    client: TestClient, shop: Shop, registry: Registry, clock
):
    first = client.get("/products/1")
    assert first.status_code == 200
    registry["catalog"].force_open()
    clock.advance(5)
    stale = client.get("/products/1")
    assert stale.status_code == 200
    assert stale.text == first.text
    assert stale.headers["x-breakerpanel"] == "stale"
    assert stale.headers["age"] == "5"
    assert stale.headers["content-length"] == str(len(first.content))
    assert shop.calls["product"] == 1
    # another page (another query string) was never kept
    assert client.get("/products/1?page=2").status_code == 503
    assert client.get("/products/2").status_code == 503
    # HEAD gets the headers of the kept copy, no body
    head = client.head("/products/1")
    assert (head.status_code, head.content) == (200, b"")
    # not after stale_for
    clock.advance(56)
    assert client.get("/products/1").status_code == 503


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?cookie=1", {}),  # the response sets a cookie
        ("?private=1", {}),  # Cache-Control: private
        ("", {"authorization": "Bearer alice"}),  # the request was authenticated
        ("", {"cookie": "session=alice"}),  # the request carried cookies...
    ],
)
def test_personal_pages_are_never_kept(
    client: TestClient, registry: Registry, query: str, headers: dict[str, str]
):
    assert client.get(f"/products/1{query}", headers=headers).status_code == 200
    registry["catalog"].force_open()
    response = client.get(f"/products/1{query}")
    assert response.status_code == 503


def test_a_page_requested_with_cookies_is_kept_when_marked_public(
    client: TestClient, registry: Registry
):
    kept = client.get("/products/1?public=1", headers={"cookie": "theme=dark"})
    registry["catalog"].force_open()
    response = client.get("/products/1?public=1")
    assert response.status_code == 200
    assert response.text == kept.text


def test_post_responses_are_never_kept(client: TestClient, registry: Registry):
    assert client.post("/products/1").status_code == 200
    registry["catalog"].force_open()
    assert client.get("/products/1").status_code == 503


def test_a_rejected_call_inside_the_view_serves_the_kept_page(
    either_client: TestClient, either_shop: Shop, registry: Registry, clock
):
    client = either_client
    kept = client.get("/products/7")
    trip(registry, "catalog")
    clock.advance(30)  # half-open: the page passes the guard...
    probe = registry["catalog"].attempt(detached=True)
    probe.__enter__()  # ...but the only probe slot is taken, so the view's call is rejected
    try:
        response = client.get("/products/7")
    finally:
        probe.__exit__(None, None, None)
    assert response.status_code == 200
    assert response.headers["x-breakerpanel"] == "stale"
    assert response.headers["age"] == "30"
    assert response.text == kept.text
    assert either_shop.calls["product"] == 2  # the view ran, and its rejection was answered
    # The stale answer went out as the page's response, but is not kept as a fresh copy:
    # the copy served later is still the first one, 40 seconds old, with one Age header.
    registry["catalog"].force_open()
    clock.advance(10)
    later = client.get("/products/7")
    assert later.headers["x-breakerpanel"] == "stale"
    assert later.headers.get_list("age") == ["40"]
    assert later.text == kept.text


# -- a CircuitOpenError escaping the app --------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [("text/html", "text/html"), ("application/json", "application/json")],
)
def test_an_escaping_circuit_open_error_becomes_the_503(
    either_client: TestClient, registry: Registry, accept: str, content_type: str
):
    client = either_client
    assert client.get("/recommended").status_code == 200
    trip(registry, "recommendations")
    response = client.get("/recommended", headers={"accept": accept})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "20"
    assert response.headers["content-type"].startswith(content_type)


def test_after_the_response_started_the_stream_is_not_corrupted(
    either_shop: Shop, registry: Registry, backend: str, caplog: pytest.LogCaptureFixture
):
    shop = either_shop
    trip(registry, "recommendations")
    chunks: list[bytes] = []
    statuses: list[int] = []

    def read_stream(client: TestClient) -> None:
        with client.stream("GET", "/stream") as response:
            statuses.append(response.status_code)
            chunks.extend(response.iter_bytes())

    with TestClient(shop.app, backend=backend) as client, pytest.raises(CircuitOpenError):
        read_stream(client)
    assert statuses == [200]
    assert b"".join(chunks) == b"part one;"  # no 503 page appended, no second start
    assert "after the response started" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records if r.name == "breaker_starlette")


@pytest.mark.parametrize("handled", [CircuitOpenError, BreakerError])
def test_the_apps_own_handler_for_the_error_keeps_answering(
    registry: Registry, backend: str, handled: type[Exception]
):
    async def own(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"ours: {type(exc).__name__}", status_code=429)

    shop = Shop(registry)
    shop.app.add_exception_handler(handled, own)
    trip(registry, "recommendations")
    with TestClient(shop.app, backend=backend) as client:
        response = client.get("/recommended")
    assert (response.status_code, response.text) == (429, "ours: CircuitOpenError")


# -- construction -----------------------------------------------------------------------


def test_settings_and_clock_instead_of_a_registry(clock, backend: str):
    app = Starlette(routes=[Route("/checkout", lambda request: PlainTextResponse("ok"))])
    app.add_middleware(BreakerMiddleware, settings=settings(), clock=clock)
    with TestClient(app, backend=backend) as client:
        assert client.get("/checkout").status_code == 200
    middleware = BreakerMiddleware(app, settings=settings(), clock=clock)
    assert middleware.registry.names == ("inventory", "catalog", "recommendations")
    assert middleware.registry.clock is clock


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "pass exactly one of registry="),
        ({"registry": Registry(), "settings": {}}, "pass exactly one of registry="),
        ({"registry": Registry(), "clock": lambda: 0.0}, "clock= only applies with settings="),
        ({"registry": {"dependencies": {}}}, "registry= expects a breaker_core.Registry"),
    ],
)
def test_construction_errors_name_the_fix(kwargs: dict[str, object], message: str):
    with pytest.raises(ConfigurationError, match=message):
        BreakerMiddleware(PlainTextResponse("x"), **kwargs)  # type: ignore[arg-type]


def test_invalid_settings_fail_at_startup(backend: str):
    app = Starlette(routes=[])
    app.add_middleware(
        BreakerMiddleware, settings={"dependencies": {"inventory": {"window": "10x"}}}
    )
    with pytest.raises(ConfigurationError) as raised, TestClient(app, backend=backend):
        pass
    assert str(raised.value) == (
        'BREAKERS["dependencies"]["inventory"]["window"]: expected a positive duration '
        'like "10s", got "10x"'
    )


def test_json_body_of_the_503_is_valid_json_with_content_length(
    client: TestClient, registry: Registry
):
    registry["inventory"].force_open()
    response = client.get("/checkout", headers={"accept": "application/json"})
    assert int(response.headers["content-length"]) == len(response.content)
    assert json.loads(response.content)["retry_after"] == 30


def test_the_raw_key_reads_the_first_host_and_no_cookie():
    from breaker_starlette.responses import page_guard, raw_key

    def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
        return {"type": "http", "scheme": "http", "path": "/p", "headers": list(headers)}

    assert raw_key(scope((b"host", b"a.example"), (b"host", b"b.example"))) == raw_key(
        scope((b"host", b"a.example"))
    )
    assert raw_key(scope((b"host", b"a.example"))) != raw_key(scope((b"host", b"b.example")))
    bare = {"type": "http", "path": "/p", "headers": [], "server": ["10.0.0.1", 80]}
    assert raw_key(bare) != raw_key({**bare, "server": ["10.0.0.2", 80]})
    # Cookies pick no variant in Starlette (no key cookies): the raw key needs none.
    assert page_guard(Registry.from_settings({})).settings.key_cookies == ()
    assert raw_key(scope((b"cookie", b"lang=fr"))) == raw_key(scope((b"cookie", b"lang=de")))


def test_with_the_raw_key_every_request_gets_its_own_kept_copy(clock: Any):
    from breaker_starlette.responses import page_guard, page_request, raw_key
    from tests.pagekeys import check_own_copies, registry

    def make(host: str, path: str, cookie: str | None) -> dict[str, object]:
        headers = [(b"host", host.encode()), (b"accept", b"text/html")]
        if cookie is not None:
            headers.append((b"cookie", cookie.encode()))
        return {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "root_path": "",
            "query_string": b"",
            "headers": headers,
        }

    check_own_copies(page_guard(registry(clock)), make, page_request, raw_key)
