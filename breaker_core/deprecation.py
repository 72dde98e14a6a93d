"""Warnings for names and modules that moved: one wording for every deprecated alias.

An old name keeps working for one release and says, once per use, where its
replacement is. Standard library only; imports nothing of the project.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import warnings

__all__ = ["warn_deprecated"]


def warn_deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Emit a :class:`DeprecationWarning` saying that ``old`` is replaced by ``new``.

    ``stacklevel`` 3 points at the caller of the function that calls this one
    (the user's code that used the old name).
    """
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new} instead",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
