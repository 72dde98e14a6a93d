"""One small adapter per circuit-breaker library, all exposing the same operations.

An adapter builds a fresh breaker configured for a case and returns a timing
loop from :mod:`benchmarks.timing` written in the library's own calling
convention, so the timed code is exactly what a user of that library writes:

- ``breaker_core``, ``pybreaker``, ``aiobreaker``: ``breaker.call(fn)`` and
  ``await breaker.call_async(fn)``;
- ``circuitbreaker``: the decorated function (its ``call()`` method does not
  check the state, only the decorator rejects);
- ``purgatory``: ``with breaker: fn()`` on a breaker fetched once from the
  factory (its decorator also looks the breaker up on every call, which is
  slower; the cheaper form is used so the comparison favours the peer).

For the half-open probe count an adapter also trips a breaker and moves it
past its reset timeout: ``breaker_core`` with an injected fake clock, the
peers with a tiny reset timeout and a real short sleep.

The adapters live one per library (``benchmarks.adapter_<library>``) on the base
of :mod:`benchmarks.adapter_base`; the guarded functions are in
:mod:`benchmarks.guarded`.

Imports the adapter modules only.
"""

from __future__ import annotations

from benchmarks.adapter_aiobreaker import AiobreakerAdapter
from benchmarks.adapter_base import Adapter
from benchmarks.adapter_breaker_core import BreakerCoreAdapter
from benchmarks.adapter_circuitbreaker import CircuitbreakerAdapter
from benchmarks.adapter_purgatory import PurgatoryAdapter
from benchmarks.adapter_pybreaker import PybreakerAdapter

__all__ = ["ADAPTERS"]

ADAPTERS: tuple[type[Adapter], ...] = (
    BreakerCoreAdapter,
    PybreakerAdapter,
    CircuitbreakerAdapter,
    AiobreakerAdapter,
    PurgatoryAdapter,
)
"""Every library, ours first; the table columns follow this order."""
