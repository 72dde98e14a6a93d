"""The bulkhead: never more than max_concurrent calls inside, every slot given back."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from breaker_core import BulkheadFullError, CircuitBreaker, CircuitOpenError, Registry, State
from breaker_core.bulkhead import Bulkhead
from tests.failures import Boom, fail

WAIT = 10.0
MARGIN = 0.5  # generous: a rejection must not wait for the blocked calls (seconds)


class Inside:
    """Counts callers inside the guarded function and the highest count seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.entered = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.entered += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def test_bulkhead_full_error_is_a_circuit_open_error():
    error = BulkheadFullError("inventory", 1.0)
    assert isinstance(error, CircuitOpenError)
    assert error.reason == "bulkhead_full"
    assert "concurrency cap" in str(error)


def test_32_threads_never_more_than_the_cap_inside_rest_rejected_at_once(clock):
    breaker = CircuitBreaker("inventory", max_concurrent=4, clock=clock)
    inside = Inside()
    release = threading.Event()
    barrier = threading.Barrier(32)
    rejected_waits: list[float] = []
    lock = threading.Lock()
    all_rejected = threading.Event()

    def blocking() -> str:
        inside.enter()
        try:
            release.wait(WAIT)
            return "ok"
        finally:
            inside.leave()

    def caller() -> None:
        barrier.wait()
        began = time.perf_counter()
        try:
            breaker.call(blocking)
        except BulkheadFullError:
            with lock:
                rejected_waits.append(time.perf_counter() - began)
                if len(rejected_waits) == 28:
                    all_rejected.set()

    threads = [threading.Thread(target=caller) for _ in range(32)]
    for thread in threads:
        thread.start()
    assert all_rejected.wait(WAIT)
    release.set()
    for thread in threads:
        thread.join(WAIT)
    assert inside.peak == 4
    assert inside.entered == 4
    assert len(rejected_waits) == 28
    assert max(rejected_waits) < MARGIN
    assert breaker.snapshot()["in_flight"] == 0
    assert breaker.state is State.CLOSED  # rejections by the bulkhead are not failures


async def test_100_tasks_never_more_than_the_cap_inside(clock):
    breaker = CircuitBreaker("inventory", max_concurrent=5, clock=clock)
    inside = Inside()
    release = asyncio.Event()
    rejected: list[float] = []

    async def blocking() -> str:
        inside.enter()
        try:
            await release.wait()
            return "ok"
        finally:
            inside.leave()

    async def caller() -> str:
        began = time.perf_counter()
        try:
            return await breaker.call_async(blocking)
        except BulkheadFullError:
            rejected.append(time.perf_counter() - began)
            if len(rejected) == 95:
                release.set()
            return "rejected"

    results = await asyncio.wait_for(asyncio.gather(*(caller() for _ in range(100))), WAIT)
    assert results.count("ok") == 5
    assert inside.peak == 5
    assert max(rejected) < MARGIN
    assert breaker.snapshot()["in_flight"] == 0


def test_max_wait_lets_a_waiter_take_a_freed_slot(clock):
    breaker = CircuitBreaker("inventory", max_concurrent=1, max_wait=WAIT, clock=clock)
    release = threading.Event()
    started = threading.Event()
    order: list[str] = []

    def first() -> None:
        started.set()
        release.wait(WAIT)
        order.append("first")

    holder = threading.Thread(target=breaker.call, args=(first,))
    holder.start()
    started.wait(WAIT)
    waiter = threading.Thread(target=lambda: breaker.call(order.append, "second"))
    waiter.start()
    while not breaker._bulkhead.waiters:  # the waiter is queued
        time.sleep(0.001)
    release.set()
    holder.join(WAIT)
    waiter.join(WAIT)
    assert order == ["first", "second"]
    assert breaker.snapshot()["in_flight"] == 0


def test_max_wait_bounds_the_wait():
    bulkhead = Bulkhead(1, max_wait=0.05)
    assert bulkhead.acquire()
    began = time.perf_counter()
    assert not bulkhead.acquire()
    waited = time.perf_counter() - began
    assert 0.05 <= waited < 0.05 + MARGIN
    assert bulkhead.in_flight == 1
    assert not bulkhead.waiters


async def test_async_waiter_gets_a_slot_released_from_a_thread():
    bulkhead = Bulkhead(1, max_wait=WAIT)
    assert bulkhead.acquire()
    waiting = asyncio.create_task(bulkhead.acquire_async())
    await asyncio.sleep(0.01)
    threading.Thread(target=bulkhead.release).start()
    assert await asyncio.wait_for(waiting, WAIT)
    assert bulkhead.in_flight == 1
    bulkhead.release()
    assert bulkhead.in_flight == 0


async def test_cancelled_waiter_passes_on_a_slot_and_leaves_no_trace():
    bulkhead = Bulkhead(1, max_wait=WAIT)
    assert bulkhead.acquire()
    waiting = asyncio.create_task(bulkhead.acquire_async())
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not bulkhead.waiters
    bulkhead.release()
    assert bulkhead.in_flight == 0


@pytest.mark.parametrize(
    "raise_it",
    [Boom("failure"), KeyError("ignored"), ZeroDivisionError("not recorded"), KeyboardInterrupt()],
)
def test_slot_is_given_back_whatever_the_call_raises(clock, raise_it):
    breaker = CircuitBreaker(
        "inventory",
        max_concurrent=1,
        failure_threshold=100,
        record=[Boom],
        ignore=[KeyError],
        clock=clock,
    )

    def call() -> None:
        raise raise_it

    for _ in range(3):
        with pytest.raises(type(raise_it)):
            breaker.call(call)
        assert breaker.snapshot()["in_flight"] == 0


async def test_slot_is_given_back_on_cancellation_and_timeout(clock):
    breaker = CircuitBreaker("inventory", max_concurrent=1, clock=clock)
    task = asyncio.create_task(breaker.call_async(asyncio.sleep, 10))
    await asyncio.sleep(0)
    assert breaker.snapshot()["in_flight"] == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.snapshot()["in_flight"] == 0
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(breaker.call_async(asyncio.sleep, 10), 0.01)
    assert breaker.snapshot()["in_flight"] == 0


def test_probe_that_finds_the_bulkhead_full_gives_its_probe_slot_back(clock):
    breaker = CircuitBreaker(
        "inventory", max_concurrent=1, failure_threshold=1, reset_timeout=1, clock=clock
    )
    with pytest.raises(Boom):
        breaker.call(fail)
    clock.advance(1)
    breaker._bulkhead.acquire()  # someone else holds the only slot
    with pytest.raises(BulkheadFullError):
        breaker.call(int)
    assert breaker.snapshot()["probes_in_flight"] == 0
    breaker._bulkhead.release()
    breaker.call(int)
    assert breaker.state is State.CLOSED


def test_open_breaker_rejects_before_the_bulkhead(clock):
    breaker = CircuitBreaker("inventory", max_concurrent=1, failure_threshold=1, clock=clock)
    with pytest.raises(Boom):
        breaker.call(fail)
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(int)
    assert not isinstance(info.value, BulkheadFullError)
    assert breaker.snapshot()["in_flight"] == 0


def test_rejected_event_names_the_bulkhead(clock):
    breaker = CircuitBreaker("inventory", max_concurrent=1, clock=clock)
    events = []
    breaker.add_listener(events.append)
    holder = breaker.attempt(detached=True)  # another caller holds the only slot
    holder.__enter__()
    with pytest.raises(BulkheadFullError):
        breaker.call(int)
    holder.__exit__(None, None, None)
    assert [(e.kind, e.reason) for e in events] == [
        ("rejected", "bulkhead_full"),
        ("success", None),
    ]


def test_guard_fallback_answers_a_full_bulkhead(clock):
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"max_concurrent": 1}}}, clock=clock
    )

    @registry.guard("inventory", fallback="busy")
    def stock() -> str:
        return "7"

    holder = registry["inventory"].attempt(detached=True)  # another caller holds the slot
    holder.__enter__()
    assert stock() == "busy"
    holder.__exit__(None, None, None)
    assert stock() == "7"


def test_waiters_from_threads_and_tasks_all_get_through_under_the_cap(clock):
    """With a long max_wait, 16 threads and 50 tasks all finish, never more than 3 inside."""
    breaker = CircuitBreaker("inventory", max_concurrent=3, max_wait=WAIT, clock=clock)
    inside = Inside()
    done: list[str] = []
    barrier = threading.Barrier(17)

    def work() -> str:
        inside.enter()
        try:
            time.sleep(0.002)
            return "thread"
        finally:
            inside.leave()

    async def awork() -> str:
        inside.enter()
        try:
            await asyncio.sleep(0.002)
            return "task"
        finally:
            inside.leave()

    def thread_caller() -> None:
        barrier.wait()
        done.append(breaker.call(work))

    async def tasks() -> None:
        barrier.wait()
        done.extend(await asyncio.gather(*(breaker.call_async(awork) for _ in range(50))))

    workers = [threading.Thread(target=thread_caller) for _ in range(16)]
    workers.append(threading.Thread(target=asyncio.run, args=(tasks(),)))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT * 2)
    assert sorted(done) == ["task"] * 50 + ["thread"] * 16
    assert inside.peak <= 3
    assert breaker.snapshot()["in_flight"] == 0
    assert not breaker._bulkhead.waiters
