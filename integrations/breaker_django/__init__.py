"""breakerpanel for Django: settings, middleware, template tags, checks and command.

Add ``"breaker_django"`` to ``INSTALLED_APPS`` (app label ``breaker``) and
``"breaker_django.middleware.BreakerMiddleware"`` to ``MIDDLEWARE``; declare
dependencies in ``settings.BREAKERS``. ``breakers`` is the registry built from
those settings, as a stable handle::

    from breaker_django import breakers

    with breakers.client("inventory") as client:
        stock = client.get("/SKU-1").json()

See ``docs/django.md``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from breaker_django import conf
from breaker_django.proxy import RegistryProxy

if TYPE_CHECKING:
    from breaker_core import Registry

__all__ = ["breakers", "current_registry"]

breakers: Registry = cast("Registry", RegistryProxy())
"""The registry built from ``settings.BREAKERS``; follows it when settings change."""


def current_registry() -> Registry:
    """The registry in use, built from ``settings.BREAKERS`` on first use.

    The same name as ``breaker_flask.current_registry()`` and
    ``breaker_starlette.current_registry(request)``.

    Raises:
        ConfigurationError: ``settings.BREAKERS`` is invalid; the message lists
            every problem with its path.
    """
    return conf.get_registry()
