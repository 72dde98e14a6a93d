"""django-health-check: one check per dependency (needs ``django-health-check`` 4+).

::

    from health_check.views import HealthCheckView
    from breaker_django.healthchecks import breaker_checks

    checks = [*breaker_checks(), "health_check.checks.Database"]
    urlpatterns = [path("ready/", HealthCheckView.as_view(checks=checks))]

A dependency marked ``required`` fails its check while its breaker is open
(the app cannot serve its pages: take it out of the load balancer's rotation);
an optional one passes (the pages degrade on their own; the breakerpanel
health document and dashboard say which are open). Use these checks for
**readiness**, never for liveness: restarting a process does not bring a
dependency back (see ``docs/operations.md``).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from health_check.base import HealthCheck  # type: ignore[import-untyped]
from health_check.exceptions import ServiceUnavailable  # type: ignore[import-untyped]

from breaker_django import breakers

__all__ = ["BreakerCheck", "breaker_checks"]


@dataclasses.dataclass
class BreakerCheck(HealthCheck):  # type: ignore[misc]  # django-health-check is untyped
    """The breaker of one dependency of ``breaker_django.breakers``."""

    dependency: str

    def run(self) -> None:  # sync: django-health-check runs it in its executor
        """Raise ``ServiceUnavailable`` while a ``required`` dependency's breaker is open."""
        try:
            breaker = breakers[self.dependency]
        except KeyError:
            raise ServiceUnavailable(f"no dependency named {self.dependency!r}") from None
        if breaker.is_open and breaker.config.required:
            raise ServiceUnavailable(
                f"required dependency {self.dependency!r} is {breaker.state.value}; "
                f"next probe in {breaker.retry_after:.0f}s"
            )


def breaker_checks(*names: str) -> list[tuple[type[BreakerCheck], dict[str, Any]]]:
    """``checks=`` entries for ``HealthCheckView``: one per dependency (default: all).

    Read when called (in your URLconf): dependencies added later by
    ``reconfigure`` need the URLconf reloaded, or name them here up front.
    """
    chosen = names or breakers.names
    return [(BreakerCheck, {"dependency": name}) for name in chosen]
