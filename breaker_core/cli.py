"""Deprecated: moved to :mod:`breaker_core.ops.cli` (this alias goes in the next release).

Layer: entry point. May import any layer of breaker_core.
"""

from __future__ import annotations

from breaker_core.deprecation import warn_deprecated
from breaker_core.ops.cli import (
    ENVIRONMENT_VARIABLE,
    SettingsError,
    build_parser,
    load_settings,
    main,
    run,
)

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "SettingsError",
    "build_parser",
    "load_settings",
    "main",
    "run",
]

warn_deprecated("breaker_core.cli", "breaker_core.ops.cli", stacklevel=2)
