"""``Breakers``: the Flask extension object (``Breakers(app)`` or ``Breakers().init_app(app)``).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask
from werkzeug.wrappers import Response

from breaker_core import CircuitBreaker, ConfigurationError, Registry
from breaker_core.extension import MISSING, Clock
from breaker_core.web.routes import rejection
from breaker_flask import signals
from breaker_flask.cli import breakers_cli
from breaker_flask.current import EXTENSION_KEY, current_registry
from breaker_flask.pages import install
from breaker_jinja import GLOBAL_NAME, BreakerExtension

if TYPE_CHECKING:
    import httpx
    import requests

__all__ = ["CONFIG_KEY", "Breakers"]

CONFIG_KEY = "BREAKERS"
"""The ``app.config`` key holding the settings mapping."""

View = TypeVar("View", bound=Callable[..., Any])


class Breakers:
    """Circuit breakers for a Flask app, built from ``app.config["BREAKERS"]``.

    ``Breakers(app)``, or ``breakers = Breakers()`` then
    ``breakers.init_app(app)`` in an app factory. ``clock`` (a monotonic clock
    returning seconds) is for tests; ``init_app(app, clock=...)`` overrides it
    per app.

    One instance may serve several apps: every method works on the app of the
    current app context (``current_app``).
    """

    def __init__(self, app: Flask | None = None, *, clock: Clock | None = None) -> None:
        self.clock = clock
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, clock: Clock | None = None) -> None:
        """Build ``app``'s registry and install everything on the app.

        The registry goes to ``app.extensions["breakers"]``; the route guards,
        stale pages and 503 answers into the request cycle; the ``{% breaker %}``
        tag and the ``breakers`` global into ``app.jinja_env``; the blinker
        signals onto the registry; ``flask breakers`` into ``app.cli``. Calling
        it again (after changing the config) builds a new registry.

        Raises:
            ConfigurationError: every problem in ``app.config["BREAKERS"]``,
                each with its path (``app.config["BREAKERS"]["dependencies"]...``).
        """
        registry = Registry.from_settings(
            app.config.get(CONFIG_KEY),
            clock=clock if clock is not None else self.clock,
            path=f'app.config["{CONFIG_KEY}"]',
        )
        app.extensions[EXTENSION_KEY] = registry
        install(app, registry)
        signals.connect(app, registry)
        env = app.jinja_env
        env.add_extension(BreakerExtension)
        env.globals[GLOBAL_NAME] = registry
        env.breakers_registry = registry  # type: ignore[attr-defined]
        app.cli.add_command(breakers_cli)

    # -- the current app's registry ----------------------------------------------------

    @property
    def registry(self) -> Registry:
        """The current app's registry.

        Raises:
            RuntimeError: no app context, or ``init_app`` was not called on the app.
        """
        return current_registry()

    def __getitem__(self, name: str) -> CircuitBreaker:
        """The current app's breaker for dependency ``name`` (KeyError names the declared)."""
        return current_registry()[name]

    def client(self, name: str, **kwargs: Any) -> httpx.Client:
        """``registry.client(name)`` of the current app: an httpx client under the breakers."""
        return current_registry().client(name, **kwargs)

    def async_client(self, name: str, **kwargs: Any) -> httpx.AsyncClient:
        """``registry.async_client(name)`` of the current app."""
        return current_registry().async_client(name, **kwargs)

    def session(self, name: str) -> requests.Session:
        """``registry.session(name)`` of the current app: a requests session under the breakers."""
        return current_registry().session(name)

    # -- views -------------------------------------------------------------------------

    def guard(self, name: str, *, fallback: object = MISSING) -> Callable[[View], View]:
        """Decorate a view that cannot work while dependency ``name`` is open.

        While the breaker is open (OPEN before its wait ends, or FORCED_OPEN)
        the view does not run; the answer is ``fallback`` (a response value,
        or a callable taking the :class:`~breaker_core.CircuitOpenError` and
        returning one) or, without one, the 503 (:class:`BreakerUnavailable`,
        which your ``errorhandler(503)`` may render). Half-open, the view runs:
        its own call may be the probe. The decorator does not count the view's
        exceptions; the view's calls to the dependency are counted where they
        are made (``breakers.client(name)``, ``registry.guard``). Works on sync
        and async views.

        The name is checked when a request reaches the view (the registry is
        per app, and views are often decorated before the app exists).

        Raises (at request time):
            ConfigurationError: ``name`` is not a dependency of the current app.
        """

        def decorate(view: View) -> View:
            if inspect.iscoroutinefunction(view):

                @functools.wraps(view)
                async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                    answer = _reject(name, fallback, view)
                    if answer is not MISSING:
                        return answer
                    return await view(*args, **kwargs)

                return guarded_async  # type: ignore[return-value]

            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                answer = _reject(name, fallback, view)
                if answer is not MISSING:
                    return answer
                return view(*args, **kwargs)

            return guarded  # type: ignore[return-value]

        return decorate


def _reject(name: str, fallback: object, view: Callable[..., Any]) -> object:
    """MISSING when the view may run; else the answer (or raise CircuitOpenError)."""
    registry = current_registry()
    breaker = registry.get(name)
    if breaker is None:
        declared = ", ".join(registry.names) or "none"
        raise ConfigurationError(
            f"@breakers.guard({name!r}) on {view.__qualname__}: no dependency named {name!r} "
            f'(declared: {declared}); declare it in app.config["BREAKERS"]["dependencies"]'
        )
    error = rejection(breaker)
    if error is None:
        return MISSING
    if fallback is MISSING:
        raise error  # answered by the extension's error handler
    if callable(fallback) and not isinstance(fallback, Response):
        return fallback(error)
    return fallback
