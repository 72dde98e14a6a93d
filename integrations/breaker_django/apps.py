"""The Django app: ``INSTALLED_APPS = [..., "breaker_django"]`` (label ``breaker``).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped]

__all__ = ["BreakerAppConfig"]


class BreakerAppConfig(AppConfig):  # type: ignore[misc]  # Django is untyped
    """Registers the system checks and builds the registry from ``settings.BREAKERS``."""

    name = "breaker_django"
    label = "breaker"
    verbose_name = "Circuit breakers"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        """Check ``settings.BREAKERS`` and build the registry: invalid settings stop Django.

        Runs in every server (``runserver``, gunicorn, uvicorn, management commands), so
        a typo never becomes a 500 on every page: Django refuses to start with
        :class:`~breaker_django.checks.InvalidBreakerSettings`, listing every problem
        with its system check id (``breaker.E0xx``), the same list ``manage.py check``
        shows. Checks listed in ``SILENCED_SYSTEM_CHECKS`` do not stop it.
        """
        from breaker_django import checks, conf, db

        errors = checks.startup_errors()
        if errors:
            raise checks.InvalidBreakerSettings(errors)
        conf.get_registry()
        db.install()  # raises for a "database" key that names no DATABASES alias
