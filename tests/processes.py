"""Processes a test started: whether one still runs; stopping one (a signal, then a kill)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone; reads /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


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
