"""Resolving dotted import strings such as ``"myapp.errors.UpstreamError"``.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import importlib

__all__ = ["import_string"]


def import_string(dotted: str) -> object:
    """Import and return the attribute named by ``dotted`` (``"package.module.Name"``).

    Raises:
        ImportError: the module cannot be imported or has no such attribute;
            the message names what was tried.
    """
    module_name, _, attribute = dotted.rpartition(".")
    if not module_name or not attribute or dotted.startswith("."):
        raise ImportError(f"{dotted!r} is not an absolute dotted path like 'package.module.Name'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or anything the module raised while importing
        raise ImportError(f"cannot import module {module_name!r}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attribute!r}") from None
