"""The official twilio SDK, guarded through the HTTP client it takes, against a local fake API.

Nothing is mocked: twilio's own ``Client`` sends real HTTP to the fake on 127.0.0.1 through
its ``TwilioHttpClient``, whose session has the breaker adapter mounted.
"""

from __future__ import annotations

import pytest

pytest.importorskip("twilio")
requests = pytest.importorskip("requests")
httpx = pytest.importorskip("httpx")

from twilio.base.exceptions import TwilioRestException  # noqa: E402

from breaker_core import ConfigurationError, Registry, State  # noqa: E402
from breaker_http.twilio_sdk import (  # noqa: E402
    BreakerAsyncHttpClient,
    twilio_client,
    twilio_http_client,
)
from tests.sdks.checks import (  # noqa: E402
    each_waits_the_timeout,
    refused_at_once,
    refused_at_once_async,
    waits_the_timeout_async,
)

ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def registry(guarded) -> Registry:
    return guarded("twilio")


@pytest.fixture
def client(registry):
    return twilio_client(registry, ACCOUNT, "auth-token")


def send(client) -> object:
    return client.messages.create(to="+15558675310", from_="+15017122661", body="hello")


def test_healthy_calls_go_through_and_count(client, registry, fake):
    message = send(client)
    assert (message.sid, message.status) == ("SMfake", "queued")
    assert fake.requests == 1
    assert registry["twilio"].snapshot()["successes"] == 1


def test_invalid_numbers_never_trip(client, registry, fake):
    fake.set_mode("decline")
    for _ in range(6):
        with pytest.raises(TwilioRestException) as caught:
            send(client)
        assert (caught.value.status, caught.value.code) == (400, 21211)
    snap = registry["twilio"].snapshot()
    assert (snap["state"], snap["successes"], snap["failures"]) == ("closed", 6, 0)


def test_5xx_answers_open_the_breaker_then_calls_fail_fast(client, registry, fake):
    fake.set_mode("errors")
    for _ in range(3):
        with pytest.raises(TwilioRestException) as caught:
            send(client)
        assert caught.value.status == 500
    assert registry["twilio"].state is State.OPEN
    refused_at_once(lambda: send(client), fake, "twilio")


def test_a_hung_api_costs_the_dependency_timeout_until_the_breaker_opens(client, registry, fake):
    fake.set_mode("hang")
    each_waits_the_timeout(lambda: send(client), requests.Timeout)
    assert registry["twilio"].state is State.OPEN
    refused_at_once(lambda: send(client), fake, "twilio")


def test_a_wildcard_dependency_guards_every_twilio_host(fake, clock):
    """With "https://*.twilio.com" the client keeps twilio's hosts; other hosts pass untouched."""
    registry = Registry.from_settings(
        {"dependencies": {"twilio": {"url": "https://*.twilio.com"}}}, clock=clock
    )
    client = twilio_client(registry, ACCOUNT, "auth-token")
    assert client.api.base_url == "https://api.twilio.com"
    client.api.base_url = fake.url  # not a Twilio host: not guarded
    registry["twilio"].force_open()
    assert send(client).sid == "SMfake"


def test_pooled_connections_are_required_and_a_url_too(registry, clock):
    with pytest.raises(ConfigurationError, match="pool_connections=False"):
        twilio_http_client(registry, pool_connections=False)
    bare = Registry.from_settings({"dependencies": {"twilio": {}}}, clock=clock)
    with pytest.raises(ConfigurationError, match=r'\["url"\] to Twilio\'s API host'):
        twilio_client(bare, ACCOUNT, "auth-token")


@pytest.fixture
async def async_client(registry):
    async with BreakerAsyncHttpClient(registry) as http_client:
        yield twilio_client(registry, ACCOUNT, "auth-token", http_client=http_client)


async def send_async(client) -> object:
    return await client.messages.create_async(to="+15558675310", from_="+15017122661", body="hello")


async def test_async_calls_are_guarded_too(async_client, registry, fake):
    assert (await send_async(async_client)).sid == "SMfake"
    fake.set_mode("decline")
    with pytest.raises(TwilioRestException):
        await send_async(async_client)
    assert registry["twilio"].snapshot()["successes"] == 2
    fake.set_mode("errors")
    for _ in range(3):
        with pytest.raises(TwilioRestException):
            await send_async(async_client)
    assert registry["twilio"].state is State.OPEN
    await refused_at_once_async(lambda: send_async(async_client), fake, "twilio")


async def test_an_async_call_to_a_hung_api_costs_the_dependency_timeout(
    async_client, registry, fake
):
    fake.set_mode("hang")
    await waits_the_timeout_async(lambda: send_async(async_client), httpx.TimeoutException)
    assert registry["twilio"].snapshot()["failures"] == 1
