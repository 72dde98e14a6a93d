"""Prometheus metrics under gunicorn with 2 workers and PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("gunicorn")
pytest.importorskip("flask")
prometheus = pytest.importorskip("prometheus_client")
httpx = pytest.importorskip("httpx")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from tests.browser.servers import fresh_get, gunicorn_workers  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONPATH": str(ROOT)}
    with gunicorn_workers("tests.prometheus.multiproc_app:app", "/metrics", env) as url:
        yield url


def series(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = fresh_get(f"{url}/metrics").text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "pid"))
            found[(sample.name, labels)] = sample.value
    return found


def state(url: str, value: str) -> float:
    return series(url)[("breakerpanel_state", (("dependency", "inventory"), ("state", value)))]


def successes(url: str) -> float:
    key = ("breakerpanel_calls_total", (("dependency", "inventory"), ("outcome", "success")))
    return series(url)[key]


def test_counts_add_up_and_dead_workers_are_not_reported_open(server: str) -> None:
    pids = {int(fresh_get(f"{server}/call").text) for _ in range(40)}
    assert len(pids) == 2, "both workers served calls"
    for _ in range(5):  # whichever worker answers the scrape, it answers for both
        assert successes(server) == 40
        assert state(server, "closed") == 1
        assert state(server, "open") == 0

    opened = int(fresh_get(f"{server}/open").text)
    for _ in range(5):
        assert state(server, "forced_open") == 1  # one live worker's breaker is open
        assert state(server, "closed") == 1  # the other's is closed

    os.kill(opened, signal.SIGKILL)  # gunicorn starts a new worker in its place
    assert wait_for(lambda: state(server, "forced_open") == 0), "a dead worker is reported open"
    for _ in range(5):
        assert state(server, "forced_open") == 0
        assert successes(server) == 40  # the dead worker's calls still count
