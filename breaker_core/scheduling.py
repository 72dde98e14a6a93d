"""Running ``async def`` listeners off the call's path.

A listener that returns an awaitable (an ``async def`` listener) is never
awaited by the call that emitted the event. Its coroutine is scheduled:

- as a task on the event loop running in the calling thread, when there is
  one (an async view, an asyncio task): it runs once the caller yields;
- otherwise (a sync call in a worker thread), on a background event loop that
  breakerpanel starts on first need, in a daemon thread of its own.

An exception raised by the coroutine is logged on the ``breaker_core`` logger
like a sync listener's. Tasks are kept referenced until they finish, so none
is collected half-way. Coroutines still pending when the process exits are
dropped (the loop thread is a daemon): listeners that must not lose events
should hand them to a durable queue.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Awaitable, Coroutine
from typing import Any

__all__ = ["drain", "schedule"]

logger = logging.getLogger("breaker_core")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_tasks: set[asyncio.Future[Any]] = set()  # on callers' loops
_background: set[concurrent.futures.Future[Any]] = set()  # on the background loop

Pending = asyncio.Future[Any] | concurrent.futures.Future[Any]


def _report(future: Pending, what: str) -> None:
    if isinstance(future, concurrent.futures.Future):
        _background.discard(future)
    else:
        _tasks.discard(future)
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None and isinstance(exc, Exception):
        logger.error("async breaker listener %s raised; ignored", what, exc_info=exc)


def _background_loop() -> asyncio.AbstractEventLoop:
    """The background loop, started on first use (again in a forked child)."""
    global _loop, _loop_pid
    with _lock:
        if _loop is not None and _loop_pid == os.getpid() and _loop.is_running():
            return _loop
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        threading.Thread(target=run, name="breaker_core-listeners", daemon=True).start()
        started.wait()
        _loop, _loop_pid = loop, os.getpid()
        return loop


async def _run(awaitable: Awaitable[Any], what: str) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("async breaker listener %s raised; ignored", what)


def schedule(awaitable: Awaitable[Any], what: str) -> None:
    """Run ``awaitable`` (a listener's result) without waiting for it; ``what`` names it in logs."""
    coroutine: Coroutine[Any, Any, Any] = _run(awaitable, what)
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        task = running.create_task(coroutine)
        _tasks.add(task)
        task.add_done_callback(lambda done: _report(done, what))
    else:
        future = asyncio.run_coroutine_threadsafe(coroutine, _background_loop())
        _background.add(future)
        future.add_done_callback(lambda done: _report(done, what))


def drain(timeout: float = 5.0) -> bool:
    """Wait (from a thread with no running loop) until scheduled listeners have finished.

    For tests and shutdown hooks; returns False if some were still running
    after ``timeout`` seconds. Listeners scheduled on a caller's own event
    loop finish when that loop runs them: await ``asyncio.sleep(0)`` there.
    """
    _, not_done = concurrent.futures.wait(list(_background), timeout=timeout)
    return not not_done
