"""``guard(engine, breaker)``: every query and connect of an engine under one breaker.

Listens to SQLAlchemy's events only (no monkeypatching):

* ``do_connect``: a new DBAPI connection is opened under the breaker (nothing
  is opened while it is open), with the connect timeouts and, once open, the
  server's statement timeout.
* ``checkout`` (pool): while the breaker is open, a pooled connection handed
  out is closed at once (its socket shut down, so closing waits on nothing)
  and ``CircuitOpenError`` is raised: no query, no rollback reaches the
  server.
* ``before_cursor_execute`` / ``after_cursor_execute`` / ``handle_error``: each
  statement is one call of the breaker, judged by
  :func:`breaker_core.database.is_failure` (or a disconnect SQLAlchemy
  detected); the watchdog cuts it a little after the ``timeout``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from breaker_core import CircuitBreaker, ConfigurationError
from breaker_core.extension import Attempt, database
from breaker_sqlalchemy import connecting

__all__ = ["EngineGuard", "guard", "unguard"]

_CALL = "_breakerpanel_call"  # on the execution context: (attempt, watchdog token)

_guards: weakref.WeakKeyDictionary[Engine, EngineGuard] = weakref.WeakKeyDictionary()


class EngineGuard:
    """The listeners that guard one (sync) engine with ``breaker``; made by :func:`guard`."""

    def __init__(self, engine: Engine, breaker: CircuitBreaker) -> None:
        self.engine = engine
        self.breaker = breaker
        self._listeners: list[tuple[Any, str, Any]] = [
            (engine, "do_connect", self._do_connect),
            (engine.pool, "checkout", self._checkout),
            (engine, "before_cursor_execute", self._before),
            (engine, "after_cursor_execute", self._after),
            (engine, "handle_error", self._error),
        ]

    def install(self) -> None:
        """Listen to the engine's events."""
        for target, name, fn in self._listeners:
            event.listen(target, name, fn)

    def remove(self) -> None:
        """Stop listening: the engine runs unguarded again."""
        for target, name, fn in self._listeners:
            if event.contains(target, name, fn):
                event.remove(target, name, fn)

    # -- connections ---------------------------------------------------------------

    def _do_connect(
        self, dialect: Dialect, record: Any, cargs: list[Any], cparams: dict[str, Any]
    ) -> Any:
        timeout = self.breaker.config.timeout
        if timeout is not None:
            connecting.add_connect_options(dialect, cparams, timeout)
        connect = functools.partial(self._connect, dialect, cargs, cparams, timeout)
        return database.run(self.breaker, connect)

    @staticmethod
    def _connect(
        dialect: Dialect, cargs: list[Any], cparams: dict[str, Any], timeout: float | None
    ) -> Any:
        dbapi_connection = dialect.connect(*cargs, **cparams)
        if timeout is None:
            return dbapi_connection
        try:
            connecting.set_statement_timeout(dialect, dbapi_connection, timeout)
        except BaseException:
            dbapi_connection.close()
            raise
        return dbapi_connection

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if self.breaker.is_open:
            fd = database.socket_fd(self.engine.dialect.get_driver_connection(dbapi_connection))
            if fd is not None:
                database.cut(fd)  # the pool closes it next: with nothing to wait for
            database.refuse_if_open(self.breaker)

    # -- statements ------------------------------------------------------------------

    def _before(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        attempt = self.breaker.attempt()
        attempt.__enter__()  # raises CircuitOpenError while open: nothing is sent
        token = None
        timeout = self.breaker.config.timeout
        if timeout is not None:
            fd = database.socket_fd(conn.connection.driver_connection)
            if fd is not None:
                token = database.watchdog.arm(fd, database.watchdog_delay(timeout))
        setattr(context, _CALL, (attempt, token))

    def _after(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        attempt, _ = self._pop(context)
        if attempt is not None:
            attempt.__exit__(None, None, None)

    def _error(self, ctx: ExceptionContext) -> None:
        attempt, _ = self._pop(ctx.execution_context)
        if attempt is None:
            return  # not a statement of ours, or rejected before it was admitted
        exc = ctx.original_exception
        if ctx.is_disconnect and isinstance(exc, Exception) and not database.is_failure(exc):
            attempt.fail()  # SQLAlchemy saw the connection die under another error class
        database.settle(attempt, exc)

    @staticmethod
    def _pop(context: Any) -> tuple[Attempt | None, int | None]:
        call: tuple[Attempt, int | None] | None = getattr(context, _CALL, None)
        if call is None:
            return None, None
        setattr(context, _CALL, None)
        if call[1] is not None:
            database.watchdog.disarm(call[1])
        return call


def _sync_engine(engine: Engine | AsyncEngine) -> Engine:
    if isinstance(engine, AsyncEngine):
        return engine.sync_engine
    if isinstance(engine, Engine):
        return engine
    raise ConfigurationError(
        f"guard(engine=...): expected a SQLAlchemy Engine or AsyncEngine, got {engine!r}"
    )


def guard(engine: Engine | AsyncEngine, breaker: CircuitBreaker) -> EngineGuard:
    """Run every query and new connection of ``engine`` under ``breaker``.

    Call it once, right after creating the engine. Listeners of ``do_connect``
    added later than this do not run (this one opens the connection).

    Raises:
        ConfigurationError: ``engine`` is not an ``Engine``/``AsyncEngine``,
            ``breaker`` is not a ``CircuitBreaker``, or the engine is already
            guarded by another breaker.
    """
    if not isinstance(breaker, CircuitBreaker):
        raise ConfigurationError(
            f"guard(breaker=...): expected a CircuitBreaker (registry[name]), got {breaker!r}"
        )
    sync_engine = _sync_engine(engine)
    current = _guards.get(sync_engine)
    if current is not None:
        if current.breaker is breaker:
            return current
        raise ConfigurationError(
            f"guard(): engine {sync_engine.url!r} is already guarded by breaker "
            f"{current.breaker.name!r}; expected one breaker per engine, got {breaker.name!r}"
        )
    installed = EngineGuard(sync_engine, breaker)
    installed.install()
    _guards[sync_engine] = installed
    return installed


def unguard(engine: Engine | AsyncEngine) -> None:
    """Remove the guard of ``engine`` (nothing happens if it has none)."""
    installed = _guards.pop(_sync_engine(engine), None)
    if installed is not None:
        installed.remove()
