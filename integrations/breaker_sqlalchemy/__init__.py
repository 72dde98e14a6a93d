"""breaker_sqlalchemy: guard a SQLAlchemy ``Engine`` or ``AsyncEngine`` with a breaker.

One line, wherever the engine is made (a Flask app, a FastAPI app, a script)::

    from breaker_sqlalchemy import guard

    guard(engine, registry["shopdb"])

Every query and every new connection of the engine then runs under the
breaker, with the database failure rules of :mod:`breaker_core.database`;
while it is open a query raises ``CircuitOpenError`` before any I/O. The
breaker's ``timeout`` becomes the connect and statement timeout. Only
SQLAlchemy's event API is used. See ``docs/databases.md``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from breaker_sqlalchemy.guard import EngineGuard, guard, unguard

__all__ = ["EngineGuard", "guard", "unguard"]
