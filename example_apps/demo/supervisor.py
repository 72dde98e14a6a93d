"""A small process supervisor: start servers, wait until they answer, watch them, stop them.

Each child runs in its own session, so its process group holds everything it
starts (gunicorn's workers too) and Ctrl-C in the terminal reaches only the
supervisor, which forwards it: SIGINT to every child (a gunicorn master stops
its own workers), then SIGKILL to every child's whole process group, which
ends whatever is left after a grace period. No process outlives the
supervisor unless the supervisor itself is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import IO

from example_apps.demo.servers import Service

__all__ = ["ChildExited", "Supervisor"]

STOP_GRACE = 10.0
"""Seconds children get to exit after SIGINT before their groups are killed."""


class ChildExited(RuntimeError):
    """A child process exited while it should be running."""

    def __init__(self, name: str, code: int) -> None:
        super().__init__(f"{name} exited with status {code} (its output says why)")
        self.name = name
        self.code = code


class _Child:
    """One running service, its output copied line by line with a ``[name]`` prefix."""

    def __init__(self, service: Service, env: Mapping[str, str], out: IO[str]) -> None:
        self.service = service
        self.process = subprocess.Popen(
            service.argv,
            env={**env, **service.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: we signal the whole group
        )
        self._out = out
        self._copier = threading.Thread(target=self._copy, name=f"output-{service.name}")
        self._copier.daemon = True
        self._copier.start()

    def _copy(self) -> None:
        stream = self.process.stdout
        if stream is None:  # pragma: no cover - always piped
            return
        try:
            for line in stream:
                self._out.write(f"[{self.service.name}] {line}")
                self._out.flush()
        except (OSError, ValueError):  # closed by finish() while a grandchild still held it
            pass

    @property
    def pid(self) -> int:
        return self.process.pid

    def exited(self) -> int | None:
        return self.process.poll()

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def finish(self) -> None:
        """Copy the last output, then close the pipe."""
        self._copier.join(timeout=2.0)
        if self.process.stdout is not None:
            with contextlib.suppress(OSError):
                self.process.stdout.close()


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when ``url`` gives any HTTP answer (an error status counts: the server is up)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


class Supervisor:
    """Starts services and stops them together: ``with Supervisor() as s: s.start(service)``.

    ``out`` receives the children's output, each line prefixed with the
    service's name. Leaving the ``with`` block stops every child.
    """

    def __init__(self, out: IO[str] | None = None, env: Mapping[str, str] | None = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self._children: list[_Child] = []
        self.stopping = threading.Event()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> list[int]:
        """The process id (and process group id) of every child started."""
        return [child.pid for child in self._children]

    def start(self, service: Service) -> None:
        """Start ``service`` in its own process group (it is not waited for).

        Raises:
            InterruptedError: a stop was requested (Ctrl-C) before it started.
        """
        if self.stopping.is_set():
            raise InterruptedError(f"stopped before {service.name} started")
        self._children.append(_Child(service, self.env, self.out))

    def run_once(self, name: str, argv: Sequence[str], timeout: float = 120.0) -> None:
        """Run a preparation command to completion, its output prefixed with ``name``.

        Raises:
            ChildExited: the command failed.
            subprocess.TimeoutExpired: it ran longer than ``timeout`` seconds.
        """
        child = _Child(Service(name, tuple(argv), ""), self.env, self.out)
        try:
            code = child.process.wait(timeout)
        finally:
            child.signal_group(signal.SIGKILL)
            child.finish()
        if code != 0:
            raise ChildExited(name, code)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until every child's ``ready_url`` answers.

        Raises:
            ChildExited: a child exited first.
            TimeoutError: some did not answer within ``timeout`` seconds.
            InterruptedError: a stop was requested (Ctrl-C) while waiting.
        """
        deadline = time.monotonic() + timeout
        waiting = list(self._children)
        while waiting:
            self._check_alive()
            if self.stopping.is_set():
                raise InterruptedError("stopped while starting")
            waiting = [c for c in waiting if not answers(c.service.ready_url, timeout=0.5)]
            if not waiting:
                return
            if time.monotonic() > deadline:
                names = ", ".join(f"{c.service.name} ({c.service.ready_url})" for c in waiting)
                raise TimeoutError(f"not answering after {timeout:g}s: {names}")
            self.stopping.wait(0.1)

    def _check_alive(self) -> None:
        for child in self._children:
            code = child.exited()
            if code is not None:
                raise ChildExited(child.service.name, code)

    def watch(self) -> None:
        """Block until a stop is requested (returns) or a child exits.

        Raises:
            ChildExited: a child exited on its own.
        """
        while not self.stopping.wait(0.2):
            self._check_alive()

    def request_stop(self, signum: int = 0, frame: object = None) -> None:
        """Ask :meth:`watch` and :meth:`wait_ready` to return (usable as a signal handler)."""
        self.stopping.set()

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGINT every child, wait up to ``grace`` s, then SIGKILL every child's process group."""
        self.stopping.set()
        for child in self._children:
            child.signal(signal.SIGINT)
        deadline = time.monotonic() + grace
        for child in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(max(0.0, deadline - time.monotonic()))
        for child in self._children:
            # The leader may be gone while its group lives on (gunicorn's workers).
            child.signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(2.0)
            child.finish()
        self._children.clear()
