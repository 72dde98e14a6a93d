"""The database guards' bench: how its sides take turns, and what it prints of them."""

from __future__ import annotations

import random
from typing import Any

from benchmarks.db_cost import SEED, DbPlan, _measure, _Side, db_table, db_verdicts
from benchmarks.report_format import table


def test_every_side_follows_every_other_and_renew_runs_before_each_round():
    events: list[tuple[str, ...]] = []
    names = ["a", "b", "c", "d"]

    def side(name: str) -> _Side:
        def prepare() -> None:
            events.append(("prepare", name))

        def run(n: int) -> None:
            events.append(("run", name, str(n)))

        return _Side(prepare, run)

    plan = DbPlan(block=5, blocks=12, min_rounds=3, max_rounds=3, budget_s=0.0, warmup=2, settle=1)
    samples = _measure(
        {name: side(name) for name in names},
        plan,
        [lambda: events.append(("renew",))],
        random.Random(SEED),
    )

    assert all(len(samples.wall[name]) == 3 for name in names)
    assert events.count(("renew",)) == 3
    timed = [event[1] for event in events if event[0] == "run" and event[2] == "5"]
    assert len(timed) == 3 * 12 * len(names)
    # No side has a fixed predecessor (a rotated order gives each side two at most).
    for name in names:
        before = {timed[i - 1] for i in range(1, len(timed)) if timed[i] == name}
        assert before >= set(names) - {name}, (name, before)
    # Each timed block comes after its side's prepare() and settling queries.
    for i, event in enumerate(events):
        if event[0] == "run" and event[2] == "5":
            assert events[i - 2 : i] == [("prepare", event[1]), ("run", event[1], "1")]


def _entry(title: str, **extra: Any) -> dict[str, Any]:
    spread = {"min": 0.98, "q1": 1.01, "median": 1.02, "q3": 1.04, "max": 1.09}
    return {
        "title": title,
        "plain_median_ns": 70_000.0,
        "timeout_median_ns": 71_000.0,
        "guarded_median_ns": 72_400.0,
        "guard_ratio": 1.02,
        "guard_ratio_spread": spread,
        "whole_ratio": 1.03,
        "timeout_cpu_ns": 50_000.0,
        "guard_cpu_added_ns": 1_500.0,
        "guard_cpu_added_spread": {"median": 1_500.0, "q1": 1_000.0, "q3": 2_000.0},
        "target_met": True,
        "noop_median_ns": None,
        "twin_median_ns": None,
        "twin_ratio": None,
        **extra,
    }


def test_the_table_and_verdicts_show_the_a_a_check():
    twin_spread = {"min": 0.97, "q1": 0.99, "median": 1.003, "q3": 1.01, "max": 1.05}
    results = {
        "database": {
            "available": True,
            "rounds": 61,
            "calls_per_round": 400,
            "blocks": 16,
            "block": 25,
            "settle": 3,
            "seconds": 35.0,
            "target_added_pct": 3.0,
            "pairs": {
                "django": _entry("Django execute_wrapper"),
                "sqlalchemy": _entry(
                    "SQLAlchemy engine events",
                    twin_median_ns=71_200.0,
                    twin_ratio=1.003,
                    twin_ratio_spread=twin_spread,
                    twin_cpu_added_ns=100.0,
                ),
            },
        }
    }
    printed = "\n".join(db_table(results, table))
    assert "each after 3 untimed, the sides in an order shuffled in each block" in printed
    twin_rows = [line for line in printed.splitlines() if "A/A: a second" in line]
    assert len(twin_rows) == 1
    assert "71.2" in twin_rows[0]
    assert "+0.3%" in twin_rows[0]
    verdicts = db_verdicts(results)
    assert "A/A" not in verdicts[0]
    assert verdicts[1].endswith("A/A, a second unguarded engine over the timeout one: +0.3%")
