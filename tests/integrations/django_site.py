"""The contract app in Django: a settings module, its URLs and views (served by a real server).

Run by ``serve_django.py`` in a process of its own: Django's settings are
global to a process.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import include, path, re_path

from breaker_core.clock import FakeClock
from tests.integrations import site

SECRET_KEY = "contract-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["a.example", "b.example", "127.0.0.1", "localhost", "testserver"]
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "breaker_django"]
MIDDLEWARE = [
    "breaker_django.middleware.BreakerMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "tests.integrations.django_site.staff_middleware",
]
ROOT_URLCONF = "tests.integrations.django_site"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGIN_URL = "/login/"
BREAKERS = {**site.SETTINGS, "cache": "memory://"}
CLOCK = FakeClock()
BREAKERS_CLOCK = "tests.integrations.django_site.CLOCK"


class Staff:
    """A staff superuser without a database (the header X-Test-Staff: 1 signs in)."""

    is_authenticated = True
    is_active = True
    is_staff = True

    def has_perm(self, permission: str) -> bool:
        return True

    def get_username(self) -> str:
        return "root"


def staff_middleware(get_response: Any) -> Any:
    """Sign in the contract's staff user by header; everyone else is anonymous."""
    from django.contrib.auth.models import AnonymousUser

    def middleware(request: HttpRequest) -> Any:
        staff = request.headers.get("X-Test-Staff") == "1"
        request.user = Staff() if staff else AnonymousUser()
        return get_response(request)

    return middleware


def control(request: HttpRequest, action: str) -> HttpResponse:
    from breaker_django import conf

    return HttpResponse(site.control(conf.get_registry(), CLOCK, action))


def any_page(request: HttpRequest) -> HttpResponse:
    found = site.page(
        request.path,
        request.META.get("QUERY_STRING", ""),
        request.get_host(),
        request.COOKIES,
        request.headers.get,
    )
    if found is None:
        return HttpResponseNotFound("not found")
    response = HttpResponse(found.body)
    for name, value in found.headers.items():
        if name == "Set-Cookie":
            response.set_cookie("seen", "1")
        else:
            response[name] = value
    return response


urlpatterns = [
    path("_test/<str:action>", control),
    path("breakers/", include("breaker_django.urls")),
    re_path(r"^.*$", any_page),
]
