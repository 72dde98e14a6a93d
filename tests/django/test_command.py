"""``manage.py breakers``: the table, and actions that change state only where it is shared."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("django")

from django.core.management import CommandError, call_command

from breaker_core import State
from breaker_core.storage import Storage
from breaker_django import breakers, conf

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stderr: io.StringIO | None = None) -> str:
    out = io.StringIO()
    call_command("breakers", *args, stdout=out, stderr=stderr or io.StringIO())
    return out.getvalue()


def run_in_shell(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m django breakers <args>`` in a process of its own, on tests.django.settings."""
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.django.settings"}
    environ.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "django", "breakers", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_table_lists_every_breaker_aligned(clock):
    for _ in range(2):
        with pytest.raises(OSError, match="down"):
            breakers["inventory"].call(_fail)
    breakers["catalogue"].call(lambda: None)
    clock.advance(2.5)
    err = io.StringIO()
    assert run(stderr=err).splitlines() == [
        "NAME             STATE   FAILURES  FAILURE RATE  RETRY IN",
        "inventory        open    2/2       100%          7.5s",
        "catalogue        closed  0/1       0%            -",
        "recommendations  closed  0/0       0%            -",
    ]
    assert err.getvalue() == (
        "note: storage is memory://: each server process keeps its own breakers, so this is "
        "this command's fresh copy, not your servers' state; see the app's dashboard for "
        "theirs, or configure shared storage (redis://...).\n"
    )


def _fail() -> None:
    raise OSError("down")


def test_actions_are_refused_with_memory_storage_and_change_nothing():
    with pytest.raises(CommandError) as error:
        run("open", "inventory")
    assert str(error.value) == (
        "breaker state is kept in memory inside each server process (storage 'memory://'), "
        "so a command run from another process cannot change it; nothing was changed. "
        "Use the dashboard of the running app (it changes the process that serves it), "
        "or configure shared storage."
    )
    assert breakers["inventory"].state is State.CLOSED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("open", "inventroy"), "no dependency named 'inventroy' (declared: inventory, "),
        (("explode", "inventory"), "unknown action 'explode'; use one of: open, close, "),
        (("open",), "breakers open needs the dependency's name, like: breakers open inventory"),
    ],
)
def test_bad_arguments_are_command_errors(args, message):
    with pytest.raises(CommandError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        run(*args)


def test_actions_change_state_when_storage_is_shared(monkeypatch):
    # Shared (Redis) storage is not in this release: stand in for it on the live registry.
    live = conf.get_registry()
    monkeypatch.setattr(live, "_storage", Storage("redis://cache:6379/0", shared=True))
    assert run("open", "inventory") == (
        "inventory: forced open: every call is rejected until it is reset\n"
    )
    assert breakers["inventory"].state is State.FORCED_OPEN
    assert run("disable", "inventory").startswith("inventory: disabled")
    assert breakers["inventory"].state is State.DISABLED
    assert run("metrics-only", "inventory").startswith("inventory: in metrics-only mode")
    assert run("close", "inventory") == "inventory: closed, with an empty window\n"
    assert breakers["inventory"].state is State.CLOSED


def test_invalid_settings_are_a_command_error(settings):
    settings.BREAKERS = {"dependencies": {"inventory": {"window": "10x"}}}
    with pytest.raises(CommandError, match=r'(?s)settings.BREAKERS is invalid:.*"10x"'):
        run()


def test_a_refused_action_exits_non_zero_from_the_shell():
    done = run_in_shell("open", "inventory")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "CommandError: breaker state is kept in memory" in done.stderr


@pytest.mark.parametrize("args", [("--json",), ("list", "--json")], ids=" ".join)
def test_json_prints_the_status_document(args):
    # with or without the list command, as flask breakers and python -m breaker_core
    breakers["inventory"].force_open()
    document = json.loads(run(*args))
    assert document["schema"] == "breakerpanel.status/1"
    assert [(b["name"], b["state"]) for b in document["breakers"]] == [
        ("inventory", "forced_open"),
        ("catalogue", "closed"),
        ("recommendations", "closed"),
    ]


@pytest.mark.slow
def test_a_command_changes_the_running_apps_breakers_through_redis(redis_storage):
    server = conf.get_registry()  # the "running app": this process
    assert server.storage.shared
    done = run_in_shell("open", "inventory", BREAKERPANEL_TEST_STORAGE=redis_storage)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "inventory: forced open: every call is rejected until it is reset\n"
    assert server.storage.sync_now()
    assert breakers["inventory"].state is State.FORCED_OPEN
    listed = run_in_shell(BREAKERPANEL_TEST_STORAGE=redis_storage)
    assert listed.stdout.splitlines()[1].split()[:2] == ["inventory", "forced_open"]
    assert "each server process keeps its own breakers" not in listed.stderr
