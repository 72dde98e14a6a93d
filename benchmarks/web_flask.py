"""What the ``breaker_flask.Breakers`` extension adds to a Flask request.

The Flask app is called in-process as a WSGI app with a prepared environ
(:mod:`benchmarks.web_drivers`; ``app.test_client()`` would add its own work
to both sides). Apps built the same way, with the same routes and view:

- without: ``Flask(...)``, ``app.config["BREAKERS"]`` set, no extension;
- with: the same plus ``Breakers(app)``;
- reference, plain path only: the bare app given a no-op ``before_request``
  function and a no-op ``request_finished`` receiver for that app (what
  these two hooks cost in Flask).

The extension's hooks are the app's own: its ``before_request`` function,
and a ``request_finished`` receiver connected for that app only while one of
its requests has a page to keep. The other apps of the process never run
them.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable
from typing import Any

from benchmarks.interleaved import BlockPlan
from benchmarks.web_common import BODY, BREAKERS, ROUTES, WITH, WITHOUT, Side, check_apps
from benchmarks.web_drivers import WSGIApp, wsgi_call
from benchmarks.web_timing import section_json, time_wsgi_routes

__all__ = ["NOOP", "SIDES", "time_flask"]

SIDES = (
    Side(
        WITHOUT,
        "without",
        'Flask(...), app.config["BREAKERS"] set, no extension',
    ),
    Side(WITH, "Breakers(app)", "the same app with Breakers(app)"),
)
NOOP = Side(
    "noop_hooks",
    "no-op hooks",
    "the bare app with a no-op before_request function and a no-op request_finished receiver",
)


def _view() -> dict[str, Any]:
    return BODY


def _noop_before_request() -> None:
    return None


def _noop_finished(sender: Any, **extra: Any) -> None:
    return None


def _app(extension: bool = False, noop_hooks: bool = False) -> Any:
    from flask import Flask
    from flask.signals import request_finished

    from breaker_flask import Breakers

    app = Flask("benchmarks.web_flask")
    app.config["BREAKERS"] = BREAKERS
    for route in ROUTES:
        app.add_url_rule(route.path, endpoint=route.key, view_func=_view)
    if extension:
        Breakers(app)
    if noop_hooks:
        app.before_request(_noop_before_request)
        request_finished.connect(_noop_finished, app)
    return app


def time_flask(plan: BlockPlan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Build the apps, check them, time every route; return the JSON section."""
    started = time.perf_counter()
    with_app = _app(extension=True)
    apps: dict[str, WSGIApp] = {
        WITHOUT: _app(),
        WITH: with_app,
        NOOP.key: _app(noop_hooks=True),
    }

    def call(side: str) -> Callable[[str], Any]:
        return lambda path: wsgi_call(apps[side], path)

    check_apps(with_app.extensions["breakers"], call(WITH), call(WITHOUT))
    routes = time_wsgi_routes(apps, SIDES, [NOOP], plan, progress)
    return section_json(
        "Flask",
        importlib.metadata.version("flask"),
        "Flask.__call__ (app.wsgi_app) called in-process with a prepared WSGI environ",
        plan,
        routes,
        time.perf_counter() - started,
    )
