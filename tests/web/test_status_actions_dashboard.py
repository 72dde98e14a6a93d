"""The status document, operator actions and the dashboard page."""

from __future__ import annotations

import json

import pytest

from breaker_core import Registry
from breaker_core.ops.actions import ActionError, apply_action
from breaker_core.ops.status import SCHEMA, status_document
from breaker_core.ops.tables import format_table, table_rows
from breaker_core.web.dashboard import render_dashboard


@pytest.fixture
def registry(clock):
    return Registry.from_settings(
        {
            "dependencies": {
                "inventory": {"routes": ["/checkout/*"], "max_concurrent": 4},
                "recs": {"failure_rate": 0.5, "reset_timeout": 20},
            }
        },
        clock=clock,
    )


def test_status_document_is_json_and_versioned(registry):
    registry["recs"].force_open()
    doc = status_document(registry, wall_clock=1_800_000_000.0)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["schema"] == SCHEMA == "breakerpanel.status/1"
    assert doc["generated_at"] == "2027-01-15T08:00:00Z"
    assert doc["storage"] == {"scheme": "memory", "shared": False}
    inventory, recs = doc["breakers"]
    assert inventory["routes"] == ["/checkout/*"]
    assert inventory["max_concurrent"] == 4
    assert recs["state"] == "forced_open"
    assert recs["thresholds"]["failure_rate"] == 0.5
    assert recs["retry_after"] == 20.0


def test_actions_apply_in_process_and_refuse_out_of_process_with_memory_storage(registry):
    assert apply_action(registry, "open", "recs", out_of_process=False).startswith(
        "recs: forced open"
    )
    assert registry["recs"].is_open
    with pytest.raises(ActionError, match="nothing was changed"):
        apply_action(registry, "reset", "recs", out_of_process=True)
    assert registry["recs"].is_open
    with pytest.raises(ActionError, match="use one of: open, close, reset, disable"):
        apply_action(registry, "explode", "recs", out_of_process=False)
    with pytest.raises(ActionError, match="declared: inventory, recs"):
        apply_action(registry, "open", "nope", out_of_process=False)
    apply_action(registry, "close", "recs", out_of_process=False)
    assert registry["recs"].state.value == "closed"


def test_table_is_aligned(registry):
    registry["recs"].force_open()
    lines = format_table(table_rows(registry))
    assert lines[0].split() == ["NAME", "STATE", "FAILURES", "FAILURE", "RATE", "RETRY", "IN"]
    assert lines[1].split() == ["inventory", "closed", "0/0", "0%", "-"]
    assert lines[2].split() == ["recs", "forced_open", "0/0", "0%", "20.0s"]
    assert lines[1].index("closed") == lines[0].index("STATE") == lines[2].index("forced_open")


def test_dashboard_read_only_and_with_actions(registry):
    doc = status_document(registry)
    read_only = render_dashboard(doc, status_url="/s.json")
    assert "<form" not in read_only
    assert 'data-name="inventory"' in read_only
    page = render_dashboard(doc, status_url="/s.json", action_url="/act", csrf=("csrf", "t<k>"))
    assert page.count('<form method="post" action="/act"') == 8
    assert 'name="csrf" value="t&lt;k&gt;"' in page
    assert "confirm(" in page


def test_dashboard_escapes_names_and_script_data(clock):
    registry = Registry.from_settings({"dependencies": {"a-b.c_d": {}}}, clock=clock)
    page = render_dashboard(status_document(registry), status_url="/x</script><script>alert(1)")
    assert "</script><script>alert(1)" not in page


def test_dashboard_embeds_the_last_minutes_and_names_the_process(clock):
    import json
    import os
    import re

    registry = Registry.from_settings({"dependencies": {"inventory": {}}}, clock=clock)
    for _ in range(3):
        registry["inventory"].call(int)
    page = render_dashboard(status_document(registry), status_url="/s.json")
    assert f'by process <span id="pid">{os.getpid()}</span>' in page
    assert "another process may show different figures" in page  # memory storage
    embedded = re.search(r'id="breakerpanel-config">(.*?)</script>', page, re.S)
    assert embedded is not None
    histories = json.loads(embedded.group(1))["histories"]
    assert histories["inventory"]["total"]["calls"] == 3
    assert page.count('<svg class="chart"') == 1
