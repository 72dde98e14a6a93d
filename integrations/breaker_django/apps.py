"""The Django app: ``INSTALLED_APPS = [..., "breaker_django"]`` (label ``breaker``)."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped]

from breaker_core import ConfigurationError

__all__ = ["BreakerAppConfig"]


class BreakerAppConfig(AppConfig):  # type: ignore[misc]  # Django is untyped
    """Registers the system checks and builds the registry from ``settings.BREAKERS``."""

    name = "breaker_django"
    label = "breaker"
    verbose_name = "Circuit breakers"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        """Build the registry once; invalid settings are left to the system checks.

        An invalid ``BREAKERS`` does not stop Django from starting, so that
        ``manage.py check`` (and ``runserver``) can list every problem as
        ``breaker.E0xx``; using the registry raises the same problems as a
        :class:`~breaker_core.ConfigurationError`.
        """
        from breaker_django import checks, conf  # noqa: F401  (importing registers the checks)

        try:
            conf.get_registry()
        except ConfigurationError:
            pass
