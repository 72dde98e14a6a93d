"""The dashboard, JSON status, actions, health and metrics as a mountable ASGI app.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route, Router

from breaker_core import ConfigurationError, Registry
from breaker_core.extension import warn_deprecated
from breaker_core.ops.actions import ActionError, apply_action, audit
from breaker_core.ops.status import status_document
from breaker_core.web.dashboard import SECURITY_HEADERS, render_dashboard
from breaker_core.web.unavailable import prefers_json
from breaker_starlette import csrf
from breaker_starlette.monitoring import Endpoint, enable_metrics, health_view, metrics_view

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Authorize", "Check", "dashboard_app"]

logger = logging.getLogger("breaker_starlette")

Check = Callable[[Request], bool | Awaitable[bool]]
"""``can_view(request)``, ``can_change(request)``: True to let the request through."""

Authorize = Check
"""The type of the deprecated ``authorize=`` hook (a :data:`Check`)."""

_HEADERS = SECURITY_HEADERS


class _Dashboard:
    """The endpoints, sharing the registry and the options."""

    def __init__(
        self,
        registry: Registry,
        can_view: Check | None,
        can_change: Check | None,
        trusted_origins: Collection[str],
        interval: float,
    ) -> None:
        self.registry = registry
        self.can_view = can_view
        self.can_change = can_change
        self.trusted_origins = frozenset(trusted_origins)
        self.interval = interval

    async def _refusal(self, request: Request) -> tuple[Response | None, bool]:
        """``(403 response or None, whether the request may change states)``.

        Viewing needs ``can_view`` or ``can_change`` (asked in that order, as Flask's
        blueprint does); a hook given for both is asked once.
        """
        if self.can_view is None and self.can_change is None:
            return _text("Forbidden: this dashboard has no can_view hook.", 403), False
        viewed = self.can_view is not None and await _allows(self.can_view, request)
        if self.can_change is None:
            may_change = False
        elif self.can_change is self.can_view:
            may_change = viewed
        else:
            may_change = await _allows(self.can_change, request)
        if viewed or may_change:
            return None, may_change
        return _text("Forbidden", 403), False

    async def page(self, request: Request) -> Response:
        refusal, may_change = await self._refusal(request)
        if refusal is not None:
            return refusal
        base = request.scope.get("root_path", "")
        token = csrf.token_of(request) or csrf.new_token()
        html = render_dashboard(
            status_document(self.registry),
            status_url=f"{base}/status",
            action_url=f"{base}/action" if may_change else None,
            csrf=(csrf.FIELD, token),
            interval=self.interval,
        )
        response = HTMLResponse(html, headers=_HEADERS)
        csrf.set_cookie(response, token, secure=request.url.scheme == "https")
        return response

    async def status(self, request: Request) -> Response:
        refusal, _ = await self._refusal(request)
        if refusal is not None:
            return refusal
        return JSONResponse(status_document(self.registry), headers=_HEADERS)

    def protected(self, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` behind the ``can_view`` check."""

        async def guarded(request: Request) -> Response:
            refusal, _ = await self._refusal(request)
            return refusal if refusal is not None else await endpoint(request)

        return guarded

    async def action(self, request: Request) -> Response:
        refusal, may_change = await self._refusal(request)
        if refusal is not None:
            return refusal
        if self.can_change is None:
            return _text("Forbidden: this dashboard is read-only.", 403)
        if not may_change:
            return _text("Forbidden", 403)
        async with request.form(max_files=0, max_fields=10) as form:
            problem = csrf.check(request, form.get(csrf.FIELD), self.trusted_origins)
            name, action = form.get("name"), form.get("action")
        if problem is not None:
            return _text(f"Forbidden: {problem}", 403)
        if not isinstance(name, str) or not isinstance(action, str):
            return _text("Bad request: the form needs the fields name and action.", 400)
        try:
            message = apply_action(self.registry, action, name, out_of_process=False)
        except ActionError as exc:
            return _text(f"Bad request: {exc}", 400)
        user = request.scope.get("user")
        audit(
            message,
            user=getattr(user, "display_name", user) if user is not None else None,
            client=request.client.host if request.client else None,
        )
        if prefers_json(request.headers.get("accept")):
            return JSONResponse({"ok": True, "message": message}, headers=_HEADERS)
        base = request.scope.get("root_path", "")
        return RedirectResponse(f"{base}/", status_code=303, headers=_HEADERS)


def _text(message: str, status: int) -> Response:
    return PlainTextResponse(message, status_code=status, headers=_HEADERS)


async def _allows(hook: Check, request: Request) -> bool:
    """Run ``hook``: awaited when async, in the thread pool when sync; only ``True`` allows."""
    if _is_async(hook):
        result = hook(request)
    else:
        result = await run_in_threadpool(hook, request)
    if inspect.isawaitable(result):
        result = await result
    return result is True


def _is_async(hook: Callable[..., object]) -> bool:
    while isinstance(hook, functools.partial):
        hook = hook.func
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
        getattr(hook, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


def dashboard_app(
    registry: Registry,
    *,
    can_view: Check | None = None,
    can_change: Check | None = None,
    read_only: bool = False,
    authorize: Check | None = None,
    trusted_origins: Collection[str] = (),
    interval: float = 2.0,
    metrics: bool | CollectorRegistry = False,
) -> Router:
    """The dashboard (``/``), JSON status (``/status``), actions (``POST /action``) and probes.

    Mount it: ``app.mount("/breakers", dashboard_app(registry, can_view=is_staff,
    can_change=is_admin))``. The page, the JSON status and the metrics need
    ``can_view(request)`` or ``can_change(request)`` to allow the request; changing a
    state needs ``can_change(request)``, and the page shows buttons only to those it
    allows (the same words as Flask's ``dashboard_blueprint`` and Django's views). An
    async hook is awaited, a sync one runs in Starlette's thread pool (so it may query
    a database). ``True`` lets the request through, anything else answers 403; a hook
    may also raise (an ``HTTPException``, say). Without either hook every request is
    refused; without ``can_change`` the dashboard is read-only.
    ``read_only=True`` ignores ``can_change``: no buttons, every POST refused.
    ``authorize=`` (deprecated) is the one hook for both: ``can_view=authorize,
    can_change=authorize``.
    ``trusted_origins`` are ``Origin`` values accepted by the CSRF check
    besides the request's own host (for a proxy that rewrites ``Host``).
    ``interval`` is the page's refresh period in seconds.

    ``/health`` (the health document, ``breakerpanel.health/1``) answers
    everyone: load balancers must reach it. ``metrics=True`` keeps the
    breakers' Prometheus metrics in prometheus_client's global registry (or
    pass a ``CollectorRegistry``) and serves that registry at ``/metrics``,
    behind ``authorize``; without it there is no ``/metrics`` (while metrics
    are kept, the engine's listener-free fast path is lost).

    State changes apply to this process's registry; with ``memory://``
    storage, each server process has its own.

    Raises:
        ConfigurationError: ``registry`` is not a ``Registry``; ``interval``
            is not positive; with ``metrics``, prometheus_client is missing or
            the ``CollectorRegistry`` already holds breakerpanel series (see
            :func:`~breaker_starlette.monitoring.enable_metrics`); ``authorize`` is
            given with ``can_view`` or ``can_change``.
    """
    if not isinstance(registry, Registry):
        raise ConfigurationError(
            f"dashboard_app(registry, ...): expected a breaker_core.Registry, "
            f"got {type(registry).__name__}"
        )
    if not interval > 0:
        raise ConfigurationError(
            f"dashboard_app(..., interval=...): expected a positive number of seconds, "
            f"got {interval!r}"
        )
    if authorize is not None:
        if can_view is not None or can_change is not None:
            raise ConfigurationError(
                "dashboard_app(authorize=...) is the deprecated name of can_view= and "
                "can_change=: give either authorize or those, not both"
            )
        warn_deprecated(
            "dashboard_app(authorize=...)", "dashboard_app(can_view=..., can_change=...)"
        )
        can_view = can_change = authorize
    if can_view is None and can_change is None:
        logger.warning(
            "dashboard_app() has no can_view hook: every request to it but /health is "
            "refused (403); pass can_view=lambda request: ... (and can_change=) to let "
            "staff in"
        )
    changer = None if read_only else can_change
    dashboard = _Dashboard(registry, can_view, changer, trusted_origins, interval)
    routes = [
        Route("/", dashboard.page, methods=["GET"], name="dashboard"),
        Route("/status", dashboard.status, methods=["GET"], name="status"),
        Route("/action", dashboard.action, methods=["POST"], name="action"),
        Route("/health", health_view(registry), methods=["GET"], name="health"),
    ]
    if metrics is not False:
        collector = None if metrics is True else metrics
        enable_metrics(registry, collector)
        serve = dashboard.protected(metrics_view(collector))
        routes.append(Route("/metrics", serve, methods=["GET"], name="metrics"))
    return Router(routes=routes)
