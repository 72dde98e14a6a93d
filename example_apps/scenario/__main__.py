"""``python -m example_apps.scenario [--quick]``: the cascade, measured (``make scenario``).

Runs every shop in every configuration (naive, no_limit, default) through
the same timeline and load, after warming each configuration's server up
(the three of a shop at once, before any of them is measured), prints a
table per shop and the claims checked against the numbers, and writes
``report.txt``, ``results.json`` and ``scenario.png`` to ``--out`` (default
``build/scenario``). ``--quick`` (or ``SCENARIO_QUICK=1``) runs the shorter
plan the tests use.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from example_apps.demo.supervisor import ChildExited
from example_apps.scenario import chart, summary, tables
from example_apps.scenario.plan import FULL, MODES, QUICK, SHOPS, Plan
from example_apps.scenario.run import RunData, Server, WarmUp
from example_apps.upstream import Upstream

ROOT = Path(__file__).resolve().parents[2]


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m example_apps.scenario",
        description="The cascade, measured: each shop under load while Inventory hangs.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("SCENARIO_QUICK", "") not in ("", "0"),
        help="the short plan (what the tests run; also SCENARIO_QUICK=1)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "build" / "scenario", help="output directory"
    )
    parser.add_argument(
        "--shops",
        default=",".join(shop.name for shop in SHOPS),
        help="comma-separated shops to run (default: all)",
    )
    return parser


def _raw(run: RunData) -> dict[str, Any]:
    return {
        "requests": [
            [r.page, round(r.due, 3), round(r.latency, 4), r.outcome, r.status] for r in run.results
        ],
        "samples": [[round(t, 3), busy, clients] for t, busy, clients in run.samples],
    }


def _start_and_warm_up(server: Server) -> WarmUp:
    server.start()
    return server.warm_up()


def _warm_up_note(warmed: list[WarmUp]) -> str:
    past = sum(w.past_start_up for w in warmed)
    longest = max(w.seconds for w in warmed)
    return (
        f"(load until each server process ran a full collection, at most {warmed[0].limit:g} s: "
        f"{past} of {len(warmed)} servers did, the last after {longest:.1f} s)"
    )


def run_all(plan: Plan, shop_names: list[str], out: Path) -> dict[str, Any]:
    """Run every selected shop in every mode; return the JSON results."""
    began = time.monotonic()
    shops: list[dict[str, Any]] = []
    with Upstream() as inventory, Upstream() as recommendations:
        for shop in SHOPS:
            if shop.name not in shop_names:
                continue
            runs: dict[str, dict[str, Any]] = {}
            with contextlib.ExitStack() as stack:
                ready = [
                    stack.enter_context(
                        Server(
                            shop,
                            mode,
                            plan,
                            inventory,
                            recommendations,
                            out / "runs" / f"{shop.name}-{mode}",
                        )
                    )
                    for mode in MODES
                ]
                # Every configuration's server is warmed up at once, before any is measured.
                print(f"  {shop.title:<8} {'warm-up':<11}", end="", flush=True)
                started = time.monotonic()
                for upstream in (inventory, recommendations):
                    upstream.set_mode("healthy")
                with concurrent.futures.ThreadPoolExecutor(len(ready)) as pool:
                    warmed = list(pool.map(_start_and_warm_up, ready))
                print(f"{time.monotonic() - started:5.1f} s  {_warm_up_note(warmed)}", flush=True)
                for measured in ready:
                    print(f"  {shop.title:<8} {measured.mode:<11}", end="", flush=True)
                    started = time.monotonic()
                    data = measured.measure()
                    runs[measured.mode] = summary.summarize(data) | _raw(data)
                    print(f"{time.monotonic() - started:5.1f} s", flush=True)
            server = (
                f"gunicorn, {plan.workers} workers x {plan.threads} threads"
                if shop.server == "gunicorn"
                else "uvicorn, 1 process"
            )
            shops.append({"shop": shop.name, "title": shop.title, "server": server, "runs": runs})
    found = [
        claim
        for shop in shops
        for claim in summary.claims(
            shop["shop"], shop["runs"], plan.inventory_timeout, plan.reset_timeout
        )
    ]
    return {
        "schema": "breakerpanel.scenario/1",
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(time.monotonic() - began, 1),
        "plan": plan.describe(),
        "modes": list(MODES),
        "shops": shops,
        "claims": found,
    }


def report(plan: Plan, results: dict[str, Any]) -> str:
    """The text report: a table per shop, then the claims."""
    parts = [
        tables.shop_table(shop["title"], shop["server"], plan, shop["runs"])
        for shop in results["shops"]
    ]
    parts.append(tables.claims_table(results["claims"]))
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenario; return the exit status.

    0 once it ran, whatever it measured; 1 when a server failed to start or died.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.shops.split(",") if name.strip()]
    unknown = sorted(set(names) - {shop.name for shop in SHOPS})
    if unknown or not names:
        parser.error(f"--shops: unknown {unknown}; choose from {[s.name for s in SHOPS]}")
    plan = QUICK if args.quick else FULL
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    print(f"scenario ({plan.name} plan): {len(names)} shops x {len(MODES)} configurations")
    try:
        results = run_all(plan, names, out)
    except (ChildExited, TimeoutError, RuntimeError) as exc:
        print(f"\nscenario: {exc}; the servers' output is in {out / 'runs'}", file=sys.stderr)
        return 1
    text = report(plan, results)
    print()
    print(text)
    (out / "report.txt").write_text(text + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    chart.draw(results["shops"], MODES, out / "scenario.png", plan.client_timeout)
    print(f"\nwritten: {out / 'report.txt'}, {out / 'results.json'}, {out / 'scenario.png'}")
    print(f"took {results['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
