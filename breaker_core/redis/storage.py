"""``RedisStorage``: breaker state shared through Redis, and the worker that syncs it.

``redis://host:6379/0?prefix=myapp&timeout=100ms&refresh=250ms``
(also ``rediss://`` and ``unix://``):

- ``prefix`` (default ``breakerpanel``): key prefix, so several apps can share one Redis;
- ``timeout`` (default ``100ms``): socket connect/read timeout; the longest a request
  can ever wait on Redis (only a half-open probe request or a manual change asks it);
- ``refresh`` (default ``250ms``, at most ``5s``): how often the worker flushes the
  counts and refreshes every breaker's state; ``0`` disables the worker (tests
  call :meth:`RedisStorage.sync_now` themselves);
- ``clock`` (``server`` or ``client``): whose clock decides shared times. By
  default the Redis server's ``TIME``, unless a breaker was given a clock of its
  own (tests), which then decides (:mod:`breaker_core.redis.timebase`).

The redis-py options of :data:`~breaker_core.redis.urls.DRIVER_OPTIONS` are passed on;
anything else is refused at start-up (:mod:`breaker_core.redis.urls`).

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
import weakref
from typing import Any

from breaker_core.coordination import Coordinated, Unavailable
from breaker_core.errors import ConfigurationError
from breaker_core.logtext import describe_exception
from breaker_core.redis.admission_scripts import PROBE_DONE
from breaker_core.redis.connect import Sequential, connect
from breaker_core.redis.coordination import RedisCoordination
from breaker_core.redis.lifecycle import track
from breaker_core.redis.script_args import Done, probe_done_args, sync_args
from breaker_core.redis.sync_script import SYNC
from breaker_core.redis.timebase import CLOCKS
from breaker_core.redis.urls import CACHE_OPTIONS, STORAGE_OPTIONS, duration_param, split_options
from breaker_core.storage import Storage

__all__ = ["RedisStorage", "StorageUnavailable"]

logger = logging.getLogger("breaker_core")


StorageUnavailable = Unavailable
"""Redis did not answer in time; the breaker goes on on its own."""


class RedisStorage(Storage):
    """Shared state in Redis.

    Each breaker loads the shared state when it is attached (one round trip,
    at most ``timeout``; a storage that did not answer starts degraded and
    asks no more until its worker reconnects). A forked child starts its own
    worker on its own connection; the interpreter's exit flushes the counts.
    """

    def __init__(self, url: str) -> None:
        options, driver_url = split_options(url, STORAGE_OPTIONS, CACHE_OPTIONS, "cache")
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
        self.clock = options.get("clock")
        if self.clock is not None and self.clock not in CLOCKS:
            raise ValueError(f"clock must be server or client, got {self.clock!r}")
        self._driver_url = driver_url
        self._client: Any = None
        self._cluster = False
        self._scripts: dict[str, Any] = {}
        self._links: weakref.WeakSet[RedisCoordination] = weakref.WeakSet()
        # Links with counts or probe verdicts not sent yet: kept alive until the next sync
        # sends them, so a per-key breaker dropped by its LRU loses nothing.
        self._held: set[RedisCoordination] = set()
        self._held_lock = threading.Lock()
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()  # one sync at a time, and none across a fork
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.degraded = False  # True while Redis is unreachable (breakers run on their own)
        track(self)

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
        """Coordinate a breaker through this storage: load its shared state, start the worker.

        The load is one round trip, bounded by ``timeout``; if Redis does not
        answer, the storage is degraded from the start (the breaker decides on
        its own) rather than assuming the shared breaker is closed.
        """
        link = RedisCoordination(self, machine)
        self._links.add(link)
        self._load(link)
        self._start_worker()
        return link

    def _load(self, link: RedisCoordination) -> None:
        if self.degraded:
            return  # the worker reconnects and loads every breaker then
        now = link.machine.now()
        gen, pending = link.machine.drain(link.take_pending)
        try:
            reply = self.run(SYNC, link.keys, sync_args(link, gen, pending, now))
        except Unavailable:
            return  # degraded now (logged once); the machine decides alone
        link.received(reply, now)

    def _start_worker(self) -> None:
        if self.refresh > 0 and self._thread is None and not self._closed:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._work, name="breakerpanel-redis", daemon=True
                    )
                    self._thread.start()

    def hold_syncs(self) -> None:
        """Before a fork: wait for a sync in progress and start none (the worker holds
        the machines' locks for a moment while it swaps out their counts)."""
        self._sync_lock.acquire()

    def release_syncs(self) -> None:
        """After a fork, in the parent: syncs may run again."""
        self._sync_lock.release()

    def forked(self) -> None:
        """In a forked child: own locks, connection and worker; nothing of the parent's."""
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._client = None  # the parent's sockets stay the parent's
        self._scripts = {}
        self._held = set()
        self._held_lock = threading.Lock()
        for link in list(self._links):
            link.forked()
        if self._links and not self._closed:
            self._start_worker()

    def wake(self) -> None:
        """Run the next sync now rather than at the next refresh tick."""
        self._wake.set()

    def hold(self, link: RedisCoordination) -> None:
        """Keep ``link`` alive until the next sync has sent its counts and probe verdicts."""
        with self._held_lock:
            self._held.add(link)

    def close(self) -> None:
        """Stop the worker, flush what was counted (one round trip) and close the connection.

        Called for every storage when the interpreter exits, too.
        """
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        if not self.degraded and self._client is not None:
            try:
                self.sync_now()
            except Exception:  # closing never fails
                logger.debug("breakerpanel: the last flush to Redis failed", exc_info=True)
        if self._client is not None:
            self._client.close()
            self._client = None

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
        with self._sync_lock:
            return self._sync()

    def _sync(self) -> bool:
        with self._held_lock:
            sending, self._held = self._held, set()  # alive until this sync has drained them
        every = list(self._links)
        if not every:
            return True
        if self.degraded and not self._reconnect(every):
            return False
        # An idle breaker per key is not refreshed: its next counted call brings it up to
        # date, and an open one asks Redis when its wait ends (thousands of keys, no load).
        links = [link for link in every if not link.keyed or link in sending]
        batch: list[tuple[RedisCoordination, int, float]] = []
        taken: list[tuple[RedisCoordination, list[Done]]] = []
        try:
            client = self._redis()
            # A cluster runs each breaker's scripts on its own node: no shared pipeline.
            pipe = Sequential(client) if self._cluster else client.pipeline(transaction=False)
            for link in links:
                machine = link.machine
                now = machine.now()
                done = link.take_done()
                if done:
                    taken.append((link, done))
                for item in done:
                    self._script(PROBE_DONE)(
                        keys=list(link.keys), args=probe_done_args(link, item), client=pipe
                    )
                    batch.append((link, -1, now))
                gen, pending = machine.drain(link.take_pending)
                if link.rejoining:
                    gen, link.rejoining = -1, False  # merge into whatever generation is there
                self._script(SYNC)(
                    keys=list(link.keys), args=sync_args(link, gen, pending, now), client=pipe
                )
                batch.append((link, 0, now))
            replies = pipe.execute()
        except ConfigurationError:
            raise
        except Exception as exc:
            for link, done in taken:
                link.put_back(done)  # sent again by the next sync (a report is idempotent)
                self.hold(link)
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
            link.rejoin_done()  # their verdicts no longer count; their slots go back
            link.rejoining = True  # what was counted while apart joins the shared window
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
            describe_exception(exc),
        )
        for link in list(self._links):
            link.machine.degraded()  # failures counted meanwhile may trip it now

    def _safe_url(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or parts.path
        return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}"
