"""The built wheel holds every package and py.typed (not only the editable install)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)
"""The project's import packages: the one list in pyproject.toml, import-linter's roots."""


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


@pytest.mark.slow
def test_wheel_ships_the_license(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert "License-Expression: MIT" in text


SMOKE = r"""
import sys

assert "pytest" not in sys.modules
from breaker_core.testing import BreakerStates, FakeClock  # no pytest in this environment
import importlib.util
assert importlib.util.find_spec("pytest") is None

BREAKERS = {"dependencies": {"inventory": {"url": "http://127.0.0.1:9", "routes": ["/checkout*"]}}}

# -- the engine and its ready client: a finite default timeout
from breaker_core import ConfigurationError, Registry
registry = Registry.from_settings(BREAKERS, clock=FakeClock())
with registry.client("inventory") as client:
    assert client.timeout.read == 5.0
registry.close()

# -- Flask
from flask import Flask
from breaker_flask import Breakers
app = Flask("smoke")
app.config["BREAKERS"] = BREAKERS
app.get("/checkout")(lambda: "ok")
Breakers(app)
app.extensions["breakers"]["inventory"].force_open()
answer = app.test_client().get("/checkout")
assert answer.status_code == 503 and answer.headers["Retry-After"] == "10", answer
print("flask ok")

# -- Starlette
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from breaker_starlette import BreakerMiddleware
registry = Registry.from_settings(BREAKERS)
asgi = Starlette(routes=[Route("/checkout", lambda request: PlainTextResponse("ok"))])
asgi.add_middleware(BreakerMiddleware, registry=registry)
registry["inventory"].force_open()
with TestClient(asgi) as client:
    assert client.get("/checkout").status_code == 503
print("starlette ok")

# -- Django
import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from breaker_django.decorators import breaker_required

@breaker_required("inventory")
def reserve(request):
    return HttpResponse("reserved")

urlpatterns = [path("reserve", reserve), path("checkout", lambda request: HttpResponse("ok"))]
settings.configure(
    SECRET_KEY="smoke", ALLOWED_HOSTS=["testserver"], ROOT_URLCONF=__name__,
    INSTALLED_APPS=["breaker_django"], BREAKERS=BREAKERS,
    MIDDLEWARE=["breaker_django.middleware.BreakerMiddleware"],
)
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
from breaker_django import breakers
setup_test_environment()
breakers["inventory"].force_open()
assert Client().get("/reserve").status_code == 503
assert Client().get("/checkout").status_code == 503
print("django ok")
"""

BAD_DJANGO = r"""
import django
from django.conf import settings
settings.configure(SECRET_KEY="smoke", INSTALLED_APPS=["breaker_django"],
                   BREAKERS={"dependencies": {"inventory": {"window": "10x"}}})
try:
    django.setup()
except Exception as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.slow
def test_the_wheel_in_a_clean_virtualenv_runs_every_integration(wheel: Path, tmp_path: Path):
    """``pip install breakerpanel-*.whl[...]`` into a fresh venv, then each framework's guard."""
    import os
    import venv

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # No PYTHONPATH for pip either: a source tree on it (with its breakerpanel.egg-info)
    # reads as breakerpanel already installed, and pip would leave the wheel out.
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO"))}
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"{wheel}[django,flask,starlette,http]"],
        capture_output=True,
        text=True,
        env=clean_env,
        check=False,
    )
    if installed.returncode != 0:
        reason = f"pip could not install the wheel's extras here:\n{installed.stderr[-2000:]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    run = [str(python), "-W", "ignore::DeprecationWarning", "-c"]
    done = subprocess.run(
        [*run, SMOKE], capture_output=True, text=True, cwd=tmp_path, env=clean_env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["flask", "ok", "starlette", "ok", "django", "ok"]
    bad = subprocess.run(
        [*run, BAD_DJANGO], capture_output=True, text=True, cwd=tmp_path, env=clean_env
    )
    assert bad.stdout.startswith("InvalidBreakerSettings breakerpanel: settings.BREAKERS has 1")
    assert 'BREAKERS["dependencies"]["inventory"]["window"]' in bad.stdout


def test_the_package_list_names_every_package_of_the_tree():
    integrations = (ROOT / "integrations").glob("*/__init__.py")
    found = {"breaker_core"} | {init.parent.name for init in integrations}
    assert set(PACKAGES) == found, "update [tool.importlinter] root_packages in pyproject.toml"
