"""breaker_core: the circuit-breaker engine of breakerpanel.

Pure Python, standard library only: no framework, client library or Redis is
imported here. See ``docs/`` for the semantics and the settings.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from breaker_core.breaker import CircuitBreaker
from breaker_core.config import BreakerConfig
from breaker_core.errors import (
    BreakerError,
    BulkheadFullError,
    CircuitOpenError,
    ConfigurationError,
    FailedResultError,
    StorageError,
)
from breaker_core.events import Event
from breaker_core.registry import Registry
from breaker_core.state import State

__all__ = [
    "BreakerConfig",
    "BreakerError",
    "BulkheadFullError",
    "CircuitBreaker",
    "CircuitOpenError",
    "ConfigurationError",
    "Event",
    "FailedResultError",
    "Registry",
    "State",
    "StorageError",
]

__version__ = "0.1.0.dev0"
