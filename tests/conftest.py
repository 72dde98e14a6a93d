"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

from breaker_core.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at 1000 s."""
    return FakeClock()
