"""Deprecated: moved to :mod:`breaker_core.ops.status` (this alias goes in the next release).

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

from breaker_core.deprecation import warn_deprecated
from breaker_core.ops.status import (
    KEY_ENTRIES,
    SCHEMA,
    status_document,
)

__all__ = [
    "KEY_ENTRIES",
    "SCHEMA",
    "status_document",
]

warn_deprecated("breaker_core.web.status", "breaker_core.ops.status", stacklevel=2)
