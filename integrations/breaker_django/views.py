"""The dashboard, the JSON status, the state-changing POST, health and metrics endpoints.

Viewing needs an active staff user (``is_staff``); changing a state needs the
``breaker.change_breaker_state`` permission as well (superusers have it).
Anonymous visitors of the dashboard are sent to the login page (see
:func:`login_url`); the JSON endpoint, the metrics and the POST endpoint
answer 403 instead. The POST
endpoint is CSRF-protected whether or not ``CsrfViewMiddleware`` is installed.
The health endpoint is open to everyone: load balancers must reach it.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.apps import apps  # type: ignore[import-untyped]
from django.conf import global_settings, settings  # type: ignore[import-untyped]
from django.core.exceptions import PermissionDenied  # type: ignore[import-untyped]
from django.http import (  # type: ignore[import-untyped]
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
    JsonResponse,
)
from django.middleware.csrf import get_token  # type: ignore[import-untyped]
from django.shortcuts import resolve_url  # type: ignore[import-untyped]
from django.urls import NoReverseMatch, Resolver404, resolve, reverse  # type: ignore[import-untyped]
from django.utils.http import urlencode  # type: ignore[import-untyped]
from django.views.decorators.cache import never_cache  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_protect  # type: ignore[import-untyped]
from django.views.decorators.http import (  # type: ignore[import-untyped]
    require_GET,
    require_POST,
    require_safe,
)

from breaker_core.extension import warn_deprecated
from breaker_core.ops.actions import ActionError, apply_action, audit
from breaker_core.ops.health import health as health_of
from breaker_core.ops.status import status_document
from breaker_core.web.dashboard import SECURITY_HEADERS, render_dashboard
from breaker_core.web.unavailable import prefers_json
from breaker_django import conf
from breaker_django import metrics as breaker_metrics

__all__ = [
    "PERMISSION",
    "action",
    "can_change",
    "can_view",
    "dashboard",
    "health_view",
    "login_url",
    "metrics",
    "status",
]

logger = logging.getLogger("breaker_django")

PERMISSION = "breaker.change_breaker_state"
"""The permission a staff user needs to change breaker states."""


def _user(request: HttpRequest) -> Any:
    return getattr(request, "user", None)


def can_view(request: HttpRequest) -> bool:
    """True for an active, authenticated staff user."""
    user = _user(request)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def can_change(request: HttpRequest) -> bool:
    """True for a user who may view and holds ``breaker.change_breaker_state``."""
    return can_view(request) and bool(_user(request).has_perm(PERMISSION))


NO_LOGIN_PAGE = (
    "The breakers dashboard is for signed-in staff users, and this site has no login page "
    "to send you to. Route the admin (path('admin/', admin.site.urls) with "
    "django.contrib.admin installed) or django.contrib.auth.urls, or set LOGIN_URL."
)


def login_url() -> str | None:
    """Where the dashboard sends anonymous visitors to sign in; None if the site has no login page.

    ``LOGIN_URL`` when you set it. Left at Django's default
    (``/accounts/login/``), it is used when that path is routed; otherwise the
    admin's login page when ``django.contrib.admin`` is installed and routed
    (the dashboard is for staff, who sign in there); otherwise None.
    """
    configured = settings.LOGIN_URL
    if configured != global_settings.LOGIN_URL:
        url: str = resolve_url(configured)
        return url
    try:
        resolve(configured)
    except Resolver404:
        pass
    else:
        return str(configured)
    if apps.is_installed("django.contrib.admin"):
        try:
            admin: str = reverse("admin:login")
        except NoReverseMatch:
            return None
        return admin
    return None


def _url(request: HttpRequest, name: str) -> str:
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match is not None and match.namespace else "breakers"
    url: str = reverse(f"{namespace}:{name}", current_app=namespace)
    return url


def _framed(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """The dashboards' one set of security headers (:data:`SECURITY_HEADERS`), own CSP included.

    A 403 raised as ``PermissionDenied`` is rendered by Django's handler, outside.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        response = view(request)
        for name, value in SECURITY_HEADERS.items():
            response[name] = value
        return response

    return wrapped


def _forbidden_json(message: str) -> JsonResponse:
    return JsonResponse({"error": "forbidden", "detail": message}, status=403)


def _dashboard(request: HttpRequest) -> HttpResponse:
    """The dashboard page: every breaker with its state and figures, refreshed live.

    Raises:
        PermissionDenied: a signed-in user who is not active staff (403).
    """
    if not can_view(request):
        user = _user(request)
        if user is None or not user.is_authenticated:
            login = login_url()
            if login is None:
                # Said on the page itself: Django's own 403 page would not show why.
                return HttpResponseForbidden(NO_LOGIN_PAGE, content_type="text/plain")
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{login}?{query}")
        raise PermissionDenied("the breakers dashboard is for staff users")
    editable = can_change(request)
    page = render_dashboard(
        status_document(conf.get_registry()),
        status_url=_url(request, "status"),
        action_url=_url(request, "action") if editable else None,
        csrf=("csrfmiddlewaretoken", get_token(request)) if editable else None,
    )
    return HttpResponse(page)


def _status(request: HttpRequest) -> JsonResponse:
    """The JSON status document (``breakerpanel.status/1``); 403 unless active staff."""
    if not can_view(request):
        return _forbidden_json("the breakers status is for staff users")
    return JsonResponse(status_document(conf.get_registry()))


def _action(request: HttpRequest) -> HttpResponse:
    """Apply ``action`` (open, close, reset, disable, metrics-only) to breaker ``name``.

    Changes this server process (and every process, with shared storage).
    Answers JSON when the client asks for it, else redirects to the dashboard.
    403 without the permission, 400 for an unknown action or dependency.
    """
    wants_json = prefers_json(request.META.get("HTTP_ACCEPT"))
    if not can_change(request):
        message = f"changing breaker states needs staff status and the {PERMISSION} permission"
        if wants_json:
            return _forbidden_json(message)
        raise PermissionDenied(message)
    name = request.POST.get("name", "")
    verb = request.POST.get("action", "")
    try:
        outcome = apply_action(conf.get_registry(), verb, name, out_of_process=False)
    except ActionError as exc:
        if wants_json:
            return JsonResponse({"error": "bad_request", "detail": str(exc)}, status=400)
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    user = _user(request)
    audit(
        outcome, user=user.get_username() if user else None, client=request.META.get("REMOTE_ADDR")
    )
    if wants_json:
        return JsonResponse({"ok": True, "message": outcome})
    return HttpResponseRedirect(_url(request, "dashboard"), status=303)


def _health(request: HttpRequest) -> JsonResponse:
    """The health document (``breakerpanel.health/1``): 200 unless a required dependency is open.

    Raises:
        ConfigurationError: ``settings.BREAKERS`` is invalid (a 500: the site is broken).
    """
    code, body = health_of(conf.get_registry())
    return JsonResponse(body, status=code)


def _metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus metrics, for active staff (403 otherwise); 404 until they are enabled."""
    if not can_view(request):
        return _forbidden_json("the breakers metrics are for staff users")
    response: HttpResponse = breaker_metrics.metrics_view(request)
    return response


def _public(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Exempt ``view`` from ``LoginRequiredMiddleware`` (Django 5.1+)."""
    from django.contrib.auth import decorators  # type: ignore[import-untyped]

    exempt = getattr(decorators, "login_not_required", None)
    return exempt(view) if exempt is not None else view


dashboard: Callable[[HttpRequest], HttpResponse] = _framed(never_cache(require_GET(_dashboard)))
"""GET: the dashboard page (see :func:`_dashboard`)."""

status: Callable[[HttpRequest], HttpResponse] = _framed(never_cache(require_GET(_status)))
"""GET: the JSON status document (see :func:`_status`)."""

action: Callable[[HttpRequest], HttpResponse] = _framed(
    never_cache(csrf_protect(require_POST(_action)))
)
"""POST, CSRF-protected: change one breaker's state (see :func:`_action`)."""

health_view: Callable[[HttpRequest], HttpResponse] = _public(never_cache(require_safe(_health)))
"""GET or HEAD, no login needed: the health document with its status code (see :func:`_health`).

Route it anywhere as well: ``path("healthz", breaker_django.views.health_view)`` (the name
of ``breaker_flask.health_view`` and ``breaker_starlette.health_view``).
"""


def __getattr__(name: str) -> object:
    # Deprecated names, kept for one release.
    if name == "health":
        warn_deprecated("breaker_django.views.health", "breaker_django.views.health_view")
        return health_view
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


metrics: Callable[[HttpRequest], HttpResponse] = _framed(never_cache(require_GET(_metrics)))
"""GET, staff only: the Prometheus text (see :func:`_metrics`)."""
