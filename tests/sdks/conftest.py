"""The fake Stripe and Twilio APIs, one per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from breaker_core import Registry
from tests.sdks.fakes import TIMEOUT, FakeAPIs


@pytest.fixture
def fake() -> Iterator[FakeAPIs]:
    with FakeAPIs() as apis:
        yield apis


@pytest.fixture
def guarded(fake: FakeAPIs, clock) -> Callable[[str], Registry]:
    """``guarded(name)``: a registry whose dependency ``name`` is the fake API, tripping at 3."""

    def build(name: str) -> Registry:
        options = {"url": fake.url, "timeout": TIMEOUT, "failure_threshold": 3, "reset_timeout": 30}
        return Registry.from_settings({"dependencies": {name: options}}, clock=clock)

    return build
