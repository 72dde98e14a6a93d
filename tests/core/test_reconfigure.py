"""``registry.reconfigure(settings)``: new settings on live breakers, validated like start-up."""

from __future__ import annotations

import threading

import pytest

from breaker_core import CircuitOpenError, ConfigurationError, Registry, State
from breaker_core.clock import FakeClock
from breaker_core.web.routes import RouteTable

BASE = {
    "defaults": {"failure_threshold": 5, "window": "10s", "reset_timeout": "10s"},
    "dependencies": {
        "inventory": {"url": "http://127.0.0.1:9/inventory", "routes": ["/checkout/*"]},
        "recommendations": {"stale_for": "5m"},
    },
}


def boom() -> None:
    raise RuntimeError("down")


def fail(registry: Registry, name: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(RuntimeError):
            registry[name].call(boom)


def with_deps(**deps: dict) -> dict:
    return {**BASE, "dependencies": deps}


def test_new_threshold_applies_to_the_counts_kept(clock: FakeClock) -> None:
    registry = Registry.from_settings(BASE, clock=clock)
    inventory = registry["inventory"]
    fail(registry, "inventory", 2)
    registry.reconfigure(
        with_deps(inventory={**BASE["dependencies"]["inventory"], "failure_threshold": 3})
    )
    assert registry["inventory"] is inventory
    assert inventory.snapshot()["failures"] == 2  # counts kept
    assert inventory.config.failure_threshold == 3
    fail(registry, "inventory", 1)
    assert inventory.state is State.OPEN


def test_open_breaker_stays_open_and_the_next_wait_is_the_new_one(clock: FakeClock) -> None:
    registry = Registry.from_settings(BASE, clock=clock)
    inventory = registry["inventory"]
    fail(registry, "inventory", 5)
    registry.reconfigure(
        with_deps(inventory={**BASE["dependencies"]["inventory"], "reset_timeout": "30s"})
    )
    assert inventory.is_open
    assert inventory.retry_after == pytest.approx(10)  # the wait it started with
    clock.advance(10)
    fail(registry, "inventory", 1)  # the probe fails
    assert inventory.retry_after == pytest.approx(30)


def test_added_and_removed_dependencies(clock: FakeClock) -> None:
    registry = Registry.from_settings(BASE, clock=clock)
    seen: list[str] = []
    registry.add_listener(lambda e: seen.append(e.name))
    recommendations = registry["recommendations"]
    recommendations.force_open()
    old_inventory = registry["inventory"]
    budget = registry.retry_budget("inventory")
    registry.reconfigure(with_deps(payments={"failure_threshold": 1}, recommendations={}))
    assert registry.names == ("payments", "recommendations")
    assert registry["recommendations"] is recommendations
    assert recommendations.state is State.FORCED_OPEN  # state kept
    assert "inventory" not in registry
    with pytest.raises(KeyError, match="declared: payments, recommendations"):
        registry["inventory"]
    seen.clear()
    fail(registry, "payments", 1)
    with pytest.raises(CircuitOpenError):
        registry["payments"].call(int)
    old_inventory.call(int)  # a removed breaker still works, detached from the registry
    assert seen == ["payments", "payments", "payments"]
    registry.reconfigure(BASE)
    assert registry.retry_budget("inventory") is not budget


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"window": "10x"}, r'BREAKERS\["dependencies"\]\["inventory"\]\["window"\]: expected'),
        ({"failure_treshold": 3}, "failure_treshold"),
        ({"max_concurrent": 4}, r'\["max_concurrent"\]: cannot change while the app runs'),
    ],
)
def test_a_bad_value_changes_nothing(clock: FakeClock, change: dict, message: str) -> None:
    registry = Registry.from_settings(BASE, clock=clock)
    inventory = registry["inventory"]
    fail(registry, "inventory", 2)
    config = inventory.config
    bad = {
        "dependencies": {
            "inventory": {**BASE["dependencies"]["inventory"], "failure_threshold": 2, **change},
            "payments": {},
        }
    }
    with pytest.raises(ConfigurationError, match=message):
        registry.reconfigure(bad)
    with pytest.raises(ConfigurationError, match=message):
        registry.reconfigure(bad)  # and again: the first attempt left nothing behind
    assert inventory.config is config
    assert registry.names == ("inventory", "recommendations")
    assert inventory.state is State.CLOSED
    assert inventory.snapshot()["failures"] == 2
    assert registry.generation == 0
    assert registry.settings_generation.value == 0


def test_the_settings_generation_object_follows_every_reconfigure(clock: FakeClock) -> None:
    registry = Registry.from_settings(BASE, clock=clock)
    kept = registry.settings_generation
    for expected in (1, 2):
        registry.reconfigure(with_deps(inventory={"failure_threshold": 2 + expected}))
        assert registry.generation == expected
        assert registry.settings_generation is kept  # the same object: tables keep it
        assert kept.value == expected


def test_same_messages_as_start_up(clock: FakeClock) -> None:
    bad = with_deps(inventory={"timeout": "soon", "window": -1})
    with pytest.raises(ConfigurationError) as at_start:
        Registry.from_settings(bad)
    registry = Registry.from_settings(BASE, clock=clock)
    with pytest.raises(ConfigurationError) as live:
        registry.reconfigure(bad)
    assert live.value.problems == at_start.value.problems


def test_storage_and_cache_cannot_change(clock: FakeClock) -> None:
    registry = Registry.from_settings(BASE, clock=clock)
    with pytest.raises(ConfigurationError, match=r'BREAKERS\["storage"\]: cannot change'):
        registry.reconfigure({**BASE, "storage": "redis://127.0.0.1:6379/6"})
    with pytest.raises(ConfigurationError, match=r'BREAKERS\["cache"\]: cannot change'):
        registry.reconfigure({**BASE, "cache": "memory://?max_entries=5"})
    with pytest.raises(ConfigurationError, match=r'BREAKERS\["pages"\]: cannot change'):
        registry.reconfigure({**BASE, "pages": {"max_body": 10}})
    registry.reconfigure({**BASE, "storage": "memory://", "cache": "memory://"})


def test_a_longer_window_keeps_the_counts_until_they_age_out(clock: FakeClock) -> None:
    registry = Registry.from_settings(BASE, clock=clock)
    fail(registry, "inventory", 3)
    registry["inventory"].call(int)
    registry.reconfigure({**BASE, "defaults": {**BASE["defaults"], "window": "60s"}})
    snap = registry["inventory"].snapshot()
    assert (snap["failures"], snap["successes"]) == (3, 1)
    clock.advance(30)
    assert registry["inventory"].snapshot()["failures"] == 3  # the old window would be empty
    clock.advance(31)
    assert registry["inventory"].snapshot()["failures"] == 0


def test_route_and_url_tables_follow(clock: FakeClock) -> None:
    pytest.importorskip("httpx")
    from breaker_http.routing import Router

    registry = Registry.from_settings(BASE, clock=clock)
    routes, router = RouteTable(registry), Router(registry)
    assert routes.dependencies_for("/checkout/1") == ["inventory"]
    assert router.match_url("http://127.0.0.1:9/inventory/x") == "inventory"
    registry.reconfigure(
        with_deps(
            inventory={"url": "http://127.0.0.1:8/stock", "routes": ["/cart/*"]},
            recommendations={},
        )
    )
    assert routes.dependencies_for("/checkout/1") == []
    assert routes.dependencies_for("/cart/1") == ["inventory"]
    assert router.match_url("http://127.0.0.1:9/inventory/x") is None
    assert router.match_url("http://127.0.0.1:8/stock/x") == "inventory"


def test_calls_from_many_threads_while_settings_change(clock: FakeClock) -> None:
    """No call fails or is lost while thresholds and dependencies change under it."""
    registry = Registry.from_settings(BASE, clock=clock)
    counted: list[str] = []
    registry.add_listener(lambda e: counted.append(e.kind))
    inventory = registry["inventory"]
    stop = threading.Event()
    made = [0] * 8

    def work(i: int) -> None:
        while not stop.is_set():
            inventory.call(int)
            made[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for n in range(200):
        threshold = 3 + n % 5
        extra = {"payments": {}} if n % 2 else {}
        registry.reconfigure(
            with_deps(
                inventory={**BASE["dependencies"]["inventory"], "failure_threshold": threshold},
                **extra,
            )
        )
    stop.set()
    for t in threads:
        t.join()
    assert counted.count("success") == sum(made)
    assert registry["inventory"] is inventory


def test_record_and_ignore_apply_from_the_next_call(clock: FakeClock) -> None:
    registry = Registry.from_settings(BASE, clock=clock)
    fail(registry, "inventory", 1)
    registry.reconfigure(
        with_deps(
            inventory={**BASE["dependencies"]["inventory"], "ignore": ["builtins.RuntimeError"]}
        )
    )
    fail(registry, "inventory", 10)  # ignored now: neither success nor failure
    assert registry["inventory"].snapshot()["failures"] == 1
    assert registry["inventory"].state is State.CLOSED


def test_on_reconfigure_hooks_hear_every_successful_reconfigure_only() -> None:
    from breaker_core.extension import on_reconfigure

    registry = Registry.from_settings(with_deps(db={"timeout": 1.0}))
    heard: list[tuple[int, float | None]] = []

    def hook(changed: Registry) -> None:
        assert changed is registry
        heard.append((changed.generation, changed["db"].config.timeout))

    on_reconfigure(registry, hook)
    on_reconfigure(registry, hook)  # once per hook
    registry.reconfigure(with_deps(db={"timeout": 2.0}))
    with pytest.raises(ConfigurationError):
        registry.reconfigure(with_deps(db={"timeout": "soon"}))
    registry.reconfigure(with_deps(db={"timeout": 3.0}))
    assert heard == [(1, 2.0), (2, 3.0)]  # after the change, not for the invalid one
