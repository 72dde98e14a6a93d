"""``registry.guard``: a breaker with a fallback and a last-good-result cache.

A guarded function that succeeds has its result stored (when ``stale_for`` is
set) under a key built from the breaker, the function and ``key(*args,
**kwargs)``. When a call is rejected, or fails in a way the breaker records, the
guard answers with the stored result if it is at most ``stale_for`` seconds
old, else with ``fallback``, else by raising the original error. A result
that ``result_is_failure`` judges a failure is answered the same way (the
fallback receives a :class:`~breaker_core.FailedResultError`), and returned
as it is when there is nothing to answer with.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from breaker_core.awaitables import is_async_callable
from breaker_core.breaker import CircuitBreaker
from breaker_core.cache import Cache
from breaker_core.clock import Clock
from breaker_core.errors import CircuitOpenError, ConfigurationError, FailedResultError
from breaker_core.keys import encode_key, function_identity

__all__ = ["MISSING", "make_guard"]

logger = logging.getLogger("breaker_core")

MISSING: Any = object()
"""Marks an argument that was not given (``fallback=None`` is a valid fallback)."""

KeyFunction = Callable[..., object]
P = ParamSpec("P")
R = TypeVar("R")


class _Degrader:
    """What one guarded function does when its call is rejected or fails."""

    def __init__(
        self,
        breaker: CircuitBreaker,
        fn: Callable[..., Any],
        cache: Cache,
        clock: Clock,
        fallback: object,
        stale_for: float,
        key: KeyFunction | None,
    ) -> None:
        self.breaker = breaker
        self.cache = cache
        self.clock = clock
        self.fallback = fallback
        self.stale_for = stale_for
        self.key = key
        name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        # Keyed on the function's identity, never only its name (see function_identity).
        self.prefix = f"breakerpanel:guard:{breaker.name}:{function_identity(fn)}:"
        self.where = f"guard({breaker.name!r}) on {name}: key=..."

    def cache_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        if not self.stale_for:
            return None
        if self.key is None:
            return self.prefix
        text = encode_key(self.key(*args, **kwargs), self.where)  # plain values only
        return self.prefix + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

    def judge(self, result: object) -> bool:
        """True when ``result_is_failure`` says the result is a failure."""
        predicate = self.breaker.config.result_is_failure
        return predicate is not None and _safe_predicate(predicate, result)

    def settle(self, cache_key: str | None, result: object, failed: bool) -> object:
        """Store a good result and return it; answer a result judged a failure."""
        if failed:
            # Never keep a result the breaker counted as a failure; degrade instead.
            answer = self.answer(cache_key, FailedResultError(self.breaker.name, result))
            return result if answer is MISSING else answer
        if cache_key is not None:
            self.cache.set(cache_key, result, self.stale_for)
        return result

    async def settle_async(self, cache_key: str | None, result: object) -> object:
        """:meth:`settle` of a result judged a failure, for an async function."""
        answer = await self.answer_async(cache_key, FailedResultError(self.breaker.name, result))
        return result if answer is MISSING else answer

    def answer(self, cache_key: str | None, error: Exception) -> object:
        """Return the stale result or the fallback, or MISSING if neither applies."""
        if cache_key is not None:
            entry = self.cache.get(cache_key)
            if entry is not None and entry.age <= self.stale_for:
                return entry.value
        if self.fallback is MISSING:
            return MISSING
        if callable(self.fallback):
            try:
                return self.fallback(error)
            except Exception as fallback_error:
                # Keep the original error visible as the cause.
                raise fallback_error from error
        return self.fallback

    async def answer_async(self, cache_key: str | None, error: Exception) -> object:
        """:meth:`answer` for an async function: an async fallback is awaited."""
        answer = self.answer(cache_key, error)
        if inspect.isawaitable(answer):
            try:
                return await answer
            except Exception as fallback_error:
                raise fallback_error from error
        return answer

    def degrades(self, error: Exception) -> bool:
        """Whether ``error`` is answered by the stale result or fallback."""
        return isinstance(error, CircuitOpenError) or self.breaker.is_failure(error)


def _safe_predicate(predicate: Callable[[Any], object], result: object) -> bool:
    try:
        return bool(predicate(result))
    except Exception:
        # As in the breaker itself: a broken predicate must not open the breaker.
        logger.exception("result_is_failure raised; the call counts as a success")
        return False


def make_guard(
    breaker: CircuitBreaker,
    cache: Cache,
    clock: Clock,
    *,
    fallback: object = MISSING,
    stale_for: float | None = None,
    key: KeyFunction | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Return a decorator guarding a sync or async function; see :meth:`Registry.guard`.

    The decorated function keeps its signature for type checkers (``P``, ``R``).
    """
    effective_stale = breaker.config.stale_for if stale_for is None else stale_for

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        what = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        if effective_stale and key is None and _takes_arguments(fn):
            raise ConfigurationError(
                f"guard({breaker.name!r}) on {what}: a function that takes arguments "
                "needs key=... when stale_for is set, so results for different arguments "
                "(or users) are never mixed; or pass stale_for=0"
            )
        is_async = is_async_callable(fn)
        if not is_async and callable(fallback) and is_async_callable(fallback):
            raise ConfigurationError(
                f"guard({breaker.name!r}, fallback=...) on {what}: expected a plain "
                f"function or a value as the fallback of a sync function, got the async "
                f"callable {fallback!r} (its coroutine could never be awaited)"
            )
        degrader = _Degrader(breaker, fn, cache, clock, fallback, effective_stale, key)

        if is_async:
            afn = cast(Callable[..., Any], fn)

            @functools.wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                cache_key = degrader.cache_key(args, kwargs)
                try:
                    # An attempt, so a guarded client inside fn counts once, here.
                    async with breaker.attempt() as attempt:
                        result = await afn(*args, **kwargs)
                        if degrader.judge(result):
                            attempt.fail()
                    failed = attempt.failed  # also when an inner guarded call failed
                except Exception as error:
                    if not degrader.degrades(error):
                        raise
                    answer = await degrader.answer_async(cache_key, error)
                    if answer is MISSING:
                        raise
                    return answer
                if failed:
                    return await degrader.settle_async(cache_key, result)
                return degrader.settle(cache_key, result, failed)

            return cast(Callable[P, R], guarded_async)

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            cache_key = degrader.cache_key(args, kwargs)
            try:
                with breaker.attempt() as attempt:
                    result = fn(*args, **kwargs)
                    if degrader.judge(result):
                        attempt.fail()
                failed = attempt.failed  # also when an inner guarded call failed
            except Exception as error:
                if not degrader.degrades(error):
                    raise
                answer = degrader.answer(cache_key, error)
                if answer is MISSING:
                    raise
                return cast(R, answer)
            return cast(R, degrader.settle(cache_key, result, failed))

        return guarded

    return decorate


def _takes_arguments(fn: Callable[..., Any]) -> bool:
    try:
        return bool(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return True
