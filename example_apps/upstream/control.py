"""Control requests (``PUT /_control`` bodies, ``Upstream.set_mode`` calls): checks and errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

from example_apps.upstream.modes import MODE_FIELDS, Mode, Settings

#: Every field a control body may hold.
FIELDS = ("mode", "status", "delay_ms", "error_rate", "seed")
MODES = tuple(mode.value for mode in Mode)
MAX_DELAY_MS = 600_000


class ControlError(ValueError):
    """A control request was refused; ``field`` and ``allowed`` say what to fix."""

    def __init__(
        self, message: str, *, field: str | None = None, allowed: object | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.allowed = allowed

    def to_json(self) -> dict[str, object]:
        """The body of the 400 answer."""
        body: dict[str, object] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.allowed is not None:
            body["allowed"] = self.allowed
        return body


class UpstreamError(RuntimeError):
    """A valid control request the upstream could not carry out (e.g. its port was taken)."""


def decode_body(raw: bytes) -> object:
    """Parse a control body as JSON, or raise :class:`ControlError`."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ControlError(
            f"the body is not valid JSON ({exc}); send an object such as "
            '{"mode": "errors", "status": 503}',
            allowed=list(FIELDS),
        ) from None


def parse_control(payload: object) -> Settings:
    """Turn a control body into :class:`Settings`, or raise :class:`ControlError`.

    Each body defines the whole behaviour: parameters left out take their defaults
    (``status`` 500, ``delay_ms`` 1000, ``error_rate`` 0.5, ``seed`` 0), not the previous value.
    """
    if not isinstance(payload, Mapping):
        raise ControlError(
            'the body must be a JSON object such as {"mode": "healthy"}', allowed=list(FIELDS)
        )
    for name in payload:
        if name not in FIELDS:
            raise ControlError(f"unknown field {name!r}", field=str(name), allowed=list(FIELDS))
    if "mode" not in payload:
        raise ControlError("missing field 'mode'", field="mode", allowed=list(MODES))
    raw_mode = payload["mode"]
    if not isinstance(raw_mode, str) or raw_mode not in MODES:
        raise ControlError(f"invalid mode {raw_mode!r}", field="mode", allowed=list(MODES))
    mode = Mode(raw_mode)
    for name in payload:
        if name != "mode" and name not in MODE_FIELDS[mode]:
            raise ControlError(
                f"field {name!r} does not apply to mode {mode.value!r}",
                field=name,
                allowed=list(MODE_FIELDS[mode]),
            )
    settings = Settings(mode=mode)
    if "status" in payload:
        settings = replace(settings, status=_integer(payload, "status", 400, 599))
    if "delay_ms" in payload:
        settings = replace(settings, delay_ms=_number(payload, "delay_ms", 0, MAX_DELAY_MS))
    if "error_rate" in payload:
        settings = replace(settings, error_rate=_number(payload, "error_rate", 0, 1))
    if "seed" in payload:
        settings = replace(settings, seed=_integer(payload, "seed", None, None))
    return settings


def _integer(payload: Mapping[str, object], name: str, low: int | None, high: int | None) -> int:
    value = payload[name]
    unbounded = low is None or high is None
    allowed = "an integer" if unbounded else f"an integer from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(f"{name} must be {allowed}, not {value!r}", field=name, allowed=allowed)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ControlError(f"{name} must be {allowed}, not {value}", field=name, allowed=allowed)
    return value


def _number(payload: Mapping[str, object], name: str, low: float, high: float) -> float:
    value = payload[name]
    allowed = f"a number from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(f"{name} must be {allowed}, not {value!r}", field=name, allowed=allowed)
    if not low <= value <= high:
        raise ControlError(f"{name} must be {allowed}, not {value}", field=name, allowed=allowed)
    return value
