"""``path("breakers/", include("breaker_django.urls"))``: the operations endpoints.

Names (namespace ``breakers``): ``breakers:dashboard`` (``""``),
``breakers:status`` (``"status"``, as in Flask and Starlette; ``"status.json"``, its
old path, still answers for one release), ``breakers:action`` (``"action"``,
POST only), ``breakers:health`` (``"health/"``, open to everyone) and
``breakers:metrics`` (``"metrics"``, 404 until
:func:`breaker_django.metrics.enable_metrics` is called). Everything but
health is staff only; see :mod:`breaker_django.views`.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from django.urls import path  # type: ignore[import-untyped]

from breaker_django import views

app_name = "breakers"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("status", views.status, name="status"),
    path("status.json", views.status, name="status-json"),  # deprecated: the old path
    path("action", views.action, name="action"),
    path("health/", views.health_view, name="health"),
    path("metrics", views.metrics, name="metrics"),
]
