"""Settings of the example shop. Upstream URLs come from the environment.

``INVENTORY_URL`` and ``RECOMMENDATIONS_URL`` (default for both:
``http://127.0.0.1:8001``, one ``example_apps.upstream`` serving both),
``SHOP_DATABASE`` (default: a SQLite file in the temporary directory;
``SHOP_POSTGRES=host:port/name`` uses PostgreSQL instead, user ``postgres``),
``SHOP_SECRET_KEY``, ``SHOP_DEBUG`` (``1`` by default: it is a demo) and
``SHOP_CLOCK`` (a dotted path to the breakers' clock, for tests; real time unset).

``SHOP_STOCK_SOURCE``: where the product page and the stock API read the
stock, ``inventory`` (the Inventory service, the default) or ``database``
(the shop's ``StockLevel`` table). With ``database``, every query on the
shop's database runs under the ``shopdb`` breaker unless ``SHOP_DB_GUARD=0``.

The demo and the scenario switch the shop with ``SHOP_MODE``
(``breakerpanel``, ``bulkhead`` or ``naive``), ``BREAKERS_STORAGE`` and
``SHOP_INVENTORY_BREAKER``; see ``example_apps.demo.switches``. Unset, they
change nothing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from example_apps.demo import switches

DEFAULT_UPSTREAM = "http://127.0.0.1:8001"

INVENTORY_URL = os.environ.get("INVENTORY_URL", DEFAULT_UPSTREAM).rstrip("/")
RECOMMENDATIONS_URL = os.environ.get("RECOMMENDATIONS_URL", DEFAULT_UPSTREAM).rstrip("/")


def shop_breakers(inventory_url: str, recommendations_url: str) -> dict[str, Any]:
    """The shop's ``BREAKERS`` for services at these base URLs (tests use their own)."""
    return {
        "defaults": {"failure_threshold": 5, "window": "10s", "reset_timeout": "10s"},
        "dependencies": {
            "inventory": {
                "url": f"{inventory_url}/inventory",
                "timeout": "2s",
                "routes": ["/checkout/*"],
            },
            "recommendations": {
                "url": f"{recommendations_url}/recommendations",
                "timeout": "1s",
                "failure_threshold": 3,
                "slow_call_duration": "800ms",
                "stale_for": "5m",
            },
        },
    }


SWITCHES = switches.from_environ()
SHOP_MODE = SWITCHES.mode
"""How the product page calls Inventory: "breakerpanel", "bulkhead" or "naive"."""
NAIVE_TIMEOUT = SWITCHES.naive_timeout
NAIVE_RETRIES = SWITCHES.naive_retries

BREAKERS = switches.apply(shop_breakers(INVENTORY_URL, RECOMMENDATIONS_URL), SWITCHES)

# The breakers' clock: a dotted path (tests move it; real time when unset).
BREAKERS_CLOCK = os.environ.get("SHOP_CLOCK") or None

SHOP_STOCK_SOURCE = os.environ.get("SHOP_STOCK_SOURCE", "inventory")
if SHOP_STOCK_SOURCE not in ("inventory", "database"):
    raise ValueError(
        f'SHOP_STOCK_SOURCE: expected "inventory" or "database", got {SHOP_STOCK_SOURCE!r}'
    )
SHOP_DATABASE_BREAKER: dict[str, Any] = {
    "database": "default",
    "timeout": "1s",
    "failure_threshold": 3,
    "reset_timeout": "5s",
    # One connection per worker thread already bounds the queries in flight.
    "max_concurrent": None,
}
"""The ``shopdb`` dependency: every query on the shop's database, and its connects."""
if SHOP_STOCK_SOURCE == "database" and os.environ.get("SHOP_DB_GUARD", "1") != "0":
    BREAKERS["dependencies"]["shopdb"] = SHOP_DATABASE_BREAKER

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "breakerpanel-demo-shop-not-secret")
DEBUG = os.environ.get("SHOP_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"  # log lines in the same time as the other shops

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
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_apps.django_shop.urls"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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


def shop_database(postgres: str | None) -> dict[str, Any]:
    """The ``default`` database: a SQLite file, or PostgreSQL at ``host:port/name``."""
    if not postgres:
        default_file = Path(tempfile.gettempdir()) / "breakerpanel-django-shop.sqlite3"
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SHOP_DATABASE", str(default_file)),
        }
    address, _, name = postgres.partition("/")
    host, _, port = address.partition(":")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name or "postgres",
        "USER": "postgres",
        "HOST": host,
        "PORT": port or "5432",
    }


DATABASES = {"default": shop_database(os.environ.get("SHOP_POSTGRES"))}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
