"""What a guarded connect adds: connect timeouts, a bounded async connect, the statement timeout.

Translates the dependency's ``timeout`` into each driver's terms with the
engine's rules (:func:`breaker_core.database.connect_options`,
:func:`breaker_core.database.statement_timeout_sql`).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.engine import Dialect

from breaker_core.extension import database

__all__ = ["add_connect_options", "set_statement_timeout", "vendor"]


def vendor(dialect: Dialect) -> str:
    """The family of ``dialect``: ``"postgresql"``, ``"mysql"`` (MariaDB too), or its name."""
    return "mysql" if dialect.name == "mariadb" else str(dialect.name)


def add_connect_options(dialect: Dialect, cparams: dict[str, Any], timeout: float) -> None:
    """Bound the connect at about ``timeout``: driver options the user did not set.

    An asyncio driver's connect is also awaited under ``asyncio.wait_for``
    (aiomysql's ``connect_timeout`` does not cover the handshake).
    """
    driver = str(dialect.driver)
    for key, value in database.connect_options(vendor(dialect), timeout, driver=driver).items():
        cparams.setdefault(key, value)
    if dialect.is_async:
        module = getattr(dialect.loaded_dbapi, driver, None)
        creator = cparams.get("async_creator_fn") or getattr(module, "connect", None)
        if creator is not None:
            delay = database.watchdog_delay(timeout)
            cparams["async_creator_fn"] = functools.partial(_bounded, creator, delay)


async def _bounded(
    creator: Callable[..., Coroutine[Any, Any, Any]], delay: float, *args: Any, **kwargs: Any
) -> Any:
    return await asyncio.wait_for(creator(*args, **kwargs), delay)


def _is_mariadb(dialect: Dialect, dbapi_connection: Any) -> bool:
    if dialect.name == "mariadb":
        return True
    info = getattr(dialect.get_driver_connection(dbapi_connection), "get_server_info", None)
    try:
        return callable(info) and "mariadb" in str(info()).lower()
    except Exception:
        return False


def set_statement_timeout(dialect: Dialect, dbapi_connection: Any, timeout: float) -> None:
    """Give a new connection the server-side statement timeout (none for SQLite and others)."""
    family = vendor(dialect)
    mariadb = family == "mysql" and _is_mariadb(dialect, dbapi_connection)
    sql = database.statement_timeout_sql(family, timeout, mariadb=mariadb)
    if sql is None:
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()
    dbapi_connection.commit()  # a SET in a transaction that is later rolled back would be undone
