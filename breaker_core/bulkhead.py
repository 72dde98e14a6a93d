"""The bulkhead: a per-process cap on calls in flight to one dependency.

Threads and asyncio tasks share one count. When the cap is reached a caller
either gets ``False`` at once (``max_wait`` 0) or waits up to ``max_wait`` for
a slot handed over by a finishing call; waiters are served first come, first
served, and a slot is never lost: a waiter that times out or is cancelled
after being handed a slot passes it on.

The cap is per process on purpose: a cross-process cap would cost a round trip
to shared storage on every call, which is the latency the cap exists to bound.
"""

from __future__ import annotations

import asyncio
import collections
import threading

__all__ = ["BULKHEAD_RETRY_AFTER", "Bulkhead"]

BULKHEAD_RETRY_AFTER = 1.0
"""The ``retry_after`` of a :class:`~breaker_core.BulkheadFullError`, in seconds."""


class _Waiter:
    __slots__ = ("event", "future", "granted", "loop")

    def __init__(
        self,
        event: threading.Event | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[None] | None = None,
    ) -> None:
        self.event = event
        self.loop = loop
        self.future = future
        self.granted = False

    def wake(self) -> None:
        if self.event is not None:
            self.event.set()
        elif self.loop is not None and self.future is not None:
            self.loop.call_soon_threadsafe(_resolve, self.future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Bulkhead:
    """At most ``limit`` holders at once; ``max_wait`` seconds of waiting for a slot."""

    __slots__ = ("_in_flight", "_limit", "_lock", "_max_wait", "_waiters")

    def __init__(self, limit: int, max_wait: float = 0.0) -> None:
        self._limit = limit
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiters: collections.deque[_Waiter] = collections.deque()

    @property
    def limit(self) -> int:
        """The cap."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        return self._in_flight

    @property
    def retry_after(self) -> float:
        """Seconds a rejected caller is told to wait."""
        return BULKHEAD_RETRY_AFTER

    def _try_take(self) -> bool:
        # With the lock held. Waiters go first, so a newcomer never overtakes them.
        if self._in_flight < self._limit and not self._waiters:
            self._in_flight += 1
            return True
        return False

    def acquire(self) -> bool:
        """Take a slot, waiting at most ``max_wait`` seconds; False if none came free."""
        with self._lock:
            if self._try_take():
                return True
            if self._max_wait <= 0:
                return False
            event = threading.Event()
            waiter = _Waiter(event=event)
            self._waiters.append(waiter)
        event.wait(self._max_wait)
        return self._settle_wait(waiter)

    async def acquire_async(self) -> bool:
        """Like :meth:`acquire`, awaiting instead of blocking the event loop."""
        with self._lock:
            if self._try_take():
                return True
            if self._max_wait <= 0:
                return False
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            waiter = _Waiter(loop=loop, future=future)
            self._waiters.append(waiter)
        try:
            await asyncio.wait((future,), timeout=self._max_wait)
        except BaseException:
            if self._settle_wait(waiter):
                self.release()  # handed a slot while being cancelled: pass it on
            raise
        return self._settle_wait(waiter)

    def _settle_wait(self, waiter: _Waiter) -> bool:
        with self._lock:
            if waiter.granted:
                return True
            self._waiters.remove(waiter)
            return False

    def release(self) -> None:
        """Give a slot back, handing it to the longest waiter if there is one."""
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.granted = True  # the slot moves over; in_flight is unchanged
            else:
                self._in_flight -= 1
                return
        waiter.wake()
