"""Opening a redis-py client from a storage or cache URL.

- ``redis://``, ``rediss://``, ``unix://``: one server (``redis.Redis.from_url``);
- ``redis+sentinel://host:26379,host2:26379/service/db``: the master of
  ``service`` found through Sentinel (``rediss+sentinel://`` for TLS);
- ``redis+cluster://host:7000``: a Redis Cluster (``rediss+cluster://`` for TLS).
  Each breaker's keys share a hash tag, so every script touches one slot.

Timeouts are short and redis-py's own retries are off: a request must never
wait on Redis for longer than ``timeout``.

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

import importlib
import urllib.parse
from typing import Any

from breaker_core.errors import ConfigurationError

__all__ = ["Sequential", "connect"]


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigurationError(
            'Redis storage needs the redis extra: pip install "breakerpanel[redis]"'
        ) from exc


def connect(url: str, timeout: float) -> tuple[Any, bool]:
    """Return ``(client, is_cluster)`` for ``url`` (its breakerpanel options already removed).

    Raises:
        ConfigurationError: redis-py is missing, or the URL is malformed.
    """
    parts = urllib.parse.urlsplit(url)
    retry = _module("redis.retry").Retry(_module("redis.backoff").NoBackoff(), 0)
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": retry,
        "retry_on_timeout": False,
    }
    base, _, kind = parts.scheme.partition("+")
    if kind == "sentinel":
        return _sentinel(parts, base, options), False
    if kind == "cluster":
        cluster = _module("redis.cluster").RedisCluster
        plain = urllib.parse.urlunsplit(parts._replace(scheme=base))
        options.pop("retry_on_timeout")
        return cluster.from_url(plain, **options), True
    return _module("redis").Redis.from_url(url, **options), False


def _sentinel(parts: urllib.parse.SplitResult, base: str, options: dict[str, Any]) -> Any:
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise ConfigurationError(
            f"{parts.scheme}:// URLs name the service: "
            '"redis+sentinel://127.0.0.1:26379/mymaster/0"'
        )
    service = segments[0]
    db = int(segments[1]) if len(segments) > 1 else 0
    hosts = []
    for item in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = item.rpartition(":")
        hosts.append((host or item, int(port) if port.isdigit() else 26379))
    if parts.password:
        options["password"] = urllib.parse.unquote(parts.password)
    if base == "rediss":
        options["ssl"] = True
    sentinel_options = {
        "socket_timeout": options["socket_timeout"],
        "socket_connect_timeout": options["socket_connect_timeout"],
    }
    sentinel = _module("redis.sentinel").Sentinel(
        hosts, sentinel_kwargs=sentinel_options, **options
    )
    return sentinel.master_for(service, db=db, **options)


class Sequential:
    """A stand-in for a pipeline that runs each script at once (Redis Cluster)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._replies: list[Any] = []

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> None:
        self._replies.append(self._client.evalsha(sha, numkeys, *keys_and_args))

    def script_load(self, script: str) -> Any:
        return self._client.script_load(script)

    def execute(self) -> list[Any]:
        return self._replies
