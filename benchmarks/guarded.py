"""The guarded functions of the benchmark cases, and the failure they raise.

:func:`succeed` and :func:`asucceed` for the success cases, :func:`fail` (raises
:class:`BenchError`) for the closed-failure case, :func:`must_not_run` for the
open-rejection case.

Imports nothing but the standard library.
"""

from __future__ import annotations

__all__ = ["BenchError", "asucceed", "fail", "must_not_run", "succeed"]


class BenchError(Exception):
    """The recorded failure the guarded function raises in the closed-failure case."""


def succeed() -> int:
    """The trivial guarded function of the success cases."""
    return 1


def fail() -> int:
    """The guarded function of the closed-failure case: always raises :class:`BenchError`."""
    raise BenchError


def must_not_run() -> int:
    """The guarded function of the open-rejection case: an open breaker must never call it."""
    raise AssertionError("an open breaker ran the guarded function")


async def asucceed() -> int:
    """The trivial guarded coroutine of the async case."""
    return 1
