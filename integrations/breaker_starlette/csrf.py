"""CSRF protection for the dashboard's POSTs: a double-submit token and an origin check.

The dashboard page sets a random token in a cookie (``HttpOnly``,
``SameSite=Strict``, ``Path=/``: no attribute is ever built from the request,
whose path may hold anything a visitor typed) and puts the same token
in each form. A POST is accepted only when the form field equals the cookie
and, when the browser says where the request comes from (``Sec-Fetch-Site``,
``Origin``), it comes from this site.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import Response

from breaker_core.web.origin import cross_origin_reason, tokens_match

__all__ = ["COOKIE", "FIELD", "check", "new_token", "set_cookie", "token_of"]

COOKIE = "breakerpanel_csrf"
"""The cookie holding the token."""
FIELD = "csrf_token"
"""The form field holding the token."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_of(request: Request) -> str | None:
    """The token of the request's cookie, if it has a well-formed one."""
    value = request.cookies.get(COOKIE)
    return value if value is not None and _TOKEN.fullmatch(value) else None


def set_cookie(response: Response, token: str, *, secure: bool) -> None:
    """Set the token cookie on ``response``: constant attributes, only ``Secure`` on HTTPS."""
    response.set_cookie(COOKIE, token, path="/", secure=secure, httponly=True, samesite="strict")


def check(request: Request, submitted: object, trusted_origins: Collection[str]) -> str | None:
    """Why this POST must be refused, or None when it passes.

    ``trusted_origins`` are extra ``Origin`` values (``"https://admin.example"``)
    accepted besides the request's own host.
    """
    reason = cross_origin_reason(
        request.headers.get("sec-fetch-site"),
        request.headers.get("origin"),
        request.headers.get("host"),
        trusted_origins,
    )
    if reason is not None:
        return reason
    expected = token_of(request)
    if expected is None:
        return "the CSRF cookie is missing: reload the dashboard and try again"
    if not (isinstance(submitted, str) and _TOKEN.fullmatch(submitted)) or not tokens_match(
        expected, submitted
    ):
        return "the CSRF token is missing or wrong: reload the dashboard and try again"
    return None
