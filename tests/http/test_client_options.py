"""``registry.client(name, verify=..., limits=..., ...)``: httpx's transport options take effect.

httpx uses ``verify``, ``cert``, ``trust_env``, ``http1``, ``http2`` and ``limits`` to
build its default transport; the ready clients build that transport themselves
(to guard it), so they must honour them, or refuse with a clear error when they
cannot (with the caller's own ``transport=``). The servers are real, on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from breaker_core import CircuitOpenError, ConfigurationError, Registry  # noqa: E402
from breaker_http.httpx_transport import shared_ssl_context  # noqa: E402


def _registry(url: str) -> Registry:
    return Registry.from_settings({"dependencies": {"inventory": {"url": url, "timeout": "5s"}}})


def _async_status(registry: Registry, **kwargs: object) -> int:
    async def fetch() -> int:
        async with registry.async_client("inventory", **kwargs) as client:
            return (await client.get("/SKU-1")).status_code

    return asyncio.run(fetch())


@pytest.fixture(autouse=True)
def _no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_verify_false_reaches_a_self_signed_service_and_is_guarded(https_url: str) -> None:
    registry = _registry(https_url)
    with registry.client("inventory", verify=False) as client:
        assert client.get("/SKU-1").json() == {"stock": 3}
        registry["inventory"].force_open()
        with pytest.raises(CircuitOpenError):
            client.get("/SKU-1")
    registry["inventory"].reset()
    assert _async_status(registry, verify=False) == 200
    assert shared_ssl_context().verify_mode == ssl.CERT_REQUIRED  # the shared one untouched


def test_verify_with_an_ssl_context_is_used(https_url: str, certificate: Path) -> None:
    context = ssl.create_default_context(cafile=str(certificate))
    registry = _registry(https_url)
    with registry.client("inventory", verify=context) as client:
        assert client.get("/SKU-1").status_code == 200
    assert _async_status(registry, verify=context) == 200


def test_trust_env_false_ignores_ssl_cert_file(
    https_url: str, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    registry = _registry(https_url)
    with registry.client("inventory") as client:
        assert client.get("/SKU-1").status_code == 200  # the variable is honoured
    with (
        registry.client("inventory", trust_env=False) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get("/SKU-1")  # ... unless the caller said not to trust the environment


def test_the_defaults_still_share_one_tls_context() -> None:
    registry = _registry("https://inventory.invalid")
    contexts = set()
    for kwargs in ({}, {"verify": True}, {"limits": httpx.Limits(max_connections=3)}):
        with registry.client("inventory", **kwargs) as client:
            contexts.add(id(client._transport.transport._pool._ssl_context))  # type: ignore[attr-defined]
    assert contexts == {id(shared_ssl_context())}


class _Slow(BaseHTTPRequestHandler):
    """Sends its headers, then the body only once the test lets it go."""

    release = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.flush()
        self.release.wait(5)
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_url() -> Iterator[str]:
    """A real HTTP server whose body waits for ``_Slow.release``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    _Slow.release.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _Slow.release.set()
    server.shutdown()
    server.server_close()


def test_limits_are_applied(slow_url: str) -> None:
    registry = _registry(slow_url)
    limits = httpx.Limits(max_connections=1)
    with (
        registry.client("inventory", limits=limits) as client,
        client.stream("GET", "/a") as held,  # holds the only connection
    ):
        with pytest.raises(httpx.PoolTimeout):
            client.get("/b", timeout=httpx.Timeout(5.0, pool=0.05))
        _Slow.release.set()
        assert held.read() == b"ok"
    assert registry["inventory"].snapshot()["failures"] == 1  # the pool timeout, guarded


@pytest.mark.parametrize(
    "option",
    [
        {"verify": False},
        {"cert": ("client.pem", "client.key")},
        {"http2": True},
        {"http1": False},
        {"limits": httpx.Limits(max_connections=1)},
    ],
    ids=lambda option: next(iter(option)),
)
def test_an_option_for_the_default_transport_with_your_own_transport_is_refused(
    option: dict[str, object],
) -> None:
    registry = _registry("http://inventory.invalid")
    name = next(iter(option))
    with pytest.raises(ConfigurationError, match=f"{name}=.*transport="):
        registry.client("inventory", transport=httpx.HTTPTransport(), **option)
    with pytest.raises(ConfigurationError, match=f"{name}=.*transport="):
        registry.async_client("inventory", transport=httpx.AsyncHTTPTransport(), **option)
