"""The permission that lets a staff user change breaker states from the dashboard.

``breaker.change_breaker_state``: grant it to a user or group in the admin (or
``user.user_permissions.add(...)``); superusers have it. The model has no
table: it exists only so Django creates the permission.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from django.db import models  # type: ignore[import-untyped]

__all__ = ["Breaker"]


class Breaker(models.Model):  # type: ignore[misc]  # Django is untyped
    """Holds the ``change_breaker_state`` permission; unmanaged, no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = (("change_breaker_state", "Can change the state of circuit breakers"),)
        verbose_name = "circuit breaker"
