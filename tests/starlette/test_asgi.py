"""BreakerMiddleware at the ASGI level: pass-through, no buffering, a real server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse, Response, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from breaker_core import CircuitOpenError, Registry  # noqa: E402
from breaker_core.web.stale import MAX_BODY  # noqa: E402
from breaker_starlette import BreakerMiddleware  # noqa: E402
from tests.integrations.drivers import uvicorn_server  # noqa: E402

Message = dict[str, Any]

SETTINGS = {
    "dependencies": {
        "catalog": {"routes": ["/products/*"], "stale_for": 60},
        "recommendations": {"failure_threshold": 1},
    }
}


def http_scope(path: str, method: str = "GET") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


@pytest.fixture
def registry(clock) -> Registry:
    return Registry.from_settings(SETTINGS, clock=clock)


@pytest.mark.parametrize("path", ["/about", "/products/1"])
async def test_body_chunks_are_forwarded_at_once_not_buffered(registry: Registry, path: str):
    """Each chunk reaches the server before the app sends the next one."""
    sent: list[Message] = []
    seen_by_server_in_time: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for index in range(3):
            chunk = f"chunk {index};".encode()
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            seen_by_server_in_time.append(sent[-1].get("body") == chunk)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def send(message: Message) -> None:
        sent.append(message)

    await BreakerMiddleware(app, registry=registry)(http_scope(path), receive, send)
    assert seen_by_server_in_time == [True, True, True]
    assert [m["type"] for m in sent] == ["http.response.start"] + ["http.response.body"] * 4
    kept = path.startswith("/products/")
    registry["catalog"].force_open()
    answer: list[Message] = []

    async def capture(message: Message) -> None:
        answer.append(message)

    await BreakerMiddleware(app, registry=registry)(http_scope(path), receive, capture)
    if kept:  # the guarded page was collected on the way (while forwarded) and kept
        assert answer[1]["body"] == b"chunk 0;chunk 1;chunk 2;"
    else:  # the unguarded one ran again
        assert len(answer) == 5


async def test_a_page_too_big_to_keep_is_forwarded_whole_and_not_kept(registry: Registry):
    chunk = b"x" * (MAX_BODY // 2 + 1)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": chunk, "more_body": False})

    received = bytearray()

    async def send(message: Message) -> None:
        received.extend(message.get("body", b""))

    await BreakerMiddleware(app, registry=registry)(http_scope("/products/1"), receive, send)
    assert len(received) == 2 * len(chunk)
    registry["catalog"].force_open()
    statuses: list[int] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await BreakerMiddleware(app, registry=registry)(http_scope("/products/1"), receive, capture)
    assert statuses == [503]


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
async def test_other_scopes_pass_straight_through(registry: Registry, scope_type: str):
    seen: list[tuple[Any, Any, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    scope = {"type": scope_type, "asgi": {"version": "3.0"}, "path": "/products/1"}
    registry["catalog"].force_open()
    await BreakerMiddleware(app, registry=registry)(scope, receive, send)
    assert seen == [(scope, receive, send)]  # the same objects, untouched
    assert scope == {"type": scope_type, "asgi": {"version": "3.0"}, "path": "/products/1"}


async def test_started_response_then_error_is_re_raised_without_a_second_start(
    registry: Registry, caplog: pytest.LogCaptureFixture
):
    registry["recommendations"].force_open()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"half", "more_body": True})
        registry["recommendations"].call(lambda: None)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(CircuitOpenError):
        await BreakerMiddleware(app, registry=registry)(http_scope("/page"), receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["more_body"] is True  # the response is left unfinished, never "completed"
    assert "GET /page" in caplog.text
    assert "after the response started" in caplog.text


async def test_error_before_start_is_answered_after_a_debug_message(registry: Registry):
    """Messages that are not the response start (TestClient's debug info) do not count."""
    registry["recommendations"].force_open()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.debug", "info": {}})
        registry["recommendations"].call(lambda: None)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await BreakerMiddleware(app, registry=registry)(http_scope("/page"), receive, send)
    assert sent[1]["status"] == 503


async def test_state_is_added_to_an_existing_state_dict(registry: Registry):
    scope = http_scope("/page")
    scope["state"] = {"db": "pool"}
    state_seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        state_seen.append(scope["state"])
        await PlainTextResponse("ok")(scope, receive, send)

    async def send(message: Message) -> None:
        pass

    await BreakerMiddleware(app, registry=registry)(scope, receive, send)
    assert state_seen == [{"db": "pool", "breakers": registry}]


# -- a real server ------------------------------------------------------------------------


@pytest.mark.slow
def test_under_uvicorn_the_client_sees_a_broken_response_not_a_corrupt_one(
    registry: Registry, caplog: pytest.LogCaptureFixture
):
    async def stream(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"part one;"
            await asyncio.sleep(0)
            registry["recommendations"].call(lambda: None)
            yield b"part two"

        return StreamingResponse(body(), media_type="text/plain")

    async def checkout(request: Request) -> Response:
        registry["recommendations"].call(lambda: None)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/stream", stream), Route("/checkout", checkout)])
    app.add_middleware(BreakerMiddleware, registry=registry)
    registry["recommendations"].force_open()
    with (
        uvicorn_server(app, log_level="critical") as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}", trust_env=False) as client,
    ):
        assert client.get("/checkout").status_code == 503  # before the start: the 503
        received = bytearray()
        statuses: list[int] = []

        def read_stream() -> None:
            with client.stream("GET", "/stream") as response:
                statuses.append(response.status_code)
                for chunk in response.iter_bytes():
                    received.extend(chunk)

        with pytest.raises(httpx.RemoteProtocolError):
            read_stream()
        assert statuses == [200]
        assert bytes(received) == b"part one;"
        assert client.get("/checkout").status_code == 503  # the server is still fine
    assert any(
        record.name == "breaker_starlette" and record.levelno == logging.ERROR
        for record in caplog.records
    )
