"""Flask: ``instrument_app(app)`` after ``Breakers(app)``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and, for Django, breaker_django.conf.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from breaker_core import ConfigurationError, Registry
from breaker_opentelemetry import instrument

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from breaker_opentelemetry.telemetry import BreakerTelemetry

__all__ = ["TELEMETRY_KEY", "instrument_app"]

TELEMETRY_KEY = "breakers.opentelemetry"
"""``app.extensions`` key of the app's :class:`BreakerTelemetry`."""


def instrument_app(
    app: Flask, *, meter_provider: MeterProvider | None = None, durations: bool = False
) -> BreakerTelemetry:
    """Report ``app``'s breakers to OpenTelemetry (once per registry; again returns it).

    ``durations`` as in :func:`breaker_opentelemetry.instrument`.

    Raises:
        ConfigurationError: ``Breakers`` is not set up on ``app``, or
            opentelemetry-api is not installed.
    """
    registry = app.extensions.get("breakers")
    if not isinstance(registry, Registry):
        raise ConfigurationError(
            f"instrument_app(app): breakerpanel is not set up on the app {app.name!r}; "
            "call Breakers(app) or Breakers().init_app(app) first"
        )
    kept = app.extensions.get(TELEMETRY_KEY)
    if kept is not None and any(r is registry for r in kept.registries):
        telemetry: BreakerTelemetry = kept
        return telemetry
    telemetry = instrument(registry, meter_provider=meter_provider, durations=durations)
    app.extensions[TELEMETRY_KEY] = telemetry
    return telemetry
