"""The 503 answer given when a page cannot work because a dependency is open.

HTML or JSON by the request's ``Accept`` header, always with ``Retry-After``
and ``Cache-Control: no-store``. The body does not name the dependency:
internal service names are not the visitor's business.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import html
import json
import math

from breaker_core.errors import CircuitOpenError

__all__ = ["UnavailableResponse", "prefers_json", "retry_after_header", "unavailable"]


class UnavailableResponse:
    """A framework-free 503: ``status``, ``headers`` (list of pairs) and ``body`` bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header's value."""
        return next(v for k, v in self.headers if k == "Content-Type")


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


def prefers_json(accept: str | None) -> bool:
    """True when the ``Accept`` header ranks JSON above HTML (absent header: HTML)."""
    if not accept:
        return False
    best_json = best_html = -1.0
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media == "application/json" or media.endswith("+json"):
            best_json = max(best_json, quality)
        elif media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, quality)
        elif media in ("*/*", "text/*"):
            best_html = max(best_html, quality * 0.99)  # a wildcard prefers our default
    return best_json > best_html and best_json > 0


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto">
<h1>Temporarily unavailable</h1>
<p>A service this page needs is not answering right now. Please try again in
{seconds} second{plural}.</p>
</body></html>
"""


def unavailable(error: CircuitOpenError, accept: str | None) -> UnavailableResponse:
    """Build the 503 for ``error`` (a rejection), as JSON or HTML by ``accept``."""
    retry = retry_after_header(error.retry_after)
    headers = [("Retry-After", retry), ("Cache-Control", "no-store")]
    if prefers_json(accept):
        body = json.dumps(
            {
                "error": "service_unavailable",
                "detail": "A service this resource needs is temporarily unavailable.",
                "retry_after": int(retry),
            }
        ).encode()
        headers.append(("Content-Type", "application/json"))
    else:
        body = _HTML.format(seconds=html.escape(retry), plural="" if retry == "1" else "s").encode()
        headers.append(("Content-Type", "text/html; charset=utf-8"))
    headers.append(("Content-Length", str(len(body))))
    return UnavailableResponse(503, headers, body)
