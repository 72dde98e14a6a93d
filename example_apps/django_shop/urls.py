"""The shop's URLs."""

from __future__ import annotations

from django.contrib.auth import views as auth_views  # type: ignore[import-untyped]
from django.urls import include, path  # type: ignore[import-untyped]

from example_apps.django_shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("product/<str:sku>/", views.product, name="product"),
    path("checkout/", views.checkout, name="checkout"),
    path("about/", views.about, name="about"),
    path("api/stock/<str:sku>", views.api_stock, name="api-stock"),
    path("login/", auth_views.LoginView.as_view(template_name="shop/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("breakers/", include("breaker_django.urls")),
]
