"""The database guards' bench: how its sides take turns, and what it prints of them."""

from __future__ import annotations

import random
from typing import Any

from benchmarks.db_cost import (
    SEED,
    DbPlan,
    _measure,
    _pair,
    _Samples,
    _Side,
    db_table,
    db_verdicts,
    median_interval,
)
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
    assert all(len(samples.blocks[name]) == 3 * 12 for name in names)
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


def test_the_guard_is_judged_on_the_blocks_paired_by_round_and_number():
    # Two rounds of two blocks. The guarded side is 1% slower than the timeout side in the
    # block next to it, but for one block of the first round (a hiccup: 330 against 300).
    # The hiccup moves its round's ratio to +7.75%, so the rounds' median reads +4.4%; the
    # blocks' median reads the 1%.
    timeout = [100.0, 300.0, 100.0, 100.0]
    guarded = [101.0, 330.0, 101.0, 101.0]
    plain = [100.0, 300.0, 100.0, 100.0]
    sides = {"pg_plain": plain, "pg_timeout": timeout, "pg_guarded": guarded}
    samples = _Samples(
        wall={name: [(b[0] + b[1]) / 2, (b[2] + b[3]) / 2] for name, b in sides.items()},
        cpu={name: [50.0, 50.0] for name in sides},
        blocks=sides,
        seconds=1.0,
    )

    entry = _pair(samples, "pg")

    assert entry["guard_ratio"] == 1.01
    assert entry["target_met"] is True
    assert entry["guard_round_ratio"] == round((431 / 400 + 1.01) / 2, 4)  # reported beside it
    low, high = entry["guard_ratio_interval"]
    assert 1.01 <= low <= high <= 1.1
    assert entry["whole_ratio"] == 1.01  # guarded over plain, paired by block too
    assert entry["twin_ratio"] is None


def test_the_target_is_missed_when_the_blocks_median_is_above_it():
    timeout = [100.0] * 5
    guarded = [101.0, 102.0, 104.0, 110.0, 120.0]  # ratios 1.01 .. 1.20: median 1.04
    sides = {"pg_plain": timeout, "pg_timeout": timeout, "pg_guarded": guarded}
    samples = _Samples(
        wall={name: [sum(b) / 5] for name, b in sides.items()},
        cpu={name: [50.0] for name in sides},
        blocks=sides,
        seconds=1.0,
    )

    entry = _pair(samples, "pg")

    assert entry["guard_ratio"] == 1.04
    assert entry["target_met"] is False
    low, high = entry["guard_ratio_interval"]
    assert 1.01 <= low <= 1.04 <= high <= 1.20


def test_the_median_interval_holds_the_median_and_narrows_with_more_values():
    rng = random.Random(3)
    few = [1 + rng.gauss(0.02, 0.1) for _ in range(100)]
    many = [1 + rng.gauss(0.02, 0.1) for _ in range(3_000)]
    few_low, few_high = median_interval(few, random.Random(SEED))
    many_low, many_high = median_interval(many, random.Random(SEED))
    assert few_low <= sorted(few)[50] <= few_high
    assert many_low <= 1.02 <= many_high
    assert many_high - many_low < (few_high - few_low) / 2  # about sqrt(30) narrower


def _entry(title: str, **extra: Any) -> dict[str, Any]:
    spread = {"min": 0.98, "q1": 1.01, "median": 1.02, "q3": 1.04, "max": 1.09}
    return {
        "title": title,
        "plain_median_ns": 70_000.0,
        "timeout_median_ns": 71_000.0,
        "guarded_median_ns": 72_400.0,
        "guard_ratio": 1.02,
        "guard_ratio_spread": spread,
        "guard_ratio_interval": [1.005, 1.035],
        "guard_round_ratio": 1.025,
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
            "timed_blocks": 976,
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
                    twin_ratio_interval=[0.995, 1.011],
                    twin_round_ratio=0.99,
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
    assert "-0.5% .. +1.1%" in twin_rows[0]  # the interval of its median
    assert "-1.0%" in twin_rows[0]  # the rounds' median
    verdicts = db_verdicts(results)
    assert "A/A" not in verdicts[0]
    assert "median of 976 blocks' ratios +2.0% vs +3%" in verdicts[0]
    assert "90% interval +0.5% .. +3.5%: the target lies inside it" in verdicts[0]
    assert "median of 61 rounds' ratios +2.5%" in verdicts[0]
    assert verdicts[1].endswith("A/A, a second unguarded engine over the timeout one: +0.3%")
