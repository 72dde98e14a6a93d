"""Ready clients for one dependency: ``registry.client(name)`` and friends.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from typing import Any

import httpx
import requests

from breaker_core import BreakerConfig, ConfigurationError, Registry
from breaker_http.httpx_transport import AsyncBreakerTransport, BreakerTransport
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


def client(registry: Registry, name: str, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` for dependency ``name``: its ``base_url``, its timeout, the breakers.

    Keyword arguments go to ``httpx.Client``; ``transport=`` is wrapped, not replaced.
    """
    config = _config(registry, name, "client")
    _base_url(config, name, kwargs)
    if config.timeout is not None:
        kwargs.setdefault("timeout", config.timeout)
    transport = BreakerTransport(registry, kwargs.pop("transport", None))
    return httpx.Client(transport=transport, **kwargs)


def async_client(registry: Registry, name: str, **kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for dependency ``name``; see :func:`client`."""
    config = _config(registry, name, "async_client")
    _base_url(config, name, kwargs)
    if config.timeout is not None:
        kwargs.setdefault("timeout", config.timeout)
    transport = AsyncBreakerTransport(registry, kwargs.pop("transport", None))
    return httpx.AsyncClient(transport=transport, **kwargs)


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
