"""The current app's registry: ``breaker_flask.breakers`` and :func:`current_registry`.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from typing import cast

from flask import current_app
from werkzeug.local import LocalProxy

from breaker_core import Registry

__all__ = ["EXTENSION_KEY", "breakers", "current_registry"]

EXTENSION_KEY = "breakers"
"""``app.extensions`` key of the app's :class:`~breaker_core.Registry`."""


def current_registry() -> Registry:
    """The registry of the app handling the current request (or CLI command).

    Raises:
        RuntimeError: there is no app context, or ``Breakers`` was not set up
            on the current app.
    """
    registry = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(registry, Registry):
        raise RuntimeError(
            f"breakerpanel is not set up on the app {current_app.name!r}: "
            "call Breakers(app) or Breakers().init_app(app) in your app factory"
        )
    return registry


breakers = cast(Registry, LocalProxy(current_registry))
"""The current app's registry, for code that runs in an app context.

``breakers["inventory"]``, ``breakers.inventory.is_open``,
``breakers.client("inventory")``, ``breakers.guard(...)`` (the registry's
function decorator; it needs the app context when it decorates). Outside an
app context it raises ``RuntimeError``.
"""
