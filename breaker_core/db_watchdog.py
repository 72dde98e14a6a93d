"""The database guards' watchdog: cuts a query the server cannot cut, a little after its timeout.

A hung server or a black-holed network never answers, and a statement
timeout needs a live server: :class:`Watchdog` shuts the query's socket down
(:func:`cut`) at :func:`watchdog_delay` of the dependency's ``timeout``, so a
query never waits longer than that. :func:`socket_fd` finds the socket of a
DB-API connection, only when a query is cut: arming and disarming cost a
dictionary operation each.

Standard library only, like the rest of the engine; the guards reach it
through :mod:`breaker_core.database`.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import itertools
import math
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["SocketCheck", "Watchdog", "cut", "socket_fd", "watchdog", "watchdog_delay"]

R = TypeVar("R")


def watchdog_delay(timeout: float) -> float:
    """When the watchdog cuts a query: a little after ``timeout``, so the server cuts first."""
    return timeout + max(0.1, timeout * 0.1)


class SocketCheck:
    """Whether a guard's connections have a socket the watchdog could cut, learned once.

    ``check.watched(connection)`` returns ``connection`` when the driver's connections
    have a socket (:func:`socket_fd` finds one in the first connection asked
    about), else None (SQLite's have none), so a guard hands the watchdog
    nothing to watch without looking for a socket on every query.
    """

    __slots__ = ("_has_socket",)

    def __init__(self) -> None:
        self._has_socket: bool | None = None  # None: not known before the first query

    def watched(self, connection: object) -> object | None:
        """``connection`` if the driver's connections have a socket, else None."""
        has_socket = self._has_socket
        if has_socket is None:
            has_socket = self._has_socket = socket_fd(connection) is not None
        return connection if has_socket else None


def socket_fd(connection: object) -> int | None:
    """The socket file descriptor of a DB-API connection, or None if it cannot be found.

    An ``int`` is taken as the descriptor itself. A SQLAlchemy ``Connection``
    (its pool's proxy in ``connection``, read only here: a property) and a
    pool's proxy (with a ``driver_connection``) are looked through; then
    ``fileno()`` (psycopg, psycopg2, mysqlclient), PyMySQL's ``_sock``, and the
    transport of asyncio drivers (asyncpg, aiomysql).
    """
    if isinstance(connection, int):
        return connection
    if hasattr(type(connection), "exec_driver_sql"):  # a SQLAlchemy Connection
        try:
            connection = connection.connection  # type: ignore[attr-defined]
        except Exception:  # closed or invalidated: no socket to cut
            return None
    driver = getattr(connection, "driver_connection", None)
    if driver is not None and driver is not connection:
        connection = driver
    fileno = getattr(connection, "fileno", None)
    if callable(fileno):
        try:
            return int(fileno())
        except Exception:
            return None
    sock = getattr(connection, "_sock", None)
    if sock is None:
        for name in ("_transport", "_writer"):
            transport = getattr(connection, name, None)
            if transport is not None:
                transport = getattr(transport, "transport", transport)
                get = getattr(transport, "get_extra_info", None)
                sock = get("socket") if callable(get) else None
                break
    if sock is None:
        return None
    try:
        return int(sock.fileno())
    except Exception:
        return None


def cut(fd: int) -> None:
    """Shut down the socket behind ``fd``: a read blocked on it returns at once."""
    try:
        dup = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        dup.close()


_IDLE_LOOK = 1.0  # seconds between looks with nothing in flight
_IDLE_LOOKS = 60  # empty looks before the thread waits to be woken


class Watchdog:
    """Cuts queries still running at their deadline, from one background thread.

    ``token = watchdog.arm(connection, delay)`` before a query,
    ``watchdog.disarm(token)`` after it. Both are one dictionary operation (no
    lock): the thread keeps no heap of finished queries, and the connection's
    socket is looked up (:func:`socket_fd`) only for a query it cuts. It sleeps
    until the earliest deadline it saw in flight (or for a second when none
    is), then looks again; an ``arm`` wakes it only when its deadline is
    earlier than the one the thread sleeps towards (after a minute without
    queries, or for a shorter timeout). The thread starts on first use (again
    after a fork).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._live: dict[int, tuple[float, object]] = {}
        self._ids = itertools.count()
        self._wake_at = math.inf  # when the thread looks next; inf: idle or not started
        self._started = False
        self.cuts = 0
        """How many queries this watchdog has cut."""
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_thread(ref))

    def arm(self, connection: object, delay: float) -> int:
        """Cut ``connection``'s socket in ``delay`` seconds unless disarmed first; return a token.

        ``connection``: a DB-API connection (or a pool's proxy of one), or the
        socket's file descriptor.
        """
        deadline = self._clock() + delay
        token = next(self._ids)
        self._live[token] = (deadline, connection)
        if deadline < self._wake_at:
            self._wake(deadline)
        return token

    def watch(
        self, fn: Callable[..., R], args: tuple[Any, ...], connection: object, delay: float
    ) -> R:
        """``fn(*args)`` armed on ``connection`` for ``delay`` seconds: ``arm``, call, ``disarm``.

        One call per query instead of three (the guards' path).
        """
        deadline = self._clock() + delay
        token = next(self._ids)
        live = self._live
        live[token] = (deadline, connection)
        if deadline < self._wake_at:
            self._wake(deadline)
        try:
            return fn(*args)
        finally:
            live.pop(token, None)

    def _wake(self, deadline: float) -> None:
        """Have the thread (started on first use) look again by ``deadline``."""
        with self._cond:
            if not self._started:
                self._started = True
                threading.Thread(
                    target=self._loop, name="breakerpanel-db-watchdog", daemon=True
                ).start()
            self._wake_at = deadline
            self._cond.notify()

    def disarm(self, token: int) -> None:
        """Forget the query of ``token`` (finished in time): it is never cut after this."""
        self._live.pop(token, None)

    def _loop(self) -> None:
        empty_looks = 0
        with self._cond:
            while True:
                now = self._clock()
                earliest = math.inf
                for token, (deadline, connection) in list(self._live.items()):
                    if deadline <= now:
                        if self._live.pop(token, None) is not None:
                            self._cut(connection)
                    elif deadline < earliest:
                        earliest = deadline
                if earliest == math.inf:
                    # Nothing in flight: look again in a second rather than be woken by
                    # the next arm (a notify per query when queries come one by one);
                    # idle after a minute of nothing.
                    empty_looks += 1
                    if empty_looks <= _IDLE_LOOKS:
                        earliest = now + _IDLE_LOOK
                else:
                    empty_looks = 0
                self._wake_at = earliest
                # An arm that read the previous _wake_at after the scan above did not
                # notify: its query is in _live by now, so look again before sleeping.
                if min((d for d, _ in list(self._live.values())), default=math.inf) < earliest:
                    continue
                self._cond.wait(None if earliest == math.inf else earliest - now)

    def _cut(self, connection: object) -> None:
        fd = socket_fd(connection)
        if fd is not None:
            self.cuts += 1
            cut(fd)


def _forget_thread(ref: weakref.ref[Watchdog]) -> None:
    """In a forked child: the parent's thread is gone; the next arm starts one."""
    self = ref()
    if self is not None:
        self._cond = threading.Condition(threading.Lock())
        self._live.clear()
        self._wake_at = math.inf
        self._started = False


watchdog = Watchdog()
"""The process's watchdog, shared by every database guard."""
