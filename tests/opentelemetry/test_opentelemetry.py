"""OpenTelemetry metrics and span events, read back through the SDK's in-memory exporters."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk")
httpx = pytest.importorskip("httpx")

from breaker_core import CircuitOpenError, ConfigurationError, Registry  # noqa: E402
from breaker_core.clock import FakeClock  # noqa: E402
from breaker_opentelemetry import instrument, names, uninstrument  # noqa: E402
from example_apps.upstream import Upstream  # noqa: E402


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


def make_registry(clock: FakeClock, url: str = "http://127.0.0.1:9") -> Registry:
    return Registry.from_settings(
        {
            "defaults": {"failure_threshold": 2, "window": "10s", "reset_timeout": "10s"},
            "dependencies": {
                "inventory": {"url": f"{url}/inventory", "slow_call_duration": "500ms"},
                "recommendations": {"stale_for": "5m", "ignore": ["builtins.KeyError"]},
            },
        },
        clock=clock,
    )


def boom() -> None:
    raise RuntimeError("down")


def test_calls_by_outcome_rejections_and_durations(otel, clock: FakeClock) -> None:
    registry = make_registry(clock)
    instrument(registry, meter_provider=otel.meter_provider, durations=True)
    inventory = registry["inventory"]

    def slow() -> str:
        clock.advance(0.7)
        return "late"

    def quick() -> str:
        clock.advance(0.02)
        return "ok"

    for _ in range(3):
        inventory.call(quick)
    inventory.call(slow)
    with pytest.raises(KeyError):
        registry["recommendations"].call(lambda: {}["x"])
    with pytest.raises(RuntimeError):
        inventory.call(boom)  # second failure in the window: trips
    for _ in range(4):
        with pytest.raises(CircuitOpenError):
            inventory.call(quick)

    calls = names.CALLS
    assert otel.value(calls, dependency="inventory", outcome="success").value == 3
    assert otel.value(calls, dependency="inventory", outcome="slow").value == 1
    assert otel.value(calls, dependency="inventory", outcome="failure").value == 1
    assert otel.value(calls, dependency="recommendations", outcome="ignored").value == 1
    assert otel.value(names.REJECTIONS, dependency="inventory", reason="open").value == 4
    assert otel.value(calls, dependency="inventory", outcome="rejected") is None

    durations = otel.value(names.CALL_DURATION, dependency="inventory", outcome="success")
    assert durations.count == 3
    assert durations.sum == pytest.approx(0.06)
    assert otel.value(names.CALL_DURATION, dependency="inventory", outcome="slow").sum == (
        pytest.approx(0.7)
    )
    metric = otel.metric(names.CALL_DURATION)
    assert metric.unit == "s"
    assert otel.metric(calls).unit == "{call}"
    changes = otel.value(names.TRANSITIONS, dependency="inventory", state="open")
    assert changes.value == 1
    assert changes.attributes[names.STATE_OLD] == "closed"


def test_state_gauge_follows_the_breakers(otel, clock: FakeClock) -> None:
    registry = make_registry(clock)
    instrument(registry, meter_provider=otel.meter_provider)

    def states() -> dict[tuple[str, str], int]:
        return {
            (p.attributes[names.DEPENDENCY], p.attributes[names.STATE]): p.value
            for p in otel.points(names.STATE_GAUGE)
        }

    first = states()
    assert first[("inventory", "closed")] == 1
    assert first[("inventory", "open")] == 0
    assert sum(v for (dep, _), v in first.items() if dep == "inventory") == 1
    for _ in range(2):
        with pytest.raises(RuntimeError):
            registry["inventory"].call(boom)
    registry["recommendations"].force_open()
    now = states()
    assert now[("inventory", "open")] == 1
    assert now[("inventory", "closed")] == 0
    assert now[("recommendations", "forced_open")] == 1
    clock.advance(10)
    assert states()[("inventory", "half_open")] == 1


def events_of(span) -> list[dict[str, object]]:
    return [dict(e.attributes) for e in span.events if e.name == names.CALL_EVENT]


def test_span_tells_stale_because_open_from_dependency_failed(
    otel, clock: FakeClock, upstream: Upstream
) -> None:
    """The page's span: first the upstream fails (503), then the open breaker serves stale."""
    upstream.set_mode("healthy")
    registry = make_registry(clock, upstream.url)
    instrument(registry, meter_provider=otel.meter_provider)
    client = registry.client("inventory")

    @registry.guard("inventory", stale_for="5m")
    def stock() -> object:
        response = client.get("/SKU-1")
        response.raise_for_status()
        return response.json()

    with otel.tracer.start_as_current_span("page healthy"):
        good = stock()
    upstream.set_mode("errors", status=503)
    with otel.tracer.start_as_current_span("page failing"):
        assert stock() == good  # failed, served stale
        assert stock() == good  # second failure trips
    with otel.tracer.start_as_current_span("page open"):
        assert stock() == good  # rejected, served stale
    client.close()
    upstream.set_mode("healthy")

    spans = {s.name: s for s in otel.spans.get_finished_spans()}
    healthy = events_of(spans["page healthy"])
    assert [e[names.OUTCOME] for e in healthy] == ["success"]
    assert healthy[0][names.SHORT_CIRCUITED] is False
    assert healthy[0][names.DEPENDENCY] == "inventory"
    assert healthy[0][names.STATE] == "closed"

    failing = events_of(spans["page failing"])
    assert [e[names.OUTCOME] for e in failing] == ["failure", "failure"]
    assert all(e[names.SHORT_CIRCUITED] is False for e in failing)
    assert all(str(e[names.ERROR_TYPE]).startswith("httpx.") for e in failing)
    trips = [e for e in spans["page failing"].events if e.name == names.STATE_CHANGE_EVENT]
    assert [dict(e.attributes)[names.STATE] for e in trips] == ["open"]

    opened = events_of(spans["page open"])
    assert len(opened) == 1
    assert opened[0][names.OUTCOME] == "rejected"
    assert opened[0][names.SHORT_CIRCUITED] is True
    assert opened[0][names.STATE] == "open"
    assert opened[0][names.REASON] == "open"
    assert opened[0][names.RETRY_AFTER] == pytest.approx(10.0)
    assert upstream.stats()["requests"].get("503") == 2  # the open breaker asked nobody


def test_no_recording_span_means_no_events_but_metrics(otel, clock: FakeClock) -> None:
    from opentelemetry import trace

    registry = make_registry(clock)
    instrument(registry, meter_provider=otel.meter_provider)
    sampled_out = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    with trace.use_span(sampled_out):
        registry["inventory"].call(lambda: None)
    assert otel.spans.get_finished_spans() == ()
    assert otel.value(names.CALLS, dependency="inventory", outcome="success").value == 1


def test_the_fast_path_stays_and_durations_take_it_until_uninstrumented(
    otel, clock: FakeClock
) -> None:
    registry = Registry.from_settings(
        {"dependencies": {"cache": {"max_concurrent": None}}}, clock=clock
    )
    cache = registry["cache"]
    assert cache._plain
    telemetry = instrument(registry, meter_provider=otel.meter_provider)
    assert cache._plain  # only a gated listener: calls outside a recording span stay fast
    telemetry.attach(registry)  # a second attach adds no second listener
    assert len(cache._listening) == 1
    cache.call(lambda: None)
    assert otel.value(names.CALLS, dependency="cache", outcome="success").value == 1
    assert otel.points(names.CALL_DURATION) == []  # no histogram unless asked for
    uninstrument(telemetry)
    assert cache._plain
    assert not cache._listening
    cache.call(lambda: None)  # no longer reported: the sum read at detach stays
    assert otel.value(names.CALLS, dependency="cache", outcome="success").value == 1
    timed = instrument(registry, meter_provider=otel.meter_provider, durations=True)
    assert not cache._plain  # the histogram needs every call's duration
    uninstrument(timed)
    assert cache._plain


def test_bad_registry_and_missing_api_are_configuration_errors(monkeypatch) -> None:
    with pytest.raises(ConfigurationError, match=r"expected a breaker_core.Registry, got dict"):
        instrument({})  # type: ignore[arg-type]
    monkeypatch.delitem(sys.modules, "breaker_opentelemetry.telemetry", raising=False)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigurationError, match=r'pip install "breakerpanel\[opentelemetry\]"'):
        instrument(Registry())


def test_many_threads_count_every_call(otel, clock: FakeClock) -> None:
    import threading

    registry = Registry.from_settings(
        {"dependencies": {"db": {"failure_threshold": 10**9}}}, clock=clock
    )
    instrument(registry, meter_provider=otel.meter_provider)
    db = registry["db"]
    threads, per_thread = 8, 500

    def work(i: int) -> None:
        for n in range(per_thread):
            if (i + n) % 5 == 0:
                try:
                    db.call(boom)
                except RuntimeError:
                    pass
            else:
                db.call(lambda: None)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    total = threads * per_thread
    failures = sum(1 for i in range(threads) for n in range(per_thread) if (i + n) % 5 == 0)
    assert otel.value(names.CALLS, dependency="db", outcome="failure").value == failures
    assert otel.value(names.CALLS, dependency="db", outcome="success").value == total - failures


def test_flask_one_line(otel, clock: FakeClock) -> None:
    flask = pytest.importorskip("flask")
    from breaker_flask import Breakers
    from breaker_opentelemetry.flask import instrument_app

    app = flask.Flask("otel_shop")
    app.config["BREAKERS"] = {"dependencies": {"inventory": {"failure_threshold": 1}}}
    Breakers(app, clock=clock)
    telemetry = instrument_app(app, meter_provider=otel.meter_provider)
    assert instrument_app(app) is telemetry

    @app.get("/stock")
    def stock() -> str:
        try:
            return app.extensions["breakers"]["inventory"].call(boom)
        except RuntimeError:
            return "degraded"
        except CircuitOpenError:
            return "hidden"

    with app.test_client() as client, otel.tracer.start_as_current_span("request"):
        assert client.get("/stock").text == "degraded"
        assert client.get("/stock").text == "hidden"
    assert otel.value(names.CALLS, dependency="inventory", outcome="failure").value == 1
    assert otel.value(names.REJECTIONS, dependency="inventory").value == 1
    (span,) = otel.spans.get_finished_spans()
    assert [e[names.SHORT_CIRCUITED] for e in events_of(span)] == [False, True]
    with pytest.raises(ConfigurationError, match="Breakers"):
        instrument_app(flask.Flask("bare"))


async def test_starlette_one_line(otel, clock: FakeClock) -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from breaker_starlette import BreakerMiddleware

    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"failure_threshold": 1}}}, clock=clock
    )
    instrument(registry, meter_provider=otel.meter_provider)

    async def fail() -> None:
        raise RuntimeError("down")

    async def page(request: Request) -> PlainTextResponse:
        with otel.tracer.start_as_current_span("page"):
            try:
                await request.state.breakers["inventory"].call_async(fail)
            except RuntimeError:
                return PlainTextResponse("degraded")
            except CircuitOpenError:
                return PlainTextResponse("hidden")
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", page)])
    app.add_middleware(BreakerMiddleware, registry=registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        assert (await client.get("/")).text == "degraded"
        assert (await client.get("/")).text == "hidden"
    outcomes = [events_of(s)[0][names.OUTCOME] for s in otel.spans.get_finished_spans()]
    assert outcomes == ["failure", "rejected"]


class _OtherRuntime:
    """A runtime context that is not the API's context-variable one (it delegates to it)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def attach(self, context: object) -> object:
        return self._inner.attach(context)  # type: ignore[attr-defined]

    def get_current(self) -> object:
        return self._inner.get_current()  # type: ignore[attr-defined]

    def detach(self, token: object) -> None:
        self._inner.detach(token)  # type: ignore[attr-defined]


@pytest.mark.parametrize("public", [False, True], ids=["context-variable", "public-api"])
def test_the_recording_gate_answers_as_the_api_does(otel, monkeypatch, public: bool) -> None:
    from opentelemetry import context, trace

    from breaker_opentelemetry.spans import _public_recording, recording_gate

    if public:  # another runtime context: the gate falls back to the public call
        monkeypatch.setattr(context, "_RUNTIME_CONTEXT", _OtherRuntime(context._RUNTIME_CONTEXT))
    gate = recording_gate()
    assert (gate.read is _public_recording) is public

    def both() -> tuple[bool, bool]:
        return gate(), trace.get_current_span().is_recording()

    assert both() == (False, False)  # no span at all
    with trace.use_span(trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)):
        assert both() == (False, False)  # sampled out
        assert both() == (False, False)  # the same context, remembered as not recording
    baggage = context.set_value("some-key", "some value")  # a context that is not empty
    token = context.attach(baggage)
    try:
        assert both() == (False, False)
    finally:
        context.detach(token)
    with otel.tracer.start_as_current_span("recording") as span:
        assert both() == (True, True)
        span.end()  # still current, no longer recording
        assert both() == (False, False)
    with otel.tracer.start_as_current_span("recording"):
        assert both() == (True, True)
        with trace.use_span(trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)):
            assert both() == (False, False)
    # something that is not a span under the span's key: no span, as for the API
    # (the gate remembers the span types it has seen, never this one)
    from opentelemetry.trace import propagation

    token = context.attach(context.set_value(propagation._SPAN_KEY, "not a span"))
    try:
        assert both() == (False, False)
    finally:
        context.detach(token)


async def test_async_calls_mark_their_own_task_span(otel, clock: FakeClock) -> None:
    import asyncio

    registry = Registry.from_settings(
        {"dependencies": {"cache": {"max_concurrent": None}}}, clock=clock
    )
    instrument(registry, meter_provider=otel.meter_provider)

    async def lookup() -> str:
        await asyncio.sleep(0)
        return "hit"

    async def traced() -> None:
        with otel.tracer.start_as_current_span("traced"):
            await registry["cache"].call_async(lookup)

    async def untraced() -> None:
        await registry["cache"].call_async(lookup)

    await asyncio.gather(traced(), untraced(), traced(), untraced())
    spans = otel.spans.get_finished_spans()
    assert [len(events_of(span)) for span in spans] == [1, 1]
    assert otel.value(names.CALLS, dependency="cache", outcome="success").value == 4


def test_the_default_limit_keeps_exact_counts_and_marks_only_recording_spans(
    otel, clock: FakeClock, fine_switching: None
) -> None:
    """Settings' default breaker (the adaptive limit: not plain), from many threads: calls made
    outside any span, in a sampled-out span and in a recording span are all counted, by
    outcome; only the recording spans are marked, each with its own call."""
    import threading

    from opentelemetry import trace

    registry = Registry.from_settings(
        {"dependencies": {"api": {"failure_threshold": 10**9}}}, clock=clock
    )
    instrument(registry, meter_provider=otel.meter_provider)
    api = registry["api"]
    assert api._adaptive
    trials, threads, per_thread = 4, 8, 1500
    sampled_out = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)

    def one(i: int, n: int) -> None:
        if (i + n) % 5 == 0:
            with pytest.raises(RuntimeError):
                api.call(boom)
        else:
            api.call(lambda: None)

    def work(trial: int, i: int, start: threading.Barrier) -> None:
        start.wait()
        for n in range(per_thread):
            if n % 10 == 0:
                with otel.tracer.start_as_current_span(f"recording {trial} {i} {n}"):
                    one(i, n)
            elif n % 10 == 1:
                with trace.use_span(sampled_out):
                    one(i, n)
            else:
                one(i, n)

    for trial in range(trials):  # fine_switching: threads switch often, counts interleave
        start = threading.Barrier(threads)
        workers = [threading.Thread(target=work, args=(trial, i, start)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    total = trials * threads * per_thread
    failures = trials * sum(
        1 for i in range(threads) for n in range(per_thread) if (i + n) % 5 == 0
    )
    assert otel.value(names.CALLS, dependency="api", outcome="failure").value == failures
    assert otel.value(names.CALLS, dependency="api", outcome="success").value == total - failures
    spans = otel.spans.get_finished_spans()
    assert len(spans) == total // 10
    for span in spans:
        _, _, i, n = span.name.split()
        expected = "failure" if (int(i) + int(n)) % 5 == 0 else "success"
        assert [e[names.OUTCOME] for e in events_of(span)] == [expected]
