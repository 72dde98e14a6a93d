"""The scenario's text report: one table per shop, its transitions, and the claims."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from example_apps.scenario.load import Outcome
from example_apps.scenario.plan import MODES, Plan

__all__ = ["claims_table", "shop_table"]

Row = tuple[str, Callable[[dict[str, Any]], str]]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _pcts(page: dict[str, Any]) -> str:
    return f"{_ms(page['p50'])} / {_ms(page['p95'])} / {_ms(page['p99'])}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _count(page: dict[str, Any], *outcomes: str) -> str:
    return str(sum(page["outcomes"].get(outcome, 0) for outcome in outcomes))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _warm_up(run: dict[str, Any]) -> str:
    warm = run.get("warm_up")
    if warm is None:
        return "-"
    limit = "" if warm["past_start_up"] else " (limit)"
    return f"{warm['seconds']:.0f} s / {warm['requests']}{limit}"


def _server_collections(run: dict[str, Any]) -> str:
    times = [t for t, _pid in run.get("server_full_collections", [])]
    hang_at, recover_at = run["hang_at"], run["recover_at"]
    healthy = sum(t < hang_at for t in times)
    hang = sum(hang_at <= t < recover_at for t in times)
    return f"{healthy} / {hang} / {len(times) - healthy - hang}"


ROWS: list[Row] = [
    ("/product  requests", lambda r: str(r["product"]["requests"])),
    ("  with stock (200)", lambda r: _count(r["product"], Outcome.OK)),
    ("  without stock (200)", lambda r: _count(r["product"], Outcome.DEGRADED)),
    ("  stale copy / 503", lambda r: f"{_count(r['product'], Outcome.STALE)} / "
                                     f"{_count(r['product'], Outcome.UNAVAILABLE)}"),
    ("  errors (timeout, 5xx)", lambda r: str(r["product"]["errors"])),
    ("  p50 / p95 / p99 ms", lambda r: _pcts(r["product"])),
    ("  p50 / p95 ms once open everywhere", lambda r: f"{_ms(r['product_while_open']['p50'])} / "
                                                      f"{_ms(r['product_while_open']['p95'])}"),
    ("/checkout requests", lambda r: str(r["checkout"]["requests"])),
    ("  200 / stale copy / 503", lambda r: f"{_count(r['checkout'], Outcome.OK)} / "
                                           f"{_count(r['checkout'], Outcome.STALE)} / "
                                           f"{_count(r['checkout'], Outcome.UNAVAILABLE)}"),
    ("  errors (timeout, 5xx)", lambda r: str(r["checkout"]["errors"])),
    ("  p50 / p95 / p99 ms", lambda r: _pcts(r["checkout"])),
    ("/api/stock requests", lambda r: str(r["stock"]["requests"])),
    ("  200 / stale copy / 503", lambda r: f"{_count(r['stock'], Outcome.OK)} / "
                                           f"{_count(r['stock'], Outcome.STALE)} / "
                                           f"{_count(r['stock'], Outcome.UNAVAILABLE)}"),
    ("  errors (timeout, 5xx)", lambda r: str(r["stock"]["errors"])),
    ("/about    requests", lambda r: str(r["about"]["requests"])),
    ("  errors (timeout, 5xx)", lambda r: str(r["about"]["errors"])),
    ("  p50 / p95 / p99 ms", lambda r: _pcts(r["about"])),
    ("  p99 ms healthy / hang", lambda r: f"{_ms(r['about_healthy']['p99'])} / "
                                          f"{_ms(r['about_hang']['p99'])}"),
    ("  p95 ms hang, before trip", lambda r: f"{_ms(r['about_before_trip']['p95'])} "
                                             f"({r['about_before_trip']['requests']} req)"),
    ("workers   all busy (run / hang)", lambda r: f"{_share(r['saturated'])} / "
                                                  f"{_share(r['saturated_hang'])}"),
    ("  peak requests in server", lambda r: str(r["peak_busy"])),
    ("Inventory calls received", lambda r: str(r["inventory_calls"])),
    ("first trip (inventory)", lambda r: _seconds(r["first_trip"])),
    ("closed again, after recovery", lambda r: _seconds(r["recovered_after"])),
    ("warm-up before the schedule / requests", _warm_up),
    ("server full GCs healthy / hang / after", _server_collections),
]  # fmt: skip


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _transitions(mode: str, run: dict[str, Any]) -> list[str]:
    by_process: dict[int, list[str]] = {}
    for t in run["transitions"]:
        name = "" if t["breaker"] == "inventory" else f"{t['breaker']} "
        by_process.setdefault(t["pid"], []).append(f"{t['t']:.1f} {name}{t['new_state']}")
    if not by_process:
        return [f"  {mode:<13} none"]
    lines = []
    for number, (_pid, steps) in enumerate(sorted(by_process.items()), start=1):
        label = mode if number == 1 else ""
        lines.append(f"  {label:<13} process {number}: " + ", ".join(steps))
    return lines


def shop_table(title: str, server: str, plan: Plan, runs: dict[str, dict[str, Any]]) -> str:
    """One shop's table (a column per configuration) and its breaker transitions."""
    heading = (
        f"{title} shop, {server}: Inventory hangs from {plan.hang_at:g} s to "
        f"{plan.recover_at:g} s of {plan.duration:g} s; {plan.product_rate:g} product + "
        f"{plan.checkout_rate:g} checkout + {plan.stock_rate:g} stock API + {plan.about_rate:g} "
        "/about requests per second"
    )
    header = ["", *MODES]
    rows = [[label, *(cell(runs[mode]) for mode in MODES)] for label, cell in ROWS]
    lines = [heading, "", *_grid(header, rows), "", "breaker transitions (s from start):"]
    for mode in MODES:
        lines.extend(_transitions(mode, runs[mode]))
    return "\n".join(lines)


def claims_table(found: list[dict[str, Any]]) -> str:
    """The claims, one per line: holds or not, and what was measured."""
    lines = ["claims (checked from the numbers above):"]
    for claim in found:
        mark = "yes" if claim["holds"] else "NO "
        lines.append(f"  [{mark}] {claim['shop']:<8} {claim['text']}")
        lines.append(f"         {'':<8} {claim['measured']}")
    return "\n".join(lines)
