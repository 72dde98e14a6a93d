"""Ready clients for one dependency: ``registry.client(name)`` and friends.

httpx builds the clients' transports from the caller's options (TLS, limits,
proxies from ``proxy=`` or the environment, ``mounts=``); each is then wrapped
in a breaker transport, so no request to a dependency escapes its breaker.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import requests

from breaker_core import BreakerConfig, ConfigurationError, Registry
from breaker_http.httpx_transport import (
    AsyncBreakerTransport,
    BreakerTransport,
    shared_ssl_context,
)
from breaker_http.requests_adapter import BreakerAdapter

__all__ = ["async_client", "client", "session"]


def _config(registry: Registry, name: str, method: str) -> BreakerConfig:
    config = registry[name].config
    if config.url is None:
        raise ConfigurationError(
            f"registry.{method}({name!r}): the dependency has no url; set "
            f'BREAKERS["dependencies"][{name!r}]["url"] to its base URL, '
            'like "http://inventory.internal:8000"'
        )
    return config


def _base_url(config: BreakerConfig, name: str, kwargs: dict[str, Any]) -> None:
    if "base_url" in kwargs:
        return
    if "*" in (config.url or ""):
        raise ConfigurationError(
            f"registry.client({name!r}): the dependency's url {config.url!r} names many "
            "hosts; pass base_url= for the one this client calls (requests to every host "
            "matching the url are guarded)"
        )
    kwargs["base_url"] = config.url


# httpx uses these only to build its own transports (the main one and the proxies').
_TRANSPORT_OPTIONS = ("verify", "cert", "http1", "http2", "limits")


def _prepare(registry: Registry, name: str, method: str, kwargs: dict[str, Any]) -> None:
    """Fill in ``base_url``, the timeout and the shared TLS context; refuse what would be lost."""
    config = _config(registry, name, method)
    _base_url(config, name, kwargs)
    if config.timeout is not None:
        kwargs.setdefault("timeout", config.timeout)
    if kwargs.get("transport") is not None and kwargs.get("proxy") is None:
        for option in _TRANSPORT_OPTIONS:
            if option in kwargs:
                kind = "HTTPTransport" if method == "client" else "AsyncHTTPTransport"
                raise ConfigurationError(
                    f"registry.{method}({name!r}): {option}= has no effect with transport= "
                    f"(httpx uses it only to build its own transport); pass it to yours "
                    f"instead: transport=httpx.{kind}({option}=...)"
                )
    if kwargs.get("verify", True) is True and not kwargs.get("cert") and not kwargs.get("http2"):
        # httpx's default verification, without loading the CA bundle for each client.
        kwargs["verify"] = shared_ssl_context(trust_env=kwargs.get("trust_env", True))


def _wrap_transports(result: httpx.Client | httpx.AsyncClient, wrap: Callable[[Any], Any]) -> None:
    """Wrap every transport httpx built or was given: the main one, proxies', mounts'.

    httpx picks one per request (``Client._transport_for_url``) from these two
    attributes, the only place where both the default and the proxy transports are.
    """
    result._transport = wrap(result._transport)
    result._mounts = {
        pattern: None if transport is None else wrap(transport)
        for pattern, transport in result._mounts.items()
    }


def client(registry: Registry, name: str, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` for dependency ``name``: its ``base_url``, its timeout, the breakers.

    Keyword arguments go to ``httpx.Client`` and mean what they mean there
    (``verify``, ``limits``, ``proxy``, ``mounts``, proxies from the environment
    with ``trust_env`` ...); every transport httpx ends up with, ``transport=``
    and ``mounts=`` included, is wrapped in a :class:`BreakerTransport`, so a
    request is guarded whichever transport carries it.

    Raises:
        ConfigurationError: the dependency has no ``url``, or an option of the
            default transport (``verify``, ``cert``, ``http1``, ``http2``,
            ``limits``) is given with your own ``transport=``.
    """
    _prepare(registry, name, "client", kwargs)
    result = httpx.Client(**kwargs)
    _wrap_transports(result, lambda transport: BreakerTransport(registry, transport))
    return result


def async_client(registry: Registry, name: str, **kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for dependency ``name``; see :func:`client`."""
    _prepare(registry, name, "async_client", kwargs)
    result = httpx.AsyncClient(**kwargs)
    _wrap_transports(result, lambda transport: AsyncBreakerTransport(registry, transport))
    return result


def session(registry: Registry, name: str) -> requests.Session:
    """A ``requests.Session`` with :class:`BreakerAdapter` mounted for http and https.

    Every request to any declared dependency is guarded; ``name`` must be a
    dependency with a ``url``.
    """
    _config(registry, name, "session")
    result = requests.Session()
    adapter = BreakerAdapter(registry)
    result.mount("http://", adapter)
    result.mount("https://", adapter)
    return result
