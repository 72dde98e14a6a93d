"""The Django project of the ``BreakerMiddleware`` benchmark: settings, views and URLs.

:func:`configure` calls ``settings.configure(...)`` (only when Django is not
configured yet) and ``django.setup()``. The project is as small as Django
allows: no database, no other app than ``breaker_django``, no middleware at
all by default (each benchmark handler is built with its own ``MIDDLEWARE``),
the local-memory cache as ``default`` (where the middleware keeps pages).
It is meant for the benchmark's own child process
(``python -m benchmarks.web_child django``), never for a process whose
Django settings matter to anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.web_common import BODY, BREAKERS, ROUTES

__all__ = ["MIDDLEWARE_PATH", "NOOP_MIDDLEWARE_PATH", "configure", "noop_middleware", "urlpatterns"]

MIDDLEWARE_PATH = "breaker_django.middleware.BreakerMiddleware"
NOOP_MIDDLEWARE_PATH = "benchmarks.django_app.noop_middleware"

SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "breakerpanel-benchmark-only-not-secret",
    "ALLOWED_HOSTS": ["127.0.0.1"],
    "ROOT_URLCONF": __name__,
    "INSTALLED_APPS": ["breaker_django"],
    "MIDDLEWARE": [],
    # Each benchmark handler is built with its own MIDDLEWARE, set after start-up.
    "SILENCED_SYSTEM_CHECKS": ["breaker.E003"],
    "DATABASES": {},
    "USE_TZ": True,
    "CACHES": {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "breakerpanel-benchmark",
        }
    },
    "BREAKERS": BREAKERS,
}
"""What :func:`configure` gives ``settings.configure``."""


def view(request: Any) -> Any:
    """Answer :data:`benchmarks.web_common.BODY` as JSON."""
    from django.http import JsonResponse  # type: ignore[import-untyped]

    return JsonResponse(BODY)


def noop_middleware(get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The thinnest Django middleware: a function that calls the next one (the reference)."""

    def middleware(request: Any) -> Any:
        return get_response(request)

    return middleware


def _urlpatterns() -> list[Any]:
    from django.urls import path  # type: ignore[import-untyped]

    return [path(route.path.lstrip("/"), view) for route in ROUTES]


urlpatterns: list[Any] = []
"""Filled in by :func:`configure` (``django.urls`` needs configured settings first)."""


def configure() -> None:
    """Configure Django with :data:`SETTINGS` unless it already is, then ``django.setup()``."""
    import django  # type: ignore[import-untyped]
    from django.apps import apps  # type: ignore[import-untyped]
    from django.conf import settings  # type: ignore[import-untyped]

    if not settings.configured:
        settings.configure(**SETTINGS)
    if not apps.ready:
        django.setup()
    if not urlpatterns:
        urlpatterns.extend(_urlpatterns())
