"""``manage.py check --deploy``: the warnings that matter in production, exactly.

W006: memory:// breakers while several worker processes serve the site (read from
the server's own settings where given); W007: a dependency with a url and no
timeout; W008: every breaker switched off.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

pytest.importorskip("django")

from django.core.checks import run_checks
from django.core.management import call_command

from breaker_django import conf
from breaker_django.servers import Workers, worker_processes

SERVER_VARIABLES = ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "UWSGI_PROCESSES")


@pytest.fixture(autouse=True)
def no_server_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No worker count in the environment, and a current directory without gunicorn.conf.py."""
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def deploy_warnings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in run_checks(include_deployment_checks=True):
        if message.id in ("breaker.W006", "breaker.W007", "breaker.W008"):
            found.setdefault(message.id, []).append(message.msg)
    return found


def test_memory_storage_with_several_workers_named_by_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    (message,) = deploy_warnings()["breaker.W006"]
    assert "4 worker processes serve the site (WEB_CONCURRENCY=4)" in message
    assert '"memory://"' in message


@pytest.mark.parametrize(
    ("arguments", "count"),
    [("--workers 3", 3), ("--bind :8000 -w 2", 2), ("--workers=5 --preload", 5), ("-w1", 1)],
)
def test_gunicorn_command_line_arguments_are_read(monkeypatch, arguments, count):
    monkeypatch.setenv("GUNICORN_CMD_ARGS", arguments)
    assert worker_processes().count == count


def test_one_worker_process_is_no_problem(monkeypatch, no_server_settings):
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert "breaker.W006" not in deploy_warnings()
    monkeypatch.delenv("WEB_CONCURRENCY")
    (no_server_settings / "gunicorn.conf.py").write_text('bind = ":8000"\nworkers = 1\n')
    assert worker_processes() == Workers(1, "workers = 1 in gunicorn.conf.py")
    assert "breaker.W006" not in deploy_warnings()


def test_a_gunicorn_config_file_with_several_workers(no_server_settings):
    (no_server_settings / "gunicorn.conf.py").write_text("workers = 9\n")
    (message,) = deploy_warnings()["breaker.W006"]
    assert "9 worker processes serve the site (workers = 9 in gunicorn.conf.py)" in message


def test_an_installed_server_without_a_count_still_warns():
    pytest.importorskip("gunicorn")
    (message,) = deploy_warnings()["breaker.W006"]
    assert "gunicorn is" in message
    assert "runs several worker processes when told to" in message


def test_shared_storage_is_no_problem(settings, redis_url, monkeypatch):
    redis = pytest.importorskip("redis")
    prefix = f"deploycheck{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    storage = f"{redis_url}{'&' if '?' in redis_url else '?'}prefix={prefix}&refresh=0"
    settings.BREAKERS = {**settings.BREAKERS, "storage": storage}
    try:
        assert "breaker.W006" not in deploy_warnings()
    finally:
        conf.get_registry().close()  # its last flush first, then the keys go
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_a_dependency_with_a_url_and_no_timeout(settings):
    dependencies = dict(settings.BREAKERS["dependencies"])
    dependencies["inventory"] = {**dependencies["inventory"], "timeout": None}
    settings.BREAKERS = {**settings.BREAKERS, "dependencies": dependencies}
    assert deploy_warnings()["breaker.W007"] == [
        'BREAKERS["dependencies"]["inventory"]["timeout"] is None: outbound clients of '
        "inventory wait without bound on a dependency that hangs, and every waiting request "
        "holds a worker"
    ]


def test_the_default_timeout_needs_no_warning():
    # recommendations has a url and no timeout key: it gets the default, so no W007.
    assert "breaker.W007" not in deploy_warnings()


def test_breakers_switched_off(settings):
    settings.BREAKERS = {**settings.BREAKERS, "enabled": False}
    (message,) = deploy_warnings()["breaker.W008"]
    assert message.startswith('BREAKERS["enabled"] is False: every breaker is a pass-through')


def test_deploy_warnings_only_with_deploy(monkeypatch, settings):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    settings.BREAKERS = {**settings.BREAKERS, "enabled": False}
    ids = {m.id for m in run_checks()}
    assert not ids & {"breaker.W006", "breaker.W007", "breaker.W008"}
    out, err = io.StringIO(), io.StringIO()
    call_command("check", "--deploy", stdout=out, stderr=err)
    assert "breaker.W006" in err.getvalue()
    assert "breaker.W008" in err.getvalue()
