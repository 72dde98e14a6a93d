"""The Django settings of tests/django (a real settings module, as a project has)."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent

SECRET_KEY = "breakerpanel-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "breaker_django",
    "example_apps.django_shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "breaker_django.middleware.BreakerMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.django.urls"
LOGIN_URL = "/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "breaker_django.context_processors.breakers",
            ],
        },
    }
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SESSION_ENGINE = "django.contrib.sessions.backends.cache"  # sessions without the database
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "breakerpanel-tests-default",
    },
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "breakerpanel-tests-fragments",
    },
}

# Nothing listens on port 9: tests that call a service point these at a real Upstream.
# BREAKERPANEL_TEST_STORAGE lets a test run manage.py against shared (Redis) storage.
BREAKERS = {
    "storage": os.environ.get("BREAKERPANEL_TEST_STORAGE", "memory://"),
    "defaults": {"failure_threshold": 2, "window": "10s", "reset_timeout": "10s"},
    "dependencies": {
        "inventory": {
            "url": "http://127.0.0.1:9/inventory",
            "timeout": "2s",
            "routes": ["/checkout/*", "/async/checkout/*"],
        },
        "catalogue": {"stale_for": "5m", "routes": ["/catalogue/*"]},
        "recommendations": {"url": "http://127.0.0.1:9/recommendations", "stale_for": "5m"},
    },
}
