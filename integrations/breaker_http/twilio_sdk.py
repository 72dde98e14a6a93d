"""The official Twilio SDK, guarded: ``twilio_client(registry, account_sid, auth_token)``.

Twilio's ``Client`` takes the HTTP client it sends requests with. Its
``TwilioHttpClient`` sends through a ``requests.Session``; this module mounts
:class:`~breaker_http.BreakerAdapter` on that session, so every request to a
declared dependency runs under its breaker (5xx, timeouts and connection
errors fail; a 4xx such as an invalid phone number is an answer), and an open
breaker raises :class:`~breaker_core.CircuitOpenError` before any connection.
For the ``*_async`` methods, :class:`BreakerAsyncHttpClient` sends through an
``httpx.AsyncClient`` on :class:`~breaker_http.AsyncBreakerTransport` instead
of Twilio's aiohttp client. Needs ``twilio`` installed (``pip install twilio``).
See docs/sdks.md.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from breaker_core import ConfigurationError, Registry
from breaker_http.httpx_transport import AsyncBreakerTransport
from breaker_http.requests_adapter import BreakerAdapter

__all__ = ["BreakerAsyncHttpClient", "twilio_client", "twilio_http_client"]

_JSON_TYPES = ("application/json", "application/scim+json")  # sent as JSON, as Twilio does
_logger = logging.getLogger("breaker_http.twilio")


class BreakerAsyncHttpClient(AsyncHttpClient):  # type: ignore[misc]  # twilio is untyped
    """Twilio's async HTTP client on ``httpx``, through the registry's breakers.

    ``BreakerAsyncHttpClient(registry, timeout=None)``: pass it as
    ``http_client=`` to :func:`twilio_client` (or ``twilio.rest.Client``) and
    use the ``*_async`` methods. The dependency's ``timeout`` applies unless
    ``timeout=`` or the call sets one. Close it with ``await client.close()``
    (or ``async with``).
    """

    def __init__(self, registry: Registry, timeout: float | None = None) -> None:
        super().__init__(_logger, True, timeout)
        self._client = httpx.AsyncClient(transport=AsyncBreakerTransport(registry))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - Twilio calls it with this name
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request (Twilio calls this); an open breaker raises CircuitOpenError."""
        options: dict[str, Any] = {"params": params, "headers": headers, "auth": auth}
        if headers and headers.get("Content-Type") in _JSON_TYPES:
            options["json"] = data
        else:
            options["data"] = data
        seconds = timeout if timeout is not None else self.timeout
        if seconds is not None:
            if seconds <= 0:
                raise ValueError(seconds)
            options["timeout"] = seconds
        response = await self._client.request(
            method.upper(), url, follow_redirects=allow_redirects, **options
        )
        return Response(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        """Close the httpx client."""
        await self._client.aclose()

    async def __aenter__(self) -> BreakerAsyncHttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def twilio_http_client(registry: Registry, **kwargs: Any) -> TwilioHttpClient:
    """A ``TwilioHttpClient`` whose session sends through the registry's breakers.

    Keywords go to ``TwilioHttpClient`` (``timeout``, ``proxy``, ``max_retries``
    for connection retries...); ``pool_connections`` stays on, since the
    breakers are mounted on its session. The dependency's ``timeout`` applies
    when neither ``timeout=`` nor the call sets one.

    Raises:
        ConfigurationError: ``pool_connections=False`` was passed.
    """
    if kwargs.pop("pool_connections", True) is not True:
        raise ConfigurationError(
            "twilio_http_client(pool_connections=False): the breakers are mounted on the "
            "client's session, which Twilio only keeps with pooled connections"
        )
    max_retries = kwargs.get("max_retries")
    client = TwilioHttpClient(**kwargs)
    options = {} if max_retries is None else {"max_retries": max_retries}
    adapter = BreakerAdapter(registry, **options)
    client.session.mount("https://", adapter)
    client.session.mount("http://", adapter)
    return client


def twilio_client(
    registry: Registry,
    username: str,
    password: str,
    *,
    name: str = "twilio",
    http_client: TwilioHttpClient | BreakerAsyncHttpClient | None = None,
    **options: Any,
) -> Client:
    """A ``twilio.rest.Client`` whose requests run under the registry's breakers.

    ``username``/``password`` are the account SID and auth token (or an API key
    and secret, with ``account_sid=``). The dependency ``name`` must have a
    ``url``: ``"https://api.twilio.com"``, the REST API of messages and calls,
    which the client then calls (a local fake's URL in tests); or
    ``"https://*.twilio.com"`` to guard every Twilio product host with one
    breaker (needed with ``region``/``edge``, which rename the hosts). Other
    keywords go to ``Client``.

    Raises:
        KeyError: no dependency is named ``name``.
        ConfigurationError: the dependency has no ``url``.
    """
    config = registry[name].config
    if config.url is None:
        raise ConfigurationError(
            f'twilio_client(registry, ..., name={name!r}): set BREAKERS["dependencies"]'
            f'[{name!r}]["url"] to Twilio\'s API host, "https://api.twilio.com"'
        )
    client = Client(
        username,
        password,
        http_client=http_client or twilio_http_client(registry),
        **options,
    )
    if "*" not in config.url:
        client.api.base_url = config.url  # the REST API's host is the one the breaker guards
    return client
