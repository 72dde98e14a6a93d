"""Running the benchmark's HTTP server while a block runs, and the connections it counted.

:func:`run_server` starts :mod:`benchmarks.http_server` in a subprocess (the
default) or a thread of this process, on a free port of 127.0.0.1; once it has
stopped, :attr:`Server.connections` says how many connections it accepted.

Imports the standard library only (benchmarks.http_server in thread mode).
"""

from __future__ import annotations

import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SERVER_MODES", "Server", "run_server"]

SERVER_MODES = ("subprocess", "thread")
"""Where the server runs: its own process (the default), or a thread of this one."""

ROOT = Path(__file__).resolve().parents[1]
SERVER_COMMAND = ("-m", "benchmarks.http_server")
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass
class Server:
    """A running benchmark server; ``connections`` is filled in once it has stopped."""

    url: str
    mode: str
    command: list[str] | None
    connections: int | None = None


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    stdout = process.stdout
    assert stdout is not None
    ready, _, _ = select.select([stdout], [], [], timeout)
    line = stdout.readline() if ready else ""
    if not line:
        raise RuntimeError(
            f"the benchmark server did not print its port within {timeout:g} s "
            f"(exit status {process.poll()})"
        )
    return line


def _stop(process: subprocess.Popen[str]) -> str:
    """Close the server's stdin (it stops at end of file) and return what it printed last."""
    try:
        out, _ = process.communicate(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


def _connections(output: str) -> int | None:
    for line in output.splitlines():
        word, _, count = line.partition(" ")
        if word == "connections" and count.isdigit():
            return int(count)
    return None


@contextmanager
def run_server(mode: str = "subprocess") -> Iterator[Server]:
    """Run :mod:`benchmarks.http_server` on a free port of 127.0.0.1 while the block runs.

    ``mode`` is ``"subprocess"`` (``python -m benchmarks.http_server``, stopped
    at the end) or ``"thread"`` (a thread of this process).
    """
    if mode not in SERVER_MODES:
        raise ValueError(f"mode must be one of {SERVER_MODES}, not {mode!r}")
    if mode == "thread":
        # Imported here only: `python -m benchmarks.http_server` imports this package first.
        from benchmarks.http_server import serve_in_thread

        with serve_in_thread() as running:
            server = Server(running.url, mode, None)
            try:
                yield server
            finally:
                server.connections = running.connections
        return
    command = [sys.executable, *SERVER_COMMAND]
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    started: Server | None = None
    try:
        port = int(_first_line(process, STARTUP_TIMEOUT))
        started = Server(f"http://127.0.0.1:{port}", mode, ["python", *SERVER_COMMAND])
        yield started
    finally:
        output = _stop(process)
        if started is not None:
            started.connections = _connections(output)
