"""The health-tool URLs plus django-debug-toolbar's (loaded with debug_toolbar installed)."""

from __future__ import annotations

from debug_toolbar.toolbar import debug_toolbar_urls

from tests.django.urls_health import urlpatterns as health_urls

urlpatterns = [*health_urls, *debug_toolbar_urls()]
