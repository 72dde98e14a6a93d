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
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.metadata
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, ClassVar

from benchmarks.timing import (
    AsyncLoop,
    SyncLoop,
    acall_loop,
    adirect_loop,
    awith_loop,
    call_loop,
    call_loop_catching,
    direct_loop,
    direct_loop_catching,
    with_loop,
    with_loop_catching,
)
from breaker_core.clock import FakeClock

__all__ = [
    "ADAPTERS",
    "HUGE_THRESHOLD",
    "Adapter",
    "AiobreakerAdapter",
    "BenchError",
    "BreakerCoreAdapter",
    "CircuitbreakerAdapter",
    "FakeClock",
    "PurgatoryAdapter",
    "PybreakerAdapter",
    "Unsupported",
    "asucceed",
    "fail",
    "must_not_run",
    "succeed",
]

HUGE_THRESHOLD = 10**12
"""Failure threshold of the closed-failure case: never reached, so the breaker stays closed."""

OPEN_TIMEOUT = 3600.0
"""Reset timeout of the open-rejection case: the breaker stays open for the whole run."""

PEER_RESET_TIMEOUT = 0.05
"""Reset timeout (seconds) of the peers' half-open setup; they are waited out for real."""

PEER_RESET_SLEEP = 0.1
"""Real sleep after tripping a peer, comfortably past :data:`PEER_RESET_TIMEOUT`."""


class BenchError(Exception):
    """The recorded failure the guarded function raises in the closed-failure case."""


class Unsupported(Exception):
    """The library has no API for this case; ``str(exc)`` says why."""


def succeed() -> int:
    """The trivial guarded function of the success cases."""
    return 1


def fail() -> int:
    """The guarded function of the closed-failure case: always raises :class:`BenchError`."""
    raise BenchError


def must_not_run() -> int:
    """The guarded function of the open-rejection case: an open breaker must never call it."""
    raise AssertionError("an open breaker ran the guarded function")


async def asucceed() -> int:
    """The trivial guarded coroutine of the async case."""
    return 1


_names = itertools.count()


def _unique(prefix: str) -> str:
    return f"bench-{prefix}-{next(_names)}"


class Adapter(ABC):
    """The operations the harness needs from a library.

    Case methods return a timing loop over a freshly built breaker, or raise
    :class:`Unsupported`. ``half_open_*`` return a zero-argument callable that
    sends ``fn`` through a breaker that has just become eligible for a probe.
    """

    name: ClassVar[str]
    """The library's import name, used as its column title."""
    distribution: ClassVar[str]
    """The distribution name, for the version lookup."""
    module_name: ClassVar[str]
    """The module imported to check availability."""

    def unavailable(self) -> str | None:
        """Return why the library cannot be benchmarked here, or None if it can."""
        try:
            importlib.import_module(self.module_name)
        except ImportError as exc:
            return f"not installed ({exc})"
        return None

    def version(self) -> str:
        """The installed version of the library."""
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    @property
    @abstractmethod
    def rejection(self) -> tuple[type[BaseException], ...]:
        """The exception types the library raises for a rejected call."""

    @abstractmethod
    def closed_success(self) -> SyncLoop:
        """A loop calling :func:`succeed` through a closed breaker."""

    @abstractmethod
    def closed_failure(self) -> SyncLoop:
        """A loop calling :func:`fail` through a breaker that never trips, catching BenchError."""

    @abstractmethod
    def open_rejection(self) -> SyncLoop:
        """A loop calling :func:`must_not_run` through a tripped breaker, catching rejections."""

    @abstractmethod
    async def async_closed_success(self) -> AsyncLoop:
        """A loop awaiting :func:`asucceed` through a closed breaker."""

    @abstractmethod
    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """Trip a breaker, move it past its reset timeout, return ``lambda: call fn through it``."""

    @abstractmethod
    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """The async counterpart of :meth:`half_open_sync`."""

    def notes(self) -> list[str]:
        """Remarks about how this library was driven, printed under the tables."""
        return []


def _trip(call: Callable[[Callable[[], object]], object]) -> None:
    """Call :func:`fail` through a breaker whose threshold is 1, swallowing what it raises."""
    try:
        call(fail)
    except Exception:  # BenchError, or the library's own "just tripped" error
        pass


# -- breaker_core (ours) ------------------------------------------------------------------


class BreakerCoreAdapter(Adapter):
    """``breaker_core.CircuitBreaker``: ``call``/``call_async``, default options otherwise."""

    name = "breaker_core"
    distribution = "breakerpanel"
    module_name = "breaker_core"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``CircuitOpenError``."""
        from breaker_core import CircuitOpenError

        return (CircuitOpenError,)

    def _closed(self, max_concurrent: int | None = None) -> Any:
        """A closed breaker that never trips, with a bulkhead of ``max_concurrent`` if given."""
        from breaker_core import CircuitBreaker

        if max_concurrent is None:
            return CircuitBreaker(_unique("ours"), failure_threshold=HUGE_THRESHOLD)
        breaker = CircuitBreaker(
            _unique("ours"), failure_threshold=HUGE_THRESHOLD, max_concurrent=max_concurrent
        )
        if breaker.snapshot()["max_concurrent"] != max_concurrent:
            raise RuntimeError(f"breaker_core ignored max_concurrent={max_concurrent}")
        return breaker

    def closed_success(self) -> SyncLoop:
        """``breaker.call(succeed)`` on a closed breaker."""
        return self.capped_closed_success(None)

    def capped_closed_success(self, max_concurrent: int | None) -> SyncLoop:
        """:meth:`closed_success` on a breaker built with ``max_concurrent`` (None: no cap)."""
        return call_loop(self._closed(max_concurrent).call, succeed)

    def closed_failure(self) -> SyncLoop:
        """``breaker.call(fail)`` with a threshold that is never reached."""
        from breaker_core import CircuitBreaker

        breaker = CircuitBreaker(_unique("ours"), failure_threshold=HUGE_THRESHOLD)
        return call_loop_catching(breaker.call, fail, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """``breaker.call`` on a breaker tripped by one failure, reset timeout one hour."""
        from breaker_core import CircuitBreaker, CircuitOpenError, State

        breaker = CircuitBreaker(_unique("ours"), failure_threshold=1, reset_timeout=OPEN_TIMEOUT)
        _trip(breaker.call)
        if breaker.state is not State.OPEN:
            raise RuntimeError(f"breaker_core did not trip: {breaker.state}")
        return call_loop_catching(breaker.call, must_not_run, (CircuitOpenError,))

    async def async_closed_success(self) -> AsyncLoop:
        """``await breaker.call_async(asucceed)`` on a closed breaker."""
        return await self.async_capped_closed_success(None)

    async def async_capped_closed_success(self, max_concurrent: int | None) -> AsyncLoop:
        """:meth:`async_closed_success` on a breaker built with ``max_concurrent``."""
        return acall_loop(self._closed(max_concurrent).call_async, asucceed)

    def _half_open(self) -> Any:
        from breaker_core import CircuitBreaker, State

        clock = FakeClock()
        breaker = CircuitBreaker(
            _unique("ours"), failure_threshold=1, reset_timeout=10, clock=clock
        )
        _trip(breaker.call)
        clock.advance(10)
        if breaker.state is not State.HALF_OPEN:
            raise RuntimeError(f"breaker_core is not eligible for a probe: {breaker.state}")
        return breaker

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A tripped breaker whose fake clock has been moved past the reset timeout."""
        return functools.partial(self._half_open().call, fn)

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """As :meth:`half_open_sync`, calling through ``call_async``."""
        return functools.partial(self._half_open().call_async, fn)

    def notes(self) -> list[str]:
        """How breaker_core is driven."""
        return ["breaker_core: fake clock for the half-open setup (no sleep)."]


# -- pybreaker ----------------------------------------------------------------------------


class PybreakerAdapter(Adapter):
    """``pybreaker.CircuitBreaker``: ``call``; its ``call_async`` is a tornado coroutine."""

    name = "pybreaker"
    distribution = "pybreaker"
    module_name = "pybreaker"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``pybreaker.CircuitBreakerError``."""
        import pybreaker

        return (pybreaker.CircuitBreakerError,)

    def closed_success(self) -> SyncLoop:
        """``breaker.call(succeed)`` on a closed breaker."""
        import pybreaker

        breaker = pybreaker.CircuitBreaker(fail_max=HUGE_THRESHOLD, name=_unique("pybreaker"))
        return call_loop(breaker.call, succeed)

    def closed_failure(self) -> SyncLoop:
        """``breaker.call(fail)`` with ``fail_max`` never reached."""
        import pybreaker

        breaker = pybreaker.CircuitBreaker(fail_max=HUGE_THRESHOLD, name=_unique("pybreaker"))
        return call_loop_catching(breaker.call, fail, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """``breaker.call`` on a breaker tripped by one failure."""
        import pybreaker

        breaker = pybreaker.CircuitBreaker(
            fail_max=1, reset_timeout=OPEN_TIMEOUT, name=_unique("pybreaker")
        )
        _trip(breaker.call)
        if breaker.current_state != pybreaker.STATE_OPEN:
            raise RuntimeError(f"pybreaker did not trip: {breaker.current_state}")
        return call_loop_catching(breaker.call, must_not_run, (pybreaker.CircuitBreakerError,))

    async def async_closed_success(self) -> AsyncLoop:
        """Unsupported: ``call_async`` needs tornado and returns a tornado future."""
        raise Unsupported("call_async is tornado-based, not asyncio")

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A breaker tripped with a 50 ms reset timeout, then a real 100 ms sleep."""
        import pybreaker

        breaker = pybreaker.CircuitBreaker(
            fail_max=1, reset_timeout=PEER_RESET_TIMEOUT, name=_unique("pybreaker")
        )
        _trip(breaker.call)
        time.sleep(PEER_RESET_SLEEP)
        return functools.partial(breaker.call, fn)

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """Unsupported, as :meth:`async_closed_success`."""
        raise Unsupported("call_async is tornado-based, not asyncio")

    def notes(self) -> list[str]:
        """pybreaker's lock."""
        return [
            "pybreaker: call() holds the breaker's RLock for the whole guarded call, so "
            "concurrent callers of one breaker run one at a time, in every state.",
        ]


# -- circuitbreaker -----------------------------------------------------------------------


class CircuitbreakerAdapter(Adapter):
    """``circuitbreaker.CircuitBreaker``: the decorator, sync and async."""

    name = "circuitbreaker"
    distribution = "circuitbreaker"
    module_name = "circuitbreaker"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``circuitbreaker.CircuitBreakerError``."""
        import circuitbreaker

        return (circuitbreaker.CircuitBreakerError,)

    def _breaker(self, threshold: int, recovery: float) -> Any:
        import circuitbreaker

        return circuitbreaker.CircuitBreaker(
            failure_threshold=threshold,
            recovery_timeout=recovery,
            name=_unique("circuitbreaker"),
        )

    def _tripped(self, recovery: float) -> Any:
        breaker = self._breaker(1, recovery)
        _trip(lambda fn: breaker.decorate(fn)())
        return breaker

    def closed_success(self) -> SyncLoop:
        """The decorated :func:`succeed`."""
        return direct_loop(self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).decorate(succeed))

    def closed_failure(self) -> SyncLoop:
        """The decorated :func:`fail`, threshold never reached."""
        guarded = self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).decorate(fail)
        return direct_loop_catching(guarded, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """The decorated :func:`must_not_run` on a breaker tripped by one failure."""
        import circuitbreaker

        breaker = self._tripped(OPEN_TIMEOUT)
        if breaker.state != circuitbreaker.STATE_OPEN:
            raise RuntimeError(f"circuitbreaker did not trip: {breaker.state}")
        guarded = breaker.decorate(must_not_run)
        return direct_loop_catching(guarded, (circuitbreaker.CircuitBreakerError,))

    async def async_closed_success(self) -> AsyncLoop:
        """The decorated :func:`asucceed`."""
        return adirect_loop(self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).decorate(asucceed))

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A breaker tripped with a 50 ms recovery timeout, then a real 100 ms sleep."""
        breaker = self._tripped(PEER_RESET_TIMEOUT)
        time.sleep(PEER_RESET_SLEEP)
        guarded: Callable[[], object] = breaker.decorate(fn)
        return guarded

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """As :meth:`half_open_sync`, decorating a coroutine function."""
        breaker = self._tripped(PEER_RESET_TIMEOUT)
        await asyncio.sleep(PEER_RESET_SLEEP)

        async def probe() -> object:  # decorate() needs a coroutine function
            return await fn()

        guarded: Callable[[], Awaitable[object]] = breaker.decorate(probe)
        return guarded

    def notes(self) -> list[str]:
        """circuitbreaker's API shape."""
        return [
            "circuitbreaker: timed through the decorator; CircuitBreaker.call() skips the "
            "open check, so only decorated functions are ever rejected.",
        ]


# -- aiobreaker ---------------------------------------------------------------------------


class AiobreakerAdapter(Adapter):
    """``aiobreaker.CircuitBreaker``: ``call`` and ``call_async``."""

    name = "aiobreaker"
    distribution = "aiobreaker"
    module_name = "aiobreaker"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``aiobreaker.CircuitBreakerError``."""
        import aiobreaker

        return (aiobreaker.CircuitBreakerError,)

    def _breaker(self, fail_max: int, timeout: float) -> Any:
        import aiobreaker

        return aiobreaker.CircuitBreaker(
            fail_max=fail_max,
            timeout_duration=timedelta(seconds=timeout),
            name=_unique("aiobreaker"),
        )

    def _tripped(self, timeout: float) -> Any:
        breaker = self._breaker(1, timeout)
        _trip(breaker.call)
        return breaker

    def closed_success(self) -> SyncLoop:
        """``breaker.call(succeed)`` on a closed breaker."""
        return call_loop(self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).call, succeed)

    def closed_failure(self) -> SyncLoop:
        """``breaker.call(fail)`` with ``fail_max`` never reached."""
        breaker = self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT)
        return call_loop_catching(breaker.call, fail, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """``breaker.call`` on a breaker tripped by one failure."""
        import aiobreaker

        breaker = self._tripped(OPEN_TIMEOUT)
        if breaker.current_state is not aiobreaker.CircuitBreakerState.OPEN:
            raise RuntimeError(f"aiobreaker did not trip: {breaker.current_state}")
        return call_loop_catching(breaker.call, must_not_run, (aiobreaker.CircuitBreakerError,))

    async def async_closed_success(self) -> AsyncLoop:
        """``await breaker.call_async(asucceed)`` on a closed breaker."""
        return acall_loop(self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).call_async, asucceed)

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A breaker tripped with a 50 ms timeout, then a real 100 ms sleep."""
        breaker = self._tripped(PEER_RESET_TIMEOUT)
        time.sleep(PEER_RESET_SLEEP)
        return functools.partial(breaker.call, fn)

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """As :meth:`half_open_sync`, calling through ``call_async``."""
        breaker = self._tripped(PEER_RESET_TIMEOUT)
        await asyncio.sleep(PEER_RESET_SLEEP)
        return functools.partial(breaker.call_async, fn)


# -- purgatory ----------------------------------------------------------------------------


class PurgatoryAdapter(Adapter):
    """purgatory: ``with breaker:`` / ``async with breaker:`` on a breaker fetched once."""

    name = "purgatory"
    distribution = "purgatory"
    module_name = "purgatory"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``OpenedState``: purgatory raises its open-state object itself."""
        from purgatory.domain.model import OpenedState

        return (OpenedState,)

    def _sync(self, threshold: int, ttl: float) -> Any:
        import purgatory

        factory = purgatory.SyncCircuitBreakerFactory(default_threshold=threshold, default_ttl=ttl)
        return factory.get_breaker(_unique("purgatory"))

    async def _async(self, threshold: int, ttl: float) -> Any:
        import purgatory

        factory = purgatory.AsyncCircuitBreakerFactory(default_threshold=threshold, default_ttl=ttl)
        return await factory.get_breaker(_unique("purgatory"))

    @staticmethod
    def _trip(breaker: Any) -> None:
        try:
            with breaker:
                fail()
        except BenchError:
            pass

    def closed_success(self) -> SyncLoop:
        """``with breaker: succeed()`` on a closed breaker."""
        return with_loop(self._sync(HUGE_THRESHOLD, OPEN_TIMEOUT), succeed)

    def closed_failure(self) -> SyncLoop:
        """``with breaker: fail()`` with a threshold never reached."""
        return with_loop_catching(self._sync(HUGE_THRESHOLD, OPEN_TIMEOUT), fail, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """``with breaker: must_not_run()`` on a breaker tripped by one failure."""
        breaker = self._sync(1, OPEN_TIMEOUT)
        self._trip(breaker)
        if breaker.context.state != "opened":
            raise RuntimeError(f"purgatory did not trip: {breaker.context.state}")
        return with_loop_catching(breaker, must_not_run, self.rejection)

    async def async_closed_success(self) -> AsyncLoop:
        """``async with breaker: await asucceed()`` on a closed breaker."""
        return awith_loop(await self._async(HUGE_THRESHOLD, OPEN_TIMEOUT), asucceed)

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A breaker tripped with a 50 ms TTL, then a real 100 ms sleep."""
        breaker = self._sync(1, PEER_RESET_TIMEOUT)
        self._trip(breaker)
        time.sleep(PEER_RESET_SLEEP)

        def call() -> object:
            with breaker:
                return fn()

        return call

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """As :meth:`half_open_sync`, with ``async with``."""
        breaker = await self._async(1, PEER_RESET_TIMEOUT)
        try:
            async with breaker:
                fail()
        except BenchError:
            pass
        await asyncio.sleep(PEER_RESET_SLEEP)

        async def call() -> object:
            async with breaker:
                return await fn()

        return call

    def notes(self) -> list[str]:
        """purgatory's rejection object."""
        return [
            "purgatory: rejects by raising its OpenedState object itself, the same instance "
            "every time, so that exception's __traceback__ grows by one entry per rejected "
            "call (memory grows while open); a fresh breaker is built for every round.",
        ]


ADAPTERS: tuple[type[Adapter], ...] = (
    BreakerCoreAdapter,
    PybreakerAdapter,
    CircuitbreakerAdapter,
    AiobreakerAdapter,
    PurgatoryAdapter,
)
"""Every library, ours first; the table columns follow this order."""
