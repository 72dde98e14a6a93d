"""Guard a Django view by dependency: ``@breaker_required("inventory")`` and a mixin.

The per-view form of ``routes``: while any named dependency is open (or forced open), the
view does not run and the request is answered at once with the same 503 as the
middleware's route guards (``Retry-After``, HTML or JSON by ``Accept``), or with your
``fallback(request, error)``. Half-open, the view runs: its own call may be the probe.
Only the state is checked: the view's own errors are never counted as the dependency's
failures (count calls where they are made: ``breakers.client(...)``, ``registry.guard``).
Sync and async views alike; no middleware needed.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]

from breaker_core import CircuitOpenError, ConfigurationError
from breaker_core.web.routes import rejection
from breaker_core.web.unavailable import unavailable
from breaker_django import conf

__all__ = ["BreakerRequiredMixin", "breaker_required"]

View = TypeVar("View", bound=Callable[..., Any])
Fallback = Callable[[HttpRequest, CircuitOpenError], HttpResponse]


def _names(names: str | Sequence[str], where: str) -> tuple[str, ...]:
    found = (names,) if isinstance(names, str) else tuple(names)
    if not found or not all(isinstance(name, str) and name for name in found):
        raise ConfigurationError(
            f'{where}: expected one or more dependency names like "inventory", got {names!r}'
        )
    return found


def refusal(
    request: HttpRequest, names: Sequence[str], fallback: Fallback | None, where: str
) -> HttpResponse | None:
    """The answer for ``request`` when one of ``names`` is open, else None (the view runs).

    Raises:
        ConfigurationError: a name is not a dependency in ``settings.BREAKERS``.
    """
    registry = conf.get_registry()
    for name in names:
        breaker = registry.get(name)
        if breaker is None:
            declared = ", ".join(registry.names) or "none"
            raise ConfigurationError(
                f"{where}: no dependency named {name!r} (declared: {declared}); "
                'declare it in settings.BREAKERS["dependencies"]'
            )
        error = rejection(breaker)
        if error is None:
            continue
        if fallback is not None:
            return fallback(request, error)
        answer = unavailable(error, request.META.get("HTTP_ACCEPT"))
        response = HttpResponse(answer.body, status=answer.status)
        for header, value in answer.headers:
            response[header] = value
        return response
    return None


def breaker_required(*names: str, fallback: Fallback | None = None) -> Callable[[View], View]:
    """Decorate a view that cannot work while any of dependencies ``names`` is open.

    ``fallback(request, error)`` returns the response to give instead of the 503 (``error``
    is the :class:`~breaker_core.CircuitOpenError`, with ``retry_after``)::

        @breaker_required("inventory")
        def checkout(request): ...

    Raises:
        ConfigurationError: no name given (at decoration); a name that is not a declared
            dependency (when a request reaches the view: settings may change in tests).
    """
    listed = _names(names, "@breaker_required()")

    def decorate(view: View) -> View:
        where = f"@breaker_required on {getattr(view, '__qualname__', view)!r}"
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def guarded_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                answer = refusal(request, listed, fallback, where)
                if answer is not None:
                    return answer
                return await view(request, *args, **kwargs)

            return guarded_async  # type: ignore[return-value]

        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            answer = refusal(request, listed, fallback, where)
            if answer is not None:
                return answer
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


class BreakerRequiredMixin:
    """``@breaker_required`` for class-based views: put it first among the bases.

    ::

        class CheckoutView(BreakerRequiredMixin, TemplateView):
            breakers_required = ["inventory"]      # or one name: "inventory"

    A method ``breaker_fallback(self, request, error)``, when defined, answers instead of
    the 503.
    """

    breakers_required: str | Sequence[str] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """Answer at once while a required dependency is open; else dispatch as usual."""
        where = f"{type(self).__qualname__}.breakers_required"
        fallback: Fallback | None = getattr(self, "breaker_fallback", None)
        answer = refusal(request, _names(self.breakers_required, where), fallback, where)
        dispatch: Callable[..., Any] = super().dispatch  # type: ignore[misc]
        if answer is None:
            return dispatch(request, *args, **kwargs)
        if getattr(self, "view_is_async", False):

            async def answered() -> HttpResponse:
                return answer

            return answered()
        return answer
