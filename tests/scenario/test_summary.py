"""From measurements to numbers and claims, on runs whose outcome is known."""

from __future__ import annotations

import re

import pytest

from example_apps.scenario import summary, tables
from example_apps.scenario.load import Outcome, Result
from example_apps.scenario.plan import MODES, QUICK
from example_apps.scenario.run import RunData, WarmUp


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert summary.percentile(values, 50) == 50
    assert summary.percentile(values, 95) == 95
    assert summary.percentile(values, 99) == 99
    assert summary.percentile([7.0], 99) == 7.0
    assert summary.percentile(reversed(values), 100) == 100
    assert summary.percentile([], 50) is None


def result(page: str, due: float, latency: float, outcome: str = Outcome.OK) -> Result:
    status = 503 if outcome == Outcome.UNAVAILABLE else 200
    return Result(page, due, due, due + latency, status, outcome)


def transition(t: float, new: str, pid: int = 1, breaker: str = "inventory") -> dict:
    return {"t": t, "pid": pid, "breaker": breaker, "old_state": "?", "new_state": new}


def make_run(
    mode: str,
    *,
    about_during_hang: float,
    product_during_hang: float,
    trip=None,
    closed_at: float = 8.5,
):
    """A 10 s run: Inventory hangs from 2 s to 8 s; every page every 0.1 s."""
    results = []
    for i in range(100):
        due = i / 10
        hanging = 2 <= due < 8
        about = about_during_hang if hanging and (trip is None or due < trip) else 0.004
        results.append(result("about", due, about))
        open_now = trip is not None and trip <= due < closed_at
        if hanging:
            latency = 0.03 if open_now else product_during_hang
            results.append(result("product", due, latency, Outcome.DEGRADED))
        else:
            results.append(result("product", due, 0.04))
        results.append(result("stock", due, 0.01, Outcome.STALE if open_now else Outcome.OK))
        checkout = Outcome.UNAVAILABLE if open_now else Outcome.OK
        results.append(result("checkout", due, 0.01, checkout))
    transitions = (
        [] if trip is None else [transition(trip, "open"), transition(closed_at, "closed")]
    )
    samples = [(t / 20, 4 if 2 <= t / 20 < 3 else 1, 0) for t in range(200)]
    return RunData(
        shop="flask",
        mode=mode,
        server="gunicorn",
        capacity=4,
        results=results,
        samples=samples,
        transitions=transitions,
        hang_at=2.0,
        recover_at=8.0,
        inventory_calls=12,
        startup=0.3,
    )


def test_summarize_measures_pages_windows_saturation_and_recovery():
    run = make_run("default", about_during_hang=0.5, product_during_hang=1.0, trip=3.0)
    run.transitions.append(transition(3.5, "open", pid=2))  # a second process trips later
    run.transitions.append(transition(8.9, "closed", pid=2))  # and closes last
    data = summary.summarize(run)
    assert data["about"]["requests"] == 100
    assert data["product"]["outcomes"] == {"degraded": 60, "ok": 40}
    assert data["product"]["errors"] == 0
    assert data["stock"]["outcomes"] == {"ok": 45, "stale": 55}
    assert data["checkout"]["outcomes"] == {"503": 55, "ok": 45}
    assert data["about_healthy"] == {
        "start": 0.0,
        "end": 2.0,
        "requests": 20,
        "p50": 4.0,
        "p75": 4.0,
        "p95": 4.0,
        "p99": 4.0,
    }
    assert data["about_hang"]["p99"] == 500.0
    assert data["about_before_trip"]["requests"] == 10
    assert data["about_before_trip"]["p95"] == 500.0
    assert data["first_trip"] == 3.0
    assert data["all_tripped"] == 3.5
    assert data["recovered_after"] == pytest.approx(0.9)
    assert (data["product_while_open"]["start"], data["product_while_open"]["requests"]) == (
        3.5,
        45,
    )
    assert data["product_while_open"]["p50"] == 30.0
    assert data["saturated"] == pytest.approx(0.1, abs=0.01)  # 1 s of 10 with 4 of 4 busy
    assert data["saturated_hang"] == pytest.approx(1 / 6, abs=0.02)
    assert data["peak_busy"] == 4


def test_a_process_still_open_means_not_recovered():
    run = make_run("default", about_during_hang=0.5, product_during_hang=1.0, trip=3.0)
    run.transitions.append(transition(3.5, "open", pid=2))
    assert summary.summarize(run)["recovered_after"] is None


def test_saturation_does_not_apply_without_a_worker_count():
    run = make_run("naive", about_during_hang=0.004, product_during_hang=3.0)
    run.capacity = None
    assert summary.summarize(run)["saturated"] is None


def summaries(**changes):
    runs = {
        "naive": make_run("naive", about_during_hang=3.0, product_during_hang=3.0),
        "no_limit": make_run("no_limit", about_during_hang=0.8, product_during_hang=1.0, trip=3.0),
        "default": make_run("default", about_during_hang=0.004, product_during_hang=1.0, trip=4.0),
    }
    runs.update(changes)
    return {mode: summary.summarize(run) for mode, run in runs.items()}


def held(found) -> dict[str, bool]:
    return {claim["claim"]: claim["holds"] for claim in found}


def test_the_claims_follow_the_numbers():
    found = held(summary.claims("flask", summaries(), 1.0, 3.0))
    assert found.pop("no_limit_about_p99_unchanged") is False  # 800 ms against 4 ms
    assert all(found.values()), found


def test_claims_fail_when_the_numbers_do_not_bear_them_out():
    slow_default = make_run("default", about_during_hang=0.9, product_during_hang=1.0, trip=4.0)
    slow_default.results = [
        Result(r.page, r.due, r.sent, r.done + 0.2, r.status, r.outcome)
        if r.page == "product"
        else r
        for r in slow_default.results
    ]
    found = held(
        summary.claims(
            "flask",
            summaries(
                naive=make_run("naive", about_during_hang=0.004, product_during_hang=3.0),
                default=slow_default,
            ),
            1.0,
            3.0,
        )
    )
    assert found["naive_about_piles_up"] is False
    assert found["default_about_p99_unchanged"] is False
    assert found["default_product_fast_once_protected"] is False
    assert found["naive_product_piles_up"] is True


def test_an_event_loop_gets_its_own_naive_claim():
    runs = summaries()
    for run in runs.values():
        run["capacity"] = None
    found = held(summary.claims("fastapi", runs, 1.0, 3.0))
    assert "naive_about_piles_up" not in found
    assert found["naive_about_unaffected_on_an_event_loop"] is False  # 3 s during the hang
    runs["naive"] = summary.summarize(
        make_run("naive", about_during_hang=0.004, product_during_hang=3.0)
    )
    runs["naive"]["capacity"] = None
    assert held(summary.claims("fastapi", runs, 1.0, 3.0))[
        "naive_about_unaffected_on_an_event_loop"
    ]


def test_late_recovery_and_missing_stale_copies_fail_their_claims():
    late = make_run("default", about_during_hang=0.004, product_during_hang=1.0, trip=4.0)
    late.transitions = [transition(4.0, "open"), transition(12.5, "closed")]
    late.results = [r for r in late.results if r.page != "stock"]
    found = held(summary.claims("flask", summaries(default=late), 1.0, 3.0))
    assert found["default_recovers"] is False  # 4.5 s after Inventory came back, bound 4 s
    assert found["default_stale_and_503_where_they_belong"] is False


def test_the_table_shows_every_configuration_and_transition():
    runs = summaries()
    text = tables.shop_table("Flask", "gunicorn, 2 workers x 2 threads", QUICK, runs)
    header = text.splitlines()[2]
    assert header.split() == list(MODES) == ["naive", "no_limit", "default"]
    assert "p50 / p95 / p99 ms" in text
    assert "200 / stale copy / 503" in text
    assert "default       process 1: 4.0 open, 8.5 closed" in text
    assert "naive         none" in text
    claims_text = tables.claims_table(summary.claims("flask", runs, 1.0, 3.0))
    assert "[yes] flask" in claims_text
    assert "[NO ] flask" in claims_text


def test_the_warm_up_and_the_servers_full_collections_are_reported_per_run():
    warmed = make_run("default", about_during_hang=0.004, product_during_hang=1.0, trip=4.0)
    warmed.warm_up = WarmUp(21.3, 357, 180.0, {11: 1, 12: 2}, started_at=5.0, ended_at=26.3)
    warmed.server_collections = [(1.0, 11), (2.5, 12), (7.9, 11), (9.0, 12)]
    cut_short = make_run("naive", about_during_hang=3.0, product_during_hang=3.0)
    cut_short.warm_up = WarmUp(180.4, 3060, 180.0, {11: 1, 12: 0})
    runs = summaries(default=warmed, naive=cut_short)
    assert runs["default"]["warm_up"] == {
        "seconds": 21.3,
        "requests": 357,
        "limit_s": 180.0,
        "full_collections": {"11": 1, "12": 2},
        "past_start_up": True,
        "started_at": 5.0,
        "ended_at": 26.3,
    }
    assert runs["naive"]["warm_up"]["past_start_up"] is False
    assert runs["no_limit"]["warm_up"] is None
    assert runs["default"]["server_full_collections"] == [
        [1.0, 11],
        [2.5, 12],
        [7.9, 11],
        [9.0, 12],
    ]
    cells = {
        row[0]: row[1:]
        for row in (
            re.split(r"\s{2,}", line.strip())
            for line in tables.shop_table("Flask", "gunicorn", QUICK, runs).splitlines()
        )
    }
    assert cells["warm-up before the schedule / requests"] == [
        "180 s / 3060 (limit)",
        "-",
        "21 s / 357",
    ]
    # The default run's collections: 1 s (healthy), 2.5 and 7.9 s (the hang, 2 to 8 s), 9 s.
    assert cells["server full GCs healthy / hang / after"] == [
        "0 / 0 / 0",
        "0 / 0 / 0",
        "1 / 2 / 1",
    ]
