"""``"per": "host"``: one breaker per host of a pool, through all three outbound paths.

Two real upstream servers on the same port of two loopback addresses (127.0.0.1
and 127.0.0.2) form a pool that one dependency names with a wildcard host; one
of them fails. With ``per`` the bad host's breaker opens and the good host keeps
serving; without it, one breaker opens for both (the control case).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")

from breaker_core import CircuitOpenError, ConfigurationError, Registry, State  # noqa: E402
from breaker_http import AsyncBreakerTransport, BreakerAdapter, BreakerTransport  # noqa: E402
from example_apps.upstream import Upstream  # noqa: E402


def _httpx(registry: Registry) -> tuple[Callable[[str], int], Callable[[], None]]:
    client = httpx.Client(transport=BreakerTransport(registry))
    return (lambda url: client.get(url).status_code), client.close


def _httpx_async(registry: Registry) -> tuple[Callable[[str], int], Callable[[], None]]:
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=AsyncBreakerTransport(registry))

    def close() -> None:
        loop.run_until_complete(client.aclose())
        loop.close()

    return (lambda url: loop.run_until_complete(client.get(url)).status_code), close


def _requests(registry: Registry) -> tuple[Callable[[str], int], Callable[[], None]]:
    session = requests.Session()
    session.mount("http://", BreakerAdapter(registry))
    return (lambda url: session.get(url).status_code), session.close


CLIENTS = {"httpx": _httpx, "httpx-async": _httpx_async, "requests": _requests}


@pytest.fixture
def pool() -> Iterator[tuple[Upstream, Upstream]]:
    with Upstream() as good:
        try:
            bad = Upstream(host="127.0.0.2", port=good.port)
            bad.start()
        except OSError as exc:  # pragma: no cover - loopback without 127.0.0.2
            pytest.skip(f"cannot serve on 127.0.0.2:{good.port}: {exc}")
        try:
            yield good, bad
        finally:
            bad.stop()


def _registry(port: int, clock: object, **options: object) -> Registry:
    settings = {
        "dependencies": {
            "pool": {
                "url": f"http://*:{port}",
                "timeout": "2s",
                "failure_threshold": 3,
                "reset_timeout": 30,
                **options,
            }
        }
    }
    return Registry.from_settings(settings, clock=clock)


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_one_bad_host_opens_only_its_own_breaker(kind, pool, clock):
    good, bad = pool
    registry = _registry(good.port, clock, per="host")
    get, close = CLIENTS[kind](registry)
    try:
        bad.set_mode("errors", status=503)
        good_url = f"http://127.0.0.1:{good.port}/inventory/sku-1"
        bad_url = f"http://127.0.0.2:{good.port}/inventory/sku-1"
        assert [get(bad_url) for _ in range(3)] == [503, 503, 503]
        bad.reset_stats()
        with pytest.raises(CircuitOpenError) as caught:
            get(bad_url)
        assert caught.value.name == f"pool[127.0.0.2:{good.port}]"
        assert bad.stats()["connections"] == 0  # rejected before any connection
        assert [get(good_url) for _ in range(5)] == [200] * 5
        assert registry.for_key("pool", f"127.0.0.2:{good.port}").state is State.OPEN
        assert registry.for_key("pool", f"127.0.0.1:{good.port}").state is State.CLOSED
        assert registry["pool"].state is State.CLOSED  # the dependency's own breaker is unused
    finally:
        close()


def test_without_per_one_bad_host_opens_the_breaker_for_all(pool, clock):
    good, bad = pool
    registry = _registry(good.port, clock)
    get, close = _httpx(registry)
    try:
        bad.set_mode("errors", status=503)
        for _ in range(3):
            get(f"http://127.0.0.2:{good.port}/inventory/sku-1")
        with pytest.raises(CircuitOpenError):
            get(f"http://127.0.0.1:{good.port}/inventory/sku-1")
    finally:
        close()


def test_per_host_keys_are_bounded_by_max_keys(pool, clock):
    good, _ = pool
    registry = _registry(good.port, clock, per="host", max_keys=1)
    get, close = _httpx(registry)
    try:
        for host in ("127.0.0.1", "127.0.0.2", "127.0.0.1"):
            assert get(f"http://{host}:{good.port}/inventory/sku-1") == 200
        family = registry.keyed("pool")
        assert family is not None
        assert family.keys() == [f"127.0.0.1:{good.port}"]
    finally:
        close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.shop.example/x", "shops"),
        ("https://deep.a.shop.example/x", "shops"),
        ("https://shop.example/x", "apex"),  # *.shop.example is not shop.example
        ("https://admin.shop.example/x", "admin"),  # a named host wins over a wildcard
        ("https://other.example/x", "any"),
        ("http://a.shop.example/x", None),  # another scheme and port
    ],
)
def test_wildcard_hosts_route_the_most_specific_first(url, expected):
    from breaker_http import Router

    registry = Registry.from_settings(
        {
            "dependencies": {
                "any": {"url": "https://*"},
                "shops": {"url": "https://*.shop.example"},
                "apex": {"url": "https://shop.example"},
                "admin": {"url": "https://admin.shop.example"},
            }
        }
    )
    assert Router(registry).match_url(url) == expected


@pytest.mark.parametrize("bad", ["https://a*.example", "https://*.*.example", "https://x.*.com"])
def test_a_wildcard_must_lead_the_host(bad):
    with pytest.raises(ConfigurationError, match='a wildcard host is "\\*" or starts with'):
        Registry.from_settings({"dependencies": {"pool": {"url": bad}}})


def test_a_client_for_a_wildcard_dependency_needs_its_base_url():
    registry = Registry.from_settings(
        {"dependencies": {"shops": {"url": "https://*.shop.example"}}}
    )
    with pytest.raises(ConfigurationError, match="pass base_url="):
        registry.client("shops")
    with registry.client("shops", base_url="https://a.shop.example") as client:
        assert str(client.base_url) == "https://a.shop.example"


def test_host_keys_are_authorities():
    from breaker_http.routing import host_key

    assert host_key("api.example.com", 443) == "api.example.com:443"
    assert host_key("::1", 8080) == "[::1]:8080"
