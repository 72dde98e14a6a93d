"""A TCP proxy that breaks a database for real: black-hole or reset its connections.

:class:`FaultProxy` sits between a driver and the server; ``mode`` switches it
to ``"blackhole"`` (connections accepted, nothing forwarded either way: a hung
server or network), ``"reset"`` (every connection reset at once) and back to
``"pass"``. The database outage of the scenario and the database-guard tests
use it.
"""

from __future__ import annotations

import importlib
import os
import selectors
import socket
import struct
import threading

__all__ = ["PG_HOST", "PG_PORT", "FaultProxy", "postgres_unavailable"]

PG_HOST, PG_PORT = os.environ.get("BREAKERPANEL_PG", "127.0.0.1:5432").split(":")
"""The PostgreSQL server of the outage and of the benchmark (``BREAKERPANEL_PG``)."""


def postgres_unavailable(*modules: str) -> str | None:
    """Why PostgreSQL cannot be used here (a module missing, the server down), or None."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"{module} is not installed ({exc}); pip install -e '.[all,dev]'"
    try:
        socket.create_connection((PG_HOST, int(PG_PORT)), timeout=1).close()
    except OSError as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable ({exc})"
    return None


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of ``target``; ``mode`` decides what it does.

    ``"pass"`` forwards both ways; ``"blackhole"`` keeps every connection open
    and forwards nothing (new connections are accepted and hang too);
    ``"reset"`` resets every open connection and each new one at once.
    """

    def __init__(self, host: str, port: int | str) -> None:
        self.target = (host, int(port))
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self.host = "127.0.0.1"
        self._mode = "pass"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        assert value in ("pass", "blackhole", "reset"), value
        with self._lock:
            self._mode = value
            if value == "reset":
                for pair in self._pairs:
                    for sock in pair:
                        _reset(sock)
                self._pairs.clear()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                if self._mode == "reset":
                    _reset(client)
                    continue
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    _reset(client)
                    continue
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._closed:
                if self._mode == "blackhole":
                    threading.Event().wait(0.02)  # hold the bytes: nothing goes through
                    continue
                for key, _ in selector.select(0.1):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    if self._mode != "pass":
                        break
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            for sock in (client, upstream):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for pair in self._pairs:
                for sock in pair:
                    _reset(sock)
            self._pairs.clear()


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset (SO_LINGER 0) rather than a clean FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
