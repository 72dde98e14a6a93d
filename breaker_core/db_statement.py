"""The database statements' call forms: a closed statement counted in one frame.

:func:`run` is :meth:`breaker_core.database.Statements.run` (Django's
``execute_wrapper``), :func:`handle` is
:meth:`breaker_core.database.Statements.handle` (SQLAlchemy's listeners of
the DBAPI-call events, which it is, as a bound method). While the
breaker is closed and plain (no listener or gate, no attempt holding it, no
bulkhead: the conditions of ``CircuitBreaker.call``'s own fast path) it arms
the watchdog's slot, calls the driver, gives the slot back and counts the
outcome as ``call`` would (a success on the phase's tally, or under the lock
with shared storage, whose store hears of each; a failure through the
breaker's ``_count_failure``), without the two
frames and the argument packing of ``breaker.call(_watched, ...)``. A watched
statement reads the clock once: its success is counted at the reading its
deadline was worked out from, unless the breaker has a clock of its own
(:func:`own_clock`: tests), whose reading after the statement counts it, as
``call`` would.
Everything else goes through ``breaker.call`` (``Statements._run``). The two
differ in what they are given and return: :func:`run` the driver's call and
its arguments, returning its result; :func:`handle` the arguments only (the
call is the ``Statements``' own ``fn``), returning True (SQLAlchemy's "the
statement was executed").

Part of the machine's call forms (like ``breaker.py`` and ``attempt.py``):
it reads the breaker's private state, so it is checked with the machine
(``tests/core/test_machine_boundary.py``), and ``tests/core/test_database.py``
runs one script of outcomes through it and through ``breaker.call`` and
compares the counts after each statement.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from breaker_core.db_watchdog import watchdog

if TYPE_CHECKING:
    from breaker_core.breaker import CircuitBreaker
    from breaker_core.db_watchdog import Watch
    from breaker_core.phase import _Phase

__all__ = ["closed_with", "direct", "handle", "is_failure", "own_clock", "run"]

R = TypeVar("R")

_clock = watchdog.clock


class _Statements(Protocol):
    """What :func:`run` reads of ``breaker_core.database.Statements`` (its ``self``)."""

    breaker: CircuitBreaker | None
    fn: Callable[..., Any]
    _direct: CircuitBreaker | None
    _delay: float | None
    _free: deque[Watch]
    _own_clock: bool

    def _slot(self) -> Watch: ...

    def _run(self, fn: Callable[..., R], args: tuple[Any, ...]) -> R: ...


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


def direct(breaker: CircuitBreaker) -> CircuitBreaker | None:
    """``breaker`` if its statements may take :func:`run`'s own closed path, else None.

    None with a bulkhead (``max_concurrent``): its slots are taken in
    ``breaker.call``. A breaker keeps its bulkhead for life (``max_concurrent``
    cannot change on a live breaker), so this is asked once per ``Statements``
    and timeout, not per statement.
    """
    return breaker if breaker._tokens is None else None


def closed_with(breaker: CircuitBreaker, config: object) -> bool:
    """True if ``breaker`` is closed and its config is ``config`` (the same object).

    A guard's check per pooled connection handed out, in one call: then it has
    nothing to do (nothing to refuse, no timeout to read again); else it asks
    ``breaker.config`` and ``breaker.is_open`` (two properties) as before.
    """
    return breaker._phase.closed and breaker._config is config


def own_clock(breaker: CircuitBreaker) -> bool:
    """True if ``breaker``'s clock is not the watchdog's (a clock given to it: tests).

    Then a watched statement's success is counted at a reading of the
    breaker's own clock after it; else at the reading its deadline was worked
    out from, before it (one reading a statement). A breaker keeps its clock
    for life, so this is asked once per ``Statements``.
    """
    return breaker._clock is not _clock


def run(statements: _Statements, fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)`` under the breaker, watched; an error that is not a failure is raised.

    While the breaker is closed and plain, the statement takes the breaker's
    closed fast path here, in this one frame; anything else goes through
    ``breaker.call`` (or, for statements whose breaker was resolved to none,
    runs unguarded). The form of a Django ``execute_wrapper``
    (``wrapper(execute, sql, params, many, context)``), bound to a
    ``Statements``: ``statements.run`` is the wrapper itself, no frame between.

    Raises:
        CircuitOpenError: the breaker is open; ``fn`` is not called (nothing is sent).
    """
    breaker = statements._direct
    if breaker is None:  # the delay to be worked out, or a bulkhead
        return statements._run(fn, args)
    phase = breaker._phase
    if not phase.closed or breaker._fast_read is not None or breaker._holding:
        return statements._run(fn, args)
    delay = statements._delay
    if delay is None:
        try:
            result = fn(*args)
        except BaseException as error:
            _count_error(breaker, phase, error)
            raise
        clock = breaker._clock
        now = clock()
    else:
        free = statements._free  # a deque: pop and append are atomic and allocate nothing
        try:
            slot = free.pop()
        except IndexError:  # more statements in flight at once than ever before
            slot = statements._slot()
        now = _clock()
        deadline = now + delay
        slot.deadline = deadline
        slot.args = args
        if deadline < watchdog.wake_at:
            watchdog.wake(deadline)
        try:
            result = fn(*args)
        except BaseException as error:
            slot.args = None
            free.append(slot)
            _count_error(breaker, phase, error)
            raise
        slot.args = None
        free.append(slot)
        if statements._own_clock:  # the breaker's clock is not the watchdog's: read it
            clock = breaker._clock
            now = clock()
    tally = phase.tally
    if now < tally.until:  # breaker.call's count of a closed success: see there
        next(tally.count)
    else:
        breaker._count_success(phase, now)
    return result


def handle(statements: _Statements, *args: Any) -> bool:
    """``statements.fn(*args)`` as :func:`run` calls a statement; True once it has run.

    The form of a SQLAlchemy ``do_execute`` / ``do_execute_no_params`` /
    ``do_executemany`` listener, bound to a ``Statements`` whose ``fn`` is the
    dialect's method: the arguments arrive as one tuple (the watch slot's),
    and returning True tells SQLAlchemy the statement was executed. The same
    path as :func:`run`, written out again so that it is one frame.

    Raises:
        CircuitOpenError: the breaker is open; ``fn`` is not called (nothing is sent).
    """
    breaker = statements._direct
    if breaker is None:  # the delay to be worked out, or a bulkhead
        statements._run(statements.fn, args)
        return True
    phase = breaker._phase
    if not phase.closed or breaker._fast_read is not None or breaker._holding:
        statements._run(statements.fn, args)
        return True
    delay = statements._delay
    if delay is None:
        try:
            statements.fn(*args)
        except BaseException as error:
            _count_error(breaker, phase, error)
            raise
        clock = breaker._clock
        now = clock()
    else:
        free = statements._free
        try:
            slot = free.pop()
        except IndexError:
            slot = statements._slot()
        now = _clock()
        deadline = now + delay
        slot.deadline = deadline
        slot.args = args
        if deadline < watchdog.wake_at:
            watchdog.wake(deadline)
        try:
            statements.fn(*args)
        except BaseException as error:
            slot.args = None
            free.append(slot)
            _count_error(breaker, phase, error)
            raise
        slot.args = None
        free.append(slot)
        if statements._own_clock:  # the breaker's clock is not the watchdog's: read it
            clock = breaker._clock
            now = clock()
    tally = phase.tally
    if now < tally.until:  # breaker.call's count of a closed success: see there
        next(tally.count)
    else:
        breaker._count_success(phase, now)
    return True


def _count_error(breaker: CircuitBreaker, phase: _Phase, error: BaseException) -> None:
    """Count ``error`` (being handled) of a statement on :func:`run`'s fast path.

    A failure (:func:`is_failure`), or a ``BaseException`` that is not an
    ``Exception`` (cancellation), goes to the breaker's ``_count_failure``, as
    it would from ``breaker.call``; the caller's error is a success. Never raises.
    """
    if isinstance(error, Exception) and not is_failure(error):
        now = breaker._clock()
        tally = phase.tally
        if now < tally.until:
            next(tally.count)
        else:
            breaker._count_success(phase, now)
        return
    breaker._count_failure(phase)
