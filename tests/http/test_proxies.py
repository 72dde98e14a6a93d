"""Requests sent through a proxy are guarded like direct ones (a real forward proxy).

httpx mounts a proxy transport for ``proxy=`` and, with ``trust_env``, for the
``HTTP_PROXY`` / ``ALL_PROXY`` family; ``mounts=`` adds the caller's own. A request
matching one of those goes through that transport, not the client's main one, so
each must be guarded too. requests hands its proxies to the mounted adapter. The
upstream and the proxy are real HTTP servers on 127.0.0.1; the proxy forwards
absolute-URI requests (``GET http://host:port/path``), enough for ``http://``.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")

from breaker_core import CircuitOpenError, Registry  # noqa: E402

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"stock": 3}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ForwardProxy(BaseHTTPRequestHandler):
    """Forwards ``GET http://host:port/path`` to the host and relays the answer."""

    server: _ProxyServer

    def do_GET(self) -> None:
        target = urllib.parse.urlsplit(self.path)
        self.server.seen.append(self.path)
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=5)
        try:
            upstream.request("GET", target.path or "/")
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Via", "1.1 test-proxy")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[str]


def _serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 answering every GET with 200."""
    yield from _serve(ThreadingHTTPServer(("127.0.0.1", 0), _Upstream))


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    """A real forward proxy on 127.0.0.1: its URL and the request targets it forwarded."""
    server = _ProxyServer(("127.0.0.1", 0), _ForwardProxy)
    server.seen = []
    for url in _serve(server):
        yield url, server.seen


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable set, whatever the machine has."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def _registry(url: str) -> Registry:
    return Registry.from_settings({"dependencies": {"inventory": {"url": url, "timeout": "5s"}}})


def _sync_get(registry: Registry, **kwargs: object) -> httpx.Response:
    with registry.client("inventory", **kwargs) as client:
        return client.get("/SKU-1")


def _async_get(registry: Registry, **kwargs: object) -> httpx.Response:
    async def fetch() -> httpx.Response:
        async with registry.async_client("inventory", **kwargs) as client:
            return await client.get("/SKU-1")

    return asyncio.run(fetch())


@pytest.mark.parametrize("get", [_sync_get, _async_get], ids=["sync", "async"])
@pytest.mark.parametrize("how", ["environment", "proxy="])
def test_a_proxied_request_is_guarded(
    get: object,
    how: str,
    upstream_url: str,
    proxy: tuple[str, list[str]],
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    proxy_url, seen = proxy
    kwargs: dict[str, object] = {}
    if how == "environment":
        no_proxy_env.setenv("HTTP_PROXY", proxy_url)
    else:
        kwargs["proxy"] = proxy_url
    registry = _registry(upstream_url)
    assert get(registry, **kwargs).headers["via"] == "1.1 test-proxy"  # type: ignore[operator]
    assert seen == [f"{upstream_url}/SKU-1"]
    assert registry["inventory"].snapshot()["successes"] == 1  # counted, through the proxy
    registry["inventory"].force_open()
    with pytest.raises(CircuitOpenError):
        get(registry, **kwargs)  # type: ignore[operator]
    assert len(seen) == 1  # rejected before reaching the proxy


@pytest.mark.parametrize("get", [_sync_get, _async_get], ids=["sync", "async"])
def test_no_proxy_still_goes_direct_and_guarded(
    get: object, upstream_url: str, proxy: tuple[str, list[str]], no_proxy_env: pytest.MonkeyPatch
) -> None:
    proxy_url, seen = proxy
    no_proxy_env.setenv("HTTP_PROXY", proxy_url)
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    registry = _registry(upstream_url)
    assert "via" not in get(registry).headers  # type: ignore[operator]
    assert seen == []
    registry["inventory"].force_open()
    with pytest.raises(CircuitOpenError):
        get(registry)  # type: ignore[operator]


def test_trust_env_false_ignores_the_proxy_variables(
    upstream_url: str, proxy: tuple[str, list[str]], no_proxy_env: pytest.MonkeyPatch
) -> None:
    no_proxy_env.setenv("HTTP_PROXY", proxy[0])
    registry = _registry(upstream_url)
    assert "via" not in _sync_get(registry, trust_env=False).headers
    assert proxy[1] == []


@pytest.mark.parametrize("get", [_sync_get, _async_get], ids=["sync", "async"])
def test_a_mounted_transport_is_guarded(
    get: object, upstream_url: str, proxy: tuple[str, list[str]], no_proxy_env: pytest.MonkeyPatch
) -> None:
    proxy_url, seen = proxy
    kind = httpx.HTTPTransport if get is _sync_get else httpx.AsyncHTTPTransport
    mounts = {"http://127.0.0.1": kind(proxy=proxy_url)}
    registry = _registry(upstream_url)
    assert get(registry, mounts=mounts).status_code == 200  # type: ignore[operator]
    assert seen == [f"{upstream_url}/SKU-1"]
    registry["inventory"].force_open()
    with pytest.raises(CircuitOpenError):
        get(registry, mounts={"http://127.0.0.1": kind(proxy=proxy_url)})  # type: ignore[operator]
    assert len(seen) == 1


def test_requests_proxies_go_through_the_adapter(
    upstream_url: str, proxy: tuple[str, list[str]], no_proxy_env: pytest.MonkeyPatch
) -> None:
    proxy_url, seen = proxy
    no_proxy_env.setenv("HTTP_PROXY", proxy_url)
    registry = _registry(upstream_url)
    session = registry.session("inventory")
    assert session.get(f"{upstream_url}/SKU-1").headers["via"] == "1.1 test-proxy"
    explicit = {"http": proxy_url}
    assert session.get(f"{upstream_url}/SKU-2", proxies=explicit).status_code == 200
    assert seen == [f"{upstream_url}/SKU-1", f"{upstream_url}/SKU-2"]
    assert registry["inventory"].snapshot()["successes"] == 2
    registry["inventory"].force_open()
    with pytest.raises(CircuitOpenError):
        session.get(f"{upstream_url}/SKU-3")
    with pytest.raises(CircuitOpenError):
        session.get(f"{upstream_url}/SKU-4", proxies=explicit)
    assert len(seen) == 2
    session.close()
