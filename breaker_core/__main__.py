"""``python -m breaker_core``: see :mod:`breaker_core.cli`."""

from __future__ import annotations

from breaker_core.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
