"""httpx transports that guard requests to declared dependencies.

``BreakerTransport`` wraps any ``httpx.BaseTransport`` and
``AsyncBreakerTransport`` any ``httpx.AsyncBaseTransport``. A request whose
URL matches a dependency runs under that dependency's breaker: while it is
open the request is rejected with ``CircuitOpenError`` before any connection
is opened; connection errors, timeouts and failing statuses are failures;
4xx answers are successes.

The outcome is settled when the response body has been read (or closed), so a
body that fails half-way is a failure, and a bulkhead or probe slot is held as
long as the response holds its connection.

The default wrapped transport verifies TLS with one SSL context per process
(:func:`shared_ssl_context`), not a new one per transport: building one loads
the whole CA bundle, tens of milliseconds, and ``registry.client(name)`` is
made to be opened per request (``with breakers.client("inventory") as client``).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from breaker_core import BreakerConfig, Registry
from breaker_core.extension import Attempt
from breaker_http.policy import is_failure_status, requested_wait
from breaker_http.routing import Guard, Router

__all__ = ["AsyncBreakerTransport", "BreakerTransport"]

_DEFAULT_TIMEOUT = httpx.Timeout(5.0).as_dict()  # what httpx clients send when unset
# A dependency's timeout, as httpx's dict, and whether that is httpx's default one.
_timeouts: dict[float, tuple[dict[str, float | None], bool]] = {}

_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def shared_ssl_context(trust_env: bool = True) -> ssl.SSLContext:
    """The SSL context an httpx transport builds by default (``verify=True``), made once.

    httpx builds it anew for every transport, which loads the CA bundle (certifi's,
    or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set and ``trust_env``): 20 to 40 ms
    of CPU on a quiet machine, more than the request itself. One context per value
    of those two variables is shared by the default transports of
    :class:`BreakerTransport`, :class:`AsyncBreakerTransport` and the ready clients
    when no TLS option is given; only HTTP/1.1 transports use it, so httpcore sets
    the same ALPN on it, and no client certificate is ever loaded into it.
    """
    if trust_env:
        key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    else:
        key = (None, None)  # the same context as with neither variable set
    context = _contexts.get(key)
    if context is None:
        with _contexts_lock:
            context = _contexts.get(key)
            if context is None:
                context = _contexts[key] = httpx.create_ssl_context(trust_env=trust_env)
    return context


_enter = Attempt.try_enter_detached
_new = object.__new__


def _guard(router: Router, request: httpx.Request) -> Guard | None:
    """The breaker guarding ``request`` and its settings, its timeout applied; None: unguarded.

    The origin is read from httpx's parsed URL (``URL._uri_reference``, a named tuple:
    three field reads instead of three property calls) and looked up in the router's
    per-origin table; its host is the raw one, which differs from ``url.host`` only for
    an IDNA host (``xn--``), whose key is then never in the table (those go the slow way).
    """
    url = request.url
    try:
        parsed = url._uri_reference
        key = (parsed.scheme, parsed.host, parsed.port)
    except AttributeError:  # another httpx: its public properties
        key = (url.scheme, url.host, url.port)
    guard: Guard | None
    if router.registry.generation == router.generation:
        try:
            guard = router.whole[key]
        except KeyError:
            guard = router.guard_at(url.scheme, url.host, url.port, url)
    else:
        guard = router.guard_at(url.scheme, url.host, url.port, url)
    if guard is None:
        return None
    timeout = guard[1].timeout
    if timeout is not None:
        extensions = request.extensions
        current = extensions.get("timeout")
        made = _timeouts.get(timeout)
        if made is None:
            as_dict = httpx.Timeout(timeout).as_dict()
            made = _timeouts[timeout] = (as_dict, as_dict == _DEFAULT_TIMEOUT)
        # The dependency's timeout replaces httpx's default (or none), a copy per request
        # that changes it: none when the client's default is that timeout already.
        if current is None or (not made[1] and current == _DEFAULT_TIMEOUT):
            extensions["timeout"] = dict(made[0])
    return guard


class _Settling:
    """Holds the attempt of a response until its body settles it, once.

    A success is settled where it happens (read through, closed; sync and async),
    written out rather than a call of :meth:`_settle`: that call, made at the end of
    the body and again by the close after it, cost about 850 instructions more per
    request (callgrind, Python 3.11: sync 8,162 -> 9,027, async 13,070 -> 13,890 for
    a body read through and closed).
    """

    # Made by _judge without __init__ (one Python frame less per response).
    _stream: Any
    _attempt: Attempt | None

    def _settle(self, exc: BaseException | None = None) -> None:
        attempt = self._attempt
        if attempt is not None:
            self._attempt = None
            attempt.__exit__(None if exc is None else type(exc), exc, None)


class _SettledStream(_Settling, httpx.SyncByteStream):
    """Settles the attempt when the body is read through, fails or is closed."""

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except GeneratorExit:
            raise  # the reader stopped early; close() settles
        except BaseException as exc:
            self._settle(exc)
            raise
        attempt = self._attempt  # read through: a success (as _settle(), one call less)
        if attempt is not None:
            self._attempt = None
            attempt.__exit__(None, None, None)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            attempt = self._attempt  # as _settle()
            if attempt is not None:
                self._attempt = None
                attempt.__exit__(None, None, None)


class _AsyncSettledStream(_Settling, httpx.AsyncByteStream):
    """The async twin of :class:`_SettledStream`.

    An iterator object, not an async generator: the event loop registers every
    async generator it runs (a hook call and a weak set's add and discard per
    response), a measurable share of what the transport adds to a request.
    """

    _chunks: AsyncIterator[bytes]

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._chunks = self._stream.__aiter__()
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            attempt = self._attempt  # read through: a success (as _settle())
            if attempt is not None:
                self._attempt = None
                attempt.__exit__(None, None, None)
            raise
        except BaseException as exc:
            self._settle(exc)
            raise

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            attempt = self._attempt  # as _settle()
            if attempt is not None:
                self._attempt = None
                attempt.__exit__(None, None, None)


def _judge(
    response: httpx.Response, attempt: Attempt, config: BreakerConfig, wrapper: type[_Settling]
) -> None:
    """Mark a failing status, then settle now (body in memory) or when the body is done."""
    status = response.status_code
    if is_failure_status(config, status):
        wait = requested_wait(config, status, response.headers.get("retry-after"))
        attempt.fail(retry_after=wait)
    stream = response.stream
    if isinstance(stream, httpx.ByteStream):
        attempt.__exit__(None, None, None)  # the body is already in memory: settle now
    else:
        settling = _new(wrapper)  # no __init__ frame: its two fields set here
        settling._stream = stream
        settling._attempt = attempt
        response.stream = settling  # type: ignore[assignment]


class BreakerTransport(httpx.BaseTransport):
    """Wraps a sync httpx transport (default: ``httpx.HTTPTransport``) with breakers.

    ``BreakerTransport(registry)`` or ``BreakerTransport(registry, transport)``.
    Requests are mapped to dependencies by their ``url`` setting; a request
    matching none passes through untouched.
    """

    def __init__(self, registry: Registry, transport: httpx.BaseTransport | None = None) -> None:
        self.registry = registry
        if transport is None:
            transport = httpx.HTTPTransport(verify=shared_ssl_context())
        self.transport = transport
        self._router = Router(registry)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the wrapped transport under its dependency's breaker.

        Raises:
            CircuitOpenError: the dependency's breaker is open (no connection opened).
        """
        guard = _guard(self._router, request)
        if guard is None:
            return self.transport.handle_request(request)
        breaker, config = guard
        attempt = _enter(breaker)
        if attempt is None:  # not admitted at once: the attempt's own entry decides
            attempt = breaker.attempt(detached=True)
            attempt.__enter__()
        try:
            response = self.transport.handle_request(request)
        except BaseException as exc:
            attempt.__exit__(type(exc), exc, exc.__traceback__)
            raise
        _judge(response, attempt, config, _SettledStream)
        return response

    def close(self) -> None:
        """Close the wrapped transport."""
        self.transport.close()


class AsyncBreakerTransport(httpx.AsyncBaseTransport):
    """Wraps an async httpx transport (default: ``httpx.AsyncHTTPTransport``) with breakers."""

    def __init__(
        self, registry: Registry, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.registry = registry
        if transport is None:
            transport = httpx.AsyncHTTPTransport(verify=shared_ssl_context())
        self.transport = transport
        self._router = Router(registry)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` under its dependency's breaker; see :class:`BreakerTransport`."""
        guard = _guard(self._router, request)
        if guard is None:
            return await self.transport.handle_async_request(request)
        breaker, config = guard
        attempt = _enter(breaker)
        if attempt is None:  # may wait or ask shared storage: never blocking the loop
            attempt = breaker.attempt(detached=True)
            await attempt.__aenter__()
        try:
            response = await self.transport.handle_async_request(request)
        except BaseException as exc:
            attempt.__exit__(type(exc), exc, exc.__traceback__)
            raise
        _judge(response, attempt, config, _AsyncSettledStream)
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.transport.aclose()
