"""Real databases for the database-guard tests, and a TCP proxy that breaks them for real.

PostgreSQL (``BREAKERPANEL_PG``, default 127.0.0.1:5432, user postgres, db
test) and MariaDB (``BREAKERPANEL_MARIADB``, default 127.0.0.1:3306, root, db
test). A test that needs one skips with the reason when it is unreachable or
its driver is missing, and fails when ``CI`` is set.

:class:`FaultProxy` (``example_apps.scenario.faultproxy``, shared with the
scenario's database outage) sits between the driver and the server; a test
switches it to ``"blackhole"`` or ``"reset"`` and back.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

from example_apps.scenario.faultproxy import FaultProxy

__all__ = [
    "MARIADB_HOST",
    "MARIADB_PORT",
    "PG_HOST",
    "PG_PORT",
    "FaultProxy",
    "need_mariadb",
    "need_module",
    "need_mysqldb",
    "need_postgres",
    "unavailable",
]

PG_HOST, PG_PORT = os.environ.get("BREAKERPANEL_PG", "127.0.0.1:5432").split(":")
MARIADB_HOST, MARIADB_PORT = os.environ.get("BREAKERPANEL_MARIADB", "127.0.0.1:3306").split(":")


def unavailable(message: str) -> None:
    """Skip with ``message``, or fail when CI is set."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def need_module(name: str) -> Any:
    """Import ``name`` or skip (fail under CI) naming the test dependency to install."""
    try:
        return __import__(name)
    except ImportError:
        unavailable(f"{name} is not installed (pip install -e '.[dev]')")


def need_mysqldb() -> Any:
    """Django's MySQL driver: mysqlclient when installed, else PyMySQL standing in for it."""
    try:
        import MySQLdb
    except ImportError:
        pymysql = need_module("pymysql")
        pymysql.install_as_MySQLdb()
        import MySQLdb
    return MySQLdb


def need_server(host: str, port: int | str, what: str) -> None:
    """Skip (fail under CI) unless something accepts TCP connections at host:port."""
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError as exc:
        unavailable(f"{what} at {host}:{port} is unreachable ({exc}); start it to run these tests")


def need_postgres() -> None:
    need_server(PG_HOST, PG_PORT, "PostgreSQL")


def need_mariadb() -> None:
    need_server(MARIADB_HOST, MARIADB_PORT, "MariaDB")


def record_delays(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """Record the watchdog delay each guarded statement ran with.

    ``Statements.run`` (Django's guard) and ``Statements.handle`` (SQLAlchemy's
    listeners) are spied; both are bound when the guard is installed (on a
    Django connection object, by ``guard()``): call this before.
    """
    from breaker_core import database

    run = database.Statements.run
    handle = database.Statements.handle
    delays: list[float | None] = []

    def recording_run(self: Any, fn: Any, *args: Any) -> Any:
        try:
            return run(self, fn, *args)
        finally:
            delays.append(self.delay)

    def recording_handle(self: Any, *args: Any) -> Any:
        try:
            return handle(self, *args)
        finally:
            delays.append(self.delay)

    monkeypatch.setattr(database.Statements, "run", recording_run)
    monkeypatch.setattr(database.Statements, "handle", recording_handle)
    return delays
