"""One way to talk to every contract app: over a test client or a real server.

Each driver sends ``request(method, target, headers)`` with ``target`` the raw
request target (``/p/evil%3Fq=1``) and returns a :class:`Reply`; the ``Host``
defaults to ``a.example``.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "a.example"


class Reply:
    """A response: ``status``, ``headers`` (lowercase names; repeated ones joined) and ``body``."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers: dict[str, str] = {}
        for name, value in headers:
            name = name.lower()
            self.headers[name] = f"{self.headers[name]}, {value}" if name in self.headers else value
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.text[:60]!r}>"


class Driver:
    """Base: ``request`` plus the contract's controls."""

    name = "?"
    real_server = False

    @property
    def status_path(self) -> str:
        """The dashboard's JSON status: the same path in every framework."""
        return "/breakers/status"

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Reply:
        raise NotImplementedError

    def get(self, target: str, **headers: str) -> Reply:
        return self.request("GET", target, {k.replace("_", "-"): v for k, v in headers.items()})

    def control(self, action: str) -> None:
        reply = self.request("GET", f"/_test/{action}")
        assert reply.text == "ok", reply


class HTTPDriver(Driver):
    """A real server on 127.0.0.1, spoken to with ``http.client`` (targets sent as given)."""

    real_server = True

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.port = port

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Reply:
        headers = {"Host": HOST, **(headers or {})}
        if body or method == "POST":
            headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders(body or None)
            response = connection.getresponse()
            body = response.read()
            return Reply(response.status, response.getheaders(), body)
        finally:
            connection.close()


class FlaskClientDriver(Driver):
    """Flask's test client."""

    name = "flask-test-client"

    def __init__(self, app: Any) -> None:
        self.client = app.test_client(use_cookies=False)  # each request sends what it says

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Reply:
        headers = dict(headers or {})
        host = headers.pop("Host", headers.pop("host", HOST))
        response = self.client.open(
            target, method=method, headers=headers, base_url=f"http://{host}", data=body
        )
        return Reply(response.status_code, list(response.headers.items()), response.get_data())


class StarletteClientDriver(Driver):
    """Starlette's test client."""

    name = "starlette-test-client"

    def __init__(self, app: Any) -> None:
        with warnings.catch_warnings():  # Starlette 1.x prefers httpx2; httpx still works
            warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
            from starlette.testclient import TestClient

        self.client = TestClient(app, base_url=f"http://{HOST}")

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Reply:
        headers = {"host": HOST, **{k.lower(): v for k, v in (headers or {}).items()}}
        self.client.cookies.clear()  # each request sends what it says
        response = self.client.request(
            method, target, headers=headers, content=body, follow_redirects=False
        )
        return Reply(response.status_code, list(response.headers.multi_items()), response.content)


@contextmanager
def werkzeug_server(app: Any) -> Iterator[HTTPDriver]:
    """The Flask app under werkzeug's threaded server."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HTTPDriver("flask-werkzeug", server.server_port)
    finally:
        server.shutdown()
        thread.join(10)


@contextmanager
def uvicorn_server(app: Any, log_level: str = "warning") -> Iterator[HTTPDriver]:
    """The Starlette (or any ASGI) app under uvicorn, in a thread."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield HTTPDriver("starlette-uvicorn", port)
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def django_server() -> Iterator[HTTPDriver]:
    """The Django app under Django's threaded server, in a process of its own."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("serve_django.py"))],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the Django contract server did not start: {line!r}")
        yield HTTPDriver("django-threaded-server", int(line))
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
