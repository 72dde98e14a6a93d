"""Real processes sharing one breaker through a real Redis.

The half-open guarantee has two halves, both counted here over many trials:

- while Redis answers within the storage's ``timeout``, exactly one probe runs among
  all processes (forked and spawned), threads and tasks (these tests give Redis
  ``ANSWERS``, so a loaded machine cannot turn a slow answer into a timeout);
- when it does not, each process decides alone, as with ``memory://``: at most one probe
  per process (a Redis of the test's own, stopped during the admission).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from breaker_core import CircuitOpenError, Registry, State
from breaker_core.ops.actions import apply_action
from tests.failures import Boom, fail

PROCESSES = 4
THREADS = 8
TRIALS = 30
PAUSED_TRIALS = 10
WAIT = 20.0
ANSWERS = "5s"
"""The Redis timeout of the probe tests: far beyond any answer of a healthy Redis on a
loaded machine. With the default 100ms, a machine at load 30 let 3 probes through: each
process whose request for a slot timed out decided alone (the second half above)."""

START = 120.0
"""How long the fleet's processes may take to start: a spawned process imports everything
afresh, which takes seconds on a loaded machine (forked ones are ready at once)."""

CTX = multiprocessing.get_context("fork")
SPAWN = multiprocessing.get_context("spawn")
SETTINGS: dict[str, Any] = {"failure_threshold": 3, "reset_timeout": 5, "probe_timeout": 60}


def _synced(registry: Registry) -> None:
    """Sync until Redis answers (a slow answer degrades the storage; the next one rejoins)."""
    deadline = time.monotonic() + WAIT
    while not registry.storage.sync_now() and time.monotonic() < deadline:
        time.sleep(0.01)


@dataclasses.dataclass
class Shared:
    """What the fleet's processes share (passed to each at its start, so spawn works too)."""

    url: str
    trials: int
    runs: str
    """A directory: every probe that runs creates one file in it, named
    ``<trial>-<process>-<unique>``; the files are the count, whatever memory says."""
    now: Any
    rejected: Any
    degraded: Any
    release: Any
    gate: Any


def _runs(runs: str, trial: int) -> list[int]:
    """How many probes ran in each process in ``trial``: its files in ``runs``."""
    counts = [0] * PROCESSES
    for name in os.listdir(runs):
        ran_in, index, _ = name.split("-")
        if int(ran_in) == trial:
            counts[int(index)] += 1
    return counts


def _work(shared: Shared, index: int) -> None:
    """One process of the fleet: THREADS threads call the breaker at once, every trial."""
    registry = Registry.from_settings(
        {"storage": shared.url, "dependencies": {"dep": SETTINGS}},
        clock=lambda: shared.now.value,
    )
    breaker = registry["dep"]

    def probe(trial: int) -> str:
        run = f"{trial}-{index}-{uuid.uuid4().hex}"
        with open(os.path.join(shared.runs, run), "x"):
            pass
        shared.release.wait(WAIT)
        return "ok"

    def caller(start: threading.Barrier, trial: int) -> None:
        start.wait()
        try:
            breaker.call(probe, trial)
        except CircuitOpenError:
            with shared.rejected.get_lock():
                shared.rejected.value += 1

    shared.gate.wait(START)  # started
    for trial in range(shared.trials):
        shared.gate.wait(WAIT)  # the main process has tripped the breaker and moved the clock
        _synced(registry)
        shared.gate.wait(WAIT)  # every process has seen it
        shared.gate.wait(WAIT)  # go (the main process may stop Redis first)
        start = threading.Barrier(THREADS)
        threads = [threading.Thread(target=caller, args=(start, trial)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        if registry.storage.degraded:
            with shared.degraded.get_lock():
                shared.degraded.value += 1
        _synced(registry)  # report the probe's outcome (and rejoin, if apart)
        shared.gate.wait(WAIT)
    registry.close()


class Fleet:
    """PROCESSES processes of THREADS threads each, all calling one shared breaker.

    ``context``: how the processes start (``fork`` or ``spawn``). Each trial: the main
    process trips the breaker and moves the clock past its wait, every process syncs,
    then all threads call at once; each probe holds until every other call was rejected.
    """

    def __init__(self, url: str, trials: int, runs: Path, context: Any = CTX) -> None:
        self.shared = Shared(
            url=url,
            trials=trials,
            runs=str(runs),
            now=context.Value("d", 1000.0),
            rejected=context.Value("i", 0),
            degraded=context.Value("i", 0),
            release=context.Event(),
            gate=context.Barrier(PROCESSES + 1),
        )
        self.workers = [
            context.Process(target=_work, args=(self.shared, i)) for i in range(PROCESSES)
        ]

    @property
    def now(self) -> Any:
        """The fleet's clock (a shared float, seconds): every process's breaker reads it."""
        return self.shared.now

    @property
    def degraded(self) -> Any:
        """How many processes found their storage degraded after the last trial's calls."""
        return self.shared.degraded

    def __enter__(self) -> Fleet:
        for worker in self.workers:
            worker.start()
        self.shared.gate.wait(START)
        return self

    def __exit__(self, *exc: object) -> None:
        self.shared.release.set()
        for worker in self.workers:
            worker.join(WAIT)
            if worker.is_alive():
                worker.kill()

    def trial(self, main: Registry, trial: int, stopped: Any = None) -> list[int]:
        """Run one trial; ``stopped``: a context manager holding Redis while they call.

        Returns how many probes ran in each process (counted by their files).
        """
        shared = self.shared
        for _ in range(3):
            with pytest.raises(Boom):
                main["dep"].call(fail)
        main.storage.sync_now()
        assert main["dep"].state is State.OPEN, f"trial {trial}"
        shared.now.value += 5  # past reset_timeout: the next call may probe
        shared.rejected.value = shared.degraded.value = 0
        shared.release.clear()
        shared.gate.wait(WAIT)
        shared.gate.wait(WAIT)
        with stopped if stopped is not None else contextlib.nullcontext():
            shared.gate.wait(WAIT)
            deadline = time.monotonic() + WAIT
            while sum(_runs(shared.runs, trial)) + shared.rejected.value < PROCESSES * THREADS:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.001)  # waiting for other processes, not moving breaker time
        shared.release.set()
        shared.gate.wait(WAIT)
        ran = _runs(shared.runs, trial)
        assert sum(ran) + shared.rejected.value == PROCESSES * THREADS, f"trial {trial}"
        return ran


def _one_probe_per_trial(fleet: Fleet, main: Registry) -> None:
    """Every trial while Redis answers: exactly one probe ran, and it closed the breaker."""
    try:
        with fleet:
            for trial in range(TRIALS):
                ran = fleet.trial(main, trial)
                assert fleet.degraded.value == 0, f"trial {trial}: Redis did not answer"
                assert sum(ran) == 1, f"trial {trial}: probes in each process {ran}"
                main.storage.sync_now()
                assert main["dep"].state is State.CLOSED, f"trial {trial}"
    finally:
        main.close()
    assert all(worker.exitcode == 0 for worker in fleet.workers)


def test_exactly_one_probe_among_4_processes_of_8_threads(storage_url, tmp_path):
    """While Redis answers: one probe among 32 callers in 4 forked processes, in each of
    30 trials."""
    fleet = Fleet(storage_url(refresh="0", timeout=ANSWERS), TRIALS, tmp_path)
    main = Registry.from_settings(
        {"storage": storage_url(refresh="0", timeout=ANSWERS), "dependencies": {"dep": SETTINGS}},
        clock=lambda: fleet.now.value,
    )
    _one_probe_per_trial(fleet, main)


@pytest.mark.slow
def test_exactly_one_probe_among_4_spawned_processes_of_8_threads(storage_url, tmp_path):
    """The same with spawned processes: each builds its own registry from settings and
    shares nothing with the main process but Redis (and the test's clock and signals).

    With ``memory://`` each process has a breaker of its own and sends its own probe by
    design, so only shared storage makes a claim across processes.
    """
    fleet = Fleet(storage_url(refresh="0", timeout=ANSWERS), TRIALS, tmp_path, SPAWN)
    main = Registry.from_settings(
        {"storage": storage_url(refresh="0", timeout=ANSWERS), "dependencies": {"dep": SETTINGS}},
        clock=lambda: fleet.now.value,
    )
    _one_probe_per_trial(fleet, main)


def test_with_redis_stopped_each_of_4_processes_decides_alone_one_probe_each(
    own_redis, prefix, tmp_path
):
    """Redis stops during the half-open admission: every request for a slot times out,
    each process decides alone (memory's rule), and runs exactly one probe, never more."""
    url = f"{own_redis.url}?prefix={prefix}&refresh=0"
    fleet = Fleet(f"{url}&timeout=200ms", PAUSED_TRIALS, tmp_path)
    main = Registry.from_settings(
        {"storage": f"{url}&timeout={ANSWERS}", "dependencies": {"dep": SETTINGS}},
        clock=lambda: fleet.now.value,
    )
    try:
        with fleet:
            for trial in range(PAUSED_TRIALS):
                ran = fleet.trial(main, trial, stopped=own_redis.stopped())
                assert ran == [1] * PROCESSES, f"trial {trial}"
                assert fleet.degraded.value == PROCESSES, f"trial {trial}"
                # The first request Redis read once it resumed took the fleet's slot, but
                # its caller had decided alone: the slot went back when Redis answered again,
                # so the fleet probes at once rather than after probe_timeout.
                main.storage.sync_now()
                assert main["dep"].call(lambda: "ok") == "ok", f"trial {trial}"
                main.storage.sync_now()
                assert main["dep"].state is State.CLOSED, f"trial {trial}"
    finally:
        main.close()
    assert all(worker.exitcode == 0 for worker in fleet.workers)


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
                main["dep"].call(fail)
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
        {"storage": storage_url(refresh="0", timeout=ANSWERS), "dependencies": {"dep": SETTINGS}},
        clock=clock,
    )


def _trip_and_wait(registry: Registry, clock: Any, trial: int) -> None:
    """Trip "dep" in the fleet, then move the clock past its wait: a probe may pass."""
    for _ in range(3):
        with pytest.raises(Boom):
            registry["dep"].call(fail)
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
