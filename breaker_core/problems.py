"""How a settings problem is worded: :class:`Invalid` (what is allowed, and why not),
the bad value shown as the user wrote it, the path of a key, the unknown-key line.

Every message reads ``<path>: expected <what is allowed>, got <value>``; the parsers of
:mod:`breaker_core.validation` raise :class:`Invalid` and their callers add the path.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable

__all__ = ["Invalid", "describe", "key_path", "unknown_key_problem"]


class Invalid(ValueError):
    """A value is not allowed. ``allowed`` says what would be; ``detail`` adds why."""

    def __init__(self, allowed: str, detail: str = "") -> None:
        self.allowed = allowed
        self.detail = detail
        super().__init__(allowed)

    def message(self, path: str, value: object) -> str:
        """Return the full problem line for ``value`` found at ``path``."""
        text = f"{path}: expected {self.allowed}, got {describe(value)}"
        return f"{text} ({self.detail})" if self.detail else text


def describe(value: object) -> str:
    """Show a settings value the way the user wrote it (strings in double quotes)."""
    text = _show(value, depth=0)
    return text if len(text) <= 80 else text[:77] + "..."


def _show(value: object, depth: int) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if depth < 3 and isinstance(value, dict) and type(value) is dict:
        inner = ", ".join(f"{_show(k, depth + 1)}: {_show(v, depth + 1)}" for k, v in value.items())
        return "{" + inner + "}"
    if depth < 3 and isinstance(value, list | tuple) and type(value) in (list, tuple):
        inner = ", ".join(_show(item, depth + 1) for item in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    try:
        return repr(value)
    except ValueError:  # e.g. an int too long to convert to a string
        return f"<{type(value).__name__}>"


def key_path(path: str, key: str) -> str:
    """Return the path of ``key`` below ``path``.

    ``BREAKERS["dependencies"]`` + ``inventory`` gives
    ``BREAKERS["dependencies"]["inventory"]``; a call-style path such as
    ``CircuitBreaker("inventory")`` gives ``CircuitBreaker("inventory", window=...)``.
    """
    if path.endswith("()"):
        return f"{path[:-1]}{key}=...)"
    if path.endswith(")"):
        return f"{path[:-1]}, {key}=...)"
    return f"{path}[{json.dumps(key)}]"


def unknown_key_problem(path: str, key: object, allowed: Iterable[str]) -> str:
    """Return the problem line for an unknown settings key, with a suggestion."""
    names = sorted(allowed)
    text = f"{path}: unknown setting {describe(key)}"
    if isinstance(key, str):
        close = difflib.get_close_matches(key, names, n=1)
        if close:
            text += f"; did you mean {json.dumps(close[0])}?"
    return f"{text} (allowed: {', '.join(names)})"
