"""The demo's supervisor with small real child processes: start, watch, stop, clean up."""

from __future__ import annotations

import io
import re
import sys
import time
from pathlib import Path

import pytest

from example_apps.demo.servers import Service
from example_apps.demo.supervisor import ChildExited, Supervisor
from tests.polling import wait_for
from tests.processes import alive

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")

SLEEPER = "import time; time.sleep(60)"
# A child that starts a grandchild ignoring SIGINT, says its pid, and exits on SIGINT.
PARENT = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"])
print("grandchild", child.pid, flush=True)
time.sleep(60)
"""


def python(name: str, code: str, ready_url: str = "") -> Service:
    return Service(name, (sys.executable, "-c", code), ready_url)


def test_stop_ends_every_child_and_everything_they_started():
    out = io.StringIO()
    supervisor = Supervisor(out=out)
    supervisor.start(python("parent", PARENT))
    supervisor.start(python("sleeper", SLEEPER))
    assert wait_for(lambda: "grandchild" in out.getvalue())
    grandchild = int(re.search(r"\[parent\] grandchild (\d+)", out.getvalue()).group(1))
    children = supervisor.pids
    assert all(alive(pid) for pid in [*children, grandchild])
    began = time.monotonic()
    supervisor.stop(grace=1.0)
    assert time.monotonic() - began < 6
    # SIGKILL takes effect asynchronously: give the kernel a moment.
    assert wait_for(lambda: not any(alive(pid) for pid in [*children, grandchild]), timeout=2)


def test_watch_reports_a_child_that_exits():
    with Supervisor(out=io.StringIO()) as supervisor:
        supervisor.start(python("sleeper", SLEEPER))
        supervisor.start(python("crasher", "import sys; print('bye'); sys.exit(3)"))
        with pytest.raises(ChildExited, match="crasher exited with status 3") as raised:
            supervisor.watch()
        assert (raised.value.name, raised.value.code) == ("crasher", 3)
        sleeper = supervisor.pids[0]
    assert wait_for(lambda: not alive(sleeper), timeout=2)


def test_a_stop_request_ends_watch_and_starts_nothing_more():
    with Supervisor(out=io.StringIO()) as supervisor:
        supervisor.start(python("sleeper", SLEEPER))
        supervisor.request_stop()
        supervisor.watch()  # returns at once
        with pytest.raises(InterruptedError, match="before late started"):
            supervisor.start(python("late", SLEEPER))
        assert len(supervisor.pids) == 1


def test_wait_ready_gives_up_on_a_server_that_never_answers():
    with Supervisor(out=io.StringIO()) as supervisor:
        supervisor.start(python("mute", SLEEPER, "http://127.0.0.1:9/"))
        with pytest.raises(TimeoutError, match=r"mute \(http://127.0.0.1:9/\)"):
            supervisor.wait_ready(timeout=0.5)


def test_wait_ready_reports_a_server_that_dies_starting():
    with Supervisor(out=io.StringIO()) as supervisor:
        supervisor.start(python("broken", "raise SystemExit(2)", "http://127.0.0.1:9/"))
        with pytest.raises(ChildExited, match="broken exited with status 2"):
            supervisor.wait_ready(timeout=10)


def test_output_is_prefixed_and_a_failed_preparation_raises():
    out = io.StringIO()
    with Supervisor(out=out) as supervisor:
        supervisor.run_once("prep", [sys.executable, "-c", "print('migrated')"])
        with pytest.raises(ChildExited, match="prep exited with status 1"):
            supervisor.run_once("prep", [sys.executable, "-c", "raise SystemExit(1)"])
    assert "[prep] migrated\n" in out.getvalue()
