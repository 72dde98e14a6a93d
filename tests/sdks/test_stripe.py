"""The official stripe SDK, guarded through the HTTP client it takes, against a local fake API.

Nothing is mocked: stripe's own ``StripeClient`` sends real HTTP to the fake on 127.0.0.1
through ``BreakerRequestsClient`` (its ``RequestsClient`` with the breaker adapter).
"""

from __future__ import annotations

import pytest

stripe = pytest.importorskip("stripe")
pytest.importorskip("requests")

from breaker_core import CircuitOpenError, ConfigurationError, Registry, State  # noqa: E402
from breaker_http.stripe_sdk import (  # noqa: E402
    BreakerAsyncClient,
    BreakerRequestsClient,
    stripe_client,
)
from tests.sdks.checks import (  # noqa: E402
    each_waits_the_timeout,
    refused_at_once,
    refused_at_once_async,
    waits_the_timeout_async,
)


@pytest.fixture
def registry(guarded) -> Registry:
    return guarded("stripe")


@pytest.fixture
def client(registry):
    return stripe_client(registry, "sk_test_fake", max_network_retries=0)


def pay(client) -> object:
    return client.v1.payment_intents.create(params={"amount": 500, "currency": "eur"})


def test_healthy_calls_go_through_and_count(client, registry, fake):
    intent = pay(client)
    assert (intent.id, intent.status) == ("pi_fake", "succeeded")
    assert fake.requests == 1
    assert registry["stripe"].snapshot()["successes"] == 1


def test_card_declines_never_trip(client, registry, fake):
    fake.set_mode("decline")
    for _ in range(6):
        with pytest.raises(stripe.CardError) as caught:
            pay(client)
        assert caught.value.code == "card_declined"
    snap = registry["stripe"].snapshot()
    assert (snap["state"], snap["successes"], snap["failures"]) == ("closed", 6, 0)


def test_5xx_answers_open_the_breaker_then_calls_fail_fast(client, registry, fake):
    fake.set_mode("errors")
    for _ in range(3):
        with pytest.raises(stripe.APIError):
            pay(client)
    assert registry["stripe"].state is State.OPEN
    refused_at_once(lambda: pay(client), fake, "stripe")


def test_a_hung_api_costs_the_timeout_until_the_breaker_opens(client, registry, fake):
    fake.set_mode("hang")
    each_waits_the_timeout(lambda: pay(client), stripe.APIConnectionError)
    assert registry["stripe"].state is State.OPEN
    refused_at_once(lambda: pay(client), fake, "stripe")


@pytest.mark.slow
def test_stripe_retries_stop_at_the_open_breaker(registry, fake):
    """stripe retries 5xx itself; each try counts, and the refusal ends its loop unretried."""
    client = stripe_client(registry, "sk_test_fake", max_network_retries=5)
    fake.set_mode("errors")
    with pytest.raises(CircuitOpenError):
        pay(client)
    assert fake.requests == 3  # the third failure opened the breaker; no fourth try
    assert registry["stripe"].state is State.OPEN


def test_the_global_stripe_api_takes_the_guarded_client_too(registry, fake):
    saved = (stripe.default_http_client, stripe.api_base, stripe.api_key)
    retries = stripe.max_network_retries
    stripe.default_http_client = BreakerRequestsClient(registry)
    stripe.api_base, stripe.api_key = fake.url, "sk_test_fake"
    try:
        assert stripe.Balance.retrieve().object == "balance"
        fake.set_mode("errors")
        stripe.max_network_retries = 0
        for _ in range(3):
            with pytest.raises(stripe.APIError):
                stripe.Balance.retrieve()
        with pytest.raises(CircuitOpenError):
            stripe.Balance.retrieve()
    finally:
        stripe.default_http_client, stripe.api_base, stripe.api_key = saved
        stripe.max_network_retries = retries


def test_the_dependency_needs_a_url(clock):
    registry = Registry.from_settings({"dependencies": {"stripe": {}}}, clock=clock)
    with pytest.raises(ConfigurationError, match=r'\["url"\] to Stripe\'s API host'):
        stripe_client(registry, "sk_test_fake")
    with pytest.raises(KeyError, match="no dependency named 'payments'"):
        stripe_client(registry, "sk_test_fake", name="payments")


@pytest.fixture
async def async_client(registry, fake):
    """What stripe_client builds, with the async client at hand to close it."""
    fallback = BreakerAsyncClient(registry)
    http_client = BreakerRequestsClient(registry, async_fallback_client=fallback)
    yield stripe.StripeClient(
        "sk_test_fake",
        base_addresses={"api": fake.url},
        http_client=http_client,
        max_network_retries=0,
    )
    await fallback.close_async()


async def pay_async(client) -> object:
    return await client.v1.payment_intents.create_async(params={"amount": 500, "currency": "eur"})


async def test_async_calls_are_guarded_too(async_client, registry, fake):
    client = async_client
    intent = await pay_async(client)
    assert intent.status == "succeeded"
    fake.set_mode("decline")
    with pytest.raises(stripe.CardError):
        await pay_async(client)
    assert registry["stripe"].snapshot()["successes"] == 2
    fake.set_mode("errors")
    for _ in range(3):
        with pytest.raises(stripe.APIError):
            await pay_async(client)
    assert registry["stripe"].state is State.OPEN
    await refused_at_once_async(lambda: pay_async(client), fake, "stripe")


async def test_an_async_call_to_a_hung_api_times_out_and_counts(async_client, registry, fake):
    fake.set_mode("hang")
    await waits_the_timeout_async(lambda: pay_async(async_client), stripe.APIConnectionError)
    assert registry["stripe"].snapshot()["failures"] == 1


async def test_stripe_client_guards_its_async_methods(client, registry, fake):
    registry["stripe"].force_open()
    with pytest.raises(CircuitOpenError):
        await pay_async(client)
    assert fake.requests == 0
