"""Guard every query on a ``DATABASES`` alias: ``BREAKERS["dependencies"][name]["database"]``.

A dependency with ``"database": "default"`` runs each query on that alias
(Django's ``execute_wrapper``) and each new connection to it under its
breaker. ``OperationalError`` and ``InterfaceError`` are failures; every other
error (``IntegrityError``, ``ProgrammingError``...) is the caller's and counts
as a success. While the breaker is open a query raises ``CircuitOpenError``
before any I/O; the middleware answers it with a 503 (or a kept page) and a
``{% breaker %}`` block degrades.

The dependency's ``timeout`` becomes the connect timeout, the server's
statement timeout (PostgreSQL ``statement_timeout``, MariaDB
``max_statement_time``, MySQL ``max_execution_time``) and the deadline of a
watchdog that cuts a query the server cannot cut (a hung server or network).

The guard is installed on a connection object of the alias when it connects
(``connection_created``), when a request starts (``request_started``) and for
the thread that runs ``ready()``. Its execute wrapper is the bound
``run`` of a :class:`~breaker_core.database.Statements` (one frame a
statement); the alias's breaker is resolved at its first statement and is not
checked again per statement: the guards are told (``follow()``) when the
registry built from settings is reconfigured (by ``setting_changed`` or any
other caller of ``reconfigure``) or forgotten (:func:`breaker_django.conf.reload`),
and their next statement resolves it again. See ``docs/databases.md``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.core.checks import CheckMessage, Error, register  # type: ignore[import-untyped]
from django.core.signals import request_started  # type: ignore[import-untyped]
from django.db import connections  # type: ignore[import-untyped]
from django.db.backends.signals import connection_created  # type: ignore[import-untyped]

from breaker_core import CircuitBreaker, ConfigurationError, Registry
from breaker_core.extension import database, describe, docs_url, key_path, on_reconfigure
from breaker_django import conf

__all__ = [
    "check_databases",
    "database_problems",
    "guard_connection",
    "guard_thread",
    "guarded_aliases",
    "install",
]

_MARK = "_breakerpanel_guard"
_DEPENDENCIES = 'BREAKERS["dependencies"]'

_cached: tuple[Registry | None, int, dict[str, CircuitBreaker]] = (None, -1, {})


def guarded_aliases(registry: Registry) -> dict[str, CircuitBreaker]:
    """``{alias: breaker}`` for every dependency of ``registry`` with a ``database``."""
    global _cached
    cached_registry, generation, mapping = _cached
    if cached_registry is registry and generation == registry.generation:
        return mapping
    mapping = {}
    for breaker in registry.breakers():
        alias = breaker.config.database
        if isinstance(alias, str):  # True: a database guarded in code (SQLAlchemy), no alias
            mapping.setdefault(alias, breaker)
            _default_connect_timeout(alias, breaker.config.timeout)
    _cached = (registry, registry.generation, mapping)
    return mapping


def _default_connect_timeout(alias: str, timeout: float | None) -> None:
    """Give the alias's ``OPTIONS`` a ``connect_timeout`` unless it has one.

    This reaches the connections that are opened before the guard is on
    their connection object (the first one of a thread outside a request).
    """
    if timeout is None or alias not in connections.settings:
        return
    options = connections.settings[alias].setdefault("OPTIONS", {})
    engine = str(connections.settings[alias].get("ENGINE", ""))
    vendor = "postgresql" if engine.endswith(("postgresql", "postgis")) else ""
    vendor = "mysql" if engine.endswith("mysql") else vendor
    for key, value in database.connect_options(vendor, timeout).items():
        options.setdefault(key, value)


def _breaker_for(alias: str) -> CircuitBreaker | None:
    try:
        registry = conf.get_registry()
    except ConfigurationError:
        return None  # the system checks report it; queries are not guarded meanwhile
    return guarded_aliases(registry).get(alias)


def _socket_of(args: tuple[Any, ...]) -> int | None:
    """The socket of the statement of ``args`` (``sql, params, many, context``): the watchdog's."""
    return database.socket_fd(args[3]["connection"].connection)


# Every guard's Statements (one per connection object: one alias, one thread), held weakly:
# a connection object that goes holds its guard no more. The lock keeps an iteration from
# meeting an addition on another thread.
_guards: weakref.WeakSet[database.Statements] = weakref.WeakSet()
_guards_lock = threading.Lock()


def _resolve(alias: str, statements: database.Statements) -> CircuitBreaker | None:
    """A guard's ``resolve``: the breaker of ``alias`` now (:func:`_breaker_for`).

    The registry is built there if it is not yet; while it cannot be (invalid
    settings) the statements run unguarded. Not asked again per statement:
    ``conf`` keeps the error until :func:`~breaker_django.conf.reload` (a
    settings change), which tells the guards.
    """
    return _breaker_for(alias)


def _follow_all(registry: Registry | None = None) -> None:
    """Tell every guard that the registry changed: its next statement resolves its breaker again.

    Called when the registry built from settings is reconfigured (whoever calls
    ``reconfigure``) and when it is forgotten (:func:`breaker_django.conf.reload`).
    """
    with _guards_lock:
        guards = list(_guards)
    for statements in guards:
        statements.follow()


def _watch(registry: Registry) -> None:
    """``conf.on_build`` hook: follow every reconfigure of a registry built from settings."""
    on_reconfigure(registry, _follow_all)


conf.on_build(_watch)
conf.on_reload(_follow_all)
if conf.built.registry is not None:  # built before this module was imported
    _watch(conf.built.registry)


def _connect(connection: Any, conn_params: dict[str, Any]) -> Any:
    """``get_new_connection`` of a guarded connection object: connect under the breaker."""
    connect = type(connection).get_new_connection
    breaker = _breaker_for(connection.alias)
    if breaker is None:
        return connect(connection, conn_params)
    timeout = breaker.config.timeout
    if timeout is not None:
        for key, value in database.connect_options(connection.vendor, timeout).items():
            conn_params.setdefault(key, value)
    return database.run(breaker, connect, connection, conn_params)


def guard_connection(connection: Any) -> None:
    """Install the guard on one Django connection object (idempotent).

    Its execute wrapper is the bound ``run`` of a
    :class:`~breaker_core.database.Statements` of its own, whose breaker is
    resolved (the alias's, or none) at the first statement and again after the
    registry built from settings is reconfigured or rebuilt: one frame a statement.
    """
    if getattr(connection, _MARK, None) is not None:
        return
    statements = database.Statements(
        None, _socket_of, resolve=functools.partial(_resolve, connection.alias)
    )
    setattr(connection, _MARK, statements)
    with _guards_lock:
        _guards.add(statements)
    # Outermost: rejects before other wrappers.
    connection.execute_wrappers.insert(0, statements.run)
    connection.get_new_connection = functools.partial(_connect, connection)


def _set_statement_timeout(connection: Any, seconds: float) -> None:
    mariadb = connection.vendor == "mysql" and bool(connection.mysql_is_mariadb)
    sql = database.statement_timeout_sql(connection.vendor, seconds, mariadb=mariadb)
    if sql is None:
        return
    with connection.connection.cursor() as cursor:
        cursor.execute(sql)
    if not connection.get_autocommit():
        connection.connection.commit()


def _on_connection_created(*, connection: Any, **kwargs: Any) -> None:
    breaker = _breaker_for(connection.alias)
    if breaker is None:
        return
    guard_connection(connection)
    if breaker.config.timeout is not None:
        _set_statement_timeout(connection, breaker.config.timeout)


def guard_thread() -> None:
    """Guard this thread's connection objects of every guarded alias before they connect.

    Requests do it when they start (``request_started``); call it at the start
    of other long-lived threads (task workers) so that their first connection
    is guarded too. Later connections are guarded anyway.
    """
    try:
        registry = conf.get_registry()
    except ConfigurationError:
        return
    for alias in guarded_aliases(registry):
        if alias in connections.settings:
            guard_connection(connections[alias])


def _on_request_started(**kwargs: Any) -> None:
    guard_thread()


def database_problems(raw: object) -> list[str]:
    """Problems of the ``database`` keys of ``BREAKERS`` against ``settings.DATABASES``."""
    problems: list[str] = []
    if not isinstance(raw, Mapping) or not isinstance(raw.get("dependencies"), Mapping):
        return problems
    declared = getattr(settings, "DATABASES", {}) or {}
    seen: dict[str, str] = {}
    for name, options in raw["dependencies"].items():
        if not isinstance(options, Mapping):
            continue
        alias = options.get("database")
        if not isinstance(alias, str) or not alias:
            continue  # absent, or reported by the settings validation
        path = key_path(key_path(_DEPENDENCIES, str(name)), "database")
        if alias not in declared:
            aliases = ", ".join(json_names(declared)) or "none"
            problems.append(
                f"{path}: expected an alias of settings.DATABASES ({aliases}), "
                f"got {describe(alias)}"
            )
        elif alias in seen:
            problems.append(
                f"{path}: expected each database alias to be guarded by one dependency, got "
                f"{describe(alias)}, which {describe(seen[alias])} already guards"
            )
        else:
            seen[alias] = str(name)
    return problems


def json_names(names: Mapping[str, object]) -> list[str]:
    """The keys of ``names`` as the user would write them (double-quoted)."""
    return [describe(name) for name in names]


@register()  # type: ignore[untyped-decorator]
def check_databases(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``breaker.E020``: a ``database`` key that names no alias, or an alias guarded twice."""
    return [
        Error(problem, hint=f"See {docs_url('databases')}.", id="breaker.E020")
        for problem in database_problems(conf.user_settings())
    ]


def install() -> None:
    """Connect the signals and guard this thread's connections (from ``AppConfig.ready``).

    Raises:
        ConfigurationError: a ``database`` key names an alias that
            ``settings.DATABASES`` does not declare, or one alias is guarded twice.
    """
    problems = database_problems(conf.user_settings())
    if problems:
        raise ConfigurationError(problems)
    connection_created.connect(_on_connection_created, dispatch_uid="breaker_django.db.created")
    request_started.connect(_on_request_started, dispatch_uid="breaker_django.db.request")
    guard_thread()
