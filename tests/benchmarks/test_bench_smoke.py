"""Smoke test of the benchmark harness: ``python -m benchmarks --quick`` run in-process.

Tiny loops only: it proves the harness runs end to end, that breaker_core lets
exactly one probe through under threads and asyncio, and that the JSON has the
documented layout. It says nothing about speed.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEERS = ("pybreaker", "circuitbreaker", "aiobreaker", "purgatory")
LIBRARIES = ("breaker_core", *PEERS)
CASES = ("closed_success", "closed_failure", "open_rejection", "async_closed_success")
BULKHEAD_CASES = ("closed_success", "async_closed_success")
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

    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["schema"] == 1
    assert results["quick"] is True
    assert set(results["libraries"]) == set(LIBRARIES)
    assert all(info["available"] for info in results["libraries"].values())
    assert set(results["methodology"]["targets"]) == {
        "closed_success",
        "open_rejection",
        "async_closed_success",
    }

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
        for side in ("without_cap", "with_cap"):
            assert data[side]["median_ns"] > 0, (case, side)
            assert data[side]["min_ns"] <= data[side]["median_ns"], (case, side)
            assert len(data[side]["samples_ns"]) == results["methodology"]["rounds"]
        without = data["without_cap"]["median_ns"]
        with_cap = data["with_cap"]["median_ns"]
        assert data["added_ns"] == pytest.approx(with_cap - without, abs=0.02), case
        assert data["added_pct"] == pytest.approx(100 * (with_cap - without) / without, abs=0.02)
        assert isinstance(data["target_met"], bool), case
        if abs(data["added_pct"] - bulkhead["target_added_pct"]) > 0.1:  # clear of rounding
            assert data["target_met"] == (data["added_pct"] <= bulkhead["target_added_pct"])

    for mode, callers in (("threads", 32), ("asyncio", 100)):
        probes = results["probes"][mode]
        assert probes["callers"] == callers
        assert set(probes["results"]) == set(LIBRARIES)
        ours = probes["results"]["breaker_core"]
        assert ours["half_open_runs"] == 1, (mode, ours)
        assert ours["rejected"] == callers - 1, (mode, ours)
        assert ours["errors"] == {}, (mode, ours)
