"""What every database guard agrees on: which errors fail, how a query runs, when it is cut.

The Django and SQLAlchemy integrations translate their hooks into these
helpers, so a database breaker means the same thing everywhere:

* :func:`is_failure`: connection and timeout errors (PEP 249's
  ``OperationalError`` and ``InterfaceError``, however a framework wraps them,
  and ``OSError``/``TimeoutError`` raised while connecting) are failures; every
  other error (``IntegrityError``, ``ProgrammingError``, ``DataError``...) is
  the caller's: the database answered, so the call counts as a success.
* :func:`run`: one guarded call (a query or a connect) under a breaker.
* :class:`Statements`: a guard's statements, each one call of its breaker
  (on its fast path when closed) and watched by the watchdog; what the
  Django and SQLAlchemy guards both hand each statement to (their wrapper or
  listener is its bound method itself). Its breaker may be resolved at the
  statements' first and after each :meth:`Statements.follow` (a Django alias's).
* :func:`refuse_if_open`: reject before any I/O while the breaker is open,
  without taking a slot when it is not.
* :func:`closed_with`: the breaker closed with the config a guard last read
  (a pooled connection's checkout has nothing to do), in one call.
* :func:`statement_timeout_sql` and :func:`connect_options`
  (:mod:`breaker_core.db_timeouts`): what makes the server cut a query, and
  the driver give up connecting, at the dependency's ``timeout``.
* :class:`Watchdog` (:mod:`breaker_core.db_watchdog`): cuts a query the server
  cannot cut (a hung server, a black-holed network) by shutting its socket
  down a little after the ``timeout``, so a query never waits longer than that.

Standard library only, like the rest of the engine.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from breaker_core import db_statement
from breaker_core.db_statement import closed_with, is_failure
from breaker_core.db_timeouts import connect_options, statement_timeout_sql
from breaker_core.db_watchdog import Watch, Watchdog, cut, socket_fd, watchdog, watchdog_delay

if TYPE_CHECKING:
    from breaker_core.breaker import CircuitBreaker

__all__ = [
    "Statements",
    "Watch",
    "Watchdog",
    "closed_with",
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


def _unset(*args: Any) -> Any:
    """The ``fn`` of a ``Statements`` built without one: :meth:`Statements.handle` refuses."""
    raise TypeError("Statements.handle: this Statements was built without fn")


def run(
    breaker: CircuitBreaker,
    fn: Callable[..., R],
    *args: Any,
    connection: object | None = None,
    timeout: float | None = None,
) -> R:
    """Call ``fn(*args)`` under ``breaker`` with the database failure rules.

    With ``connection`` (a driver's connection, or its socket's file
    descriptor) and ``timeout``, the watchdog cuts its socket if the call
    still runs at :func:`watchdog_delay` of ``timeout``. It goes through
    ``breaker.call`` (its fast path when closed); an error that is not a
    failure is counted as a success and raised unchanged.

    Raises:
        CircuitOpenError: the breaker is open; ``fn`` is not called.
    """
    if timeout is None or connection is None:
        result = breaker.call(_judged, fn, args)
    else:
        token = watchdog.arm(connection, watchdog_delay(timeout))
        try:
            result = breaker.call(_judged, fn, args)
        finally:
            watchdog.disarm(token)
    if type(result) is _Answered:
        raise result.error
    return result  # type: ignore[no-any-return]


class Statements:
    """A guard's statements: each one call of ``breaker``, watched a little past its timeout.

    ``statements.run(fn, *args)`` calls ``fn(*args)`` (the driver's execute)
    through ``breaker.call`` with the failure rules of :func:`is_failure` (a
    Django ``execute_wrapper``, as a bound method); ``statements.handle(*args)``
    calls the ``fn`` given here the same way and returns True (a SQLAlchemy
    DBAPI-call listener, as a bound method).
    When the breaker has a ``timeout`` and the driver's connections have a
    socket (``socket_of(args)``, asked once, at the first statement: SQLite's
    have none), the watchdog cuts a statement's socket at
    :func:`watchdog_delay` of it. ``socket_of(args)`` returns the socket file
    descriptor of the statement of ``args``, or None, and must not raise; the
    watchdog calls it again only to cut. The timeout is read at the first
    statement and after :meth:`follow` (the guard calls it when the breaker
    may have been reconfigured): not per statement. Statements may run on
    many threads or tasks at once: each takes a :class:`Watch` slot of its
    own, kept for the next one.

    With ``resolve``, the breaker is not fixed: ``resolve(statements)`` names it
    (or None: the statements run unguarded) at the first statement and at the
    first after each :meth:`follow`, together with its timeout. A ``resolve``
    that cannot tell yet calls ``statements.follow()`` itself: the next
    statement asks again. A :meth:`follow` that lands while a statement is
    resolving is never lost: that statement's answer is used for itself only,
    and the next one resolves again.
    """

    __slots__ = (
        "__weakref__",  # a guard may keep its statements weakly (Django's, to tell them)
        "_delay",
        "_direct",
        "_free",
        "_has_socket",
        "_own_clock",
        "_resolve",
        "_seen",
        "_socket_of",
        "_wanted",
        "breaker",
        "fn",
    )

    def __init__(
        self,
        breaker: CircuitBreaker | None,
        socket_of: Callable[[tuple[Any, ...]], int | None],
        fn: Callable[..., Any] = _unset,
        *,
        resolve: Callable[[Statements], CircuitBreaker | None] | None = None,
    ) -> None:
        self.breaker = breaker
        """The breaker of the statements (None: unguarded, as ``resolve`` last said)."""
        self.fn = fn
        """What :meth:`handle` calls (not needed for :meth:`run`)."""
        self._socket_of = socket_of
        self._resolve = resolve
        # The watchdog's delay (None: nothing watched: no timeout or no socket, or no
        # breaker), as last worked out. Stale (to be worked out again at the next statement)
        # while _seen != _wanted: at first, and after follow(), which bumps _wanted; _seen is
        # the _wanted the delay (and breaker) were worked out at. Never unset once known, so
        # a statement that races follow() runs with the delay before it.
        self._delay: float | None = None
        self._wanted = next(_follows)
        self._seen = 0
        # The breaker while the statements may take the one-frame closed path of run and
        # handle (their first test); None while stale, with no breaker, and with a bulkhead.
        self._direct: CircuitBreaker | None = None
        self._has_socket: bool | None = None  # None: not known before the first statement
        self._free: deque[Watch] = deque()  # slots not in use
        # A watched statement's success is counted at its deadline's clock reading unless
        # the breaker has a clock of its own (see db_statement.own_clock).
        self._own_clock = breaker is not None and db_statement.own_clock(breaker)

    run = db_statement.run
    handle = db_statement.handle

    def _run(self, fn: Callable[..., R], args: tuple[Any, ...]) -> R:
        """:meth:`run` through ``breaker.call``: not closed, not plain, or not known yet."""
        if self._seen != self._wanted:
            breaker, delay = self._follow(args)
        else:
            breaker, delay = self.breaker, self._delay
        if breaker is None:  # resolved to no breaker: unguarded
            return fn(*args)
        if delay is None:
            result = breaker.call(_judged, fn, args)
        else:
            result = breaker.call(_watched, fn, args, self, delay)
        if type(result) is _Answered:
            raise result.error
        return result  # type: ignore[no-any-return]

    def follow(self) -> None:
        """Work the breaker (with ``resolve``) and its ``timeout`` out again at the next statement.

        Safe from any thread, at any time (the breaker was reconfigured, or the
        registry ``resolve`` reads changed).
        """
        # A number never stored before (not += 1: two at once could store one number, and
        # a statement resolving between them could see it and keep its fast path cleared
        # with nothing stale, every statement then on the slow path until the next follow).
        self._wanted = next(_follows)
        self._direct = None

    @property
    def delay(self) -> float | None:
        """The watchdog's delay for the statements (None: not watched); known after the first."""
        return None if self._seen != self._wanted else self._delay

    def _follow(self, args: tuple[Any, ...]) -> tuple[CircuitBreaker | None, float | None]:
        """Work out the breaker (with ``resolve``) and the delay; publish them unless followed."""
        seen = self._wanted  # read first: a follow() from now on leaves the statements stale
        breaker = self.breaker if self._resolve is None else self._resolve(self)
        if breaker is None:
            delay = None
        else:
            if self._has_socket is None:
                self._has_socket = self._socket_of(args) is not None
            timeout = breaker.config.timeout
            delay = watchdog_delay(timeout) if timeout is not None and self._has_socket else None
        if breaker is not self.breaker:
            self._own_clock = breaker is not None and db_statement.own_clock(breaker)
            self.breaker = breaker
        self._delay = delay  # before _direct: a statement that finds _direct finds this delay
        self._seen = seen
        self._direct = None if breaker is None else db_statement.direct(breaker)
        if self._wanted != seen:  # followed meanwhile (its _direct = None may come before ours)
            self._direct = None
        return breaker, delay

    def _slot(self) -> Watch:
        """A slot for one more statement in flight at once (kept in ``_free`` after it)."""
        return watchdog.watch_slot(self._socket_of)


def _judged(fn: Callable[..., R], args: tuple[Any, ...]) -> Any:
    try:
        return fn(*args)
    except Exception as error:
        if is_failure(error):
            raise
        return _Answered(error)


def _watched(
    fn: Callable[..., R], args: tuple[Any, ...], statements: Statements, delay: float
) -> Any:
    """``fn(*args)`` judged, with a watch slot armed: inline, no call per arm or disarm."""
    free = statements._free
    try:
        slot = free.pop()
    except IndexError:
        slot = statements._slot()
    deadline = _clock() + delay
    slot.deadline = deadline
    slot.args = args
    if deadline < watchdog.wake_at:
        watchdog.wake(deadline)
    try:
        return fn(*args)
    except Exception as error:
        if is_failure(error):
            raise
        return _Answered(error)
    finally:
        slot.args = None
        free.append(slot)


_clock = watchdog.clock
_follows = itertools.count(1)
"""The numbers of ``Statements._wanted``: each one stored once (``next`` is atomic), never 0."""


class _Answered:
    """The database answered with the caller's error: a success for the breaker."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def refuse_if_open(breaker: CircuitBreaker) -> None:
    """Raise ``CircuitOpenError`` if ``breaker`` rejects calls now; else do nothing.

    For the steps before a query that must not touch the network while the
    breaker is open (handing out a pooled connection) but are not calls of
    their own: nothing is admitted or counted, listeners hear the rejection.

    Raises:
        CircuitOpenError: the breaker is open (or forced open).
    """
    breaker.refuse_if_open()
