"""The load generator against a real flaky upstream on 127.0.0.1."""

from __future__ import annotations

import email.message
import gc
import time
import weakref

import pytest

from example_apps.scenario.load import Outcome, Page, classify, collector_paused, run_load


def headers(**values: str) -> email.message.Message:
    message = email.message.Message()
    for name, value in values.items():
        message[name.replace("_", "-")] = value
    return message


@pytest.mark.parametrize(
    ("page", "status", "head", "body", "outcome"),
    [
        ("product", 200, {}, b"<p>12 in stock</p>", Outcome.OK),
        ("product", 200, {}, b"Stock information is unavailable right now.", Outcome.DEGRADED),
        ("product", 200, {}, b"Stock information is temporarily unavailable.", Outcome.DEGRADED),
        ("about", 200, {}, b"Stock information is unavailable", Outcome.OK),
        ("product", 200, {"X_Breakerpanel": "stale"}, b"12 in stock", Outcome.STALE),
        ("product", 503, {"Retry_After": "3"}, b"", Outcome.UNAVAILABLE),
        ("product", 503, {}, b"", Outcome.ERROR),
        ("about", 500, {}, b"", Outcome.ERROR),
    ],
)
def test_answers_are_classified(page, status, head, body, outcome):
    assert classify(page, status, headers(**head), body) == outcome


def counter():
    seen = []
    return seen, seen.append


def test_the_schedule_is_sent_in_full_and_on_time(upstream):
    start = time.monotonic() + 0.05
    seen, in_flight = counter()
    results = run_load(
        "127.0.0.1",
        upstream.port,
        [
            Page("about", ("/inventory/SKU-1",), rate=20, clients=2),
            Page(
                "product", ("/inventory/SKU-2", "/inventory/SKU-3"), rate=10, clients=2, phase=0.01
            ),
        ],
        0.5,
        timeout=2,
        start=start,
        in_flight=in_flight,
    )
    assert [r.page for r in results].count("about") == 10
    assert [r.page for r in results].count("product") == 5
    assert {r.outcome for r in results} == {Outcome.OK}
    assert [r.due for r in results] == sorted(r.due for r in results)
    assert all(r.sent >= r.due and r.done >= r.sent for r in results)
    assert upstream.stats()["connections"] == 15  # one connection per request
    assert sum(seen) == 0
    assert len(seen) == 30


def test_a_hanging_server_makes_timeouts_and_late_requests_count_their_wait(upstream):
    upstream.set_mode("hang")
    _, in_flight = counter()
    results = run_load(
        "127.0.0.1",
        upstream.port,
        [Page("about", ("/inventory/SKU-1",), rate=20, clients=1)],
        0.1,  # two requests, one client: the second waits for the first to time out
        timeout=0.3,
        start=time.monotonic(),
        in_flight=in_flight,
    )
    assert [r.outcome for r in results] == [Outcome.TIMEOUT, Outcome.TIMEOUT]
    first, second = results
    assert first.latency >= 0.3
    assert second.sent >= first.done
    assert second.latency >= 0.6 - 0.05  # measured from when it was due


class Cycle:
    """An object only the garbage collector can free: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


def test_the_load_generator_does_not_collect_while_it_measures():
    left_behind = weakref.ref(Cycle())
    assert left_behind() is not None  # a cycle: reference counting cannot free it
    with collector_paused() as collections:
        assert left_behind() is None  # a full collection came first
        assert not gc.isenabled()
        made = [weakref.ref(Cycle()) for _ in range(20 * gc.get_threshold()[0])]
        assert collections == []  # many times the threshold, and no collection ran
        assert all(ref() is not None for ref in made)  # the cycles wait, uncollected
        gc.collect()
        assert collections == [2]  # an explicit collection runs, and is counted
    assert gc.isenabled()
    gc.collect()
    assert all(ref() is None for ref in made)


def test_the_collector_stays_off_after_the_block_if_it_was_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
