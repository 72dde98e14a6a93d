"""``python -m breaker_core``: see :mod:`breaker_core.ops.cli`.

An entry point above every layer: it imports the operations layer's command.

Layer: entry point. May import any layer of breaker_core.
"""

from __future__ import annotations

from breaker_core.ops.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
