"""Route guards, stale pages and the 503, wired into Flask's request cycle.

The flow is :class:`breaker_core.web.pages.PageGuard`'s; this module only
translates Flask's request and response into it:

- ``before_request``: a path in an open dependency's ``routes`` is answered at
  once, with the last good copy of the page or :class:`BreakerUnavailable`;
- a :class:`~breaker_core.CircuitOpenError` escaping a view (or raised by
  ``@breakers.guard``) is answered the same way, never with a 500;
- ``request_finished``: a good response is kept as the page's last good copy.
  Flask saves the session (adding ``Set-Cookie`` and ``Vary: Cookie``) after
  ``after_request`` functions run, so the response is judged when it is
  final, on the ``request_finished`` signal: a page that touched the session
  is never kept.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, request
from flask.signals import request_finished
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import SecurityError

from breaker_core import CircuitOpenError, Registry
from breaker_core.web.pages import PageGuard, PageVisit
from breaker_core.web.shareable import PageRequest
from breaker_flask.errors import BreakerUnavailable

__all__ = ["STATE_KEY", "AppState", "app_state", "page_request"]

STATE_KEY = "breaker_flask"
"""``app.extensions`` key of the extension's private state (the registry is under "breakers")."""

_ANSWERED = "_breakerpanel_answered"  # flag on flask.g: this response is ours, never keep it
_VISIT = "_breakerpanel_visit"  # the request's PageVisit on flask.g


def page_request() -> PageRequest:
    """The current Flask request as the page rules see it.

    The authority is ``request.host`` (checked against ``TRUSTED_HOSTS`` when
    the app sets it); the path is ``script_root + path``; the query string is
    the raw bytes, each byte one character.
    """
    current = request._get_current_object()  # type: ignore[attr-defined]
    try:
        host: str | None = current.host
    except SecurityError:  # not in TRUSTED_HOSTS: nothing is kept or served for it
        host = None
    headers = current.headers
    return PageRequest(
        current.method,
        current.scheme,
        host,
        current.script_root + current.path,
        current.query_string.decode("latin-1"),
        headers.items(),
        headers.get,
    )


def raw_key() -> tuple[object, ...]:
    """The environ values :func:`page_request`'s scheme, host, path and query come from.

    With the ``Cookie`` header (see :data:`breaker_core.web.pages.RawKey`).
    """
    get = request.environ.get
    return (
        get("wsgi.url_scheme"),
        get("HTTP_HOST"),
        get("SERVER_NAME"),
        get("SERVER_PORT"),
        get("SCRIPT_NAME"),
        get("PATH_INFO"),
        get("QUERY_STRING"),
        get("HTTP_COOKIE"),
    )


class AppState:
    """What the extension keeps per app: the registry and its page guard."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.pages = PageGuard(registry)

    # -- request cycle -----------------------------------------------------------------

    def before_request(self) -> ResponseReturnValue | None:
        """Answer a request whose page needs an open dependency (``routes``)."""
        current = request._get_current_object()  # type: ignore[attr-defined]
        visit = self.pages.visit(current.method, current.path, page_request, raw_key)
        if visit is None:
            return None
        if visit.error is not None:
            return self.answer(visit.error, visit)
        setattr(g, _VISIT, visit)
        return None

    def answer(self, error: CircuitOpenError, visit: PageVisit | None = None) -> Response:
        """The last good copy of this page if ``stale_for`` allows, else the 503.

        The 503 goes through Flask's HTTP error handling, so an app's
        ``errorhandler(503)`` renders it.
        """
        setattr(g, _ANSWERED, True)
        made = visit or g.get(_VISIT) or page_request
        answer = self.pages.answer_for(error, made)
        if answer.stale:
            response = Response(answer.body, status=answer.status, headers=answer.headers)
            length = dict(answer.headers).get("Content-Length")
            if length is not None:  # HEAD: the GET's length, not the empty body's
                response.headers["Content-Length"] = length
            return response
        handled = current_app.handle_http_exception(BreakerUnavailable(error))
        return current_app.make_response(handled)

    def keep(self, response: Response) -> None:
        """Keep ``response`` as its page's last good copy when allowed."""
        visit: PageVisit | None = g.get(_VISIT)  # set only when the page is wanted
        if visit is None or g.get(_ANSWERED):
            return
        streamed = response.is_streamed or response.direct_passthrough
        body = None if streamed else response.get_data()
        visit.keep(response.status_code, list(response.headers.items()), body)


def app_state(app: Flask) -> AppState | None:
    """The extension's state for ``app``, or None if ``Breakers`` was not set up on it."""
    state = app.extensions.get(STATE_KEY)
    return state if isinstance(state, AppState) else None


def _on_open(error: CircuitOpenError) -> ResponseReturnValue:
    state = app_state(current_app)
    if state is None:  # pragma: no cover - only registered by init_app
        raise error
    return state.answer(error)


def _keep_page(sender: Flask, response: Response, **extra: Any) -> None:
    state = sender.extensions.get(STATE_KEY)
    if state is not None:
        state.keep(response)


def install(app: Flask, registry: Registry) -> AppState:
    """Create the app's state and hook it into the request cycle."""
    state = AppState(registry)
    again = STATE_KEY in app.extensions
    app.extensions[STATE_KEY] = state
    if again:  # init_app called again (new settings): the hooks are already there
        return state
    extensions = app.extensions

    def before_request() -> ResponseReturnValue | None:
        # This app's state, read where install() (again) puts it: no current_app look-up.
        state: AppState = extensions[STATE_KEY]
        return state.before_request()

    app.before_request(before_request)
    if CircuitOpenError not in app.error_handler_spec[None][None]:
        # An errorhandler(CircuitOpenError) the app registered first stays in charge.
        app.register_error_handler(CircuitOpenError, _on_open)
    # Module-level receiver, connected for this app only: other Flask apps in the
    # process do not pay for it. blinker keeps weak references to both.
    request_finished.connect(_keep_page, sender=app)
    return state
