"""CSRF protection for the dashboard's state-changing POSTs, without Flask-WTF.

Two checks, both required:

- a per-session token: a random 256-bit value kept in Flask's session
  (signed cookie, so the app needs a ``SECRET_KEY``), put in a hidden field of
  every dashboard form and compared in constant time on POST (form field
  ``breakerpanel_csrf``, or header ``X-Breakerpanel-CSRF`` for scripts);
- the browser's own origin headers, judged by
  :func:`breaker_core.web.origin.cross_origin_reason` (the same rule as every
  integration): a POST from another site is refused even with a token.

With Flask-WTF's ``CSRFProtect`` on the app, the dashboard's action view is
exempted from it (:func:`leave_to_own_check`): the checks above stand in for
Flask-WTF's, every other view of the app keeps Flask-WTF's protection, and the
dashboard's forms need no second token.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request, session
from werkzeug.exceptions import Forbidden

from breaker_core.web.origin import cross_origin_reason, tokens_match

__all__ = ["FIELD", "HEADER", "SESSION_KEY", "check_csrf", "csrf_token", "leave_to_own_check"]

FIELD = "breakerpanel_csrf"
"""Form field carrying the token."""
HEADER = "X-Breakerpanel-CSRF"
"""Request header carrying the token (for scripts)."""
SESSION_KEY = "_breakerpanel_csrf"
"""Session key holding the token."""


def _require_secret_key() -> None:
    if not current_app.secret_key:
        raise RuntimeError(
            "the breakers dashboard keeps its CSRF token in the session, which needs a "
            'secret key: set app.config["SECRET_KEY"]'
        )


def csrf_token() -> str:
    """The session's token, created on first use.

    Raises:
        RuntimeError: the app has no ``SECRET_KEY`` (Flask has no session without one).
    """
    _require_secret_key()
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def check_csrf() -> None:
    """Refuse the current request unless it is same-origin and carries the session's token.

    Raises:
        Forbidden: the origin is another site, the token is missing or wrong,
            or the session has no token yet (the form was not loaded from this session).
        RuntimeError: the app has no ``SECRET_KEY``.
    """
    _require_secret_key()
    reason = cross_origin_reason(
        request.headers.get("Sec-Fetch-Site"), request.headers.get("Origin"), request.host
    )
    if reason is not None:
        raise Forbidden(f"Cross-site request refused: {reason}.")
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD) or request.headers.get(HEADER)
    if not isinstance(expected, str) or not sent:
        raise Forbidden("Missing CSRF token: reload the dashboard and try again.")
    if not tokens_match(expected, sent):
        raise Forbidden("Invalid CSRF token: reload the dashboard and try again.")


def leave_to_own_check(app: Flask, view: Callable[..., Any]) -> None:
    """Exempt ``view`` from Flask-WTF's ``CSRFProtect`` if the app has it (else nothing).

    ``view`` must call :func:`check_csrf` itself. Flask-WTF keeps its
    instance in ``app.extensions["csrf"]`` and its exemptions by the view's
    dotted name, so asking again is harmless.
    """
    protect = app.extensions.get("csrf")
    exempt = getattr(protect, "exempt", None)
    if callable(exempt):
        exempt(view)
