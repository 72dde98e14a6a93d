"""The breaker transports' default TLS context: made once per process, still verifying.

``registry.client(name)`` is opened per request in the docs' examples; building a
new SSL context for each (what ``httpx.HTTPTransport()`` does) loads the CA bundle
every time. The transports share one, and it must verify exactly as httpx's own
default does, ``SSL_CERT_FILE`` included. The HTTPS server is real, on 127.0.0.1,
with a certificate made by the ``openssl`` command.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from breaker_core import Registry  # noqa: E402
from breaker_http.httpx_transport import (  # noqa: E402
    AsyncBreakerTransport,
    BreakerTransport,
    shared_ssl_context,
)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"stock": 3}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (its key next to it, ``.key``)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed (it makes the test certificate)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "server.pem", folder / "server.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert


@pytest.fixture(scope="module")
def https_url(certificate: Path) -> Iterator[str]:
    """A real HTTPS server on 127.0.0.1 answering every GET."""
    server = HTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, certificate.with_suffix(".key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _registry(url: str) -> Registry:
    return Registry.from_settings({"dependencies": {"inventory": {"url": url, "timeout": "5s"}}})


def test_one_context_for_every_default_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    registry = _registry("https://inventory.invalid")
    contexts = {
        id(BreakerTransport(registry).transport._pool._ssl_context),  # type: ignore[attr-defined]
        id(BreakerTransport(registry).transport._pool._ssl_context),  # type: ignore[attr-defined]
        id(AsyncBreakerTransport(registry).transport._pool._ssl_context),  # type: ignore[attr-defined]
    }
    assert contexts == {id(shared_ssl_context())}
    assert shared_ssl_context().verify_mode == ssl.CERT_REQUIRED
    assert shared_ssl_context().check_hostname


def test_an_unknown_certificate_is_still_refused(
    https_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    registry = _registry(https_url)
    with registry.client("inventory") as client, pytest.raises(httpx.ConnectError) as caught:
        client.get("/SKU-1")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


def test_ssl_cert_file_is_honoured_like_httpx_does(
    https_url: str, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    registry = _registry(https_url)
    with registry.client("inventory") as client:
        assert client.get("/SKU-1").json() == {"stock": 3}

    async def fetch() -> int:
        async with registry.async_client("inventory") as client:
            return (await client.get("/SKU-1")).status_code

    assert asyncio.run(fetch()) == 200
    assert shared_ssl_context() is shared_ssl_context()
    monkeypatch.delenv("SSL_CERT_FILE")
    assert shared_ssl_context() is not None
    with registry.client("inventory") as client, pytest.raises(httpx.ConnectError):
        client.get("/SKU-1")  # the bundle without the test certificate again
