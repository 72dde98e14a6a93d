"""``BreakerMiddleware``: route guards, stale pages and the 503, as pure ASGI middleware.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Awaitable, Mapping

from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:  # private to Starlette: absent in a version that moved it, then nothing is absorbed
    from starlette._exception_handler import wrap_app_handling_exceptions
except ImportError:  # pragma: no cover - depends on the installed Starlette
    wrap_app_handling_exceptions = None  # type: ignore[assignment]

from breaker_core import CircuitOpenError, ConfigurationError, Registry
from breaker_core.extension import Clock
from breaker_core.web.pages import PageVisit
from breaker_starlette.dependencies import declare_unavailable
from breaker_starlette.responses import (
    answer_response,
    page_guard,
    page_request,
    raw_key,
    send_answer,
)

__all__ = ["BreakerMiddleware", "page_guard"]

logger = logging.getLogger("breaker_starlette")

_ANSWERED = "breakerpanel.answered"
"""Scope key set when the middleware's handler answered a ``CircuitOpenError`` (never kept)."""


def build_registry(
    registry: Registry | None,
    settings: Mapping[str, object] | None,
    clock: Clock | None,
    where: str,
) -> Registry:
    """The registry given, or one built from ``settings``; exactly one of them.

    Raises:
        ConfigurationError: both or neither were given, ``clock`` came with a
            ready registry, or the settings are invalid.
    """
    if (registry is None) == (settings is None):
        raise ConfigurationError(
            f"{where}: pass exactly one of registry= (a Registry built with "
            "Registry.from_settings(BREAKERS)) or settings= (the BREAKERS mapping)"
        )
    if registry is not None:
        if clock is not None:
            raise ConfigurationError(
                f"{where}: clock= only applies with settings=; give the clock to "
                "Registry.from_settings(BREAKERS, clock=...) instead"
            )
        if not isinstance(registry, Registry):
            raise ConfigurationError(
                f"{where}: registry= expects a breaker_core.Registry, got {type(registry).__name__}"
            )
        return registry
    return Registry.from_settings(settings, clock=clock)


class _Responder:
    """Watches one response on its way out: whether it started, and its body if kept."""

    __slots__ = ("body", "chunks", "headers", "limit", "send", "size", "started", "status")

    def __init__(self, send: Send, collect: bool, limit: int) -> None:
        self.send = send
        self.limit = limit
        self.started = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        # None: not collecting (nothing would keep this page, or it is streamed/too big).
        self.chunks: list[bytes] | None = [] if collect else None
        self.size = 0
        self.body: bytes | None = None

    def __call__(self, message: Message) -> Awaitable[None]:
        """Note the message, then hand on ``send``'s awaitable (no coroutine of its own)."""
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
            if self.chunks is not None:
                self.status = message["status"]
                self.headers = list(message.get("headers", ()))
                if message.get("trailers"):
                    self.chunks = None
        elif self.chunks is not None and self.started:
            if kind == "http.response.body":
                chunk = message.get("body", b"")
                self.size += len(chunk)
                if self.size > self.limit:
                    self.chunks = None  # too big to keep: stop holding it in memory
                else:
                    self.chunks.append(chunk)
                    if not message.get("more_body", False):
                        self.body = b"".join(self.chunks)
            else:
                self.chunks = None  # pathsend, zerocopysend: not a body we can keep
        return self.send(message)


class BreakerMiddleware:
    """Route guards, stale pages and the 503 answer for any ASGI app.

    ``app.add_middleware(BreakerMiddleware, registry=registry)`` (or
    ``settings=BREAKERS``, optionally with ``clock=``). For every HTTP request
    it sets ``scope["state"]["breakers"]`` (``request.state.breakers``), answers
    at once when a dependency the path needs (its ``routes``) is open, keeps
    the last good shareable copy of pages whose dependency has ``stale_for``,
    and turns a :class:`~breaker_core.CircuitOpenError` escaping the app into
    the same answer while the response has not started. Once the response has
    started, the error is logged and re-raised so the server closes the
    connection instead of sending a corrupt response. Innermost in a Starlette
    or FastAPI app, it gives that answer through the app's own
    ``ExceptionMiddleware`` (which tracks the start anyway) instead of watching
    each response. Lifespan and websocket scopes pass straight through.

    Raises:
        ConfigurationError: at construction, when not exactly one of
            ``registry``/``settings`` is given or the settings are invalid.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: Registry | None = None,
        settings: Mapping[str, object] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.app = app
        self.registry = build_registry(registry, settings, clock, "BreakerMiddleware")
        self.guard = page_guard(self.registry)
        self.routes = self.guard.routes
        # The route table's memo and the settings generation, kept to look a
        # path's plan up without a call (see RouteTable.plans).
        self._plans = self.routes.plans
        self._generation = self.routes.generation
        # The guard's memo of pages kept a moment ago and its clock, read on the
        # page-keeping routes (see PageGuard.recent).
        self._recent = self.guard.recent
        self._clock = self.guard.clock
        self._owns_registry = registry is None  # built here: closed at lifespan shutdown
        self._declared = False  # the 503 of require() in the app's OpenAPI schema
        # True: Starlette's ExceptionMiddleware inside answers an escaping
        # CircuitOpenError with this middleware's handler, watching the
        # response start itself, so no request needs a watcher of its own.
        self._handled = self._hand_over(app)
        # That ExceptionMiddleware, when this middleware does its work for it
        # on an HTTP request (one coroutine frame less per request), else None.
        self._inner: ExceptionMiddleware | None = (
            app
            if self._handled and isinstance(app, ExceptionMiddleware) and _absorbs(app)
            else None
        )

    def _hand_over(self, app: ASGIApp) -> bool:
        """Register the answer as the handler of the ``ExceptionMiddleware`` this wraps, if it can.

        Only when ``app`` is Starlette's (or FastAPI's) ``ExceptionMiddleware``,
        which this middleware wraps directly when it is the innermost of the
        app's ``middleware`` (it already tracks, on every request, whether the
        response started), and no handler is registered there for
        ``CircuitOpenError`` or a class it derives from (such a handler answers
        as it always did). Otherwise every request is watched here.
        """
        if not isinstance(app, ExceptionMiddleware):
            return False
        handlers = getattr(app, "_exception_handlers", None)
        if not isinstance(handlers, dict) or any(
            cls in handlers for cls in CircuitOpenError.__mro__
        ):
            return False
        app.add_exception_handler(CircuitOpenError, self._handle)
        return True

    async def _handle(self, connection: HTTPConnection, error: Exception) -> Response:
        """The ``ExceptionMiddleware`` handler: the kept page or the 503, as :meth:`_escaped`.

        Starlette calls it only while the response has not started. A
        websocket's error goes on as it would without the middleware.
        """
        scope = connection.scope
        if scope["type"] != "http" or not isinstance(error, CircuitOpenError):
            raise error
        scope[_ANSWERED] = True  # the answer is not the page: never kept
        answer = self.guard.answer_for(error, page_request(scope))
        return answer_response(answer, scope["method"])

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Close a registry this middleware built when the app shuts down."""

        async def closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                self.registry.close()
            await send(message)

        await self.app(scope, receive, closing if self._owns_registry else send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            self._declare(scope)
            if scope["type"] == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if not self._declared:
            self._declare(scope)
        try:
            scope["state"]["breakers"] = self.registry
        except KeyError:  # a server without lifespan state
            scope["state"] = {"breakers": self.registry}
        path = scope["path"]
        try:
            plan = self._plans[path]  # remembered per path
        except KeyError:
            plan = self.routes.find(path)
        if plan.generation != self._generation.value:  # the settings changed
            plan = self.routes.find(path)
        if plan.keepers:  # the page may be kept
            # Nothing to do for a page kept a moment ago for every request of
            # this raw key while no breaker of the plan may be open: the guard's
            # own first check, without its call (see PageGuard.recent).
            seen = self._recent.get(raw_key(scope))
            for breaker in plan.breakers:
                if breaker.may_be_open:
                    seen = None  # the guard asks whether it is open
                    break
            if seen is None or seen[0] is not plan or not seen[1] <= self._clock() < seen[2]:
                visit = self.guard.visit(plan, scope["method"], scope, page_request, raw_key)
                if visit is not None:
                    await self._visited(visit, scope, receive, send)
                    return
        elif plan.breakers:  # else no dependency guards the path (the common case)
            # The guard's visit has nothing to do while none of the breakers is
            # open: only otherwise is it asked. A breaker's may_be_open is a
            # slot read; is_open is asked only when it is set.
            for breaker in plan.breakers:
                if breaker.may_be_open and breaker.is_open:
                    visit = self.guard.visit(plan, scope["method"], scope, page_request, raw_key)
                    if visit is not None:
                        await self._visited(visit, scope, receive, send)
                        return
                    break
        inner = self._inner
        if inner is not None:
            # Nothing to answer or keep (the common case), and the app's
            # ExceptionMiddleware answers an escaping CircuitOpenError with this
            # middleware's handler: its work is done here, in this coroutine
            # (see _absorbs), so the request pays no coroutine of ours.
            scope["starlette.exception_handlers"] = (
                inner._exception_handlers,
                inner._status_handlers,
            )
            try:
                await wrap_app_handling_exceptions(inner.app, Request(scope, receive, send))(
                    scope, receive, send
                )
            except RuntimeError as error:
                self._started_error(error, scope)
            return
        if self._handled:
            # The same with an ExceptionMiddleware this cannot stand in for.
            try:
                await self.app(scope, receive, send)
            except RuntimeError as error:
                self._started_error(error, scope)
            return
        # Nothing to answer or keep, no handler inside: only whether the
        # response started is watched, by a plain function handing on send's
        # awaitable (no coroutine of its own per message). It gets send and the
        # note as defaults, not from a closure: a closure here would make every
        # request build cells, watched or not.
        started = [False]

        def watch(
            message: Message, send: Send = send, started: list[bool] = started
        ) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                started[0] = True
            return send(message)

        try:
            await self.app(scope, receive, watch)
        except CircuitOpenError as error:
            await self._escaped(error, started[0], scope, send, None)

    def _declare(self, scope: Scope) -> None:
        """Declare the 503 of ``require()`` in the app's OpenAPI schema, on the first request."""
        if not self._declared:
            self._declared = True
            declare_unavailable(scope.get("app"))

    async def _visited(self, visit: PageVisit, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer now (a dependency is open), or run the app and keep the page."""
        answer = visit.answer()
        if answer is not None:
            await send_answer(send, answer, scope["method"])
            return
        await self._keeping(visit, scope, receive, send)

    async def _keeping(self, visit: PageVisit, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app for a page wanted as a last good copy, and keep its response."""
        responder = _Responder(send, visit.collect, self.guard.settings.max_body)
        try:
            await self._run(scope, receive, responder)
        except CircuitOpenError as error:
            await self._escaped(error, responder.started, scope, send, visit)
            return
        except RuntimeError as error:
            if self._handled:
                self._started_error(error, scope)
            raise
        if visit.collect and _ANSWERED not in scope:
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in responder.headers]
            visit.keep(responder.status, headers, responder.body)

    def _run(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """The app's awaitable for an HTTP request (the ExceptionMiddleware's work done here)."""
        inner = self._inner
        if inner is None:
            return self.app(scope, receive, send)
        scope["starlette.exception_handlers"] = (inner._exception_handlers, inner._status_handlers)
        return wrap_app_handling_exceptions(inner.app, Request(scope, receive, send))(
            scope, receive, send
        )

    def _started_error(self, error: RuntimeError, scope: Scope) -> None:
        """Starlette's handler refusal after the response started: the ``CircuitOpenError`` goes on.

        ``ExceptionMiddleware`` raises ``RuntimeError`` from the error when a
        handler exists but the response has started; as without the handler,
        it is logged and the ``CircuitOpenError`` itself is re-raised so that
        the server closes the connection. Any other ``RuntimeError`` is re-raised.
        """
        cause = error.__cause__
        if isinstance(cause, CircuitOpenError):
            _log_started(cause, scope)
            raise cause from None
        raise error

    async def _escaped(
        self,
        error: CircuitOpenError,
        started: bool,
        scope: Scope,
        send: Send,
        visit: PageVisit | None,
    ) -> None:
        """Answer a :class:`~breaker_core.CircuitOpenError` that escaped the app, if still can."""
        method = scope["method"]
        if started:
            _log_started(error, scope)
            raise error
        made = visit if visit is not None else (lambda: page_request(scope))
        await send_answer(send, self.guard.answer_for(error, made), method)


_EXCEPTION_MIDDLEWARE_NAMES = (
    "app",
    "_exception_handlers",
    "_status_handlers",
    "Request",
    "WebSocket",
    "wrap_app_handling_exceptions",
)
"""The names ``ExceptionMiddleware.__call__`` uses in the Starlette versions known here."""


def _absorbs(app: ExceptionMiddleware) -> bool:
    """True when ``app``'s work on an HTTP request can be done by the middleware wrapping it.

    Starlette's ``ExceptionMiddleware.__call__`` does three things for an HTTP
    request: it puts its handlers in the scope, builds a ``Request`` and
    awaits ``wrap_app_handling_exceptions(self.app, request)``. The middleware
    does the same in its own coroutine instead of awaiting one more. Only for
    Starlette's own method as the middleware knows it: not a subclass's
    override, nor a wrapper another library patched in (its code must come
    from Starlette's module and use the names above), else the app is awaited.
    """
    code = getattr(type(app).__call__, "__code__", None)
    module = sys.modules.get(ExceptionMiddleware.__module__)
    return (
        wrap_app_handling_exceptions is not None
        and isinstance(code, types.CodeType)
        and module is not None
        and code.co_filename == getattr(module, "__file__", None)
        and code.co_names == _EXCEPTION_MIDDLEWARE_NAMES
        and isinstance(getattr(app, "_status_handlers", None), dict)
    )


def _log_started(error: CircuitOpenError, scope: Scope) -> None:
    logger.error(
        "%s %s: %s after the response started; closing the connection "
        "(a 503 can no longer be sent)",
        scope["method"],
        scope["path"],
        error,
    )
