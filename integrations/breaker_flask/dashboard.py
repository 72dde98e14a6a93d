"""The optional dashboard blueprint: an HTML page, the JSON status and the action endpoint.

::

    from breaker_flask import dashboard_blueprint

    app.register_blueprint(
        dashboard_blueprint(can_view=is_staff, can_change=is_admin), url_prefix="/breakers"
    )

===================  ======  ==============================================================
``/``                GET     the dashboard page (``render_dashboard``); buttons if ``can_change``
``/status``          GET     the JSON status document (schema ``breakerpanel.status/1``)
``/action``          POST    ``name`` + ``action`` (open, close, reset, disable, metrics-only)
``/health``          GET     the health document (``breakerpanel.health/1``), open to everyone
``/metrics``         GET     the Prometheus text, once metrics are enabled (else 404)
===================  ======  ==============================================================

Nothing but ``/health`` is open by default: without ``can_view`` (or
``can_change``) every other request gets 403, and without ``can_change``
every POST gets 403.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, Forbidden

from breaker_core.ops.actions import ActionError, apply_action, audit
from breaker_core.ops.status import status_document
from breaker_core.web.dashboard import SECURITY_HEADERS, render_dashboard
from breaker_core.web.unavailable import prefers_json
from breaker_flask.csrf import FIELD, check_csrf, csrf_token, leave_to_own_check
from breaker_flask.current import current_registry
from breaker_flask.monitoring import enable_metrics, health_view, metrics_view

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Check", "dashboard_blueprint"]

Check = Callable[[], bool]
"""An authorisation hook: called inside the request, True to allow."""


def dashboard_blueprint(
    *,
    can_view: Check | None = None,
    can_change: Check | None = None,
    name: str = "breakers",
    interval: float = 2.0,
    metrics: bool | CollectorRegistry = False,
) -> Blueprint:
    """A blueprint serving the dashboard of the current app's breakers.

    ``can_view`` and ``can_change`` are called with no arguments inside the
    request (read ``flask.request``, ``flask.session`` or your login
    extension's current user) and return True to allow. Viewing the page and
    the JSON status needs ``can_view()`` or ``can_change()`` to allow it;
    with neither hook given, viewing is refused to everyone. Changing
    state needs ``can_change()`` and a valid CSRF token from the page; the
    page shows buttons only to viewers ``can_change()`` allows. A hook may
    also ``abort()`` itself (for instance with a redirect to your login page).
    ``interval`` is the page's refresh period in seconds. With Flask-WTF's
    ``CSRFProtect`` on the app (set up before or after the blueprint), the
    action endpoint exempts itself from it: it checks its own token and the
    origin (see :mod:`breaker_flask.csrf`); every other view keeps Flask-WTF's.

    ``/health`` answers everyone (load balancers). ``/metrics`` needs what
    the JSON status needs and serves the app's metrics once enabled:
    ``metrics=True`` enables them in prometheus_client's global registry
    when the blueprint is registered (after ``Breakers(app)``), or pass a
    ``CollectorRegistry``; see :func:`~breaker_flask.enable_metrics`.

    Raises (at registration, with ``metrics``): ``ConfigurationError`` as
    :func:`~breaker_flask.enable_metrics` does.

    Raises (when requests come in): ``Forbidden`` (403) when a hook refuses
    or the CSRF check fails, ``BadRequest`` (400) for an unknown action or
    dependency, ``RuntimeError`` when the app has no ``SECRET_KEY`` (the CSRF
    token lives in the session).
    """
    blueprint = Blueprint(name, __name__)
    blueprint.add_url_rule("/health", "health", health_view, methods=["GET"])
    if metrics is not False:
        collector = None if metrics is True else metrics

        def install(state: BlueprintSetupState) -> None:
            enable_metrics(cast(Flask, state.app), collector)  # a Flask app at run time

        blueprint.record_once(install)

    def may_change() -> bool:
        return can_change is not None and bool(can_change())

    def require_view() -> None:
        if can_view is None and can_change is None:
            raise Forbidden(
                "The breakers dashboard is not open to anyone yet: pass can_view= "
                "(and can_change=) to dashboard_blueprint()."
            )
        if not ((can_view is not None and can_view()) or may_change()):
            raise Forbidden("You may not view the breakers dashboard.")

    @blueprint.get("/")
    def page() -> ResponseReturnValue:
        require_view()
        changer = may_change()
        html = render_dashboard(
            status_document(current_registry()),
            status_url=url_for(".status"),
            action_url=url_for(".action") if changer else None,
            csrf=(FIELD, csrf_token()) if changer else None,
            interval=interval,
        )
        return Response(html, mimetype="text/html")

    @blueprint.get("/status")
    def status() -> ResponseReturnValue:
        require_view()
        return jsonify(status_document(current_registry()))

    @blueprint.get("/metrics", endpoint="metrics")
    def serve_metrics() -> ResponseReturnValue:
        require_view()
        return metrics_view()

    @blueprint.post("/action")
    def action() -> ResponseReturnValue:
        if can_change is None:
            raise Forbidden(
                "This breakers dashboard is read-only: pass can_change= to dashboard_blueprint()."
            )
        if not can_change():
            raise Forbidden("You may not change breakers.")
        check_csrf()
        try:
            message = apply_action(
                current_registry(),
                request.form.get("action", ""),
                request.form.get("name", ""),
                out_of_process=False,
            )
        except ActionError as error:
            raise BadRequest(str(error)) from None
        audit(message, user=_flask_user(), client=request.remote_addr)
        if prefers_json(request.headers.get("Accept")):
            return jsonify({"ok": True, "message": message})
        return redirect(url_for(".page"), code=303)

    # Flask-WTF's CSRFProtect checks in a before_request hook of the app: set up
    # before the blueprint, it is told at registration; set up after it, its hook
    # runs after this one, which tells it first.
    blueprint.record(lambda state: leave_to_own_check(cast(Flask, state.app), action))

    @blueprint.before_app_request
    def exempt_late() -> None:
        if request.method == "POST":
            leave_to_own_check(current_app, action)

    @blueprint.after_request
    def secure(response: Response) -> Response:
        # Every answer of the blueprint, refusals included: one set of headers.
        response.headers.update(SECURITY_HEADERS)
        return response

    return blueprint


def _flask_user() -> object:
    """Who asked, as far as Flask knows: ``g.user``, else ``REMOTE_USER``, else None."""
    user = g.get("user")
    return user if user is not None else request.remote_user
