"""Under CI a test that needs a missing extra fails; elsewhere it is skipped with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

MODULE_LEVEL = """
import pytest
missing = pytest.importorskip("breakerpanel_no_such_extra")
def test_needs_it():
    pass
"""

IN_TEST = """
import pytest
def test_needs_it():
    pytest.importorskip("breakerpanel_no_such_extra")
def test_skipped_for_another_reason():
    pytest.skip("not this platform")
"""


def run(tmp_path: Path, source: str, *, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(ROOT_CONFTEST.read_text())
    (tmp_path / "test_extra.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "-c", os.devnull,
         "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("source", [MODULE_LEVEL, IN_TEST], ids=["module", "test"])
def test_a_missing_extra_is_skipped_outside_ci(tmp_path: Path, source: str) -> None:
    result = run(tmp_path, source, ci=False)
    assert result.returncode in (0, 5), result.stdout  # 5: every test skipped at collection
    assert "could not import 'breakerpanel_no_such_extra'" in result.stdout
    assert "failed" not in result.stdout.splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("source", [MODULE_LEVEL, IN_TEST], ids=["module", "test"])
def test_a_missing_extra_fails_under_ci(tmp_path: Path, source: str) -> None:
    result = run(tmp_path, source, ci=True)
    assert result.returncode != 0
    assert "CI is set, so a missing extra fails instead of skipping" in result.stdout


@pytest.mark.slow
def test_other_skips_stay_skips_under_ci(tmp_path: Path) -> None:
    result = run(tmp_path, IN_TEST, ci=True)
    last = result.stdout.splitlines()[-1]
    assert "1 failed" in last
    assert "1 skipped" in last
