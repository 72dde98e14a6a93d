"""Edge cases found by attacks and by the peers' suites: each one held."""

from __future__ import annotations

import asyncio
import functools
import logging

import pytest

from breaker_core import (
    CircuitBreaker,
    CircuitOpenError,
    ConfigurationError,
    Event,
    Registry,
    State,
)
from tests.failures import Boom, afail, fail

# -- async fallbacks ---------------------------------------------------------------------


@pytest.fixture
def registry(clock):
    return Registry.from_settings(
        {"dependencies": {"recs": {"failure_threshold": 2, "reset_timeout": 30}}}, clock=clock
    )


async def test_an_async_fallback_of_an_async_function_is_awaited(registry):
    seen: list[BaseException] = []

    async def fallback(error: BaseException) -> list[str]:
        seen.append(error)
        await asyncio.sleep(0)
        return ["fallback"]

    @registry.guard("recs", fallback=fallback)
    async def recommendations() -> list[str]:
        raise Boom("down")

    assert await recommendations() == ["fallback"]  # a failure
    assert await recommendations() == ["fallback"]  # the failure that trips
    assert registry["recs"].is_open
    assert await recommendations() == ["fallback"]  # a rejection
    assert [type(e) for e in seen] == [Boom, Boom, CircuitOpenError]


async def test_an_async_fallback_answers_a_result_judged_a_failure(clock):
    registry = Registry.from_settings(
        {"dependencies": {"recs": {"result_is_failure": lambda r: r is None}}}, clock=clock
    )

    async def fallback(error: BaseException) -> str:
        return f"fallback after {type(error).__name__}"

    @registry.guard("recs", fallback=fallback)
    async def lookup() -> str | None:
        return None

    assert await lookup() == "fallback after FailedResultError"


async def test_an_async_fallback_that_raises_keeps_the_original_as_cause(registry):
    async def fallback(error: BaseException) -> str:
        raise RuntimeError("fallback broke")

    @registry.guard("recs", fallback=fallback)
    async def recommendations() -> str:
        raise Boom("down")

    with pytest.raises(RuntimeError, match="fallback broke") as info:
        await recommendations()
    assert isinstance(info.value.__cause__, Boom)


def test_an_async_fallback_on_a_sync_function_is_refused_at_decoration(registry):
    async def fallback(error: BaseException) -> str:
        return "never awaited"

    with pytest.raises(ConfigurationError, match=r"guard\('recs', fallback=\.\.\.\) on .*"):

        @registry.guard("recs", fallback=fallback)
        def recommendations() -> str:
            return "x"


# -- listeners raising a BaseException ------------------------------------------------------


def test_a_listener_raising_a_base_exception_never_hides_the_trip(clock, caplog):
    caplog.set_level(logging.INFO, logger="breaker_core")
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    told: list[tuple[str, str | None]] = []

    def cancelling(event: Event) -> None:
        raise asyncio.CancelledError

    breaker.add_listener(cancelling)
    breaker.add_listener(lambda e: told.append((e.kind, e.reason)))
    with pytest.raises(Boom, match="down"):  # the call's own exception, not the listener's
        breaker.call(fail)
    assert breaker.state is State.OPEN
    assert told == [("failure", "exception"), ("state_change", "failure_threshold")]
    snap = breaker.snapshot()
    assert [(t["from"], t["to"]) for t in snap["transitions"]] == [("closed", "open")]
    opened = [r for r in caplog.records if getattr(r, "new_state", None) == "open"]
    assert len(opened) == 1
    assert any("CancelledError" in r.getMessage() for r in caplog.records)


def test_a_listener_base_exception_never_replaces_a_rejection(clock):
    breaker = CircuitBreaker("inventory", clock=clock)
    breaker.force_open()

    def interrupting(event: Event) -> None:
        raise KeyboardInterrupt

    breaker.add_listener(interrupting)
    with pytest.raises(CircuitOpenError):
        breaker.call(int)


async def test_a_listener_base_exception_never_replaces_an_async_calls_exception(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)

    def exiting(event: Event) -> None:
        raise SystemExit(3)

    breaker.add_listener(exiting)

    with pytest.raises(Boom, match="in a block"):
        async with breaker.attempt():
            raise Boom("in a block")
    with pytest.raises(Boom, match="down"):
        await breaker.call_async(afail)
    assert breaker.state is State.OPEN


def _shut_once() -> functools.partial[bool]:
    """A gate shut at its first read (the call form's: the fast path), open after."""
    return functools.partial(next, iter([False]), True)


def _interrupting(event: Event) -> None:
    raise KeyboardInterrupt


def test_a_listener_base_exception_never_replaces_a_fast_path_failure(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    breaker.add_listener(_interrupting, when=_shut_once())
    with pytest.raises(Boom, match="down"):  # counted on the fast path, told after
        breaker.call(fail)
    assert breaker.state is State.OPEN


async def test_a_listener_base_exception_never_replaces_an_async_fast_path_failure(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    breaker.add_listener(_interrupting, when=_shut_once())

    with pytest.raises(Boom, match="down"):
        await breaker.call_async(afail)
    assert breaker.state is State.OPEN


def test_after_a_returning_call_the_base_exception_is_raised_once_all_is_told(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=1, clock=clock)
    with pytest.raises(Boom):
        breaker.call(fail)
    clock.advance(1)
    told: list[str] = []

    def interrupting(event: Event) -> None:
        if event.kind == "success":
            raise KeyboardInterrupt

    breaker.add_listener(interrupting)
    breaker.add_listener(lambda e: told.append(f"{e.kind}:{e.reason}"))
    with pytest.raises(KeyboardInterrupt):
        breaker.call(int)  # the probe succeeds; a listener asks to stop
    assert breaker.state is State.CLOSED  # the close was applied and announced first
    assert told == ["state_change:reset_timeout", "success:None", "state_change:probe_succeeded"]
    assert breaker.snapshot()["probes_in_flight"] == 0


def test_a_half_open_announcement_stopped_by_a_listener_frees_the_probe_slot(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=1, clock=clock)
    with pytest.raises(Boom):
        breaker.call(fail)
    clock.advance(1)
    stop = [True]

    def interrupting(event: Event) -> None:
        if stop and event.new_state is State.HALF_OPEN:
            stop.clear()
            raise KeyboardInterrupt

    breaker.add_listener(interrupting)
    with pytest.raises(KeyboardInterrupt):
        breaker.call(int)
    assert breaker.state is State.HALF_OPEN
    assert breaker.call(lambda: "probe") == "probe"  # the slot was given back
    assert breaker.state is State.CLOSED


# -- repeated manual transitions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "state"),
    [
        ("force_open", State.FORCED_OPEN),
        ("disable", State.DISABLED),
        ("metrics_only", State.METRICS_ONLY),
        ("reset", State.CLOSED),
    ],
)
def test_a_repeated_manual_transition_is_not_announced(clock, caplog, method, state):
    caplog.set_level(logging.INFO, logger="breaker_core")
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    with pytest.raises(Boom):
        breaker.call(fail)  # a real trip, which must stay on the dashboard
    events: list[Event] = []
    breaker.add_listener(events.append)
    getattr(breaker, method)()
    clock.advance(1)
    getattr(breaker, method)()
    getattr(breaker, method)()
    assert breaker.state is state
    changes = [(e.old_state, e.new_state) for e in events if e.kind == "state_change"]
    assert changes == [(State.OPEN, state)]
    transitions = breaker.snapshot()["transitions"]
    assert [(t["from"], t["to"]) for t in transitions] == [
        ("open", state.value),
        ("closed", "open"),
    ]
    assert breaker.snapshot()["since_change"] == 1.0  # the repeat changed nothing
    logged = [r for r in caplog.records if getattr(r, "new_state", None) == state.value]
    assert len(logged) == 1


def test_reset_on_a_closed_breaker_empties_the_window_silently(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=3, clock=clock)
    events: list[Event] = []
    breaker.add_listener(events.append)
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(fail)
    events.clear()
    breaker.reset()
    assert events == []
    assert breaker.snapshot()["failures"] == 0
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(fail)
    assert breaker.state is State.CLOSED  # 2 after the reset, not 4


# -- objects with async __call__ ----------------------------------------------------------------


class AsyncClient:
    """A callable object whose call is a coroutine (a client, a handler)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, sku: str) -> str:
        self.calls += 1
        await asyncio.sleep(0)
        if sku == "bad":
            raise Boom("after the await")
        return sku.upper()


async def test_a_decorated_async_callable_object_is_judged_when_it_finishes(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)
    guarded = breaker(AsyncClient())
    assert await guarded("abc") == "ABC"
    for _ in range(2):
        with pytest.raises(Boom):
            await guarded("bad")
    snap = breaker.snapshot()
    assert (snap["successes"], snap["failures"]) == (1, 2)
    assert breaker.state is State.OPEN


async def test_a_partial_of_an_async_callable_object_is_async_too(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    guarded = breaker(functools.partial(AsyncClient(), "bad"))
    with pytest.raises(Boom):
        await guarded()
    assert breaker.state is State.OPEN


async def test_registry_guard_judges_an_async_callable_object_when_it_finishes(registry):
    client = AsyncClient()
    guarded = registry.guard("recs", fallback="fallback")(client)
    assert await guarded("abc") == "ABC"
    assert await guarded("bad") == "fallback"
    assert registry["recs"].snapshot()["failures"] == 1


# -- slow calls that raised --------------------------------------------------------------------


def test_a_slow_call_that_raised_a_recorded_exception_is_a_slow_call_too(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=10, slow_call_duration=1, clock=clock)

    def slow_failure() -> None:
        clock.advance(2)
        raise Boom("late and wrong")

    def slow_success() -> None:
        clock.advance(2)

    with pytest.raises(Boom):
        breaker.call(slow_failure)
    breaker.call(slow_success)
    with pytest.raises(Boom):
        breaker.call(fail)  # fast failure
    snap = breaker.snapshot()
    assert (snap["calls"], snap["failures"], snap["slow_calls"]) == (3, 3, 2)
    assert snap["slow_call_rate"] == pytest.approx(2 / 3)
