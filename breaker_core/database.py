"""What every database guard agrees on: which errors fail, how a query runs, when it is cut.

The Django and SQLAlchemy integrations translate their hooks into these
helpers, so a database breaker means the same thing everywhere:

* :func:`is_failure`: connection and timeout errors (PEP 249's
  ``OperationalError`` and ``InterfaceError``, however a framework wraps them,
  and ``OSError``/``TimeoutError`` raised while connecting) are failures; every
  other error (``IntegrityError``, ``ProgrammingError``, ``DataError``...) is
  the caller's: the database answered, so the call counts as a success.
* :func:`run`: one guarded call (a query or a connect) under a breaker;
  :func:`run_watched`, the same for a guard's statements, with the watchdog's
  delay worked out beforehand (positional: no keywords to build per query).
* :func:`refuse_if_open`: reject before any I/O while the breaker is open,
  without taking a slot when it is not.
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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from breaker_core.db_timeouts import connect_options, statement_timeout_sql
from breaker_core.db_watchdog import (
    SocketCheck,
    Watchdog,
    cut,
    socket_fd,
    watchdog,
    watchdog_delay,
)

if TYPE_CHECKING:
    from breaker_core.breaker import CircuitBreaker

__all__ = [
    "SocketCheck",
    "Watchdog",
    "connect_options",
    "cut",
    "is_failure",
    "refuse_if_open",
    "run",
    "run_watched",
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
    connection: object | None = None,
    timeout: float | None = None,
) -> R:
    """Call ``fn(*args)`` under ``breaker`` with the database failure rules.

    With ``connection`` (a DB-API connection, a pool's proxy of one, or its
    socket's file descriptor) and ``timeout``, the watchdog cuts its socket if
    the call still runs at :func:`watchdog_delay` of ``timeout``. It goes
    through ``breaker.call`` (its fast path when closed); an error that is not
    a failure is counted as a success and raised unchanged.

    Raises:
        CircuitOpenError: the breaker is open; ``fn`` is not called.
    """
    if timeout is None:
        return run_watched(breaker, fn, args, None, 0.0)
    return run_watched(breaker, fn, args, connection, watchdog_delay(timeout))


def run_watched(
    breaker: CircuitBreaker,
    fn: Callable[..., R],
    args: tuple[Any, ...],
    connection: object | None,
    delay: float,
) -> R:
    """:func:`run` for a guard's statements: ``fn(*args)``, watched on ``connection``.

    ``delay`` is :func:`watchdog_delay` of the dependency's ``timeout``, which
    the guard works out once (not per statement); with ``connection`` None
    (no timeout, or a driver without a socket) nothing is watched.

    Raises:
        CircuitOpenError: the breaker is open; ``fn`` is not called.
    """
    result = breaker.call(_watched, fn, args, connection, delay)
    if type(result) is _Answered:
        raise result.error
    return result  # type: ignore[no-any-return]


def _watched(fn: Callable[..., R], args: tuple[Any, ...], connection: object, delay: float) -> Any:
    try:
        if connection is None:
            return fn(*args)
        return watchdog.watch(fn, args, connection, delay)
    except Exception as error:
        if is_failure(error):
            raise
        return _Answered(error)


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
