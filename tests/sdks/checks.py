"""What every SDK test checks of a failing or hanging API, whatever the SDK."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest

from breaker_core import CircuitOpenError
from tests.sdks.fakes import TIMEOUT, FakeAPIs

FAST = 0.1  # an open breaker answers well within this


def refused_at_once(call: Callable[[], object], fake: FakeAPIs, name: str) -> None:
    """``call`` raises the ``name`` breaker's CircuitOpenError at once and sends nothing."""
    sent = fake.requests
    began = time.perf_counter()
    with pytest.raises(CircuitOpenError) as caught:
        call()
    assert time.perf_counter() - began < FAST
    assert caught.value.name == name
    assert fake.requests == sent  # nothing reached the API


def each_waits_the_timeout(call: Callable[[], object], error: type[BaseException]) -> None:
    """Three calls against a hung API: each raises ``error`` after the dependency's timeout."""
    for _ in range(3):
        began = time.perf_counter()
        with pytest.raises(error):
            call()
        assert TIMEOUT <= time.perf_counter() - began < TIMEOUT + 2.0


async def refused_at_once_async(
    call: Callable[[], Awaitable[object]], fake: FakeAPIs, name: str
) -> None:
    """:func:`refused_at_once` for an async call."""
    sent = fake.requests
    began = time.perf_counter()
    with pytest.raises(CircuitOpenError) as caught:
        await call()
    assert time.perf_counter() - began < FAST
    assert caught.value.name == name
    assert fake.requests == sent  # nothing reached the API


async def waits_the_timeout_async(
    call: Callable[[], Awaitable[object]], error: type[BaseException]
) -> None:
    """One async call against a hung API raises ``error`` after the dependency's timeout."""
    began = time.perf_counter()
    with pytest.raises(error):
        await call()
    assert TIMEOUT <= time.perf_counter() - began < TIMEOUT + 2.0
