"""The official Twilio SDK, guarded: ``twilio_client(registry, account_sid, auth_token)``.

Twilio's ``Client`` takes the HTTP client it sends requests with. Its
``TwilioHttpClient`` sends through a ``requests.Session``; this module mounts
:class:`~breaker_http.BreakerAdapter` on that session, so every request to a
declared dependency runs under its breaker (5xx, timeouts and connection
errors fail; a 4xx such as an invalid phone number is an answer), and an open
breaker raises :class:`~breaker_core.CircuitOpenError` before any connection.
Needs ``twilio`` installed (``pip install twilio``). See docs/sdks.md.
"""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from breaker_core import ConfigurationError, Registry
from breaker_http.requests_adapter import BreakerAdapter

__all__ = ["twilio_client", "twilio_http_client"]


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
    http_client: TwilioHttpClient | None = None,
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
