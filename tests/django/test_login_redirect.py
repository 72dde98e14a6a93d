"""The dashboard's login redirect in projects made by ``django-admin startproject``.

Each project runs in its own process (its own settings), with Django's test client.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("django")

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
first = client.get("/breakers/")
answer = {"status": first.status_code, "location": first.get("Location"),
          "body": first.content.decode()}
if first.status_code == 302:
    try:
        answer["followed"] = client.get(first["Location"]).status_code
    except Exception as exc:  # a routed login view whose template the project lacks
        answer["followed"] = type(exc).__name__
print(json.dumps(answer))
"""


def startproject(tmp_path: Path, *, admin: bool, extra_urls: str = "", settings: str = "") -> Path:
    """A fresh project with breaker_django added as the docs say; admin kept or removed."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "site_", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    settings_file = tmp_path / "site_" / "settings.py"
    text = re.sub(
        r"""(["']django.contrib.staticfiles["'],)""",
        r'\1\n    "breaker_django",',
        settings_file.read_text(),
    )
    if not admin:
        text = re.sub(r"""["']django.contrib.admin["'],""", "", text)
    settings_file.write_text(text + settings)
    urls_file = tmp_path / "site_" / "urls.py"
    urls = urls_file.read_text().replace(
        "from django.urls import path", "from django.urls import include, path"
    )
    if not admin:
        urls = urls.replace("from django.contrib import admin\n", "")
        urls = re.sub(r"""path\(["']admin/["'], admin.site.urls\),""", "", urls)
    urls = urls.replace(
        "urlpatterns = [",
        'urlpatterns = [\n    path("breakers/", include("breaker_django.urls")),' + extra_urls,
    )
    urls_file.write_text(urls)
    return tmp_path


def visit(project: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "site_.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(project), str(ROOT), str(ROOT / "integrations")])
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.slow
def test_with_the_admin_anonymous_visitors_go_to_the_admin_login(tmp_path):
    answer = visit(startproject(tmp_path, admin=True))
    assert answer["status"] == 302
    assert answer["location"] == "/admin/login/?next=%2Fbreakers%2F"
    assert answer["followed"] == 200  # a real login page, not a 404


@pytest.mark.slow
def test_without_the_admin_or_a_login_page_the_dashboard_says_what_to_do(tmp_path):
    answer = visit(startproject(tmp_path, admin=False))
    assert answer["status"] == 403  # never a redirect to /accounts/login/, which 404s here
    assert "no login page" in str(answer["body"])
    assert "LOGIN_URL" in str(answer["body"])


@pytest.mark.slow
def test_a_routed_default_login_url_is_used(tmp_path):
    project = startproject(
        tmp_path,
        admin=True,
        extra_urls='\n    path("accounts/", include("django.contrib.auth.urls")),',
    )
    answer = visit(project)
    assert answer["location"] == "/accounts/login/?next=%2Fbreakers%2F"


@pytest.mark.slow
def test_a_login_url_you_set_is_used_as_it_is(tmp_path):
    project = startproject(tmp_path, admin=True, settings='\nLOGIN_URL = "/signin/"\n')
    answer = visit(project)
    assert answer["location"] == "/signin/?next=%2Fbreakers%2F"
