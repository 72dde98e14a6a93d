"""A local stand-in for the Stripe and Twilio REST APIs, on a real socket on 127.0.0.1.

It answers the few endpoints the tests and docs call, in the shapes the real APIs use,
so the official SDKs parse its answers as they parse the real ones:

- Stripe: ``POST /v1/payment_intents`` (a PaymentIntent), ``GET /v1/balance``;
- Twilio: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (a Message, 201).

``mode`` switches its behaviour: ``"healthy"``; ``"errors"`` (500, an API error);
``"decline"`` (the caller's mistake: Stripe's 402 card decline, Twilio's 400 invalid
number); ``"hang"`` (reads the request, never answers until the mode changes or it stops).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MODES = ("healthy", "errors", "decline", "hang")
TIMEOUT = 0.4
"""The timeout setting of the dependencies the tests point at the fake, seconds."""
MAX_HANG = 30.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeAPIs


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        fake = self.server.fake
        with fake.lock:
            fake.requests += 1
            mode, released = fake.mode, fake.released
        if mode == "hang":
            released.wait(MAX_HANG)
            self.close_connection = True
            return
        twilio = self.path.startswith("/2010-04-01/")
        status, body = (_twilio if twilio else _stripe)(self.path, mode)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if not twilio:
            self.send_header("Request-Id", "req_fake")
            self.send_header("Stripe-Should-Retry", "false" if status < 500 else "true")
        self.end_headers()
        self.wfile.write(data)


def _stripe(path: str, mode: str) -> tuple[int, dict[str, Any]]:
    if mode == "errors":
        return 500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}
    if mode == "decline":
        return 402, {
            "error": {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
        }
    if path.startswith("/v1/balance"):
        return 200, {"object": "balance", "available": [], "pending": [], "livemode": False}
    return 200, {
        "id": "pi_fake",
        "object": "payment_intent",
        "amount": 500,
        "currency": "eur",
        "status": "succeeded",
        "livemode": False,
    }


def _twilio(path: str, mode: str) -> tuple[int, dict[str, Any]]:
    if mode == "errors":
        return 500, {"code": 20500, "message": "Internal Server Error", "status": 500}
    if mode == "decline":
        return 400, {
            "code": 21211,
            "message": "Invalid 'To' Phone Number",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        }
    account = path.split("/")[3]
    return 201, {
        "sid": "SMfake",
        "account_sid": account,
        "status": "queued",
        "body": "hello",
        "direction": "outbound-api",
    }


class FakeAPIs:
    """The fake Stripe and Twilio APIs on a free port of 127.0.0.1 (``url``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = "healthy"
        self.released = threading.Event()
        self.requests = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the base URL to point the SDKs at."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def set_mode(self, mode: str) -> None:
        """Switch behaviour; leaving ``hang`` lets held requests go (unanswered)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        with self.lock:
            self.released.set()
            self.mode = mode
            self.released = threading.Event()

    def start(self) -> FakeAPIs:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeAPIs:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
