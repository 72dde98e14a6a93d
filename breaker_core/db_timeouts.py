"""What makes the server cut a query, and the driver give up connecting, at a dependency's timeout.

:func:`statement_timeout_sql` is the ``SET`` a guard runs once on each new
connection (PostgreSQL ``statement_timeout``, MariaDB ``max_statement_time``,
MySQL ``max_execution_time``); :func:`connect_options` are the driver's
connect arguments that bound a connect and its handshake. The guards reach
both through :mod:`breaker_core.database`.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import math
from typing import Any

from breaker_core.db_watchdog import watchdog_delay

__all__ = ["connect_options", "statement_timeout_sql"]


def statement_timeout_sql(vendor: str, seconds: float, *, mariadb: bool = False) -> str | None:
    """The SQL that sets a session's statement timeout, or None if the backend has none.

    ``vendor``: ``"postgresql"`` (``statement_timeout``, milliseconds),
    ``"mysql"`` (MariaDB ``max_statement_time`` in seconds when ``mariadb``,
    else MySQL ``max_execution_time`` in milliseconds, which MySQL applies to
    ``SELECT`` only). SQLite and others: None.
    """
    millis = max(1, math.ceil(seconds * 1000))
    if vendor == "postgresql":
        return f"SET statement_timeout = {millis}"
    if vendor == "mysql":
        if mariadb:
            return f"SET SESSION max_statement_time = {millis / 1000:.3f}"
        return f"SET SESSION max_execution_time = {millis}"
    return None


def connect_options(vendor: str, seconds: float, *, driver: str = "") -> dict[str, Any]:
    """Connect arguments that bound a connect (and its handshake) at about ``seconds``.

    ``vendor``: ``"postgresql"`` (libpq's ``connect_timeout`` counts whole
    seconds and treats less than 2 as 2; asyncpg's ``timeout`` is a float) or
    ``"mysql"`` (``connect_timeout``; PyMySQL and mysqlclient also get a
    ``read_timeout`` because their ``connect_timeout`` covers the TCP connect
    only). Others: none. ``driver``: the DB-API module's name.
    """
    if vendor == "postgresql":
        if driver == "asyncpg":
            return {"timeout": seconds}
        return {"connect_timeout": max(2, math.ceil(seconds))}
    if vendor == "mysql":
        if driver in ("aiomysql", "asyncmy"):
            return {"connect_timeout": seconds}
        return {
            "connect_timeout": max(1, math.ceil(seconds)),
            "read_timeout": math.ceil(watchdog_delay(seconds)),
        }
    return {}
