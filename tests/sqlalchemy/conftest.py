"""SQLAlchemy guard tests: real PostgreSQL and MariaDB behind a FaultProxy, and a hang guard.

Every test here runs under a SIGALRM deadline: a driver that never returns
fails the test instead of hanging the run.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from breaker_core import CircuitBreaker
from breaker_core.clock import FakeClock
from tests.databases import (
    MARIADB_HOST,
    MARIADB_PORT,
    PG_HOST,
    PG_PORT,
    FaultProxy,
    need_mariadb,
    need_module,
    need_postgres,
)

TIMEOUT = 0.5
"""The dependency's timeout in these tests (statement, connect, watchdog)."""

DEADLINE = 60
"""Seconds after which a test is failed as hung."""

DRIVERS = {
    "psycopg": ("postgresql", "postgresql+psycopg"),
    "pymysql": ("mysql", "mysql+pymysql"),
    "asyncpg": ("postgresql", "postgresql+asyncpg"),
    "aiomysql": ("mysql", "mysql+aiomysql"),
}


@pytest.fixture(autouse=True)
def _hang_guard() -> Iterator[None]:
    def hung(signum: int, frame: Any) -> None:
        pytest.fail(f"still running after {DEADLINE} s: a query or connect hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, DEADLINE)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def need_driver(driver: str) -> str:
    """Skip (fail under CI) unless ``driver``'s server is up and the module installed."""
    family = DRIVERS[driver][0]
    if family == "postgresql":
        need_postgres()
    else:
        need_mariadb()
    need_module(driver)
    return driver


def url(driver: str, proxy: FaultProxy) -> str:
    """The engine URL of ``driver`` through ``proxy`` (database ``test``)."""
    family, scheme = DRIVERS[driver]
    user = "postgres" if family == "postgresql" else "root"
    return f"{scheme}://{user}@{proxy.host}:{proxy.port}/test"


@pytest.fixture
def proxy(driver: str) -> Iterator[FaultProxy]:
    family = DRIVERS[driver][0]
    host, port = (PG_HOST, PG_PORT) if family == "postgresql" else (MARIADB_HOST, MARIADB_PORT)
    server = FaultProxy(host, port)
    yield server
    server.close()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(
        "shopdb", timeout=TIMEOUT, failure_threshold=2, reset_timeout=5, clock=clock
    )


def counts(breaker: CircuitBreaker) -> tuple[int, int]:
    snap = breaker.snapshot()
    return snap["successes"], snap["failures"]


def sleep_sql(driver: str, seconds: float) -> str:
    if DRIVERS[driver][0] == "postgresql":
        return f"SELECT pg_sleep({seconds})"
    return f"SELECT SLEEP({seconds})"


def pid_sql(driver: str) -> str:
    if DRIVERS[driver][0] == "postgresql":
        return "SELECT pg_backend_pid()"
    return "SELECT CONNECTION_ID()"


def kill(driver: str, pid: int) -> None:
    """End the server session ``pid`` from an admin connection (pg_terminate_backend, KILL).

    PostgreSQL's terminate waits (up to 5 s) until the session has ended, so a
    caller's next statement meets a closed session, not one still ending.
    """
    if DRIVERS[driver][0] == "postgresql":
        psycopg = need_module("psycopg")
        with psycopg.connect(
            host=PG_HOST, port=int(PG_PORT), user="postgres", dbname="test", autocommit=True
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        return
    pymysql = need_module("pymysql")
    admin = pymysql.connect(host=MARIADB_HOST, port=int(MARIADB_PORT), user="root")
    try:
        admin.cursor().execute(f"KILL {int(pid)}")
    finally:
        admin.close()
