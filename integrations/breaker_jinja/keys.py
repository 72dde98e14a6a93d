"""What may go into a fragment's cache key: the ``vary_on`` values of a ``{% breaker %}`` tag.

A kept rendering is served to whoever asks with the same key, so every value
the body depends on must be in the key, and the key must tell two visitors
apart for certain. Which values are accepted is the engine's one rule,
:mod:`breaker_core.keys` (shared with ``registry.guard(key=...)``); this module
only adds Jinja's undefined values, which are refused by name.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from jinja2 import Undefined

from breaker_core.extension import PLAIN_TYPES, encode_key

__all__ = ["PLAIN_TYPES", "vary_on_values"]


def _check(value: object, where: str) -> None:
    if isinstance(value, Undefined):
        # Raises UndefinedError naming the missing variable: an undefined value
        # would give every visitor the same key.
        value._fail_with_undefined_error()
    if isinstance(value, tuple | list):
        for item in value:
            _check(item, where)
        return
    encode_key(value, where)  # the engine's one rule: raises PlainValueError (a TypeError)


def vary_on_values(value: object, where: str) -> list[object]:
    """Return the ``vary_on`` argument as a list of checked values.

    A tuple or list gives its items; a single value is taken as a list of one.

    Raises:
        PlainValueError: a value is not a plain value (see
            :data:`breaker_core.keys.PLAIN_TYPES`); a ``TypeError``.
        jinja2.UndefinedError: a value is undefined.
    """
    values = list(value) if isinstance(value, tuple | list) else [value]
    for item in values:
        _check(item, where)
    return values
