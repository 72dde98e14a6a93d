"""The command line and readiness URL of each server the demo (and the scenario) runs.

Every server runs as ``sys.executable -m ...`` so it uses this interpreter's
environment (the ``.venv`` that ``make demo`` creates): the upstream as
``python -m example_apps.upstream``, the Django and Flask shops under gunicorn,
the FastAPI shop under uvicorn.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping

__all__ = ["HOST", "Service", "gunicorn", "upstream", "uvicorn"]

HOST = "127.0.0.1"
GUNICORN_CONFIG = "python:example_apps.demo.gunicorn_conf"
WSGI_APPS = {
    "django": "example_apps.demo.apps:django_app()",
    "flask": "example_apps.demo.apps:flask_app()",
}
"""gunicorn's app argument for each WSGI shop (a factory call)."""


@dataclasses.dataclass(frozen=True)
class Service:
    """One server: its name, command, extra environment and a URL that answers once it is up."""

    name: str
    argv: tuple[str, ...]
    ready_url: str
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    port: int = 0


def upstream(port: int, control_port: int, *, name: str = "upstream") -> Service:
    """``example_apps.upstream`` on ``port`` (requests are not logged; mode changes are)."""
    argv = (
        sys.executable,
        "-m",
        "example_apps.upstream",
        "--host",
        HOST,
        "--port",
        str(port),
        "--control-port",
        str(control_port),
        "--quiet",
    )
    return Service(name, argv, f"http://{HOST}:{control_port}/_control", port=port)


def gunicorn(
    shop: str,
    port: int,
    *,
    workers: int,
    threads: int = 1,
    app: str | None = None,
    ready_path: str = "/",
    env: Mapping[str, str] | None = None,
) -> Service:
    """A WSGI shop (``"django"`` or ``"flask"``) under gunicorn.

    ``threads`` 1 is gunicorn's plain sync worker (one request at a time per
    process); more is its threaded flavour (``gthread``). ``app`` replaces the
    shop's factory (the scenario loads an instrumented one).

    Raises:
        KeyError: ``shop`` is not a WSGI shop and no ``app`` is given.
    """
    argv = (
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        GUNICORN_CONFIG,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        app or WSGI_APPS[shop],
    )
    return Service(shop, argv, f"http://{HOST}:{port}{ready_path}", dict(env or {}), port)


def uvicorn(
    port: int,
    *,
    name: str = "fastapi",
    factory: str = "example_apps.demo.apps:starlette_app",
    ready_path: str = "/",
    env: Mapping[str, str] | None = None,
) -> Service:
    """The FastAPI shop under uvicorn (one process, one event loop; no access log)."""
    argv = (
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "5",
    )
    return Service(name, argv, f"http://{HOST}:{port}{ready_path}", dict(env or {}), port)
