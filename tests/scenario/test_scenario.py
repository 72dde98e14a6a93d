"""``python -m example_apps.scenario --quick``: the cascade, measured, and every claim's direction.

One run of the quick plan (every shop under its real server, every
configuration) feeds every test here; each test reads the structured results
(``results.json``) and checks one claim from the raw numbers, not from the
report's own verdicts.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from breaker_core.durations import parse_duration

for module in ("gunicorn", "uvicorn", "matplotlib", "django", "flask", "fastapi", "httpx"):
    pytest.importorskip(module)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SYNC_SHOPS = ("django", "flask")  # gunicorn: a fixed number of workers to run out of
ALL_SHOPS = ("django", "flask", "fastapi")
ANSWERS = {"ok", "degraded", "stale", "503"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("scenario")
    completed = subprocess.run(
        [sys.executable, "-m", "example_apps.scenario", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return out, json.loads((out / "results.json").read_text()), completed.stdout


@pytest.fixture(scope="module")
def results(scenario) -> dict[str, Any]:
    return scenario[1]


def run(results: dict[str, Any], shop: str, mode: str) -> dict[str, Any]:
    (found,) = [s for s in results["shops"] if s["shop"] == shop]
    return found["runs"][mode]


def test_every_shop_ran_every_configuration_with_the_whole_load(results):
    plan = results["plan"]
    assert results["modes"] == ["naive", "no_limit", "default"]
    assert [s["shop"] for s in results["shops"]] == list(ALL_SHOPS)
    for shop in ALL_SHOPS:
        for mode in results["modes"]:
            data = run(results, shop, mode)
            for page in ("product", "about", "checkout", "stock"):
                expected = round(plan["duration"] * plan[f"{page}_rate"])
                assert data[page]["requests"] == expected, (shop, mode, page)
            assert abs(data["hang_at"] - plan["hang_at"]) < 0.2
            assert abs(data["recover_at"] - plan["recover_at"]) < 0.2


def test_every_configuration_is_warmed_up_before_any_schedule_of_its_shop(results):
    # Steady state: each server gets load at the plan's rates (every page) before its
    # schedule, until each of its processes ran a full collection or for the plan's limit.
    plan = results["plan"]
    chunk = round(2.0 * plan["product_rate"]) + round(2.0 * plan["about_rate"])
    chunk += round(2.0 * plan["checkout_rate"]) + round(2.0 * plan["stock_rate"])
    previous_end = 0.0
    for shop in ALL_SHOPS:
        runs = [run(results, shop, mode) for mode in results["modes"]]
        for mode, data in zip(results["modes"], runs, strict=True):
            warm = data["warm_up"]
            assert warm is not None, (shop, mode)
            assert warm["requests"] >= chunk, (shop, mode)
            assert warm["requests"] % chunk == 0, (shop, mode)  # whole chunks of the schedule
            assert warm["limit_s"] == plan["warm_up"]
            assert warm["seconds"] <= plan["warm_up"] + 2 * 2.0 + 5  # a chunk over, answers
            processes = plan["workers"] if shop in SYNC_SHOPS else 1
            assert len(warm["full_collections"]) == processes, (shop, mode, warm)
            assert previous_end <= warm["started_at"] < warm["ended_at"], (shop, mode)
        # Warm-ups may overlap each other, never a measured schedule.
        schedules = sorted(data["schedule_wall"] for data in runs)
        assert max(data["warm_up"]["ended_at"] for data in runs) <= schedules[0][0], shop
        for (_, end), (start, _) in itertools.pairwise(schedules):
            assert end <= start, shop
        previous_end = schedules[-1][1]


def test_the_load_generator_never_paused_to_collect_garbage_while_measuring(results):
    # Its own collection would stop every client at once and read as the server's latency.
    for shop, mode in itertools.product(ALL_SHOPS, ("naive", "no_limit", "default")):
        assert run(results, shop, mode)["load_generator_collections"] == 0, (shop, mode)


@pytest.mark.parametrize("shop", SYNC_SHOPS)
def test_without_a_breaker_the_unrelated_page_piles_up_behind_inventory(results, shop):
    # A quarter of the requests, not half: a gthread worker accepts while its threads are
    # busy, so one worker can stay free for part of the hang (a CI run once saw more than
    # half of them fast).
    naive = run(results, shop, "naive")
    assert naive["about_hang"]["p75"] >= 10 * max(naive["about_healthy"]["p50"], 1.0)


@pytest.mark.parametrize("shop", SYNC_SHOPS)
def test_with_the_default_the_unrelated_page_waits_less_than_naive(results, shop):
    naive, default = run(results, shop, "naive"), run(results, shop, "default")
    assert default["about_hang"]["p50"] < naive["about_hang"]["p50"]
    assert default["about"]["p95"] < naive["about"]["p95"]


@pytest.mark.parametrize("shop", ALL_SHOPS)
def test_without_a_breaker_the_product_page_waits_and_hammers_inventory(results, shop):
    naive, default = run(results, shop, "naive"), run(results, shop, "default")
    assert naive["product_hang"]["p50"] >= 3 * max(default["product_hang"]["p50"], 1.0)
    assert naive["inventory_calls"] > default["inventory_calls"]


@pytest.mark.parametrize("mode", ["no_limit", "default"])
@pytest.mark.parametrize("shop", ALL_SHOPS)
def test_with_a_breaker_no_page_fails_with_an_error(results, shop, mode):
    data = run(results, shop, mode)
    # A client timeout is possible on a machine too busy to serve the load at all; a 5xx
    # other than breakerpanel's (or the stock API's own) 503 with Retry-After is not.
    for page in ("product", "checkout", "stock", "about"):
        assert set(data[page]["outcomes"]) <= ANSWERS | {"timeout"}, (page, data[page])
    assert data["product"]["outcomes"].get("ok", 0) < data["product"]["requests"]


MARGIN = 0.05  # seconds: the servers' wall clock against the load's, and the time to route


def all_open(
    data: dict[str, Any], processes: int, reset_timeout: float
) -> list[tuple[float, float]]:
    """The spans in which every process's Inventory breaker refused every call.

    A breaker that opened at ``t`` refuses every call until ``t + reset_timeout``
    (then the next call is its probe, whenever its transition is logged) or its
    next transition, whichever is first; every process starts closed.
    """
    refusing: dict[int, list[tuple[float, float]]] = {}
    transitions = sorted(
        (t for t in data["transitions"] if t["breaker"] == "inventory"), key=lambda t: t["t"]
    )
    for i, t in enumerate(transitions):
        if t["new_state"] == "open":
            later = [n["t"] for n in transitions[i + 1 :] if n["pid"] == t["pid"]]
            end = min([t["t"] + reset_timeout, *later[:1]])
            refusing.setdefault(t["pid"], []).append((t["t"], end))
    if len(refusing) < processes:
        return []  # a process whose breaker never opened refused nothing
    edges = sorted({edge for spans in refusing.values() for span in spans for edge in span})
    return [
        (start, end)
        for start, end in itertools.pairwise(edges)
        if all(any(a <= start and end <= b for a, b in spans) for spans in refusing.values())
    ]


@pytest.mark.parametrize("mode", ["no_limit", "default"])
@pytest.mark.parametrize("shop", ALL_SHOPS)
def test_stale_copies_and_503s_go_where_they_belong(results, shop, mode):
    data = run(results, shop, mode)
    plan = results["plan"]
    assert "stale" not in data["checkout"]["outcomes"]  # it sets a cookie: never kept
    assert "stale" not in data["product"]["outcomes"]  # not in routes: it degrades itself
    assert "503" not in data["product"]["outcomes"]
    requests = [
        (page, due, due + latency, outcome) for page, due, latency, outcome, _ in data["requests"]
    ]
    # Inventory answers nothing during the hang: a stock API request served wholly inside
    # it is its kept copy (the breaker refused) or a 503 with Retry-After (refused, or the
    # call failed), never a fresh answer or an error. The schedule sends some.
    hang_at, recover_at = data["hang_at"] + MARGIN, data["recover_at"] - MARGIN
    during = [
        outcome
        for page, due, done, outcome in requests
        if page == "stock" and hang_at <= due and done <= recover_at
    ]
    assert during, "the schedule sends the stock API requests during the hang"
    assert set(during) <= {"stale", "503"}, during
    # While every process's breaker is open no view runs: the checkout (which calls nothing
    # on a GET) is a 503, the stock API its kept copy, or a 503 in a process that keeps none
    # of it (the sync shops keep copies per process).
    processes = plan["workers"] if shop in SYNC_SHOPS else 1
    expected = {"stock": {"stale", "503"}, "checkout": {"503"}}
    reset_timeout = parse_duration(plan["inventory"]["reset_timeout"])
    for start, end in all_open(data, processes, reset_timeout):
        for page, due, done, outcome in requests:
            if page in expected and start + MARGIN <= due and done <= end - MARGIN:
                assert outcome in expected[page], (page, due, outcome, (start, end))


@pytest.mark.parametrize("mode", ["no_limit", "default"])
@pytest.mark.parametrize("shop", ALL_SHOPS)
def test_transitions_open_during_the_hang_and_close_after_it(results, shop, mode):
    data = run(results, shop, mode)
    inventory = [
        (t["new_state"], t["t"]) for t in data["transitions"] if t["breaker"] == "inventory"
    ]
    assert any(
        state == "open" and data["hang_at"] <= t < data["recover_at"] for state, t in inventory
    )
    assert any(state == "closed" and t >= data["recover_at"] for state, t in inventory)
    assert inventory[-1][0] == "closed"
    assert data["first_trip"] == min(t for state, t in inventory if state == "open")
    assert data["recovered_after"] is not None


@pytest.mark.parametrize("shop", ALL_SHOPS)
def test_naive_product_pages_wait_for_inventory_without_a_breaker(results, shop):
    naive = run(results, shop, "naive")
    # Only the product page is naive (the checkout and the stock API keep their guards).
    assert naive["product"]["outcomes"].get("ok", 0) > 0
    assert not {"stale", "503"} & set(naive["product"]["outcomes"])


def test_an_event_loop_keeps_the_unrelated_page_fast_in_every_configuration(results):
    half_timeout = results["plan"]["inventory_timeout"] * 1000 / 2
    for mode in results["modes"]:
        data = run(results, "fastapi", mode)
        assert data["about"]["p95"] <= data["about_healthy"]["p95"] + half_timeout, mode


def test_the_report_lists_the_claims_and_the_chart_is_a_png(scenario):
    out, results, stdout = scenario
    report = (out / "report.txt").read_text()
    assert report.strip() in stdout
    for title in ("Django shop", "Flask shop", "FastAPI shop"):
        assert title in report
    claims = {(c["shop"], c["claim"]) for c in results["claims"]}
    for shop in SYNC_SHOPS:
        assert (shop, "naive_about_piles_up") in claims
    assert ("fastapi", "naive_about_unaffected_on_an_event_loop") in claims
    assert ("fastapi", "naive_about_piles_up") not in claims
    png = (out / "scenario.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 20_000
