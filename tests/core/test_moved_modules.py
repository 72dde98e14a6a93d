"""Modules that moved keep working for one release, and say where they went."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MOVED = {
    "breaker_core.metrics": "breaker_core.ops.metrics",
    "breaker_core.cli": "breaker_core.ops.cli",
    "breaker_core.web.status": "breaker_core.ops.status",
    "breaker_core.web.health": "breaker_core.ops.health",
    "breaker_core.web.schemas": "breaker_core.ops.schemas",
}


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_module_warns_and_gives_the_same_objects(old, new, monkeypatch):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated .* use {new} instead"):
        alias = importlib.import_module(old)
    moved = importlib.import_module(new)
    assert alias.__all__ == moved.__all__
    for name in moved.__all__:
        assert getattr(alias, name) is getattr(moved, name), name


def test_python_m_breaker_core_warns_about_nothing():
    # The documented command is not deprecated: running it with every warning an
    # error must work.
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "breaker_core", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: python -m breaker_core" in done.stdout
