"""The outbound HTTP guards' refused and failed requests leave no reference cycles.

While a dependency fails, every request to it is refused or fails; see
:mod:`tests.garbage` for why a cycle per request would matter.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from breaker_core import CircuitOpenError, Registry
from breaker_core.clock import FakeClock
from tests.garbage import no_cyclic_garbage

CALLS = 200
URL = "http://inventory.test/SKU-1"


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def registry(*, open_: bool) -> Registry:
    found = Registry.from_settings(
        {
            "dependencies": {
                "inventory": {"url": "http://inventory.test", "failure_threshold": 10_000}
            }
        },
        clock=FakeClock(),
    )
    if open_:
        found["inventory"].force_open()
    return found


@pytest.mark.parametrize(
    ("open_", "error"),
    [(True, CircuitOpenError), (False, httpx.ConnectError)],
    ids=["refused", "failed"],
)
def test_sync_client(open_, error):
    client = registry(open_=open_).client("inventory", transport=httpx.MockTransport(unreachable))
    with no_cyclic_garbage():
        for _ in range(CALLS):
            with pytest.raises(error):
                client.get(URL)


@pytest.mark.parametrize(
    ("open_", "error"),
    [(True, CircuitOpenError), (False, httpx.ConnectError)],
    ids=["refused", "failed"],
)
def test_async_client(open_, error):
    client = registry(open_=open_).async_client(
        "inventory", transport=httpx.MockTransport(unreachable)
    )

    async def requests() -> int:
        raised = 0
        for _ in range(CALLS):
            try:
                await client.get(URL)
            except error:
                raised += 1
        return raised

    with no_cyclic_garbage():
        assert asyncio.run(requests()) == CALLS
