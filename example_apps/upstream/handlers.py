"""HTTP request handlers: the service endpoints (shaped by the mode) and the control API."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from example_apps.upstream.control import ControlError, UpstreamError, decode_body
from example_apps.upstream.routes import Reply, error_reply, resolve
from example_apps.upstream.server import UpstreamHTTPServer

if TYPE_CHECKING:
    from example_apps.upstream.runner import Upstream

CONTROL_PATH = "/_control"
RESET_PATH = "/_control/reset-stats"
MAX_CONTROL_BODY = 64 * 1024
#: Seconds a connection may stay silent before its request is complete; then it is closed.
READ_TIMEOUT = 60.0


class JSONHandler(BaseHTTPRequestHandler):
    """Common ground: JSON answers, one request per connection, the control API.

    Every answer says ``Connection: close``, so each request is one TCP connection and the
    connection count of the service port is the number of attempts that reached it.
    """

    protocol_version = "HTTP/1.1"
    server_version = "breakerpanel-upstream/0.1"
    sys_version = ""
    timeout = READ_TIMEOUT

    @property
    def upstream(self) -> Upstream:
        """The upstream this handler serves."""
        server = self.server
        assert isinstance(server, UpstreamHTTPServer)
        return server.upstream

    def do_GET(self) -> None:
        """Dispatch a GET."""
        self.dispatch()

    def do_HEAD(self) -> None:
        """Dispatch a HEAD (a GET without the body)."""
        self.dispatch()

    def do_POST(self) -> None:
        """Dispatch a POST."""
        self.dispatch()

    def do_PUT(self) -> None:
        """Dispatch a PUT."""
        self.dispatch()

    def do_DELETE(self) -> None:
        """Dispatch a DELETE."""
        self.dispatch()

    def dispatch(self) -> None:
        """Send ``/_control`` paths to the control API and the rest to :meth:`serve`."""
        path = urlsplit(self.path).path
        if path == CONTROL_PATH or path.startswith(CONTROL_PATH + "/"):
            self.control(path)
        else:
            self.serve(path)

    def serve(self, path: str) -> None:
        """Answer a non-control path (overridden by the service handler)."""
        self.send_json(404, {"error": "the control port serves only /_control", "path": path})

    def control(self, path: str) -> None:
        """The control API, the same on both ports and never affected by the mode."""
        upstream = self.upstream
        if path == RESET_PATH:
            if self.command != "POST":
                self.send_json(405, {"error": "use POST"}, (("Allow", "POST"),))
                return
            upstream.reset_stats()
            self.send_json(200, {"stats": upstream.stats()})
        elif path != CONTROL_PATH:
            self.send_json(404, {"error": "not found", "path": path})
        elif self.command in ("GET", "HEAD"):
            self.send_json(200, upstream.status())
        elif self.command in ("PUT", "POST"):
            self.change_mode()
        else:
            self.send_json(405, {"error": "use GET, PUT or POST"}, (("Allow", "GET, PUT, POST"),))

    def change_mode(self) -> None:
        """Apply a ``PUT``/``POST /_control`` body."""
        raw_length = self.headers.get("Content-Length") or "0"
        if not (raw_length.isascii() and raw_length.isdigit()):
            self.send_json(400, {"error": f"bad Content-Length {raw_length!r}"})
            return
        length = int(raw_length)
        if length > MAX_CONTROL_BODY:
            self.send_json(413, {"error": f"the body is over {MAX_CONTROL_BODY} bytes"})
            return
        try:
            payload = decode_body(self.rfile.read(length))
            self.upstream.apply(payload)
        except ControlError as exc:
            self.send_json(400, exc.to_json())
        except UpstreamError as exc:
            self.send_json(409, {"error": str(exc)})
        else:
            self.send_json(200, self.upstream.status())

    def send_json(
        self, status: int, body: object, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Send one complete answer and mark the connection for closing."""
        data = b"" if body is None else json.dumps(body).encode("utf-8") + b"\n"
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer malformed requests and unsupported methods in JSON too."""
        phrase = message or self.responses.get(code, ("error",))[0]
        self.send_json(code, {"error": phrase})

    def log_message(self, format: str, *args: Any) -> None:
        """Log like ``http.server`` does (to stderr), unless the upstream is quiet."""
        if not self.upstream.quiet:
            super().log_message(format, *args)


class ServiceHandler(JSONHandler):
    """The service port: ``/inventory``, ``/recommendations``, ``/health``, ``/status``."""

    def serve(self, path: str) -> None:
        """Answer as the current mode says, holding the request while the mode is ``hang``."""
        upstream = self.upstream
        state = upstream.state
        reply = resolve(self.command, path)
        while True:
            action = state.action(pinned=reply.pinned)
            if action.kind == "hang":
                with upstream.counters.hanging_request():
                    released = state.wait_while_hanging(upstream.max_hang_s)
                if released:
                    continue  # decide again under the new mode
                self.drop()
                return
            if action.kind == "drop" or (
                action.kind == "delay" and not state.pause(action.delay_s)
            ):
                self.drop()
                return
            if action.kind == "error":
                reply = error_reply(action.status, action.mode)
            break
        self.answer(reply)

    def answer(self, reply: Reply) -> None:
        """Count the answer, then send it (so a client that has it can already see it counted)."""
        self.upstream.counters.request_answered(reply.status)
        self.send_json(reply.status, reply.body, reply.headers)

    def drop(self) -> None:
        """Close the connection without answering."""
        self.upstream.counters.request_dropped()
        self.close_connection = True


class ControlHandler(JSONHandler):
    """The control port: only ``/_control``, always open."""
