"""``Boom``, the exception the tests' guarded calls fail with, and ``fail``/``afail`` raising it.

``from tests.failures import Boom, fail``: one definition for the test modules
that count failures (an ``Exception`` subclass of their own, so that no other
error is taken for the one a test provoked). A module needing another
exception type or message keeps its own helper.
"""

from __future__ import annotations

__all__ = ["Boom", "afail", "fail"]


class Boom(Exception):
    """The failure a test provokes (counted by default: an ``Exception``)."""


def fail() -> None:
    """Fail as a guarded call: raise ``Boom("down")``."""
    raise Boom("down")


async def afail() -> None:
    """The coroutine twin of :func:`fail`."""
    raise Boom("down")
