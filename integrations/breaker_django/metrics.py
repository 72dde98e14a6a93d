"""Prometheus metrics for the breakers of ``settings.BREAKERS``, kept only when asked for.

Call :func:`enable_metrics` once (in an ``AppConfig.ready()`` of your project)
and the engine's series (``breakerpanel_calls_total``, ``breakerpanel_state``...,
see ``docs/operations.md``) are kept in ``prometheus_client``'s default
registry, where an exporter the project already has (django-prometheus, say)
shows them, or in the ``CollectorRegistry`` you pass. The ready endpoints
serve them: ``breakers:metrics`` (staff only, in ``breaker_django.urls``) and
:func:`metrics_view` (no access check of its own, for a URL you protect your
way).

Metrics follow the registry when it is rebuilt (``override_settings`` in
tests). While they are enabled every breaker reports its calls to a listener:
the engine's listener-free fast path is lost, which is why they are off until
enabled.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.core.signals import setting_changed  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.views.decorators.cache import never_cache  # type: ignore[import-untyped]
from django.views.decorators.http import require_safe  # type: ignore[import-untyped]

from breaker_core import ConfigurationError, Registry
from breaker_core.ops.metrics import BreakerMetrics, install_metrics, render_latest
from breaker_django import breakers, conf

__all__ = ["disable_metrics", "enable_metrics", "enabled_metrics", "metrics_view"]

NOT_ENABLED = (
    "Prometheus metrics are not enabled: call breaker_django.metrics.enable_metrics() "
    'in your AppConfig.ready() (needs pip install "breakerpanel[prometheus]").'
)

_lock = threading.RLock()
# One BreakerMetrics per CollectorRegistry for the life of the process: prometheus_client
# refuses to register the same series twice, so enabling again reuses the first one.
_made: dict[int | None, BreakerMetrics] = {}
_enabled: BreakerMetrics | None = None
_attached: Registry | None = None


def _key(collector_registry: Any) -> int | None:
    return None if collector_registry is None else id(collector_registry)


def _detach() -> None:
    global _attached
    if _attached is not None and _enabled is not None:
        try:
            _attached.remove_listener(_enabled.observe)
        except ValueError:
            pass  # already gone with a closed registry
    _attached = None


def _attach() -> None:
    """Put the enabled metrics' listener on the current registry (built now if needed)."""
    global _attached
    _detach()
    if _enabled is None:
        return
    try:
        registry = conf.get_registry()
    except ConfigurationError:
        return  # invalid settings: the system checks report them; nothing to count
    registry.add_listener(_enabled.observe)
    _attached = registry


def enable_metrics(collector_registry: Any = None) -> BreakerMetrics:
    """Start keeping Prometheus metrics for ``breaker_django.breakers``; returns them.

    ``collector_registry`` is a ``prometheus_client.CollectorRegistry`` (default:
    the global one). Calling it again with the same one changes nothing; with
    another one, the metrics move there (the old series stop counting).

    Raises:
        ConfigurationError: prometheus_client is not installed; ``settings.BREAKERS``
            is invalid; or ``collector_registry`` already holds breakerpanel series
            put there by another ``install_metrics()`` call.
    """
    global _enabled
    with _lock:
        made = _made.get(_key(collector_registry))
        if made is not None and made is _enabled:
            return made
        _detach()
        _enabled = None
        if made is None:
            registry = conf.get_registry()
            try:
                # Built on the stable handle, so lookups follow a rebuilt registry.
                made = install_metrics(breakers, collector_registry)
            except ValueError as exc:  # prometheus_client: "Duplicated timeseries"
                raise ConfigurationError(
                    "enable_metrics(): this CollectorRegistry already holds breakerpanel "
                    f"metrics from another install_metrics() call ({exc}); pass "
                    "enable_metrics(collector_registry=prometheus_client.CollectorRegistry())"
                ) from None
            registry.remove_listener(made.observe)  # attached below, and tracked
            _made[_key(collector_registry)] = made
        _enabled = made
        _attach()
        return made


def disable_metrics() -> None:
    """Stop keeping metrics (the breakers get their fast path back).

    The series stay registered in their ``CollectorRegistry`` with their last
    values; :func:`enable_metrics` later carries on counting in them.
    """
    global _enabled
    with _lock:
        _detach()
        _enabled = None


def enabled_metrics() -> BreakerMetrics | None:
    """The metrics being kept, or None when :func:`enable_metrics` was not called."""
    return _enabled


def _metrics_view(request: HttpRequest) -> HttpResponse:
    metrics = _enabled
    if metrics is None:
        return HttpResponse(NOT_ENABLED, status=404, content_type="text/plain; charset=utf-8")
    body, content_type = render_latest(metrics.collector_registry)
    return HttpResponse(body, content_type=content_type)


metrics_view: Callable[[HttpRequest], HttpResponse] = never_cache(require_safe(_metrics_view))
"""GET: the Prometheus text exposition of the enabled metrics (404 until enabled).

No access check of its own: route it where only your scraper reaches it, or
wrap it (``path("metrics", my_token_required(metrics_view))``). The staff-only
``breakers:metrics`` of ``breaker_django.urls`` serves the same.
"""


def _follow_rebuilds(*, setting: str, **kwargs: object) -> None:
    # conf's own receiver (connected first, when conf was imported) has dropped the
    # registry; put the listener on the one built from the new settings.
    if setting in (conf.SETTING, conf.CLOCK_SETTING) and _enabled is not None:
        with _lock:
            _attach()


setting_changed.connect(_follow_rebuilds, dispatch_uid="breaker_django.metrics.follow")
