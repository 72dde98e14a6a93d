"""``BreakerMiddleware``: route guards, stale pages and 503s instead of 500s.

Sync- and async-capable: under ASGI it runs in the event loop, without a
thread hop. For each request it

1. sets ``request.breakers`` (the registry);
2. answers at once when the page's path matches the ``routes`` of an open
   dependency: the last good copy of the page if that dependency's
   ``stale_for`` allows, else a 503 with ``Retry-After``, HTML or JSON by
   ``Accept``;
3. turns a :class:`~breaker_core.CircuitOpenError` raised by the view (or while
   rendering its ``TemplateResponse``) into that same answer, never a 500;
4. keeps a good, shareable response of a guarded page as its last good copy.

The flow is :class:`breaker_core.web.pages.PageGuard`'s; this module only
translates Django's request and response.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings  # type: ignore[import-untyped]
from django.core.exceptions import DisallowedHost  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse, HttpResponseBase  # type: ignore[import-untyped]

from breaker_core import CircuitOpenError
from breaker_core.web.pages import Answer, PageGuard, PageVisit
from breaker_core.web.shareable import PageRequest
from breaker_django import conf
from breaker_django.placement import placement

__all__ = ["BreakerMiddleware", "page_guard", "page_request"]

_ANSWERED = "_breakerpanel_answer"  # marks responses we made, so they are never kept
_VISIT = "_breakerpanel_visit"


def _response(answer: Answer) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    setattr(response, _ANSWERED, True)
    return response


def _headers(response: HttpResponseBase) -> list[tuple[str, str]]:
    """The response's headers as the client will get them, cookies included."""
    pairs = [(str(name), str(value)) for name, value in response.items()]
    pairs.extend(("Set-Cookie", morsel.OutputString()) for morsel in response.cookies.values())
    return pairs


def page_request(request: HttpRequest) -> PageRequest:
    """Django's request as the page rules see it.

    The authority is ``request.get_host()``: validated against
    ``ALLOWED_HOSTS`` and ``USE_X_FORWARDED_HOST`` as Django does; a host
    Django refuses keeps and serves nothing. The path is the full path
    (``SCRIPT_NAME`` included), the query the raw query string.
    """
    try:
        authority: str | None = request.get_host()
    except DisallowedHost:
        authority = None
    return PageRequest(
        request.method or "GET",
        request.scheme or "http",
        authority,
        request.path,
        request.META.get("QUERY_STRING", ""),
        lambda: request.headers.items(),
        lambda name: _meta_header(request, name),
    )


def raw_key(request: HttpRequest) -> tuple[object, ...]:
    """The values :func:`page_request`'s scheme, host, path and query come from.

    The scheme is read as Django reads it (``SECURE_PROXY_SSL_HEADER`` included);
    the host headers are all there, whichever ``get_host()`` trusts (the server's
    name and ports only without a ``Host`` header, as ``get_host()`` reads them),
    and the ``Cookie`` header: the language cookie is a key cookie, part of a
    copy's variant (see :data:`breaker_core.web.pages.RawKey`).
    """
    get = request.META.get
    host = get("HTTP_HOST")
    return (
        request.scheme,
        request.path,
        host,
        get("HTTP_X_FORWARDED_HOST"),
        get("QUERY_STRING"),
        get("HTTP_COOKIE"),
        (get("SERVER_NAME"), get("SERVER_PORT"), get("HTTP_X_FORWARDED_PORT"))
        if host is None
        else None,
    )


def _meta_header(request: HttpRequest, name: str) -> str | None:
    """One request header from ``META``, without building ``request.headers``."""
    key = name.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        value = request.META.get(key)
    else:
        value = request.META.get("HTTP_" + key)
    return None if value is None else str(value)


def page_guard(registry: Any) -> PageGuard:
    """A page guard with Django's own cookies added to ``BREAKERS["pages"]``.

    The CSRF cookie never personalises a page (a page that uses the token
    renews the cookie, so it has ``Set-Cookie`` and is never kept); with
    ``CSRF_USE_SESSIONS`` the token is in the session and no cookie is added.
    The language cookie picks the page's language: its value is part of the key.
    """
    shared = () if getattr(settings, "CSRF_USE_SESSIONS", False) else (settings.CSRF_COOKIE_NAME,)
    return PageGuard(registry, shared_cookies=shared, key_cookies=(settings.LANGUAGE_COOKIE_NAME,))


class BreakerMiddleware:
    """Route guards, stale pages and 503 answers; see the module docs.

    Place it high in ``MIDDLEWARE``: below ``SecurityMiddleware`` and
    ``GZipMiddleware``, above ``SessionMiddleware``, ``CsrfViewMiddleware``,
    ``AuthenticationMiddleware``, ``MessageMiddleware`` and ``LocaleMiddleware``
    (``manage.py check`` says so when it is not; pages are not kept then).

    Raises:
        ConfigurationError: on a request, when ``settings.BREAKERS`` is invalid.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        self.keeps_pages = placement().keeps_pages
        self._guard: PageGuard | None = None

    def guard(self) -> PageGuard:
        """The page guard of the current registry (rebuilt when the registry is)."""
        registry = conf.get_registry()
        guard = self._guard
        if guard is None or guard.registry is not registry:
            guard = self._guard = page_guard(registry)
        return guard

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        guard = self.guard()
        visit = self._before(guard, request)
        if visit is None:
            return self.get_response(request)
        if isinstance(visit, HttpResponse):
            return visit
        try:
            response = self.get_response(request)
        finally:
            _let_go(request)
        self._after(visit, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """The async twin of ``__call__``, run in the event loop."""
        guard = self.guard()
        visit = self._before(guard, request)
        awaitable: Awaitable[HttpResponseBase]
        if visit is None:
            awaitable = self.get_response(request)
            return await awaitable
        if isinstance(visit, HttpResponse):
            return visit
        try:
            awaitable = self.get_response(request)
            response = await awaitable
        finally:
            _let_go(request)
        self._after(visit, response)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        """Answer a :class:`~breaker_core.CircuitOpenError` that escaped the view.

        Django calls this for exceptions raised by the view and while rendering
        a ``TemplateResponse``. Anything else is left to Django (None).
        """
        if not isinstance(exception, CircuitOpenError):
            return None
        visit = getattr(request, _VISIT, None)
        made = visit if visit is not None else (lambda: page_request(request))
        return _response(self.guard().answer_for(exception, made))

    def _before(self, guard: PageGuard, request: HttpRequest) -> HttpResponse | PageVisit | None:
        request.breakers = guard.registry
        path = request.path_info
        plan = guard.routes.plan(path)
        if plan is None:
            return None
        visit = guard.visit(plan, request.method or "GET", request, page_request, raw_key)
        if visit is None:
            return None
        answer = visit.answer()
        if answer is not None:
            return _response(answer)
        setattr(request, _VISIT, visit)
        return visit

    def _after(self, visit: PageVisit, response: HttpResponseBase) -> None:
        if not visit.collect or not self.keeps_pages or getattr(response, _ANSWERED, False):
            return
        body = None if response.streaming else bytes(response.content)
        visit.keep(response.status_code, _headers(response), body)


def _let_go(request: HttpRequest) -> None:
    """Take the page visit off ``request`` once the view has run.

    The visit names the request (it builds the page rules' view of it on
    demand), so a request still carrying it would be a reference cycle, freed
    only by the garbage collector rather than as soon as the request is done.
    """
    request.__dict__.pop(_VISIT, None)
