"""BreakerMiddleware leaves no reference cycle between a request and its page visit.

A guarded page the middleware lets through to keep a fresh copy of it has a
visit that names the request, and the request carries the visit while the
view runs (an open dependency's error the view raises is answered from it).
See :mod:`tests.garbage` for why a cycle per request would matter.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("django")

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from breaker_django.middleware import _VISIT, BreakerMiddleware
from tests.garbage import no_cyclic_garbage

REQUESTS = 100


def test_pages_kept_through_the_middleware():
    carried: list[bool] = []

    def page(request: HttpRequest) -> HttpResponse:
        carried.append(getattr(request, _VISIT, None) is not None)
        return HttpResponse("<p>the catalogue</p>")

    middleware = BreakerMiddleware(page)
    factory = RequestFactory()
    middleware(factory.get("/catalogue/0/"))  # the guard and its tables built before counting
    with no_cyclic_garbage():
        for number in range(1, REQUESTS + 1):
            # A page not kept yet each time: every one has a visit, to keep its copy.
            response = middleware(factory.get(f"/catalogue/{number}/"))
            assert response.status_code == 200
    assert carried == [True] * (REQUESTS + 1)  # the view ran with the visit on its request


def test_pages_kept_through_the_middleware_under_asgi():
    carried: list[bool] = []

    async def page(request: HttpRequest) -> HttpResponse:
        carried.append(getattr(request, _VISIT, None) is not None)
        return HttpResponse("<p>the catalogue</p>")

    middleware = BreakerMiddleware(page)
    factory = RequestFactory()

    async def requests(first: int, count: int) -> None:
        for number in range(first, first + count):
            response = await middleware(factory.get(f"/catalogue/async-{number}/"))
            assert response.status_code == 200

    asyncio.run(requests(0, 1))
    with no_cyclic_garbage():
        asyncio.run(requests(1, REQUESTS))
    assert carried == [True] * (REQUESTS + 1)
