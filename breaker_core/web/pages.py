"""Page guards: the one request/response flow every integration's middleware follows.

A framework translates its request and response into plain values; the
sequence is the same in Django, Flask and Starlette::

    plan = guard.routes.plan(path)      # None: no dependency guards the path (the common case)
    visit = None if plan is None else guard.visit(plan, method, request, page_request, raw_key)
    if visit is not None:               # None: nothing to do
        answer = visit.answer()         # a dependency is open: the kept copy or a 503
        if answer is not None:
            return translate(answer)
    try:
        response = run_the_view()
    except CircuitOpenError as error:   # escaped the view: same answer, never a 500
        return translate(guard.answer_for(error, visit or (lambda: page_request(request))))
    if visit is not None and visit.collect:   # a fresh copy is wanted: read the body
        visit.keep(status, headers, body)
    return response

``page_request(request)`` builds the
:class:`~breaker_core.web.shareable.PageRequest` of the framework's
``request``; it is called only when a kept copy is looked up or stored, so a
request whose path no dependency guards costs one look-up of its path, and
one on a guarded path whose dependencies are closed and keep no pages, the
plan's state reads: no function is made per request.

A good response is kept at most once per :data:`REFRESH` seconds per page
variant and process: while a fresh copy is kept, later requests neither read
their body again nor write to the cache.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from breaker_core.errors import CircuitOpenError
from breaker_core.pagesettings import PageSettings
from breaker_core.registry import Registry
from breaker_core.web import shareable, stale
from breaker_core.web.routes import RoutePlan, RouteTable, rejection
from breaker_core.web.shareable import PageRequest
from breaker_core.web.unavailable import unavailable

__all__ = ["REFRESH", "Answer", "PageGuard", "PageVisit", "RawKey", "RequestMaker"]

_S = TypeVar("_S")

REFRESH = 1.0
"""Seconds a kept copy is left as it is before a later good response replaces it."""

_MEMO_LIMIT = 10_000

RequestMaker = Callable[[], PageRequest]
"""Builds the request's :class:`~breaker_core.web.shareable.PageRequest` when needed.

:meth:`PageGuard.visit` takes the framework's request and a function of it
(``page_request(request)``) instead, so that no function is made per request.
"""

RawKey = Callable[[_S], Hashable]
"""The raw values of the framework's request deciding its scheme, authority, path and query.

Two requests with equal raw keys must make equal ``PageRequest`` fields of
those four (the framework's host checks included) and, when the framework's
page guard has key cookies (``key_cookies``: Django's language cookie), carry
the same ``Cookie`` header, since key cookies are part of a copy's variant. A
guard without key cookies needs no cookie in it: the shortcut is only taken
for a copy that names no ``Vary`` header, which is then one copy for every
request of the page. It is only used to skip re-storing a page kept a moment
ago, never to find a copy to serve.
"""


def _memo_key(name: str, request: PageRequest) -> tuple[str, ...]:
    return (name, request.scheme, request.authority or "", request.path, request.query)


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


class PageVisit:
    """One request with something to do: answer it (a dependency is open), or keep its response."""

    __slots__ = ("_make", "_recent", "_request", "_source", "error", "guard", "keepers")

    def __init__(
        self,
        guard: PageGuard,
        error: CircuitOpenError | None,
        keepers: list[str],
        source: Any,
        make_request: Callable[[Any], PageRequest],
        request: PageRequest | None = None,
        recent: tuple[RoutePlan, Hashable] | None = None,
    ) -> None:
        self.guard = guard
        self.error = error
        """The error of an open dependency the page needs, else None."""
        self.keepers = keepers
        """The dependencies that want a fresh copy of this page (empty when ``error``)."""
        self._source = source  # the framework's request, given to make_request
        self._make = make_request
        self._request = request
        self._recent = recent  # (the path's plan, the raw key) when the framework gave one

    @property
    def request(self) -> PageRequest:
        """The request, built on first use."""
        if self._request is None:
            self._request = self._make(self._source)
        return self._request

    @property
    def collect(self) -> bool:
        """True when the response should be kept if it may be: read its body."""
        return bool(self.keepers)

    def answer(self) -> Answer | None:
        """The kept copy or the 503 when a dependency the page needs is open, else None."""
        if self.error is None:
            return None
        return self.guard.answer_for(self.error, self.request)

    def keep(self, status: int, headers: list[tuple[str, str]], body: bytes | None) -> bool:
        """Keep the response as the page's last good copy if the rule allows; True if kept.

        ``body`` is None for a streamed response (never kept).
        """
        if not self.keepers:
            return False
        return self.guard.keep(self.keepers, self.request, status, headers, body, self._recent)


class PageGuard:
    """Route guards and kept pages for one registry.

    ``shared_cookies`` and ``key_cookies`` are the framework's own additions
    to ``BREAKERS["pages"]`` (Django's CSRF and language cookies).
    """

    def __init__(
        self,
        registry: Registry,
        *,
        shared_cookies: tuple[str, ...] = (),
        key_cookies: tuple[str, ...] = (),
    ) -> None:
        self.registry = registry
        self.routes = RouteTable(registry)
        self.clock = registry.clock
        base: PageSettings = getattr(registry, "pages", None) or PageSettings()
        self.settings = base.extended(shared_cookies=shared_cookies, key_cookies=key_cookies)
        # Process-local memo of what was kept lately: (dependency, scheme, authority,
        # method, path, query) -> (the Vary names of the last kept response,
        # {variant text: clock reading of its last store}).
        self._memo: dict[tuple[str, ...], tuple[tuple[str, ...], dict[str, float]]] = {}
        self.recent: dict[Hashable, tuple[RoutePlan, float, float]] = {}
        """Raw key -> (plan, clock reading, end of its refresh) of a page kept a moment ago.

        Kept for every request of that key (its response names no ``Vary``
        header) by all of its plan's keepers at once. Read-only for everyone but
        the guard: a middleware may look a request's raw key up here itself
        (the entry's plan must be the path's, the clock reading within the
        refresh, and no breaker of the plan open) instead of calling
        :meth:`visit`, which would find nothing to do. Bounded like the memo.
        """

    def guards(self, path: str) -> bool:
        """True when some dependency's routes match ``path`` (remembered per path)."""
        return self.routes.plan(path) is not None

    def visit(
        self,
        plan: RoutePlan,
        method: str,
        request: _S,
        make_request: Callable[[_S], PageRequest],
        raw_key: RawKey[_S] | None = None,
    ) -> PageVisit | None:
        """What to do for this request, or None when there is nothing to do (the common case).

        ``plan`` is the request path's (``guard.routes.plan(path)``, not None); ``request`` is
        the framework's request, handed to ``make_request`` (which builds its
        :class:`~breaker_core.web.shareable.PageRequest`) and ``raw_key`` only
        when they are needed.

        Nothing to do: every dependency the path needs is closed (or
        half-open) and none wants a fresh copy of the page (not a GET, no
        ``stale_for``, or a copy was kept less than :data:`REFRESH` seconds
        ago). The request is built only when a page keeper has to look at it.
        With ``raw_key``, a page kept a moment ago for every request of that
        key is recognised without building it.
        """
        for breaker in plan.breakers:  # plan.rejection(), without a call of its own
            # may_be_open: a slot read; only a breaker that may be open is asked.
            if breaker.may_be_open and breaker.is_open:
                return PageVisit(self, rejection(breaker), [], request, make_request)
        if method != "GET" or not plan.keepers:
            return None
        recent = None
        if raw_key is not None:
            raw = raw_key(request)
            seen = self.recent.get(raw)
            if seen is not None and seen[0] is plan and seen[1] <= self.clock() < seen[2]:
                return None  # kept a moment ago for every request of this key
            recent = (plan, raw)
        page = make_request(request)
        keepers = self.wanted(plan.keepers, page)
        if not keepers:
            return None
        return PageVisit(self, None, keepers, request, make_request, page, recent)

    def answer_for(
        self, error: CircuitOpenError, request: PageRequest | PageVisit | RequestMaker
    ) -> Answer:
        """The kept copy of the page if fresh enough, else the 503 for ``error``."""
        if isinstance(request, PageVisit):
            request = request.request
        elif not isinstance(request, PageRequest):
            request = request()
        if request.method in ("GET", "HEAD") and request.authority is not None:
            breaker = self.registry.get(error.name)
            stale_for = breaker.config.stale_for if breaker is not None else 0.0
            if stale_for > 0:
                found = self._load(error.name, request, stale_for)
                if found is not None:
                    return found
        answer = unavailable(error, request.headers.get("accept"))
        return Answer(answer.status, answer.headers, answer.body, stale=False)

    def _load(self, name: str, request: PageRequest, stale_for: float) -> Answer | None:
        primary = shareable.primary_key(name, request)
        loaded = stale.load(
            self.registry.cache,
            primary,
            lambda names: shareable.variant(request, names, self.settings),
            stale_for,
        )
        if loaded is None:
            return None
        page, age = loaded
        headers = [*page.headers, ("Age", str(age)), ("X-Breakerpanel", "stale")]
        if request.method == "HEAD":  # the headers a GET would get, without the body
            headers.append(("Content-Length", str(len(page.body))))
            return Answer(page.status, headers, b"", stale=True)
        return Answer(page.status, headers, page.body, stale=True)

    def wanted(self, keepers: list[str], request: PageRequest) -> list[str]:
        """The dependencies among ``keepers`` with no copy of this page kept recently."""
        now = self.clock()
        wanted = []
        for name in keepers:
            memo = self._memo.get(_memo_key(name, request))
            if memo is not None:
                stored = memo[1].get(shareable.variant(request, memo[0], self.settings))
                refresh = min(REFRESH, self.registry[name].config.stale_for / 4)
                if stored is not None and 0 <= now - stored < refresh:
                    continue
            wanted.append(name)
        return wanted

    def keep(
        self,
        keepers: list[str],
        request: PageRequest,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes | None,
        recent: tuple[RoutePlan, Hashable] | None = None,
    ) -> bool:
        """Keep the response under each of ``keepers`` if the rule allows; True if kept.

        ``recent``: the path's plan and the request's raw key (see :data:`RawKey`).
        """
        length = None if body is None else len(body)
        if body is None or shareable.refusal(request, status, headers, length, self.settings):
            return False
        names = shareable.vary_names(headers)
        variant = shareable.variant(request, names, self.settings)
        now = self.clock()
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.clear()
        refresh = REFRESH
        for name in keepers:
            stale_for = self.registry[name].config.stale_for
            refresh = min(refresh, stale_for / 4)
            primary = shareable.primary_key(name, request)
            stale.store(
                self.registry.cache, primary, names, variant, status, headers, body, stale_for
            )
            key = _memo_key(name, request)
            memo = self._memo.get(key)
            if memo is None or memo[0] != names:
                memo = self._memo[key] = (names, {})
            if len(memo[1]) > _MEMO_LIMIT:
                memo[1].clear()
            memo[1][variant] = now
        if recent is not None and not names and keepers == recent[0].keepers:
            if len(self.recent) > _MEMO_LIMIT:
                self.recent.clear()
            self.recent[recent[1]] = (recent[0], now, now + refresh)
        return True
