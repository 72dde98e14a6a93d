"""Subclasses of middleware, as projects write them (for the placement checks)."""

from __future__ import annotations

from django.contrib.sessions.middleware import SessionMiddleware

from breaker_django.middleware import BreakerMiddleware


class CustomSessionMiddleware(SessionMiddleware):
    pass


class CustomBreakerMiddleware(BreakerMiddleware):
    pass
