"""Under gunicorn with 2 workers and memory storage, each answer names its process and its counts.

Each worker keeps its own breakers and history: the status document and the
dashboard say which process answered, and its figures are that process's calls.
"""

from __future__ import annotations

import collections
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("gunicorn")
pytest.importorskip("flask")
httpx = pytest.importorskip("httpx")

from tests.browser.servers import fresh_get, gunicorn_workers  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CALLS = 40


@pytest.fixture
def server() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "integrations")])}
    with gunicorn_workers("tests.web.prefork_app:app", "/breakers/status", env) as url:
        yield url


def test_every_answer_names_its_process_and_shows_that_process_calls(server: str) -> None:
    served: collections.Counter[int] = collections.Counter()
    deadline = time.monotonic() + 60
    while (len(served) < 2 or sum(served.values()) < CALLS) and time.monotonic() < deadline:
        served[int(fresh_get(f"{server}/call").text)] += 1
    assert len(served) == 2, f"one worker took every call: {served}"

    seen: dict[int, int] = {}
    for _ in range(60):
        document = fresh_get(f"{server}/breakers/status").json()
        pid = document["process"]["pid"]
        (inventory,) = document["breakers"]
        seen[pid] = inventory["history"]["total"]["calls"]
        page = fresh_get(f"{server}/breakers/").text
        shown = re.search(r'by process <span id="pid">(\d+)</span>', page)
        assert shown is not None
        assert int(shown.group(1)) in served
        assert "another process may show different figures" in page
        if len(seen) == 2:
            break
    assert seen == dict(served)  # each process answers with its own calls, and says so
