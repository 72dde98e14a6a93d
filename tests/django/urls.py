"""URLs of the test project."""

from __future__ import annotations

from django.urls import include, path

from tests.django import views

urlpatterns = [
    path("widget/", views.widget),
    path("checkout/", views.checkout),
    path("checkout/pay/", views.checkout),
    path("async/checkout/", views.async_checkout),
    path("catalogue/", views.catalogue),
    path("catalogue/session/", views.catalogue_session),
    path("catalogue/cookie/", views.catalogue_cookie),
    path("catalogue/stream/", views.catalogue_stream),
    path("catalogue/escape/", views.catalogue_escape),
    path("escape/", views.escape),
    path("async/escape/", views.async_escape),
    path("template-escape/", views.template_escape),
    path("broken/", views.broken),
    path("ops/breakers/", include("breaker_django.urls")),
]
