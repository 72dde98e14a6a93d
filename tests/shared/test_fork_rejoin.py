"""A process forked from a parent whose Redis storage is degraded syncs on its own.

``gunicorn --preload`` builds the registry in the master; if Redis does not answer
then (down, or hung beyond ``timeout``), the master's storage starts degraded and
the workers are forked from it. Each forked child must start its own sync worker
and, once Redis answers, rejoin: report ``healthy`` with a ``synced_ago`` and merge
what it counted while apart into the shared window, once.

Real forks (``os.fork`` and ``multiprocessing``'s fork context) and a redis-server of
the test's own, killed (connections refused) or stopped with SIGSTOP (connections
accepted, nothing answered: every round trip times out). Every breaker runs on the
test's clock, which never moves: shared times are its readings, so the children's
and the observer's counts fall in one window, and ``synced_ago`` is exactly 0.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from breaker_core import CircuitBreaker, Registry, State
from breaker_core.clock import FakeClock
from tests.failures import Boom, fail
from tests.polling import wait_for

pytest.importorskip("redis")

WAIT = 20.0
CHILDREN = 2
TRIALS = 3
FAILURES = 2
"""Failures each child makes while apart (below the threshold: they trip nothing)."""
SETTINGS: dict[str, Any] = {"failure_threshold": 100, "reset_timeout": 600}
FORK = multiprocessing.get_context("fork")


def _workers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "breakerpanel-redis" and t.is_alive())


def _child(breakers: list[CircuitBreaker], out: int) -> None:
    """The forked child: report, count while apart, wait to rejoin, report again."""
    code = 1
    try:
        # Only the forking thread survives a fork: a worker here is the child's own.
        first: dict[str, Any] = {"workers": _workers()}
        first["shared"] = [b.snapshot()["shared"] for b in breakers]
        for breaker in breakers:
            for _ in range(FAILURES):
                try:
                    breaker.call(fail)
                except Boom:
                    pass
        first["counted"] = [(b.state.value, b.snapshot()["failures"]) for b in breakers]
        os.write(out, (json.dumps(first) + "\n").encode())

        def rejoined() -> bool:
            shared = [b.snapshot()["shared"] for b in breakers]
            return all(s["healthy"] and s["synced_ago"] is not None for s in shared)

        joined = wait_for(rejoined, WAIT)
        second = {"rejoined": joined, "shared": [b.snapshot()["shared"] for b in breakers]}
        os.write(out, (json.dumps(second) + "\n").encode())
        code = 0
    finally:
        os._exit(code)


class Child:
    """One forked child and the pipe it reports on (a JSON line per report)."""

    def __init__(self, breakers: list[CircuitBreaker], how: str) -> None:
        read, write = os.pipe()
        self.process: Any = None
        if how == "os.fork":
            pid = os.fork()
            if pid == 0:
                os.close(read)
                _child(breakers, write)
            self.pid = pid
        else:
            self.process = FORK.Process(target=_child, args=(breakers, write))
            self.process.start()
        os.close(write)
        self._reports = os.fdopen(read)

    def report(self) -> dict[str, Any]:
        line = self._reports.readline()
        assert line, "the child died without reporting"
        return dict(json.loads(line))

    def exit_code(self) -> int:
        self._reports.close()
        if self.process is not None:
            self.process.join(WAIT)
            return int(self.process.exitcode)
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


class Outage:
    """Redis away while the parent starts: killed (refused) or stopped (every call times out)."""

    def __init__(self, server: Any, kind: str) -> None:
        self.server = server
        self.kind = kind

    def begin(self) -> None:
        if self.kind == "down":
            self.server.kill()
        else:
            assert self.server.process is not None
            self.server.process.send_signal(signal.SIGSTOP)

    def end(self) -> None:
        if self.kind == "down":
            self.server.start()
        else:
            assert self.server.process is not None
            self.server.process.send_signal(signal.SIGCONT)


@pytest.fixture
def registries() -> Iterator[list[Registry]]:
    """Registries a trial builds: ``_close`` them at its end (and here, whatever happens)."""
    made: list[Registry] = []
    yield made
    _close(made)


def _close(made: list[Registry]) -> None:
    for registry in made:
        registry.close()
    made.clear()


def _build(url: str, made: list[Registry], name: str = "dep") -> Registry:
    registry = Registry.from_settings(
        {"storage": url, "dependencies": {name: SETTINGS}}, clock=FakeClock()
    )
    made.append(registry)
    return registry


def _check_children(children: list[Child], outage: Outage, storages: int) -> None:
    """Every child started a worker per storage and counted alone; once Redis answers,
    every breaker of every child rejoins."""
    for child in children:
        first = child.report()
        assert first["workers"] == storages, f"a sync worker per storage? {first}"
        assert first["shared"] == [{"healthy": False, "synced_ago": None}] * storages, first
        assert first["counted"] == [["closed", FAILURES]] * storages, first
    outage.end()
    for child in children:
        second = child.report()
        assert second["rejoined"], f"a child did not rejoin once Redis answered: {second}"
        assert second["shared"] == [{"healthy": True, "synced_ago": 0.0}] * storages, second
        assert child.exit_code() == 0


def _observed_failures(url: str, name: str, made: list[Registry]) -> int:
    observer = _build(url, made, name)
    assert observer.storage.sync_now()
    snapshot = observer[name].snapshot()
    assert snapshot["shared"]["healthy"] is True
    assert snapshot["state"] == State.CLOSED.value
    return int(snapshot["failures"])


@pytest.mark.parametrize("how", ["os.fork", "multiprocessing"])
@pytest.mark.parametrize("kind", ["down", "hung"])
def test_children_forked_from_a_degraded_parent_start_their_worker_and_rejoin(
    own_redis, prefix, registries, kind, how
):
    outage = Outage(own_redis, kind)
    for trial in range(TRIALS):
        url = f"{own_redis.url}?prefix={prefix}{trial}&refresh=50ms&timeout=100ms"
        outage.begin()
        parent = _build(url, registries)  # the preloading master
        assert parent["dep"].snapshot()["shared"] == {"healthy": False, "synced_ago": None}
        children = [Child([parent["dep"]], how) for _ in range(CHILDREN)]
        _check_children(children, outage, storages=1)
        # each child's failures made while apart joined the shared window, once
        assert _observed_failures(url, "dep", registries) == CHILDREN * FAILURES
        _close(registries)


def test_a_fork_during_the_parents_reconnect_attempt_waits_for_it_and_the_child_rejoins(
    own_redis, prefix, registries
):
    """The fork lands while the parent's worker is asking a hung Redis (a PING that
    times out): the fork waits for that attempt, and the child starts degraded on
    locks, a connection and a worker of its own."""
    outage = Outage(own_redis, "hung")
    for trial in range(TRIALS):
        url = f"{own_redis.url}?prefix={prefix}{trial}&refresh=50ms&timeout=300ms"
        outage.begin()
        parent = _build(url, registries)
        storage: Any = parent.storage
        asking = threading.Event()
        reconnect = storage._reconnect

        def noted(links: Any, reconnect: Any = reconnect, asking: Any = asking) -> bool:
            asking.set()
            return bool(reconnect(links))

        storage._reconnect = noted  # the parent's worker is inside an attempt once set
        assert asking.wait(WAIT)
        children = [Child([parent["dep"]], "os.fork") for _ in range(CHILDREN)]
        _check_children(children, outage, storages=1)
        assert _observed_failures(url, "dep", registries) == CHILDREN * FAILURES
        _close(registries)


@pytest.mark.parametrize("kind", ["down", "hung"])
def test_two_registries_on_one_url_each_sync_in_a_forked_child(own_redis, prefix, registries, kind):
    """Two registries of one process on the same Redis URL (two apps, or an app and a
    command's registry): their storages compare equal, yet each is its own, and each
    gets its own worker and rejoins in a forked child."""
    outage = Outage(own_redis, kind)
    for trial in range(TRIALS):
        url = f"{own_redis.url}?prefix={prefix}{trial}&refresh=50ms&timeout=100ms"
        outage.begin()
        first, second = _build(url, registries, "dep"), _build(url, registries, "other")
        assert first.storage == second.storage
        assert first.storage is not second.storage
        children = [Child([first["dep"], second["other"]], "os.fork") for _ in range(CHILDREN)]
        _check_children(children, outage, storages=2)
        assert _observed_failures(url, "dep", registries) == CHILDREN * FAILURES
        assert _observed_failures(url, "other", registries) == CHILDREN * FAILURES
        _close(registries)
