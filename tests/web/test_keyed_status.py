"""Breakers per key in the status document and the dashboard: bounded however many keys."""

from __future__ import annotations

import json

import pytest

from breaker_core import Registry
from breaker_core.ops.schemas import STATUS_SCHEMA_DOCUMENT
from breaker_core.ops.status import status_document
from breaker_core.web.dashboard import render_dashboard
from tests.failures import Boom, fail

jsonschema = pytest.importorskip("jsonschema")


def registry_with_keys(clock, keys: int, bad: tuple[str, ...] = ()) -> Registry:
    registry = Registry.from_settings(
        {"dependencies": {"tenants": {"failure_threshold": 1, "max_keys": 10_000}, "db": {}}},
        clock=clock,
    )
    for index in range(keys):
        registry.for_key("tenants", f"t{index}").call(lambda: None)
    for key in bad:
        with pytest.raises(Boom):
            registry.for_key("tenants", key).call(fail)
    return registry


def test_the_document_lists_the_troubled_keys_first_and_counts_the_rest(clock):
    registry = registry_with_keys(clock, 500, bad=("t7", "t300", "t499"))
    document = status_document(registry, key_entries=5)
    jsonschema.validate(document, STATUS_SCHEMA_DOCUMENT)
    assert [entry["name"] for entry in document["breakers"]] == ["tenants", "db"]
    (keys,) = document["keys"]
    assert (keys["dependency"], keys["kept"], keys["max_keys"]) == ("tenants", 500, 10_000)
    assert keys["states"] == {"closed": 497, "open": 3}
    assert keys["hidden"] == 495
    shown = [(entry["key"], entry["state"]) for entry in keys["breakers"]]
    assert shown[:3] == [("t499", "open"), ("t300", "open"), ("t7", "open")]
    assert [state for _, state in shown[3:]] == ["closed", "closed"]
    assert keys["breakers"][0]["dependency"] == "tenants"
    assert keys["breakers"][0]["name"] == "tenants[t499]"


def test_the_document_size_does_not_grow_with_the_keys(clock):
    small = json.dumps(status_document(registry_with_keys(clock, 30), wall_clock=0))
    large = json.dumps(status_document(registry_with_keys(clock, 3000), wall_clock=0))
    assert len(large) < len(small) * 1.1


def test_a_document_without_keyed_breakers_has_an_empty_keys_list(clock):
    registry = Registry.from_settings({"dependencies": {"db": {}}}, clock=clock)
    document = status_document(registry)
    jsonschema.validate(document, STATUS_SCHEMA_DOCUMENT)
    assert document["keys"] == []


def test_the_dashboard_shows_the_summary_and_cards_of_listed_keys_only(clock):
    registry = registry_with_keys(clock, 200, bad=("<script>alert(1)</script>",))
    page = render_dashboard(status_document(registry, key_entries=3), status_url="/s.json")
    assert 'data-keys="tenants"' in page
    assert "201 kept (at most 10000): 200 closed, 1 open; 0 evicted; 198 not shown" in page
    assert page.count('class="card" data-name="tenants[') == 3
    assert "<script>alert(1)" not in page
    assert "tenants[&lt;script&gt;alert(1)&lt;/script&gt;]" in page
    assert 'data-action="open"' not in page.split('data-keys="tenants"')[1]  # no buttons
