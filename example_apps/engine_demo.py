"""A terminal demo of the breaker engine: ``python -m example_apps.engine_demo``.

A flaky "Inventory Service" answers in 20 ms, then goes down (each call hangs
for 150 ms and fails), then recovers. A loop calls it through a breaker and
prints every transition with its time, and a line per phase showing how long
callers waited: failed calls cost the full 150 ms, rejected calls cost
microseconds.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections import defaultdict

from breaker_core import CircuitBreaker, CircuitOpenError, Event


class InventoryDown(Exception):
    """The fake Inventory Service timed out."""


class FlakyInventory:
    """Healthy until ``down_at``, failing (slowly) until ``up_at``, then healthy again."""

    def __init__(self, start: float, down_at: float, up_at: float) -> None:
        self.start = start
        self.down_at = down_at
        self.up_at = up_at

    def stock(self, sku: str) -> int:
        elapsed = time.monotonic() - self.start
        if self.down_at <= elapsed < self.up_at:
            time.sleep(0.150)
            raise InventoryDown(f"inventory timed out looking up {sku}")
        time.sleep(0.020)
        return 7


def run(duration: float = 6.0, down_at: float = 1.0, up_at: float = 3.5) -> None:
    """Call the flaky service for ``duration`` seconds and narrate what the breaker does."""
    start = time.monotonic()
    inventory = FlakyInventory(start, down_at, up_at)
    breaker = CircuitBreaker(
        "inventory", failure_threshold=3, window="5s", reset_timeout="1s", success_threshold=1
    )

    def on_event(event: Event) -> None:
        if event.kind == "state_change":
            print(
                f"  t={event.time - start:5.2f}s  {event.old_state} -> {event.new_state}"
                f"  ({event.reason})"
            )

    breaker.add_listener(on_event)
    # The listener above prints each transition with its time; keep the
    # engine's own log lines (the same transitions) out of the way.
    logging.getLogger("breaker_core").setLevel(logging.ERROR)
    print(f"Inventory is healthy, goes down at t={down_at:.1f}s, recovers at t={up_at:.1f}s.")
    print("Breaker: 3 failures in 5s trip it; it probes again after 1s.\n")
    print("Transitions:")
    outcomes: dict[str, list[float]] = defaultdict(list)
    while (now := time.monotonic()) - start < duration:
        began = time.perf_counter()
        try:
            breaker.call(inventory.stock, "SKU-1")
            kind = "ok"
        except InventoryDown:
            kind = "failed"
        except CircuitOpenError:
            kind = "rejected"
        outcomes[kind].append(time.perf_counter() - began)
        time.sleep(max(0.0, 0.05 - (time.monotonic() - now)))
    print("\nWhat callers waited:")
    for kind in ("ok", "failed", "rejected"):
        waits = outcomes.get(kind, [])
        if waits:
            median_ms = statistics.median(waits) * 1000
            print(f"  {kind:<9} {len(waits):4d} calls, median {median_ms:8.3f} ms")
    snap = breaker.snapshot()
    print(
        f"\nFinal state: {snap['state']}; window: {snap['calls']} calls, "
        f"{snap['failures']} failures."
    )


def main() -> None:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds to run")
    args = parser.parse_args()
    run(duration=args.duration)


if __name__ == "__main__":
    main()
