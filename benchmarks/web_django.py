"""What ``breaker_django.middleware.BreakerMiddleware`` adds to a Django request.

Django's own WSGI handler (``django.core.handlers.wsgi.WSGIHandler``) is
called in-process with a prepared environ (:mod:`benchmarks.web_drivers`).
Three handlers of one project (:mod:`benchmarks.django_app`), each built
with its own ``MIDDLEWARE`` (a handler reads it once, when it is built):

- without: ``MIDDLEWARE = []``;
- with: ``MIDDLEWARE = ["breaker_django.middleware.BreakerMiddleware"]``;
- reference, plain path only: ``MIDDLEWARE = [<a no-op function middleware>]``,
  what any middleware costs in Django's chain.

Django's settings are global to a process, so this runs in the benchmark's
own child process (:mod:`benchmarks.web_child`), never in the harness's.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable
from typing import Any

from benchmarks.interleaved import BlockPlan
from benchmarks.web_common import BREAKERS, WITH, WITHOUT, Side, check_apps
from benchmarks.web_drivers import WSGIApp, wsgi_call
from benchmarks.web_timing import section_json, time_wsgi_routes

__all__ = ["NOOP", "SIDES", "time_django"]

SIDES = (
    Side(WITHOUT, "without", "WSGIHandler(), MIDDLEWARE = []"),
    Side(
        WITH,
        "BreakerMiddleware",
        'WSGIHandler(), MIDDLEWARE = ["breaker_django.middleware.BreakerMiddleware"]',
    ),
)
NOOP = Side(
    "noop_middleware",
    "no-op middleware",
    "WSGIHandler(), MIDDLEWARE = [a function middleware returning get_response(request)]",
)


def _handler(middleware: list[str]) -> WSGIApp:
    from django.core.handlers.wsgi import WSGIHandler  # type: ignore[import-untyped]
    from django.test.utils import override_settings  # type: ignore[import-untyped]

    with override_settings(MIDDLEWARE=middleware):
        handler: WSGIApp = WSGIHandler()
    return handler


def time_django(plan: BlockPlan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Configure the benchmark project, check its handlers, time every route; return the JSON."""
    from benchmarks import django_app

    django_app.configure()
    from django.test.utils import override_settings

    from breaker_django import conf

    started = time.perf_counter()
    # Whatever configured Django, the project's URLs and BREAKERS are the benchmark's.
    with override_settings(
        ROOT_URLCONF=django_app.__name__, BREAKERS=BREAKERS, BREAKERS_CLOCK=None
    ):
        apps = {
            WITHOUT: _handler([]),
            WITH: _handler([django_app.MIDDLEWARE_PATH]),
            NOOP.key: _handler([django_app.NOOP_MIDDLEWARE_PATH]),
        }

        def call(side: str) -> Callable[[str], Any]:
            return lambda path: wsgi_call(apps[side], path)

        check_apps(conf.get_registry(), call(WITH), call(WITHOUT))
        routes = time_wsgi_routes(apps, SIDES, [NOOP], plan, progress)
    return section_json(
        "Django",
        importlib.metadata.version("django"),
        "django.core.handlers.wsgi.WSGIHandler called in-process with a prepared WSGI environ",
        plan,
        routes,
        time.perf_counter() - started,
    )
