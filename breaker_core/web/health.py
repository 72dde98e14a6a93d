"""Deprecated: moved to :mod:`breaker_core.ops.health` (this alias goes in the next release).

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

from breaker_core.deprecation import warn_deprecated
from breaker_core.ops.health import (
    HEALTH_SCHEMA,
    health,
)

__all__ = [
    "HEALTH_SCHEMA",
    "health",
]

warn_deprecated("breaker_core.web.health", "breaker_core.ops.health", stacklevel=2)
