"""Deprecated: moved to :mod:`breaker_core.ops.metrics` (this alias goes in the next release).

Layer: entry point. May import any layer of breaker_core.
"""

from __future__ import annotations

from breaker_core.deprecation import warn_deprecated
from breaker_core.ops.metrics import (
    BreakerMetrics,
    child_exit,
    install_metrics,
    multiprocess_dir,
    render_latest,
)

__all__ = [
    "BreakerMetrics",
    "child_exit",
    "install_metrics",
    "multiprocess_dir",
    "render_latest",
]

warn_deprecated("breaker_core.metrics", "breaker_core.ops.metrics", stacklevel=2)
