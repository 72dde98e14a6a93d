"""``Attempt``: one guarded block whose outcome the caller may judge itself."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from breaker_core.machine import NO_RESULT, Ticket

if TYPE_CHECKING:
    from breaker_core.breaker import CircuitBreaker

__all__ = ["Attempt"]


class Attempt:
    """One use of a breaker: entered once, exited once (sync or async).

    Made by :meth:`CircuitBreaker.attempt`. Entering admits the block or
    raises :class:`~breaker_core.CircuitOpenError` (and takes a bulkhead
    slot); exiting counts the outcome and gives the slot back. An exception
    escaping the block is classified by the breaker's ``record``/``ignore``;
    :meth:`fail` marks a block that ended normally as a failure.
    """

    __slots__ = ("_entered", "_failed", "_machine", "_start", "_ticket")

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._machine = breaker
        self._ticket: Ticket = None
        self._start: float | None = None
        self._failed = False
        self._entered = False

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker this attempt runs under."""
        return self._machine

    def fail(self) -> None:
        """Count this block as a failure (reason ``"result"``) even if it raises nothing."""
        self._failed = True

    def __enter__(self) -> Attempt:
        self._begin(self._machine._admit())
        return self

    async def __aenter__(self) -> Attempt:
        self._begin(await self._machine._admit_async())
        return self

    def _begin(self, ticket: Ticket) -> None:
        if self._entered:
            raise RuntimeError("an Attempt can be entered only once; make a new one")
        self._entered = True
        self._ticket = ticket
        machine = self._machine
        self._start = machine._clock() if machine._timed else None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        machine = self._machine
        if exc is not None:
            machine._finish_error(self._ticket, self._start, exc)
        elif self._failed:
            machine._finish_failed(self._ticket, self._start)
        else:
            machine._finish(self._ticket, self._start, NO_RESULT)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
