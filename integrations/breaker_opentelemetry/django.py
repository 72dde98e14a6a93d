"""Django: ``instrument_django()`` in an ``AppConfig.ready()``.

The instruments follow ``breaker_django.breakers`` when the registry is
rebuilt (``override_settings(BREAKERS=...)`` in tests).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and, for Django, breaker_django.conf.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from django.core.signals import setting_changed  # type: ignore[import-untyped]

from breaker_core import ConfigurationError
from breaker_django import conf  # first: its receiver drops the old registry before ours
from breaker_opentelemetry import _telemetry_class

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from breaker_opentelemetry.telemetry import BreakerTelemetry

__all__ = ["instrument_django", "uninstrument_django"]

_lock = threading.RLock()
_telemetry: BreakerTelemetry | None = None


def _attach() -> None:
    if _telemetry is None:
        return
    _telemetry.detach_all()
    try:
        registry = conf.get_registry()
    except ConfigurationError:
        return  # invalid settings: the system checks report them
    _telemetry.attach(registry)


def instrument_django(
    *, meter_provider: MeterProvider | None = None, durations: bool = False
) -> BreakerTelemetry:
    """Report ``breaker_django.breakers`` to OpenTelemetry; calling it again returns the same.

    ``durations`` as in :func:`breaker_opentelemetry.instrument`.

    Raises:
        ConfigurationError: opentelemetry-api is not installed.
    """
    global _telemetry
    with _lock:
        if _telemetry is None:
            _telemetry = _telemetry_class()(meter_provider, durations=durations)
        _attach()
        return _telemetry


def uninstrument_django() -> None:
    """Stop reporting."""
    global _telemetry
    with _lock:
        if _telemetry is not None:
            _telemetry.detach_all()
        _telemetry = None


def _follow_rebuilds(*, setting: str, **kwargs: object) -> None:
    if setting in (conf.SETTING, conf.CLOCK_SETTING) and _telemetry is not None:
        with _lock:
            _attach()


setting_changed.connect(_follow_rebuilds, dispatch_uid="breaker_opentelemetry.django.follow")
