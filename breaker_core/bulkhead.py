"""The bulkhead: a per-process cap on calls in flight to one dependency.

Free slots are tokens in a list: taking one is ``list.pop()`` and giving it
back ``list.append()``, both atomic operations on a built-in list, so the
common case (a slot is free) costs no lock. Threads and asyncio tasks share
the same tokens. When none is free a caller either gets ``False`` at once
(``max_wait`` 0) or waits up to ``max_wait`` seconds; a returned token wakes
the oldest waiter. A waiter that is woken but beaten to the token by a
newcomer keeps its place at the front and waits on.

The cap is per process on purpose: a cross-process cap would cost a round trip
to shared storage on every call, which is the latency the cap exists to bound.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable

__all__ = ["BULKHEAD_RETRY_AFTER", "Bulkhead"]

BULKHEAD_RETRY_AFTER = 1.0
"""The ``retry_after`` of a :class:`~breaker_core.BulkheadFullError`, in seconds."""


class _Waiter:
    """A thread (``event``) or a task (``loop`` and ``future``) waiting for a token."""

    __slots__ = ("event", "future", "loop", "woken")

    def __init__(self, event: threading.Event | None = None) -> None:
        self.event = event
        self.loop: asyncio.AbstractEventLoop | None = None
        self.future: asyncio.Future[None] | None = None
        self.woken = False

    def wake(self) -> None:
        self.woken = True
        if self.event is not None:
            self.event.set()
        elif self.loop is not None and self.future is not None:
            try:
                self.loop.call_soon_threadsafe(_resolve, self.future)
            except RuntimeError:  # the waiter's loop is closed: nobody to wake
                pass


def _nothing() -> None:
    pass


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Bulkhead:
    """At most ``limit`` holders at once; callers may wait ``max_wait`` seconds for a slot."""

    __slots__ = ("_lock", "_max_wait", "limit", "on_wait", "rejected", "tokens", "waiters")

    def __init__(self, limit: int, max_wait: float = 0.0) -> None:
        self.limit = limit
        """The cap."""
        self.tokens: list[None] = [None] * limit
        """One entry per free slot (the breaker's fast path pops and appends directly)."""
        self.waiters: collections.deque[_Waiter] = collections.deque()
        """Callers waiting for a slot, oldest first."""
        self.rejected = 0
        """Calls refused so far (after waiting, if they waited)."""
        self._max_wait = max_wait
        self._lock = threading.Lock()  # guards the waiters and the rejection count
        self.on_wait: Callable[[], None] = _nothing
        """Called (no lock held) each time a caller joins the waiters, before it tries
        again: a breaker whose call forms give slots back with a bare ``tokens.append``
        then sends their releases where the waiters are woken (see
        ``Outcomes._count_success``)."""

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        return self.limit - len(self.tokens)

    @property
    def current_limit(self) -> int:
        """Calls that may be in flight right now (the fixed cap)."""
        return self.limit

    @property
    def retry_after(self) -> float:
        """Seconds a rejected caller is told to wait."""
        return BULKHEAD_RETRY_AFTER

    def has_free(self) -> bool:
        """Whether a slot looks free (a hint for passing a wake-up on)."""
        return bool(self.tokens)

    def try_acquire(self) -> bool:
        """Take a free slot without waiting; False if there is none."""
        try:
            self.tokens.pop()
        except IndexError:
            return False
        return True

    def try_acquire_at(self, now: float) -> bool:
        """:meth:`try_acquire`, told the clock's reading (a limit that learns uses it)."""
        try:
            self.tokens.pop()
        except IndexError:
            return False
        return True

    def release(
        self, latency: float | None = None, failed: bool = False, now: float | None = None
    ) -> None:
        """Give a slot back and wake the oldest waiter, if any.

        ``latency`` (seconds the call took, if measured), ``failed`` (the call
        raised) and ``now`` (the clock's reading when it finished, if read) are
        for limits that learn from them (:mod:`breaker_core.adaptive`); a fixed
        cap ignores them.
        """
        self.tokens.append(None)
        if self.waiters:
            self.wake_one()

    def _refused(self) -> bool:
        with self._lock:
            self.rejected += 1
        return False

    def wake_one(self) -> None:
        """Wake the oldest waiter (it then tries to take a token)."""
        with self._lock:
            if not self.waiters:
                return
            waiter = self.waiters.popleft()
        waiter.wake()

    def acquire(self) -> bool:
        """Take a slot, blocking at most ``max_wait`` seconds; False if none came free."""
        if self.try_acquire():
            return True
        if self._max_wait <= 0:
            return self._refused()
        deadline = time.monotonic() + self._max_wait
        event = threading.Event()
        waiter = _Waiter(event)
        self._enqueue(waiter, front=False)
        self.on_wait()
        acquired = False
        try:
            while True:
                # Registered before trying: a release either leaves us a token
                # to find here or finds us in the queue and wakes us.
                if self.try_acquire():
                    acquired = True
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self._refused()
                event.wait(remaining)
                if self._rewind(waiter):
                    event.clear()
        finally:
            self._leave(waiter, acquired)

    async def acquire_async(self) -> bool:
        """Like :meth:`acquire`, awaiting instead of blocking the event loop."""
        if self.try_acquire():
            return True
        if self._max_wait <= 0:
            return self._refused()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait
        waiter = _Waiter()
        waiter.loop = loop
        waiter.future = loop.create_future()
        self._enqueue(waiter, front=False)
        self.on_wait()
        acquired = False
        try:
            while True:
                if self.try_acquire():
                    acquired = True
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return self._refused()
                await asyncio.wait((waiter.future,), timeout=remaining)
                if waiter.future.done():
                    waiter.future = loop.create_future()
                self._rewind(waiter)
        finally:
            self._leave(waiter, acquired)

    def _enqueue(self, waiter: _Waiter, *, front: bool) -> None:
        with self._lock:
            if front:
                self.waiters.appendleft(waiter)
            else:
                self.waiters.append(waiter)

    def _rewind(self, waiter: _Waiter) -> bool:
        """After a wake-up, queue the waiter again at the front; True if it was woken."""
        with self._lock:
            if not waiter.woken:
                return False
            waiter.woken = False
            self.waiters.appendleft(waiter)
        self.on_wait()
        return True

    def _leave(self, waiter: _Waiter, acquired: bool) -> None:
        with self._lock:
            try:
                self.waiters.remove(waiter)
            except ValueError:
                pass  # already taken off the queue by a wake-up
        if not acquired and self.has_free() and self.waiters:
            self.wake_one()  # a token we were woken for is free: pass the wake-up on
