"""OpenTelemetry for breakerpanel: metrics per dependency and span events on every guarded call.

Needs ``opentelemetry-api`` (``pip install "breakerpanel[opentelemetry]"``); the
SDK and exporters are the app's own choice. One line turns it on:

- any registry (Starlette, FastAPI, plain Python): ``instrument(registry)``;
- Flask, after ``Breakers(app)``: ``instrument_app(app)``
  (``breaker_opentelemetry.flask``);
- Django, in an ``AppConfig.ready()``: ``instrument_django()``
  (``breaker_opentelemetry.django``; follows the registry when settings change).

Instruments (meter ``breakerpanel``; see :mod:`breaker_opentelemetry.names`):
``breakerpanel.calls``, ``breakerpanel.rejections``, ``breakerpanel.transitions``
(observable counters read from the breakers' running totals at collection),
``breakerpanel.state`` (observable gauge) and, with ``durations=True``,
``breakerpanel.call.duration`` (histogram, seconds). Every guarded call adds a
``breakerpanel.call`` event to the active span, when one is recording, with
the dependency, the outcome, the breaker's state and whether the call was
short-circuited: a trace tells a widget served stale because its breaker was
open (``short_circuited=true``, ``outcome=rejected``) from a dependency that
failed (``outcome=failure``, ``error.type``).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and, for Django, breaker_django.conf.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from breaker_core import ConfigurationError, Registry
from breaker_opentelemetry import names

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from breaker_opentelemetry.telemetry import BreakerTelemetry

__all__ = ["instrument", "names", "uninstrument"]


def _telemetry_class() -> type[BreakerTelemetry]:
    try:
        from breaker_opentelemetry.telemetry import BreakerTelemetry
    except ImportError as exc:
        if (exc.name or "").startswith("opentelemetry"):
            raise ConfigurationError(
                'OpenTelemetry needs opentelemetry-api: pip install "breakerpanel[opentelemetry]"'
            ) from exc
        raise
    return BreakerTelemetry


def instrument(
    registry: Registry,
    *,
    meter_provider: MeterProvider | None = None,
    durations: bool = False,
    key_labels: int = 20,
) -> BreakerTelemetry:
    """Report ``registry``'s breakers to OpenTelemetry; returns the instruments' keeper.

    ``meter_provider`` defaults to the global one (``opentelemetry.metrics``);
    spans are always the active span of the calling context, from whatever
    tracer provider made it. :func:`uninstrument` (or ``.detach(registry)``)
    turns it off again.

    Nothing runs per call for the counters and the state gauge: they read
    the breakers' running totals when a reader collects. Span events come
    from a listener gated on a recording span, so a call made while no span
    records keeps the engine's fast path. ``durations=True`` adds the
    duration histogram, the one instrument recorded on every call: its
    listener hears every call, so the fast path is lost (see
    ``docs/operations.md`` for the measured cost of each). ``key_labels``:
    keys of breakers per key named in metric attributes, per dependency (the
    rest are ``"(other)"``).

    Raises:
        ConfigurationError: ``registry`` is not a ``Registry``, or
            opentelemetry-api is not installed.
    """
    if not isinstance(registry, Registry):
        raise ConfigurationError(
            f"instrument(registry): expected a breaker_core.Registry, got {type(registry).__name__}"
        )
    telemetry = _telemetry_class()(meter_provider, durations=durations, key_labels=key_labels)
    telemetry.attach(registry)
    return telemetry


def uninstrument(telemetry: BreakerTelemetry) -> None:
    """Stop reporting every registry ``telemetry`` reports."""
    telemetry.detach_all()
