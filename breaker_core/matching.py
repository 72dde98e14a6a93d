"""Which exceptions ``record`` and ``ignore`` match: classes and predicates.

Both settings take exception classes and callables (``lambda exc:
exc.response.status_code >= 500``), or dotted paths to either. A class
matches its instances; a callable matches when it returns a true value for
the exception. Classes are tested first, all at once (one ``isinstance``); a
predicate runs only when no class matched.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["ExceptionMatcher", "ExceptionSpec", "Matcher", "compile_matcher", "only_classes"]

logger = logging.getLogger("breaker_core")

ExceptionPredicate = Callable[[Exception], object]
ExceptionSpec = type[Exception] | ExceptionPredicate
"""One item of ``record`` or ``ignore``: an exception class or a predicate on an exception."""

Matcher = Callable[[Exception], bool]


class ExceptionMatcher:
    """Tells whether an exception matches a ``record``/``ignore`` list (call it)."""

    __slots__ = ("classes", "predicates", "setting")

    def __init__(self, spec: tuple[ExceptionSpec, ...], setting: str) -> None:
        self.classes: tuple[type[Exception], ...] = tuple(
            item for item in spec if isinstance(item, type)
        )
        self.predicates: tuple[ExceptionPredicate, ...] = tuple(
            item for item in spec if not isinstance(item, type)
        )
        self.setting = setting

    def __call__(self, exc: Exception) -> bool:
        if isinstance(exc, self.classes):
            return True
        for predicate in self.predicates:
            try:
                if predicate(exc):
                    return True
            except Exception:
                logger.exception(
                    "a %s predicate (%r) raised on %r; taken as not matching",
                    self.setting,
                    predicate,
                    exc,
                )
        return False


def compile_matcher(spec: tuple[ExceptionSpec, ...], setting: str) -> Matcher | None:
    """Return a fast test for ``spec``, or None when it is empty (nothing matches)."""
    if not spec:
        return None
    if all(isinstance(item, type) for item in spec):
        classes = tuple(item for item in spec if isinstance(item, type))

        def matches(exc: Exception) -> bool:
            return isinstance(exc, classes)

        return matches
    return ExceptionMatcher(spec, setting)


def only_classes(spec: tuple[ExceptionSpec, ...]) -> tuple[type[Exception], ...] | None:
    """The classes of ``spec`` when it holds nothing else (``()`` when empty), else None.

    The closed fast path then classifies with ``isinstance`` alone: no matcher is called.
    """
    classes = tuple(item for item in spec if isinstance(item, type))
    if len(classes) < len(spec) or not all(issubclass(item, Exception) for item in classes):
        return None
    return classes
