"""``breaker_django.context_processors.breakers``: the registry in every template.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from django.http import HttpRequest  # type: ignore[import-untyped]

from breaker_core import Registry
from breaker_django import conf

__all__ = ["breakers"]


def breakers(request: HttpRequest) -> dict[str, Registry]:
    """Give templates ``breakers``: ``{% if breakers.recommendations.is_open %}``.

    Django's template engine never calls the registry or its breakers
    (``do_not_call_in_templates``). A dependency named like a registry method
    (``client``) is found too: templates look keys up before attributes.

    Raises:
        ConfigurationError: ``settings.BREAKERS`` is invalid.
    """
    return {"breakers": conf.get_registry()}
