"""Real processes sharing one breaker through a real Redis."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest

from breaker_core import CircuitOpenError, Registry, State
from breaker_core.ops.actions import apply_action

PROCESSES = 4
THREADS = 8
TRIALS = 30
WAIT = 20.0

CTX = multiprocessing.get_context("fork")
SETTINGS: dict[str, Any] = {"failure_threshold": 3, "reset_timeout": 5, "probe_timeout": 60}


class Boom(Exception):
    pass


def _raise() -> None:
    raise Boom


def _probe_process(url: str, now: Any, ran: Any, rejected: Any, release: Any, gate: Any) -> None:
    registry = Registry.from_settings(
        {"storage": url, "dependencies": {"dep": SETTINGS}}, clock=lambda: now.value
    )
    breaker = registry["dep"]

    def probe() -> str:
        with ran.get_lock():
            ran.value += 1
        release.wait(WAIT)
        return "ok"

    def caller(start: threading.Barrier) -> None:
        start.wait()
        try:
            breaker.call(probe)
        except CircuitOpenError:
            with rejected.get_lock():
                rejected.value += 1

    for _ in range(TRIALS):
        gate.wait(WAIT)  # the main process has tripped the breaker and moved the clock
        registry.storage.sync_now()
        gate.wait(WAIT)  # every process has seen it
        start = threading.Barrier(THREADS)
        threads = [threading.Thread(target=caller, args=(start,)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        registry.storage.sync_now()  # report the probe's outcome
        gate.wait(WAIT)
    registry.close()


def test_exactly_one_probe_among_4_processes_of_8_threads(storage_url):
    url = storage_url(refresh="0")
    now = CTX.Value("d", 1000.0)
    ran, rejected = CTX.Value("i", 0), CTX.Value("i", 0)
    release = CTX.Event()
    gate = CTX.Barrier(PROCESSES + 1)
    main = Registry.from_settings(
        {"storage": url, "dependencies": {"dep": SETTINGS}}, clock=lambda: now.value
    )
    workers = [
        CTX.Process(target=_probe_process, args=(url, now, ran, rejected, release, gate))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        for trial in range(TRIALS):
            for _ in range(3):
                with pytest.raises(Boom):
                    main["dep"].call(_raise)
            main.storage.sync_now()
            assert main["dep"].state is State.OPEN, f"trial {trial}"
            now.value += 5  # past reset_timeout: the next call may probe
            ran.value = rejected.value = 0
            release.clear()
            gate.wait(WAIT)
            gate.wait(WAIT)
            deadline = time.monotonic() + WAIT
            while rejected.value < PROCESSES * THREADS - 1 and time.monotonic() < deadline:
                time.sleep(0.001)  # waiting for other processes, not moving breaker time
            release.set()
            gate.wait(WAIT)
            assert (ran.value, rejected.value) == (1, PROCESSES * THREADS - 1), f"trial {trial}"
            main.storage.sync_now()
            assert main["dep"].state is State.CLOSED, f"trial {trial}"
    finally:
        release.set()
        for worker in workers:
            worker.join(WAIT)
            if worker.is_alive():
                worker.kill()
        main.close()
    assert all(worker.exitcode == 0 for worker in workers)


def _watch_process(url: str, ready: Any, seen_at: Any) -> None:
    registry = Registry.from_settings({"storage": url, "dependencies": {"dep": SETTINGS}})
    breaker = registry["dep"]
    breaker.call(int)  # attach and talk to Redis once
    ready.set()
    deadline = time.monotonic() + WAIT
    while not breaker.is_open and time.monotonic() < deadline:
        time.sleep(0.001)
    seen_at.value = time.time()
    registry.close()


def test_a_trip_reaches_other_processes_within_the_refresh_bound(storage_url):
    refresh = 0.1
    ready, seen_at = CTX.Event(), CTX.Value("d", 0.0)
    watcher = CTX.Process(
        target=_watch_process, args=(storage_url(refresh="100ms"), ready, seen_at)
    )
    watcher.start()
    main = Registry.from_settings(
        {"storage": storage_url(refresh="0"), "dependencies": {"dep": SETTINGS}}
    )
    try:
        assert ready.wait(WAIT)
        for _ in range(3):
            with pytest.raises(Boom):
                main["dep"].call(_raise)
        tripped_at = time.time()
        main.storage.sync_now()
        assert main["dep"].state is State.OPEN
        watcher.join(WAIT)
        lag = seen_at.value - tripped_at
        # the bound: one refresh interval, plus a round trip and scheduling slack
        assert 0 <= lag <= refresh + 0.4, lag
    finally:
        main.close()
        if watcher.is_alive():
            watcher.kill()


def test_a_state_forced_by_a_command_reaches_a_running_app(storage_url):
    app = Registry.from_settings(
        {"storage": storage_url(refresh="50ms"), "dependencies": {"dep": SETTINGS}}
    )
    command = Registry.from_settings(
        {"storage": storage_url(refresh="0"), "dependencies": {"dep": SETTINGS}}
    )
    try:
        app["dep"].call(int)
        message = apply_action(command, "open", "dep", out_of_process=True)
        assert message.startswith("dep: forced open")
        deadline = time.monotonic() + WAIT
        while app["dep"].state is not State.FORCED_OPEN and time.monotonic() < deadline:
            time.sleep(0.005)
        assert app["dep"].state is State.FORCED_OPEN
        with pytest.raises(CircuitOpenError):
            app["dep"].call(int)
        apply_action(command, "reset", "dep", out_of_process=True)
        deadline = time.monotonic() + WAIT
        while app["dep"].state is not State.CLOSED and time.monotonic() < deadline:
            time.sleep(0.005)
        assert app["dep"].call(int) == 0
    finally:
        app.close()
        command.close()


def _half_open_registry(storage_url: Any, clock: Any) -> Registry:
    """A registry whose "dep" shares Redis with no background refresh (the test syncs)."""
    return Registry.from_settings(
        {"storage": storage_url(refresh="0"), "dependencies": {"dep": SETTINGS}}, clock=clock
    )


def _trip_and_wait(registry: Registry, clock: Any, trial: int) -> None:
    """Trip "dep" in the fleet, then move the clock past its wait: a probe may pass."""
    for _ in range(3):
        with pytest.raises(Boom):
            registry["dep"].call(_raise)
    registry.storage.sync_now()
    assert registry["dep"].state is State.OPEN, f"trial {trial}"
    clock.advance(5)


async def test_async_probe_never_blocks_and_is_single(storage_url, clock):
    """100 tasks on a shared half-open breaker: exactly one probe, counted over 30 trials."""
    import asyncio

    registry = _half_open_registry(storage_url, clock)
    breaker = registry["dep"]
    try:
        for trial in range(TRIALS):
            _trip_and_wait(registry, clock, trial)
            ran: list[int] = []
            rejected: list[int] = []
            release = asyncio.Event()

            async def probe(ran=ran, release=release) -> str:
                ran.append(1)
                await release.wait()
                return "ok"

            async def caller(rejected=rejected, release=release) -> str:
                try:
                    return await breaker.call_async(probe)
                except CircuitOpenError:
                    rejected.append(1)
                    if len(rejected) == 99:
                        release.set()
                    return "rejected"

            results = await asyncio.wait_for(asyncio.gather(*(caller() for _ in range(100))), WAIT)
            counted = (len(ran), results.count("rejected"), results.count("ok"))
            assert counted == (1, 99, 1), f"trial {trial}"
            registry.storage.sync_now()
            assert breaker.state is State.CLOSED, f"trial {trial}"
    finally:
        registry.close()


def test_exactly_one_probe_among_32_threads(storage_url, clock):
    """32 threads of one process on a shared half-open breaker: one probe, over 30 trials."""
    registry = _half_open_registry(storage_url, clock)
    breaker = registry["dep"]
    threads_count = 32
    lock = threading.Lock()
    try:
        for trial in range(TRIALS):
            _trip_and_wait(registry, clock, trial)
            ran: list[int] = []
            outcomes: list[str] = []
            release = threading.Event()
            start = threading.Barrier(threads_count)

            def probe(ran: list[int] = ran, release: threading.Event = release) -> str:
                with lock:
                    ran.append(1)
                release.wait(WAIT)
                return "ok"

            def caller(
                outcomes: list[str] = outcomes,
                release: threading.Event = release,
                start: threading.Barrier = start,
            ) -> None:
                start.wait(WAIT)
                try:
                    outcome = breaker.call(probe)
                except CircuitOpenError:
                    outcome = "rejected"
                with lock:
                    outcomes.append(outcome)
                    if outcomes.count("rejected") == threads_count - 1:
                        release.set()

            threads = [threading.Thread(target=caller) for _ in range(threads_count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(WAIT)
            counted = (len(ran), outcomes.count("rejected"), outcomes.count("ok"))
            assert counted == (1, threads_count - 1, 1), f"trial {trial}"
            registry.storage.sync_now()
            assert breaker.state is State.CLOSED, f"trial {trial}"
    finally:
        registry.close()


def test_a_late_slot_from_redis_never_makes_a_second_probe_where_one_runs_alone(
    own_redis, prefix, clock
):
    """A process that decided alone runs one probe; a slot Redis grants it late goes back.

    Redis is stopped: a sync times out (the process now decides alone) while a caller's
    request for a slot is still waiting; a second caller probes locally; Redis resumes
    and grants the waiting caller the fleet's slot, within its timeout. Two probes would
    run in one process: the late slot is given back and its caller rejected.
    """
    timeout = 2.0
    registry = Registry.from_settings(
        {
            "storage": f"{own_redis.url}?prefix={prefix}&refresh=0&timeout={timeout}s",
            "dependencies": {"dep": SETTINGS},
        },
        clock=clock,
    )
    breaker = registry["dep"]
    _trip_and_wait(registry, clock, 0)
    ran: list[str] = []
    outcomes: dict[str, str] = {}
    waited: dict[str, float] = {}
    release = threading.Event()

    def caller(name: str) -> None:
        began = time.monotonic()

        def probe() -> str:
            waited[name] = time.monotonic() - began
            ran.append(name)
            release.wait(WAIT)
            return "ok"

        try:
            outcomes[name] = breaker.call(probe)
        except CircuitOpenError as error:
            waited[name] = time.monotonic() - began
            outcomes[name] = error.reason

    late = threading.Thread(target=caller, args=("late",))
    alone = threading.Thread(target=caller, args=("alone",))
    sync = threading.Thread(target=registry.storage.sync_now)
    deadline = time.monotonic() + WAIT
    try:
        with own_redis.stopped():
            sync.start()  # times out after `timeout`: the process decides alone
            time.sleep(timeout / 2)  # a real socket timeout runs, not the breaker's clock
            late.start()  # asks Redis for a slot; answered once Redis resumes
            while not registry.storage.degraded and time.monotonic() < deadline:
                time.sleep(0.001)
            alone.start()  # decides alone: the local probe
            while not ran and time.monotonic() < deadline:
                time.sleep(0.001)
            assert ran == ["alone"]
        while "late" not in waited and time.monotonic() < deadline:
            time.sleep(0.001)
        assert waited["late"] < timeout  # Redis answered it (a timeout would prove nothing)
        assert ran == ["alone"]
        release.set()
        for thread in (late, alone, sync):
            thread.join(WAIT)
        assert outcomes == {"late": "half_open_full", "alone": "ok"}
    finally:
        release.set()
        registry.close()
