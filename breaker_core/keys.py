"""The one rule for values that go into a cache key: ``vary_on`` and ``guard(key=...)``.

A kept fragment or result is served to whoever asks with the same key, so the
key must tell two visitors apart for certain. Plain values (strings, numbers,
ids, dates, enums...) are encoded by their type and value, injectively: two
different values never give the same text. Arbitrary objects are refused: their
``repr()`` often names a memory address, which another user's object can reuse
once the first is gone (vary on ``user.pk``, not on ``user``).

Used by ``{% breaker ... vary_on=... %}`` in Django and Jinja and by
``registry.guard(..., key=...)``, so they accept and refuse the same values.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "PLAIN_TYPES",
    "PlainValueError",
    "encode_key",
    "encode_values",
    "function_identity",
]

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
"""Types accepted in keys, alone or inside tuples and lists of them."""

ALLOWED = (
    "plain values (str, int, float, bool, None, bytes, Decimal, UUID, date, datetime, time, "
    "timedelta, an enum member, or tuples/lists of them)"
)


class PlainValueError(TypeError):
    """A key value is not a plain value (see :data:`PLAIN_TYPES`)."""


def _scalar(value: object) -> str | None:
    # Order matters: bool before int, enum before its mixed-in base, datetime before date.
    if value is None:
        return "N"
    if isinstance(value, enum.Enum):
        kind = type(value)
        return f"e:{kind.__module__}.{kind.__qualname__}.{value.name}"
    if isinstance(value, bool):
        return "b:1" if value else "b:0"
    if isinstance(value, int):
        return "i:" + int.__repr__(value)
    if isinstance(value, float):
        return "f:" + float.__repr__(value)
    if isinstance(value, str):
        return "s:" + str.__repr__(value)
    if isinstance(value, bytes):
        return "y:" + bytes.__repr__(value)
    if isinstance(value, decimal.Decimal):
        return "d:" + decimal.Decimal.__str__(value)
    if isinstance(value, uuid.UUID):
        return "u:" + value.hex
    if isinstance(value, datetime.datetime):
        return "dt:" + datetime.datetime.isoformat(value)
    if isinstance(value, datetime.date):
        return "da:" + datetime.date.isoformat(value)
    if isinstance(value, datetime.time):
        return "t:" + datetime.time.isoformat(value)
    if isinstance(value, datetime.timedelta):
        return f"td:{value.days},{value.seconds},{value.microseconds}"
    return None


def encode_key(value: object, where: str = "key") -> str:
    """The unambiguous text of one key value (a tuple or list is encoded item by item).

    Raises:
        PlainValueError: the value (or an item of it) is not a plain value;
            the message names ``where`` and the type found.
    """
    text = _scalar(value)
    if text is not None:
        return text
    if isinstance(value, tuple | list):
        # Each item prefixed by its length: no item can run into the next.
        items = [encode_key(item, where) for item in value]
        return "(" + "".join(f"{len(item)}:{item}" for item in items) + ")"
    raise PlainValueError(
        f"{where}: expected {ALLOWED}, got a {type(value).__qualname__}; "
        "pass what identifies it, like user.id"
    )


def encode_values(values: Sequence[object], where: str = "key") -> str:
    """The unambiguous text of a sequence of key values (see :func:`encode_key`)."""
    return encode_key(list(values), where)


_claimed: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_claim_lock = threading.Lock()


def function_identity(fn: Callable[..., Any]) -> str:
    """A name for ``fn`` that no other live function object shares.

    A plain module-level function (no closure, not a lambda, not defined inside
    another function) is named ``module.qualname``: the same in every process,
    so processes sharing a cache share its kept results. The first function
    object to claim that name in a process keeps it. Anything else (closures
    made by one factory, lambdas, a second function object with a name already
    taken) gets a name of its own, unique to this object and this process:
    its kept results are never served to another function, in exchange for not
    being shared with other processes.
    """
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    name = f"{module}.{qualname}"
    plain = (
        getattr(fn, "__closure__", None) is None
        and "<locals>" not in qualname
        and "<lambda>" not in qualname
        and hasattr(fn, "__code__")
    )
    with _claim_lock:
        try:
            known = _names.get(fn)
        except TypeError:  # not weakly referenceable: a name for this call only
            return f"{name}#{uuid.uuid4().hex}"
        if known is not None:
            return known  # the same object decorated again: the same results
        if plain and _claimed.get(name) is None:
            _claimed[name] = fn
        else:
            name = f"{name}#{uuid.uuid4().hex}"
        _names[fn] = name
        return name
