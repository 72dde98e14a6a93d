"""``BreakerUnavailable``: the 503 a Flask app answers while a dependency a page needs is open.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import ServiceUnavailable

from breaker_core import CircuitOpenError
from breaker_core.web.unavailable import UnavailableResponse, retry_after_header, unavailable

__all__ = ["BreakerUnavailable"]


def _accept(environ: dict[str, Any] | None, scope: dict[str, Any] | None) -> str | None:
    if environ is not None:
        value = environ.get("HTTP_ACCEPT")
        return value if isinstance(value, str) else None
    if scope is not None:
        for key, value in scope.get("headers", ()):
            if key.lower() == b"accept":
                return bytes(value).decode("latin-1")
    return None


class BreakerUnavailable(ServiceUnavailable):
    """A 503 with ``Retry-After``, as HTML or JSON by the request's ``Accept`` header.

    Raised (and rendered) by the extension when a route needs an open
    dependency or a :class:`~breaker_core.CircuitOpenError` escapes a view. It
    derives from werkzeug's ``ServiceUnavailable``, so ``@app.errorhandler(503)``
    or ``@app.errorhandler(BreakerUnavailable)`` can render your own page;
    ``error`` is the rejection and ``retry_after`` the whole seconds to put in
    your response's ``Retry-After`` header. The default body does not name the
    dependency.
    """

    description = "A service this page needs is not answering right now. Please try again soon."

    def __init__(self, error: CircuitOpenError) -> None:
        super().__init__(retry_after=int(retry_after_header(error.retry_after)))
        self.error = error

    def answer(
        self, environ: dict[str, Any] | None = None, scope: dict[str, Any] | None = None
    ) -> UnavailableResponse:
        """The framework-free 503 for this error and the request's ``Accept`` header."""
        return unavailable(self.error, _accept(environ, scope))

    def get_headers(
        self, environ: dict[str, Any] | None = None, scope: dict[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        """``Retry-After``, ``Cache-Control: no-store`` and the content type (werkzeug hook)."""
        return [(k, v) for k, v in self.answer(environ, scope).headers if k != "Content-Length"]

    def get_body(
        self, environ: dict[str, Any] | None = None, scope: dict[str, Any] | None = None
    ) -> str:
        """The HTML or JSON body (werkzeug hook)."""
        return self.answer(environ, scope).body.decode("utf-8")
