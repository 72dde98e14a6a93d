"""Fixtures and hooks shared by every test folder.

Missing extras: test modules import their optional packages with
``pytest.importorskip``. On a developer's machine without an extra, those tests
are skipped with the reason; when the ``CI`` environment variable is set, the
same skip is turned into a failure, so a CI run never passes by leaving a whole
suite out (as unreachable Redis and a missing Chromium already fail there).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from breaker_core.clock import FakeClock

if TYPE_CHECKING:
    from example_apps.upstream import Upstream

# pytest.importorskip's message, the one way our tests say "an extra is missing".
_MISSING_EXTRA = "could not import"


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _skip_message(longrepr: object) -> str:
    # A skip's longrepr is (path, line, "Skipped: <reason>").
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_missing_extra(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not (_in_ci() and report.skipped):
        return
    message = _skip_message(report.longrepr)
    if _MISSING_EXTRA not in message:
        return
    report.outcome = "failed"
    report.longrepr = (
        f"{message.removeprefix('Skipped: ')}\n"
        "CI is set, so a missing extra fails instead of skipping: install the project "
        'with its test extras (pip install -e ".[all,dev]", as make test does).'
    )


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Under CI, a module skipped for a missing extra fails its collection."""
    report = yield
    _fail_missing_extra(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI, a test skipped for a missing extra fails."""
    report = yield
    _fail_missing_extra(report)
    return report


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a reachable Redis: REDIS_URL, default redis://127.0.0.1:6379/15.

    Skips with the reason when there is none, or fails when CI is set.
    """
    redis = pytest.importorskip("redis")
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        message = f"Redis at {url} is unreachable ({exc}); set REDIS_URL to run these tests"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return str(url)


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at 1000 s."""
    return FakeClock()


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[Upstream]:
    """One real flaky upstream on 127.0.0.1 for the session (use ``upstream``)."""
    # Imported here: this file is also copied alone into a bare folder
    # (tests/core/test_ci_extras.py), where example_apps is not importable.
    from example_apps.upstream import Upstream

    with Upstream() as up:
        yield up


@pytest.fixture
def upstream(upstream_server: Upstream) -> Iterator[Upstream]:
    """A real flaky upstream on 127.0.0.1, healthy and with zeroed counters."""
    upstream_server.set_mode("healthy")
    upstream_server.reset_stats()
    yield upstream_server
    upstream_server.set_mode("healthy")


@pytest.fixture
def upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    """A shop's two real upstreams on 127.0.0.1, inventory and recommendations, fresh per test."""
    from example_apps.upstream import Upstream  # imported here: see upstream_server

    with Upstream() as inventory, Upstream() as recommendations:
        yield inventory, recommendations


@pytest.fixture
def fine_switching() -> Iterator[None]:
    """Threads switch every 10 microseconds: counts, reads and rolls interleave often."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)
