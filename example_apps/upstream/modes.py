"""What the upstream does with each request: the modes, their settings and the live state."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Mode(StrEnum):
    """How the service port behaves."""

    HEALTHY = "healthy"
    """Answer at once."""
    ERRORS = "errors"
    """Answer every request with ``status`` (default 500) and a JSON error body."""
    SLOW = "slow"
    """Wait ``delay_ms`` (default 1000), then answer normally."""
    HANG = "hang"
    """Read the request and never answer, until the mode changes, the server stops or the cap."""
    REFUSE = "refuse"
    """Close the listening socket: new connections are refused."""
    FLAKY = "flaky"
    """Answer ``status`` with probability ``error_rate`` (seeded RNG), otherwise normally."""


#: The settings each mode accepts, in the order ``GET /_control`` shows them.
MODE_FIELDS: dict[Mode, tuple[str, ...]] = {
    Mode.HEALTHY: (),
    Mode.ERRORS: ("status",),
    Mode.SLOW: ("delay_ms",),
    Mode.HANG: (),
    Mode.REFUSE: (),
    Mode.FLAKY: ("error_rate", "status", "seed"),
}


@dataclass(frozen=True)
class Settings:
    """A mode and its parameters; parameters the mode does not use are ignored."""

    mode: Mode = Mode.HEALTHY
    status: int = 500
    delay_ms: float = 1000
    error_rate: float = 0.5
    seed: int = 0

    def describe(self) -> dict[str, object]:
        """The parameters that apply to this mode, as shown by ``GET /_control``."""
        return {name: getattr(self, name) for name in MODE_FIELDS[self.mode]}

    def __str__(self) -> str:
        params = ", ".join(f"{name}={value}" for name, value in self.describe().items())
        return f"{self.mode.value} ({params})" if params else self.mode.value


@dataclass(frozen=True)
class Action:
    """What a handler must do with one request, decided by :meth:`ModeState.action`."""

    kind: Literal["answer", "error", "delay", "hang", "drop"]
    status: int = 0
    delay_s: float = 0.0
    mode: str = ""


ANSWER = Action("answer")
HANG = Action("hang")
DROP = Action("drop")


class ModeState:
    """The current settings, shared by every handler thread.

    One condition variable guards everything, so a mode change or :meth:`stop` wakes every
    hanging or sleeping handler at once.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._cond = threading.Condition()
        self._settings = settings or Settings()
        self._rng = random.Random(self._settings.seed)
        self._stopping = False

    @property
    def settings(self) -> Settings:
        """The settings in force."""
        with self._cond:
            return self._settings

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        with self._cond:
            return self._stopping

    def set(self, settings: Settings) -> None:
        """Switch to ``settings`` (re-seeding the flaky RNG) and wake every waiting handler."""
        with self._cond:
            self._settings = settings
            self._rng = random.Random(settings.seed)
            self._cond.notify_all()

    def stop(self) -> None:
        """Make every waiting handler give up and every later request be dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def action(self, *, pinned: bool = False) -> Action:
        """Decide what to do with a request now.

        ``pinned`` requests (``/status/<code>``) ignore every mode but ``hang`` and ``refuse``.
        """
        with self._cond:
            settings = self._settings
            if self._stopping or settings.mode is Mode.REFUSE:
                return DROP
            if settings.mode is Mode.HANG:
                return HANG
            if pinned or settings.mode is Mode.HEALTHY:
                return ANSWER
            if settings.mode is Mode.ERRORS:
                return Action("error", status=settings.status, mode=settings.mode.value)
            if settings.mode is Mode.SLOW:
                return Action("delay", delay_s=settings.delay_ms / 1000)
            if self._rng.random() < settings.error_rate:
                return Action("error", status=settings.status, mode=settings.mode.value)
            return ANSWER

    def wait_while_hanging(self, timeout: float) -> bool:
        """Block while the mode is ``hang``, at most ``timeout`` seconds.

        Returns True when a mode change released the request, False when the upstream
        stopped or the timeout passed (the handler then closes the connection unanswered).
        """
        with self._cond:
            released = self._cond.wait_for(
                lambda: self._stopping or self._settings.mode is not Mode.HANG, timeout
            )
            return released and not self._stopping

    def pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the upstream stops first; True when the pause ran out."""
        with self._cond:
            return not self._cond.wait_for(lambda: self._stopping, seconds)
