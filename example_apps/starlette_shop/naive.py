"""The product page's Inventory client the naive way: what ``SHOP_MODE=naive`` selects.

No breaker, a long timeout and a retry loop ("the API is failing? raise the
timeout and retry until it works"): the way the scenario
(``python -m example_apps.scenario``) compares breakerpanel against. While
Inventory hangs, each product page awaits the timeout once per attempt.

:func:`inventory_client` is the client the shop's lifespan opens for the
product page: ``registry.async_client("inventory")`` normally, the naive
client under ``SHOP_MODE=naive``.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from breaker_core import ConfigurationError, Registry
from example_apps.demo import switches

__all__ = ["RetryingTransport", "inventory_client", "naive_client"]


class RetryingTransport(httpx.AsyncBaseTransport):
    """Sends each request up to ``attempts`` times, again on a transport error or a 5xx.

    The last attempt's error or answer is what the caller gets. Meant for
    requests without a body (the shop's GETs): a streamed body is not replayed.
    """

    def __init__(self, attempts: int, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if attempts < 1:
            raise ConfigurationError(
                f"RetryingTransport: attempts must be 1 or more, got {attempts}"
            )
        self.attempts = attempts
        self.transport = transport if transport is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, retrying; raises the last ``httpx.TransportError`` if all fail."""
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                response = await self.transport.handle_async_request(request)
            except httpx.TransportError:
                if last:
                    raise
                continue
            if response.status_code < 500 or last:
                return response
            await response.aclose()
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.transport.aclose()


def naive_client(base_url: str, timeout: float, attempts: int) -> httpx.AsyncClient:
    """A plain ``httpx.AsyncClient``: ``timeout`` per attempt, ``attempts`` tries, no breaker."""
    return httpx.AsyncClient(
        base_url=base_url, timeout=timeout, transport=RetryingTransport(attempts)
    )


def inventory_client(
    registry: Registry, environ: Mapping[str, str] | None = None
) -> httpx.AsyncClient:
    """The product page's Inventory client for the ``SHOP_MODE`` in ``environ`` (os.environ).

    Raises:
        ConfigurationError: a switch is invalid, or the inventory dependency
            has no ``url``.
    """
    shop = switches.from_environ(environ)
    if shop.mode != "naive":
        return registry.async_client("inventory")
    url = registry["inventory"].config.url
    if url is None:
        raise ConfigurationError('BREAKERS["dependencies"]["inventory"] needs a url')
    return naive_client(url, shop.naive_timeout, shop.naive_retries)
