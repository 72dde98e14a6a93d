"""Waiting for what another thread or process does: poll until it shows or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``condition`` every 10 ms for up to ``timeout`` seconds; True once it holds.

    Real time: for servers, workers and Redis, never for a breaker's own timing
    (tests give breakers a fake clock).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())
