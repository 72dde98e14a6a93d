"""Every closed success reaches the shared window, whichever path counted it.

A closed success is counted on the call form's lean path when nothing but the
window (and the latency history) needs it: with shared storage that path also
tells the store (``count_outcome``), for every form and bulkhead: the adaptive
limit's call forms (the default for HTTP dependencies), a fixed bulkhead, no
bulkhead, ``with breaker:`` blocks, and a database guard's statements
(``Statements.run``, the closed path of its own). A reader process's registry, reading
the window after one sync, sees exactly as many successes as were made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from breaker_core import Registry
from breaker_core.extension import database

pytest.importorskip("redis")

CALLS = 40
BULKHEADS: dict[str, dict[str, Any]] = {
    "adaptive": {"max_concurrent": "auto"},
    "fixed": {"max_concurrent": 10},
    "none": {"max_concurrent": None},
}


def _succeed() -> str:
    return "ok"


async def _asucceed() -> str:
    return "ok"


def _call(breaker: Any) -> None:
    for _ in range(CALLS):
        assert breaker.call(_succeed) == "ok"


def _call_async(breaker: Any) -> None:
    async def calls() -> None:
        for _ in range(CALLS):
            assert await breaker.call_async(_asucceed) == "ok"

    asyncio.run(calls())


def _with_block(breaker: Any) -> None:
    for _ in range(CALLS):
        with breaker:
            _succeed()


def _statements(breaker: Any) -> None:
    statements = database.Statements(breaker, lambda args: None)  # no socket: not watched
    for _ in range(CALLS):
        assert statements.run(_succeed) == "ok"


FORMS: dict[str, Callable[[Any], None]] = {
    "call": _call,
    "call_async": _call_async,
    "with": _with_block,
    "statements": _statements,
}


@pytest.mark.parametrize("bulkhead", sorted(BULKHEADS))
@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_closed_success_reaches_the_shared_window(
    storage_url: Callable[..., str], form: str, bulkhead: str
) -> None:
    settings = {"dependencies": {"dep": {"window": 600, **BULKHEADS[bulkhead]}}}
    # The worker would flush on its own only after 5 s: the sync below sends the counts.
    writer = Registry.from_settings({**settings, "storage": storage_url(refresh="5s")})
    reader = None
    try:
        FORMS[form](writer["dep"])
        assert writer["dep"].snapshot()["successes"] == CALLS  # the local window
        assert writer.storage.sync_now()  # type: ignore[attr-defined]
        reader = Registry.from_settings({**settings, "storage": storage_url(refresh="0")})
        assert reader["dep"].snapshot()["successes"] == CALLS  # the shared window
    finally:
        writer.close()
        if reader is not None:
            reader.close()
