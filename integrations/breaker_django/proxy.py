"""``breakers``: a stable handle on the registry built from ``settings.BREAKERS``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from breaker_core import CircuitBreaker
from breaker_django import conf

__all__ = ["RegistryProxy"]


class RegistryProxy:
    """Forwards everything to the current registry (:func:`breaker_django.conf.get_registry`).

    Code can import it once, at module level: when the registry is rebuilt
    (``override_settings(BREAKERS=...)`` in tests) the handle follows. Every
    access raises :class:`~breaker_core.ConfigurationError` while the settings
    are invalid.
    """

    __slots__ = ()

    do_not_call_in_templates = True  # Django templates must not call it

    def __getattr__(self, name: str) -> Any:
        return getattr(conf.get_registry(), name)

    def __getitem__(self, name: str) -> CircuitBreaker:
        return conf.get_registry()[name]

    def __contains__(self, name: object) -> bool:
        return name in conf.get_registry()

    def __iter__(self) -> Iterator[str]:
        return iter(conf.get_registry())

    def __len__(self) -> int:
        return len(conf.get_registry())

    def __repr__(self) -> str:
        registry = conf.built_registry()
        return f"<breakers: {registry!r}>" if registry is not None else "<breakers: not built>"
