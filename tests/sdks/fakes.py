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
from typing import Any

from tests.mode_server import Answer, ModeServer

MODES = ("healthy", "errors", "decline", "hang")
TIMEOUT = 0.4
"""The timeout setting of the dependencies the tests point at the fake, seconds."""
MAX_HANG = 30.0


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


class FakeAPIs(ModeServer):
    """The fake Stripe and Twilio APIs on a free port of 127.0.0.1 (``url``, once started)."""

    modes = MODES
    hang_mode = "hang"
    max_hang = MAX_HANG

    def answer(self, method: str, path: str, mode: str) -> Answer:
        twilio = path.startswith("/2010-04-01/")
        status, body = (_twilio if twilio else _stripe)(path, mode)
        headers: tuple[tuple[str, str], ...] = ()
        if not twilio:
            retry = "false" if status < 500 else "true"
            headers = (("Request-Id", "req_fake"), ("Stripe-Should-Retry", retry))
        return Answer(status, "application/json", json.dumps(body).encode(), headers)
