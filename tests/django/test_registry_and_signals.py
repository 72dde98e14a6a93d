"""The registry built from settings, the ``breakers`` handle, the Django cache and signals."""

from __future__ import annotations

import logging
import pickle

import pytest

pytest.importorskip("django")

from django.core.cache import caches
from django.template import Context, Template
from django.test import override_settings

from breaker_core import CircuitBreaker, CircuitOpenError, ConfigurationError, Registry, State
from breaker_core.web.stale import StoredResponse
from breaker_django import breakers, conf
from breaker_django.cache import DjangoCache
from breaker_django.signals import call_rejected, state_changed

# -- the registry and the handle -------------------------------------------------------------


def test_registry_is_built_from_settings_breakers():
    registry = conf.get_registry()
    assert registry.names == ("inventory", "catalogue", "recommendations")
    assert registry["inventory"].config.failure_threshold == 2  # from "defaults"
    assert registry["inventory"].config.routes == ("/checkout/*", "/async/checkout/*")
    assert isinstance(registry.cache, DjangoCache)
    assert registry.cache.alias == "default"
    assert conf.get_registry() is registry  # built once


def test_the_handle_follows_override_settings():
    before = conf.get_registry()
    before["inventory"].force_open()
    with override_settings(BREAKERS={"dependencies": {"payments": {}}}):
        assert breakers.names == ("payments",)
        assert "payments" in breakers
        assert "inventory" not in breakers
        assert list(breakers) == ["payments"]
        assert len(breakers) == 1
        assert isinstance(breakers["payments"], CircuitBreaker)
        assert breakers.payments is breakers["payments"]
    assert breakers.names == ("inventory", "catalogue", "recommendations")
    # Reconfigured in place: the same registry; inventory left and came back fresh.
    assert conf.get_registry() is before
    assert breakers["inventory"].state is State.CLOSED
    assert repr(breakers).startswith("<breakers: <Registry inventory, catalogue")


def test_the_handle_is_never_called_by_templates():
    assert breakers.do_not_call_in_templates is True


def test_unknown_dependency_names_the_declared_ones():
    with pytest.raises(KeyError, match="did you mean 'inventory'"):
        breakers["inventroy"]


def test_the_injected_clock_drives_every_breaker(clock):
    breakers["inventory"].force_open()
    assert breakers["inventory"].retry_after == 10.0
    for _ in range(2):
        with pytest.raises(OSError, match="down"):
            breakers["catalogue"].call(_fail)
    clock.advance(9.5)
    assert breakers["catalogue"].retry_after == pytest.approx(0.5)
    clock.advance(0.5)
    assert breakers["catalogue"].state is State.HALF_OPEN


def _fail() -> None:
    raise OSError("down")


def test_clock_setting_takes_a_dotted_path(settings):
    settings.BREAKERS_CLOCK = "tests.django.clocks.frozen"
    assert conf.get_registry().clock() == 42.0


def test_invalid_settings_raise_on_use_with_every_problem(settings):
    settings.BREAKERS = {"dependencies": {"a": {"window": "10x"}, "b": {"retries": 3}}}
    with pytest.raises(ConfigurationError) as error:
        _ = breakers.names
    assert len(error.value.problems) == 2
    settings.BREAKERS = {"dependencies": {"a": {}}}
    assert breakers.names == ("a",)


# -- the Django cache adapter ------------------------------------------------------------------


def test_cached_values_round_trip_through_pickle_with_their_age(clock):
    cache = DjangoCache("default", clock)
    page = StoredResponse(200, [("Content-Type", "text/html")], b"<p>page</p>")
    cache.set("breakerpanel:page:x", page, 300)
    clock.advance(12)
    entry = cache.get("breakerpanel:page:x")
    assert entry is not None
    assert entry.age == 12.0  # measured on the registry clock, in this process
    assert (entry.value.status, entry.value.headers, entry.value.body) == (
        page.status,
        page.headers,
        page.body,
    )
    pickle.dumps(page)  # what a Redis or Memcached backend does


def test_another_process_reads_the_age_from_the_wall_clock(clock):
    writer = DjangoCache("default", clock)
    writer.set("k", "fragment", 300)
    reader = DjangoCache("default", lambda: 5.0)  # another process: another monotonic clock
    entry = reader.get("k")
    assert entry is not None
    assert entry.value == "fragment"
    assert 0.0 <= entry.age < 2.0  # just stored, on the wall clock: never negative


def test_long_or_odd_keys_are_digested_for_memcached(clock):
    cache = DjangoCache("default", clock)
    key = "breakerpanel:guard:inventory:" + "x" * 300
    cache.set(key, "v", 60)
    assert cache.get(key).value == "v"
    assert all(len(k) < 250 for k in caches["default"]._cache)


def test_clear_forgets_only_breakerpanel_entries(clock):
    caches["default"].set("the-sites-own", "kept")
    cache = DjangoCache("default", clock)
    cache.set("k", "v", 60)
    cache.clear()
    assert cache.get("k") is None
    assert caches["default"].get("the-sites-own") == "kept"
    cache.set("k", "w", 60)
    assert cache.get("k").value == "w"
    cache.delete("k")
    assert cache.get("k") is None


def test_a_failing_cache_backend_is_a_miss_logged_once(settings, caplog, clock):
    settings.CACHES = {
        **settings.CACHES,
        "down": {"BACKEND": "tests.django.clocks.BrokenCache"},
    }
    cache = DjangoCache("down", clock)
    with caplog.at_level(logging.WARNING, logger="breaker_django"):
        cache.set("k", "v", 60)
        assert cache.get("k") is None
        assert cache.get("k") is None
    assert caplog.text.count("cannot") == 1
    assert "stale fragments and pages are off" in caplog.text
    assert "the Django cache 'down' (TimeoutError())" in caplog.text  # not "()" alone


# -- signals ---------------------------------------------------------------------------------


def test_state_changes_and_rejections_are_sent_as_signals():
    changes: list[dict] = []
    rejections: list[dict] = []

    def on_change(sender, **kwargs):
        changes.append({"sender": sender, **kwargs})

    def on_reject(sender, **kwargs):
        rejections.append({"sender": sender, **kwargs})

    state_changed.connect(on_change)
    call_rejected.connect(on_reject)
    try:
        for _ in range(2):
            with pytest.raises(OSError, match="down"):
                breakers["inventory"].call(_fail)
        with pytest.raises(CircuitOpenError):
            breakers["inventory"].call(int)
    finally:
        state_changed.disconnect(on_change)
        call_rejected.disconnect(on_reject)
    [change] = changes
    assert change["sender"] is CircuitBreaker
    assert change["breaker"] is breakers["inventory"]
    assert (change["name"], change["old_state"], change["new_state"], change["reason"]) == (
        "inventory",
        State.CLOSED,
        State.OPEN,
        "failure_threshold",
    )
    [rejection] = rejections
    assert (rejection["name"], rejection["reason"]) == ("inventory", "open")
    assert rejection["event"].kind == "rejected"
    assert isinstance(rejection["error"], CircuitOpenError)


def test_the_bridge_is_installed_on_rebuilt_registries(settings):
    seen: list[str] = []

    def on_change(sender, name, **kwargs):
        seen.append(name)

    state_changed.connect(on_change)
    try:
        settings.BREAKERS = {"dependencies": {"payments": {}}}
        breakers["payments"].force_open()
    finally:
        state_changed.disconnect(on_change)
    assert seen == ["payments"]


def test_no_listener_is_added_until_a_receiver_connects():
    registry: Registry = conf.get_registry()
    assert registry._listeners == []  # breakers keep their fast path


def test_a_failing_receiver_is_logged_and_the_call_goes_on(caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    state_changed.connect(broken)
    try:
        breakers["inventory"].force_open()
    finally:
        state_changed.disconnect(broken)
    assert breakers["inventory"].state is State.FORCED_OPEN
    assert "receiver bug" in caplog.text


def test_state_changes_are_logged(caplog):
    breakers["inventory"].force_open()
    assert "inventory: closed -> forced_open" in caplog.text


def test_with_shared_storage_stored_fragments_are_read_on_the_registrys_clock(redis_storage):
    registry = conf.get_registry()
    assert registry.storage.shared
    template = Template(
        '{% load breakers %}{% breaker "recommendations" %}{{ value }}'
        "{% fallback %}fallback{% endbreaker %}"
    )
    assert template.render(Context({"value": "kept"})) == "kept"
    breakers["recommendations"].force_open()
    try:
        assert template.render(Context({"value": "new"})) == "kept"
    finally:
        breakers["recommendations"].reset()
