"""What a :class:`~breaker_core.Registry` hands out: function guards, retry budgets and
ready HTTP clients for its dependencies.

:class:`Handouts` is a base class of ``Registry``; its methods are the registry's
(``registry.guard(...)``, ``registry.retry_budget(...)``, ``registry.client(...)``). The
HTTP clients are an optional driver named in :mod:`breaker_core.drivers`, loaded on first
use, so the engine never imports ``breaker_http``.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from breaker_core.breaker import CircuitBreaker
from breaker_core.cache import Cache
from breaker_core.clock import Clock
from breaker_core.drivers import load_driver
from breaker_core.durations import parse_duration
from breaker_core.errors import ConfigurationError
from breaker_core.guard import MISSING, make_guard

if TYPE_CHECKING:
    import httpx
    import requests

    from breaker_core.retry import RetryBudget

__all__ = ["Handouts"]

P = ParamSpec("P")
R = TypeVar("R")


class _HttpClients(Protocol):
    """What the ``http-clients`` driver provides (:mod:`breaker_http.clients`).

    It is given the registry itself (a ``Handouts`` is always a ``Registry``); naming it
    ``Handouts`` here keeps this module from importing ``registry``, which imports it.
    """

    def client(self, registry: Handouts, name: str, **kwargs: Any) -> httpx.Client: ...

    def async_client(self, registry: Handouts, name: str, **kwargs: Any) -> httpx.AsyncClient: ...

    def session(self, registry: Handouts, name: str) -> requests.Session: ...


def _http_clients() -> _HttpClients:
    """The ready HTTP clients, loaded on first use (a ConfigurationError names the extra)."""
    provider: _HttpClients = load_driver("http-clients")
    return provider


class Handouts:
    """The registry's methods that hand something out (see the module docstring)."""

    _cache: Cache
    _clock: Clock
    _budgets: dict[str, RetryBudget]

    def __getitem__(self, name: str) -> CircuitBreaker:
        raise NotImplementedError  # the Registry's

    @property
    def clock(self) -> Clock:
        raise NotImplementedError  # the Registry's

    # -- retries -----------------------------------------------------------------------

    def retry_budget(
        self,
        name: str,
        *,
        ratio: float | None = None,
        min_per_second: float | None = None,
        window: float | str | None = None,
    ) -> RetryBudget:
        """The retry budget of dependency ``name``, made on first use (see docs/retries.md).

        Every caller retrying calls to ``name`` shares it: retries may be at
        most ``ratio`` (default 0.2) of the calls of the last ``window``
        (default 10 s), plus ``min_per_second`` (default 10) retries per
        second. Options given on first use stay; later calls may repeat them.

        Raises:
            KeyError: no dependency is named ``name``.
            ConfigurationError: an option is invalid, or differs from the
                options the budget was made with.
        """
        from breaker_core.retry import budget_for

        budget = budget_for(
            self,
            name,
            self._budgets.get(name),
            ratio=ratio,
            min_per_second=min_per_second,
            window=window,
        )
        return self._budgets.setdefault(name, budget)

    # -- outbound HTTP clients ---------------------------------------------------------

    def client(self, name: str, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` for dependency ``name`` with its breaker transport installed.

        ``base_url`` and ``timeout`` come from the dependency's settings; other
        keywords go to ``httpx.Client``. Every request to any declared
        dependency made with it is guarded, through a proxy or a mount too.

        Raises:
            KeyError: no dependency is named ``name``.
            ConfigurationError: the dependency has no ``url``, an option of httpx's
                default transport (``verify``, ``limits`` ...) is given beside your
                own ``transport=``, or httpx is not installed
                (``pip install "breakerpanel[http]"``).
        """
        client: httpx.Client = _http_clients().client(self, name, **kwargs)
        return client

    def async_client(self, name: str, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` for dependency ``name``; see :meth:`client`."""
        client: httpx.AsyncClient = _http_clients().async_client(self, name, **kwargs)
        return client

    def session(self, name: str) -> requests.Session:
        """A ``requests.Session`` with the breaker adapter mounted; see :meth:`client`."""
        session: requests.Session = _http_clients().session(self, name)
        return session

    # -- guard -------------------------------------------------------------------------

    def guard(
        self,
        name: str,
        *,
        fallback: object = MISSING,
        stale_for: float | str | datetime.timedelta | None = None,
        key: Callable[..., object] | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorate a sync or async function to run under breaker ``name``.

        The decorated function keeps its signature (a ``ParamSpec``): type
        checkers see its real arguments and result.

        ``fallback`` (a value, or a callable taking the exception) answers
        calls that are rejected or fail. ``stale_for`` (seconds or ``"5m"``;
        default: the dependency's ``stale_for`` setting, 0 to turn off) keeps
        the last good result per ``key(*args, **kwargs)`` in the registry's
        cache and serves it first, while at most that old. A function that
        takes arguments needs ``key`` when ``stale_for`` is on.

        Raises:
            KeyError: no dependency is named ``name`` (raised at decoration).
            ConfigurationError: ``stale_for`` is invalid, or ``key`` is missing
                for a function that takes arguments (raised at decoration).
        """
        breaker = self[name]
        seconds: float | None = None
        if stale_for is not None:
            try:
                seconds = parse_duration(stale_for)
            except ValueError:
                raise ConfigurationError(
                    f'guard({name!r}, stale_for=...): expected a duration like "5m" '
                    f"(0 to turn it off), got {stale_for!r}"
                ) from None
        return make_guard(
            breaker, self._cache, self._clock, fallback=fallback, stale_for=seconds, key=key
        )
