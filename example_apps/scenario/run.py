"""One run of the scenario: one shop, one configuration, the whole timeline.

The shop is served by a real server in child processes (gunicorn or
uvicorn, see :mod:`example_apps.demo.servers`); Inventory and Recommendations
are two :class:`~example_apps.upstream.Upstream` instances of this process.
The run warms the shop up (every page rendered in every worker, then load at
the plan's rates until every server process has run a full garbage collection
under it: the measurement is of the steady state, past the start-up
collections), then sends the load while Inventory is healthy, hangs and
recovers on schedule, samples the requests in flight every 50 ms, and finally
reads the breaker transitions the server logged. :class:`Server` runs those
steps one by one, so that the scenario can warm several servers up at once
before measuring each in turn.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import http.client
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from example_apps.demo import servers
from example_apps.demo.supervisor import Supervisor
from example_apps.scenario import probes
from example_apps.scenario.load import Page, Result, collector_paused, run_load
from example_apps.scenario.plan import Plan, Shop
from example_apps.upstream import Upstream

__all__ = ["RunData", "Server", "WarmUp", "run_one", "warm_up_load"]

SAMPLE_EVERY = 0.05
"""Seconds between two samples of the requests in flight."""
WARM_UP_CHUNK = 2.0
"""Seconds of the plan's schedule the warm-up load sends between two checks of the servers'
full collections."""
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
    warm_up: WarmUp | None = None
    """The warm-up load sent before the schedule."""
    server_collections: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    """(time, process id) of each full garbage collection of a server process during the
    schedule, as sampled every 50 ms."""
    schedule_wall: tuple[float, float] = (0.0, 0.0)
    """Wall-clock times (``time.time()``) the schedule began and its last answer came."""


@dataclasses.dataclass(frozen=True)
class WarmUp:
    """The warm-up load a server got before the schedule (after every page was rendered)."""

    seconds: float
    requests: int
    limit: float
    """The plan's longest warm-up (:attr:`~example_apps.scenario.plan.Plan.warm_up`)."""
    full_collections: dict[int, int]
    """Full garbage collections each server process ran during the warm-up load."""
    started_at: float = 0.0
    """Wall-clock time (``time.time()``) the warm-up load began."""
    ended_at: float = 0.0
    """Wall-clock time it ended."""

    @property
    def past_start_up(self) -> bool:
        """Whether every server process ran a full collection under the warm-up load."""
        return bool(self.full_collections) and all(
            count > 0 for count in self.full_collections.values()
        )

    def describe(self) -> dict[str, Any]:
        """As plain data (for the JSON results)."""
        return {
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "limit_s": self.limit,
            "full_collections": {str(pid): n for pid, n in sorted(self.full_collections.items())},
            "past_start_up": self.past_start_up,
            "started_at": round(self.started_at, 3),
            "ended_at": round(self.ended_at, 3),
        }


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


def warm_up_load(
    send: Callable[[], int],
    collections: Callable[[], dict[int, int]],
    limit: float,
    clock: Callable[[], float] = time.monotonic,
) -> WarmUp:
    """Call ``send`` (one chunk of load; returns its requests) until every process collected.

    ``collections`` reads each server process's full collections so far; the
    load ends once each of them has run one more than when it began, or once
    ``limit`` seconds have passed, whichever is first (at least one chunk).
    """
    before = collections()
    began = clock()
    requests = 0
    while True:
        requests += send()
        now = collections()
        done = {pid: count - before.get(pid, 0) for pid, count in now.items()}
        if (done and all(done.values())) or clock() - began >= limit:
            return WarmUp(clock() - began, requests, limit, done)


class _Sampler(threading.Thread):
    """Samples the server's busy count and the clients' in-flight count every 50 ms.

    Also notes when a server process's full-collection count goes up.
    """

    def __init__(self, probe_dir: Path, start: float) -> None:
        super().__init__(name="sampler", daemon=True)
        self.probe_dir, self.start_time = probe_dir, start
        self.client_in_flight = 0
        self.samples: list[tuple[float, int, int]] = []
        self.collections: list[tuple[float, int]] = []
        self._counts = probes.read_full_collections(probe_dir)
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
            counts = probes.read_full_collections(self.probe_dir)
            for pid, count in counts.items():
                self.collections += [(now, pid)] * (count - self._counts.get(pid, 0))
            self._counts = counts

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


def _pages(shop: Shop, plan: Plan) -> list[Page]:
    return [
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


class Server:
    """One shop in one configuration, under its real server: started, warmed up, measured once.

    Use as a context manager (leaving it stops the server); call :meth:`start`,
    :meth:`warm_up`, then :meth:`measure`. Inventory must be healthy until the
    measurement switches it.
    """

    def __init__(
        self,
        shop: Shop,
        mode: str,
        plan: Plan,
        inventory: Upstream,
        recommendations: Upstream,
        run_dir: Path,
    ) -> None:
        self.shop, self.mode, self.plan = shop, mode, plan
        self.inventory, self.recommendations = inventory, recommendations
        self.run_dir = run_dir
        self.probe_dir = run_dir / "probes"
        self.port = 0
        self.startup = 0.0
        self.processes = plan.workers if shop.server == "gunicorn" else 1
        self.warmed: WarmUp | None = None
        self._stack = contextlib.ExitStack()
        self._supervisor: Supervisor | None = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and render every page in every worker.

        Raises:
            ChildExited: the server died.
            TimeoutError: the server (every process of it) did not answer within 60 s.
            RuntimeError: a page did not answer 200.
        """
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.probe_dir.mkdir(parents=True)
        self.port = free_port()
        env = {
            "INVENTORY_URL": self.inventory.url,
            "RECOMMENDATIONS_URL": self.recommendations.url,
            probes.PROBE_DIR_ENV: str(self.probe_dir),
            **self.plan.environment(self.mode),
        }
        log = self._stack.enter_context((self.run_dir / "server.log").open("w"))
        supervisor = self._stack.enter_context(Supervisor(out=log))
        self._supervisor = supervisor
        began = time.monotonic()
        supervisor.start(_service(self.shop, self.plan, self.port, env))
        supervisor.wait_ready(timeout=60)
        # gunicorn answers once one worker is up: wait for every process to load the app.
        while len(probes.read_full_collections(self.probe_dir)) < self.processes:
            if time.monotonic() - began > 60:
                raise TimeoutError(f"{self.shop.name}: not every worker loaded the app in 60 s")
            time.sleep(0.05)
        self.startup = time.monotonic() - began
        _warm_up(self.shop, self.port, concurrency=self.plan.capacity)

    def warm_up(self) -> WarmUp:
        """Load the server at the plan's rates until every process is past its start-up collections.

        That is, until each has run a full garbage collection under this load, or for
        the plan's ``warm_up`` seconds at most. The clients' answers are not kept.
        """
        pages = _pages(self.shop, self.plan)

        def send() -> int:
            results = run_load(
                servers.HOST,
                self.port,
                pages,
                WARM_UP_CHUNK,
                timeout=self.plan.client_timeout,
                start=time.monotonic(),
                in_flight=lambda delta: None,
            )
            return len(results)

        started_at = time.time()
        warmed = warm_up_load(
            send, lambda: probes.read_full_collections(self.probe_dir), self.plan.warm_up
        )
        self.warmed = dataclasses.replace(warmed, started_at=started_at, ended_at=time.time())
        return self.warmed

    def measure(self) -> RunData:
        """Send the plan's schedule while Inventory is healthy, hangs and recovers."""
        plan, inventory = self.plan, self.inventory
        for upstream in (inventory, self.recommendations):
            upstream.set_mode("healthy")
            upstream.reset_stats()
        pages = _pages(self.shop, plan)
        # The measuring process's own collector is off from before the schedule starts.
        with collector_paused() as collections:
            start, wall_start = time.monotonic(), time.time()
            sampler = _Sampler(self.probe_dir, start)
            sampler.start()
            times: dict[str, float] = {}
            switcher = threading.Thread(
                target=_switch_inventory, args=(inventory, start, plan, times), daemon=True
            )
            switcher.start()
            results = run_load(
                servers.HOST,
                self.port,
                pages,
                plan.duration,
                timeout=plan.client_timeout,
                start=start,
                in_flight=sampler.in_flight,
            )
            switcher.join()
            sampler.stop()
            wall_end = time.time()
        inventory_calls = inventory.stats()["connections"]
        self.stop()
        transitions = probes.read_transitions(self.probe_dir)
        for transition in transitions:
            transition["t"] = transition.pop("time") - wall_start
        return RunData(
            shop=self.shop.name,
            mode=self.mode,
            server=self.shop.server,
            capacity=plan.capacity if self.shop.server == "gunicorn" else None,
            results=results,
            samples=sampler.samples,
            transitions=transitions,
            hang_at=times["hang_at"],
            recover_at=times["recover_at"],
            inventory_calls=inventory_calls,
            startup=self.startup,
            collections=len(collections),
            warm_up=self.warmed,
            server_collections=sampler.collections,
            schedule_wall=(wall_start, wall_end),
        )

    def stop(self) -> None:
        """Stop the server (and close its log); again is a no-op."""
        self._stack.close()


def run_one(
    shop: Shop,
    mode: str,
    plan: Plan,
    inventory: Upstream,
    recommendations: Upstream,
    run_dir: Path,
) -> RunData:
    """Run ``shop`` in ``mode`` through ``plan``'s timeline; server log and probes in ``run_dir``.

    Start, warm-up (both steps), measurement, one after the other.

    Raises:
        ChildExited: the server died.
        TimeoutError: the server did not answer within 60 s.
        RuntimeError: the warm-up failed.
    """
    for upstream in (inventory, recommendations):
        upstream.set_mode("healthy")
    with Server(shop, mode, plan, inventory, recommendations, run_dir) as server:
        server.start()
        server.warm_up()
        return server.measure()
