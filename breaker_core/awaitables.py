"""Telling callables that return a coroutine from those that do not.

The decorator and ``registry.guard`` choose their sync or async form with
:func:`is_async_callable`.

Layer: engine. Imports the standard library only.
"""

from __future__ import annotations

import functools
import inspect

__all__ = ["is_async_callable"]


def is_async_callable(fn: object) -> bool:
    """True if calling ``fn`` returns a coroutine to await.

    An ``async def`` function or method, a :func:`functools.partial` of one,
    or an object whose class defines ``async def __call__``.
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn) or isinstance(fn, type):
        return False
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - the method itself is wanted
    return inspect.iscoroutinefunction(call)
