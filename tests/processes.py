"""Stopping a process a test started: a signal, then a kill if it lingers."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop(process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Send ``sig`` and wait up to ``timeout`` seconds; kill the process if it is still there.

    A process that has already exited is only reaped.
    """
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
