"""``RedisStorage``: breaker state shared through Redis, and the worker that syncs it.

``redis://host:6379/0?prefix=myapp&timeout=100ms&refresh=250ms``
(also ``rediss://`` and ``unix://``):

- ``prefix`` (default ``breakerpanel``): key prefix, so several apps can share one Redis;
- ``timeout`` (default ``100ms``): socket connect/read timeout; the longest a request
  can ever wait on Redis (only a half-open probe request or a manual change asks it);
- ``refresh`` (default ``250ms``, at most ``5s``): how often the worker flushes the
  counts and refreshes every breaker's state; ``0`` disables the worker (tests
  call :meth:`RedisStorage.sync_now` themselves).

Every other query parameter is passed to redis-py's ``from_url``.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
import weakref
from typing import Any

from breaker_core.coordination import Coordinated, Unavailable
from breaker_core.durations import parse_duration
from breaker_core.errors import ConfigurationError
from breaker_core.redis.connect import connect
from breaker_core.redis.coordination import RedisCoordination
from breaker_core.redis.scripts import PROBE_DONE, SYNC
from breaker_core.storage import Storage

__all__ = ["RedisStorage", "StorageUnavailable"]

logger = logging.getLogger("breaker_core")

_OPTIONS = {"prefix", "timeout", "refresh"}


StorageUnavailable = Unavailable
"""Redis did not answer in time; the breaker goes on on its own."""


class _Sequential:
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


def duration_param(text: str) -> float:
    """A duration in a URL query: ``250ms``, ``1s`` or a bare number of seconds.

    Raises:
        ValueError: not a duration.
    """
    try:
        return parse_duration(float(text))
    except ValueError:
        return parse_duration(text)


class RedisStorage(Storage):
    """Shared state in Redis. Connects lazily; nothing touches Redis before the first use."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        options = {key: values[-1] for key, values in query.items() if key in _OPTIONS}
        rest = [
            (key, value) for key, values in query.items() if key not in _OPTIONS for value in values
        ]
        super().__init__(url=url, shared=True)
        self.prefix = options.get("prefix", "breakerpanel")
        if not self.prefix or "{" in self.prefix or "}" in self.prefix:
            raise ValueError("prefix must be non-empty and hold no braces")
        self.timeout = duration_param(options.get("timeout", "100ms"))
        self.refresh = duration_param(options.get("refresh", "250ms"))
        if self.timeout <= 0:
            raise ValueError("timeout must be a positive duration like 100ms")
        if self.refresh > 5:
            raise ValueError("refresh must be at most 5s")
        self._driver_url = urllib.parse.urlunsplit(
            parts._replace(query=urllib.parse.urlencode(rest))
        )
        self._client: Any = None
        self._cluster = False
        self._scripts: dict[str, Any] = {}
        self._links: weakref.WeakSet[RedisCoordination] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.degraded = False  # True while Redis is unreachable (breakers run on their own)

    # -- connection ----------------------------------------------------------------

    def _redis(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client, self._cluster = connect(self._driver_url, self.timeout)
        return self._client

    def _script(self, lua: str) -> Any:
        script = self._scripts.get(lua)
        if script is None:
            script = self._scripts[lua] = self._redis().register_script(lua)
        return script

    def run(self, lua: str, keys: tuple[str, ...], args: list[object]) -> Any:
        """Run one script now (a request's own round trip).

        Raises:
            StorageUnavailable: Redis failed or timed out; the storage is marked degraded.
        """
        if self.degraded:
            raise StorageUnavailable("Redis is unreachable; running on local state")
        try:
            return self._script(lua)(keys=list(keys), args=args)
        except ConfigurationError:
            raise
        except Exception as exc:
            self._degrade(exc)
            raise StorageUnavailable(str(exc)) from exc

    # -- breakers ------------------------------------------------------------------

    def attach(self, machine: Coordinated) -> RedisCoordination:
        """Coordinate a breaker through this storage and start the worker (no I/O here)."""
        link = RedisCoordination(self, machine)
        self._links.add(link)
        if self.refresh > 0 and self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._work, name="breakerpanel-redis", daemon=True
                    )
                    self._thread.start()
        return link

    def wake(self) -> None:
        """Run the next sync now rather than at the next refresh tick."""
        self._wake.set()

    def close(self) -> None:
        """Stop the worker and close the connections."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._client is not None:
            self._client.close()

    # -- the worker ------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync_now()
            except Exception:  # never let the worker die
                logger.exception("breakerpanel: the Redis sync worker failed; retrying")
            self._wake.wait(self.refresh)
            self._wake.clear()

    def sync_now(self) -> bool:
        """Flush counts and probe outcomes, refresh every breaker; True if Redis answered."""
        links = list(self._links)
        if not links:
            return True
        if self.degraded and not self._reconnect(links):
            return False
        batch: list[tuple[RedisCoordination, int, float]] = []
        try:
            client = self._redis()
            # A cluster runs each breaker's scripts on its own node: no shared pipeline.
            pipe = _Sequential(client) if self._cluster else client.pipeline(transaction=False)
            for link in links:
                machine = link.machine
                now = machine.now()
                for item in link.take_done():
                    self._script(PROBE_DONE)(
                        keys=list(link.keys), args=link.probe_done_args(item), client=pipe
                    )
                    batch.append((link, -1, now))
                gen, flat = machine.drain(link.take_pending)
                self._script(SYNC)(
                    keys=list(link.keys), args=link.sync_args(gen, flat, now), client=pipe
                )
                batch.append((link, 0, now))
            replies = pipe.execute()
        except ConfigurationError:
            raise
        except Exception as exc:
            self._degrade(exc)
            return False
        for (link, _, now), reply in zip(batch, replies, strict=True):
            link.received(reply, now)
        return True

    def _reconnect(self, links: list[RedisCoordination]) -> bool:
        try:
            self._redis().ping()
        except ConfigurationError:
            raise
        except Exception:
            return False
        for link in links:
            link.take_done()  # probes of the outage expire on the server by themselves
            link.machine.drain(link.take_pending)  # the shared window moved on meanwhile
        self.degraded = False
        logger.warning(
            "breakerpanel: Redis at %s answers again; rejoining shared state", self._safe_url()
        )
        return True

    def _degrade(self, exc: BaseException) -> None:
        if self.degraded:
            return
        self.degraded = True
        logger.error(
            "breakerpanel: Redis at %s is unreachable (%s); each process keeps its own "
            "breakers until it answers again",
            self._safe_url(),
            exc,
        )
        for link in list(self._links):
            link.machine.degraded()  # failures counted meanwhile may trip it now

    def _safe_url(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or parts.path
        return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}"
