"""The per-query cost of the database guards: a closed ``SELECT 1`` against PostgreSQL.

Eight sides, timed together like the cases (interleaved rounds, gc off, median
of the rounds). Django's four share one cursor of an alias guarded by a
dependency with ``"database"``, so that they talk to the same server process
(on two cores, which core a server process runs on moves a side's figure by
more than the guard costs); each side sets the session's
``statement_timeout`` and the connection's execute wrappers before each of
its blocks:
no wrapper and no timeout (``django_plain``), no wrapper and the same
``statement_timeout`` as the guard sets (``django_timeout``), a no-op
``execute_wrapper`` with that timeout (``django_noop``: what Django's wrapper
mechanism costs any guard installed with it), and the guard
(``django_guarded``). SQLAlchemy's four (``sqlalchemy_*``, the guard being
``breaker_sqlalchemy.guard``) are four engines on one server connection (a
``StaticPool`` each over the same psycopg connection), for the same reason;
each side sets the session's ``statement_timeout`` before each of its blocks,
as Django's do. ``sqlalchemy_twin`` is a second unguarded engine with the
timeout: twin / timeout is the A/A check, what two identical engines differ
by in the same run (it should be 1 but for noise). Every side runs
``SELECT 1`` in autocommit and fetches its row; the guarded sides have a
``timeout``, so the watchdog is armed and disarmed per query.

No side has a fixed place (see :class:`DbPlan`): the sides' order is shuffled
in every block (a rotated order gave each side the same predecessor every
time, and the side after the other framework's paid for the switch: ``plain``
read 5 to 8% slower than ``timeout``); each block starts with a few untimed
queries of its side (the first queries after another side's cost up to 1.5
times a steady one, the guarded side's more); SQLAlchemy's engines are made
again for each round, in a shuffled order (untimed), so that no engine object
is the guarded one, or the unguarded one, for the whole run. The unguarded
engines never had a listener: any dialect listener sets the dialect's
``_has_events`` for good (``event.remove`` leaves it set), after which every
statement iterates the listener collections.

Two ratios per framework: the guard's cost (guarded / timeout: the same
server work, the Python around it), which the target judges (at most +3%),
and the whole cost (guarded / plain), which adds what PostgreSQL spends on a
statement timeout (a timer armed per statement). The guard's cost is the
median of the blocks' ratios: each timed block of the guarded side over the
timeout side's block of the same round and block number (the two ran next to
each other, in a shuffled order), with a 90% interval of that median
(bootstrap over the blocks, seeded). The median of the rounds' ratios, what
the target was judged on before, is reported beside it: on a busy two-core
host it read the A/A check (below) 0.5 to 1.9% away from 1 in four runs, the
blocks' median 0.2 to 0.6% (see docs/decisions.md). For Django, noop / timeout
is reported beside them: the share of the guard's cost that Django's
mechanism takes whatever the wrapper does; for SQLAlchemy, twin / timeout.

It runs in a child process (:func:`main`), since it configures Django's
settings; PostgreSQL is ``BREAKERPANEL_PG``
(default 127.0.0.1:5432, user postgres, database test). Without PostgreSQL
or a driver the result says why, and nothing is timed.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.interleaved import spread
from example_apps.scenario.faultproxy import PG_HOST, PG_PORT, postgres_unavailable

__all__ = ["DB_FULL", "DB_QUICK", "DB_TARGET", "DbPlan", "db_table", "db_verdicts", "time_db"]


@dataclass(frozen=True)
class DbPlan:
    """How the sides are timed: rounds of blocks, every side once per block.

    A round is ``blocks`` blocks; in each block every side runs ``settle``
    untimed queries and then ``block`` queries, timed alone, in an order
    shuffled from block to block (seeded: :data:`SEED`), so that every side
    follows every other one alike. Before each round the sides' objects that
    are made per round are made again (untimed). Rounds go on until
    ``min_rounds`` are done and ``budget_s`` seconds have passed, or
    ``max_rounds`` are done. ``warmup`` untimed queries per side come first.
    """

    block: int
    blocks: int
    min_rounds: int
    max_rounds: int
    budget_s: float
    warmup: int
    settle: int

    @property
    def queries_per_round(self) -> int:
        """Queries per side per round."""
        return self.block * self.blocks


DB_TARGET = 0.03
DB_FULL = DbPlan(
    block=25, blocks=16, min_rounds=15, max_rounds=150, budget_s=90.0, warmup=500, settle=3
)
DB_QUICK = DbPlan(block=10, blocks=2, min_rounds=3, max_rounds=3, budget_s=0.0, warmup=10, settle=1)
SEED = 17
"""The seed of the blocks' order and of the engines' making order: a run can be repeated."""
RESAMPLES = 400
"""Bootstrap resamples of the blocks' ratios, for the 90% interval of their median."""
ENGINE_WARMUP = 25
"""Untimed queries on each new SQLAlchemy engine, when the engines are made for a round."""
PAIRS = {"django": "Django execute_wrapper", "sqlalchemy": "SQLAlchemy engine events"}
HOST, PORT = PG_HOST, PG_PORT
DEPENDENCY = "benchdb"
SIDES = ("plain", "timeout", "guarded")
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 5000
"""The guarded sides' timeout, and the timeout sides' statement_timeout."""


def _database(options: dict[str, str]) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "test",
        "USER": "postgres",
        "HOST": HOST,
        "PORT": PORT,
        "OPTIONS": options,
    }


def _configure_django() -> None:
    import django  # type: ignore[import-untyped]
    from django.conf import settings  # type: ignore[import-untyped]

    settings.configure(
        SECRET_KEY="breakerpanel-benchmark-only-not-secret",
        INSTALLED_APPS=["breaker_django"],
        SILENCED_SYSTEM_CHECKS=["breaker.E003"],
        DATABASES={"default": _database({}), "guarded": _database({})},
        USE_TZ=True,
        BREAKERS={
            "dependencies": {
                DEPENDENCY: {"database": "guarded", "timeout": TIMEOUT_MS / 1000},
            }
        },
    )
    django.setup()


@dataclass(frozen=True)
class _Side:
    """One side: ``prepare()`` (untimed, before each of its blocks), ``run(n)``: n queries."""

    prepare: Callable[[], None]
    run: Callable[[int], None]


def _query_run(execute: Callable[[str], Any], fetch: Callable[[], Any]) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            execute("SELECT 1")
            fetch()

    return run


def _noop_wrapper(
    execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any
) -> Any:
    """An ``execute_wrapper`` that does nothing: Django's mechanism alone."""
    return execute(sql, params, many, context)


def _django_sides() -> dict[str, _Side]:
    from django.db import connections  # type: ignore[import-untyped]

    from breaker_django.db import guard_thread

    guard_thread()  # as a request does when it starts
    connection = connections["guarded"]
    cursor = connection.cursor()  # connected under the guard, which set the statement timeout
    wrappers: dict[str, list[Any]] = {
        "plain": [],
        "timeout": [],
        "noop": [_noop_wrapper],
        "guarded": list(connection.execute_wrappers),  # the guard alone
    }
    run = _query_run(cursor.execute, cursor.fetchone)
    sides: dict[str, _Side] = {}
    for name, installed in wrappers.items():
        timeout_ms = 0 if name == "plain" else TIMEOUT_MS

        def prepare(installed: list[Any] = installed, timeout_ms: int = timeout_ms) -> None:
            connection.execute_wrappers = []
            cursor.execute(f"SET statement_timeout = {timeout_ms}")
            connection.execute_wrappers = list(installed)

        sides[f"django_{name}"] = _Side(prepare, run)
    return sides


SQLALCHEMY_SIDES = (
    "sqlalchemy_plain",
    "sqlalchemy_timeout",
    "sqlalchemy_twin",
    "sqlalchemy_guarded",
)
"""SQLAlchemy's sides: ``twin`` is a second unguarded engine with the timeout (the A/A check)."""


def _sqlalchemy_sides(rng: random.Random) -> tuple[dict[str, _Side], Callable[[], None], Any]:
    """SQLAlchemy's sides, the function that makes their engines again, and the breaker."""
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    from breaker_core import Registry
    from breaker_sqlalchemy import guard, unguard

    # A database dependency guarded in code: no concurrency limit by default, as Django's.
    dependency = {DEPENDENCY: {"database": True, "timeout": TIMEOUT_MS / 1000}}
    registry = Registry.from_settings({"dependencies": dependency})
    breaker = registry[DEPENDENCY]
    # One server connection for every engine, as Django's sides share one: each engine holds
    # it through a StaticPool, and each side's prepare() sets its statement_timeout.
    shared = psycopg.connect(
        host=HOST, port=int(PORT), user="postgres", dbname="test", autocommit=True
    )
    url = f"postgresql+psycopg://postgres@{HOST}:{PORT}/test"
    connections: dict[str, Any] = {}
    guarded: list[Any] = []

    def renew() -> None:
        """New engines for every side, made in a shuffled order; the guard on its own."""
        for connection in connections.values():
            connection.close()  # back to its StaticPool: the shared connection stays open
        for engine in guarded:
            unguard(engine)  # so that it can be collected
        guarded.clear()
        order = list(SQLALCHEMY_SIDES)
        rng.shuffle(order)
        for side in order:
            engine = create_engine(
                url, isolation_level="AUTOCOMMIT", poolclass=StaticPool, creator=lambda: shared
            )
            if side == "sqlalchemy_guarded":
                guard(engine, breaker)
                guarded.append(engine)
            connections[side] = connection = engine.connect()
            for _ in range(ENGINE_WARMUP):
                connection.exec_driver_sql("SELECT 1").scalar()

    sides: dict[str, _Side] = {}
    for side in SQLALCHEMY_SIDES:
        timeout_ms = 0 if side == "sqlalchemy_plain" else TIMEOUT_MS

        def prepare(timeout_ms: int = timeout_ms) -> None:
            with shared.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {timeout_ms}")

        def run(n: int, side: str = side) -> None:
            connection = connections[side]
            for _ in range(n):
                connection.exec_driver_sql("SELECT 1").scalar()

        sides[side] = _Side(prepare, run)
    renew()
    return sides, renew, breaker


@dataclass
class _Samples:
    """Per side: wall and client-process CPU nanoseconds per query, per round and per block.

    ``blocks[side][i]`` is the wall time per query of the side's i-th timed
    block: the same i is the same round and block number for every side.
    """

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]
    blocks: dict[str, list[float]]
    seconds: float


def _measure(
    sides: dict[str, _Side], plan: DbPlan, renew: Sequence[Callable[[], None]], rng: random.Random
) -> _Samples:
    """Time the sides in interleaved blocks, round after round (see :class:`DbPlan`).

    ``renew``: called before each round (untimed), to make the sides' engines again.
    """
    names = list(sides)
    for name in names:
        sides[name].prepare()
        sides[name].run(plan.warmup)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    blocks: dict[str, list[float]] = {name: [] for name in names}
    clock, cpu_clock = time.perf_counter_ns, time.process_time_ns
    started = time.monotonic()
    rounds = 0
    while rounds < plan.max_rounds and (
        rounds < plan.min_rounds or time.monotonic() - started < plan.budget_s
    ):
        for again in renew:
            again()
        spent = dict.fromkeys(names, 0)
        used = dict.fromkeys(names, 0)
        gc.collect()
        gc.disable()
        try:
            for _block in range(plan.blocks):
                order = names[:]
                rng.shuffle(order)
                for name in order:
                    side = sides[name]
                    side.prepare()
                    side.run(plan.settle)
                    cpu_start = cpu_clock()
                    start = clock()
                    side.run(plan.block)
                    end = clock()
                    used[name] += cpu_clock() - cpu_start
                    spent[name] += end - start
                    blocks[name].append((end - start) / plan.block)
        finally:
            gc.enable()
        for name in names:
            wall[name].append(spent[name] / plan.queries_per_round)
            cpu[name].append(used[name] / plan.queries_per_round)
        rounds += 1
    return _Samples(wall, cpu, blocks, time.monotonic() - started)


def _ratios(times: dict[str, list[float]], top: str, bottom: str) -> list[float]:
    """``top`` over ``bottom``, pair by pair: ``samples.wall`` (per round) or ``.blocks``.

    Of blocks, each is over ``bottom``'s of the same round and number.
    """
    return [t / b for t, b in zip(times[top], times[bottom], strict=True)]


def _cpu_added(samples: _Samples, top: str, bottom: str) -> list[float]:
    return [t - b for t, b in zip(samples.cpu[top], samples.cpu[bottom], strict=True)]


def _rounded(spread: dict[str, float], digits: int) -> dict[str, float]:
    return {key: round(value, digits) for key, value in spread.items()}


def median_interval(values: Sequence[float], rng: random.Random) -> tuple[float, float]:
    """A 90% interval of the median of ``values``: the bootstrap's 5th and 95th percentiles.

    :data:`RESAMPLES` resamples of ``values`` (with replacement, as many as
    there are), drawn with ``rng``.
    """
    medians = sorted(
        statistics.median(rng.choices(values, k=len(values))) for _ in range(RESAMPLES)
    )
    return medians[RESAMPLES // 20], medians[RESAMPLES - 1 - RESAMPLES // 20]


def _compared(samples: _Samples, top: str, bottom: str, name: str) -> dict[str, Any]:
    """``top`` against ``bottom``: the blocks' median ratio, its interval, spread and rounds'."""
    ratios = _ratios(samples.blocks, top, bottom)
    low, high = median_interval(ratios, random.Random(SEED))
    blocks = spread(ratios)
    return {
        f"{name}_ratio": round(blocks["median"], 4),
        f"{name}_ratio_spread": _rounded(blocks, 4),
        f"{name}_ratio_interval": [round(low, 4), round(high, 4)],
        f"{name}_round_ratio": round(statistics.median(_ratios(samples.wall, top, bottom)), 4),
    }


def _pair(samples: _Samples, pair: str) -> dict[str, Any]:
    plain, timeout, guarded = (f"{pair}_{side}" for side in SIDES)
    guard = _compared(samples, guarded, timeout, "guard")
    cpu_added = spread(_cpu_added(samples, guarded, timeout))
    return {
        "noop_median_ns": None,
        "noop_ratio": None,
        "noop_cpu_added_ns": None,
        "plain_median_ns": round(statistics.median(samples.wall[plain]), 1),
        "timeout_median_ns": round(statistics.median(samples.wall[timeout]), 1),
        "guarded_median_ns": round(statistics.median(samples.wall[guarded]), 1),
        **guard,
        "guard_added_pct": round(100 * (guard["guard_ratio"] - 1), 2),
        "whole_ratio": round(statistics.median(_ratios(samples.blocks, guarded, plain)), 4),
        "statement_timeout_ratio": round(
            statistics.median(_ratios(samples.blocks, timeout, plain)), 4
        ),
        "timeout_cpu_ns": round(statistics.median(samples.cpu[timeout]), 1),
        "guard_cpu_added_ns": round(cpu_added["median"], 1),
        "guard_cpu_added_spread": _rounded(cpu_added, 1),
        "target_met": guard["guard_ratio"] <= 1 + DB_TARGET,
        **_twin(samples, pair),
    }


def _twin(samples: _Samples, pair: str) -> dict[str, Any]:
    """The A/A check: a second unguarded side with the timeout against the timeout side."""
    twin, timeout = f"{pair}_twin", f"{pair}_timeout"
    if twin not in samples.wall:
        return {
            "twin_median_ns": None,
            "twin_ratio": None,
            "twin_ratio_spread": None,
            "twin_cpu_added_ns": None,
        }
    return {
        "twin_median_ns": round(statistics.median(samples.wall[twin]), 1),
        **_compared(samples, twin, timeout, "twin"),
        "twin_cpu_added_ns": round(statistics.median(_cpu_added(samples, twin, timeout)), 1),
    }


def _noop(samples: _Samples) -> dict[str, Any]:
    """Django's no-op ``execute_wrapper`` against the same timeout without a wrapper."""
    return {
        "noop_median_ns": round(statistics.median(samples.wall["django_noop"]), 1),
        **_compared(samples, "django_noop", "django_timeout", "noop"),
        "noop_cpu_added_ns": round(
            statistics.median(_cpu_added(samples, "django_noop", "django_timeout")), 1
        ),
    }


def child(plan: DbPlan) -> dict[str, Any]:
    """Time the sides in this process (which it configures for Django)."""
    from breaker_django import breakers

    _configure_django()
    rng = random.Random(SEED)
    sqlalchemy_sides, renew, sqlalchemy_breaker = _sqlalchemy_sides(rng)
    sides = {**_django_sides(), **sqlalchemy_sides}
    samples = _measure(sides, plan, [renew], rng)
    # The breakers' windows may have moved past the rounds: a few more queries, counted now,
    # show that each guarded side's loop really runs under its breaker.
    for pair in PAIRS:
        sides[f"{pair}_guarded"].prepare()
        sides[f"{pair}_guarded"].run(10)
    counted = {
        "django": breakers[DEPENDENCY].snapshot()["calls"],
        "sqlalchemy": sqlalchemy_breaker.snapshot()["calls"],
    }
    return {
        "available": True,
        "calls_per_round": plan.queries_per_round,
        "block": plan.block,
        "blocks": plan.blocks,
        "settle": plan.settle,
        "rounds": len(samples.wall["django_plain"]),
        "timed_blocks": len(samples.blocks["django_plain"]),
        "seconds": round(samples.seconds, 1),
        "target_added_pct": round(100 * DB_TARGET, 2),
        "pairs": {
            pair: {
                "title": title,
                "guarded_calls_counted": counted[pair],
                **_pair(samples, pair),
                **(_noop(samples) if pair == "django" else {}),
            }
            for pair, title in PAIRS.items()
        },
    }


def time_db(plan: DbPlan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Time the guards in a child process; without PostgreSQL or a driver, say why."""
    missing = postgres_unavailable("psycopg", "sqlalchemy", "django")
    if missing is not None:
        return {"available": False, "reason": missing}
    progress("timing the database guards on a closed query against PostgreSQL ...")
    quick = ["--quick"] if plan is DB_QUICK else []
    done = subprocess.run(
        [sys.executable, "-c", "import sys, benchmarks.db_cost as m; m.main(sys.argv[1:])", *quick],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        return {"available": False, "reason": f"the child failed: {done.stderr.strip()[-500:]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _pct(ratio: float) -> str:
    return f"{100 * (ratio - 1):+.1f}%"


def _ratio_cells(entry: dict[str, Any], name: str) -> list[str]:
    """The guard, interval, quartiles and rounds' cells of a ratio ``name`` of ``entry``."""
    spread = entry[f"{name}_ratio_spread"]
    low, high = entry[f"{name}_ratio_interval"]
    return [
        _pct(entry[f"{name}_ratio"]),
        f"{_pct(low)} .. {_pct(high)}",
        f"{_pct(spread['q1'])} .. {_pct(spread['q3'])}",
        _pct(entry[f"{name}_round_ratio"]),
    ]


def db_table(results: dict[str, Any], table: Callable[..., list[str]]) -> list[str]:
    """The printed table of :func:`time_db`'s results."""
    data = results.get("database")
    if not data or not data.get("available"):
        reason = (data or {}).get("reason", "not measured")
        return [f"Database guard cost: {reason}"]
    lines = [
        "Database guard cost on a closed SELECT 1 against PostgreSQL: µs per query, wall time "
        f"(median of {data['rounds']} rounds of {data['calls_per_round']} queries per side, "
        f"in {data['blocks']} blocks of {data['block']}, each after {data['settle']} untimed, "
        "the sides in an order shuffled in each block, SQLAlchemy's engines made again for "
        f"each round; {data['seconds']:g} s); guard = guarded / the same statement_timeout "
        f"without the guard: the median of the {data['timed_blocks']} blocks' ratios (each "
        "block over the other side's of the same round and number; target: at most "
        f"+{data['target_added_pct']:g}%), a 90% interval of that median (bootstrap), the "
        "blocks' quartiles, and the median of the rounds' ratios; whole = guarded / plain; "
        "CPU added: the client process's CPU time per query (time.process_time), guarded "
        "minus timeout, median [quartiles] of the rounds; references, in the guarded column "
        "against the timeout one: Django's mechanism with a wrapper that does nothing, and "
        "the A/A check (a second unguarded SQLAlchemy engine with the timeout)"
    ]
    rows: list[list[str]] = []
    for entry in data["pairs"].values():
        cpu = entry["guard_cpu_added_spread"]
        rows.append(
            [
                entry["title"],
                f"{entry['plain_median_ns'] / 1000:.1f}",
                f"{entry['timeout_median_ns'] / 1000:.1f}",
                f"{entry['guarded_median_ns'] / 1000:.1f}",
                *_ratio_cells(entry, "guard"),
                f"{entry['whole_ratio']:.3f}",
                f"{cpu['median'] / 1000:+.1f} [{cpu['q1'] / 1000:+.1f} .. {cpu['q3'] / 1000:+.1f}]",
                f"{entry['timeout_cpu_ns'] / 1000:.1f}",
                "met" if entry["target_met"] else "NOT met",
            ]
        )
        for name, title in (
            ("noop", "  reference: a no-op execute_wrapper"),
            ("twin", "  A/A: a second unguarded engine"),
        ):
            if entry.get(f"{name}_median_ns") is None:
                continue
            rows.append(
                [
                    title,
                    "",
                    "",
                    f"{entry[f'{name}_median_ns'] / 1000:.1f}",
                    *_ratio_cells(entry, name),
                    "",
                    f"{entry[f'{name}_cpu_added_ns'] / 1000:+.1f}",
                    "",
                    "",
                ]
            )
    header = [
        "guard",
        "plain",
        "timeout",
        "guarded",
        "guard",
        "90% interval",
        "quartiles",
        "rounds'",
        "whole",
        "CPU added µs",
        "CPU µs",
        "target",
    ]
    return lines + table(header, rows)


def db_verdicts(results: dict[str, Any]) -> list[str]:
    """The verdict lines of :func:`time_db`'s results: what was measured, and the figure."""
    data = results.get("database")
    if not data or not data.get("available"):
        return ["  database guard cost: not measured"]
    lines = []
    target = 1 + data["target_added_pct"] / 100
    for entry in data["pairs"].values():
        verb = "met" if entry["target_met"] else "NOT met"
        low, high = entry["guard_ratio_interval"]
        inside = low <= target <= high
        lines.append(
            f"  database guard cost ({entry['title']}): target {verb}: wall time of a real "
            f"SELECT 1, guarded / same statement_timeout unguarded, median of "
            f"{data['timed_blocks']} blocks' ratios {_pct(entry['guard_ratio'])} vs "
            f"+{data['target_added_pct']:g}% (90% interval {_pct(low)} .. {_pct(high)}"
            f"{': the target lies inside it' if inside else ''}; median of {data['rounds']} "
            f"rounds' ratios {_pct(entry['guard_round_ratio'])}); client CPU added "
            f"{entry['guard_cpu_added_ns'] / 1000:.1f} µs per query of "
            f"{entry['timeout_cpu_ns'] / 1000:.1f} µs (with the statement timeout, whole: "
            f"x{entry['whole_ratio']:.3f})"
            + (
                f"; A/A, a second unguarded engine over the timeout one: "
                f"{_pct(entry['twin_ratio'])}"
                if entry.get("twin_ratio") is not None
                else ""
            )
        )
    return lines


def main(argv: Sequence[str]) -> None:
    """The child's entry point: time the sides, print the result as one JSON line."""
    print(json.dumps(child(DB_QUICK if "--quick" in argv else DB_FULL)))
