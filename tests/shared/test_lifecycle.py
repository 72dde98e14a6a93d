"""Every process lifecycle with shared state: fork, preload, spawn, outage, rejoin, shutdown.

Real processes (raw ``os.fork``, ``gunicorn --preload`` with 2 workers serving a
real app, ``multiprocessing`` spawn) and real redis-servers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import breaker_core
from breaker_core import CircuitOpenError, Registry, State
from breaker_core.clock import FakeClock
from tests.failures import Boom, fail
from tests.polling import wait_for
from tests.ports import free_port
from tests.processes import stop

redis = pytest.importorskip("redis")

WAIT = 20.0
HERE = Path(__file__).resolve().parent
SETTINGS: dict[str, Any] = {"failure_threshold": 3, "reset_timeout": 600}
APP_SETTINGS: dict[str, Any] = {**SETTINGS, "window": 60}
"""The breaker of lifecycle_app.py (the gunicorn test's observer must count alike)."""
ANSWERS = "5s"
"""The Redis timeout where a test needs Redis to answer: beyond any answer of a healthy
Redis on a loaded machine (the default 100ms is not, and a late answer is an outage)."""


def _connections(redis_url: str, name: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(1 for c in client.client_list() if c.get("name") == name)
    finally:
        client.close()


# -- fork ------------------------------------------------------------------------------


def test_a_raw_fork_child_syncs_on_its_own_connection_and_trips(storage_url, redis_url):
    name = "bbfork" + uuid.uuid4().hex[:8]
    url = storage_url(refresh="50ms", client_name=name)
    parent = Registry.from_settings({"storage": url, "dependencies": {"dep": SETTINGS}})
    try:
        assert parent["dep"].snapshot()["shared"]["healthy"] is True
        assert _connections(redis_url, name) >= 1
        pid = os.fork()
        if pid == 0:  # the child: trip through its own worker, report by exit code
            code = 1
            try:
                breaker = parent["dep"]
                for _ in range(3):
                    try:
                        breaker.call(fail)
                    except Boom:
                        pass
                if wait_for(lambda: breaker.state is State.OPEN, 5.0):
                    code = 0 if _connections(redis_url, name) >= 2 else 3
                else:
                    code = 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, (
            "the child did not trip (2) or used its parent's connection (3)"
        )
        # the parent learns the child's trip from Redis within a refresh
        assert wait_for(lambda: parent["dep"].state is State.OPEN, 5.0)
    finally:
        parent.close()


# -- gunicorn --preload ------------------------------------------------------------------


def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_gunicorn_preload_workers_trip_together(storage_url, tmp_path):
    """Two gunicorn workers forked after the registry was built share one breaker.

    The failing calls go one at a time, each once the previous one reached Redis (an
    observer reads it there): a call's count never races its flush, whose round trip
    on a loaded machine may outlast dozens of requests (the closed hot path never
    waits on Redis). So exactly ``failure_threshold`` calls run, spread over the
    workers by the kernel, and trip the fleet; then both workers say open and reject
    every call without running it. Redis gets ``ANSWERS``: a slow answer is not an
    outage here (outages are tested below).
    """
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        message = "gunicorn is not installed (test extra)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    env = {**os.environ, "BB_STORAGE": storage_url(refresh="50ms", timeout=ANSWERS)}
    log = tmp_path / "gunicorn.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--preload",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--chdir",
                str(HERE),
                "lifecycle_app:app",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    observer = Registry.from_settings(
        {
            "storage": storage_url(refresh="0", timeout=ANSWERS),
            "dependencies": {"dep": APP_SETTINGS},
        }
    )
    try:
        seen: dict[int, dict[str, Any]] = {}

        def both_workers_answer() -> bool:
            try:
                _, body = _get(port, "/state")
            except OSError:
                return False
            seen[body["pid"]] = body
            return len(seen) >= 2

        def in_redis(failures: int) -> bool:
            observer.storage.sync_now()
            snapshot = observer["dep"].snapshot()
            return snapshot["state"] == "open" or snapshot["failures"] >= failures

        assert wait_for(both_workers_answer, WAIT), (
            f"gunicorn did not start 2 workers\n{log.read_text()}"
        )
        ran: list[int] = []  # the worker that ran each failing call
        for _ in range(APP_SETTINGS["failure_threshold"]):
            status, body = _get(port, "/fail")
            assert status == 500, f"rejected before the fleet tripped: {ran}\n{log.read_text()}"
            ran.append(body["pid"])
            assert wait_for(lambda: in_redis(len(ran)), WAIT), f"not flushed\n{log.read_text()}"
        assert observer["dep"].state is State.OPEN, f"{ran}\n{log.read_text()}"
        seen.clear()
        assert wait_for(
            lambda: (
                both_workers_answer() and all(body["state"] == "open" for body in seen.values())
            ),
            WAIT,
        ), f"workers did not all open: {seen}\n{log.read_text()}"
        assert all(body["shared"]["healthy"] for body in seen.values()), seen
        after = [_get(port, "/fail") for _ in range(10)]  # spread over both workers
        assert [(status, body["ran"]) for status, body in after] == [(503, False)] * 10
    finally:
        observer.close()
        stop(server, timeout=15)


# -- spawn -----------------------------------------------------------------------------

SPAWN = multiprocessing.get_context("spawn")


def _spawned_first_call(url: str, results: Any) -> None:
    registry = Registry.from_settings({"storage": url, "dependencies": {"dep": SETTINGS}})
    ran = []
    try:
        registry["dep"].call(lambda: ran.append(1))
    except CircuitOpenError:
        pass
    results.put(len(ran))
    registry.close()


def _burn(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


@pytest.mark.slow
def test_a_spawned_process_knows_the_shared_state_before_its_first_call(storage_url):
    url = storage_url(refresh="250ms")
    main = Registry.from_settings(
        {"storage": storage_url(refresh="0"), "dependencies": {"dep": SETTINGS}}
    )
    burners = [SPAWN.Process(target=_burn, args=(8.0,)) for _ in range(2)]  # a busy machine
    try:
        for _ in range(3):
            with pytest.raises(Boom):
                main["dep"].call(fail)
        assert main.storage.sync_now()
        assert main["dep"].state is State.OPEN
        for burner in burners:
            burner.start()
        results = SPAWN.Queue()
        workers = [SPAWN.Process(target=_spawned_first_call, args=(url, results)) for _ in range(4)]
        for worker in workers:
            worker.start()
        calls = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(WAIT)
        assert calls == [0, 0, 0, 0]  # every first call was rejected: none went through
    finally:
        for burner in burners:
            if burner.is_alive():
                burner.kill()
            burner.join()
        main.close()


# -- start-up without Redis ------------------------------------------------------------


def test_unreachable_redis_at_start_is_degraded_before_the_first_call(prefix):
    url = f"redis://127.0.0.1:{free_port()}/0?prefix={prefix}&refresh=50ms&timeout=50ms"
    registry = Registry.from_settings({"storage": url, "dependencies": {"dep": SETTINGS}})
    breaker = registry["dep"]
    try:
        assert breaker.snapshot()["shared"]["healthy"] is False  # no call made yet
        for _ in range(3):  # failures made right away trip it locally
            with pytest.raises(Boom):
                breaker.call(fail)
        assert breaker.state is State.OPEN
    finally:
        registry.close()


def test_a_hung_redis_costs_start_up_one_timeout_not_one_per_breaker(own_redis, prefix):
    hang = redis.Redis(port=own_redis.port)
    url = f"{own_redis.url}?prefix={prefix}&refresh=50ms&timeout=100ms"
    dependencies = {f"dep{i}": SETTINGS for i in range(10)}
    sleeper = multiprocessing.get_context("fork").Process(
        target=lambda: hang.execute_command("DEBUG", "SLEEP", "2")
    )
    sleeper.start()
    time.sleep(0.2)  # the server is asleep now
    try:
        began = time.monotonic()
        registry = Registry.from_settings({"storage": url, "dependencies": dependencies})
        took = time.monotonic() - began
        assert registry["dep0"].snapshot()["shared"]["healthy"] is False
        assert took < 1.0, took  # one timeout (100 ms), not ten
        registry.close()
    finally:
        sleeper.join(WAIT)
        hang.close()


# -- outage, rejoin, bounded memory --------------------------------------------------


def test_no_failure_is_lost_while_an_outage_is_detected(own_redis, prefix):
    """Counted over 10 kills: every failure made before the outage was noticed counts."""
    lost = 0
    for trial in range(10):
        if own_redis.process is None:
            own_redis.start()
        url = f"{own_redis.url}?prefix={prefix}{trial}&refresh=1s&timeout=100ms"
        registry = Registry.from_settings(
            {"storage": url, "dependencies": {"dep": {"failure_threshold": 5}}}
        )
        breaker = registry["dep"]
        try:
            assert breaker.snapshot()["shared"]["healthy"] is True
            for _ in range(2):
                with pytest.raises(Boom):
                    breaker.call(fail)
            own_redis.kill()
            for _ in range(3):  # the worker has not noticed yet
                with pytest.raises(Boom):
                    breaker.call(fail)
            assert wait_for(lambda b=breaker: b.snapshot()["shared"]["healthy"] is False, WAIT)
            snapshot = breaker.snapshot()
            lost += 5 - snapshot["failures"]
            assert snapshot["state"] == "open", f"trial {trial}: {snapshot}"
        finally:
            registry.close()
    assert lost == 0


def test_memory_stays_bounded_through_a_day_of_outage(prefix):
    clock = FakeClock()
    url = f"redis://127.0.0.1:{free_port()}/0?prefix={prefix}&refresh=0&timeout=50ms"
    registry = Registry.from_settings(
        {"storage": url, "dependencies": {"dep": {"failure_threshold": 1000, "window": "10s"}}},
        clock=clock,
    )
    breaker = registry["dep"]
    assert breaker.snapshot()["shared"]["healthy"] is False
    tracemalloc.start()
    try:
        for _ in range(3600):  # warm up: an hour
            breaker.call(int)
            clock.advance(1.0)
        before = tracemalloc.take_snapshot()
        for second in range(86400):  # a day, one call a second, some failing
            if second % 7:
                breaker.call(int)
            else:
                with pytest.raises(Boom):
                    breaker.call(fail)
            clock.advance(1.0)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        registry.close()
    # What the engine allocated and still holds (pytest keeps its own records meanwhile).
    engine = [tracemalloc.Filter(True, f"{Path(breaker_core.__file__).parent}/*")]
    stats = after.filter_traces(engine).compare_to(before.filter_traces(engine), "filename")
    grown = sum(stat.size_diff for stat in stats)
    print(f"engine memory grown over a simulated day of outage: {grown} bytes")
    assert grown < 16 * 1024, stats[:5]


def test_close_flushes_what_was_counted(storage_url):
    writer = Registry.from_settings(
        {"storage": storage_url(refresh="5s"), "dependencies": {"dep": {"failure_threshold": 9}}}
    )
    for _ in range(2):
        with pytest.raises(Boom):
            writer["dep"].call(fail)
    writer.close()  # counts not yet flushed (refresh 5 s) go out now
    reader = Registry.from_settings(
        {"storage": storage_url(refresh="0"), "dependencies": {"dep": {"failure_threshold": 9}}}
    )
    try:
        assert reader["dep"].snapshot()["failures"] == 2
    finally:
        reader.close()


def run_spawned(target: Callable[[str], None], url: str) -> None:
    """Run ``target(url)`` in a spawned process, which must exit cleanly within 60 s."""
    worker = SPAWN.Process(target=target, args=(url,))
    worker.start()
    worker.join(60)
    assert worker.exitcode == 0


def _count_and_exit(url: str) -> None:
    registry = Registry.from_settings({"storage": url, "dependencies": {"dep": {}}})
    # Successes wait for the next sync (a failure would wake the worker at once, and the
    # count could reach Redis before the exit whether the exit flushes or not).
    for _ in range(2):
        registry["dep"].call(lambda: None)
    # no close(): the interpreter's exit flushes


def test_a_process_that_exits_without_close_flushes_its_counts(storage_url):
    run_spawned(_count_and_exit, storage_url(refresh="5s"))
    reader = Registry.from_settings(
        {"storage": storage_url(refresh="0"), "dependencies": {"dep": {}}}
    )
    try:
        assert reader["dep"].snapshot()["successes"] == 2
    finally:
        reader.close()


def _two_count_and_exit(url: str) -> None:
    # Two registries on one URL: storages that compare equal, each flushed at exit.
    # Successes wait for the flush (a failure would wake the worker at once).
    for name in ("dep", "other"):
        registry = Registry.from_settings({"storage": url, "dependencies": {name: {}}})
        for _ in range(2):
            registry[name].call(lambda: None)
        _KEPT.append(registry)  # alive until the exit, never closed


_KEPT: list[Registry] = []


def test_two_registries_on_one_url_both_flush_at_exit(storage_url):
    run_spawned(_two_count_and_exit, storage_url(refresh="5s"))
    reader = Registry.from_settings(
        {"storage": storage_url(refresh="0"), "dependencies": {"dep": {}, "other": {}}}
    )
    try:
        assert [reader[name].snapshot()["successes"] for name in ("dep", "other")] == [2, 2]
    finally:
        reader.close()
