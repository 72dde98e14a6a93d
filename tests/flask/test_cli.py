"""``flask breakers``: the table, the JSON document, and the shared-storage rule for actions."""

from __future__ import annotations

import json

import pytest

flask = pytest.importorskip("flask")

from breaker_core import CircuitBreaker, Registry, State  # noqa: E402
from breaker_core.storage import Storage  # noqa: E402
from breaker_flask.cli import breakers_cli  # noqa: E402


def test_list_prints_an_aligned_table(app, registry):
    registry["payments"].force_open()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["breakers", "list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        "NAME             STATE        FAILURES  FAILURE RATE  RETRY IN",
        "inventory        closed       0/0       0%            -",
        "recommendations  closed       0/0       0%            -",
        "payments         forced_open  0/0       0%            10.0s",
    ]
    assert result.stderr.startswith("note: storage is memory://: each server process keeps")
    assert runner.invoke(args=["breakers"]).stdout.splitlines() == lines  # list is the default


@pytest.mark.parametrize("args", [["list", "--json"], ["--json"]], ids=" ".join)
def test_list_json_prints_the_status_document(app, args):
    # --json with or without the list command, as manage.py breakers and python -m breaker_core
    result = app.test_cli_runner().invoke(args=["breakers", *args])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "breakerpanel.status/1"
    assert [b["name"] for b in document["breakers"]] == ["inventory", "recommendations", "payments"]
    assert document["breakers"][0]["routes"] == ["/checkout/*"]


@pytest.mark.parametrize("action", ["open", "close", "reset", "disable", "metrics-only"])
def test_actions_are_refused_with_per_process_storage(app, registry, action):
    result = app.test_cli_runner().invoke(args=["breakers", action, "payments"])
    assert result.exit_code == 1
    assert "Error: breaker state is kept in memory inside each server process" in result.output
    assert "nothing was changed" in result.output
    assert registry["payments"].state is State.CLOSED


@pytest.fixture
def shared(app, clock):
    """A registry whose storage other processes see (stands in for Redis storage)."""
    registry = Registry(clock=clock, storage=Storage("redis://state.internal:6379/0", shared=True))
    registry.add(CircuitBreaker("payments", clock=clock))
    app.extensions["breakers"] = registry
    return registry


@pytest.mark.parametrize(
    ("action", "state", "message"),
    [
        (
            "open",
            State.FORCED_OPEN,
            "payments: forced open: every call is rejected until it is reset",
        ),
        (
            "disable",
            State.DISABLED,
            "payments: disabled: every call passes and nothing is recorded",
        ),
        ("metrics-only", State.METRICS_ONLY, "payments: in metrics-only mode"),
    ],
)
def test_actions_apply_with_shared_storage(app, shared, action, state, message):
    result = app.test_cli_runner().invoke(args=["breakers", action, "payments"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(message)
    assert shared["payments"].state is state
    close = app.test_cli_runner().invoke(args=["breakers", "close", "payments"])
    assert close.output == "payments: closed, with an empty window\n"
    assert shared["payments"].state is State.CLOSED


def test_unknown_dependency_and_action(app, shared):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["breakers", "open", "paymnts"])
    assert result.exit_code == 1
    assert "Error: no dependency named 'paymnts' (declared: payments)" in result.output
    result = runner.invoke(args=["breakers", "explode", "payments"])
    assert result.exit_code == 2
    assert "No such command 'explode'" in result.output


def test_an_app_without_breakers_gets_a_clear_error():
    app = flask.Flask("plain")
    app.cli.add_command(breakers_cli)
    result = app.test_cli_runner().invoke(args=["breakers"])
    assert result.exit_code == 1
    assert "breakerpanel is not set up on the app 'plain': call Breakers(app)" in result.output


def test_help_lists_every_action(app):
    result = app.test_cli_runner().invoke(args=["breakers", "--help"])
    for action in ("list", "open", "close", "reset", "disable", "metrics-only"):
        assert f"  {action} " in result.output
