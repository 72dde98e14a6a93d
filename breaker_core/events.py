"""Events a breaker emits, and the safe dispatch of them to listeners.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

from breaker_core.state import State

__all__ = ["ContextGate", "Event", "EventKind", "GatedListener", "Listener", "dispatch"]

logger = logging.getLogger("breaker_core")

EventKind = str
"""One of ``"state_change"``, ``"success"``, ``"failure"``, ``"ignored"``, ``"rejected"``."""


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a breaker.

    ``kind`` is ``"state_change"``, ``"success"``, ``"failure"``, ``"ignored"``
    or ``"rejected"``. ``old_state``/``new_state`` are set on state changes
    (``new_state`` is the current state on the other kinds). ``exception`` is
    the exception a failed or ignored call raised (or the rejection error),
    ``duration`` the call's seconds for outcomes. ``reason`` says why: on a
    state change ``"failure_threshold"``, ``"failure_rate"``,
    ``"consecutive_failures"``, ``"probe_failed"``,
    ``"probe_succeeded"``, ``"reset_timeout"`` or ``"manual"``; on a failure
    ``"exception"``, ``"slow"`` or ``"result"``; on a rejection ``"open"``,
    ``"half_open_full"``, ``"forced_open"`` or ``"bulkhead_full"``.
    ``time`` is the breaker clock's reading.
    """

    kind: EventKind
    name: str
    old_state: State | None = None
    new_state: State | None = None
    exception: BaseException | None = None
    duration: float | None = None
    reason: str | None = None
    time: float = 0.0


Listener = Callable[[Event], object]
"""A callable taking an :class:`Event`. A returned awaitable (an ``async def`` listener's
coroutine) is scheduled, never awaited on the call's path (:mod:`breaker_core.scheduling`);
any other return value is ignored."""


def _accept(seen: object) -> bool:
    return True


class ContextGate:
    """A gate read from the caller's context: ``add_listener(fn, when=ContextGate(read, test))``.

    Open while ``read()`` returns a true value that ``test`` accepts (``test``
    defaults to accepting every one). ``read`` is meant to be a bound
    ``ContextVar.get`` (of a variable with a default): a breaker reads it
    inline on its fast path, with no Python call, so an empty context costs
    one ``ContextVar.get``. The last value ``test`` refused is remembered (by
    identity, kept alive until another one replaces it): while it is the
    value read, the gate is shut without asking ``test`` again. So ``test``
    must refuse for good: a value refused once would be refused again (an
    immutable context whose span is not recording, say; a span that stopped
    recording never records again).

    A plain ``when`` callable is kept as ``ContextGate(when)``: its answer is
    the value read, and every true one is accepted.
    """

    __slots__ = ("quiet", "read", "test")

    def __init__(self, read: Callable[[], object], test: Callable[[Any], bool] = _accept) -> None:
        self.read = read
        self.test = test
        self.quiet: object = None  # the last value test refused

    def __call__(self) -> bool:
        """True when the caller's context opens the gate (the breaker's fast path inlines this)."""
        seen = self.read()
        return bool(seen) and seen is not self.quiet and self.opens(seen)

    def opens(self, seen: object) -> bool:
        """Ask ``test`` about ``seen`` (a true value, not the quiet one); remember a refusal."""
        if self.test(seen):
            return True
        self.quiet = seen
        return False

    def __repr__(self) -> str:
        return f"<ContextGate {self.read!r} test {self.test!r}>"


class GatedListener:
    """A listener told of a call's events only while ``when()`` is true in the caller's context.

    Made by ``add_listener(listener, when=...)``. While every listener of a
    breaker is gated, a call whose gate says no keeps the breaker's fast path
    (nothing timed, no event built): the gate is the one thing asked per call,
    so it must be cheap (a context variable read). State changes are told
    when the gate is true where they happen.
    """

    __slots__ = ("listener", "when")

    def __init__(self, listener: Listener, when: Callable[[], bool]) -> None:
        self.listener = listener
        self.when = when

    def __call__(self, event: Event) -> object:
        if self.when():
            return self.listener(event)
        return None

    def __eq__(self, other: object) -> bool:
        # remove_listener(listener) finds the gated one it was added as.
        if isinstance(other, GatedListener):
            return other.listener == self.listener and other.when == self.when
        return bool(other == self.listener)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<GatedListener {self.listener!r} when {self.when!r}>"


def dispatch(listeners: Iterable[Listener], event: Event) -> None:
    """Call every listener with ``event``; a listener that raises is logged and skipped.

    An ``Exception`` from a listener is logged and forgotten. A ``BaseException``
    that is not one (``KeyboardInterrupt``, ``SystemExit``, a cancellation) is
    logged too, every later listener is still told, and it is raised again
    once all of them have been: the breaker has then finished its
    bookkeeping, and the call forms make sure it never replaces the
    exception (or rejection) of the call itself.

    An ``async def`` listener's coroutine is scheduled to run later (on the
    caller's event loop, or on a background loop for sync callers).
    """
    stop: BaseException | None = None
    for listener in listeners:
        try:
            result = listener(event)
            if result is not None and inspect.isawaitable(result):
                from breaker_core.scheduling import schedule

                schedule(result, f"{listener!r} on {event.kind} event of {event.name!r}")
        except Exception:
            logger.exception(
                "breaker listener %r raised on %s event of %r; ignored",
                listener,
                event.kind,
                event.name,
            )
        except BaseException as exc:
            logger.error(
                "breaker listener %r raised %s on %s event of %r; raised again after "
                "every listener was told",
                listener,
                type(exc).__name__,
                event.kind,
                event.name,
                exc_info=True,
            )
            if stop is None:
                stop = exc
    if stop is not None:
        try:
            raise stop
        finally:
            del stop  # no reference cycle through this frame
