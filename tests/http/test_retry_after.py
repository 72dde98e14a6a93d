"""A 429/503 with ``Retry-After`` from a real HTTP dependency may set the open wait."""

from __future__ import annotations

import asyncio
import email.utils
import http.server
import threading
from collections.abc import Iterator

import pytest

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")

from breaker_core import BreakerConfig, CircuitOpenError, Registry, State  # noqa: E402
from breaker_http.policy import requested_wait  # noqa: E402


class Answers(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the server's current status and Retry-After header."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, Server)
        body = b"busy"
        self.send_response(server.status)
        if server.retry_after is not None:
            self.send_header("Retry-After", server.retry_after)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    status = 503
    retry_after: str | None = "45"


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def registry_for(server: Server, clock, **options: object) -> Registry:
    host, port = server.server_address[:2]
    settings = {
        "url": f"http://{host}:{port}",
        "failure_threshold": 1,
        "reset_timeout": 10,
        "max_reset_timeout": 120,
        "honor_retry_after": True,
        "failure_statuses": [429, 500, 502, 503, 504],
        **options,
    }
    return Registry.from_settings({"dependencies": {"api": settings}}, clock=clock)


def call_httpx(registry: Registry) -> int:
    with registry.client("api") as client:
        return int(client.get("/x").status_code)


def call_httpx_async(registry: Registry) -> int:
    async def go() -> int:
        async with registry.async_client("api") as client:
            return int((await client.get("/x")).status_code)

    return asyncio.run(go())


def call_requests(registry: Registry) -> int:
    with registry.session("api") as session:
        return int(session.get(f"{registry['api'].config.url}/x").status_code)


CALLERS = [call_httpx, call_httpx_async, call_requests]


@pytest.mark.parametrize("call", CALLERS, ids=["httpx", "httpx-async", "requests"])
@pytest.mark.parametrize("status", [429, 503])
def test_the_dependencys_wait_becomes_the_open_wait(server, clock, call, status):
    server.status = status
    registry = registry_for(server, clock)
    assert call(registry) == status
    breaker = registry["api"]
    assert breaker.state is State.OPEN
    assert breaker.retry_after == 45
    clock.advance(44)
    with pytest.raises(CircuitOpenError):
        call(registry)
    clock.advance(1)
    server.status, server.retry_after = 200, None
    assert call(registry) == 200
    assert breaker.state is State.CLOSED


@pytest.mark.parametrize("call", CALLERS, ids=["httpx", "httpx-async", "requests"])
def test_capped_and_ignored_when_off_or_on_other_statuses(server, clock, call):
    server.retry_after = "100000"
    registry = registry_for(server, clock)
    call(registry)
    assert registry["api"].retry_after == 120  # max_reset_timeout
    server.status = 500  # a 500's Retry-After is not about load
    registry = registry_for(server, clock)
    call(registry)
    assert registry["api"].retry_after == 10
    server.status = 503
    registry = registry_for(server, clock, honor_retry_after=False)
    call(registry)
    assert registry["api"].retry_after == 10


def test_the_header_forms():
    config = BreakerConfig(honor_retry_after=True, max_reset_timeout=60)
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 90, usegmt=True)
    assert requested_wait(config, 503, "120") == 120.0
    assert requested_wait(config, 429, " 7 ") == 7.0
    assert requested_wait(config, 503, date, now=now) == pytest.approx(90, abs=1)
    past = email.utils.formatdate(now - 90, usegmt=True)
    assert requested_wait(config, 503, past, now=now) == 0.0
    for junk in ("", "soon", "-5", "1.5", "٣", "Wed, 99 Foo 2024 00:00:00 GMT", None):
        assert requested_wait(config, 503, junk, now=now) is None, junk
    assert requested_wait(config, 502, "120") is None
    assert requested_wait(BreakerConfig(), 503, "120") is None
