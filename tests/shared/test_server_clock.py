"""One clock for the fleet: shared decisions take their time from the Redis server's TIME.

Registries ("hosts") with wall clocks skewed by -60 s and +60 s, and one whose
clock steps back 60 s mid-run, share a breaker on a real Redis. They must
decide exactly as hosts with the same clock do. The server's clock cannot be
injected, so these tests let real time pass (under a second in all); the
breakers' own clocks are injected, skewed readings of the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from breaker_core import CircuitOpenError, ConfigurationError, Registry, State
from breaker_core.clock import FakeClock
from tests.failures import Boom, fail

RESET = 0.4  # seconds: the real open wait the test sits through once


class HostClock:
    """A host's wall clock: ``skew`` seconds off, and it may be stepped."""

    def __init__(self, skew: float) -> None:
        self.skew = skew

    def __call__(self) -> float:
        return time.time() + self.skew

    def step(self, seconds: float) -> None:
        self.skew += seconds


Hosts = Callable[[str, list[float]], list[tuple[Registry, HostClock]]]


@pytest.fixture
def hosts(storage_url) -> Iterator[Hosts]:
    made: list[Registry] = []

    def build(clock_option: str, skews: list[float]) -> list[tuple[Registry, HostClock]]:
        settings: dict[str, Any] = {
            "storage": storage_url(refresh="0", clock=clock_option),
            "dependencies": {
                "dep": {"failure_threshold": 3, "window": "10s", "reset_timeout": RESET}
            },
        }
        built = []
        for skew in skews:
            clock = HostClock(skew)
            registry = Registry.from_settings(settings, clock=clock)
            made.append(registry)
            built.append((registry, clock))
        return built

    yield build
    for registry in made:
        registry.close()


def wait(retry_after: float) -> str:
    """A rejection's wait as what matters here: none, about RESET, or far off."""
    if retry_after == 0:
        return "none"
    return "reset_timeout" if 0 < retry_after <= RESET else f"{retry_after:.0f}s"


def scenario(hosts: list[tuple[Registry, HostClock]]) -> list[object]:
    """What three hosts see: each host's state and wait after each step."""
    (a, _), (b, _), (c, c_clock) = hosts
    seen: list[object] = []

    def sync_all() -> None:
        for registry in (a, b, c, a, b, c):  # two rounds: flush, then everyone reads
            assert registry.storage.sync_now()
        seen.append([(r["dep"].state.value, wait(r["dep"].retry_after)) for r in (a, b, c)])

    for registry in (a, b, c):  # one failure each, in the same second
        with pytest.raises(Boom):
            registry["dep"].call(fail)
        assert registry.storage.sync_now()
    sync_all()  # three failures in the window: open for RESET seconds
    c_clock.step(-60)  # host c's clock steps back a minute
    sync_all()
    time.sleep(RESET + 0.05)  # the server's clock, the one that decides, moves on
    try:
        b["dep"].call(int)  # the probe, from the host 60 s behind
        seen.append("probe admitted")
    except CircuitOpenError as error:
        seen.append(f"probe rejected ({wait(error.retry_after)})")
    sync_all()
    return seen


OPEN = [("open", "reset_timeout")] * 3
EXPECTED = [OPEN, OPEN, "probe admitted", [("closed", "none")] * 3]


def test_skewed_and_stepped_hosts_decide_as_hosts_with_one_clock(hosts, storage_url):
    skewed = scenario(hosts("server", [-60.0, 60.0, 0.0]))
    assert skewed == EXPECTED
    assert scenario(hosts("server", [0.0, 0.0, 0.0])) == skewed


def test_on_their_own_clocks_the_same_hosts_disagree(hosts):
    """What the server's clock prevents: with clock=client, a skewed host's failures land
    in buckets the others do not count, and the open wait moves with each host's clock."""
    assert scenario(hosts("client", [-60.0, 60.0, 0.0])) != EXPECTED


def test_the_server_clock_is_the_default_unless_the_registry_has_its_own(storage_url):
    settings = {"storage": storage_url(refresh="0"), "dependencies": {"dep": {}}}
    plain = Registry.from_settings(settings)
    injected = Registry.from_settings(settings, clock=FakeClock(100.0))
    try:
        assert plain["dep"]._coord.time.server is True
        assert injected["dep"]._coord.time.server is False
        injected["dep"].force_open()  # decided on the injected clock: 100.0
        assert plain.storage.sync_now()
        assert plain["dep"].state is State.FORCED_OPEN
        assert injected["dep"].snapshot()["opened_at"] == 100.0
    finally:
        plain.close()
        injected.close()


def test_a_bad_clock_option_fails_at_start_up():
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings({"storage": "redis://127.0.0.1:6379/0?clock=wall"})
    assert "clock must be server or client, got 'wall'" in str(info.value)
