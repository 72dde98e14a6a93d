"""A small WSGI app for the gunicorn --preload test: its registry is built before the fork.

``BB_STORAGE`` is the storage URL. ``/fail`` calls a failing dependency through
the breaker (500 when it ran, 503 when the breaker rejected it) and answers this
worker's pid; ``/state`` answers the pid, the breaker's state and whether Redis answers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from breaker_core import CircuitOpenError, Registry

registry = Registry.from_settings(
    {
        "storage": os.environ["BB_STORAGE"],
        # A minute's window: the test's failures count together however slow the machine.
        "dependencies": {"dep": {"failure_threshold": 3, "reset_timeout": 600, "window": 60}},
    }
)
breaker = registry["dep"]


class Down(Exception):
    pass


def _down() -> None:
    raise Down("the dependency is down")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    status = "200 OK"
    if path == "/fail":
        try:
            breaker.call(_down)
        except Down:
            status, body = "500 Internal Server Error", {"ran": True, "pid": os.getpid()}
        except CircuitOpenError:
            status, body = "503 Service Unavailable", {"ran": False, "pid": os.getpid()}
    else:
        snapshot = breaker.snapshot()
        body = {"pid": os.getpid(), "state": snapshot["state"], "shared": snapshot["shared"]}
    payload = json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Connection", "close"),
        ],
    )
    return [payload]
