"""What every database guard agrees on: which errors fail, how a query runs, when it is cut.

The Django and SQLAlchemy integrations translate their hooks into these
helpers, so a database breaker means the same thing everywhere:

* :func:`is_failure`: connection and timeout errors (PEP 249's
  ``OperationalError`` and ``InterfaceError``, however a framework wraps them,
  and ``OSError``/``TimeoutError`` raised while connecting) are failures; every
  other error (``IntegrityError``, ``ProgrammingError``, ``DataError``...) is
  the caller's: the database answered, so the call counts as a success.
* :func:`run`: one guarded call (a query or a connect) under a breaker.
* :func:`refuse_if_open`: reject before any I/O while the breaker is open,
  without taking a slot when it is not.
* :func:`statement_timeout_sql` and :func:`connect_options`: what makes the
  server cut a query, and the driver give up connecting, at the dependency's
  ``timeout``.
* :class:`Watchdog`: cuts a query the server cannot cut (a hung server, a
  black-holed network) by shutting its socket down a little after the
  ``timeout``, so a query never waits longer than that.

Standard library only, like the rest of the engine.

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
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from breaker_core.breaker import CircuitBreaker

__all__ = [
    "Watchdog",
    "connect_options",
    "cut",
    "is_failure",
    "refuse_if_open",
    "run",
    "socket_fd",
    "statement_timeout_sql",
    "watchdog",
    "watchdog_delay",
]

R = TypeVar("R")

_FAILURE_NAMES = frozenset({"OperationalError", "InterfaceError"})
# SQLSTATE classes of an unwell server: connection exception, insufficient
# resources, operator intervention (statement timeout, shutdown), system error.
_FAILURE_SQLSTATES = frozenset({"08", "53", "57", "58"})
_verdicts: dict[type[BaseException], bool] = {}


def is_failure(exc: BaseException) -> bool:
    """True if ``exc`` says the database is unwell (rather than the caller wrong).

    PEP 249's ``OperationalError`` and ``InterfaceError`` (by class name, so
    Django's, SQLAlchemy's and every driver's count), ``OSError`` and
    ``TimeoutError``; and an error of another class whose ``sqlstate`` is in
    class 08, 53, 57 or 58 (asyncpg, through SQLAlchemy, raises a plain
    ``Error`` for a statement timeout). Cancellation and other
    ``BaseException`` are not.
    """
    kind = type(exc)
    verdict = _verdicts.get(kind)
    if verdict is None:
        verdict = issubclass(kind, OSError | TimeoutError) or any(
            cls.__name__ in _FAILURE_NAMES for cls in kind.__mro__
        )
        if len(_verdicts) < 1024:
            _verdicts[kind] = verdict
    if not verdict and isinstance(exc, Exception):
        sqlstate = getattr(exc, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate[:2] in _FAILURE_SQLSTATES
    return verdict


def run(
    breaker: CircuitBreaker,
    fn: Callable[..., R],
    *args: Any,
    fd: int | None = None,
    timeout: float | None = None,
) -> R:
    """Call ``fn(*args)`` under ``breaker`` with the database failure rules.

    With ``fd`` and ``timeout``, the watchdog cuts the socket ``fd`` if the
    call still runs at :func:`watchdog_delay` of ``timeout``. It goes through
    ``breaker.call`` (its fast path when closed); an error that is not a
    failure is counted as a success and raised unchanged.

    Raises:
        CircuitOpenError: the breaker is open; ``fn`` is not called.
    """
    result = breaker.call(_judged, fn, args, fd, timeout)
    if type(result) is _Answered:
        raise result.error
    return result  # type: ignore[no-any-return]


class _Answered:
    """The database answered with the caller's error: a success for the breaker."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _judged(
    fn: Callable[..., R], args: tuple[Any, ...], fd: int | None, timeout: float | None
) -> Any:
    token = None if fd is None or timeout is None else watchdog.arm(fd, watchdog_delay(timeout))
    try:
        return fn(*args)
    except Exception as error:
        if is_failure(error):
            raise
        return _Answered(error)
    finally:
        if token is not None:
            watchdog.disarm(token)


def refuse_if_open(breaker: CircuitBreaker) -> None:
    """Raise ``CircuitOpenError`` if ``breaker`` rejects calls now; else do nothing.

    For the steps before a query that must not touch the network while the
    breaker is open (handing out a pooled connection) but are not calls of
    their own: nothing is admitted or counted, listeners hear the rejection.

    Raises:
        CircuitOpenError: the breaker is open (or forced open).
    """
    breaker.refuse_if_open()


def statement_timeout_sql(vendor: str, seconds: float, *, mariadb: bool = False) -> str | None:
    """The SQL that sets a session's statement timeout, or None if the backend has none.

    ``vendor``: ``"postgresql"`` (``statement_timeout``, milliseconds),
    ``"mysql"`` (MariaDB ``max_statement_time`` in seconds when ``mariadb``,
    else MySQL ``max_execution_time`` in milliseconds, which MySQL applies to
    ``SELECT`` only). SQLite and others: None.
    """
    millis = max(1, math.ceil(seconds * 1000))
    if vendor == "postgresql":
        return f"SET statement_timeout = {millis}"
    if vendor == "mysql":
        if mariadb:
            return f"SET SESSION max_statement_time = {millis / 1000:.3f}"
        return f"SET SESSION max_execution_time = {millis}"
    return None


def connect_options(vendor: str, seconds: float, *, driver: str = "") -> dict[str, Any]:
    """Connect arguments that bound a connect (and its handshake) at about ``seconds``.

    ``vendor``: ``"postgresql"`` (libpq's ``connect_timeout`` counts whole
    seconds and treats less than 2 as 2; asyncpg's ``timeout`` is a float) or
    ``"mysql"`` (``connect_timeout``; PyMySQL and mysqlclient also get a
    ``read_timeout`` because their ``connect_timeout`` covers the TCP connect
    only). Others: none. ``driver``: the DB-API module's name.
    """
    if vendor == "postgresql":
        if driver == "asyncpg":
            return {"timeout": seconds}
        return {"connect_timeout": max(2, math.ceil(seconds))}
    if vendor == "mysql":
        if driver in ("aiomysql", "asyncmy"):
            return {"connect_timeout": seconds}
        return {
            "connect_timeout": max(1, math.ceil(seconds)),
            "read_timeout": math.ceil(watchdog_delay(seconds)),
        }
    return {}


def watchdog_delay(timeout: float) -> float:
    """When the watchdog cuts a query: a little after ``timeout``, so the server cuts first."""
    return timeout + max(0.1, timeout * 0.1)


def socket_fd(connection: object) -> int | None:
    """The socket file descriptor of a DB-API connection, or None if it cannot be found.

    ``fileno()`` (psycopg, psycopg2, mysqlclient), PyMySQL's ``_sock``, and the
    transport of asyncio drivers (asyncpg, aiomysql).
    """
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

    ``token = watchdog.arm(fd, delay)`` before a query, ``watchdog.disarm(token)``
    after it. Both are one dictionary operation (no lock): the thread keeps
    no heap of finished queries. It sleeps until the earliest deadline it saw
    in flight (or for a second when none is), then looks again; an ``arm``
    wakes it only when its deadline is earlier than the one the thread sleeps
    towards (after a minute without queries, or for a shorter timeout). The
    thread starts on first use (again after a fork).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._live: dict[int, tuple[float, int]] = {}
        self._ids = itertools.count()
        self._wake_at = math.inf  # when the thread looks next; inf: idle or not started
        self._started = False
        self.cuts = 0
        """How many queries this watchdog has cut."""
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_thread(ref))

    def arm(self, fd: int, delay: float) -> int:
        """Cut the socket ``fd`` in ``delay`` seconds unless disarmed first; return a token."""
        deadline = self._clock() + delay
        token = next(self._ids)
        self._live[token] = (deadline, fd)
        if deadline < self._wake_at:
            with self._cond:
                if not self._started:
                    self._started = True
                    threading.Thread(
                        target=self._loop, name="breakerpanel-db-watchdog", daemon=True
                    ).start()
                self._wake_at = deadline
                self._cond.notify()
        return token

    def disarm(self, token: int) -> None:
        """Forget the query of ``token`` (finished in time): it is never cut after this."""
        self._live.pop(token, None)

    def _loop(self) -> None:
        empty_looks = 0
        with self._cond:
            while True:
                now = self._clock()
                earliest = math.inf
                for token, (deadline, fd) in list(self._live.items()):
                    if deadline <= now:
                        if self._live.pop(token, None) is not None:
                            self.cuts += 1
                            cut(fd)
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
