"""A guarded ``AsyncEngine`` against real PostgreSQL (asyncpg) and MariaDB (aiomysql).

As the sync tests, plus what asyncio adds: a cancelled query counts as
neither success nor failure and leaves no connection checked out. Every test
body runs under ``asyncio.wait_for`` (and the folder's SIGALRM guard), so a
driver that never returns fails the test instead of hanging the run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from breaker_core import CircuitBreaker, CircuitOpenError, database
from breaker_sqlalchemy import guard
from tests.databases import FaultProxy
from tests.sqlalchemy.conftest import counts, kill, need_driver, pid_sql, sleep_sql, url

BOUND = 30.0
"""No test body may take longer than this."""


@pytest.fixture(params=["asyncpg", "aiomysql"])
def driver(request: pytest.FixtureRequest) -> str:
    return need_driver(request.param)


@pytest.fixture
async def engine(
    driver: str, proxy: FaultProxy, breaker: CircuitBreaker
) -> AsyncIterator[AsyncEngine]:
    made = create_async_engine(url(driver, proxy), pool_size=4)
    guard(made, breaker)
    yield made
    proxy.mode = "pass"  # the pooled connections close cleanly
    await asyncio.wait_for(made.dispose(), BOUND)


async def query(engine: AsyncEngine, sql: str, params: Any = None) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(sql, params)
        rows = [tuple(row) for row in result] if result.returns_rows else []
        await conn.commit()
        return rows


async def timed(engine: AsyncEngine, sql: str) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        await asyncio.wait_for(query(engine, sql), BOUND)
    except Exception as error:
        return time.monotonic() - started, error
    return time.monotonic() - started, None


def bounded(fn: Any) -> Any:
    """Run the test body under asyncio.wait_for(BOUND)."""

    async def run(*args: Any, **kwargs: Any) -> None:
        await asyncio.wait_for(fn(*args, **kwargs), BOUND)

    run.__name__ = fn.__name__
    run.__signature__ = __import__("inspect").signature(fn)  # type: ignore[attr-defined]
    return run


@bounded
async def test_healthy_queries_are_successes(engine, breaker):
    assert await query(engine, "SELECT 1") == [(1,)]
    successes, failures = counts(breaker)
    assert failures == 0
    assert successes >= 2  # the connect, the dialect's first queries, this query
    assert await query(engine, "SELECT 2") == [(2,)]
    assert counts(breaker) == (successes + 1, 0)  # the pooled connection: no new connect


@bounded
async def test_integrity_and_programming_errors_never_trip(engine, breaker):
    table = f"bp_{uuid.uuid4().hex[:8]}"
    await query(engine, f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    try:
        await query(engine, f"INSERT INTO {table} VALUES (1)")
        for _ in range(5):
            with pytest.raises(exc.IntegrityError):
                await query(engine, f"INSERT INTO {table} VALUES (1)")
            with pytest.raises(exc.ProgrammingError):
                await query(engine, "SELEKT nonsense")
    finally:
        await query(engine, f"DROP TABLE {table}")
    assert breaker.state.value == "closed"
    assert counts(breaker)[1] == 0


@bounded
async def test_an_async_session_is_guarded_too(engine, breaker):
    async with AsyncSession(engine) as session:
        assert (await session.execute(_text("SELECT 7"))).scalar() == 7
    breaker.force_open()
    async with AsyncSession(engine) as session:
        with pytest.raises(CircuitOpenError):
            await session.execute(_text("SELECT 7"))


def _text(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)


@bounded
async def test_a_query_past_the_timeout_is_cut_by_the_server_and_counts(engine, breaker, driver):
    await query(engine, "SELECT 1")
    cuts = database.watchdog.cuts
    elapsed, error = await timed(engine, sleep_sql(driver, 5))
    assert isinstance(error, exc.DBAPIError), error  # asyncpg: a plain Error, SQLSTATE 57014
    assert elapsed < 2, elapsed
    assert counts(breaker)[1] == 1
    assert database.watchdog.cuts == cuts  # the server cut it, not the watchdog
    assert await query(engine, "SELECT 1") == [(1,)]


@bounded
async def test_a_killed_connection_counts(engine, breaker, driver):
    pid = (await query(engine, pid_sql(driver)))[0][0]
    await asyncio.to_thread(kill, driver, pid)
    await asyncio.sleep(0.1)
    # asyncpg's error depends on when it reads the server's goodbye: InterfaceError
    # ("connection is closed") or, mid-BEGIN, a plain Error with SQLSTATE 08003.
    # Either is a failure of the database's: the breaker counts it.
    with pytest.raises(exc.DBAPIError):
        await query(engine, "SELECT 1")
    assert counts(breaker)[1] == 1
    assert await query(engine, "SELECT 1") == [(1,)]


@bounded
async def test_a_black_holed_database_costs_the_timeout_then_nothing(engine, breaker, proxy):
    await query(engine, "SELECT 1")
    proxy.mode = "blackhole"
    cuts = database.watchdog.cuts
    elapsed, error = await timed(engine, "SELECT 1")  # a pooled connection: the watchdog
    assert isinstance(error, exc.DBAPIError), error
    assert elapsed < 1.5, elapsed
    assert database.watchdog.cuts == cuts + 1
    elapsed, error = await timed(engine, "SELECT 1")  # a new connect: bounded
    assert isinstance(error, exc.DBAPIError | TimeoutError), error
    assert elapsed < 1.5, elapsed
    assert breaker.is_open
    accepted = proxy.accepted
    started = time.monotonic()
    for _ in range(50):
        with pytest.raises(CircuitOpenError):
            await query(engine, "SELECT 1")
    assert time.monotonic() - started < 0.5
    assert proxy.accepted == accepted
    assert engine.sync_engine.pool.checkedout() == 0


@bounded
async def test_many_tasks_on_a_hung_database_wait_at_most_the_timeout(engine, breaker, proxy):
    for _ in range(2):
        await query(engine, "SELECT 1")
    proxy.mode = "blackhole"

    async def worker() -> list[tuple[float, BaseException | None]]:
        return [await timed(engine, "SELECT 1") for _ in range(5)]

    results = [r for rs in await asyncio.gather(*(worker() for _ in range(16))) for r in rs]
    assert len(results) == 80
    failed = [t for t, e in results if e is not None and not isinstance(e, CircuitOpenError)]
    refused = [t for t, e in results if isinstance(e, CircuitOpenError)]
    assert failed
    # Tasks queued for the pool's 4 connections wait for one another, a timeout each.
    assert max(failed) < 6, max(failed)
    assert len(refused) >= 80 - 32
    assert max(refused) < 1.5  # at most a wait for a pool slot taken by a hung query
    assert engine.sync_engine.pool.checkedout() == 0


@bounded
async def test_reset_connections_open_the_breaker_and_it_closes_again(
    engine, breaker, proxy, clock
):
    await query(engine, "SELECT 1")
    proxy.mode = "reset"
    for _ in range(2):
        with pytest.raises((exc.DBAPIError, OSError)):  # a connect's OSError is not wrapped
            await query(engine, "SELECT 1")
    assert breaker.is_open
    proxy.mode = "pass"
    with pytest.raises(CircuitOpenError):
        await query(engine, "SELECT 1")
    clock.advance(5)
    assert await query(engine, "SELECT 1") == [(1,)]
    assert breaker.state.value == "closed"


@bounded
async def test_a_cancelled_query_counts_as_neither_and_returns_its_connection(
    engine, breaker, driver
):
    await query(engine, "SELECT 1")
    connects: list[object] = []
    event.listen(engine.sync_engine.pool, "connect", lambda *args: connects.append(args))
    before = counts(breaker)
    for _ in range(3):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(query(engine, sleep_sql(driver, 0.4)), 0.05)
    successes, failures = counts(breaker)
    assert failures == before[1]
    # A cancelled query counts nothing; SQLAlchemy may drop its connection, and each
    # reconnect that follows is a success.
    assert successes == before[0] + len(connects)
    assert engine.sync_engine.pool.checkedout() == 0
    assert breaker.state.value == "closed"
    assert await query(engine, "SELECT 1") == [(1,)]


@bounded
async def test_while_open_a_pooled_connection_is_refused_before_any_query(engine, breaker):
    async with engine.connect() as one, engine.connect() as two:
        await one.exec_driver_sql("SELECT 1")
        await two.exec_driver_sql("SELECT 1")
    breaker.force_open()
    before = counts(breaker)
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            async with engine.connect():
                pass
    assert engine.sync_engine.pool.checkedout() == 0
    assert counts(breaker) == before
    breaker.reset()
    assert await query(engine, "SELECT 1") == [(1,)]
