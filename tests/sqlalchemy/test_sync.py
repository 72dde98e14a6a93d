"""A guarded SQLAlchemy ``Engine`` against real PostgreSQL (psycopg) and MariaDB (PyMySQL).

The database is broken for real: a FaultProxy black-holes or resets it, a
query sleeps past the statement timeout, the server kills the session. A hung
database costs a query at most about the timeout until the breaker opens, then
nothing; the caller's errors never trip it.
"""

from __future__ import annotations

import gc
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from breaker_core import CircuitBreaker, CircuitOpenError, ConfigurationError, Registry, database
from breaker_core.clock import FakeClock
from breaker_sqlalchemy import guard, unguard
from tests.databases import FaultProxy, record_delays
from tests.sqlalchemy.conftest import counts, kill, need_driver, pid_sql, sleep_sql, url


@pytest.fixture(params=["psycopg", "pymysql"])
def driver(request: pytest.FixtureRequest) -> str:
    return need_driver(request.param)


@pytest.fixture
def engine(driver: str, proxy: FaultProxy, breaker: CircuitBreaker) -> Iterator[Engine]:
    made = create_engine(url(driver, proxy), pool_size=4)
    guard(made, breaker)
    yield made
    made.dispose()


def query(engine: Engine, sql: str, params: Any = None) -> list[Any]:
    with engine.connect() as conn:
        result = conn.exec_driver_sql(sql, params)
        rows = [tuple(row) for row in result] if result.returns_rows else []
        conn.commit()
        return rows


def timed(fn: Any, *args: Any) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        fn(*args)
    except Exception as error:
        return time.monotonic() - started, error
    return time.monotonic() - started, None


# -- what counts ------------------------------------------------------------------------------


def test_healthy_queries_are_successes(engine, breaker):
    assert query(engine, "SELECT 1") == [(1,)]
    successes, failures = counts(breaker)
    assert failures == 0
    assert successes >= 2  # the connect, the dialect's first queries, this query
    assert query(engine, "SELECT 2") == [(2,)]
    assert counts(breaker) == (successes + 1, 0)  # the pooled connection: no new connect


def test_integrity_and_programming_errors_never_trip(engine, breaker):
    table = f"bp_{uuid.uuid4().hex[:8]}"
    query(engine, f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    try:
        query(engine, f"INSERT INTO {table} VALUES (1)")
        for _ in range(5):
            with pytest.raises(exc.IntegrityError):
                query(engine, f"INSERT INTO {table} VALUES (1)")
            with pytest.raises(exc.ProgrammingError):
                query(engine, "SELEKT nonsense")
    finally:
        query(engine, f"DROP TABLE {table}")
    assert breaker.state.value == "closed"
    assert counts(breaker)[1] == 0


def test_the_orm_session_is_guarded_too(engine, breaker):
    with Session(engine) as session:
        assert session.connection().exec_driver_sql("SELECT 7").scalar() == 7
    breaker.force_open()
    with Session(engine) as session, pytest.raises(CircuitOpenError):
        session.connection().exec_driver_sql("SELECT 7")


def test_a_query_past_the_timeout_is_cut_by_the_server_and_counts(engine, breaker, driver):
    query(engine, "SELECT 1")
    cuts = database.watchdog.cuts
    elapsed, error = timed(query, engine, sleep_sql(driver, 5))
    assert isinstance(error, exc.OperationalError), error
    assert elapsed < 2, elapsed  # cut at 0.5 s, not after 5 s
    assert counts(breaker)[1] == 1
    assert database.watchdog.cuts == cuts  # the server cut it, not the watchdog
    assert query(engine, "SELECT 1") == [(1,)]  # the connection lives on


def test_a_killed_connection_counts(engine, breaker, driver):
    pid = query(engine, pid_sql(driver))[0][0]
    kill(driver, pid)
    time.sleep(0.1)  # the server closes the session's socket
    with pytest.raises((exc.OperationalError, exc.InterfaceError)):
        query(engine, "SELECT 1")
    assert counts(breaker)[1] == 1
    assert query(engine, "SELECT 1") == [(1,)]  # SQLAlchemy reconnected, under the breaker


# -- faults and the open breaker ----------------------------------------------------------------


def test_a_black_holed_database_costs_the_timeout_then_nothing(engine, breaker, proxy):
    query(engine, "SELECT 1")
    proxy.mode = "blackhole"
    cuts = database.watchdog.cuts
    elapsed, error = timed(query, engine, "SELECT 1")  # a pooled connection: the watchdog
    assert isinstance(error, exc.OperationalError), error
    assert elapsed < 1.5, elapsed
    assert database.watchdog.cuts == cuts + 1
    elapsed, error = timed(query, engine, "SELECT 1")  # a new connect: the connect timeout
    assert isinstance(error, exc.OperationalError), error
    assert elapsed < 3.5, elapsed  # libpq's 2 s floor; PyMySQL 1 s
    assert breaker.is_open
    accepted = proxy.accepted
    started = time.monotonic()
    for _ in range(50):
        with pytest.raises(CircuitOpenError):
            query(engine, "SELECT 1")
    assert time.monotonic() - started < 0.5
    assert proxy.accepted == accepted  # no connection was even attempted
    assert engine.pool.checkedout() == 0


def test_reset_connections_count_and_open_the_breaker(engine, breaker, proxy):
    query(engine, "SELECT 1")
    proxy.mode = "reset"
    for _ in range(2):
        with pytest.raises(exc.OperationalError):
            query(engine, "SELECT 1")
    assert breaker.is_open
    with pytest.raises(CircuitOpenError):
        query(engine, "SELECT 1")


def test_while_open_a_pooled_connection_is_refused_before_any_query(engine, breaker, proxy):
    with engine.connect() as one, engine.connect() as two:  # two pooled connections
        one.exec_driver_sql("SELECT 1")
        two.exec_driver_sql("SELECT 1")
    assert engine.pool.checkedin() == 2
    breaker.force_open()
    before = counts(breaker)
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            engine.connect()
    assert engine.pool.checkedout() == 0
    assert counts(breaker) == before  # refused: nothing ran, nothing counted
    breaker.reset()
    assert query(engine, "SELECT 1") == [(1,)]


def test_the_breaker_closes_again_when_the_database_is_back(engine, breaker, proxy, clock):
    query(engine, "SELECT 1")
    proxy.mode = "reset"
    for _ in range(2):
        with pytest.raises(exc.OperationalError):
            query(engine, "SELECT 1")
    proxy.mode = "pass"
    with pytest.raises(CircuitOpenError):
        query(engine, "SELECT 1")
    clock.advance(5)
    assert query(engine, "SELECT 1") == [(1,)]  # the probe connects and passes
    assert breaker.state.value == "closed"


def test_many_threads_on_a_hung_database_wait_at_most_the_timeout(driver, proxy, breaker) -> None:
    engine = create_engine(url(driver, proxy), pool_size=8)
    guard(engine, breaker)
    try:
        for _ in range(4):
            query(engine, "SELECT 1")
        proxy.mode = "blackhole"
        results: list[tuple[float, BaseException | None]] = []
        lock = threading.Lock()

        def worker() -> None:
            for _ in range(5):
                outcome = timed(query, engine, "SELECT 1")
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(results) == 40
        failed = [elapsed for elapsed, error in results if isinstance(error, exc.DBAPIError)]
        refused = [elapsed for elapsed, error in results if isinstance(error, CircuitOpenError)]
        assert len(failed) + len(refused) == 40
        assert failed  # the first calls found the database hung...
        # ...and none waited much past its timeout: a cut query 0.6 s, a connect libpq's
        # 2 s floor or PyMySQL's 1 s read timeout, stretched on a loaded machine (threads
        # waiting for a core); without the guard they would wait until the test's deadline.
        assert max(failed) < 6, max(failed)
        assert len(refused) >= 40 - 16  # then the breaker refused the rest at once
        assert max(refused) < 1.5  # at most a wait for a pool slot taken by a hung query
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


# -- set-up -----------------------------------------------------------------------------------


def test_guard_is_idempotent_and_one_breaker_per_engine(driver, proxy, breaker, clock):
    engine = create_engine(url(driver, proxy))
    try:
        assert guard(engine, breaker) is guard(engine, breaker)
        with pytest.raises(ConfigurationError, match="already guarded"):
            guard(engine, CircuitBreaker("other", clock=clock))
        unguard(engine)
        breaker.force_open()
        assert query(engine, "SELECT 1") == [(1,)]  # unguarded: the open breaker is not asked
    finally:
        engine.dispose()


def test_bad_arguments_are_configuration_errors(clock: FakeClock) -> None:
    with pytest.raises(ConfigurationError, match="expected a SQLAlchemy Engine"):
        guard("sqlite://", CircuitBreaker("x", clock=clock))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="expected a CircuitBreaker"):
        guard(create_engine("sqlite://"), "x")  # type: ignore[arg-type]


def test_a_reconfigured_timeout_applies_from_the_next_checkout(driver, proxy, monkeypatch):
    def settings(timeout: float) -> dict[str, Any]:
        return {"dependencies": {"shopdb": {"database": True, "timeout": timeout}}}

    registry = Registry.from_settings(settings(0.5))
    engine = create_engine(url(driver, proxy), pool_size=4)
    delays = record_delays(monkeypatch)  # before guard(): its listeners are bound then
    guard(engine, registry["shopdb"])
    try:
        query(engine, "SELECT 1")
        assert delays[-1] == database.watchdog_delay(0.5)
        with engine.connect() as conn:
            registry.reconfigure(settings(3.0))
            conn.exec_driver_sql("SELECT 1")  # checked out before: the timeout it had
            assert delays[-1] == database.watchdog_delay(0.5)
        query(engine, "SELECT 1")  # the next checkout reads the new timeout
        assert delays[-1] == database.watchdog_delay(3.0)
    finally:
        engine.dispose()


def test_sqlite_is_guarded_without_a_statement_timeout(breaker):
    engine = create_engine("sqlite://")
    guard(engine, breaker)
    try:
        assert query(engine, "SELECT 1") == [(1,)]
        with pytest.raises(exc.OperationalError):
            query(engine, "SELECT * FROM no_such_table")  # SQLite says Operational
        assert counts(breaker)[1] == 1
    finally:
        engine.dispose()


# Its gc.collect() also collects what earlier tests left (an unclosed socket of a fake
# server says so as an unraisable ResourceWarning): that is not this test's to judge.
@pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket")
def test_a_guarded_engine_let_go_is_collected_with_its_guard(breaker):
    engine = create_engine("sqlite://")
    installed = weakref.ref(guard(engine, breaker))
    assert query(engine, "SELECT 1") == [(1,)]
    gc.collect()
    assert guard(engine, breaker) is installed()  # the engine keeps its guard alive
    made = weakref.ref(engine)
    engine.dispose()
    del engine
    gc.collect()
    assert made() is None
    assert installed() is None
