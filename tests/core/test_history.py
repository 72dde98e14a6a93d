"""A breaker's history (points of the last minutes) and running totals, and gated listeners."""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import threading

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from breaker_core import CircuitBreaker, CircuitOpenError, Event, Registry
from breaker_core.attempt import Attempt
from breaker_core.clock import FakeClock
from breaker_core.history import INTERVAL, LATENCY_AT, LATENCY_BOUNDS, POINTS, percentile
from tests.failures import Boom, fail


class Fine(Exception):
    pass


def points(breaker: CircuitBreaker) -> list[tuple[int, int, int]]:
    """(calls, failures, rejections) of every point, oldest first."""
    return [(p["calls"], p["failures"], p["rejections"]) for p in breaker.history()["points"]]


def test_each_interval_keeps_its_own_counts_across_a_trip_and_a_reset():
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker("inventory", clock=clock, failure_threshold=3, reset_timeout=60)
    for _ in range(7):  # interval 0: seven successes
        breaker.call(lambda: "ok")
    clock.advance(INTERVAL)
    breaker.call(lambda: "ok")  # interval 1: one success, three failures, then open
    for _ in range(3):
        with pytest.raises(Boom):
            breaker.call(fail)
    clock.advance(INTERVAL)
    for _ in range(4):  # interval 2: four rejections
        with pytest.raises(CircuitOpenError):
            breaker.call(lambda: "never")
    clock.advance(INTERVAL)
    breaker.reset()  # the window is emptied: its buckets go to the history first
    breaker.call(lambda: "ok")  # interval 3
    got = points(breaker)
    assert len(got) == POINTS
    assert got[-4:] == [(7, 0, 0), (4, 3, 0), (0, 0, 4), (1, 0, 0)]
    assert got[:-4] == [(0, 0, 0)] * (POINTS - 4)
    history = breaker.history()
    assert history["interval"] == INTERVAL
    assert [p["ago"] for p in history["points"][-2:]] == [INTERVAL, 0.0]
    assert history["total"]["calls"] == 12
    assert history["total"]["rejections"] == 4


def test_points_older_than_five_minutes_are_gone_but_the_totals_stay():
    clock = FakeClock(0.0)
    breaker = CircuitBreaker("inventory", clock=clock)
    breaker.call(lambda: "ok")
    clock.advance(POINTS * INTERVAL)
    breaker.call(lambda: "ok")
    assert breaker.history()["total"]["calls"] == 1
    assert breaker.totals().calls == {"success": 2}


def test_totals_count_outcomes_as_metrics_name_them():
    clock = FakeClock(0.0)
    breaker = CircuitBreaker(
        "inventory",
        clock=clock,
        failure_threshold=100,
        slow_call_duration=1,
        ignore=[Fine],
        result_is_failure=lambda result: result == "bad",
    )

    def slow() -> str:
        clock.advance(2)
        return "ok"

    def fine() -> None:
        raise Fine

    breaker.call(lambda: "ok")
    breaker.call(slow)
    breaker.call(lambda: "bad")
    with pytest.raises(Boom):
        breaker.call(fail)
    with pytest.raises(Fine):
        breaker.call(fine)
    breaker.force_open()
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "never")
    totals = breaker.totals()
    assert totals.calls == {"success": 1, "slow": 1, "failure": 2, "ignored": 1}
    assert totals.rejections["forced_open"] == 1
    assert totals.rejections["open"] == 0
    assert totals.transitions == {("closed", "forced_open"): 1}


def test_latency_percentiles_come_from_the_calls_the_breaker_times():
    clock = FakeClock(0.0)
    breaker = CircuitBreaker("inventory", clock=clock, slow_call_duration=30)

    def taking(seconds: float):
        def call() -> str:
            clock.advance(seconds)
            return "ok"

        return call

    for _ in range(90):
        breaker.call(taking(0.003))  # the (0.0025, 0.005] bucket
    for _ in range(10):
        breaker.call(taking(0.7))  # the (0.5, 1.0] bucket
    total = breaker.history()["total"]
    assert total["timed"] == 100
    assert 0.0025 < total["p50"] <= 0.005
    assert 0.5 < total["p99"] <= 1.0
    plain = CircuitBreaker("fast", clock=clock)  # the fast path times nothing
    plain.call(lambda: "ok")
    assert plain.history()["total"]["p50"] is None


@pytest.mark.parametrize("form", ["call", "call_async", "attempt", "detached", "listened", "fixed"])
@pytest.mark.parametrize("seconds", [0.0, 0.0005, 0.001, 0.0011, 0.003, 0.04, 0.7])
def test_a_timed_call_is_filed_in_the_latency_bucket_of_its_duration(form, seconds):
    # Every path that files a duration in the newest point inline (an adaptive limit's
    # call forms, an attempt, a detached one, the general path with a listener, a fixed
    # bulkhead) files it as bisect_left over the bounds does, either side of the first
    # bound and on it. The first call (0 s) makes the newest point; the second is read.
    clock = FakeClock(0.0)
    options: dict[str, object] = {"max_concurrent": "auto"}
    if form == "listened":
        options["listeners"] = [lambda event: None]
    elif form == "fixed":  # timed for its slow-call rule
        options.update(max_concurrent=5, slow_call_duration=30)
    breaker = CircuitBreaker("inventory", clock=clock, **options)

    def timed(pause: float) -> None:
        def work() -> str:
            clock.advance(pause)
            return "ok"

        async def awork() -> str:
            return work()

        if form == "call_async":
            asyncio.run(breaker.call_async(awork))
        elif form == "attempt":
            with breaker.attempt():
                work()
        elif form == "detached":
            attempt = Attempt.try_enter_detached(breaker)
            assert attempt is not None
            work()
            attempt.__exit__(None, None, None)
        else:
            breaker.call(work)

    timed(0.0)
    history = breaker._history
    point = history.latest
    before = list(point)
    timed(seconds)
    assert history.latest is point  # the same point: filed inline, not by history.duration
    filed = [
        at
        for at, (old, new) in enumerate(zip(before, point, strict=True))
        if at >= LATENCY_AT and new != old
    ]
    assert filed == [LATENCY_AT + bisect.bisect_left(LATENCY_BOUNDS, seconds)]


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=14, max_size=14))
@example(buckets=[0, 47] + [0] * 12)  # p100 read 0.0025000000000000005, past its bucket
def test_percentile_lies_in_the_bucket_that_holds_the_rank(buckets):
    total = sum(buckets)
    if not total:
        assert percentile(buckets, 0.5) is None
        return
    lowers = (0.0, *LATENCY_BOUNDS)
    uppers = (*LATENCY_BOUNDS, float("inf"))
    values = []
    for q in (0.01, 0.5, 0.9, 0.99, 1.0):
        value = percentile(buckets, q)
        assert value is not None
        values.append(value)
        below = sum(c for c, upper in zip(buckets, uppers, strict=True) if upper < value)
        reach = sum(
            c
            for c, lower in zip(buckets, lowers, strict=True)
            if lower < value or lower == value == LATENCY_BOUNDS[-1]
        )
        assert below < q * total <= reach
    assert values == sorted(values)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["ok", "fail", "ignored", "tick", "reset", "open"]),
        max_size=60,
    )
)
def test_totals_and_points_agree_with_a_listener_counting_every_event(steps):
    clock = FakeClock(0.0)
    breaker = CircuitBreaker(
        "inventory", clock=clock, failure_threshold=4, reset_timeout=25, ignore=[Fine]
    )
    events: list[Event] = []
    breaker.add_listener(events.append)
    for step in steps:
        try:
            if step == "ok":
                breaker.call(lambda: "ok")
            elif step == "fail":
                breaker.call(fail)
            elif step == "ignored":
                breaker.call(lambda: (_ for _ in ()).throw(Fine()))
            elif step == "tick":
                clock.advance(7)
            elif step == "reset":
                breaker.reset()
            else:
                breaker.force_open()
        except (Boom, Fine, CircuitOpenError):
            pass
    heard: dict[str, int] = {}
    for event in events:
        kind = "slow" if event.reason == "slow" else event.kind
        heard[kind] = heard.get(kind, 0) + 1
    totals = breaker.totals()
    assert totals.calls.get("success", 0) == heard.get("success", 0)
    assert totals.calls.get("failure", 0) == heard.get("failure", 0)
    assert totals.calls.get("ignored", 0) == heard.get("ignored", 0)
    assert sum(totals.rejections.values()) == heard.get("rejected", 0)
    assert sum(totals.transitions.values()) == heard.get("state_change", 0)
    if clock() < POINTS * INTERVAL:  # everything is still within the points
        total = breaker.history()["total"]
        assert total["calls"] == heard.get("success", 0) + heard.get("failure", 0)
        assert total["rejections"] == heard.get("rejected", 0)


THREADS, PER_THREAD = 8, 2000


def _hammer(breaker: CircuitBreaker, clock: FakeClock, start: threading.Barrier, first: bool):
    start.wait()
    for i in range(PER_THREAD):
        if first and i % 500 == 0:
            clock.advance(INTERVAL / 2)  # intervals roll while the others count
        try:
            breaker.call(lambda: "never")
        except CircuitOpenError:
            pass


@pytest.mark.parametrize("trial", range(5))
def test_rejections_from_many_threads_are_all_counted_and_filed(trial):
    clock = FakeClock(0.0)
    breaker = CircuitBreaker(f"b{trial}", clock=clock, failure_threshold=1, reset_timeout="720h")
    with pytest.raises(Boom):
        breaker.call(fail)
    start = threading.Barrier(THREADS)
    workers = [
        threading.Thread(target=_hammer, args=(breaker, clock, start, n == 0))
        for n in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert breaker.totals().rejections["open"] == THREADS * PER_THREAD
    assert breaker.history()["total"]["rejections"] == THREADS * PER_THREAD


GATE: contextvars.ContextVar[bool] = contextvars.ContextVar("gate", default=False)


def test_a_gated_listener_hears_only_calls_made_while_its_gate_is_true():
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"max_concurrent": None, "failure_threshold": 2}}}
    )
    breaker = registry["inventory"]
    heard: list[Event] = []
    registry.add_listener(heard.append, when=GATE.get)
    assert breaker._plain  # gated listeners keep the fast path
    breaker.call(lambda: "unheard")
    token = GATE.set(True)
    try:
        breaker.call(lambda: "heard")
    finally:
        GATE.reset(token)
    assert [(e.kind, e.duration is not None) for e in heard] == [("success", True)]
    with pytest.raises(Boom):
        breaker.call(fail)
    with pytest.raises(Boom):
        breaker.call(fail)  # trips: the gate says no, so the change is not heard either
    assert [e.kind for e in heard] == ["success"]
    token = GATE.set(True)
    try:
        with pytest.raises(CircuitOpenError):
            breaker.call(lambda: "never")
    finally:
        GATE.reset(token)  # test order must not matter: the gate is closed again
    assert [e.kind for e in heard] == ["success", "rejected"]
    registry.remove_listener(heard.append)
    assert not breaker._listening
    assert breaker._gate is None
    assert breaker.totals().calls == {"success": 2, "failure": 2}
    assert GATE.get() is False


def test_a_shut_gate_keeps_the_lean_paths_of_a_breaker_that_is_not_plain(monkeypatch):
    """The adaptive limit (settings' default) times every call: the general path, whose closed
    success is settled lean (no judging, no event) while every listener is gated and the gate
    is shut; a fast-path failure is counted lean likewise. Calls made while the gate is open
    are judged and told as before."""
    from breaker_core.outcomes import Outcomes

    settled: list[object] = []
    settle = Outcomes._settle

    def spy(self: Outcomes, *args: object) -> None:
        settled.append(args[1])  # the outcome
        settle(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Outcomes, "_settle", spy)
    clock = FakeClock(1000.0)
    registry = Registry.from_settings(
        {"dependencies": {"api": {}, "cache": {"max_concurrent": None, "failure_threshold": 3}}},
        clock=clock,
    )
    api, cache = registry["api"], registry["cache"]
    heard: list[Event] = []
    registry.add_listener(heard.append, when=GATE.get)
    assert api._adaptive
    assert not api._plain
    assert cache._plain

    def work() -> str:
        clock.advance(0.004)
        return "ok"

    async def awork() -> str:
        return work()

    for _ in range(5):
        api.call(work)
    asyncio.run(api.call_async(awork))
    with api.attempt():
        work()
    assert settled == []  # all three forms settled lean: nothing judged, nothing told
    with pytest.raises(Boom):
        cache.call(fail)
    assert settled == []  # a fast-path failure counted lean too
    token = GATE.set(True)
    try:
        api.call(work)
        with pytest.raises(Boom):
            cache.call(fail)
    finally:
        GATE.reset(token)
    assert len(settled) == 2  # the gate open: judged and told
    assert [(e.name, e.kind, round(e.duration or 0, 6)) for e in heard] == [
        ("api", "success", 0.004),
        ("cache", "failure", 0.0),
    ]
    with pytest.raises(Boom):
        cache.call(fail)  # the third failure trips, unheard: the gate is shut
    assert cache.state.value == "open"
    assert [e.kind for e in heard] == ["success", "failure"]
    assert api.totals().calls == {"success": 8}
    assert cache.totals().calls["failure"] == 3
    assert api.history()["total"]["calls"] == 8
    assert api.history()["total"]["timed"] == 8  # every call's duration kept


def test_an_ungated_listener_takes_the_fast_path_away_and_hears_everything():
    breaker = CircuitBreaker("inventory")
    heard: list[Event] = []
    breaker.add_listener(lambda event: None, when=lambda: False)
    breaker.add_listener(heard.append)
    assert not breaker._plain
    assert breaker._gate is None
    breaker.call(lambda: "ok")
    assert [e.kind for e in heard] == ["success"]


def test_a_gated_breaker_that_is_not_plain_judges_every_call_and_tells_through_its_gate():
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(
        "inventory", max_concurrent=None, slow_call_duration=1.0, failure_threshold=9, clock=clock
    )
    gate: contextvars.ContextVar[bool] = contextvars.ContextVar("slow gate", default=False)
    heard: list[Event] = []
    breaker.add_listener(heard.append, when=gate.get)
    assert not breaker._plain  # slow calls: no fast path
    assert breaker._gate is not None

    def slow() -> str:
        clock.advance(2.0)
        return "late"

    async def aslow() -> str:
        return slow()

    breaker.call(slow)  # the gate is shut: not heard, still judged slow
    asyncio.run(breaker.call_async(aslow))
    token = gate.set(True)
    try:
        breaker.call(slow)
        asyncio.run(breaker.call_async(aslow))
    finally:
        gate.reset(token)
    assert [(e.kind, e.reason) for e in heard] == [("failure", "slow")] * 2
    calls = breaker.totals().calls
    assert calls["slow"] == 4
    assert not calls.get("success")


def test_a_new_window_length_keeps_the_history_and_the_totals():
    clock = FakeClock(1000.0)
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"window": "10s", "max_concurrent": None}}}, clock=clock
    )
    breaker = registry["inventory"]
    for _ in range(4):
        breaker.call(lambda: "ok")
    clock.advance(INTERVAL)
    registry.reconfigure({"dependencies": {"inventory": {"window": "60s", "max_concurrent": None}}})
    breaker.call(lambda: "ok")
    clock.advance(120)  # both buckets leave the new window
    breaker.call(lambda: "ok")
    assert breaker.totals().calls == {"success": 6}
    assert breaker.history()["total"]["calls"] == 6


def test_a_context_gate_asks_its_test_once_per_refused_value():
    from breaker_core.extension import ContextGate

    asked: list[str] = []

    def test(value: str) -> bool:
        asked.append(value)
        return value == "recording"

    variable: contextvars.ContextVar[str] = contextvars.ContextVar("span", default="")
    breaker = CircuitBreaker("inventory", max_concurrent=None)
    heard: list[Event] = []
    breaker.add_listener(heard.append, when=ContextGate(variable.get, test))
    assert breaker._plain
    for _ in range(3):
        breaker.call(lambda: "empty context: shut, test not asked")
    token = variable.set("sampled out")
    for _ in range(3):
        breaker.call(lambda: "refused once, then remembered")
    variable.reset(token)
    token = variable.set("recording")
    breaker.call(lambda: "heard")
    variable.reset(token)
    assert [e.kind for e in heard] == ["success"]
    # the refused value was asked about once; a value let through is asked about each
    # time (the fast path, the lean success's test, the general path, the gated
    # listener): it is not remembered
    assert asked == ["sampled out", "recording", "recording", "recording", "recording"]
    assert breaker.totals().calls == {"success": 7}
