"""The recording gate's memory: a refused context is remembered by identity, never an answer.

The breaker reads OpenTelemetry's current context inline on every call and
remembers the last context whose span did not record (``ContextGate.quiet``):
the same context object is shut at once, any other one is asked again, and a
context whose span records is asked every time (its span can end). These
tests hold threads and tasks in different spans at the same time, a span that
ends while current, and a sampled-out span followed by a recording one in the
same thread: each call that runs in a recording span reaches the span marking,
and no other call does.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace

import breaker_opentelemetry.telemetry as telemetry_module
from breaker_core import Registry
from breaker_core.clock import FakeClock
from breaker_opentelemetry import instrument, names

SETTINGS = {
    "fast-path": {"max_concurrent": None},  # plain: the call forms read the gate inline
    "default-limit": {},  # max_concurrent="auto": the general path, its lean success
}


@pytest.fixture
def marked(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many events reached the span marking (the gated listener), by current span name."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    original = telemetry_module.mark

    def counting(event: Any) -> None:
        span = trace.get_current_span()
        with lock:
            seen[getattr(span, "name", "(no name)")] += 1
        original(event)

    monkeypatch.setattr(telemetry_module, "mark", counting)
    return seen


def call_events(span: Any) -> list[dict[str, object]]:
    return [dict(e.attributes) for e in span.events if e.name == names.CALL_EVENT]


def added_events(span: Any) -> int:
    """Events added to ``span``: those kept and those past the SDK's limit (128 by default)."""
    return len(span.events) + span.dropped_events


def sampled_out() -> trace.NonRecordingSpan:
    return trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)


@pytest.mark.parametrize("settings", list(SETTINGS.values()), ids=list(SETTINGS))
def test_threads_in_different_spans_are_each_answered_for_their_own_context(
    otel, clock: FakeClock, marked: Counter[str], settings: dict[str, Any], fine_switching: None
) -> None:
    """Threads in recording spans and threads in sampled-out spans call one breaker at the
    same time, switching often: every call of a recording thread marks its own span and no
    call of a sampled-out thread reaches the marking (one thread's answer never serves
    another's context)."""
    registry = Registry.from_settings({"dependencies": {"api": settings}}, clock=clock)
    instrument(registry, meter_provider=otel.meter_provider)
    api = registry["api"]
    trials, threads, per_thread = 3, 8, 400

    def work(name: str, recording: bool, start: threading.Barrier) -> None:
        start.wait()
        if recording:
            with otel.tracer.start_as_current_span(name):
                for _ in range(per_thread):
                    api.call(lambda: None)
        else:
            with trace.use_span(sampled_out()):
                for _ in range(per_thread):
                    api.call(lambda: None)

    for trial in range(trials):
        start = threading.Barrier(threads)
        workers = [
            threading.Thread(target=work, args=(f"t{trial}-{i}", i % 2 == 0, start))
            for i in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    recording = [f"t{trial}-{i}" for trial in range(trials) for i in range(0, threads, 2)]
    assert dict(marked) == dict.fromkeys(recording, per_thread)  # no sampled-out span's name
    spans = otel.spans.get_finished_spans()
    assert sorted(span.name for span in spans) == sorted(recording)
    for span in spans:
        assert added_events(span) == per_thread
        assert {e[names.DEPENDENCY] for e in call_events(span)} == {"api"}
    total = trials * threads * per_thread
    assert otel.value(names.CALLS, dependency="api", outcome="success").value == total


async def test_tasks_in_different_spans_are_each_answered_for_their_own_context(
    otel, clock: FakeClock, marked: Counter[str]
) -> None:
    """Tasks switch at every await: recording and sampled-out tasks take turns call by call on
    a plain breaker (the fast path) and each is answered for its own context."""
    registry = Registry.from_settings(
        {"dependencies": {"cache": {"max_concurrent": None}}}, clock=clock
    )
    instrument(registry, meter_provider=otel.meter_provider)
    cache = registry["cache"]
    per_task = 200

    async def lookup() -> str:
        return "hit"

    async def traced(name: str) -> None:
        with otel.tracer.start_as_current_span(name):
            for _ in range(per_task):
                await cache.call_async(lookup)
                await asyncio.sleep(0)

    async def unsampled() -> None:
        with trace.use_span(sampled_out()):
            for _ in range(per_task):
                await cache.call_async(lookup)
                await asyncio.sleep(0)

    await asyncio.gather(unsampled(), traced("a"), unsampled(), traced("b"), unsampled())
    assert dict(marked) == {"a": per_task, "b": per_task}
    spans = {span.name: span for span in otel.spans.get_finished_spans()}
    assert sorted(spans) == ["a", "b"]
    assert all(added_events(span) == per_task for span in spans.values())


@pytest.mark.parametrize("settings", list(SETTINGS.values()), ids=list(SETTINGS))
def test_a_span_that_ends_is_no_longer_marked_and_the_next_one_is(
    otel, clock: FakeClock, marked: Counter[str], settings: dict[str, Any]
) -> None:
    """A recording span's context is asked on every call: once the span ends (still current)
    calls no longer reach the marking; the next span, in a new context, is marked."""
    registry = Registry.from_settings({"dependencies": {"api": settings}}, clock=clock)
    instrument(registry, meter_provider=otel.meter_provider)
    api = registry["api"]
    for name in ("first", "second"):
        with otel.tracer.start_as_current_span(name) as span:
            for _ in range(3):
                api.call(lambda: None)
            span.end()  # still current, no longer recording
            for _ in range(3):
                api.call(lambda: None)
    assert dict(marked) == {"first": 3, "second": 3}
    spans = otel.spans.get_finished_spans()
    assert [(span.name, len(call_events(span))) for span in spans] == [
        ("first", 3),
        ("second", 3),
    ]


@pytest.mark.parametrize("settings", list(SETTINGS.values()), ids=list(SETTINGS))
def test_sampled_out_then_recording_in_the_same_thread(
    otel, clock: FakeClock, marked: Counter[str], settings: dict[str, Any]
) -> None:
    """A refused (sampled-out) context does not shut the next recording one in the same
    thread, nor the recording span's own context once a sampled-out span nested in it ends."""
    registry = Registry.from_settings({"dependencies": {"api": settings}}, clock=clock)
    instrument(registry, meter_provider=otel.meter_provider)
    api = registry["api"]
    with trace.use_span(sampled_out()):
        api.call(lambda: None)
        api.call(lambda: None)  # remembered as refused
    with otel.tracer.start_as_current_span("outer"):
        api.call(lambda: None)
        with trace.use_span(sampled_out()):
            api.call(lambda: None)
            api.call(lambda: None)
        api.call(lambda: None)  # the outer span's context again: asked, it records
        with otel.tracer.start_as_current_span("inner"):
            api.call(lambda: None)
    assert dict(marked) == {"outer": 2, "inner": 1}
    spans = {span.name: span for span in otel.spans.get_finished_spans()}
    assert len(call_events(spans["outer"])) == 2
    assert len(call_events(spans["inner"])) == 1


def test_a_sampled_out_span_is_refused_without_a_call_and_a_subclass_is_still_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The API's own non-recording span never records: its context is refused without calling
    its ``is_recording`` (a context new to the gate, as every sampled-out request's is). A
    subclass is a span like any other: asked, let through when it records, and when it does
    not, asked once and its context remembered."""
    from opentelemetry import context

    from breaker_opentelemetry.spans import recording_gate

    asked: list[str] = []

    def never_asked(self: trace.NonRecordingSpan) -> bool:
        asked.append("NonRecordingSpan")
        return False

    monkeypatch.setattr(trace.NonRecordingSpan, "is_recording", never_asked)

    class Recording(trace.NonRecordingSpan):
        def is_recording(self) -> bool:
            asked.append("Recording")
            return True

    class Ended(trace.NonRecordingSpan):
        def is_recording(self) -> bool:
            asked.append("Ended")
            return False

    gate = recording_gate()
    for span in (sampled_out(), sampled_out(), Recording(trace.INVALID_SPAN_CONTEXT)):
        token = context.attach(trace.set_span_in_context(span))
        try:
            answer = gate()
        finally:
            context.detach(token)
        assert answer is isinstance(span, Recording)
    assert asked == ["Recording"]
    token = context.attach(trace.set_span_in_context(Ended(trace.INVALID_SPAN_CONTEXT)))
    try:
        assert (gate(), gate(), gate()) == (False, False, False)
    finally:
        context.detach(token)
    assert asked == ["Recording", "Ended"]  # refused once, then remembered
