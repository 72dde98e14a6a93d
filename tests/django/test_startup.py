"""Invalid ``BREAKERS`` stops Django in every server, with the system checks' full list.

A real project on disk (settings with typos), run by real gunicorn and uvicorn: the
process refuses to start and says why; it never answers a request (let alone a 500).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from tests.polling import first_response
from tests.ports import free_port

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

SETTINGS = """\
SECRET_KEY = "startup-test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "site_under_test.urls"
INSTALLED_APPS = ["breaker_django"]
MIDDLEWARE = ["breaker_django.middleware.BreakerMiddleware"]
DATABASES = {}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
BREAKERS = %s
"""
URLS = """\
from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("", lambda request: HttpResponse("home"))]
"""
BAD = """{
    "dependencies": {
        "inventory": {"url": "http://127.0.0.1:9", "window": "10x", "retries": 3},
        "recommendations": {"failure_threshold": 0},
    },
}"""
PROBLEMS = (
    'BREAKERS["dependencies"]["inventory"]["window"]: expected a positive duration',
    'BREAKERS["dependencies"]["inventory"]: unknown setting "retries"',
    'BREAKERS["dependencies"]["recommendations"]["failure_threshold"]',
)


def _project(tmp_path: Path, breakers: str) -> Path:
    package = tmp_path / "site_under_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS % breakers)
    (package / "urls.py").write_text(URLS)
    for kind in ("wsgi", "asgi"):
        (package / f"{kind}.py").write_text(
            textwrap.dedent(f"""\
                import os
                from django.core.{kind} import get_{kind}_application
                os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_under_test.settings")
                application = get_{kind}_application()
            """)
        )
    (tmp_path / "manage.py").write_text(
        "import os, sys\n"
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_under_test.settings")\n'
        "from django.core.management import execute_from_command_line\n"
        "execute_from_command_line(sys.argv)\n"
    )
    return tmp_path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


SERVERS = {
    "gunicorn": lambda port: [
        str(BIN / "gunicorn"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "20"),
        "site_under_test.wsgi:application",
    ],
    "uvicorn": lambda port: [
        *(sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)),
        "site_under_test.asgi:application",
    ],
}


def _run(project: Path, server: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen(
        SERVERS[server](port),
        cwd=project,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, port


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_typo_stops_the_server_with_every_problem(tmp_path, server):
    process, port = _run(_project(tmp_path, BAD), server)
    answers = []
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:  # whatever happens, no request is ever answered
                answers.append(httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code)
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert process.poll() is not None, "the server kept running with invalid BREAKERS"
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate(timeout=30)[0]
    assert process.returncode != 0
    assert answers == []
    assert "settings.BREAKERS has 3 problems; Django cannot start" in output
    for problem in PROBLEMS:
        assert f"breaker.E001: {problem}" in output


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_valid_settings_start_and_answer(tmp_path, server):
    good = '{"dependencies": {"inventory": {"url": "http://127.0.0.1:9"}}}'
    process, port = _run(_project(tmp_path, good), server)
    try:
        response = first_response(f"http://127.0.0.1:{port}/", process, 60, timeout=2)
        assert (response.status_code, response.text) == (200, "home")
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_manage_py_check_lists_the_same_problems(tmp_path):
    project = _project(tmp_path, BAD)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    for problem in PROBLEMS:
        assert f"breaker.E001: {problem}" in done.stderr
    assert "HINT: Fix this entry of settings.BREAKERS." in done.stderr


def test_a_silenced_check_does_not_stop_django(tmp_path):
    project = _project(tmp_path, '{"dependencies": {"inventory": {"routes": ["/x/*"]}}}')
    settings = project / "site_under_test" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            'MIDDLEWARE = ["breaker_django.middleware.BreakerMiddleware"]', "MIDDLEWARE = []"
        )
    )
    run = [sys.executable, "manage.py", "check"]
    done = subprocess.run(run, cwd=project, env=_env(), capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "breaker.E003: inventory declares routes" in done.stderr
    with settings.open("a") as extra:
        extra.write('SILENCED_SYSTEM_CHECKS = ["breaker.E003"]\n')
    done = subprocess.run(run, cwd=project, env=_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
