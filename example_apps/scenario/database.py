"""``python -m example_apps.scenario.database [--quick]``: a database outage, measured.

The Django shop reads its stock from PostgreSQL (``SHOP_STOCK_SOURCE=database``)
through a :class:`FaultProxy`. Client threads load product pages while the
proxy passes, then black-holes the database (a hung server: connections
accepted, nothing answered), then passes again. It runs twice, each in a child
process (Django is configured once per process): ``guarded`` (the ``shopdb``
dependency guards the ``default`` alias) and ``unguarded`` (``SHOP_DB_GUARD=0``).
Per phase it reports the pages served, their median and slowest time, and how
many showed the stock.

Needs PostgreSQL (``BREAKERPANEL_PG``, default ``127.0.0.1:5432``, user
``postgres``; the database ``breakerpanel_scenario`` is created if missing).
Without it, it says so and exits 0: ``make scenario`` runs it after the
Inventory scenario. The pages are rendered in-process by Django's test client,
one connection per thread, closed after each page as a server does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from example_apps.scenario.faultproxy import PG_HOST, PG_PORT, postgres_unavailable

ROOT = Path(__file__).resolve().parents[2]
HOST, PORT = PG_HOST, PG_PORT
DATABASE = "breakerpanel_scenario"
VARIANTS = ("unguarded", "guarded")
THREADS = 8
PHASES = {"full": (3.0, 8.0, 8.0), "quick": (2.0, 4.0, 7.0)}
"""Seconds of each phase: healthy, outage (black-holed), recovered."""
PHASE_NAMES = ("healthy", "outage", "recovered")
STOCK_SHOWN = (b"in stock.", b"Sold out.")


def ensure_database() -> None:
    """Create the scenario's database unless it exists."""
    import psycopg

    with psycopg.connect(host=HOST, port=int(PORT), user="postgres", autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if found.fetchone() is None:
            admin.execute(f"CREATE DATABASE {DATABASE}")


# -- the child: one variant ---------------------------------------------------------------------


def _configure(variant: str, proxy_port: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "example_apps.django_shop.settings",
            "SHOP_POSTGRES": f"127.0.0.1:{proxy_port}/{DATABASE}",
            "SHOP_STOCK_SOURCE": "database",
            "SHOP_DB_GUARD": "1" if variant == "guarded" else "0",
            "SHOP_DEBUG": "0",
            # No upstream runs: the recommendations widget fails at once and degrades.
            "RECOMMENDATIONS_URL": "http://127.0.0.1:9",
            "INVENTORY_URL": "http://127.0.0.1:9",
        }
    )
    import django  # type: ignore[import-untyped]
    from django.core.management import call_command  # type: ignore[import-untyped]

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _load(
    ready: threading.Barrier,
    until: list[float],
    samples: list[tuple[float, float, bool]],
    lock: threading.Lock,
) -> None:
    from django.db import close_old_connections  # type: ignore[import-untyped]
    from django.test import Client  # type: ignore[import-untyped]

    client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
    client.get("/product/SKU-1/")  # warm-up: imports, templates, the first connection
    close_old_connections()
    ready.wait()
    number = 0
    while time.monotonic() < until[0]:
        number = number % 20 + 1
        started = time.monotonic()
        response = client.get(f"/product/SKU-{number}/")
        shown = response.status_code == 200 and any(s in response.content for s in STOCK_SHOWN)
        elapsed = time.monotonic() - started
        close_old_connections()  # what a server does when the request finishes
        with lock:
            samples.append((started, elapsed, shown))


def child(variant: str, phases: tuple[float, float, float]) -> dict[str, Any]:
    """Run one variant in this process; return the figures per phase."""
    from example_apps.scenario.faultproxy import FaultProxy

    proxy = FaultProxy(HOST, PORT)
    try:
        _configure(variant, proxy.port)
        samples: list[tuple[float, float, bool]] = []
        lock = threading.Lock()
        until = [0.0]
        bounds: list[float] = []

        def begin() -> None:  # when every thread is warm: the phases start
            now = time.monotonic()
            bounds.extend(now + sum(phases[: i + 1]) for i in range(3))
            until[0] = bounds[2]

        ready = threading.Barrier(THREADS + 1, action=begin)
        threads = [
            threading.Thread(target=_load, args=(ready, until, samples, lock), daemon=True)
            for _ in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        ready.wait()
        start = bounds[0] - phases[0]
        time.sleep(max(0.0, bounds[0] - time.monotonic()))
        proxy.mode = "blackhole"
        # The phases are read from when the proxy switched, not from when it was due:
        # on a busy machine this thread wakes late, and pages started before the
        # switch were served by a healthy database.
        black = time.monotonic()
        time.sleep(max(0.0, bounds[1] - time.monotonic()))
        proxy.mode = "pass"
        back = time.monotonic()
        for thread in threads:
            thread.join(60)
    finally:
        proxy.close()
    lengths = (black - start, back - black, bounds[2] - back)
    return {"variant": variant, "phases": _figures(samples, start, lengths)}


def _figures(
    samples: list[tuple[float, float, bool]], start: float, phases: tuple[float, float, float]
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    edge = start
    for name, length in zip(PHASE_NAMES, phases, strict=True):
        inside = [(t, d, s) for t, d, s in samples if edge <= t < edge + length]
        edge += length
        durations = [d for _, d, _ in inside]
        figures[name] = {
            "seconds": round(length, 3),
            "pages": len(inside),
            "median_s": round(statistics.median(durations), 3) if durations else None,
            "slowest_s": round(max(durations), 3) if durations else None,
            "with_stock": sum(1 for _, _, s in inside if s),
            # The last pages of the phase: did the stock come back?
            "last_with_stock": bool(inside) and all(s for _, _, s in inside[-THREADS:]),
        }
    return figures


# -- the parent -------------------------------------------------------------------------------


def run(quick: bool) -> dict[str, Any]:
    """Run both variants, each in a child process; return their figures."""
    ensure_database()
    results: dict[str, Any] = {
        "quick": quick,
        "phases": dict(zip(PHASE_NAMES, PHASES["quick" if quick else "full"], strict=True)),
        "variants": {},
    }
    for variant in VARIANTS:
        done = subprocess.run(
            [sys.executable, "-m", "example_apps.scenario.database", "--child", variant]
            + (["--quick"] if quick else []),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the {variant} run failed:\n{done.stderr[-2000:]}")
        results["variants"][variant] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def table(results: dict[str, Any]) -> str:
    """The printed report of :func:`run`'s results."""
    phases = results["phases"]
    lines = [
        "Database outage: the Django shop's product page reads its stock from PostgreSQL; "
        f"{THREADS} client threads; phases: healthy {phases['healthy']:g} s, database "
        f"black-holed {phases['outage']:g} s, recovered {phases['recovered']:g} s",
        f"{'variant':<10} {'phase':<10} {'pages':>6} {'median s':>9} {'slowest s':>10} "
        f"{'with stock':>11}",
    ]
    for variant, data in results["variants"].items():
        for phase, entry in data["phases"].items():
            median = "-" if entry["median_s"] is None else f"{entry['median_s']:.3f}"
            slowest = "-" if entry["slowest_s"] is None else f"{entry['slowest_s']:.3f}"
            lines.append(
                f"{variant:<10} {phase:<10} {entry['pages']:>6} {median:>9} {slowest:>10} "
                f"{entry['with_stock']:>11}"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run both variants and print the table (or say why not)."""
    parser = argparse.ArgumentParser(prog="python -m example_apps.scenario.database")
    parser.add_argument("--quick", action="store_true", help="the short phases the tests use")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "scenario")
    args = parser.parse_args(argv)
    phases = PHASES["quick" if args.quick else "full"]
    if args.child:
        print(json.dumps(child(args.child, phases)))
        return 0
    missing = postgres_unavailable("django", "psycopg")
    if missing is not None:
        print(f"Database outage: not run: {missing}")
        return 0
    results = run(args.quick)
    printed = table(results)
    print(printed, end="")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "database.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "database.txt").write_text(printed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
