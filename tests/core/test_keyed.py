"""Breakers per key (``registry.for_key``): inheritance, the bounded LRU, eviction in use."""

from __future__ import annotations

import gc
import random
import threading

import pytest

from breaker_core import CircuitOpenError, ConfigurationError, Registry, State
from breaker_core.clock import FakeClock
from breaker_core.keyed import MAX_KEY_LENGTH, split_key_name
from tests.failures import Boom, fail


def registry(clock: FakeClock, **options: object) -> Registry:
    settings = {
        "dependencies": {
            "payments": {"failure_threshold": 2, "reset_timeout": 30, **options},
            "other": {},
        }
    }
    return Registry.from_settings(settings, clock=clock)


def test_a_key_gets_its_own_breaker_with_the_dependency_settings() -> None:
    reg = registry(FakeClock())
    first = reg.for_key("payments", "acct_1")
    assert first is reg.for_key("payments", "acct_1")
    assert first.name == "payments[acct_1]"
    assert split_key_name(first.name) == ("payments", "acct_1")
    assert first.config == reg["payments"].config
    for _ in range(2):
        with pytest.raises(Boom):
            first.call(fail)
    assert first.state is State.OPEN
    with pytest.raises(CircuitOpenError):
        first.call(lambda: None)
    # Neither the dependency's own breaker nor another key is touched.
    assert reg["payments"].state is State.CLOSED
    assert reg.for_key("payments", "acct_2").call(lambda: 7) == 7
    assert "payments[acct_1]" not in reg.names  # declared breakers only
    assert reg.keyed("payments") is not None
    assert reg.keyed("other") is None


def test_keyed_breakers_tell_the_registry_listeners_added_before_and_after() -> None:
    reg = registry(FakeClock())
    early = reg.for_key("payments", "early")
    seen: list[tuple[str, str]] = []

    def listener(event: object) -> None:
        seen.append((event.name, event.kind))  # type: ignore[attr-defined]

    reg.add_listener(listener)
    reg.for_key("payments", "eu").call(lambda: None)
    early.call(lambda: None)
    assert seen == [("payments[eu]", "success"), ("payments[early]", "success")]
    reg.remove_listener(listener)
    early.call(lambda: None)
    assert len(seen) == 2


def test_unknown_dependency_and_bad_keys_are_refused() -> None:
    reg = registry(FakeClock())
    with pytest.raises(KeyError, match="paymnts"):
        reg.for_key("paymnts", "a")
    with pytest.raises(TypeError, match="string key, got int 42"):
        reg.for_key("payments", 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"1 to {MAX_KEY_LENGTH} characters"):
        reg.for_key("payments", "")
    with pytest.raises(ValueError, match=f"1 to {MAX_KEY_LENGTH} characters"):
        reg.for_key("payments", "x" * (MAX_KEY_LENGTH + 1))
    with pytest.raises(ValueError, match="control characters"):
        reg.for_key("payments", "a\nb")


@pytest.mark.parametrize("bad", [0, -1, "10", 1.5, True, 1_000_001])
def test_max_keys_is_validated_at_start_up(bad: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Registry.from_settings({"dependencies": {"payments": {"max_keys": bad}}})
    assert 'BREAKERS["dependencies"]["payments"]["max_keys"]: expected a positive integer' in str(
        caught.value
    )


def test_per_host_needs_a_url_and_is_dependency_only() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Registry.from_settings({"dependencies": {"pool": {"per": "host"}}})
    assert '["pool"]["url"]: expected an http(s) URL' in str(caught.value)
    with pytest.raises(ConfigurationError, match=r'\["per"\]: expected one of "host"'):
        Registry.from_settings({"dependencies": {"pool": {"per": "tenant", "url": "http://a"}}})
    with pytest.raises(ConfigurationError, match="per"):
        Registry.from_settings({"defaults": {"per": "host"}, "dependencies": {"a": {}}})


def test_the_lru_keeps_at_most_max_keys_and_drops_the_least_recently_used() -> None:
    reg = registry(FakeClock(), max_keys=3)
    for key in "abc":
        reg.for_key("payments", key)
    reg.for_key("payments", "a")  # a is now the most recent
    reg.for_key("payments", "d")
    family = reg.keyed("payments")
    assert family is not None
    assert family.keys() == ["c", "a", "d"]
    assert len(family) == 3
    assert family.evictions == 1
    for index in range(50):
        reg.for_key("payments", f"k{index}")
    assert len(family) == 3


def test_eviction_passes_over_an_open_breaker_while_a_closed_one_can_go() -> None:
    reg = registry(FakeClock(), max_keys=2)
    bad = reg.for_key("payments", "bad-host")
    for _ in range(2):
        with pytest.raises(Boom):
            bad.call(fail)
    reg.for_key("payments", "good-1")
    reg.for_key("payments", "good-2")  # bad-host is the oldest, but open
    family = reg.keyed("payments")
    assert family is not None
    assert family.keys() == ["bad-host", "good-2"]
    del bad
    gc.collect()
    assert reg.for_key("payments", "bad-host").state is State.OPEN


def test_a_breaker_evicted_mid_call_is_the_one_handed_out_again() -> None:
    clock = FakeClock()
    reg = registry(clock, max_keys=1, failure_threshold=2)
    attempt = reg.for_key("payments", "slow").attempt(detached=True)
    attempt.__enter__()  # a call in flight on "slow"
    reg.for_key("payments", "other")  # evicts "slow" from the LRU
    family = reg.keyed("payments")
    assert family is not None
    assert family.keys() == ["other"]
    again = reg.for_key("payments", "slow")
    with pytest.raises(Boom):
        again.call(fail)
    attempt.__exit__(Boom, Boom(), None)  # the first call fails too: 2 failures, one breaker
    assert again.state is State.OPEN


def test_a_probe_in_flight_keeps_its_slot_across_eviction() -> None:
    clock = FakeClock()
    reg = registry(clock, max_keys=1, failure_threshold=1, reset_timeout=5)
    breaker = reg.for_key("payments", "k")
    with pytest.raises(Boom):
        breaker.call(fail)
    clock.advance(5)
    probe = breaker.attempt(detached=True)
    probe.__enter__()  # the one probe slot is taken
    del breaker
    reg.for_key("payments", "evictor")
    gc.collect()
    with pytest.raises(CircuitOpenError) as caught:
        reg.for_key("payments", "k").call(lambda: None)
    assert caught.value.reason == "half_open_full"
    probe.__exit__(None, None, None)
    assert reg.for_key("payments", "k").state is State.CLOSED


def _trial(seed: int) -> None:
    reg = registry(FakeClock(), max_keys=2, failure_threshold=10**9)
    keys = [f"k{i}" for i in range(6)]
    calls = [0] * len(keys)
    calls_lock = threading.Lock()
    problems: list[str] = []
    start = threading.Barrier(8)

    def work(thread_seed: int) -> None:
        rng = random.Random(thread_seed)
        start.wait()
        for _ in range(300):
            index = rng.randrange(len(keys))
            held = reg.for_key("payments", keys[index])
            with held.attempt() as attempt:
                if reg.for_key("payments", keys[index]) is not held:
                    problems.append(f"{keys[index]} split while in use")
                attempt.fail()
            with calls_lock:
                calls[index] += 1

    threads = [threading.Thread(target=work, args=(seed * 100 + n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    family = reg.keyed("payments")
    assert family is not None
    assert len(family) == 2
    assert family.evictions > 0
    assert sum(calls) == 8 * 300


def test_threads_never_see_two_breakers_for_one_key() -> None:
    """While a thread holds a keyed breaker, every for_key of that key returns it (20 trials)."""
    for seed in range(20):
        _trial(seed)


def test_reconfigure_reaches_the_live_keyed_breakers() -> None:
    reg = registry(FakeClock())
    keyed = reg.for_key("payments", "a")
    reg.reconfigure({"dependencies": {"payments": {"failure_threshold": 7}}})
    assert reg.for_key("payments", "a") is keyed
    assert keyed.config.failure_threshold == 7
    heard: list[str] = []
    reg.add_listener(lambda event: heard.append(event.name))
    reg.reconfigure({"dependencies": {"other": {}}})
    with pytest.raises(KeyError):
        reg.for_key("payments", "a")
    assert reg.keyed("payments") is None
    assert keyed.call(lambda: 5) == 5  # a detached breaker still works
    assert heard == []  # and the registry's listeners no longer hear it


def test_disabled_registry_disables_keyed_breakers() -> None:
    reg = Registry.from_settings({"enabled": False, "dependencies": {"payments": {}}})
    assert reg.for_key("payments", "a").state is State.DISABLED
