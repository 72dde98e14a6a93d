"""Smoke test of the benchmark harness: ``python -m benchmarks --quick`` run in-process.

Tiny loops only: it proves the harness runs end to end, that breaker_core lets
exactly one probe through under threads and asyncio, and that the JSON has the
documented layout. It says nothing about speed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import warnings
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEERS = ("pybreaker", "circuitbreaker", "aiobreaker", "purgatory")
LIBRARIES = ("breaker_core", *PEERS)
CASES = ("closed_success", "closed_failure", "open_rejection", "async_closed_success")
BULKHEAD_CASES = ("closed_success", "async_closed_success")
HTTP_CLIENTS = {
    "httpx_sync": "httpx.Client",
    "httpx_async": "httpx.AsyncClient",
    "requests": "requests.Session",
}
WEB = {
    # results key: (framework module, table title, references timed on the plain path)
    "django": ("django", "Django BreakerMiddleware", ["noop_middleware"]),
    "flask": ("flask", "Flask Breakers extension", ["noop_hooks"]),
    "starlette": ("starlette", "Starlette BreakerMiddleware", ["noop_base_http", "noop_asgi"]),
}
ROUTES = {"plain": "/about", "guarded": "/checkout/cart", "kept": "/catalog/sku-1"}
# Peer libraries are bench-only dependencies and not ours to fix: their
# deprecation warnings must not fail this test under filterwarnings = error.
PEER_MODULES = r"(pybreaker|circuitbreaker|aiobreaker|purgatory)(\..*)?$"


@pytest.fixture
def peers() -> None:
    """Import every peer library (skipping when one is missing), hushing their warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        for name in PEERS:
            pytest.importorskip(name)
    # The breaker transport's cost needs the http extra.
    pytest.importorskip("httpx")
    pytest.importorskip("requests")


def _median_round_ratio(top: list[float], bottom: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(top, bottom, strict=True))


def _check_with_without(
    data: dict[str, Any],
    without: str,
    with_: str,
    samples: str,
    rounds: int,
    target: float,
    strict: bool = False,
) -> None:
    """The fields a with/without pair shares, bulkhead and breaker transport alike."""
    for side in (without, with_):
        assert data[side][f"median_{samples}"] > 0, side
        assert data[side][f"min_{samples}"] <= data[side][f"median_{samples}"], side
        assert len(data[side][f"samples_{samples}"]) == rounds, side
    low, high = data[without][f"median_{samples}"], data[with_][f"median_{samples}"]
    assert data["added_pct"] == pytest.approx(100 * (high - low) / low, abs=0.02)
    per_round = _median_round_ratio(
        data[with_][f"samples_{samples}"], data[without][f"samples_{samples}"]
    )
    assert data["median_round_ratio"] == pytest.approx(per_round, abs=1e-3)
    assert data["median_round_added_pct"] == pytest.approx(
        100 * (data["median_round_ratio"] - 1), abs=0.02
    )
    assert isinstance(data["target_met"], bool)
    assert isinstance(data["median_round_target_met"], bool)
    if abs(data["added_pct"] - target) > 0.1:  # clear of rounding (strict: "under" the target)
        assert data["target_met"] == (
            data["added_pct"] < target if strict else data["added_pct"] <= target
        )
    if abs(data["median_round_added_pct"] - target) > 0.1:
        per_round_pct = data["median_round_added_pct"]
        assert data["median_round_target_met"] == (
            per_round_pct < target if strict else per_round_pct <= target
        )


def _check_spread(spread: dict[str, float], top: list[float], bottom: list[float]) -> None:
    """A ``round_added_pct``: median, quartiles and range of the rounds' ``top / bottom``."""
    ratios = [a / b for a, b in zip(top, bottom, strict=True)]
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    expected = {
        "median": statistics.median(ratios),
        "q1": q1,
        "q3": q3,
        "min": min(ratios),
        "max": max(ratios),
    }
    for key, ratio in expected.items():
        assert spread[key] == pytest.approx(100 * (ratio - 1), abs=0.02), key
    assert spread["min"] <= spread["q1"] <= spread["median"] <= spread["q3"] <= spread["max"]


def _check_round_spreads(
    figures: dict[str, Any], side: dict[str, Any], without: dict[str, Any]
) -> None:
    """A web pair's per-round spreads, on both clocks, recomputed from the rounds."""
    for prefix in ("", "wall_"):
        spread = figures[f"{prefix}round_added_pct"]
        assert len(side[f"{prefix}samples_us"]) == 3
        _check_spread(spread, side[f"{prefix}samples_us"], without[f"{prefix}samples_us"])
    assert figures["round_added_pct"]["median"] == figures["median_round_added_pct"]
    assert side["wall_median_us"] == pytest.approx(
        statistics.median(side["wall_samples_us"]), abs=2e-4
    )


def _check_web_section(key: str, results: dict[str, Any], printed: str) -> None:
    """A framework's section: measured (or missing, when the framework is not installed)."""
    module, title, references = WEB[key]
    section = results[key]
    if importlib.util.find_spec(module) is None:
        assert section["measured"] is False
        assert section["missing"] is True
        assert module in section["reason"]
        assert f"{title}: missing" in printed
        return
    assert section["measured"] is True, section.get("reason")
    assert section["missing"] is False
    assert f"{title} cost per request" in printed
    assert section["rounds"] == 3
    assert section["target_added_pct"] == 5
    assert section["process"]["command"][:3] == ["python", "-m", "benchmarks.web_child"]
    assert list(section["routes"]) == list(ROUTES)
    assert section["clock"] == "cpu"
    for route, data in section["routes"].items():
        assert data["path"] == ROUTES[route]
        assert (data["block"], data["blocks"]) == (5, 2)  # 2 blocks of 5 per side per round
        assert data["requests_per_round"] == 10
        assert data["warmup_requests"] == 5
        assert data["keeps_pages"] == (route == "kept")
        target = 10 if route == "kept" else 5  # a page is stored at most once per interval
        assert data["target_added_pct"] == target
        _check_with_without(data, "without", "with", "us", 3, target, strict=True)
        without = data["without"]["median_us"]
        assert data["added_us"] == pytest.approx(data["with"]["median_us"] - without, abs=0.002)
        assert list(data["references"]) == (references if route == "plain" else [])
        _check_round_spreads(data, data["with"], data["without"])
        for name, reference in data["references"].items():
            assert reference["median_us"] > 0, name
            assert len(reference["samples_us"]) == 3, name
            assert reference["added_pct"] == pytest.approx(
                100 * (reference["median_us"] - without) / without, abs=0.02
            ), name
            _check_round_spreads(reference, reference, data["without"])
        assert f"{title} ({data['title']}): target" in printed


def _check_redis_section(results: dict[str, Any], printed: str) -> None:
    """The Redis section: measured when a server answers on 127.0.0.1:6379, keys cleaned up."""
    section = results["redis"]
    if importlib.util.find_spec("redis") is None:
        assert section["missing"] is True
        assert "Redis storage: missing" in printed
        return
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        assert section["measured"] is False
        assert section["reason"]
        return
    try:
        assert section["measured"] is True, section.get("reason")
        prefix = section["prefix"]
        assert section["storage"] == (f"redis://127.0.0.1:6379/15?prefix={prefix}&refresh=250ms")
        # Every key of the run's prefix is gone.
        assert section["keys_left"] == 0
        assert list(client.scan_iter(match=f"*{prefix}*")) == []
    finally:
        client.close()
    closed = section["closed_call"]
    assert closed["calls_per_round"] == 500
    assert closed["rounds"] == 3
    assert closed["healthy"] is True
    for side in ("memory", "redis"):
        assert len(closed[side]["samples_ns"]) == 3
    ratio = closed["redis"]["median_ns"] / closed["memory"]["median_ns"]
    assert closed["ratio"] == pytest.approx(ratio, abs=2e-3)
    per_round = _median_round_ratio(closed["redis"]["samples_ns"], closed["memory"]["samples_ns"])
    assert closed["median_round_ratio"] == pytest.approx(per_round, abs=2e-3)
    assert closed["target_ratio"] == 2
    if abs(ratio - 2) > 0.01:
        assert closed["target_met"] == (ratio <= 2)
    assert "Redis storage (closed call): target" in printed
    run = section["processes"]
    assert run["processes"] == 4
    assert run["rounds"] == 2
    for side in ("memory", "redis"):
        assert len(run[side]["samples_total_calls_per_s"]) == 2
        assert all(len(rates) == 4 for rates in run[side]["samples_per_process_calls_per_s"])
        assert run[side]["total_calls_per_s"] > 0
    # The 4 processes shared one breaker: its shared window counted every call they made.
    assert run["all_counted"] is True
    assert run["shared_window_calls"] == run["worker_calls"] > 0
    assert run["healthy"] is True
    assert "Redis storage (4 processes, one shared breaker):" in printed


@pytest.mark.slow
@pytest.mark.usefixtures("peers")
def test_quick_run_writes_the_documented_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `benchmarks` is a top-level folder of the repository, not an installed package.
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.__main__ import main

    output = tmp_path / "results" / "latest.json"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=PEER_MODULES)
        assert main(["--quick", "--output", str(output)]) == 0

    printed = capsys.readouterr().out
    assert "breaker_core vs the fastest peer" in printed
    assert "half-open probes" in printed
    assert "bulkhead cost on a closed call" in printed
    assert "breaker transport cost on a real request" in printed
    assert "breaker transport cost (httpx.AsyncClient): target" in printed
    assert "OpenTelemetry cost on a closed call" in printed

    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["schema"] == 1
    assert results["quick"] is True
    assert set(results["libraries"]) == set(LIBRARIES)
    assert all(info["available"] for info in results["libraries"].values())
    assert results["methodology"]["http_requests_per_round"] == dict.fromkeys(HTTP_CLIENTS, 5)
    assert results["methodology"]["targets"] == {
        "closed_success": 0.8,
        "closed_failure": 0.8,
        "open_rejection": 0.5,
        "async_closed_success": 0.8,
    }
    assert "breaker_core vs the floor" in printed

    database = results["database"]
    if os.environ.get("CI"):  # PostgreSQL runs on every CI machine: it must be timed there
        assert database["available"], database["reason"]
    if database["available"]:
        assert "Database guard cost on a closed SELECT 1" in printed
        assert set(database["pairs"]) == {"django", "sqlalchemy"}
        for pair in database["pairs"].values():
            assert pair["guarded_calls_counted"] > 0  # the guard really was in the loop
            assert pair["plain_median_ns"] > 0
            assert pair["guard_ratio"] > 0
            spread = pair["guard_ratio_spread"]  # the blocks' ratios: median inside the range
            assert spread["min"] <= spread["q1"] <= pair["guard_ratio"] <= spread["q3"]
            assert spread["q3"] <= spread["max"]
            low, high = pair["guard_ratio_interval"]  # an interval of that median, within them
            assert spread["min"] <= low <= pair["guard_ratio"] <= high <= spread["max"]
            assert pair["guard_round_ratio"] > 0
            assert pair["timeout_cpu_ns"] > 0
        # SQLAlchemy's A/A check: a second unguarded engine, timed and printed beside the guard.
        assert database["pairs"]["sqlalchemy"]["twin_median_ns"] > 0
        assert database["pairs"]["sqlalchemy"]["twin_ratio"] > 0
        assert database["pairs"]["django"]["twin_ratio"] is None
        assert "A/A: a second unguarded engine" in printed
        assert "client CPU added" in printed
    else:
        assert "PostgreSQL" in database["reason"] or "not installed" in database["reason"]
        assert f"Database guard cost: {database['reason']}" in printed

    otel = results["opentelemetry"]
    assert otel["available"] is True
    assert list(otel["sides"]) == [
        "plain",
        "listener",
        "otel_api",
        "otel_sdk",
        "otel_sdk_unsampled",
        "otel_sdk_durations",
        "plain_auto",
        "otel_sdk_auto",
    ]
    assert all(side["median_ns"] > 0 for side in otel["sides"].values())

    assert list(results["cases"]) == list(CASES)
    for case, data in results["cases"].items():
        assert data["baseline"]["median_ns"] > 0, case
        assert set(data["results"]) == set(LIBRARIES), case
        ours = data["results"]["breaker_core"]
        assert ours["supported"] is True, case
        for name, entry in data["results"].items():
            if entry["supported"]:
                assert entry["median_ns"] > 0, (case, name)
                assert len(entry["samples_ns"]) == results["methodology"]["rounds"]
                assert entry["overhead_ns"] == pytest.approx(
                    entry["median_ns"] - data["baseline"]["median_ns"], abs=0.02
                )
                # Garbage counts are measured for the sync cases only.
                counted = entry["cyclic_garbage_per_call"] is not None
                assert counted == (not case.startswith("async_")), (case, name)
                assert counted == (entry["retained_objects_per_call"] is not None)
            else:
                assert entry["reason"], (case, name)
        comparison = data["comparison"]
        assert comparison["fastest_peer"] in PEERS
        assert comparison["ratio"] == pytest.approx(
            ours["median_ns"] / comparison["fastest_peer_ns"], rel=1e-2
        )
        assert (comparison["target_met"] is None) == (case not in results["methodology"]["targets"])
        # The floor (check a state, call, catch) ran in the same rounds as everyone else.
        floor = data["floor"]
        assert floor["supported"] is True
        assert len(floor["samples_ns"]) == results["methodology"]["rounds"]
        assert comparison["floor_ns"] == floor["median_ns"] > 0
        assert comparison["floor_ratio"] == pytest.approx(
            ours["median_ns"] / floor["median_ns"], rel=1e-2
        )
    # pybreaker's async API needs tornado: reported as unsupported, not faked.
    assert results["cases"]["async_closed_success"]["results"]["pybreaker"]["supported"] is False

    # The bulkhead's cost: breaker_core with a never-reached cap against no cap.
    bulkhead = results["bulkhead"]
    assert bulkhead["library"] == "breaker_core"
    assert bulkhead["max_concurrent"] == 1000
    assert bulkhead["target_added_pct"] == 15
    assert list(bulkhead["cases"]) == list(BULKHEAD_CASES)
    for case, data in bulkhead["cases"].items():
        assert data["title"] == results["cases"][case]["title"], case
        assert data["calls_per_round"] == results["cases"][case]["calls_per_round"], case
        _check_with_without(
            data,
            "without_cap",
            "with_cap",
            "ns",
            results["methodology"]["rounds"],
            bulkhead["target_added_pct"],
        )
        without = data["without_cap"]["median_ns"]
        with_cap = data["with_cap"]["median_ns"]
        assert data["added_ns"] == pytest.approx(with_cap - without, abs=0.02), case

    # The breaker transport's cost: each client with and without it, on a real local server.
    http = results["http"]
    assert http["measured"] is True
    assert 0 < http["duration_s"] < results["duration_s"] + 0.1
    server = http["server"]
    assert server["mode"] == "subprocess"
    assert server["url"].startswith("http://127.0.0.1:")
    assert server["path"] == "/inventory/sku-1"
    # One client per side, reused: one kept-alive connection each.
    assert server["connections_expected"] == 2 * len(HTTP_CLIENTS)
    assert server["connections"] == server["connections_expected"]
    assert server["keep_alive"] is True
    assert http["rounds"] == 3
    assert http["target_added_pct"] == 3
    assert list(http["clients"]) == list(HTTP_CLIENTS)
    for client, data in http["clients"].items():
        assert data["title"] == HTTP_CLIENTS[client]
        assert data["requests_per_round"] == 5
        assert data["warmup_requests"] >= 1
        assert "Breaker" not in data["without"]["client"], client
        assert "Breaker" in data["with"]["client"], client
        _check_with_without(data, "without", "with", "us", http["rounds"], http["target_added_pct"])
        without = data["without"]["median_us"]
        assert data["added_us"] == pytest.approx(data["with"]["median_us"] - without, abs=0.02)
        _check_spread(
            data["round_added_pct"], data["with"]["samples_us"], data["without"]["samples_us"]
        )

    # The web integrations, each against the same app without it, and the Redis storage.
    for key in WEB:
        _check_web_section(key, results, printed)
    _check_redis_section(results, printed)

    for mode, callers in (("threads", 32), ("asyncio", 100)):
        probes = results["probes"][mode]
        assert probes["callers"] == callers
        assert set(probes["results"]) == set(LIBRARIES)
        ours = probes["results"]["breaker_core"]
        assert ours["half_open_runs"] == 1, (mode, ours)
        assert ours["rejected"] == callers - 1, (mode, ours)
        assert ours["errors"] == {}, (mode, ours)
