"""The official Stripe SDK, guarded: ``stripe_client(registry, api_key)``.

Stripe lets you supply the HTTP client its ``StripeClient`` uses. This module
gives it :class:`BreakerRequestsClient`, stripe's own ``RequestsClient`` on a
``requests.Session`` with :class:`~breaker_http.BreakerAdapter` mounted, so
every request to a declared dependency runs under its breaker (5xx, timeouts
and connection errors fail; a card decline, a 402, is an answer). While the
breaker is open a call raises :class:`~breaker_core.CircuitOpenError` at once,
not stripe's ``APIConnectionError`` (which stripe would wrap it in), and
stripe does not retry it. Its async methods (``create_async``...) go through
:class:`BreakerAsyncClient`, an httpx client on
:class:`~breaker_http.AsyncBreakerTransport`, with the same rules. Needs
``stripe`` installed (``pip install stripe``). See docs/sdks.md.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, Awaitable, Mapping
from typing import Any

import anyio
import httpx
import requests
import stripe

from breaker_core import BreakerError, ConfigurationError, Registry
from breaker_http.httpx_transport import AsyncBreakerTransport
from breaker_http.requests_adapter import BreakerAdapter

__all__ = ["BreakerAsyncClient", "BreakerRequestsClient", "stripe_client"]

_STRIPE_TIMEOUT = 80.0  # stripe's own default, used when the dependency sets none


def _unwrapped(exc: stripe.APIConnectionError) -> BaseException:
    """The breaker's refusal stripe wrapped, else the stripe error itself."""
    cause = exc.__cause__
    return cause if isinstance(cause, BreakerError) else exc


class BreakerRequestsClient(stripe.RequestsClient):
    """stripe's ``RequestsClient`` whose requests go through the registry's breakers.

    ``BreakerRequestsClient(registry, name="stripe", **RequestsClient_options)``:
    the dependency ``name`` gives the timeout (stripe's 80 s when it sets none).

    Raises:
        KeyError: no dependency is named ``name``.
    """

    def __init__(self, registry: Registry, name: str = "stripe", **kwargs: Any) -> None:
        config = registry[name].config
        session = requests.Session()
        adapter = BreakerAdapter(registry)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        kwargs.setdefault("timeout", config.timeout or _STRIPE_TIMEOUT)
        super().__init__(session=session, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,  # stripe's telemetry; its RequestsClient takes none
    ) -> tuple[Any, int, Mapping[str, str]]:
        """Send one request (stripe calls this); an open breaker raises CircuitOpenError."""
        try:
            return super().request(method, url, headers, post_data)
        except stripe.APIConnectionError as exc:
            raise _unwrapped(exc) from exc.__cause__

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        """Like :meth:`request`, for stripe's streamed answers."""
        try:
            return super().request_stream(method, url, headers, post_data)
        except stripe.APIConnectionError as exc:
            raise _unwrapped(exc) from exc.__cause__


class BreakerAsyncClient(stripe.HTTPClient):
    """stripe's async HTTP client, on an ``httpx.AsyncClient`` through the registry's breakers.

    ``BreakerAsyncClient(registry, name="stripe")``; given to stripe as the
    ``async_fallback_client`` of :class:`BreakerRequestsClient` by
    :func:`stripe_client`. Network errors become stripe's retryable
    ``APIConnectionError`` (as stripe's own httpx client does); the breaker's
    refusals are raised as they are.

    Raises:
        KeyError: no dependency is named ``name``.
    """

    name = "breakerpanel-httpx"

    def __init__(self, registry: Registry, name: str = "stripe") -> None:
        super().__init__()
        config = registry[name].config
        network = httpx.AsyncHTTPTransport(
            verify=ssl.create_default_context(cafile=stripe.ca_bundle_path)
        )
        self._client = httpx.AsyncClient(
            transport=AsyncBreakerTransport(registry, network),
            timeout=config.timeout or _STRIPE_TIMEOUT,
        )

    async def _send(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any, stream: bool
    ) -> httpx.Response:
        request = self._client.build_request(
            method, url, headers=headers, content=post_data or None
        )
        try:
            return await self._client.send(request, stream=stream)
        except BreakerError:
            raise
        except Exception as exc:
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"Unexpected error communicating with Stripe: {type(exc).__name__}",
                should_retry=True,
            ) from exc

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        """Send one request (stripe calls this); an open breaker raises CircuitOpenError."""
        response = await self._send(method, url, headers, post_data, stream=False)
        return response.content, response.status_code, response.headers

    async def request_stream_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[AsyncIterable[bytes], int, Mapping[str, str]]:
        """Like :meth:`request_async`, for stripe's streamed answers."""
        response = await self._send(method, url, headers, post_data, stream=True)
        return response.aiter_bytes(), response.status_code, response.headers

    def sleep_async(self, secs: float) -> Awaitable[None]:
        """Wait between stripe's retries (asyncio or trio)."""
        return anyio.sleep(secs)

    async def close_async(self) -> None:
        """Close the httpx client."""
        await self._client.aclose()


def stripe_client(
    registry: Registry, api_key: str, *, name: str = "stripe", **options: Any
) -> stripe.StripeClient:
    """A ``stripe.StripeClient`` on the breaker of dependency ``name``.

    Its API base is the dependency's ``url`` (``"https://api.stripe.com"`` in
    production), so the SDK calls exactly the host the breaker is declared
    for. Other keywords go to ``StripeClient`` (``max_network_retries``...);
    ``http_client`` is :class:`BreakerRequestsClient`, with
    :class:`BreakerAsyncClient` for the ``*_async`` methods.

    Raises:
        KeyError: no dependency is named ``name``.
        ConfigurationError: the dependency has no ``url``.
    """
    config = registry[name].config
    if config.url is None or "*" in config.url:
        raise ConfigurationError(
            f'stripe_client(registry, ..., name={name!r}): set BREAKERS["dependencies"]'
            f'[{name!r}]["url"] to Stripe\'s API host, "https://api.stripe.com" '
            f"(got {config.url!r})"
        )
    addresses = {"api": config.url, **options.pop("base_addresses", {})}
    http_client = BreakerRequestsClient(
        registry, name, async_fallback_client=BreakerAsyncClient(registry, name)
    )
    return stripe.StripeClient(
        api_key,
        base_addresses=addresses,  # type: ignore[arg-type]
        http_client=http_client,
        **options,
    )
