"""What is recorded when a body fails after the headers arrived (a real socket server)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")

from breaker_core import Registry  # noqa: E402


class TruncatingServer:
    """Answers every request with headers promising 1000 bytes, sends 10, then hangs up."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)  # so the accept loop notices it should stop
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.stopping = False

    def _serve(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(
                    f"HTTP/1.1 {self.status} X\r\nContent-Length: 1000\r\n\r\n".encode()
                    + b"0123456789"
                )

    def __enter__(self) -> TruncatingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def server() -> Iterator[TruncatingServer]:
    with TruncatingServer() as running:
        yield running


@pytest.fixture
def registry(server: TruncatingServer, clock) -> Registry:
    return Registry.from_settings(
        {"dependencies": {"files": {"url": server.url, "timeout": 5}}}, clock=clock
    )


def counts(registry: Registry) -> tuple[int, int]:
    snap = registry["files"].snapshot()
    return snap["successes"], snap["failures"]


def test_httpx_read_failing_midway_is_a_failure(registry):
    with registry.client("files") as client, pytest.raises(httpx.RemoteProtocolError):
        client.get("/big")
    assert counts(registry) == (0, 1)


def test_httpx_streamed_body_failing_midway_is_a_failure(registry):
    with registry.client("files") as client, client.stream("GET", "/big") as response:
        assert response.status_code == 200
        assert counts(registry) == (0, 0)  # not settled at the headers
        with pytest.raises(httpx.RemoteProtocolError):
            for _ in response.iter_bytes():
                pass
    assert counts(registry) == (0, 1)


def test_httpx_stream_closed_early_is_a_success(registry):
    with registry.client("files") as client:
        with client.stream("GET", "/big") as response:
            assert response.status_code == 200
        assert counts(registry) == (1, 0)
        assert registry["files"].snapshot()["in_flight"] == 0  # the slot was given back


async def test_httpx_async_read_failing_midway_is_a_failure(registry):
    async with registry.async_client("files") as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/big")
    assert counts(registry) == (0, 1)


def test_requests_read_failing_midway_is_a_failure(registry):
    session = registry.session("files")
    with pytest.raises(requests.RequestException):
        session.get(f"{registry['files'].config.url}/big")
    session.close()
    assert counts(registry) == (0, 1)


def test_requests_stream_true_is_settled_at_the_headers(registry):
    session = registry.session("files")
    response = session.get(f"{registry['files'].config.url}/big", stream=True)
    assert counts(registry) == (1, 0)  # documented: settled when the headers arrive
    with pytest.raises(requests.RequestException):
        response.content  # noqa: B018
    response.close()
    session.close()
    assert counts(registry) == (1, 0)


def test_httpx_bulkhead_slot_is_held_until_the_body_is_done(server, clock):
    registry = Registry.from_settings(
        {"dependencies": {"files": {"url": server.url, "max_concurrent": 1}}}, clock=clock
    )
    with registry.client("files") as client:
        with client.stream("GET", "/big") as response:
            assert registry["files"].snapshot()["in_flight"] == 1
            assert response.status_code == 200
        assert registry["files"].snapshot()["in_flight"] == 0


def test_async_stream_cancelled_gives_the_slot_back(server, clock):
    registry = Registry.from_settings(
        {"dependencies": {"files": {"url": server.url, "max_concurrent": 1}}}, clock=clock
    )

    async def main() -> None:
        async with (
            registry.async_client("files") as client,
            client.stream("GET", "/big") as response,
        ):
            assert registry["files"].snapshot()["in_flight"] == 1
            assert response.status_code == 200

    asyncio.run(main())
    assert registry["files"].snapshot()["in_flight"] == 0
