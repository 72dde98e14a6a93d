"""``guard(engine, breaker)``: every query and connect of an engine under one breaker.

Listens to SQLAlchemy's events only (no monkeypatching):

* ``do_connect``: a new DBAPI connection is opened under the breaker (nothing
  is opened while it is open), with the connect timeouts and, once open, the
  server's statement timeout.
* ``checkout`` (pool): a breaker reconfigured since the last checkout has its
  ``timeout`` read again for the statements (not per statement). While the
  breaker is open, a pooled connection handed out is closed at once (its
  socket shut down, so closing waits on nothing) and ``CircuitOpenError`` is
  raised: no query, no rollback reaches the server.
* ``do_execute`` / ``do_execute_no_params`` / ``do_executemany``: each
  statement (the DBAPI call itself) is one call of the breaker, judged by
  :func:`breaker_core.database.is_failure`; the watchdog cuts it a little
  after the ``timeout``.

Per statement: the listener is :meth:`breaker_core.database.Statements.handle`
itself, bound to a ``Statements`` of that event whose ``fn`` is the
dialect's method (one frame: the breaker's closed path and the watchdog's
slot armed and disarmed, then True, "executed"); the statement's socket is
found (through its SQLAlchemy ``Connection`` and pooled connection, a
property) only for a statement the watchdog cuts.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from breaker_core import CircuitBreaker, ConfigurationError
from breaker_core.extension import database
from breaker_sqlalchemy import connecting

__all__ = ["EngineGuard", "guard", "unguard"]

# Each guarded engine's guard, held weakly: the engine holds its guard (through its listeners),
# and a guard held here would hold its engine for good (a weak key's value must not hold it).
_guards: weakref.WeakKeyDictionary[Engine, weakref.ref[EngineGuard]] = weakref.WeakKeyDictionary()


class EngineGuard:
    """The listeners that guard one (sync) engine with ``breaker``; made by :func:`guard`."""

    def __init__(self, engine: Engine, breaker: CircuitBreaker) -> None:
        self.engine = engine
        self.breaker = breaker
        dialect = engine.dialect
        # One Statements per DBAPI-call event, its listener its bound handle (one frame a
        # statement): the dialect's method it calls is its fn.
        self._statements = [
            database.Statements(breaker, _socket_of, dialect.do_execute),
            database.Statements(breaker, _socket_of, dialect.do_execute_no_params),
            database.Statements(breaker, _socket_of, dialect.do_executemany),
        ]
        execute, execute_no_params, executemany = self._statements
        self._listeners: list[tuple[Any, str, Any]] = [
            (engine, "do_connect", self._do_connect),
            (engine.pool, "checkout", self._checkout),
            (engine, "do_execute", execute.handle),
            (engine, "do_execute_no_params", execute_no_params.handle),
            (engine, "do_executemany", executemany.handle),
        ]
        self._config = breaker.config  # the config the statements' timeout was read from

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
        if database.closed_with(self.breaker, self._config):
            return  # closed, not reconfigured: nothing to do (one call, no property read)
        config = self.breaker.config
        if config is not self._config:  # reconfigured: read for this checkout's statements
            self._config = config
            for statements in self._statements:
                statements.follow()
        if self.breaker.is_open:
            driver_connection = self.engine.dialect.get_driver_connection(dbapi_connection)
            fd = database.socket_fd(driver_connection)
            if fd is not None:
                database.cut(fd)  # the pool closes it next: with nothing to wait for
            database.refuse_if_open(self.breaker)


def _socket_of(args: tuple[Any, ...]) -> int | None:
    """The socket of a statement's driver connection (``args[-1]``: its execution context).

    Through the context's SQLAlchemy ``Connection`` and its pooled connection
    (a property, read only here: at the first statement, and to cut one).
    """
    try:
        pooled = args[-1].root_connection.connection
    except Exception:  # closed or invalidated: no socket to cut
        return None
    return database.socket_fd(pooled.driver_connection)


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
    current = _guard_of(sync_engine)
    if current is not None:
        if current.breaker is breaker:
            return current
        raise ConfigurationError(
            f"guard(): engine {sync_engine.url!r} is already guarded by breaker "
            f"{current.breaker.name!r}; expected one breaker per engine, got {breaker.name!r}"
        )
    installed = EngineGuard(sync_engine, breaker)
    installed.install()
    _guards[sync_engine] = weakref.ref(installed)
    return installed


def _guard_of(engine: Engine) -> EngineGuard | None:
    ref = _guards.get(engine)
    return None if ref is None else ref()


def unguard(engine: Engine | AsyncEngine) -> None:
    """Remove the guard of ``engine`` (nothing happens if it has none)."""
    sync_engine = _sync_engine(engine)
    installed = _guard_of(sync_engine)
    _guards.pop(sync_engine, None)
    if installed is not None:
        installed.remove()
