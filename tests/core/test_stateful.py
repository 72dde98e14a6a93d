"""Stateful property test: CircuitBreaker against an independent reference model.

Hypothesis drives a real breaker with random calls, outcomes, clock moves and
manual transitions; a small model written from the documented rules predicts
the state, ``is_open``, ``retry_after``, the window counts and every call's
admission or rejection, and the two are compared after every step.

``OverlappingCalls`` starts and finishes calls separately (each in its own
``contextvars`` context) so that calls overlap: probes in flight, probe
timeouts, calls finishing in a later state. ``SequentialCalls`` uses
``breaker.call`` only, the common path, including the fast path of a plain
CLOSED breaker (threshold only, no rate, no slow calls, no listeners).

Both machines run against every store in ``STORES``: memory, and Redis (a
real server, ``REDIS_URL``), where the Lua scripts decide. With Redis the
breaker's state is settled (one worker cycle, ``storage.sync_now()``) before
each comparison: the model describes the shared state once the process has
flushed its counts and read the answer. Every trip policy (``time_window``,
``consecutive``, ``count_window`` with small rings) is drawn for both stores,
and the snapshot's policy counts are compared too. To add a rule, add it to
``Model`` and ``_BreakerMachine``: every store runs it.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import math
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from breaker_core import CircuitBreaker, CircuitOpenError, Registry, State
from breaker_core.policy import TRIP_POLICIES
from breaker_core.storage import storage_from_url

TOLERANCE = 1e-9
BUCKETS = 10

# How a guarded call ends: the exception it raises, or None for a normal return.
OUTCOMES: dict[str, Callable[[], BaseException] | None] = {
    "return": None,
    "value_error": lambda: ValueError("boom"),  # recorded under both `record` settings
    "timeout": lambda: TimeoutError("slow dependency"),  # recorded under both
    "key_error": lambda: KeyError("missing"),  # ignored when ignore=(KeyError,)
    "zero_division": lambda: ZeroDivisionError("bug"),  # recorded only with record=Exception
    "cancelled": lambda: asyncio.CancelledError(),  # BaseException: never counted
}
outcomes = st.sampled_from(sorted(OUTCOMES))

# Clock moves and call durations: round values that land on boundaries, and
# arbitrary floats. "slow" means exactly the configured slow_call_duration.
durations = st.one_of(
    st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 30.0, "slow"]),
    st.floats(min_value=0.0, max_value=30.0, allow_nan=False, allow_infinity=False),
)
seconds = st.one_of(
    st.sampled_from([0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 10.0]),
    st.floats(min_value=0.5, max_value=10.0),
)


@st.composite
def configs(draw: st.DrawFn, *, fast_path: bool = False) -> dict[str, Any]:
    """Breaker options within the ranges of the spec.

    With ``fast_path`` the options are those of a plain threshold breaker.
    """
    trip_policy = "time_window"
    window_calls = 100
    if fast_path:
        failure_threshold: int | None = draw(st.integers(1, 6))
        failure_rate = None
        slow_call_duration = None
    else:
        trip_policy = draw(st.sampled_from(TRIP_POLICIES))
        failure_threshold = draw(st.none() | st.integers(1, 6))
        rates = st.sampled_from([0.2, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0]) | st.floats(0.2, 1.0)
        failure_rate = draw(rates if failure_threshold is None else st.none() | rates)
        if trip_policy == "consecutive":
            failure_threshold = failure_threshold or draw(st.integers(1, 6))
            failure_rate = None
        slow_call_duration = draw(st.none() | seconds)
    minimum_calls = draw(st.integers(1, 8))
    if trip_policy == "count_window":
        # Small rings so that outcomes leave them; large enough for the thresholds.
        window_calls = draw(st.integers(max(failure_threshold or 1, minimum_calls), 10))
    reset_timeout = draw(seconds)
    backoff = draw(st.sampled_from([1.0, 2.0]))
    if backoff > 1.0:
        max_reset_timeout: float | None = reset_timeout * draw(st.sampled_from([1, 2, 4, 3.5]))
    else:
        max_reset_timeout = draw(st.none() | st.just(reset_timeout * 2))
    return {
        "failure_threshold": failure_threshold,
        "failure_rate": failure_rate,
        "minimum_calls": minimum_calls,
        "trip_policy": trip_policy,
        "window_calls": window_calls,
        "window": draw(st.sampled_from([1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0]) | st.floats(1, 20)),
        "reset_timeout": reset_timeout,
        "half_open_max_calls": draw(st.integers(1, 3)),
        "success_threshold": draw(st.integers(1, 3)),
        "backoff": backoff,
        "max_reset_timeout": max_reset_timeout,
        "probe_timeout": draw(st.sampled_from([1.0, 2.5, 5.0, 30.0]) | st.floats(1, 30)),
        "slow_call_duration": slow_call_duration,
        "jitter": 0.0,
        "record": draw(st.sampled_from([(Exception,), (ValueError, TimeoutError)])),
        "ignore": draw(st.sampled_from([(KeyError,), (KeyError,), ()])),
    }


# -- the reference model ----------------------------------------------------------


@dataclass
class Call:
    """A call the model admitted and that has not finished yet."""

    id: int
    epoch: int  # the model's epoch when the call was admitted
    start: float  # clock reading at admission
    probe: bool  # admitted in HALF_OPEN: it holds a probe slot


class Model:
    """The breaker's rules, written independently of the engine."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.width = cfg["window"] / BUCKETS  # bucket width w = W / 10
        self.mode = State.CLOSED  # OPEN is stored as OPEN even after open_until
        self.epoch = 0  # bumped by every transition
        self.window: list[tuple[int, str]] = []  # (bucket index, "success"|"failure"|"slow")
        self.failed_probes = 0  # failed probes in a row
        self.open_until = 0.0
        self.probes: dict[int, float] = {}  # probe id -> deadline, while it holds its slot
        self.probe_successes = 0
        self.ids = itertools.count()
        # The trip policy's outcomes (True: a failure) of the CLOSED breaker, oldest
        # first, since it last closed or an operator set a state.
        self.outcomes: list[bool] = []

    # Reading --------------------------------------------------------------------

    def state(self, now: float) -> State:
        # OPEN reads HALF_OPEN once now >= open_until, before any call arrives.
        if self.mode is State.OPEN and now >= self.open_until:
            return State.HALF_OPEN
        return self.mode

    def is_open(self, now: float) -> bool:
        return self.state(now) in (State.OPEN, State.FORCED_OPEN)

    def retry_after(self, now: float) -> float:
        state = self.state(now)
        if state is State.OPEN:
            return self.open_until - now
        if state is State.FORCED_OPEN:
            return float(self.cfg["reset_timeout"])
        return 0.0

    def counts(self, now: float) -> dict[str, int]:
        # The window holds outcomes whose bucket index > int(now // w) - 10.
        oldest = int(now // self.width) - BUCKETS
        kinds = [kind for bucket, kind in self.window if bucket > oldest]
        successes = kinds.count("success")
        slow = kinds.count("slow")
        failures = kinds.count("failure") + slow  # a slow call is also a failure
        return {
            "calls": successes + failures,
            "successes": successes,
            "failures": failures,
            "slow_calls": slow,
        }

    # Transitions ----------------------------------------------------------------

    def _enter(self, mode: State) -> None:
        # Every transition starts a new epoch. Probes still running keep their slots
        # through OPEN and the next HALF_OPEN (until they finish or time out), so
        # half_open_max_calls bounds every probe in flight; other states free them.
        self.mode = mode
        self.epoch += 1
        if mode not in (State.OPEN, State.HALF_OPEN):
            self.probes.clear()

    def _open(self, now: float) -> None:
        # wait = reset_timeout * backoff ** failed probes in a row, capped.
        wait = self.cfg["reset_timeout"] * self.cfg["backoff"] ** self.failed_probes
        if self.cfg["max_reset_timeout"] is not None:
            wait = min(wait, self.cfg["max_reset_timeout"])
        self.open_until = now + wait
        self._enter(State.OPEN)

    def _close(self) -> None:
        # Closing from a probe empties the window, the policy's outcomes and the
        # failed-probe count.
        self._enter(State.CLOSED)
        self.window.clear()
        self.outcomes.clear()
        self.failed_probes = 0

    def manual(self, mode: State) -> None:
        # force_open / disable / metrics_only / reset: always a new epoch, and
        # the window, the policy, the probes and the failed-probe count are cleared.
        self._enter(mode)
        self.window.clear()
        self.outcomes.clear()
        self.failed_probes = 0

    def policy_counts(self) -> dict[str, int]:
        policy = self.cfg["trip_policy"]
        if policy == "consecutive":
            streak = 0
            for failed in reversed(self.outcomes):
                if not failed:
                    break
                streak += 1
            return {"consecutive_failures": streak}
        if policy == "count_window":
            last = self.outcomes[-self.cfg["window_calls"] :]
            return {"window_calls": len(last), "window_failures": sum(last)}
        return {}

    def _should_trip(self, now: float) -> bool:
        threshold, rate = self.cfg["failure_threshold"], self.cfg["failure_rate"]
        policy = self.cfg["trip_policy"]
        if policy == "consecutive":
            return self.policy_counts()["consecutive_failures"] >= threshold
        if policy == "count_window":
            counts = self.policy_counts()
            calls, failures = counts["window_calls"], counts["window_failures"]
            if threshold is not None and failures >= threshold:
                return True
            return (
                rate is not None and calls >= self.cfg["minimum_calls"] and failures / calls >= rate
            )
        counts = self.counts(now)
        if threshold is not None and counts["failures"] >= threshold:
            return True
        return (
            rate is not None
            and counts["calls"] >= self.cfg["minimum_calls"]
            and counts["failures"] / counts["calls"] >= rate
        )

    # Calls ----------------------------------------------------------------------

    def admit(self, now: float) -> Call | float:
        """The admitted call, or the rejection's retry_after."""
        if self.mode is State.OPEN:
            if now < self.open_until:
                return self.open_until - now
            # Lazy OPEN -> HALF_OPEN: this call becomes the first probe.
            self._enter(State.HALF_OPEN)
            self.probe_successes = 0
        if self.mode is State.FORCED_OPEN:
            return float(self.cfg["reset_timeout"])
        if self.mode is State.HALF_OPEN:
            # Probes past their deadline lose their slot first.
            self.probes = {id_: end for id_, end in self.probes.items() if end > now}
            if len(self.probes) >= self.cfg["half_open_max_calls"]:
                return min(float(self.cfg["reset_timeout"]), min(self.probes.values()) - now)
            call = Call(next(self.ids), self.epoch, now, probe=True)
            self.probes[call.id] = now + self.cfg["probe_timeout"]
            return call
        # CLOSED, DISABLED, METRICS_ONLY admit every call.
        return Call(next(self.ids), self.epoch, now, probe=False)

    def classify(self, exc: BaseException | None, elapsed: float) -> str | None:
        """The kind of a finished call: success, failure, slow, ignored, or None.

        None is for a BaseException that is not an Exception (e.g. a cancelled
        task): the call is neither a success nor a failure.
        """
        if exc is not None and not isinstance(exc, Exception):
            return None
        if isinstance(exc, self.cfg["ignore"]):
            return "ignored"
        slow = self.cfg["slow_call_duration"]
        is_slow = slow is not None and elapsed >= slow
        if isinstance(exc, self.cfg["record"]):
            # A slow recorded failure is one failure that is also a slow call.
            return "slow" if is_slow else "failure"
        return "slow" if is_slow else "success"

    def finish(self, call: Call, exc: BaseException | None, now: float) -> None:
        """Record ``call`` finishing at ``now`` with ``exc`` (None: it returned)."""
        kind = self.classify(exc, now - call.start)
        deadline = self.probes.pop(call.id, None) if call.probe else None  # slot freed
        if call.epoch != self.epoch:
            return  # admitted in an earlier epoch: no other effect
        if call.probe:  # same epoch, so still HALF_OPEN
            if deadline is None or now >= deadline or kind in (None, "ignored"):
                return  # abandoned, timed out or not counted
            if kind == "success":
                self.probe_successes += 1
                if self.probe_successes >= self.cfg["success_threshold"]:
                    self._close()
            else:
                self.failed_probes += 1
                self._open(now)
            return
        if kind in (None, "ignored") or self.mode is State.DISABLED:
            return
        self.window.append((int(now // self.width), kind))
        if self.mode is State.CLOSED:
            self.outcomes.append(kind != "success")  # slow calls are failures too
        if self.mode is State.CLOSED and self._should_trip(now):
            self.failed_probes = 0
            self._open(now)


# -- the stores -----------------------------------------------------------------


class MemoryStore:
    """A breaker on its own (memory storage)."""

    name = "memory"

    def build(self, cfg: dict[str, Any], clock: Callable[[], float], listener: bool) -> Any:
        return CircuitBreaker(
            "t", clock=clock, listeners=[lambda event: None] if listener else None, **cfg
        )

    def settle(self) -> None:
        """Nothing to wait for: the breaker is the store."""

    def close(self) -> None:
        pass


REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_or_skip() -> Any:
    """redis-py and a reachable server, or skip (fail under CI) with the reason."""
    message = None
    try:
        import redis
    except ImportError:
        message = "redis-py is not installed"
    else:
        # A fresh connection per example: one that breaks at once (seen once in CI, a
        # broken pipe on the first PING with the server up and nothing rejected) is
        # tried again twice, so an example is not lost to it; a server down fails all three.
        for _ in range(3):
            client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
            try:
                client.ping()
                return client
            except redis.RedisError as exc:
                client.close()
                message = f"Redis at {REDIS_URL} is unreachable ({exc}); set REDIS_URL"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class RedisStore:
    """A breaker of a registry whose storage is a real Redis; the scripts decide."""

    name = "redis"

    def __init__(self) -> None:
        self.client = _redis_or_skip()
        self.prefix = "bbstate" + uuid.uuid4().hex[:10]
        self.registry: Registry | None = None

    def build(self, cfg: dict[str, Any], clock: Callable[[], float], listener: bool) -> Any:
        sep = "&" if "?" in REDIS_URL else "?"
        storage = storage_from_url(f"{REDIS_URL}{sep}prefix={self.prefix}&refresh=0&timeout=5s")
        self.registry = Registry(clock=clock, storage=storage)
        breaker = CircuitBreaker(
            "t", clock=clock, listeners=[lambda event: None] if listener else None, **cfg
        )
        return self.registry.add(breaker)

    def settle(self) -> None:
        """One worker cycle: flush counts and probe verdicts, read the shared state."""
        assert self.registry is not None
        assert self.registry.storage.sync_now(), "Redis did not answer"

    def close(self) -> None:
        if self.registry is not None:
            self.registry.close()
        keys = list(self.client.scan_iter(match=f"*{self.prefix}*", count=1000))
        if keys:
            self.client.delete(*keys)
        self.client.close()


STORES: dict[str, Callable[[], Any]] = {"memory": MemoryStore, "redis": RedisStore}
"""Every store the machines run against (one test class per store and machine)."""


# -- the machines ---------------------------------------------------------------


@dataclass
class InFlight:
    """A started call: its own context (for the breaker's per-context stack)."""

    context: contextvars.Context
    call: Call

    def __repr__(self) -> str:
        return f"InFlight(id={self.call.id}, start={self.call.start!r})"


class _BreakerMachine(RuleBasedStateMachine):
    """Rules shared by both machines; subclasses build the breaker, ``STORE`` holds it."""

    STORE: Callable[[], Any] = MemoryStore
    breaker: CircuitBreaker
    model: Model

    def __init__(self) -> None:
        super().__init__()
        self.now = [0.0]
        self.store = self.STORE()

    def teardown(self) -> None:
        self.store.close()

    def _build(self, cfg: dict[str, Any], start: float, listener: bool) -> None:
        self.now[0] = start
        self.model = Model(cfg)
        self.breaker = self.store.build(cfg, lambda: self.now[0], listener)

    def _duration(self, value: float | str) -> float:
        if value == "slow":
            return self.model.cfg["slow_call_duration"] or 1.0
        assert isinstance(value, float)
        return value

    def _check_rejection(self, expected: Call | float, error: CircuitOpenError) -> None:
        assert not isinstance(expected, Call), f"rejected, model admits: {error!r}"
        assert math.isclose(error.retry_after, expected, rel_tol=0, abs_tol=TOLERANCE), (
            f"rejection retry_after {error.retry_after!r}, model {expected!r}"
        )

    @rule(call_outcome=outcomes, duration=durations)
    def instant_call(self, call_outcome: str, duration: float | str) -> None:
        """breaker.call with a function that takes `duration` and then ends."""
        elapsed = self._duration(duration)
        factory = OUTCOMES[call_outcome]
        exc = factory() if factory else None
        ran = []

        def guarded() -> str:
            ran.append(True)
            self.now[0] += elapsed
            if exc is not None:
                raise exc
            return "done"

        expected = self.model.admit(self.now[0])
        result: str | None = None
        raised: BaseException | None = None
        try:
            result = self.breaker.call(guarded)
        except CircuitOpenError as error:
            assert not ran, "the guarded function ran but the call was rejected"
            self._check_rejection(expected, error)
            return
        except (Exception, asyncio.CancelledError) as error:
            raised = error
        assert raised is exc, f"call raised {raised!r}, the guarded function {exc!r}"
        assert result == (None if exc else "done")
        assert isinstance(expected, Call), f"admitted, model rejects (retry_after {expected!r})"
        self.model.finish(expected, exc, self.now[0])

    @rule(dt=durations)
    def advance_clock(self, dt: float | str) -> None:
        self.now[0] += self._duration(dt)

    @rule(
        base=st.sampled_from(["bucket", "window", "reset_timeout", "probe_timeout"]),
        times=st.integers(1, 12),
    )
    def advance_by_multiple(self, base: str, times: int) -> None:
        """Move the clock by a whole number of buckets, windows or timeouts."""
        unit = self.model.width if base == "bucket" else self.model.cfg[base]
        self.now[0] += times * unit

    @rule(
        target_kind=st.sampled_from(["open_until", "next_bucket", "probe_deadline"]),
        nudge=st.sampled_from([-1, 0, 0, 1]),
    )
    def advance_to_boundary(self, target_kind: str, nudge: int) -> None:
        """Set the clock to exactly a boundary (or one float step either side)."""
        now, model = self.now[0], self.model
        if target_kind == "open_until":
            target = model.open_until
        elif target_kind == "next_bucket":
            target = (int(now // model.width) + 1) * model.width
        elif model.probes:
            target = min(model.probes.values())
        else:
            return
        if nudge:
            target = math.nextafter(target, math.inf * nudge)
        self.now[0] = max(now, target)  # the clock is monotonic

    @rule(
        action=st.sampled_from(
            [
                ("force_open", State.FORCED_OPEN),
                ("disable", State.DISABLED),
                ("metrics_only", State.METRICS_ONLY),
                ("reset", State.CLOSED),
            ]
        )
    )
    def manual_transition(self, action: tuple[str, State]) -> None:
        method, mode = action
        getattr(self.breaker, method)()
        self.model.manual(mode)

    @invariant()
    def agrees_with_model(self) -> None:
        self.store.settle()
        now = self.now[0]
        assert self.breaker.state is self.model.state(now)
        assert self.breaker.is_open is self.model.is_open(now)
        # may_be_open, the web layer's test before is_open: set exactly while the
        # breaker's phase is one that rejects every call (OPEN, FORCED_OPEN), so it
        # is never False while is_open is True, and False in every other state.
        assert self.breaker.may_be_open is (
            self.breaker._phase.state in (State.OPEN, State.FORCED_OPEN)
        )
        assert self.breaker.may_be_open or not self.breaker.is_open
        assert math.isclose(
            self.breaker.retry_after, self.model.retry_after(now), rel_tol=0, abs_tol=TOLERANCE
        ), f"retry_after {self.breaker.retry_after!r}, model {self.model.retry_after(now)!r}"
        snapshot = self.breaker.snapshot()
        actual = {key: snapshot[key] for key in ("calls", "successes", "failures", "slow_calls")}
        assert actual == self.model.counts(now)
        assert snapshot["trip_policy"] == {
            "name": self.model.cfg["trip_policy"],
            **self.model.policy_counts(),
        }


class OverlappingCalls(_BreakerMachine):
    """Calls started and finished separately, so that they overlap."""

    calls = Bundle("calls")

    @initialize(
        cfg=configs(),
        start=st.sampled_from([0.0, 1000.0, 12345.678]),
        listener=st.booleans(),
    )
    def build(self, cfg: dict[str, Any], start: float, listener: bool) -> None:
        self._build(cfg, start, listener)

    @rule(target=calls, count=st.integers(1, 3))
    def start_calls(self, count: int) -> Any:
        """Start `count` calls at the same instant, each in its own context."""
        started = []
        for _ in range(count):
            expected = self.model.admit(self.now[0])
            context = contextvars.copy_context()
            try:
                context.run(self.breaker.__enter__)
            except CircuitOpenError as error:
                self._check_rejection(expected, error)
                continue
            assert isinstance(expected, Call), f"admitted, model rejects (retry_after {expected!r})"
            started.append(InFlight(context, expected))
        return multiple(*started)

    @rule(started=consumes(calls), call_outcome=outcomes, delay=durations)
    def finish_call(self, started: InFlight, call_outcome: str, delay: float | str) -> None:
        """Let `delay` pass, then end a started call with `call_outcome`."""
        self.now[0] += self._duration(delay)
        factory = OUTCOMES[call_outcome]
        exc = factory() if factory else None
        started.context.run(self.breaker.__exit__, type(exc) if exc else None, exc, None)
        self.model.finish(started.call, exc, self.now[0])


class SequentialCalls(_BreakerMachine):
    """breaker.call only; half of the examples use the CLOSED fast path."""

    @initialize(
        cfg=st.booleans().flatmap(lambda fast: configs(fast_path=fast)),
        start=st.sampled_from([0.0, 1000.0, 12345.678]),
    )
    def build(self, cfg: dict[str, Any], start: float) -> None:
        self._build(cfg, start, listener=False)


# Redis costs a few round trips per step: fewer examples, the same rules.
EXAMPLES = {"memory": 600, "redis": 120}


def _test_case(machine: type[_BreakerMachine], store: str, steps: int) -> Any:
    cls = type(f"{machine.__name__}On{store.title()}", (machine,), {"STORE": STORES[store]})
    case = cls.TestCase
    case.settings = settings(max_examples=EXAMPLES[store], stateful_step_count=steps, deadline=None)
    return case


TestOverlappingCalls = _test_case(OverlappingCalls, "memory", 100)
TestSequentialCalls = _test_case(SequentialCalls, "memory", 50)
TestOverlappingCallsOnRedis = _test_case(OverlappingCalls, "redis", 100)
TestSequentialCallsOnRedis = _test_case(SequentialCalls, "redis", 50)
