"""Django for the tests of this folder: a real settings module, fresh breakers per test.

Django is configured (``DJANGO_SETTINGS_MODULE=tests.django.settings``) only
when the first test of this folder runs, and this folder's tests run last in
a session. So every other test of the suite runs in a process where Django is
not configured, as when this folder is not selected at all: a ``pytester``
run in another folder, which loads pytest-django again in this process, does
not find a Django test environment already set up.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("django")
pytest.importorskip("pytest_django")

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run this folder's tests after every other test of the session (order kept)."""
    ours = [item for item in items if HERE in Path(str(item.path)).parents]
    if ours:
        others = [item for item in items if HERE not in Path(str(item.path)).parents]
        items[:] = others + ours


_own_test_environment: list[bool] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Configure Django before the first test of this folder sets up its fixtures."""
    from django.conf import settings

    if settings.configured:
        return
    import django
    from django.test.utils import setup_test_environment

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django.settings")
    django.setup()
    if item.session.items and item.session.items[0] is not item:
        # pytest-django set up its session fixtures before Django was configured
        # (other folders' tests ran first); set up the test environment ourselves.
        setup_test_environment(debug=False)
        _own_test_environment.append(True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _own_test_environment:
        from django.test.utils import teardown_test_environment

        teardown_test_environment()


@pytest.fixture(scope="session")
def django_db_blocker(request: pytest.FixtureRequest) -> object:
    """pytest-django's database blocker.

    pytest-django's own fixture is None for the whole session when it was first
    requested (by its autouse fixtures) before Django was configured, which is
    the case when other folders' tests ran first.
    """
    from pytest_django.plugin import blocking_manager_key

    return request.config.stash[blocking_manager_key]


@pytest.fixture(scope="session", autouse=True)
def _block_database(django_db_blocker) -> Iterator[None]:
    """Database access only for tests that ask for it (``db``), as pytest-django does."""
    django_db_blocker.block()
    yield
    django_db_blocker.restore()


@pytest.fixture(autouse=True)
def breakers_clock(settings, clock) -> object:
    """Every test gets fresh breakers on the fake clock, and empty caches."""
    from django.core.cache import caches

    settings.BREAKERS_CLOCK = clock
    for alias in settings.CACHES:
        caches[alias].clear()
    return clock


REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_storage(settings) -> Iterator[str]:
    """Shared storage in a real Redis (skipped without one), under a fresh key prefix."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({exc}); set REDIS_URL")
    prefix = "bbdjango" + uuid.uuid4().hex[:10]
    url = f"{REDIS_URL}?prefix={prefix}&refresh=0"
    settings.BREAKERS_CLOCK = None  # shared state runs on wall time, as in production
    settings.BREAKERS = {**settings.BREAKERS, "storage": url}
    try:
        yield url
    finally:
        settings.BREAKERS = {**settings.BREAKERS, "storage": "memory://"}  # closes the old one
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
