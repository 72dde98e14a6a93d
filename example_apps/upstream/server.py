"""The HTTP server class: counts connections at accept time and tracks every handler thread."""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from example_apps.upstream.runner import Upstream


class ConnectionTracker:
    """Every open connection and handler thread of one upstream, across all its listeners.

    ``refuse`` mode replaces the service listener, and hanging requests outlive it, so the
    tracker belongs to the upstream, not to a server: :meth:`release` and :meth:`join` let
    ``Upstream.stop()`` wake and wait for every handler whichever listener accepted it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()

    def add(self, conn: socket.socket) -> None:
        """Track an accepted connection."""
        with self._lock:
            self._sockets.add(conn)

    def discard(self, conn: socket.socket) -> None:
        """Forget a connection its handler is about to close."""
        with self._lock:
            self._sockets.discard(conn)

    def start_thread(self, name: str, target: Any, *args: object) -> None:
        """Run ``target(*args)`` in a tracked daemon thread."""

        def run() -> None:
            try:
                target(*args)
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def release(self) -> None:
        """Shut down every tracked connection, so handlers blocked reading it return."""
        with self._lock:
            conns = list(self._sockets)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer or by its handler

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every handler thread; True if all ended."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._threads)
            if not threads:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            threads[0].join(remaining)


class UpstreamHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one upstream.

    With ``count_connections`` (the service port) every TCP connection is counted when it is
    accepted, before a byte is read, so a bare connect that never sends a request counts too.
    """

    request_queue_size = 128  # bursts of clients must queue, not time out connecting

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        upstream: Upstream,
        tracker: ConnectionTracker,
        count_connections: bool,
    ) -> None:
        self.upstream = upstream
        self.tracker = tracker
        self.count_connections = count_connections
        super().__init__(address, handler)

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse DNS lookup of the host (it can be slow)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection, count it and track it."""
        conn, address = super().get_request()
        self.tracker.add(conn)
        if self.count_connections:
            self.upstream.counters.connection_accepted()
        return conn, address

    def process_request(self, request: Any, client_address: Any) -> None:
        """Handle the connection in a tracked daemon thread."""
        self.tracker.start_thread(
            f"upstream-{self.server_port}-handler",
            self.process_request_thread,
            request,
            client_address,
        )

    def shutdown_request(self, request: Any) -> None:
        """Untrack, then shut down and close the connection."""
        self.tracker.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away (broken pipe, reset); report anything else."""
        if isinstance(sys.exception(), OSError):
            return
        super().handle_error(request, client_address)
