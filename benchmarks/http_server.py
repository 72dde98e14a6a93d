"""The keep-alive HTTP server of the transport benchmark: ``python -m benchmarks.http_server``.

It answers ``GET`` exactly as ``example_apps.upstream`` does in its healthy mode
(the same :func:`example_apps.upstream.routes.resolve`, so ``/inventory/sku-1``
is ``{"sku": "sku-1", "stock": 20}``), on the standard library's
``ThreadingHTTPServer``, but keeps connections open: ``example_apps.upstream``
closes every connection on purpose (``Connection: close``, so that its
connection count is the number of attempts), which makes keep-alive impossible
against it.

Run as a program it binds a free port of 127.0.0.1, prints that port on the
first line of stdout, serves until its stdin is closed (or it is terminated),
then prints ``connections N``: the TCP connections it accepted. Its parent
closing stdin, even by dying, is what stops it. :func:`serve_in_thread` runs
the same server in a thread of the calling process instead.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import socketserver
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from example_apps.upstream.routes import resolve

__all__ = ["HOST", "KeepAliveHandler", "KeepAliveServer", "main", "serve_in_thread"]

HOST = "127.0.0.1"
"""The only address the benchmark server binds."""


class KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: a JSON answer with a ``Content-Length``, connection left open."""

    protocol_version = "HTTP/1.1"
    server_version = "breakerpanel-bench/0.1"
    sys_version = ""
    # The headers and the body are two writes: with Nagle's algorithm on, the body
    # waits for the client's delayed ACK of the headers, about 40 ms on Linux.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        """Answer as the healthy upstream does."""
        reply = resolve("GET", urlsplit(self.path).path)
        data = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8") + b"\n"
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: a line per request would cost more than the answer."""


class KeepAliveServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 that counts the connections it accepts."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Lock()
        self._connections = 0
        super().__init__((HOST, port), KeepAliveHandler)

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        with self._lock:
            return self._connections

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{HOST}:{self.server_port}"

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse DNS lookup of the host."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection and count it."""
        conn, address = super().get_request()
        with self._lock:
            self._connections += 1
        return conn, address


@contextmanager
def serve_in_thread(port: int = 0) -> Iterator[KeepAliveServer]:
    """Run a :class:`KeepAliveServer` in a daemon thread of this process while the block runs."""
    server = KeepAliveServer(port)
    thread = threading.Thread(target=server.serve_forever, name="bench-http-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until stdin closes; print the port first and the connection count last."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.http_server",
        description="Keep-alive HTTP server on 127.0.0.1 for the breaker transport benchmark.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: 0, a free one)")
    args = parser.parse_args(argv)
    with serve_in_thread(args.port) as server:
        print(server.server_port, flush=True)
        sys.stdin.read()  # returns at end of file: the parent closed our stdin or ended
        connections = server.connections
    try:
        print(f"connections {connections}", flush=True)
    except BrokenPipeError:  # the parent is gone: nobody to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
