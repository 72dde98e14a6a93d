"""``python -m example_apps.demo``: every server answers, and SIGINT leaves no process behind."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.polling import wait_for
from tests.ports import free_ports
from tests.processes import alive, stop

for module in ("gunicorn", "uvicorn", "django", "flask", "fastapi"):
    pytest.importorskip(module)
httpx = pytest.importorskip("httpx")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)"),
]

ROOT = Path(__file__).resolve().parents[2]
SWITCHES = ("SHOP_MODE", "BREAKERS_STORAGE", "SHOP_INVENTORY_BREAKER", "SHOP_ADMIN_PASSWORD")


def parents() -> dict[int, int]:
    """Every process's parent, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def descendants(root: int) -> set[int]:
    tree = parents()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in tree.items() if parent in frontier} - found
        found |= frontier
    return found


@contextmanager
def running_demo(
    tmp_path: Path, *options: str
) -> Iterator[tuple[subprocess.Popen[str], str, dict[str, int]]]:
    """``python -m example_apps.demo`` on free ports, once its banner is out.

    Yields the process, the banner and the ports by server (upstream, control, django,
    flask, fastapi); stops it with SIGINT, the way a user would, on the way out (a
    process that already exited is only reaped).
    """
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    servers = ("upstream", "control", "django", "flask", "fastapi")
    ports = dict(zip(servers, free_ports(len(servers)), strict=True))
    arguments = [*(f"--{name}-port={port}" for name, port in ports.items()), *options]
    demo = subprocess.Popen(
        [sys.executable, "-m", "example_apps.demo", *arguments, f"--data-dir={tmp_path}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in demo.stdout], daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not any("breakerpanel demo is up" in line for line in output):
            assert demo.poll() is None, "".join(output)
            assert time.monotonic() < deadline, "".join(output)
            try:
                output.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        time.sleep(0.5)  # the rest of the banner
        while not lines.empty():
            output.append(lines.get())
        yield demo, "".join(output), ports
    finally:
        stop(demo, signal.SIGINT)
        demo.stdout.close()


def test_the_demo_serves_every_shop_and_stops_everything_on_sigint(tmp_path):
    with running_demo(tmp_path, "--workers=2") as (demo, banner, ports):
        upstream, control, django, flask, fastapi = ports.values()
        base = {
            name: f"http://127.0.0.1:{port}"
            for name, port in (("django", django), ("flask", flask), ("fastapi", fastapi))
        }
        for url in (f"http://127.0.0.1:{control}/_control", *base.values()):
            assert url in banner
        assert "curl -X PUT" in banner

        with httpx.Client(timeout=10) as client:
            assert client.get(f"http://127.0.0.1:{control}/_control").json()["mode"] == "healthy"
            for name, product in (
                ("django", "/product/SKU-1/"),
                ("flask", "/product/SKU-1"),
                ("fastapi", "/product/SKU-1"),
            ):
                page = client.get(base[name] + product)
                assert (page.status_code, "in stock" in page.text) == (200, True), name
            # The dashboards, as the banner says to reach them.
            assert client.get(base["django"] + "/breakers/").status_code == 302
            assert client.get(base["flask"] + "/breakers/").status_code == 403
            assert client.get(base["fastapi"] + "/breakers/").status_code == 401
            assert client.get(
                base["fastapi"] + "/breakers/", auth=("admin", "breakerpanel")
            ).is_success
        with httpx.Client(base_url=base["flask"], timeout=10) as admin:
            admin.get("/login?user=admin")
            assert admin.get("/breakers/").status_code == 200
        with httpx.Client(base_url=base["django"], timeout=10) as admin:
            form = admin.get("/login/").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
            signed_in = admin.post(
                "/login/",
                data={
                    "csrfmiddlewaretoken": token,
                    "username": "admin",
                    "password": "breakerpanel",
                },
                headers={"Referer": base["django"] + "/login/"},
            )
            assert signed_in.status_code == 302
            assert admin.get("/breakers/").status_code == 200

        started = descendants(demo.pid)
        # upstream, two gunicorn masters with 2 workers each, uvicorn
        assert len(started) >= 1 + 3 + 3 + 1, started
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        assert wait_for(lambda: not any(alive(pid) for pid in started), timeout=5), [
            pid for pid in started if alive(pid)
        ]
        for port in (upstream, control, django, flask, fastapi):
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0, port


def test_reload_a_few_times_and_every_shop_s_breaker_opens(tmp_path):
    """The demo page's promise, with its defaults (in-memory state): five reloads trip it."""
    with running_demo(tmp_path) as (_, banner, ports):
        control, django, flask, fastapi = (
            ports[n] for n in ("control", "django", "flask", "fastapi")
        )
        assert "1 process, 4 threads" in banner, banner
        shops = {
            "django": (f"http://127.0.0.1:{django}", "/product/SKU-1/", "/checkout/"),
            "flask": (f"http://127.0.0.1:{flask}", "/product/SKU-1", "/checkout/"),
            "fastapi": (f"http://127.0.0.1:{fastapi}", "/product/SKU-1", "/checkout/"),
        }
        with httpx.Client(timeout=10) as client:
            mode = {"mode": "errors", "status": 503}
            assert client.put(f"http://127.0.0.1:{control}/_control", json=mode).is_success
            for name, (base, product, checkout) in shops.items():
                for _ in range(5):  # "reload a product page a few times"
                    page = client.get(base + product)
                    assert page.status_code == 200, (name, page.status_code)
                assert "Stock information is" in page.text, name  # "... (temporarily) unavailable"
                assert "unavailable" in page.text, name
                answer = client.get(base + checkout, headers={"Accept": "application/json"})
                assert answer.status_code == 503, (name, answer.status_code)
                assert int(answer.headers["Retry-After"]) >= 1, name
