"""CSRF protection for the dashboard's POSTs: a double-submit token and an origin check.

The dashboard page sets a random token in a cookie (``HttpOnly``,
``SameSite=Strict``, scoped to the dashboard's path) and puts the same token
in each form. A POST is accepted only when the form field equals the cookie
and, when the browser says where the request comes from (``Sec-Fetch-Site``,
``Origin``), it comes from this site.
"""

from __future__ import annotations

import hmac
import re
import secrets
import urllib.parse
from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["COOKIE", "FIELD", "check", "new_token", "set_cookie", "token_of"]

COOKIE = "breakerbox_csrf"
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


def set_cookie(response: Response, token: str, *, path: str, secure: bool) -> None:
    """Set the token cookie on ``response``."""
    response.set_cookie(COOKIE, token, path=path, secure=secure, httponly=True, samesite="strict")


def check(request: Request, submitted: object, trusted_origins: Collection[str]) -> str | None:
    """Why this POST must be refused, or None when it passes.

    ``trusted_origins`` are extra ``Origin`` values (``"https://admin.example"``)
    accepted besides the request's own host.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"the request came from another site (Sec-Fetch-Site: {site})"
    origin = request.headers.get("origin")
    if origin is not None and origin not in trusted_origins:
        host = (request.headers.get("host") or "").lower()
        if origin == "null" or urllib.parse.urlsplit(origin).netloc.lower() != host:
            return f"the request came from another origin ({origin})"
    expected = token_of(request)
    if expected is None:
        return "the CSRF cookie is missing: reload the dashboard and try again"
    if (
        not isinstance(submitted, str)
        or not _TOKEN.fullmatch(submitted)
        or not hmac.compare_digest(submitted, expected)
    ):
        return "the CSRF token is missing or wrong: reload the dashboard and try again"
    return None
