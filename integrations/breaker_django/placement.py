"""Where ``BreakerMiddleware`` sits in ``settings.MIDDLEWARE``, and what that allows.

Django runs middleware top-down on the request and bottom-up on the response.
To keep a page as its last good copy, ``BreakerMiddleware`` must see the
response after every middleware that can make it personal has had its say
(``Set-Cookie``, ``Vary: Cookie``), so those must come **below** it; and
compression must happen after the page is kept, so ``GZipMiddleware`` must come
**above** it. The system checks warn about both (``breaker.W002``,
``breaker.W004``) and the middleware does not keep pages while either is wrong.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import dataclasses

from django.conf import settings  # type: ignore[import-untyped]
from django.utils.module_loading import import_string  # type: ignore[import-untyped]

__all__ = ["COMPRESSING", "MIDDLEWARE_PATH", "PERSONALISING", "Placement", "placement"]

MIDDLEWARE_PATH = "breaker_django.middleware.BreakerMiddleware"

PERSONALISING = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
)
"""Middleware that may make a response personal; they belong below BreakerMiddleware."""

COMPRESSING = ("django.middleware.gzip.GZipMiddleware",)
"""Middleware that encodes the body; they belong above BreakerMiddleware."""


@dataclasses.dataclass(frozen=True, slots=True)
class Placement:
    """What ``settings.MIDDLEWARE`` says about BreakerMiddleware."""

    count: int
    personalising_above: tuple[str, ...]
    compressing_below: tuple[str, ...]

    @property
    def keeps_pages(self) -> bool:
        """True when pages may be kept as last good copies from this position."""
        return not (self.personalising_above or self.compressing_below)


def _lineage(path: str) -> set[str]:
    """The dotted names of the class at ``path`` and its bases (just ``path`` if unimportable)."""
    names = {path}
    if path.startswith("django."):
        return names  # Django's own classes are named exactly
    try:
        cls = import_string(path)
    except Exception:  # the check for a broken path is Django's, not ours
        return names
    if isinstance(cls, type):
        names.update(f"{base.__module__}.{base.__qualname__}" for base in cls.__mro__)
    return names


def placement() -> Placement:
    """Inspect ``settings.MIDDLEWARE`` (subclasses of the named classes count as them)."""
    paths = [str(path) for path in getattr(settings, "MIDDLEWARE", None) or ()]
    lineages = [_lineage(path) for path in paths]
    positions = [i for i, names in enumerate(lineages) if MIDDLEWARE_PATH in names]
    if not positions:
        return Placement(0, (), ())
    first, last = positions[0], positions[-1]
    return Placement(
        count=len(positions),
        personalising_above=tuple(
            path
            for path, names in zip(paths[:first], lineages[:first], strict=True)
            if names.intersection(PERSONALISING)
        ),
        compressing_below=tuple(
            path
            for path, names in zip(paths[last + 1 :], lineages[last + 1 :], strict=True)
            if names.intersection(COMPRESSING)
        ),
    )
