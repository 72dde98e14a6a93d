"""The guards' per-origin table: each origin's breaker and settings, remembered until reconfigure.

The httpx transports (sync and async) and the requests adapter look a request's
origin up in the router's table of whole origins. These tests send requests
through an in-process inner transport (or adapter) that answers at once and
records what it was sent, and check which breaker counted each request and
which timeout reached the wire: after ``registry.reconfigure`` the table
follows the new settings, two hosts on one port never share a breaker, and an
IDNA host is still matched by its Unicode name.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")

import urllib3  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

from breaker_core import Registry  # noqa: E402
from breaker_http import AsyncBreakerTransport, BreakerAdapter, BreakerTransport  # noqa: E402

Sent = list[Any]  # what the inner transport was sent: each request's timeout


def _answer(sent: Sent) -> Callable[[Any], Any]:
    def handler(request: Any) -> Any:
        sent.append(request.extensions.get("timeout"))
        return httpx.Response(200, json={"ok": True})

    return handler


def _httpx(registry: Registry, sent: Sent) -> Callable[[str], int]:
    client = httpx.Client(transport=BreakerTransport(registry, httpx.MockTransport(_answer(sent))))
    return lambda url: client.get(url).status_code


def _httpx_async(registry: Registry, sent: Sent) -> Callable[[str], int]:
    inner = httpx.MockTransport(_answer(sent))
    client = httpx.AsyncClient(transport=AsyncBreakerTransport(registry, inner))

    async def get(url: str) -> int:
        return (await client.get(url)).status_code

    return lambda url: asyncio.run(get(url))


class _Answering(HTTPAdapter):
    """An adapter answering 200 at once, recording each request's timeout in ``sent``."""

    sent: Sent

    def send(self, request: Any, stream: bool = False, timeout: Any = None, *args: Any) -> Any:
        self.sent.append(timeout)
        raw = urllib3.HTTPResponse(body=io.BytesIO(b"{}"), status=200, preload_content=False)
        return self.build_response(request, raw)


class _GuardedAnswering(BreakerAdapter, _Answering):
    """``BreakerAdapter`` whose ``super().send`` is :class:`_Answering`'s."""


def _requests(registry: Registry, sent: Sent) -> Callable[[str], int]:
    adapter = _GuardedAnswering(registry)
    adapter.sent = sent
    session = requests.Session()
    session.mount("http://", adapter)
    return lambda url: session.get(url).status_code


CLIENTS = {"httpx": _httpx, "httpx-async": _httpx_async, "requests": _requests}


def _calls(registry: Registry, name: str) -> int:
    return int(registry[name].snapshot()["calls"])


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_after_reconfigure_an_origin_seen_before_follows_the_new_urls(kind, clock):
    registry = Registry.from_settings(
        {"dependencies": {"inv": {"url": "http://a.internal:8000"}}}, clock=clock
    )
    get = CLIENTS[kind](registry, [])
    for _ in range(3):
        assert get("http://a.internal:8000/x") == 200
        assert get("http://b.internal:8000/x") == 200
    assert _calls(registry, "inv") == 3  # a guarded, b not
    registry.reconfigure({"dependencies": {"inv": {"url": "http://b.internal:8000"}}})
    for _ in range(4):
        assert get("http://a.internal:8000/x") == 200
    for _ in range(2):
        assert get("http://b.internal:8000/x") == 200
    assert _calls(registry, "inv") == 3 + 2  # now b only: a passes unguarded


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_after_reconfigure_the_new_timeout_reaches_the_request(kind, clock):
    registry = Registry.from_settings(
        {"dependencies": {"inv": {"url": "http://a.internal:8000", "timeout": 2}}}, clock=clock
    )
    sent: Sent = []
    get = CLIENTS[kind](registry, sent)
    get("http://a.internal:8000/x")
    registry.reconfigure({"dependencies": {"inv": {"url": "http://a.internal:8000", "timeout": 3}}})
    get("http://a.internal:8000/x")
    if kind == "requests":
        assert sent == [2.0, 3.0]
    else:
        assert [t["read"] for t in sent] == [2.0, 3.0]


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_two_hosts_on_one_port_keep_their_own_breakers(kind, clock):
    registry = Registry.from_settings(
        {
            "dependencies": {
                "a": {"url": "http://a.internal:8000"},
                "b": {"url": "http://b.internal:8000"},
            }
        },
        clock=clock,
    )
    get = CLIENTS[kind](registry, [])
    for _ in range(3):
        get("http://a.internal:8000/x")
    for _ in range(2):
        get("http://b.internal:8000/x")
    get("http://a.internal:8000/x")
    assert (_calls(registry, "a"), _calls(registry, "b")) == (4, 2)


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_per_host_keys_stay_apart_when_their_origins_are_remembered(kind, clock):
    registry = Registry.from_settings(
        {"dependencies": {"pool": {"url": "http://*.pool.internal:8000", "per": "host"}}},
        clock=clock,
    )
    get = CLIENTS[kind](registry, [])
    for _ in range(3):
        get("http://one.pool.internal:8000/x")
    for _ in range(2):
        get("http://two.pool.internal:8000/x")
    one = registry.for_key("pool", "one.pool.internal:8000").snapshot()["calls"]
    two = registry.for_key("pool", "two.pool.internal:8000").snapshot()["calls"]
    assert (one, two, _calls(registry, "pool")) == (3, 2, 0)


@pytest.mark.parametrize("kind", ["httpx", "httpx-async"])
def test_an_idna_host_is_matched_by_its_unicode_name(kind, clock):
    registry = Registry.from_settings(
        {"dependencies": {"intl": {"url": "http://bücher.example:8000"}}}, clock=clock
    )
    get = CLIENTS[kind](registry, [])
    for _ in range(3):
        get("http://bücher.example:8000/x")  # httpx sends xn--bcher-kva.example
    assert _calls(registry, "intl") == 3


@pytest.mark.parametrize(
    ("setting", "client_timeout", "read"),
    [
        (5, None, 5.0),  # httpx's default is the dependency's: kept as sent
        (2, None, 2.0),  # httpx's default replaced by the dependency's
        (2, 7.0, 7.0),  # the client's own timeout wins
        (5, 7.0, 7.0),
    ],
)
def test_the_dependency_timeout_replaces_only_httpx_default(setting, client_timeout, read, clock):
    """One helper applies the timeout for both httpx transports: the sync one checks it."""
    registry = Registry.from_settings(
        {"dependencies": {"inv": {"url": "http://a.internal:8000", "timeout": setting}}},
        clock=clock,
    )
    sent: Sent = []
    options = {} if client_timeout is None else {"timeout": client_timeout}
    inner = httpx.MockTransport(_answer(sent))
    client = httpx.Client(transport=BreakerTransport(registry, inner), **options)
    for _ in range(2):
        client.get("http://a.internal:8000/x")
    assert [t["read"] for t in sent] == [read, read]
    assert _calls(registry, "inv") == 2


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_a_request_during_the_rebuild_after_reconfigure_gets_the_new_settings(kind, clock):
    """While one request rebuilds the router's tables after ``reconfigure``, another never
    reads the old table as if it were the new one: it waits for the rebuild."""
    registry = Registry.from_settings(
        {"dependencies": {"inv": {"url": "http://a.internal:8000", "timeout": 2}}}, clock=clock
    )
    sent: Sent = []
    get = CLIENTS[kind](registry, sent)
    get("http://a.internal:8000/x")  # the origin is in the table, with timeout 2
    registry.reconfigure({"dependencies": {"inv": {"url": "http://a.internal:8000", "timeout": 3}}})

    rebuilding, go_on = threading.Event(), threading.Event()
    breakers = registry.breakers

    def paused_breakers() -> Any:
        if not rebuilding.is_set():  # the first rebuild after reconfigure stops here
            rebuilding.set()
            assert go_on.wait(10)
        return breakers()

    registry.breakers = paused_breakers  # type: ignore[method-assign]
    first = threading.Thread(target=get, args=("http://a.internal:8000/x",))
    first.start()
    assert rebuilding.wait(10)
    second = threading.Thread(target=get, args=("http://a.internal:8000/x",))
    second.start()
    second.join(0.2)  # a broken router answers it now, from the old table
    go_on.set()
    first.join(10)
    second.join(10)
    timeouts = sent[1:] if kind == "requests" else [t["read"] for t in sent[1:]]
    assert timeouts == [3.0, 3.0]
