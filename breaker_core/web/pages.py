"""Page guards: the request/response flow every integration's middleware follows.

Frameworks translate their request and response into plain values and call:

1. :meth:`PageGuard.before` with the request: an :class:`Answer` when a
   dependency the page needs (its ``routes``) is open, else None;
2. the view, when ``before`` returned None;
3. :meth:`PageGuard.answer_for` when a :class:`~breaker_core.CircuitOpenError`
   escaped the view: the same kind of answer, never a 500;
4. :meth:`PageGuard.after` with a good response, which keeps it as the page's
   last good copy when it is shareable and a guarding dependency has
   ``stale_for`` (:meth:`PageGuard.keeps` says whether to collect the body).

An answer is the last good shareable copy of the page when the open
dependency's ``stale_for`` allows, else a 503 with ``Retry-After``, as HTML or
JSON by the ``Accept`` header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from breaker_core.errors import CircuitOpenError
from breaker_core.registry import Registry
from breaker_core.web import stale
from breaker_core.web.routes import RouteTable
from breaker_core.web.unavailable import unavailable

__all__ = ["Answer", "Headers", "PageGuard"]

Headers = Iterable[tuple[str, str]] | Callable[[], Iterable[tuple[str, str]]]
"""Request headers, or a function returning them (read only when a kept page is looked up)."""


class Answer:
    """A response to send instead of running (or after) the view."""

    __slots__ = ("body", "headers", "stale", "status")

    def __init__(
        self, status: int, headers: list[tuple[str, str]], body: bytes, *, stale: bool
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.stale = stale
        """True when this is a kept copy of the page, False for a 503."""


class PageGuard:
    """Route guards and stale pages for one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.routes = RouteTable(registry)

    def before(
        self,
        method: str,
        path: str,
        query: str,
        accept: str | None,
        *,
        headers: Headers = (),
    ) -> Answer | None:
        """The answer for a request whose page needs an open dependency, else None.

        ``headers`` are the request's headers (or a function returning them, so
        they are only read when needed): a kept page is only served to a request
        that sends the same ``Accept``, ``Accept-Encoding`` and
        ``Accept-Language`` as the one it was kept from.
        """
        if not self.routes:
            return None
        error = self.routes.rejection_for(path)
        if error is None:
            return None
        return self.answer_for(error, method, path, query, accept, headers=headers)

    def answer_for(
        self,
        error: CircuitOpenError,
        method: str,
        path: str,
        query: str,
        accept: str | None,
        *,
        headers: Headers = (),
    ) -> Answer:
        """The kept copy of the page if fresh enough, else the 503 for ``error``."""
        if method in ("GET", "HEAD") and error.name in self.registry:
            stale_for = self.registry[error.name].config.stale_for
            if stale_for > 0:
                request_headers = headers() if callable(headers) else headers
                key = stale.page_key(error.name, path, query, request_headers)
                loaded = stale.load(self.registry.cache, key, stale_for, self.registry.clock)
                if loaded is not None:
                    page, age = loaded
                    kept = [*page.headers, ("Age", str(age)), ("X-Breakerpanel", "stale")]
                    if method == "HEAD":  # the headers a GET would get, without the body
                        kept.append(("Content-Length", str(len(page.body))))
                        return Answer(page.status, kept, b"", stale=True)
                    return Answer(page.status, kept, page.body, stale=True)
        answer = unavailable(error, accept)
        return Answer(answer.status, answer.headers, answer.body, stale=False)

    def keeps(self, method: str, path: str, names: list[str] | None = None) -> list[str]:
        """The dependencies that would keep this page (empty: don't collect the body).

        ``names``: the path's dependencies when the caller has them already.
        """
        if method != "GET" or not self.routes:
            return []
        return [
            name
            for name in (self.routes.dependencies_for(path) if names is None else names)
            if self.registry[name].config.stale_for > 0
        ]

    def after(
        self,
        method: str,
        path: str,
        query: str,
        request_headers: Iterable[tuple[str, str]],
        status: int,
        response_headers: Iterable[tuple[str, str]],
        body: bytes | None,
        *,
        kept_by: list[str] | None = None,
    ) -> bool:
        """Keep the response as the page's last good copy if allowed; True if kept.

        ``body`` is None for a streamed response (never kept). ``kept_by``: what
        :meth:`keeps` returned for this request, when the caller asked it already.
        """
        names = self.keeps(method, path) if kept_by is None else kept_by
        if not names or body is None:
            return False
        request_headers = list(request_headers)
        response_headers = list(response_headers)
        if not stale.is_shareable(method, request_headers, status, response_headers, len(body)):
            return False
        for name in names:
            stale_for = self.registry[name].config.stale_for
            key = stale.page_key(name, path, query, request_headers)
            stale.store(self.registry.cache, key, status, response_headers, body, stale_for)
        return True
