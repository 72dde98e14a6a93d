"""Benchmarks of breaker_core against other Python circuit-breaker libraries.

Run with ``python -m benchmarks`` (``make bench``); ``--quick`` is a smoke run.
See ``docs/benchmarks.md`` for what is measured and how.
"""

from __future__ import annotations

from benchmarks.suite import run

__all__ = ["run"]
