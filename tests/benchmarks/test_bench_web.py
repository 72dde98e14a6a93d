"""The web and Redis sections of the benchmark when something is missing, and the apps' check.

Fast tests: no timing. The quick run itself is ``test_bench_smoke.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    # `benchmarks` is a top-level folder of the repository, not an installed package.
    monkeypatch.syspath_prepend(str(ROOT))


def test_a_missing_framework_is_reported_missing_without_a_child_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmarks import web_child

    framework = dataclasses.replace(
        web_child.FRAMEWORKS["django"], modules=("breakerpanel_no_such_module", "breaker_django")
    )
    monkeypatch.setitem(web_child.FRAMEWORKS, "django", framework)
    monkeypatch.setattr(web_child.subprocess, "Popen", None)  # must not be called

    section = web_child.time_framework("django", quick=True, progress=lambda line: None)

    assert section["measured"] is False
    assert section["missing"] is True
    assert "breakerpanel_no_such_module is not installed" in section["reason"]


def test_missing_redis_driver_is_reported_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import shared_redis

    find_spec = importlib.util.find_spec

    def without_redis(name: str, *args: Any) -> Any:
        return None if name == "redis" else find_spec(name, *args)

    monkeypatch.setattr(shared_redis.importlib.util, "find_spec", without_redis)

    section = shared_redis.time_redis(shared_redis.REDIS_QUICK, lambda line: None)

    assert section == {
        "measured": False,
        "missing": True,
        "reason": "redis (redis-py) is not installed; install the redis extra",
    }


def test_sections_not_measured_are_printed_as_such() -> None:
    from benchmarks.report_format import table
    from benchmarks.report_web import redis_table, web_notes, web_tables, web_verdicts

    results = {
        "django": {
            "measured": False,
            "missing": True,
            "framework": "Django",
            "reason": "django is not installed; install the django extra",
        },
        "starlette": {
            "measured": False,
            "missing": False,
            "framework": "Starlette",
            "reason": "the child process failed (exit status 1)",
        },
        "redis": {
            "measured": False,
            "missing": True,
            "reason": "redis (redis-py) is not installed",
        },
    }

    tables = web_tables(results, table)
    verdicts = web_verdicts(results)

    assert tables == [
        [
            "Django BreakerMiddleware: missing (django is not installed; install the django "
            "extra): no table"
        ],
        ["Flask Breakers extension: not run: no table"],
        [
            "Starlette BreakerMiddleware: not measured (the child process failed (exit status 1)): "
            "no table"
        ],
    ]
    assert verdicts == [
        "  Django BreakerMiddleware: missing (django is not installed; install the django extra)",
        "  Flask Breakers extension: not run",
        "  Starlette BreakerMiddleware: not measured (the child process failed (exit status 1))",
        "  Redis storage: not measured",
    ]
    assert redis_table(results, table) == [
        "Redis storage: missing (redis (redis-py) is not installed): no table"
    ]
    assert web_notes(results) == []


def test_the_check_before_timing_fails_when_the_integration_is_not_there() -> None:
    pytest.importorskip("starlette")
    from benchmarks.web_common import WITH, WITHOUT, check_apps
    from benchmarks.web_drivers import asgi_call
    from benchmarks.web_starlette import _apps

    apps, registry = _apps()

    def call(side: str) -> Any:
        return lambda path: asyncio.run(asgi_call(apps[side], path))

    check_apps(registry, call(WITH), call(WITHOUT))  # the real pair passes
    with pytest.raises(RuntimeError, match=r"/checkout/cart answered 200 with its dependency open"):
        check_apps(registry, call(WITHOUT), call(WITHOUT))
    assert not registry["bench-checkout"].is_open  # reset afterwards


def test_blocks_interleave_the_sides_within_every_round() -> None:
    import gc

    from benchmarks.interleaved import BlockPlan, measure_blocks

    plan = BlockPlan(block=4, blocks=6, rounds=2, warmup=7)
    calls: list[tuple[str, int, bool]] = []
    cost = {"a": 10, "b": 20, "c": 40}  # ns per call each loop reports

    def prepare(name: str) -> Any:
        def ready() -> Any:
            def loop(n: int) -> int:
                calls.append((name, n, gc.isenabled()))
                return cost[name] * n + len(calls)  # a figure that differs per block

            return loop

        return ready

    measured = measure_blocks({name: prepare(name) for name in cost}, plan)

    warmup, timed = calls[:3], calls[3:]
    assert warmup == [("a", 7, True), ("b", 7, True), ("c", 7, True)]
    assert len(timed) == plan.rounds * plan.blocks * 3
    assert all(n == plan.block and not enabled for _, n, enabled in timed)  # gc off while timed
    assert gc.isenabled()
    order = [name for name, _, _ in timed]
    # Every block runs every side once, the first side rotating from block to block.
    blocks = [order[i : i + 3] for i in range(0, len(order), 3)]
    assert [block[0] for block in blocks] == ["a", "b", "c"] * 4
    assert all(sorted(block) == ["a", "b", "c"] for block in blocks)
    # A side's figure for a round is its blocks' time over its calls in that round.
    per_round = plan.rounds * plan.blocks * 3 // plan.rounds
    for name in cost:
        expected = []
        for first in (0, per_round):
            spent = [
                cost[name] * plan.block + 3 + index + 1
                for index in range(first, first + per_round)
                if order[index] == name
            ]
            expected.append(sum(spent) / plan.per_round)
        assert measured[name].wall.samples_ns == tuple(expected), name
        assert all(sample >= 0 for sample in measured[name].cpu.samples_ns)
