"""The database guards' watchdog: cuts a query the server cannot cut, a little after its timeout.

A hung server or a black-holed network never answers, and a statement
timeout needs a live server: :class:`Watchdog` shuts the query's socket down
(:func:`cut`) at :func:`watchdog_delay` of the dependency's ``timeout``, so a
query never waits longer than that. A guard's statements are watched through
:class:`Watch` slots (a clock read and two attribute stores per statement);
the socket is looked up (:func:`socket_fd`, or the guard's own getter) only
when a query is cut.

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

__all__ = ["Watch", "Watchdog", "cut", "socket_fd", "watchdog", "watchdog_delay"]

R = TypeVar("R")


def watchdog_delay(timeout: float) -> float:
    """When the watchdog cuts a query: a little after ``timeout``, so the server cuts first."""
    return timeout + max(0.1, timeout * 0.1)


def socket_fd(connection: object) -> int | None:
    """The socket file descriptor of a driver's connection, or None if it cannot be found.

    An ``int`` is taken as the descriptor itself; then ``fileno()`` (psycopg,
    psycopg2, mysqlclient), PyMySQL's ``_sock``, and the transport of asyncio
    drivers (asyncpg, aiomysql). A framework's wrappers (a pool's proxy) are
    the framework integration's to look through before it asks.
    """
    if isinstance(connection, int):
        return connection
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


class Watch:
    """A slot for one statement in flight at a time: what a guard arms per statement.

    The guard that owns it (through :class:`breaker_core.database.Statements`)
    sets ``deadline`` then ``args`` (the statement's arguments, a tuple made
    for that statement) before the statement, and ``args`` back to None after
    it; the watchdog reads them from its thread and, past the deadline, cuts
    the socket ``socket_of(args)`` finds. Two attribute stores per statement,
    no lock: only the owner writes, and it writes ``deadline`` first.
    """

    __slots__ = ("__weakref__", "args", "deadline", "socket_of")

    def __init__(self, socket_of: Callable[[tuple[Any, ...]], int | None]) -> None:
        self.args: tuple[Any, ...] | None = None
        self.deadline = math.inf
        self.socket_of = socket_of


class Watchdog:
    """Cuts queries still running at their deadline, from one background thread.

    The guards' statements are watched through :class:`Watch` slots, made by
    :meth:`watch_slot`. Other code can ``token = watchdog.arm(connection,
    delay)`` before a query and ``watchdog.disarm(token)`` after it (a
    dictionary operation each). Neither takes a lock, and a socket is looked
    up only for a query the watchdog cuts. The thread sleeps until the
    earliest deadline it saw in flight (or for a second when none is), then
    looks again; arming wakes it only when its deadline is earlier than the
    one the thread sleeps towards (after a minute without queries, or for a
    shorter timeout). The thread starts on first use (again after a fork).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        """The watchdog's clock (``time.monotonic``): the deadlines' time."""
        self._cond = threading.Condition(threading.Lock())
        self._live: dict[int, tuple[float, object]] = {}
        self._slots: list[weakref.ref[Watch]] = []
        self._cut_args: dict[Watch, tuple[Any, ...]] = {}  # the slots' statements it cut
        self._ids = itertools.count()
        self.wake_at = math.inf
        """When the thread looks next (inf: idle, or not started); read by each arm."""
        self._started = False
        self.cuts = 0
        """How many queries this watchdog has cut."""
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_thread(ref))

    def watch_slot(self, socket_of: Callable[[tuple[Any, ...]], int | None]) -> Watch:
        """A new slot this watchdog looks at (for as long as it lives).

        ``socket_of(args)``: the socket file descriptor of the statement of
        ``args``, or None; called from the watchdog's thread, only to cut.
        """
        slot = Watch(socket_of)
        with self._cond:
            self._slots = [ref for ref in self._slots if ref() is not None]
            self._slots.append(weakref.ref(slot))
        return slot

    def arm(self, connection: object, delay: float) -> int:
        """Cut ``connection``'s socket in ``delay`` seconds unless disarmed first; return a token.

        ``connection``: a driver's connection (:func:`socket_fd` finds its
        socket), or the socket's file descriptor.
        """
        deadline = self.clock() + delay
        token = next(self._ids)
        self._live[token] = (deadline, connection)
        if deadline < self.wake_at:
            self.wake(deadline)
        return token

    def wake(self, deadline: float) -> None:
        """Have the thread (started on first use) look again by ``deadline``."""
        with self._cond:
            if not self._started:
                self._started = True
                threading.Thread(
                    target=self._loop, name="breakerpanel-db-watchdog", daemon=True
                ).start()
            self.wake_at = deadline
            self._cond.notify()

    def disarm(self, token: int) -> None:
        """Forget the query of ``token`` (finished in time): it is never cut after this."""
        self._live.pop(token, None)

    def _loop(self) -> None:
        empty_looks = 0
        with self._cond:
            while True:
                now = self.clock()
                earliest = self._look(now)
                if earliest == math.inf:
                    # Nothing in flight: look again in a second rather than be woken by
                    # the next arm (a notify per query when queries come one by one);
                    # idle after a minute of nothing.
                    empty_looks += 1
                    if empty_looks <= _IDLE_LOOKS:
                        earliest = now + _IDLE_LOOK
                else:
                    empty_looks = 0
                self.wake_at = earliest
                # An arm that read the previous wake_at after the look above did not
                # notify: its query is in flight by now, so look again before sleeping.
                if self._earliest() < earliest:
                    continue
                self._cond.wait(None if earliest == math.inf else earliest - now)

    def _look(self, now: float) -> float:
        """Cut what is past its deadline; return the earliest deadline still to come."""
        earliest = math.inf
        for token, (deadline, connection) in list(self._live.items()):
            if deadline <= now:
                if self._live.pop(token, None) is not None:
                    self._cut(socket_fd(connection))
            elif deadline < earliest:
                earliest = deadline
        cut_args = self._cut_args
        for ref in self._slots:
            slot = ref()
            if slot is None:
                continue
            args = slot.args
            if args is None or cut_args.get(slot) is args:
                continue
            deadline = slot.deadline  # written before args: this statement's, or a later one's
            if deadline > now:
                earliest = min(earliest, deadline)
            elif slot.args is args:  # still the same statement
                cut_args[slot] = args  # cut once
                try:
                    fd = slot.socket_of(args)
                except Exception:  # the guard's getter: it must not stop the thread
                    fd = None
                self._cut(fd)
        for slot in [slot for slot, args in cut_args.items() if slot.args is not args]:
            del cut_args[slot]  # finished: its arguments are not kept
        return earliest

    def _earliest(self) -> float:
        """The earliest deadline in flight now (without cutting anything)."""
        earliest = min((d for d, _ in list(self._live.values())), default=math.inf)
        for ref in self._slots:
            slot = ref()
            if slot is None:
                continue
            args = slot.args
            if args is not None and self._cut_args.get(slot) is not args:
                earliest = min(earliest, slot.deadline)
        return earliest

    def _cut(self, fd: int | None) -> None:
        if fd is not None:
            self.cuts += 1
            cut(fd)


def _forget_thread(ref: weakref.ref[Watchdog]) -> None:
    """In a forked child: the parent's thread is gone; the next arm starts one.

    The parent's statements in flight are not the child's: forgotten, so their
    sockets (shared with the parent) are never cut from here.
    """
    self = ref()
    if self is not None:
        self._cond = threading.Condition(threading.Lock())
        self._live.clear()
        for slot_ref in self._slots:
            slot = slot_ref()
            if slot is not None:
                slot.args = None
        self._cut_args.clear()
        self.wake_at = math.inf
        self._started = False


watchdog = Watchdog()
"""The process's watchdog, shared by every database guard."""
