"""``path("breakers/", include("breaker_django.urls"))``: dashboard, JSON status, actions.

Names (namespace ``breakers``): ``breakers:dashboard`` (``""``),
``breakers:status`` (``"status.json"``) and ``breakers:action`` (``"action"``,
POST only). Staff only; see :mod:`breaker_django.views`.
"""

from __future__ import annotations

from django.urls import path  # type: ignore[import-untyped]

from breaker_django import views

app_name = "breakers"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("status.json", views.status, name="status"),
    path("action", views.action, name="action"),
]
