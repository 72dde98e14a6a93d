"""Four processes calling through one shared breaker, against four with memory storage.

Four worker processes (:mod:`benchmarks.shared_worker`) given the same Redis
storage URL share one breaker; four more with ``memory://`` storage (a
breaker each) are the comparison. Both groups start and warm up before the
first round; then they take turns, round after round, the group going first
alternating. In a round every process of the group calls a trivial function
through its breaker as fast as it can for a fixed time. Per process: its
calls / its own elapsed time; total: the group's calls / the time from the
first start to the last end (``time.monotonic``: one clock for every process
of the machine). At the end the workers flush their counts and a reader
reads the shared breaker back: its window must hold every call they made.
"""

from __future__ import annotations

import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from breaker_core import Registry

__all__ = ["MEMORY", "PROCESSES", "REDIS", "SHARED", "WINDOW", "time_processes"]

PROCESSES = 4
"""Worker processes per group."""

SHARED = "bench-shared"
"""The dependency every worker declares."""

WINDOW = "120s"
"""The shared breaker's window: long enough to hold every call of the run."""

MEMORY = "memory"
REDIS = "redis"
ROOT = Path(__file__).resolve().parents[1]
WORKER = ("-m", "benchmarks.shared_worker")
LINE_TIMEOUT = 60.0


class _Group:
    """:data:`PROCESSES` workers given one storage URL."""

    def __init__(self, storage: str) -> None:
        self.storage = storage
        self.processes: list[subprocess.Popen[str]] = []
        self.errors: list[IO[str]] = []
        self.ready: list[dict[str, Any]] = []
        self.stopped: list[dict[str, Any]] = []

    def start(self) -> None:
        for _ in range(PROCESSES):
            errors = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed by end())
            self.errors.append(errors)
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        *WORKER,
                        *("--storage", self.storage, "--dependency", SHARED, "--window", WINDOW),
                    ],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    text=True,
                )
            )

    def wait_ready(self) -> None:
        self.ready = self._replies("ready")

    def run(self, seconds: float) -> list[dict[str, Any]]:
        for process in self.processes:
            _send(process, f"go {seconds!r}")
        return self._replies("done")

    def stop(self) -> None:
        for process in self.processes:
            _send(process, "stop")
        self.stopped = self._replies("stopped")

    def _replies(self, kind: str) -> list[dict[str, Any]]:
        replies = []
        for process, errors in zip(self.processes, self.errors, strict=True):
            try:
                replies.append(_reply(process, kind))
            except RuntimeError as exc:
                errors.seek(0)
                tail = [line for line in errors.read().splitlines() if line.strip()][-1:]
                raise RuntimeError(f"{exc}{': ' + tail[0] if tail else ''}") from None
        return replies

    def end(self) -> None:
        for process in self.processes:
            if process.stdin is not None and not process.stdin.closed:
                process.stdin.close()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        for errors in self.errors:
            errors.close()


def _send(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


def _reply(process: subprocess.Popen[str], kind: str) -> dict[str, Any]:
    stdout = process.stdout
    assert stdout is not None
    ready, _, _ = select.select([stdout], [], [], LINE_TIMEOUT)
    line = stdout.readline() if ready else ""
    word, _, text = line.partition(" ")
    if word != kind:
        raise RuntimeError(
            f"a benchmark worker answered {line.strip()!r} instead of {kind!r} "
            f"(exit status {process.poll()})"
        )
    reply: dict[str, Any] = json.loads(text)
    return reply


@contextmanager
def _groups(storages: dict[str, str]) -> Iterator[dict[str, _Group]]:
    with ExitStack() as stack:
        groups = {name: _Group(url) for name, url in storages.items()}
        for group in groups.values():
            stack.callback(group.end)
            group.start()
        for group in groups.values():
            group.wait_ready()
        yield groups


@dataclass(frozen=True)
class _Round:
    """One group's round: every process's calls per second, and the group's total."""

    rates: list[float]
    total: float
    calls: int
    span_s: float

    @classmethod
    def of(cls, replies: list[dict[str, Any]]) -> _Round:
        """Per process: its calls / its elapsed time; total: all calls / first start to last end."""
        calls = sum(reply["calls"] for reply in replies)
        span = max(reply["end"] for reply in replies) - min(reply["start"] for reply in replies)
        rates = [reply["calls"] / reply["elapsed_s"] for reply in replies]
        return cls(rates, calls / span, calls, span)


def _group_json(rounds: list[_Round]) -> dict[str, Any]:
    totals = [one.total for one in rounds]
    per_process = [statistics.mean(one.rates) for one in rounds]
    every = [rate for one in rounds for rate in one.rates]
    return {
        "total_calls_per_s": round(statistics.median(totals)),
        "per_process_calls_per_s": round(statistics.median(per_process)),
        "slowest_process_calls_per_s": round(min(every)),
        "fastest_process_calls_per_s": round(max(every)),
        "timed_calls": sum(one.calls for one in rounds),
        "samples_total_calls_per_s": [round(total) for total in totals],
        "samples_span_s": [round(one.span_s, 4) for one in rounds],
        "samples_per_process_calls_per_s": [[round(rate) for rate in one.rates] for one in rounds],
    }


def time_processes(
    url: str,
    reader_url: str,
    rounds_per_group: int,
    seconds: float,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Time :data:`PROCESSES` workers sharing one breaker through ``url`` against memory storage.

    ``reader_url`` is the same storage without a background sync, to read the
    shared breaker back at the end. Returns the ``processes`` part of the
    ``redis`` section.

    Raises:
        RuntimeError: a worker failed, or could not reach Redis.
    """
    rounds: dict[str, list[_Round]] = {MEMORY: [], REDIS: []}
    with _groups({MEMORY: "memory://", REDIS: url}) as groups:
        if not all(ready["reachable"] for ready in groups[REDIS].ready):
            raise RuntimeError("a worker could not reach Redis")
        for index in range(rounds_per_group):
            order = (MEMORY, REDIS) if index % 2 == 0 else (REDIS, MEMORY)
            for name in order:
                rounds[name].append(_Round.of(groups[name].run(seconds)))
        for group in groups.values():
            group.stop()
        warmup = sum(ready["warmup_calls"] for ready in groups[REDIS].ready)
        healthy = all(stopped["shared"]["healthy"] for stopped in groups[REDIS].stopped)
    progress("  reading the shared breaker back ...")
    reader = Registry.from_settings(
        {"storage": reader_url, "dependencies": {SHARED: {"window": WINDOW}}}
    )
    try:
        reader.storage.sync_now()
        counted = reader[SHARED].snapshot()["calls"]
    finally:
        reader.close()
    memory, redis = _group_json(rounds[MEMORY]), _group_json(rounds[REDIS])
    per_round = statistics.median(
        ours.total / theirs.total
        for ours, theirs in zip(rounds[REDIS], rounds[MEMORY], strict=True)
    )
    timed = sum(one.calls for one in rounds[REDIS])
    return {
        "processes": PROCESSES,
        "cpu_count": os.cpu_count(),
        "rounds": rounds_per_group,
        "seconds_per_round": seconds,
        "method": "each process calls in batches of 1000, the clock read between batches, gc "
        "off while calling; per process: its calls / its elapsed time; total: the group's "
        "calls / first start to last end (time.monotonic, system-wide)",
        MEMORY: memory,
        REDIS: redis,
        "ratio": round(redis["total_calls_per_s"] / memory["total_calls_per_s"], 3),
        "median_round_ratio": round(per_round, 3),
        "shared_window_calls": counted,
        "worker_calls": timed + warmup,
        "all_counted": counted == timed + warmup,
        "healthy": healthy,
    }
