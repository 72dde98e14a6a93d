"""A local HTTP server on 127.0.0.1 whose answers follow a mode the test switches.

The fakes of the SDK tests (``tests.sdks.fakes``) and of the docs' examples
(``tests.docs.outage``) are this server with their own answers: a subclass lists its
modes, names the one that hangs (reads the request, never answers until the mode changes
or the server stops) and says what to answer in every other mode.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, NamedTuple, Self


class Answer(NamedTuple):
    """What the server sends: a status, a content type, a body and extra headers."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: ModeServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        owner = self.server.owner
        with owner.lock:
            owner.requests += 1
            mode, released = owner.mode, owner.released
        if mode == owner.hang_mode:
            released.wait(owner.max_hang)
            self.close_connection = True
            return
        answer = owner.answer(self.command, self.path, mode)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        if not owner.keep_alive:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)


class ModeServer:
    """A server on a free port of 127.0.0.1; ``mode`` starts as the first of :attr:`modes`."""

    modes: ClassVar[tuple[str, ...]]
    hang_mode: ClassVar[str]
    max_hang: ClassVar[float] = 60.0
    keep_alive: ClassVar[bool] = True

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = self.modes[0]
        self.released = threading.Event()
        self.requests = 0
        self._server: _Server | None = None

    def answer(self, method: str, path: str, mode: str) -> Answer:
        """The answer to ``method path`` in ``mode`` (never the hanging one)."""
        raise NotImplementedError

    def start(self) -> Self:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        """Switch behaviour; requests held by the hanging mode are let go (unanswered)."""
        if mode not in self.modes:
            raise ValueError(f"mode must be one of {self.modes}, got {mode!r}")
        with self.lock:
            self.released.set()
            self.mode = mode
            self.released = threading.Event()

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
