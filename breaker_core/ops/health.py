"""The health endpoint's policy, shared by every integration.

``GET`` health answers **200** while every *required* dependency is usable
(closed, half-open, disabled or metrics-only) and **503** while a required one
is open or forced open. Dependencies are optional unless their settings say
``required: True``: an open breaker usually means the *dependency* is down,
and failing every instance's health check because of it would take the whole
site out of the load balancer, the very cascade breakers exist to stop. Mark a
dependency required only when an instance truly cannot serve anything without
it. The body is JSON: ``{"schema": "breakerpanel.health/1", "status": "ok" |
"degraded" | "unavailable", "open": [...], "required_open": [...]}``
("degraded": optional dependencies are open).

Layer: ops. Imports the engine only.
"""

from __future__ import annotations

from typing import Any

from breaker_core.registry import Registry

__all__ = ["HEALTH_SCHEMA", "health"]

HEALTH_SCHEMA = "breakerpanel.health/1"


def health(registry: Registry) -> tuple[int, dict[str, Any]]:
    """Return ``(status code, JSON body)`` for the health endpoint."""
    open_names = [b.name for b in registry.breakers() if b.is_open]
    required_open = [name for name in open_names if registry[name].config.required]
    if required_open:
        status, code = "unavailable", 503
    elif open_names:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return code, {
        "schema": HEALTH_SCHEMA,
        "status": status,
        "open": open_names,
        "required_open": required_open,
    }
