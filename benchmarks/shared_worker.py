"""One process of the shared-breaker throughput run: ``python -m benchmarks.shared_worker``.

It builds a registry with one dependency (``--storage`` is its storage URL:
``memory://`` or a Redis URL, so that every worker given the same URL shares
one breaker), makes sure Redis answers, warms up, prints ``ready {json}``,
then obeys its stdin, one command per line:

- ``go SECONDS``: call a trivial function through the breaker as fast as it
  can for about that long (in batches of :data:`BATCH` calls, the clock read
  between batches; ``gc.collect()`` before, collector off during), then
  print ``done {json}`` (:func:`run_for`'s figures);
- ``stop`` (or end of input): flush the counts to the storage, print
  ``stopped {json}`` (whether the shared storage stayed healthy), exit.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from breaker_core import CircuitBreaker, Registry

__all__ = ["BATCH", "WARMUP_S", "main", "run_for"]

BATCH = 1000
"""Calls between two clock readings."""

WARMUP_S = 0.05
"""Seconds of untimed calls before ``ready``."""


def succeed() -> int:
    """The trivial guarded function."""
    return 1


def run_for(breaker: CircuitBreaker, seconds: float) -> dict[str, Any]:
    """Call :func:`succeed` through ``breaker`` for about ``seconds``.

    Returns ``calls``, ``elapsed_s`` and the ``time.monotonic()`` readings of
    the ``start`` and the ``end`` (the system-wide clock, so the parent can
    compare processes).
    """
    call = breaker.call
    clock = time.monotonic
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        calls = 0
        start = clock()
        deadline = start + seconds
        while True:
            for _ in range(BATCH):
                call(succeed)
            calls += BATCH
            now = clock()
            if now >= deadline:
                return {"calls": calls, "elapsed_s": now - start, "start": start, "end": now}
    finally:
        if was_enabled:
            gc.enable()


def _shared(breaker: CircuitBreaker) -> dict[str, Any] | None:
    shared: dict[str, Any] | None = breaker.snapshot()["shared"]
    return shared


def main(argv: Sequence[str] | None = None) -> int:
    """Serve ``go``/``stop`` commands from stdin; see the module docs."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shared_worker")
    parser.add_argument("--storage", required=True, help="memory:// or a redis:// URL")
    parser.add_argument("--dependency", required=True, help="the dependency's name")
    parser.add_argument("--window", default="120s", help="the breaker's window")
    args = parser.parse_args(argv)
    registry = Registry.from_settings(
        {"storage": args.storage, "dependencies": {args.dependency: {"window": args.window}}}
    )
    breaker = registry[args.dependency]
    reachable = registry.storage.sync_now()
    warmup = run_for(breaker, WARMUP_S)["calls"]
    ready = {"reachable": reachable, "warmup_calls": warmup, "shared": _shared(breaker)}
    print("ready " + json.dumps(ready), flush=True)
    try:
        for line in sys.stdin:
            command, _, value = line.strip().partition(" ")
            if command == "go":
                print("done " + json.dumps(run_for(breaker, float(value))), flush=True)
            elif command == "stop":
                break
        flushed = registry.storage.sync_now()
        print(
            "stopped " + json.dumps({"flushed": flushed, "shared": _shared(breaker)}),
            flush=True,
        )
    finally:
        registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
