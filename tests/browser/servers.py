"""Each example shop on a real server on 127.0.0.1, for the browser and refusal tests.

- Django: ``python -m example_apps.django_shop --port N`` in a subprocess (the shop's
  own demo command: it migrates a fresh SQLite file, creates the demo users and runs
  ``runserver``); Django's settings are process-wide, and this process may hold the
  test project's.
- Flask: werkzeug's threaded server in a thread of this process.
- FastAPI: uvicorn in a thread of this process.

The in-process shops get a frozen clock: their breakers stay open until reset, however
slow the machine. The Django shop runs on real time (its reset timeout, 10 s, is far
longer than the test needs).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.ports import free_port
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]


def frozen_clock() -> float:
    """A monotonic clock that never moves."""
    return 1000.0


def wait_until_up(url: str, *, timeout: float, alive: Any = None) -> None:
    """Poll ``url`` until it answers; ``alive()`` False (a dead process) fails at once."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"the server for {url} exited while starting")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered at {url} after {timeout} s") from None
            time.sleep(0.05)  # waiting for a server to start, not for time to pass


@contextlib.contextmanager
def gunicorn_workers(app: str, ready_path: str, env: dict[str, str]) -> Iterator[str]:
    """``app`` under gunicorn with 2 workers on a free port; yields its base URL.

    Ready once ``ready_path`` answers; ``env`` is the whole environment of the server.
    Stopped with SIGTERM (killed after 30 s).
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", app],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}{ready_path}", timeout=30, alive=lambda: process.poll() is None)
        yield url
    finally:
        stop(process)


def fresh_get(url: str) -> httpx.Response:
    """A request on a new connection, so any worker of a prefork server may take it."""
    with httpx.Client(timeout=10) as client:
        return client.get(url, headers={"Connection": "close"})


@contextlib.contextmanager
def django_shop(
    inventory: str, recommendations: str, workdir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """The Django shop's demo command on a free port; yields its base URL.

    ``extra_env`` is added last (a test's ``SHOP_CLOCK``, say).
    """
    port = free_port()
    # The shop's own settings, not the test project's, and none of the demo's switches.
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SHOP_", "BREAKERS_")) and key != "DJANGO_SETTINGS_MODULE"
    }
    env = {
        **inherited,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "integrations")]),
        "INVENTORY_URL": inventory,
        "RECOMMENDATIONS_URL": recommendations,
        "SHOP_DATABASE": str(workdir / "shop.sqlite3"),
        **(extra_env or {}),
    }
    log_path = workdir / "django-shop.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "example_apps.django_shop", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_until_up(f"{url}/about/", timeout=40, alive=lambda: process.poll() is None)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; its output:\n{log_path.read_text()}") from None
            yield url
        finally:
            stop(process, timeout=10)


@contextlib.contextmanager
def wsgi_server(app: Any) -> Iterator[str]:
    """``app`` on werkzeug's threaded server, in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="flask-shop", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def asgi_server(app: Any) -> Iterator[str]:
    """``app`` under uvicorn, in a thread (with its own event loop); yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fastapi-shop", daemon=True
    )
    thread.start()
    try:
        wait_until_up(f"http://127.0.0.1:{port}/about", timeout=20, alive=thread.is_alive)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
