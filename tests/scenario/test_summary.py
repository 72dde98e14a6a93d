"""From measurements to numbers and claims, on runs whose outcome is known."""

from __future__ import annotations

import pytest

from example_apps.scenario import summary, tables
from example_apps.scenario.load import Outcome, Result
from example_apps.scenario.plan import QUICK
from example_apps.scenario.run import RunData


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert summary.percentile(values, 50) == 50
    assert summary.percentile(values, 95) == 95
    assert summary.percentile(values, 99) == 99
    assert summary.percentile([7.0], 99) == 7.0
    assert summary.percentile(reversed(values), 100) == 100
    assert summary.percentile([], 50) is None


def result(page: str, due: float, latency: float, outcome: str = Outcome.OK) -> Result:
    return Result(page, due, due, due + latency, 200, outcome)


def transition(t: float, new: str, pid: int = 1, breaker: str = "inventory") -> dict:
    return {"t": t, "pid": pid, "breaker": breaker, "old_state": "?", "new_state": new}


def make_run(mode: str, *, about_during_hang: float, product_during_hang: float, trip=None):
    """A 10 s run: Inventory hangs from 2 s to 8 s; about and product every 0.1 s."""
    results = []
    for i in range(100):
        due = i / 10
        hanging = 2 <= due < 8
        about = about_during_hang if hanging and (trip is None or due < trip) else 0.004
        results.append(result("about", due, about))
        if hanging:
            open_now = trip is not None and due >= trip
            latency = 0.03 if open_now else product_during_hang
            results.append(result("product", due, latency, Outcome.DEGRADED))
        else:
            results.append(result("product", due, 0.04))
    transitions = [] if trip is None else [transition(trip, "open"), transition(9.0, "closed")]
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


def test_summarize_measures_pages_windows_and_saturation():
    run = make_run("breakerpanel", about_during_hang=0.5, product_during_hang=1.0, trip=3.0)
    run.transitions.append(transition(3.5, "open", pid=2))  # a second process trips later
    data = summary.summarize(run)
    assert data["about"]["requests"] == 100
    assert data["product"]["outcomes"] == {"degraded": 60, "ok": 40}
    assert data["product"]["errors"] == 0
    assert data["about_healthy"] == {
        "start": 0.0,
        "end": 2.0,
        "requests": 20,
        "p50": 4.0,
        "p95": 4.0,
    }
    assert data["about_before_trip"]["requests"] == 10
    assert data["about_before_trip"]["p95"] == 500.0
    assert data["first_trip"] == 3.0
    assert data["all_tripped"] == 3.5
    assert (data["product_while_open"]["start"], data["product_while_open"]["requests"]) == (
        3.5,
        45,
    )
    assert data["product_while_open"]["p50"] == 30.0
    assert data["saturated"] == pytest.approx(0.1, abs=0.01)  # 1 s of 10 with 4 of 4 busy
    assert data["saturated_hang"] == pytest.approx(1 / 6, abs=0.02)
    assert data["peak_busy"] == 4


def test_saturation_does_not_apply_without_a_worker_count():
    run = make_run("naive", about_during_hang=0.004, product_during_hang=3.0)
    run.capacity = None
    assert summary.summarize(run)["saturated"] is None


def summaries(**changes):
    runs = {
        "naive": make_run("naive", about_during_hang=3.0, product_during_hang=3.0),
        "breakerpanel": make_run(
            "breakerpanel", about_during_hang=0.8, product_during_hang=1.0, trip=3.0
        ),
        "bulkhead": make_run(
            "bulkhead", about_during_hang=0.004, product_during_hang=1.0, trip=4.0
        ),
    }
    runs.update(changes)
    return {mode: summary.summarize(run) for mode, run in runs.items()}


def held(found) -> dict[str, bool]:
    return {claim["claim"]: claim["holds"] for claim in found}


def test_every_claim_holds_when_the_numbers_say_so():
    assert all(held(summary.claims("flask", summaries(), 1.0)).values())


def test_claims_fail_when_the_numbers_do_not_bear_them_out():
    found = held(
        summary.claims(
            "fastapi",
            summaries(
                naive=make_run("naive", about_during_hang=0.004, product_during_hang=3.0),
                bulkhead=make_run(
                    "bulkhead", about_during_hang=0.9, product_during_hang=1.0, trip=4.0
                ),
            ),
            1.0,
        )
    )
    assert found["naive_about_piles_up"] is False
    assert found["breakerpanel_about_far_below_naive"] is False
    assert found["bulkhead_about_fast_before_trip"] is False
    assert found["naive_product_piles_up"] is True


def test_no_transition_after_the_recovery_fails_the_transitions_claim():
    never_closed = make_run(
        "breakerpanel", about_during_hang=0.8, product_during_hang=1.0, trip=3.0
    )
    never_closed.transitions = [transition(3.0, "open")]
    assert (
        held(summary.claims("flask", summaries(breakerpanel=never_closed), 1.0))[
            "breakerpanel_transitions"
        ]
        is False
    )


def test_the_table_shows_every_configuration_and_transition():
    runs = summaries()
    text = tables.shop_table("Flask", "gunicorn, 2 workers x 2 threads", QUICK, runs)
    header = text.splitlines()[2]
    assert header.split() == ["naive", "breakerpanel", "bulkhead"]
    assert "p50 / p95 / p99 ms" in text
    assert "breakerpanel  process 1: 3.0 open, 9.0 closed" in text
    assert "naive         none" in text
    assert "[yes] flask" in tables.claims_table(summary.claims("flask", runs, 1.0))
