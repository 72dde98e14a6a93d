"""What may go into a fragment's cache key: the ``vary_on`` values of a ``{% breaker %}`` tag.

A kept rendering is served to whoever asks with the same key, so every value
the body depends on must be in the key, and the key must tell two visitors
apart for certain. ``fragment_key`` uses ``repr()`` of each value: plain values
(numbers, strings, ids) have a stable, distinct ``repr``; arbitrary objects
often do not (``<User object at 0x7f...>`` can be reused by another user's
object once the first is gone). So only plain values are accepted.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid

from jinja2 import Undefined

__all__ = ["PLAIN_TYPES", "vary_on_values"]

PLAIN_TYPES: tuple[type, ...] = (
    str,
    int,
    float,
    bool,
    type(None),
    bytes,
    decimal.Decimal,
    uuid.UUID,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    enum.Enum,
)
"""Types accepted as ``vary_on`` values (and inside tuples and lists of them)."""


def _check(value: object, where: str) -> None:
    if isinstance(value, Undefined):
        # Raises UndefinedError naming the missing variable: an undefined value
        # would give every visitor the same key.
        value._fail_with_undefined_error()
    if isinstance(value, tuple | list):
        for item in value:
            _check(item, where)
        return
    if not isinstance(value, PLAIN_TYPES):
        raise TypeError(
            f"{where}: vary_on values must be plain values (str, int, float, bool, None, "
            f"UUID, date, Decimal, enum, or tuples/lists of them), got a "
            f"{type(value).__qualname__}; pass what identifies it, like user.id"
        )


def vary_on_values(value: object, where: str) -> list[object]:
    """Return the ``vary_on`` argument as a list of checked values.

    A tuple or list gives its items; a single value is taken as a list of one.

    Raises:
        TypeError: a value is not a plain value (see :data:`PLAIN_TYPES`).
        jinja2.UndefinedError: a value is undefined.
    """
    values = list(value) if isinstance(value, tuple | list) else [value]
    for item in values:
        _check(item, where)
    return values
