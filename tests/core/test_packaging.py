"""The built wheel holds every package and py.typed (not only the editable install)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "breaker_core",
    "breaker_django",
    "breaker_flask",
    "breaker_starlette",
    "breaker_jinja",
    "breaker_http",
    "breaker_opentelemetry",
    "breaker_retry",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("breakerpanel-*.whl")
    return built


@pytest.mark.slow
def test_wheel_holds_every_package_with_py_typed(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names, package
        assert f"{package}/py.typed" in names, package
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "integrations/"))]


@pytest.mark.slow
def test_wheel_declares_the_extras(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    extras = {
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Provides-Extra:")
    }
    assert {"django", "flask", "starlette", "redis", "http", "prometheus", "all"} <= extras
    assert "Requires-Python: >=3.11" in text


@pytest.mark.slow
def test_wheel_installs_and_imports_in_a_clean_environment(wheel: Path, tmp_path: Path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = "import " + ", ".join(PACKAGES) + "; import breaker_core; print(breaker_core.__file__)"
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert out.strip().startswith(str(target))
