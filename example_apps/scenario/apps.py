"""The scenario's servers load these: the demo's apps with the probes around them.

``gunicorn 'example_apps.scenario.apps:django_app()'`` (and ``flask_app()``),
``uvicorn --factory example_apps.scenario.apps:starlette_app``. Each counts its
requests in flight and its full garbage collections from the moment the app is
loaded, and logs its breaker transitions under
``$SCENARIO_PROBE_DIR`` (see :mod:`example_apps.scenario.probes`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from example_apps.demo import apps
from example_apps.scenario import probes

__all__ = ["django_app", "flask_app", "starlette_app"]


def _probe_dir() -> Path:
    """The probe directory. Raises RuntimeError naming the variable when it is not set."""
    value = os.environ.get(probes.PROBE_DIR_ENV)
    if not value:
        raise RuntimeError(
            f"{probes.PROBE_DIR_ENV} is not set: these apps are started by "
            "python -m example_apps.scenario, which sets it"
        )
    return Path(value)


def django_app() -> Any:
    """The Django shop, counted and logged."""
    directory = _probe_dir()
    app = apps.django_app()
    probes.log_transitions(directory)
    probes.FullCollections(directory)
    return probes.CountingWSGI(app, probes.BusyCounter(directory))


def flask_app() -> Any:
    """The Flask shop, counted and logged."""
    directory = _probe_dir()
    app = apps.flask_app()
    probes.log_transitions(directory)
    probes.FullCollections(directory)
    return probes.CountingWSGI(app, probes.BusyCounter(directory))


def starlette_app() -> Any:
    """The FastAPI shop, counted and logged."""
    directory = _probe_dir()
    app = apps.starlette_app()
    probes.log_transitions(directory)
    probes.FullCollections(directory)
    return probes.CountingASGI(app, probes.BusyCounter(directory))
