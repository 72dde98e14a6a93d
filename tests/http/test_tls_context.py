"""The breaker transports' default TLS context: made once per process, still verifying.

``registry.client(name)`` is opened per request in the docs' examples; building a
new SSL context for each (what ``httpx.HTTPTransport()`` does) loads the CA bundle
every time. The transports share one, and it must verify exactly as httpx's own
default does, ``SSL_CERT_FILE`` included. The HTTPS server is real, on 127.0.0.1,
with a certificate made by the ``openssl`` command (fixtures in ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from breaker_core import Registry  # noqa: E402
from breaker_http.httpx_transport import (  # noqa: E402
    AsyncBreakerTransport,
    BreakerTransport,
    shared_ssl_context,
)


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
