"""``@breaker_required`` and ``BreakerRequiredMixin``: a view that needs a dependency."""

from __future__ import annotations

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import override_settings
from django.urls import path
from django.views import View

from breaker_core import ConfigurationError
from breaker_django import breakers
from breaker_django.decorators import BreakerRequiredMixin, breaker_required

ran: list[str] = []


@breaker_required("inventory")
def reserve(request, sku):
    ran.append(f"reserve {sku}")
    return HttpResponse(f"reserved {sku}")


@breaker_required("inventory", "catalogue")
async def reserve_async(request):
    ran.append("reserve_async")
    return HttpResponse("reserved")


@breaker_required(
    "inventory", fallback=lambda request, error: JsonResponse({"later": error.retry_after})
)
def gift_cards(request):
    ran.append("gift_cards")
    return HttpResponse("gift cards")


@breaker_required("invetory")  # a typo
def typo(request):
    return HttpResponse("never")


class OrderView(BreakerRequiredMixin, View):
    breakers_required = "inventory"

    def get(self, request):
        ran.append("OrderView")
        return HttpResponse("order")


class AsyncOrderView(BreakerRequiredMixin, View):
    breakers_required = ("catalogue",)

    async def get(self, request):
        ran.append("AsyncOrderView")
        return HttpResponse("order")


class PausedOrderView(OrderView):
    def breaker_fallback(self, request, error):
        return HttpResponse("orders are paused", status=200)


urlpatterns = [
    path("reserve/<str:sku>", reserve),
    path("reserve-async", reserve_async),
    path("gift-cards", gift_cards),
    path("typo", typo),
    path("order", OrderView.as_view()),
    path("order-async", AsyncOrderView.as_view()),
    path("order-paused", PausedOrderView.as_view()),
]

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture(autouse=True)
def _fresh(settings, breaker_clock):
    settings.BREAKERS_CLOCK = breaker_clock
    ran.clear()


CASES = [
    ("/reserve/SKU-1", "reserve SKU-1", "inventory"),
    ("/reserve-async", "reserve_async", "catalogue"),
    ("/order", "OrderView", "inventory"),
    ("/order-async", "AsyncOrderView", "catalogue"),
]


def _check_open(responses, view):
    as_json, as_html = responses
    assert as_json.status_code == 503
    assert as_json["Retry-After"] == "10"
    assert as_json.json()["retry_after"] == 10
    assert as_html.status_code == 503
    assert as_html["Content-Type"].startswith("text/html")
    assert ran == [view]  # the view did not run again


@pytest.mark.parametrize(("url", "view", "name"), CASES)
def test_the_view_runs_while_closed_and_not_while_open(client, url, view, name, breaker_states):
    assert client.get(url).status_code == 200
    assert ran == [view]
    breaker_states.open(breakers, name)
    _check_open(
        [client.get(url, headers={"accept": a}) for a in ("application/json", "text/html")], view
    )


@pytest.mark.parametrize(("url", "view", "name"), CASES)
async def test_under_asgi_too(async_client, url, view, name, breaker_states):
    assert (await async_client.get(url)).status_code == 200
    assert ran == [view]
    breaker_states.open(breakers, name)
    responses = [
        await async_client.get(url, headers={"accept": a})
        for a in ("application/json", "text/html")
    ]
    _check_open(responses, view)


def test_half_open_lets_the_view_run(client, breaker_clock):
    inventory = breakers["inventory"]
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            inventory.call(lambda: 1 / 0)
    assert client.get("/order").status_code == 503
    breaker_clock.advance(10)
    assert client.get("/order").status_code == 200
    assert ran == ["OrderView"]


def test_fallbacks_answer_instead_of_the_503(client, breaker_states):
    breaker_states.open(breakers, "inventory")
    assert client.get("/gift-cards").json() == {"later": 10}
    paused = client.get("/order-paused")
    assert (paused.status_code, paused.content) == (200, b"orders are paused")
    assert ran == []


def test_an_undeclared_name_says_what_is_declared(client):
    with pytest.raises(ConfigurationError, match=r"no dependency named 'invetory' \(declared: "):
        client.get("/typo")


def test_no_name_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="expected one or more dependency names"):
        breaker_required()


def test_the_decorator_works_without_the_middleware(client, breaker_states):
    with override_settings(MIDDLEWARE=[]):
        breaker_states.open(breakers, "inventory")
        assert client.get("/reserve/SKU-2").status_code == 503
    assert ran == []
