"""URLs for the health-tool tests: django-health-check and the debug toolbar."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from health_check.views import HealthCheckView

from breaker_core import CircuitOpenError
from breaker_django import breakers
from breaker_django.healthchecks import breaker_checks


def boom() -> None:
    raise RuntimeError("down")


def page(request: HttpRequest) -> HttpResponse:
    breakers["catalogue"].call(int)
    parts = []
    for _ in range(3):
        try:
            breakers["inventory"].call(boom)
        except RuntimeError:
            parts.append("failed")
        except CircuitOpenError:
            parts.append("refused")
    return HttpResponse(f"<html><body>{' '.join(parts)}</body></html>")


async def async_page(request: HttpRequest) -> HttpResponse:
    async def stock() -> int:
        return 3

    await breakers["catalogue"].call_async(stock)
    return HttpResponse("<html><body>async</body></html>")


urlpatterns = [
    path("ready/", HealthCheckView.as_view(checks=breaker_checks())),
    path("page/", page),
    path("async-page/", async_page),
]
