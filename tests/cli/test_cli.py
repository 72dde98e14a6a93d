"""``python -m breaker_core``: loading settings, checking them, listing and changing state."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from breaker_core import CircuitBreaker, Registry, State
from breaker_core.ops.actions import ACTIONS
from breaker_core.ops.cli import build_parser, load_settings, main, run
from breaker_core.storage import Storage
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]

SETTINGS_MODULE = """
BREAKERS = {
    "defaults": {"failure_threshold": 5, "window": "10s"},
    "dependencies": {
        "inventory": {"url": "http://127.0.0.1:8001", "routes": ["/checkout/*"]},
        "recommendations": {"failure_rate": 0.5, "stale_for": "5m"},
    },
}
BAD = {"dependencies": {"inventory": {"window": "10x", "colour": "red"}}}
NOT_A_MAPPING = ["inventory"]

class Config:
    BREAKERS = {"dependencies": {"payments": {}}}
"""

SETTINGS_TOML = """
storage = "memory://"

[defaults]
failure_threshold = 5
window = "10s"

[dependencies.inventory]
url = "http://127.0.0.1:8001"
routes = ["/checkout/*"]

[dependencies.recommendations]
failure_rate = 0.5
stale_for = "5m"
"""

PYPROJECT = """
[project]
name = "shop"

[tool.breakerpanel.dependencies.search]
timeout = "800ms"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with a settings module and TOML files, as the current directory."""
    (tmp_path / "shop_settings.py").write_text(textwrap.dedent(SETTINGS_MODULE))
    (tmp_path / "broken_settings.py").write_text("BREAKERS = {}\nboom = 1 / 0\n")
    (tmp_path / "breakers.toml").write_text(SETTINGS_TOML)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "bad.toml").write_text('[dependencies.inventory]\nwindow = "10x"\n')
    (tmp_path / "syntax.toml").write_text("[dependencies\n")
    return tmp_path


def cli(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m breaker_core`` in ``project`` as a user would."""
    environ = {k: v for k, v in os.environ.items() if k != "BREAKERPANEL_SETTINGS"}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "integrations")])
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "breaker_core", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def in_process(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


# -- as a subprocess, the way it is used -------------------------------------------------


@pytest.mark.slow
def test_lists_breakers_from_a_module_as_an_aligned_table(project: Path):
    done = cli(project, "list", "--settings", "shop_settings")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "FAILURES", "FAILURE", "RATE", "RETRY", "IN"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["inventory", "closed"],
        ["recommendations", "closed"],
    ]
    # aligned: every column starts at the same offset on every line
    assert len({line.index("closed") for line in lines[1:]}) == 1
    assert lines[0].index("STATE") == lines[1].index("closed")
    # memory storage: the listing is this process's own breakers, and it says so
    assert "memory://" in done.stderr
    assert "dashboard" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_invalid_settings_exit_2_with_every_problem_and_no_traceback(project: Path):
    done = cli(project, "check", "--settings", "shop_settings:BAD")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert (
        'shop_settings.BAD["dependencies"]["inventory"]["window"]: expected a positive '
        'duration like "10s", got "10x"' in done.stderr
    )
    assert 'unknown setting "colour"' in done.stderr


@pytest.mark.slow
def test_changing_state_with_memory_storage_is_refused_and_changes_nothing(project: Path):
    done = cli(project, "open", "inventory", "--settings", "breakers.toml")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "nothing was changed" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_settings_from_the_environment_variable(project: Path):
    done = cli(project, "check", env={"BREAKERPANEL_SETTINGS": "breakers.toml"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "breakers.toml: settings OK; 2 dependencies (inventory, recommendations); "
        "storage memory:// (kept per process)"
    )


# -- in process --------------------------------------------------------------------------


@pytest.fixture
def importable(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``project`` as the current directory and on sys.path, its modules forgotten after."""
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.delenv("BREAKERPANEL_SETTINGS", raising=False)
    for name in ("shop_settings", "broken_settings"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return project


@pytest.mark.parametrize(
    ("spec", "names", "label"),
    [
        ("shop_settings", ("inventory", "recommendations"), "shop_settings.BREAKERS"),
        ("shop_settings:BREAKERS", ("inventory", "recommendations"), "shop_settings.BREAKERS"),
        ("shop_settings:Config.BREAKERS", ("payments",), "shop_settings.Config.BREAKERS"),
        ("breakers.toml", ("inventory", "recommendations"), "breakers.toml"),
        ("pyproject.toml:tool.breakerpanel", ("search",), "pyproject.toml:tool.breakerpanel"),
    ],
)
def test_load_settings_from_modules_and_toml(importable: Path, spec, names, label):
    settings, found_label = load_settings(spec)
    assert found_label == label
    registry = Registry.from_settings(settings)
    assert registry.names == names


def test_toml_and_python_settings_mean_the_same(importable: Path):
    from_toml = Registry.from_settings(load_settings("breakers.toml")[0])
    from_module = Registry.from_settings(load_settings("shop_settings")[0])
    for name in from_module.names:
        assert from_toml[name].config == from_module[name].config


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module", "cannot import settings module 'no_such_module'"),
        ("shop_settings:MISSING", "has no attribute 'MISSING'; name the mapping with --settings"),
        ("shop_settings:NOT_A_MAPPING", "shop_settings.NOT_A_MAPPING is a list, expected"),
        ("broken_settings", "importing settings module 'broken_settings' failed: "),
        ("missing.toml", "settings file 'missing.toml' does not exist"),
        ("syntax.toml", "settings file 'syntax.toml' is not valid TOML"),
        ("pyproject.toml:tool.nothing", "has no table [tool.nothing]"),
        ("not a module", "is neither a TOML file nor a module path"),
    ],
)
def test_settings_that_cannot_be_loaded_exit_2_naming_the_fix(importable: Path, spec, message):
    status, out, err = in_process("check", "--settings", spec)
    assert status == 2
    assert out == ""
    assert message in err
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_a_module_that_raises_on_import_is_reported_with_its_line(importable: Path):
    status, _, err = in_process("check", "--settings", "broken_settings")
    assert status == 2
    assert "ZeroDivisionError: division by zero" in err
    assert "broken_settings.py, line 2" in err


def test_invalid_toml_values_are_reported_with_their_path(importable: Path):
    status, _, err = in_process("check", "--settings", "bad.toml")
    assert status == 2
    assert 'bad.toml["dependencies"]["inventory"]["window"]: expected a positive duration' in err


def test_no_settings_at_all_says_how_to_give_them(importable: Path):
    status, _, err = in_process("list")
    assert status == 2
    assert "--settings" in err
    assert "BREAKERPANEL_SETTINGS" in err


def test_settings_option_before_or_after_the_command(importable: Path):
    assert in_process("--settings", "breakers.toml", "check")[0] == 0
    assert in_process("check", "--settings", "breakers.toml")[0] == 0
    status, out, _ = in_process("--settings", "breakers.toml")  # no command: list
    assert status == 0
    assert out.startswith("NAME")


@pytest.mark.parametrize(
    "args", [("list", "--json"), ("--json",), ("--json", "list")], ids=" ".join
)
def test_list_json_prints_the_status_document(importable: Path, args: tuple[str, ...]):
    # --json with or without the list command, as manage.py breakers and flask breakers
    status, out, _ = in_process(*args, "--settings", "breakers.toml")
    assert status == 0
    document = json.loads(out)
    assert document["schema"] == "breakerpanel.status/1"
    assert [b["name"] for b in document["breakers"]] == ["inventory", "recommendations"]
    assert document["breakers"][0]["routes"] == ["/checkout/*"]


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_is_refused_with_memory_storage(importable: Path, action: str):
    status, out, err = in_process(action, "inventory", "--settings", "breakers.toml")
    assert (status, out) == (1, "")
    assert "kept in memory inside each server process" in err


def test_an_unknown_dependency_names_the_declared_ones(importable: Path):
    status, _, err = in_process("open", "inventroy", "--settings", "breakers.toml")
    assert status == 1
    assert "no dependency named 'inventroy' (declared: inventory, recommendations)" in err


def test_an_unknown_command_is_a_usage_error(importable: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["explode", "--settings", "breakers.toml"])
    assert exited.value.code == 2
    assert "invalid choice: 'explode'" in capsys.readouterr().err


# -- the command layer with state that is shared -------------------------------------------


def shared_registry() -> Registry:
    """A registry whose storage claims to be shared, as Redis storage is."""
    registry = Registry(storage=Storage("memory://", shared=True))
    registry.add(CircuitBreaker("inventory"))
    return registry


@pytest.mark.parametrize(
    ("action", "state"),
    [
        ("open", State.FORCED_OPEN),
        ("disable", State.DISABLED),
        ("metrics-only", State.METRICS_ONLY),
        ("close", State.CLOSED),
        ("reset", State.CLOSED),
    ],
)
def test_actions_change_state_when_storage_is_shared(action: str, state: State):
    registry = shared_registry()
    if state is State.CLOSED:
        registry["inventory"].force_open()
    out, err = io.StringIO(), io.StringIO()
    args = build_parser().parse_args([action, "inventory"])
    assert run(args, registry, "test", out, err) == 0
    assert registry["inventory"].state is state
    assert out.getvalue().startswith("inventory: ")
    assert err.getvalue() == ""


def test_listing_shared_state_has_no_memory_note():
    registry = shared_registry()
    registry["inventory"].force_open()
    out, err = io.StringIO(), io.StringIO()
    assert run(build_parser().parse_args(["list"]), registry, "test", out, err) == 0
    assert out.getvalue().splitlines()[1].split()[:2] == ["inventory", "forced_open"]
    assert err.getvalue() == ""


# -- with shared state in a real Redis ------------------------------------------------------


@pytest.fixture
def redis_project(project: Path) -> Iterator[tuple[Path, Callable[[], None]]]:
    """A project whose settings use a real redis-server on a free port; and a way to stop it."""
    pytest.importorskip("redis")
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.02)
    (project / "redis_settings.py").write_text(
        f'BREAKERS = {{"storage": "redis://127.0.0.1:{port}/0?timeout=200ms", '
        '"dependencies": {"inventory": {}, "recommendations": {}}}\n'
    )

    def stop() -> None:
        process.terminate()
        process.wait(10)

    yield project, stop
    if process.poll() is None:
        stop()


def states(project: Path) -> dict[str, str]:
    done = cli(project, "list", "--json", "--settings", "redis_settings")
    assert done.returncode == 0, done.stderr
    return {entry["name"]: entry["state"] for entry in json.loads(done.stdout)["breakers"]}


@pytest.mark.slow
def test_with_redis_storage_commands_change_the_shared_state(redis_project):
    project, _ = redis_project
    assert states(project) == {"inventory": "closed", "recommendations": "closed"}
    done = cli(project, "open", "inventory", "--settings", "redis_settings")
    assert (done.returncode, done.stdout) == (
        0,
        "inventory: forced open: every call is rejected until it is reset\n",
    )
    # another process (a new command) sees it
    assert states(project) == {"inventory": "forced_open", "recommendations": "closed"}
    looked = cli(project, "list", "--settings", "redis_settings")
    assert "forced_open" in looked.stdout
    # It shows the state another command set; it logs no transition of its own.
    assert " -> " not in looked.stderr, looked.stderr
    assert cli(project, "reset", "inventory", "--settings", "redis_settings").returncode == 0
    assert states(project)["inventory"] == "closed"
    listing = cli(project, "list", "--settings", "redis_settings")
    assert "memory://" not in listing.stderr  # no "this is not your servers' state" note


@pytest.mark.slow
def test_with_redis_down_commands_refuse_instead_of_pretending(redis_project):
    project, stop = redis_project
    stop()
    done = cli(project, "open", "inventory", "--settings", "redis_settings")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "does not answer" in done.stderr
    assert "nothing was changed" in done.stderr
    listing = cli(project, "list", "--settings", "redis_settings")
    assert listing.returncode == 1
    assert listing.stdout == ""
    assert "Traceback" not in done.stderr + listing.stderr


def test_check_and_a_live_reconfigure_judge_settings_alike(importable: Path):
    """``check`` reads the settings the way ``registry.reconfigure`` applies them."""
    from breaker_core import ConfigurationError, Registry
    from breaker_core.ops.cli import load_settings

    status, _, err = in_process("check", "--settings", "bad.toml")
    assert status == 2
    printed = [line.strip() for line in err.splitlines()[1:]]
    bad, label = load_settings("bad.toml")
    good, _ = load_settings("breakers.toml")
    registry = Registry.from_settings(good, path=label)
    with pytest.raises(ConfigurationError) as live:
        registry.reconfigure(bad)
    assert list(live.value.problems) == printed
    registry.reconfigure(good)  # what check accepts, reconfigure applies
