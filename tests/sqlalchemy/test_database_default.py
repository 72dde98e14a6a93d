"""``"database": True``: a SQLAlchemy dependency gets a database's default, no concurrency limit.

Declared in ``BREAKERS`` with ``"database": True`` (no Django alias: the engine is
guarded in code), a dependency gets ``max_concurrent: None`` unless it or ``defaults``
sets a limit, as a Django ``"database": "<alias>"`` does. Shown with real engines: more
queries at once than the adaptive limit's starting 10 all run; with an explicit
``"max_concurrent": "auto"`` the same load is refused past the limit.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from breaker_core import BulkheadFullError, ConfigurationError, Registry
from breaker_sqlalchemy import guard
from tests.databases import MARIADB_HOST, MARIADB_PORT, PG_HOST, PG_PORT, FaultProxy
from tests.sqlalchemy.conftest import need_driver, sleep_sql, url

AT_ONCE = 12
"""Queries in flight together: more than the adaptive limit's starting 10."""
SLEEP = 1.5
"""Seconds each query sleeps on the server, so that they overlap even on a loaded machine."""


def registry(**options: Any) -> Registry:
    return Registry.from_settings({"dependencies": {"shopdb": {"timeout": 10, **options}}})


@pytest.fixture(params=["psycopg", "pymysql"])
def driver(request: pytest.FixtureRequest) -> str:
    return need_driver(request.param)


@pytest.fixture
def engine(driver: str, proxy: FaultProxy) -> Iterator[Engine]:
    made = create_engine(url(driver, proxy), pool_size=AT_ONCE, max_overflow=0)
    yield made
    made.dispose()


def at_once(engine: Engine, sql: str) -> list[BaseException | None]:
    """Run ``sql`` on ``AT_ONCE`` threads released together; each one's error or None."""
    barrier = threading.Barrier(AT_ONCE)
    outcomes: list[BaseException | None] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql).all()
            outcome = None
        except Exception as error:
            outcome = error
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_a_database_dependency_runs_more_queries_at_once_than_the_adaptive_limit(engine, driver):
    breaker = registry(database=True)["shopdb"]
    guard(engine, breaker)

    outcomes = at_once(engine, sleep_sql(driver, SLEEP))

    assert outcomes == [None] * AT_ONCE
    assert breaker.config.max_concurrent is None
    assert breaker.snapshot()["failures"] == 0  # and each query (and connect) a success
    assert breaker.snapshot()["successes"] >= AT_ONCE
    assert breaker.snapshot()["in_flight"] is None  # no limit, nothing counted in flight


def test_an_explicit_limit_wins_over_the_database_default(engine, driver):
    breaker = registry(database=True, max_concurrent="auto")["shopdb"]
    guard(engine, breaker)

    outcomes = at_once(engine, sleep_sql(driver, SLEEP))

    refused = [error for error in outcomes if isinstance(error, BulkheadFullError)]
    assert len(outcomes) == AT_ONCE
    assert refused  # the adaptive limit (10 to start with) turned the extra queries away
    assert all(error is None or error in refused for error in outcomes)


def test_defaults_limit_wins_over_the_database_default():
    built = Registry.from_settings(
        {"defaults": {"max_concurrent": 4}, "dependencies": {"shopdb": {"database": True}}}
    )
    assert built["shopdb"].config.max_concurrent == 4


@pytest.mark.parametrize("async_driver", ["asyncpg", "aiomysql"])
def test_an_async_engine_gets_the_same_default(async_driver):
    need_driver(async_driver)
    proxy = FaultProxy(*_server(async_driver))
    breaker = registry(database=True)["shopdb"]

    async def body() -> list[object]:
        made = create_async_engine(url(async_driver, proxy), pool_size=AT_ONCE, max_overflow=0)
        guard(made, breaker)

        async def one() -> object:
            async with made.connect() as conn:
                return (await conn.exec_driver_sql(sleep_sql(async_driver, SLEEP))).all()

        try:
            return await asyncio.gather(*(one() for _ in range(AT_ONCE)), return_exceptions=True)
        finally:
            await made.dispose()

    try:
        outcomes = asyncio.run(asyncio.wait_for(body(), 30))
    finally:
        proxy.close()
    assert [error for error in outcomes if isinstance(error, BaseException)] == []
    assert breaker.snapshot()["failures"] == 0  # and each query (and connect) a success
    assert breaker.snapshot()["successes"] >= AT_ONCE


def _server(driver: str) -> tuple[str, str]:
    if driver == "asyncpg":
        return PG_HOST, PG_PORT
    return MARIADB_HOST, MARIADB_PORT


@pytest.mark.parametrize("value", [1, "", False, ["default"]])
def test_a_bad_database_value_is_a_start_up_error_with_its_path(value):
    with pytest.raises(ConfigurationError) as raised:
        registry(database=value)
    message = str(raised.value)
    assert 'BREAKERS["dependencies"]["shopdb"]["database"]: expected a database alias' in message
    assert "True (a database guarded in code" in message
