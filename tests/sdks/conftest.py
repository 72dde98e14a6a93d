"""The fake Stripe and Twilio APIs, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sdks.fakes import FakeAPIs


@pytest.fixture
def fake() -> Iterator[FakeAPIs]:
    with FakeAPIs() as apis:
        yield apis
