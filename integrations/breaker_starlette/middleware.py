"""``BreakerMiddleware``: route guards, stale pages and the 503, as pure ASGI middleware."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from breaker_core import CircuitOpenError, ConfigurationError, Registry
from breaker_core.clock import Clock
from breaker_core.web.pages import PageGuard
from breaker_core.web.stale import MAX_BODY
from breaker_starlette.responses import send_answer

__all__ = ["BreakerMiddleware"]

logger = logging.getLogger("breaker_starlette")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


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

    __slots__ = ("body", "chunks", "headers", "send", "size", "started", "status")

    def __init__(self, send: Send, collect: bool) -> None:
        self.send = send
        self.started = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        # None: not collecting (nothing would keep this page, or it is streamed/too big).
        self.chunks: list[bytes] | None = [] if collect else None
        self.size = 0
        self.body: bytes | None = None

    async def __call__(self, message: Message) -> None:
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
                if self.size > MAX_BODY:
                    self.chunks = None  # too big to keep: stop holding it in memory
                else:
                    self.chunks.append(chunk)
                    if not message.get("more_body", False):
                        self.body = b"".join(self.chunks)
            else:
                self.chunks = None  # pathsend, zerocopysend: not a body we can keep
        await self.send(message)


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
    connection instead of sending a corrupt response. Lifespan and websocket
    scopes pass straight through.

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
        self.guard = PageGuard(self.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.get("state")
        if state is None:
            scope["state"] = {"breakers": self.registry}
        else:
            state["breakers"] = self.registry
        guard = self.guard
        method: str = scope["method"]
        path: str = scope["path"]
        kept_by: list[str] = []
        # Most paths need no dependency: one regex decides, before any header is read.
        names = guard.routes.dependencies_for(path) if guard.routes else None
        if names:
            error = guard.routes.rejection_for(path, names)
            if error is not None:
                query = scope.get("query_string", b"").decode("latin-1")
                answer = guard.answer_for(
                    error,
                    method,
                    path,
                    query,
                    _header(scope["headers"], b"accept"),
                    headers=lambda: _pairs(scope),
                )
                await send_answer(send, answer, method)
                return
            kept_by = guard.keeps(method, path, names)
        responder = _Responder(send, bool(kept_by))
        try:
            await self.app(scope, receive, responder)
        except CircuitOpenError as error:
            if responder.started:
                logger.error(
                    "%s %s: %s after the response started; closing the connection "
                    "(a 503 can no longer be sent)",
                    method,
                    path,
                    error,
                )
                raise
            query = scope.get("query_string", b"").decode("latin-1")
            answer = guard.answer_for(
                error,
                method,
                path,
                query,
                _header(scope["headers"], b"accept"),
                headers=lambda: _pairs(scope),
            )
            await send_answer(send, answer, method)
            return
        if responder.body is not None:
            self._keep(scope, method, path, responder, kept_by)

    def _keep(
        self, scope: Scope, method: str, path: str, responder: _Responder, kept_by: list[str]
    ) -> None:
        request_headers = _pairs(scope)
        response_headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in responder.headers
        ]
        if _has(request_headers, "cookie") and not _is_public(response_headers):
            # Starlette does not add "Vary: Cookie" when a page reads the session,
            # so a page requested with cookies may be personal: keep it only when
            # the app marks it "Cache-Control: public".
            return
        query = scope.get("query_string", b"").decode("latin-1")
        self.guard.after(
            method,
            path,
            query,
            request_headers,
            responder.status,
            response_headers,
            responder.body,
            kept_by=kept_by,
        )


def _has(headers: list[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name for key, _ in headers)


def _is_public(headers: list[tuple[str, str]]) -> bool:
    return any(
        part.strip().lower() == "public"
        for key, value in headers
        if key.lower() == "cache-control"
        for part in value.split(",")
    )


def _pairs(scope: Scope) -> list[tuple[str, str]]:
    """The request's headers as text pairs."""
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
