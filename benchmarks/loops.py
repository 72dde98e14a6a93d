"""The timing loops, one per calling convention, each on its own code object.

Each library is timed with the same kind of loop: ``time.perf_counter_ns``
read before and after ``n`` calls, the loop written once per *calling
convention* (``call(fn)``, a decorated ``fn()``, ``with breaker: fn()``) so no
library pays for an adapter layer the others do not. Every loop a factory
returns runs on its own copy of the loop's code object (:func:`own_code`), so
the interpreter's specialisation of one library's loop cannot help or hurt
another's. :mod:`benchmarks.timing` runs them.

Imports benchmarks.timing's loop types only.
"""

from __future__ import annotations

import time
import types
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeVar

from benchmarks.timing import AsyncLoop, SyncLoop

__all__ = [
    "Catch",
    "acall_loop",
    "adirect_loop",
    "awith_loop",
    "call_loop",
    "call_loop_catching",
    "direct_loop",
    "direct_loop_catching",
    "own_code",
    "with_loop",
    "with_loop_catching",
]

Catch = tuple[type[BaseException], ...]
_F = TypeVar("_F", bound=Callable[..., Any])


def own_code(fn: _F) -> _F:
    """Return a copy of ``fn`` with its own code object (and so its own inline caches)."""
    copy = types.FunctionType(
        fn.__code__.replace(),
        fn.__globals__,
        fn.__name__,
        fn.__defaults__,
        fn.__closure__,
    )
    copy.__qualname__ = fn.__qualname__
    return copy  # type: ignore[return-value]


# -- sync loops ---------------------------------------------------------------------------


def call_loop(call: Callable[[Callable[[], Any]], Any], fn: Callable[[], Any]) -> SyncLoop:
    """Time ``call(fn)`` (the ``breaker.call(fn)`` convention)."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            call(fn)
        return clock() - start

    return own_code(loop)


def call_loop_catching(
    call: Callable[[Callable[[], Any]], Any], fn: Callable[[], Any], catch: Catch
) -> SyncLoop:
    """Time ``try: call(fn) except catch: pass``."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            try:
                call(fn)
            except catch:
                pass
        return clock() - start

    return own_code(loop)


def direct_loop(fn: Callable[[], Any]) -> SyncLoop:
    """Time ``fn()``: a bare function, or one a library decorated."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            fn()
        return clock() - start

    return own_code(loop)


def direct_loop_catching(fn: Callable[[], Any], catch: Catch) -> SyncLoop:
    """Time ``try: fn() except catch: pass``."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            try:
                fn()
            except catch:
                pass
        return clock() - start

    return own_code(loop)


def with_loop(manager: AbstractContextManager[Any], fn: Callable[[], Any]) -> SyncLoop:
    """Time ``with manager: fn()`` (the context-manager convention)."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            with manager:
                fn()
        return clock() - start

    return own_code(loop)


def with_loop_catching(
    manager: AbstractContextManager[Any], fn: Callable[[], Any], catch: Catch
) -> SyncLoop:
    """Time ``try: with manager: fn() except catch: pass``."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            try:
                with manager:
                    fn()
            except catch:
                pass
        return clock() - start

    return own_code(loop)


# -- async loops --------------------------------------------------------------------------


def acall_loop(
    call: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]],
    fn: Callable[[], Awaitable[Any]],
) -> AsyncLoop:
    """Time ``await call(fn)`` (the ``await breaker.call_async(fn)`` convention)."""

    async def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            await call(fn)
        return clock() - start

    return own_code(loop)


def adirect_loop(fn: Callable[[], Awaitable[Any]]) -> AsyncLoop:
    """Time ``await fn()``: a bare coroutine function, or one a library decorated."""

    async def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            await fn()
        return clock() - start

    return own_code(loop)


def awith_loop(
    manager: AbstractAsyncContextManager[Any], fn: Callable[[], Awaitable[Any]]
) -> AsyncLoop:
    """Time ``async with manager: await fn()``."""

    async def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            async with manager:
                await fn()
        return clock() - start

    return own_code(loop)
