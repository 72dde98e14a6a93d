"""Deprecated: moved to :mod:`breaker_core.ops.schemas` (this alias goes in the next release).

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

from breaker_core.deprecation import warn_deprecated
from breaker_core.ops.schemas import (
    HEALTH_SCHEMA_DOCUMENT,
    STATUS_SCHEMA_DOCUMENT,
)

__all__ = [
    "HEALTH_SCHEMA_DOCUMENT",
    "STATUS_SCHEMA_DOCUMENT",
]

warn_deprecated("breaker_core.web.schemas", "breaker_core.ops.schemas", stacklevel=2)
