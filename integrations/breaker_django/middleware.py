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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBase  # type: ignore[import-untyped]

from breaker_core import CircuitOpenError, Registry
from breaker_core.web.pages import Answer, PageGuard
from breaker_django import conf
from breaker_django.placement import placement

__all__ = ["BreakerMiddleware"]

_ANSWERED = "_breakerpanel_answer"  # marks responses we made, so they are never kept


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
            guard = self._guard = PageGuard(registry)
        return guard

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        guard = self.guard()
        answer = self._before(guard, request)
        if answer is not None:
            return answer
        response = self.get_response(request)
        self._after(guard, request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """The async twin of ``__call__``, run in the event loop."""
        guard = self.guard()
        answer = self._before(guard, request)
        if answer is not None:
            return answer
        awaitable: Awaitable[HttpResponseBase] = self.get_response(request)
        response = await awaitable
        self._after(guard, request, response)
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
        answer = self.guard().answer_for(
            exception,
            request.method or "GET",
            request.path_info,
            request.META.get("QUERY_STRING", ""),
            request.META.get("HTTP_ACCEPT"),
            headers=lambda: list(request.headers.items()),
        )
        return _response(answer)

    def _before(self, guard: PageGuard, request: HttpRequest) -> HttpResponse | None:
        registry: Registry = guard.registry
        request.breakers = registry
        answer = guard.before(
            request.method or "GET",
            request.path_info,
            request.META.get("QUERY_STRING", ""),
            request.META.get("HTTP_ACCEPT"),
            headers=lambda: list(request.headers.items()),
        )
        return None if answer is None else _response(answer)

    def _after(self, guard: PageGuard, request: HttpRequest, response: HttpResponseBase) -> None:
        if not self.keeps_pages or getattr(response, _ANSWERED, False):
            return
        method = request.method or "GET"
        kept_by = guard.keeps(method, request.path_info)
        if not kept_by:
            return
        body = None if response.streaming else bytes(response.content)
        guard.after(
            method,
            request.path_info,
            request.META.get("QUERY_STRING", ""),
            list(request.headers.items()),
            response.status_code,
            _headers(response),
            body,
            kept_by=kept_by,
        )
