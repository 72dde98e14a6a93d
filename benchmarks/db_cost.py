"""The per-query cost of the database guards: a closed ``SELECT 1`` against PostgreSQL.

Seven sides, timed together like the cases (interleaved rounds, order rotated,
gc off, median of the rounds). Django's four share one cursor of an alias
guarded by a dependency with ``"database"``, so that they talk to the same
server process (on two cores, which core a server process runs on moves a
side's figure by more than the guard costs); each round sets the session's
``statement_timeout`` and the connection's execute wrappers before its loop:
no wrapper and no timeout (``django_plain``), no wrapper and the same
``statement_timeout`` as the guard sets (``django_timeout``), a no-op
``execute_wrapper`` with that timeout (``django_noop``: what Django's wrapper
mechanism costs any guard installed with it), and the guard
(``django_guarded``). SQLAlchemy's three (``sqlalchemy_*``, the guard being
``breaker_sqlalchemy.guard``) hold one connection each. Every side runs
``SELECT 1`` in autocommit and fetches its row; the guarded sides have a
``timeout``, so the watchdog is armed and disarmed per query.

Two ratios per framework: the guard's cost (guarded / timeout: the same
server work, the Python around it), which the target judges (at most +3%),
and the whole cost (guarded / plain), which adds what PostgreSQL spends on a
statement timeout (a timer armed per statement). For Django, noop / timeout
is reported beside them: the share of the guard's cost that Django's
mechanism takes whatever the wrapper does.

It runs in a child process (:func:`main`), since it configures Django's
settings; PostgreSQL is ``BREAKERPANEL_PG``
(default 127.0.0.1:5432, user postgres, database test). Without PostgreSQL
or a driver the result says why, and nothing is timed.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.timing import Measurement, Plan, SyncLoop, measure_sync, median_round_ratio
from example_apps.scenario.faultproxy import PG_HOST, PG_PORT, postgres_unavailable

__all__ = ["DB_FULL", "DB_QUICK", "DB_TARGET", "db_table", "db_verdicts", "time_db"]

DB_TARGET = 0.03
DB_FULL = Plan(calls={"closed_query": 2_000}, repeats=9)
DB_QUICK = Plan(calls={"closed_query": 30}, repeats=3)
PAIRS = {"django": "Django execute_wrapper", "sqlalchemy": "SQLAlchemy engine events"}
HOST, PORT = PG_HOST, PG_PORT
DEPENDENCY = "benchdb"
SIDES = ("plain", "timeout", "guarded")
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 5000
"""The guarded sides' timeout, and the timeout sides' statement_timeout."""
SERVER_TIMEOUT = f"-c statement_timeout={TIMEOUT_MS}"  # libpq's options: set per session


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


_cpu: dict[str, list[float]] = {}
"""Per side, the process's CPU nanoseconds per query of every timed loop (warm-up first)."""


def _query_loop(side: str, execute: Callable[[str], Any], fetch: Callable[[], Any]) -> SyncLoop:
    samples = _cpu.setdefault(side, [])

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        cpu = time.thread_time_ns
        cpu_start = cpu()
        start = clock()
        for _ in range(n):
            execute("SELECT 1")
            fetch()
        elapsed = clock() - start
        samples.append((cpu() - cpu_start) / n)
        return elapsed

    return loop


def _noop_wrapper(
    execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any
) -> Any:
    """An ``execute_wrapper`` that does nothing: Django's mechanism alone."""
    return execute(sql, params, many, context)


def _django_sides() -> dict[str, Callable[[], SyncLoop]]:
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
    sides: dict[str, Callable[[], SyncLoop]] = {}
    for name, installed in wrappers.items():
        loop = _query_loop(f"django_{name}", cursor.execute, cursor.fetchone)
        timeout_ms = 0 if name == "plain" else TIMEOUT_MS

        def prepare(
            loop: SyncLoop = loop, installed: list[Any] = installed, timeout_ms: int = timeout_ms
        ) -> SyncLoop:
            connection.execute_wrappers = []
            cursor.execute(f"SET statement_timeout = {timeout_ms}")
            connection.execute_wrappers = list(installed)
            return loop

        sides[f"django_{name}"] = prepare
    return sides


def _sqlalchemy_sides() -> tuple[dict[str, Callable[[], SyncLoop]], Any]:
    from sqlalchemy import create_engine

    from breaker_core import Registry
    from breaker_sqlalchemy import guard

    # A database dependency guarded in code: no concurrency limit by default, as Django's.
    dependency = {DEPENDENCY: {"database": True, "timeout": TIMEOUT_MS / 1000}}
    registry = Registry.from_settings({"dependencies": dependency})
    url = f"postgresql+psycopg://postgres@{HOST}:{PORT}/test"
    sides: dict[str, Callable[[], SyncLoop]] = {}
    for side in ("sqlalchemy_plain", "sqlalchemy_timeout", "sqlalchemy_guarded"):
        args = {"options": SERVER_TIMEOUT} if side == "sqlalchemy_timeout" else {}
        engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args=args)
        if side == "sqlalchemy_guarded":
            guard(engine, registry[DEPENDENCY])
        conn = engine.connect()

        def run(sql: str, conn: Any = conn) -> None:
            conn.exec_driver_sql(sql).scalar()

        loop = _query_loop(side, run, lambda: None)
        sides[side] = lambda loop=loop: loop  # type: ignore[misc]
    return sides, registry[DEPENDENCY]


def _pair(
    pair: str, plain: Measurement, timeout: Measurement, guarded: Measurement
) -> dict[str, Any]:
    guard_ratio = median_round_ratio(guarded, timeout)
    cpu = {side: statistics.median(_cpu[f"{pair}_{side}"][1:]) for side in ("timeout", "guarded")}
    return {
        "noop_median_ns": None,
        "noop_ratio": None,
        "noop_cpu_added_ns": None,
        "guard_cpu_added_ns": round(cpu["guarded"] - cpu["timeout"], 1),
        "timeout_cpu_ns": round(cpu["timeout"], 1),
        "plain_median_ns": round(plain.median_ns, 1),
        "timeout_median_ns": round(timeout.median_ns, 1),
        "guarded_median_ns": round(guarded.median_ns, 1),
        "guard_ratio": round(guard_ratio, 4),
        "guard_added_pct": round(100 * (guard_ratio - 1), 2),
        "whole_ratio": round(median_round_ratio(guarded, plain), 4),
        "statement_timeout_ratio": round(median_round_ratio(timeout, plain), 4),
        "target_met": guard_ratio <= 1 + DB_TARGET,
    }


def _noop(timeout: Measurement, noop: Measurement) -> dict[str, Any]:
    """Django's no-op ``execute_wrapper`` against the same timeout without a wrapper."""
    cpu = {side: statistics.median(_cpu[f"django_{side}"][1:]) for side in ("timeout", "noop")}
    return {
        "noop_median_ns": round(noop.median_ns, 1),
        "noop_ratio": round(median_round_ratio(noop, timeout), 4),
        "noop_cpu_added_ns": round(cpu["noop"] - cpu["timeout"], 1),
    }


def child(plan: Plan) -> dict[str, Any]:
    """Time the sides in this process (which it configures for Django)."""
    from breaker_django import breakers

    _configure_django()
    sqlalchemy_sides, sqlalchemy_breaker = _sqlalchemy_sides()
    prepare = {**_django_sides(), **sqlalchemy_sides}
    calls = plan.calls["closed_query"]
    measured = measure_sync(prepare, calls, plan.warmup_calls("closed_query"), plan.repeats)
    # The breakers' windows may have moved past the rounds: a few more queries, counted now,
    # show that each guarded side's loop really runs under its breaker.
    for pair in PAIRS:
        prepare[f"{pair}_guarded"]()(10)
    counted = {
        "django": breakers[DEPENDENCY].snapshot()["calls"],
        "sqlalchemy": sqlalchemy_breaker.snapshot()["calls"],
    }
    return {
        "available": True,
        "calls_per_round": calls,
        "rounds": plan.repeats,
        "target_added_pct": round(100 * DB_TARGET, 2),
        "pairs": {
            pair: {
                "title": title,
                "guarded_calls_counted": counted[pair],
                **_pair(pair, *(measured[f"{pair}_{side}"] for side in SIDES)),
                **(
                    _noop(measured["django_timeout"], measured["django_noop"])
                    if pair == "django"
                    else {}
                ),
            }
            for pair, title in PAIRS.items()
        },
    }


def time_db(plan: Plan, progress: Callable[[str], None]) -> dict[str, Any]:
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


def db_table(results: dict[str, Any], table: Callable[..., list[str]]) -> list[str]:
    """The printed table of :func:`time_db`'s results."""
    data = results.get("database")
    if not data or not data.get("available"):
        reason = (data or {}).get("reason", "not measured")
        return [f"Database guard cost: {reason}"]
    lines = [
        "Database guard cost on a closed SELECT 1 against PostgreSQL, ns per query (median of "
        f"{data['rounds']} rounds of {data['calls_per_round']}); ratios: medians of the "
        "rounds' ratios; guard = guarded / same statement_timeout without guard (target: at "
        f"most +{data['target_added_pct']:g}%); whole = guarded / plain; CPU µs: the client "
        "CPU time the guard adds per query; reference: Django's mechanism with a wrapper that "
        "does nothing, in the guarded column"
    ]
    rows: list[list[str]] = []
    for entry in data["pairs"].values():
        rows.append(
            [
                entry["title"],
                f"{entry['plain_median_ns']:.0f}",
                f"{entry['timeout_median_ns']:.0f}",
                f"{entry['guarded_median_ns']:.0f}",
                f"{entry['guard_ratio']:.3f}",
                f"{entry['whole_ratio']:.3f}",
                f"{entry['guard_cpu_added_ns'] / 1000:+.1f}",
                "met" if entry["target_met"] else "NOT met",
            ]
        )
        if entry.get("noop_median_ns") is not None:
            rows.append(
                [
                    "  reference: a no-op execute_wrapper",
                    f"{entry['plain_median_ns']:.0f}",
                    f"{entry['timeout_median_ns']:.0f}",
                    f"{entry['noop_median_ns']:.0f}",
                    f"{entry['noop_ratio']:.3f}",
                    "",
                    f"{entry['noop_cpu_added_ns'] / 1000:+.1f}",
                    "",
                ]
            )
    header = [
        "guard",
        "plain",
        "timeout",
        "guarded",
        "guard ratio",
        "whole ratio",
        "CPU µs",
        "target",
    ]
    return lines + table(header, rows)


def db_verdicts(results: dict[str, Any]) -> list[str]:
    """The verdict lines of :func:`time_db`'s results."""
    data = results.get("database")
    if not data or not data.get("available"):
        return ["  database guard cost: not measured"]
    lines = []
    for entry in data["pairs"].values():
        verb = "met" if entry["target_met"] else "NOT met"
        lines.append(
            f"  database guard cost ({entry['title']}): target {verb}: "
            f"{entry['guard_added_pct']:+.1f}% vs +{data['target_added_pct']:g}% "
            f"(with the statement timeout: x{entry['whole_ratio']:.3f})"
        )
    return lines


def main(argv: Sequence[str]) -> None:
    """The child's entry point: time the sides, print the result as one JSON line."""
    print(json.dumps(child(DB_QUICK if "--quick" in argv else DB_FULL)))
