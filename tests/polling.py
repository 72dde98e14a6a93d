"""Waiting for what another thread or process does: poll until it shows or time runs out."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


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


def first_response(
    url: str, process: subprocess.Popen[Any], within: float, **options: Any
) -> httpx.Response:
    """GET ``url`` until the server ``process`` started answers, polling every 100 ms.

    Fails (with the process's output) if the process exits first, or after ``within``
    seconds; ``options`` go to ``httpx.get``.
    """
    import httpx

    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            output = process.communicate(timeout=10)[0]
            raise AssertionError(f"the server exited while starting: {output!r}")
        try:
            return httpx.get(url, **options)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing answered at {url} after {within} s") from None
            time.sleep(0.1)  # waiting for a server to start, not for time to pass
