"""BreakerMiddleware under WSGI (``Client``) and ASGI (``AsyncClient``) request handling."""

from __future__ import annotations

import asyncio
import logging

import pytest

pytest.importorskip("django")

from asgiref.sync import iscoroutinefunction
from django.http import HttpResponse
from django.test import AsyncClient, Client

from breaker_core import Registry
from breaker_django import breakers
from breaker_django.middleware import BreakerMiddleware

JSON = "application/json"


def open_breaker(name: str) -> None:
    """Trip ``name`` with real failures (failure_threshold is 2 in the test settings)."""
    for _ in range(2):
        with pytest.raises(OSError, match="down"):
            breakers[name].call(_fail)
    assert breakers[name].is_open


def _fail() -> None:
    raise OSError("the service is down")


async def get(client: Client | AsyncClient, path: str, **headers: str) -> HttpResponse:
    """GET through either client."""
    if isinstance(client, AsyncClient):
        return await client.get(path, headers=headers)
    # The WSGI client runs outside the test's event loop, as under a WSGI server.
    return await asyncio.to_thread(client.get, path, headers=headers)


@pytest.fixture(params=["wsgi", "asgi"])
def client(request) -> Client | AsyncClient:
    return Client() if request.param == "wsgi" else AsyncClient()


# -- route guards -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/checkout/", "/checkout/pay/", "/async/checkout/"])
async def test_closed_dependency_lets_guarded_pages_through(client, path):
    response = await get(client, path)
    assert response.status_code == 200
    assert b"checkout ok" in response.content


@pytest.mark.parametrize("path", ["/checkout/", "/checkout/pay/", "/async/checkout/"])
async def test_open_dependency_answers_guarded_pages_with_503_html(client, clock, path):
    open_breaker("inventory")
    clock.advance(3.2)
    response = await get(client, path)
    assert response.status_code == 503
    assert response["Retry-After"] == "7"  # 10 s reset_timeout, 3.2 s gone, rounded up
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert b"Temporarily unavailable" in response.content
    assert b"inventory" not in response.content  # internal names are not the visitor's business


async def test_open_dependency_answers_json_to_json_clients(client):
    open_breaker("inventory")
    response = await get(client, "/checkout/", Accept=JSON)
    assert response.status_code == 503
    assert response["Content-Type"] == JSON
    assert response.json() == {
        "error": "service_unavailable",
        "detail": "A service this resource needs is temporarily unavailable.",
        "retry_after": 10,
    }


async def test_unguarded_pages_work_while_the_dependency_is_open(client):
    open_breaker("inventory")
    assert (await get(client, "/catalogue/")).status_code == 200


async def test_guarded_page_reopens_when_the_wait_ends(client, clock):
    breakers["inventory"].force_open()
    assert (await get(client, "/checkout/")).status_code == 503
    breakers["inventory"].reset()
    assert (await get(client, "/checkout/")).status_code == 200
    open_breaker("inventory")
    clock.advance(10)  # half-open: the page's own call may be the probe
    assert (await get(client, "/checkout/")).status_code == 200


# -- a CircuitOpenError escaping the view ---------------------------------------------------


@pytest.mark.parametrize("path", ["/escape/", "/async/escape/", "/template-escape/"])
async def test_circuit_open_error_escaping_a_view_becomes_503(client, path):
    response = await get(client, path)
    assert response.status_code == 200  # closed: the view's call passes
    open_breaker("inventory")
    response = await get(client, path, Accept=JSON)
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["error"] == "service_unavailable"


async def test_other_exceptions_are_left_to_django(client):
    client.raise_request_exception = False
    response = await get(client, "/broken/")
    assert response.status_code == 500


# -- stale pages ------------------------------------------------------------------------------


async def test_last_good_page_is_served_while_open_then_503_when_too_old(client, clock):
    first = await get(client, "/catalogue/")
    assert first.status_code == 200
    breakers["catalogue"].force_open()
    clock.advance(42)
    stale = await get(client, "/catalogue/")
    assert stale.status_code == 200
    assert stale.content == first.content  # the kept copy, not a new rendering
    assert stale["Age"] == "42"
    assert stale["X-Breakerpanel"] == "stale"
    clock.advance(300 - 42 + 1)  # stale_for is 5m
    assert (await get(client, "/catalogue/")).status_code == 503


async def test_a_stale_copy_answering_an_escaping_error_is_not_kept_again(client, clock):
    first = await get(client, "/catalogue/escape/")
    assert first.status_code == 200
    open_breaker("catalogue")
    clock.advance(250)  # half-open: the route guard lets the page through...
    probe = breakers["catalogue"].attempt()
    # ...but another request (another thread) holds the only probe slot, so the view's call
    # is rejected.
    await asyncio.to_thread(probe.__enter__)
    try:
        answer = await get(client, "/catalogue/escape/")
        assert answer.status_code == 200
        assert answer.content == first.content
        assert answer["Age"] == "250"
        clock.advance(51)  # the copy is now 301 s old: too old, unless it had been re-kept
        assert (await get(client, "/catalogue/escape/")).status_code == 503
    finally:
        probe.__exit__(None, None, None)


async def test_query_strings_are_kept_apart(client):
    page_a = await get(client, "/catalogue/?page=1")
    page_b = await get(client, "/catalogue/?page=2")
    breakers["catalogue"].force_open()
    assert (await get(client, "/catalogue/?page=1")).content == page_a.content
    assert (await get(client, "/catalogue/?page=2")).content == page_b.content
    assert (await get(client, "/catalogue/?page=3")).status_code == 503


@pytest.mark.parametrize(
    "path",
    [
        "/catalogue/session/",  # SessionMiddleware adds Vary: Cookie and the session cookie
        "/catalogue/cookie/",  # the view sets a cookie
        "/catalogue/stream/",  # streamed: never kept
    ],
)
async def test_personal_or_streamed_pages_are_never_kept(client, path):
    assert (await get(client, path)).status_code == 200
    breakers["catalogue"].force_open()
    assert (await get(client, path)).status_code == 503


async def test_requests_with_authorization_are_never_kept(client):
    assert (await get(client, "/catalogue/", Authorization="Bearer alice")).status_code == 200
    breakers["catalogue"].force_open()
    assert (await get(client, "/catalogue/")).status_code == 503


def test_pages_are_not_kept_when_the_middleware_sits_below_session_middleware(settings):
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "breaker_django.middleware.BreakerMiddleware",
    ]
    client = Client()
    assert client.get("/catalogue/").status_code == 200
    breakers["catalogue"].force_open()
    assert client.get("/catalogue/").status_code == 503


def test_head_gets_the_stale_headers_without_a_body():
    client = Client()
    client.get("/catalogue/")
    breakers["catalogue"].force_open()
    response = client.head("/catalogue/")
    assert response.status_code == 200
    assert response["X-Breakerpanel"] == "stale"
    assert response.content == b""


# -- request.breakers, async mode ----------------------------------------------------------------


async def test_request_breakers_is_the_registry(client):
    response = await get(client, "/async/checkout/")
    assert response.content == b"async checkout ok, 3 breakers"
    request = getattr(response, "wsgi_request", None) or response.asgi_request
    assert isinstance(request.breakers, Registry)


def test_middleware_takes_the_mode_of_the_handler():
    async def async_view(request):
        return HttpResponse()

    def sync_view(request):
        return HttpResponse()

    assert iscoroutinefunction(BreakerMiddleware(async_view))
    assert not iscoroutinefunction(BreakerMiddleware(sync_view))


async def test_asgi_chain_has_no_thread_hop(settings, caplog):
    """Django logs every sync/async adaptation of a middleware chain when DEBUG is on."""
    settings.DEBUG = True
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        response = await AsyncClient().get("/async/checkout/")
    assert response.status_code == 200
    adapted = [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()]
    assert adapted == []


def test_wsgi_chain_has_no_adaptation(settings, caplog):
    settings.DEBUG = True
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        assert Client().get("/checkout/").status_code == 200
    assert [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()] == []


def test_with_the_raw_key_every_request_gets_its_own_kept_copy(clock):
    from django.conf import settings as django_settings
    from django.test import RequestFactory

    from breaker_django.middleware import page_guard, page_request, raw_key
    from tests.pagekeys import check_own_copies, registry

    def make(host: str, path: str, cookie: str | None) -> object:
        extra = {"HTTP_COOKIE": cookie} if cookie is not None else {}
        return RequestFactory().get(path, HTTP_HOST=host, **extra)

    from django.test import override_settings

    with override_settings(ALLOWED_HOSTS=["a.example", "b.example", "c.example"]):
        check_own_copies(
            page_guard(registry(clock)),
            make,
            page_request,
            raw_key,
            key_cookie=django_settings.LANGUAGE_COOKIE_NAME,
        )
