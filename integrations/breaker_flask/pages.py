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

What every request pays is the ``before_request`` function: one look-up of
its path (remembered per path). The ``request_finished`` receiver is
connected for the app only while one of its requests has a response to keep
(at most once per :data:`~breaker_core.web.pages.REFRESH` per page variant),
so on every other request blinker has no receiver to call.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from flask import Flask, Request, Response, current_app, request
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

_ANSWERED = "_breakerpanel_answered"  # flag on the request: this response is ours, never keep it
_VISIT = "_breakerpanel_visit"  # the request's PageVisit, on the request object

# The current request object, without a pass through the proxy's attribute look-up.
_current_request = request._get_current_object  # type: ignore[attr-defined]


def page_request(current: Request | None = None) -> PageRequest:
    """A Flask request (by default the current one) as the page rules see it.

    The authority is ``request.host`` (checked against ``TRUSTED_HOSTS`` when
    the app sets it); the path is ``script_root + path``; the query string is
    the raw bytes, each byte one character.
    """
    if current is None:
        current = _current_request()
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


def raw_key(current: Request) -> tuple[object, ...]:
    """The request values :func:`page_request`'s scheme, host, path and query come from.

    Werkzeug's own attributes (set when the request is made) and the ``Host``
    header, the server address only without one, as ``request.host`` reads
    them (the app's ``TRUSTED_HOSTS`` is the same for all its requests). No
    ``Cookie`` header: Flask's page guard has no key cookies (see
    :data:`breaker_core.web.pages.RawKey`).
    """
    host = current.environ.get("HTTP_HOST")
    return (
        current.scheme,
        current.server if host is None else host,
        current.root_path,
        current.path,
        current.query_string,
    )


class Finisher:
    """The app's ``request_finished`` receiver, connected only while a response is to be kept.

    :meth:`expect` is called for a request whose response is wanted (it
    connects the receiver for the app); the receiver hands that response to
    the request's visit, and disconnects itself once no such request is in
    flight. Requests are held weakly: one that never reaches
    ``request_finished`` (an exception propagated out of the app) is
    forgotten when it ends, and the next response of the app disconnects the
    receiver.
    """

    def __init__(self, app: Flask) -> None:
        self._app = weakref.ref(app)
        self._lock = threading.Lock()
        self._waiting: weakref.WeakSet[object] = weakref.WeakSet()
        self._connected = False

    def expect(self, current: object) -> None:
        """Have the final response of request ``current`` (holding its visit) judged."""
        with self._lock:
            self._waiting.add(current)
            app = self._app()
            if not self._connected and app is not None:
                # A bound method: blinker holds it weakly; the app's state holds self.
                request_finished.connect(self.finished, sender=app)
                self._connected = True

    def finished(self, sender: Flask, response: Response, **extra: Any) -> None:
        """The ``request_finished`` receiver: keep the response if its request wants it."""
        current = _current_request()
        visit: PageVisit | None = current.__dict__.pop(_VISIT, None)
        try:
            if visit is not None and not current.__dict__.get(_ANSWERED):
                streamed = response.is_streamed or response.direct_passthrough
                body = None if streamed else response.get_data()
                visit.keep(response.status_code, list(response.headers.items()), body)
        finally:
            with self._lock:
                self._waiting.discard(current)
                if self._connected and not self._waiting:
                    request_finished.disconnect(self.finished)  # this app's only sender
                    self._connected = False


class AppState:
    """What the extension keeps per app: the registry, its page guard and the receiver."""

    def __init__(self, registry: Registry, finisher: Finisher) -> None:
        self.registry = registry
        self.pages = PageGuard(registry)
        self.finisher = finisher

    # -- request cycle -----------------------------------------------------------------

    def begin(self, visit: PageVisit) -> ResponseReturnValue | None:
        """The start of a request :meth:`PageGuard.visit` has something to do for.

        A dependency the page needs is open: the answer. Else a fresh copy of
        the page is wanted: the response is judged when it is final.
        """
        if visit.error is not None:
            return self.answer(visit.error, visit)
        current = _current_request()
        setattr(current, _VISIT, visit)
        self.finisher.expect(current)
        return None

    def answer(self, error: CircuitOpenError, visit: PageVisit | None = None) -> Response:
        """The last good copy of this page if ``stale_for`` allows, else the 503.

        The 503 goes through Flask's HTTP error handling, so an app's
        ``errorhandler(503)`` renders it.
        """
        current = _current_request()
        setattr(current, _ANSWERED, True)
        made = visit or getattr(current, _VISIT, None) or page_request
        answer = self.pages.answer_for(error, made)
        if answer.stale:
            response = Response(answer.body, status=answer.status, headers=answer.headers)
            length = dict(answer.headers).get("Content-Length")
            if length is not None:  # HEAD: the GET's length, not the empty body's
                response.headers["Content-Length"] = length
            return response
        handled = current_app.handle_http_exception(BreakerUnavailable(error))
        return current_app.make_response(handled)


def app_state(app: Flask) -> AppState | None:
    """The extension's state for ``app``, or None if ``Breakers`` was not set up on it."""
    state = app.extensions.get(STATE_KEY)
    return state if isinstance(state, AppState) else None


def _on_open(error: CircuitOpenError) -> ResponseReturnValue:
    state = app_state(current_app)
    if state is None:  # pragma: no cover - only registered by init_app
        raise error
    return state.answer(error)


def install(app: Flask, registry: Registry) -> AppState:
    """Create the app's state and hook it into the request cycle."""
    previous = app_state(app)
    if previous is not None:  # init_app called again (new settings): the hooks are there
        state = app.extensions[STATE_KEY] = AppState(registry, previous.finisher)
        return state
    state = app.extensions[STATE_KEY] = AppState(registry, Finisher(app))
    extensions = app.extensions

    def before_request() -> ResponseReturnValue | None:
        # Every request of the app runs this: the path's plan, remembered per path,
        # decides; nothing else is looked up. This app's state is read where
        # install() (again) puts it: no current_app look-up.
        current = _current_request()
        state: AppState = extensions[STATE_KEY]
        pages = state.pages
        plan = pages.routes.plan(current.path)
        if plan is None:
            return None
        visit = pages.visit(plan, current.method, current, page_request, raw_key)
        return None if visit is None else state.begin(visit)

    app.before_request(before_request)
    if CircuitOpenError not in app.error_handler_spec[None][None]:
        # An errorhandler(CircuitOpenError) the app registered first stays in charge.
        app.register_error_handler(CircuitOpenError, _on_open)
    return state
