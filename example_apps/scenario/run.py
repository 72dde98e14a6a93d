"""One run of the scenario: one shop, one configuration, the whole timeline.

The shop is served by a real server in child processes (gunicorn or
uvicorn, see :mod:`example_apps.demo.servers`); Inventory and Recommendations
are two :class:`~example_apps.upstream.Upstream` instances of this process.
The run warms the shop up, then sends the load while Inventory is healthy,
hangs and recovers on schedule, samples the requests in flight every 50 ms,
and finally reads the breaker transitions the server logged.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import http.client
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

from example_apps.demo import servers
from example_apps.demo.supervisor import Supervisor
from example_apps.scenario import probes
from example_apps.scenario.load import Page, Result, collector_paused, run_load
from example_apps.scenario.plan import Plan, Shop
from example_apps.upstream import Upstream

__all__ = ["RunData", "run_one"]

SAMPLE_EVERY = 0.05
"""Seconds between two samples of the requests in flight."""
APPS = {
    "django": "example_apps.scenario.apps:django_app()",
    "flask": "example_apps.scenario.apps:flask_app()",
    "fastapi": "example_apps.scenario.apps:starlette_app",
}


@dataclasses.dataclass
class RunData:
    """What one run measured; times are seconds from the start of the schedule."""

    shop: str
    mode: str
    server: str
    capacity: int | None
    """Requests the server handles at once (gunicorn workers x threads); None for uvicorn."""
    results: list[Result]
    samples: list[tuple[float, int, int]]
    """(time, requests the server is handling, requests the clients have in flight)."""
    transitions: list[dict[str, Any]]
    """Each with ``t`` (seconds from the start), ``pid``, ``breaker``, old and new state."""
    hang_at: float
    recover_at: float
    inventory_calls: int
    """Connections Inventory accepted during the run (each attempt is one)."""
    startup: float
    """Seconds the server took to answer."""
    collections: int = 0
    """Garbage collections of this process (the load generator) while it measured: 0, as
    its collector is off then (:func:`~example_apps.scenario.load.collector_paused`)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((servers.HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _service(shop: Shop, plan: Plan, port: int, env: dict[str, str]) -> servers.Service:
    if shop.server == "gunicorn":
        return servers.gunicorn(
            shop.name,
            port,
            workers=plan.workers,
            threads=plan.threads,
            app=APPS[shop.name],
            ready_path=shop.about_path,
            env=env,
        )
    return servers.uvicorn(port, factory=APPS[shop.name], ready_path=shop.about_path, env=env)


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection(servers.HOST, port, timeout=10)
    try:
        # The load's headers: a kept page is keyed by them (Accept among others).
        connection.request("GET", path, headers={"Accept": "text/html", "Connection": "close"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _warm_up(shop: Shop, port: int, concurrency: int) -> None:
    """Render every page in every worker before measuring (templates, imports, pools).

    Raises:
        RuntimeError: a page did not answer 200 while everything is healthy.
    """
    paths = [shop.product(n % 20 + 1) for n in range(concurrency * 2)]
    paths += [shop.about_path] * concurrency * 2
    paths += [shop.checkout(n % 20 + 1) for n in range(concurrency)]
    paths += [shop.stock(n + 1) for n in range(20)]  # every stock page is kept once
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(lambda path: (path, _get(port, path)), paths))
    failed = [(path, status) for path, status in statuses if status != 200]
    if failed:
        raise RuntimeError(f"{shop.name}: the warm-up got {failed[:3]}; see its server.log")


class _Sampler(threading.Thread):
    """Samples the server's busy count and the clients' in-flight count every 50 ms."""

    def __init__(self, probe_dir: Path, start: float) -> None:
        super().__init__(name="sampler", daemon=True)
        self.probe_dir, self.start_time = probe_dir, start
        self.client_in_flight = 0
        self.samples: list[tuple[float, int, int]] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def in_flight(self, delta: int) -> None:
        with self._lock:
            self.client_in_flight += delta

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_EVERY):
            busy = sum(probes.read_busy(self.probe_dir).values())
            now = time.monotonic() - self.start_time
            self.samples.append((now, busy, self.client_in_flight))

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _switch_inventory(
    inventory: Upstream, start: float, plan: Plan, times: dict[str, float]
) -> None:
    for name, at, mode in (
        ("hang_at", plan.hang_at, "hang"),
        ("recover_at", plan.recover_at, "healthy"),
    ):
        delay = start + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        inventory.set_mode(mode)
        times[name] = time.monotonic() - start


def run_one(
    shop: Shop,
    mode: str,
    plan: Plan,
    inventory: Upstream,
    recommendations: Upstream,
    run_dir: Path,
) -> RunData:
    """Run ``shop`` in ``mode`` through ``plan``'s timeline; server log and probes in ``run_dir``.

    Raises:
        ChildExited: the server died.
        TimeoutError: the server did not answer within 60 s.
        RuntimeError: the warm-up failed.
    """
    shutil.rmtree(run_dir, ignore_errors=True)
    probe_dir = run_dir / "probes"
    probe_dir.mkdir(parents=True)
    for upstream in (inventory, recommendations):
        upstream.set_mode("healthy")
    port = free_port()
    env = {
        "INVENTORY_URL": inventory.url,
        "RECOMMENDATIONS_URL": recommendations.url,
        probes.PROBE_DIR_ENV: str(probe_dir),
        **plan.environment(mode),
    }
    service = _service(shop, plan, port, env)
    capacity = plan.capacity if shop.server == "gunicorn" else None
    pages = [
        Page(
            "product",
            tuple(shop.product(n) for n in range(1, 21)),
            plan.product_rate,
            plan.product_clients,
        ),
        Page(
            "about",
            (shop.about_path,),
            plan.about_rate,
            plan.about_clients,
            phase=0.5 / plan.about_rate,
        ),
        Page(
            "checkout",
            tuple(shop.checkout(n) for n in range(1, 21)),
            plan.checkout_rate,
            plan.checkout_clients,
            phase=0.25 / plan.checkout_rate,
        ),
        Page(
            "stock",
            tuple(shop.stock(n) for n in range(1, 21)),
            plan.stock_rate,
            plan.stock_clients,
            phase=0.75 / plan.stock_rate,
        ),
    ]
    with (run_dir / "server.log").open("w") as log, Supervisor(out=log) as supervisor:
        began = time.monotonic()
        supervisor.start(service)
        supervisor.wait_ready(timeout=60)
        startup = time.monotonic() - began
        _warm_up(shop, port, concurrency=plan.capacity)
        for upstream in (inventory, recommendations):
            upstream.reset_stats()
        # The measuring process's own collector is off from before the schedule starts.
        with collector_paused() as collections:
            start, wall_start = time.monotonic(), time.time()
            sampler = _Sampler(probe_dir, start)
            sampler.start()
            times: dict[str, float] = {}
            switcher = threading.Thread(
                target=_switch_inventory, args=(inventory, start, plan, times), daemon=True
            )
            switcher.start()
            results = run_load(
                servers.HOST,
                port,
                pages,
                plan.duration,
                timeout=plan.client_timeout,
                start=start,
                in_flight=sampler.in_flight,
            )
            switcher.join()
            sampler.stop()
        inventory_calls = inventory.stats()["connections"]
    transitions = probes.read_transitions(probe_dir)
    for transition in transitions:
        transition["t"] = transition.pop("time") - wall_start
    return RunData(
        shop=shop.name,
        mode=mode,
        server=shop.server,
        capacity=capacity,
        results=results,
        samples=sampler.samples,
        transitions=transitions,
        hang_at=times["hang_at"],
        recover_at=times["recover_at"],
        inventory_calls=inventory_calls,
        startup=startup,
        collections=len(collections),
    )
