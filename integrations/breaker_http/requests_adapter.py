"""A requests ``HTTPAdapter`` that guards requests to declared dependencies.

Mount it on a ``requests.Session`` (``registry.session(name)`` does). A request
whose URL matches a dependency runs under its breaker: rejected before any
connection while open; connection errors, timeouts and failing statuses are
failures; 4xx answers are successes. The dependency's ``timeout`` applies when
the caller passed none.

Unless ``stream=True``, the body is read inside the guard, so a body that fails
half-way counts as a failure (requests would read it right after anyway). With
``stream=True`` the outcome is settled when the headers arrive.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from breaker_core import Registry
from breaker_core.extension import Attempt
from breaker_http.policy import is_failure_status, requested_wait
from breaker_http.routing import Router

__all__ = ["BreakerAdapter"]

_enter = Attempt.try_enter_detached


class BreakerAdapter(HTTPAdapter):
    """``BreakerAdapter(registry, **HTTPAdapter_options)``: breakers for a requests Session."""

    def __init__(self, registry: Registry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registry = registry
        self._router = Router(registry)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,  # requests' own (private) timeout/verify/cert types
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send ``request`` under its dependency's breaker.

        Raises:
            CircuitOpenError: the dependency's breaker is open (no connection opened).
        """
        guard = self._router.guard_for_url(request.url or "")
        if guard is None:
            return super().send(request, stream, timeout, verify, cert, proxies)
        breaker, config = guard
        if timeout is None and config.timeout is not None:
            timeout = config.timeout
        # Detached: nothing inside calls this breaker, so the attempt need not hold it
        # (no context variable set and reset, no lock taken: a few µs per request);
        # entered in one call when admitted at once, else by the attempt's own entry.
        attempt = _enter(breaker)
        if attempt is None:
            attempt = breaker.attempt(detached=True)
            attempt.__enter__()
        try:
            response = super().send(request, stream, timeout, verify, cert, proxies)
            if is_failure_status(config, response.status_code):
                status, header = response.status_code, response.headers.get("retry-after")
                attempt.fail(retry_after=requested_wait(config, status, header))
            if not stream:
                response.content  # noqa: B018 - read the body inside the guard
        except BaseException as exc:
            attempt.__exit__(type(exc), exc, exc.__traceback__)
            raise
        attempt.__exit__(None, None, None)
        return response
