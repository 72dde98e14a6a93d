"""``guard(engine, breaker)``: every query and connect of an engine under one breaker.

Listens to SQLAlchemy's events only (no monkeypatching):

* ``do_connect``: a new DBAPI connection is opened under the breaker (nothing
  is opened while it is open), with the connect timeouts and, once open, the
  server's statement timeout.
* ``checkout`` (pool): while the breaker is open, a pooled connection handed
  out is closed at once (its socket shut down, so closing waits on nothing)
  and ``CircuitOpenError`` is raised: no query, no rollback reaches the
  server.
* ``do_execute`` / ``do_execute_no_params`` / ``do_executemany``: each
  statement (the DBAPI call itself) is one call of the breaker, judged by
  :func:`breaker_core.database.is_failure`; the watchdog cuts it a little
  after the ``timeout``.

Per statement: one ``breaker.call`` and the watchdog's arm and disarm; the
dialect's methods are bound once, the watchdog's delay is worked out once per
config of the breaker, and the watchdog is handed the statement's SQLAlchemy
``Connection`` (its pooled connection, a property, and the socket are looked
up only for a statement it cuts).

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

_guards: weakref.WeakKeyDictionary[Engine, EngineGuard] = weakref.WeakKeyDictionary()


class EngineGuard:
    """The listeners that guard one (sync) engine with ``breaker``; made by :func:`guard`."""

    def __init__(self, engine: Engine, breaker: CircuitBreaker) -> None:
        self.engine = engine
        self.breaker = breaker
        self._listeners: list[tuple[Any, str, Any]] = [
            (engine, "do_connect", self._do_connect),
            (engine.pool, "checkout", self._checkout),
            (engine, "do_execute", self._execute),
            (engine, "do_execute_no_params", self._execute_no_params),
            (engine, "do_executemany", self._executemany),
        ]
        dialect = engine.dialect
        self._do_execute = dialect.do_execute
        self._do_execute_no_params = dialect.do_execute_no_params
        self._do_executemany = dialect.do_executemany
        self._watch = database.SocketCheck()  # whether its connections have a socket
        self._config: object = None  # the breaker's config that _delay was worked out for
        self._delay: float | None = None  # the watchdog's delay; None: no timeout

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

    def _execute(self, cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return self._run(self._do_execute, context, (cursor, statement, parameters, context))

    def _execute_no_params(self, cursor: Any, statement: str, context: Any) -> bool:
        return self._run(self._do_execute_no_params, context, (cursor, statement, context))

    def _executemany(self, cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return self._run(self._do_executemany, context, (cursor, statement, parameters, context))

    def _run(self, execute: Any, context: Any, args: tuple[Any, ...]) -> bool:
        """One statement under the breaker (CircuitOpenError while open: nothing is sent).

        The watchdog gets the statement's SQLAlchemy ``Connection`` (its socket is
        looked up only if it cuts); whether the engine's connections have a socket
        at all (SQLite's have none) is learned at the first statement.
        """
        breaker = self.breaker
        config = breaker.config
        if config is not self._config:  # the first statement, or the breaker was reconfigured
            timeout = config.timeout
            self._delay = None if timeout is None else database.watchdog_delay(timeout)
            self._config = config
        delay = self._delay
        if delay is None:
            database.run_watched(breaker, execute, args, None, 0.0)
        else:
            connection = self._watch.watched(context.root_connection)
            database.run_watched(breaker, execute, args, connection, delay)
        return True


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
