"""breakerpanel for outbound HTTP: httpx transports and a requests adapter.

``BreakerTransport`` / ``AsyncBreakerTransport`` wrap httpx transports and
``BreakerAdapter`` is a requests ``HTTPAdapter``; each maps a request to its
dependency by URL and guards it with that dependency's breaker. Needs the
``http`` extra: ``pip install "breakerpanel[http]"``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from breaker_http.clients import async_client, client, session
from breaker_http.httpx_transport import AsyncBreakerTransport, BreakerTransport
from breaker_http.policy import is_failure_status
from breaker_http.requests_adapter import BreakerAdapter
from breaker_http.routing import Router

__all__ = [
    "AsyncBreakerTransport",
    "BreakerAdapter",
    "BreakerTransport",
    "Router",
    "async_client",
    "client",
    "is_failure_status",
    "session",
]
