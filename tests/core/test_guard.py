"""registry.guard: fallbacks and last good results, sync and async."""

from __future__ import annotations

import pytest

from breaker_core import CircuitOpenError, ConfigurationError, FailedResultError, Registry
from tests.failures import Boom


@pytest.fixture
def registry(clock):
    return Registry.from_settings(
        {
            "dependencies": {
                "recs": {"failure_threshold": 2, "reset_timeout": 30, "ignore": [KeyError]},
                "cached": {"stale_for": "5m"},
            }
        },
        clock=clock,
    )


def test_fallback_value_answers_failures_and_rejections(registry):
    @registry.guard("recs", fallback=[])
    def recommendations() -> list[str]:
        raise Boom

    assert recommendations() == []
    assert recommendations() == []
    assert registry["recs"].is_open
    assert recommendations() == []  # rejected now, still answered


def test_fallback_callable_receives_the_exception(registry):
    seen: list[BaseException] = []

    def fallback(exc: BaseException) -> str:
        seen.append(exc)
        return "fallback"

    @registry.guard("recs", fallback=fallback)
    def recommendations() -> str:
        raise Boom("down")

    assert [recommendations() for _ in range(3)] == ["fallback"] * 3
    assert [type(e) for e in seen] == [Boom, Boom, CircuitOpenError]


def test_none_is_a_valid_fallback(registry):
    @registry.guard("recs", fallback=None)
    def recommendations() -> str:
        raise Boom

    assert recommendations() is None


def test_without_fallback_the_original_error_is_raised(registry):
    @registry.guard("recs")
    def recommendations() -> str:
        raise Boom("original")

    with pytest.raises(Boom, match="original"):
        recommendations()


def test_errors_that_are_not_failures_are_not_masked(registry):
    @registry.guard("recs", fallback="fb")
    def lookup() -> str:
        raise KeyError("caller bug")  # ignored by the breaker: not a dependency failure

    with pytest.raises(KeyError):
        lookup()


def test_raising_fallback_keeps_the_original_as_cause(registry):
    def fallback(exc: BaseException) -> str:
        raise RuntimeError("fallback broke")

    @registry.guard("recs", fallback=fallback)
    def recommendations() -> str:
        raise Boom("original")

    with pytest.raises(RuntimeError, match="fallback broke") as info:
        recommendations()
    assert isinstance(info.value.__cause__, Boom)
    assert registry["recs"].snapshot()["failures"] == 1  # counted once, as the call's failure


def test_stale_result_is_served_while_fresh_enough(registry, clock):
    answers = iter(["v1", Boom(), Boom(), Boom()])

    @registry.guard("recs", stale_for=60, fallback="fallback")
    def recommendations() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert recommendations() == "v1"
    clock.advance(59)
    assert recommendations() == "v1"  # failed, stale value served
    assert recommendations() == "v1"  # failed again: breaker trips
    assert registry["recs"].is_open
    assert recommendations() == "v1"  # rejected, stale value served
    clock.advance(1.001)
    assert recommendations() == "fallback"  # too old now


def test_stale_results_are_kept_per_key(registry):
    calls: list[int] = []

    @registry.guard("recs", stale_for=60, key=lambda user_id: user_id)
    def recommendations(user_id: int) -> str:
        calls.append(user_id)
        if len(calls) > 2:
            raise Boom
        return f"for user {user_id}"

    assert recommendations(1) == "for user 1"
    assert recommendations(2) == "for user 2"
    assert recommendations(2) == "for user 2"  # stale, user 2's own
    assert recommendations(1) == "for user 1"  # stale, user 1's own (breaker open now)
    with pytest.raises(CircuitOpenError):
        recommendations(3)  # nothing stored for user 3, no fallback


def test_stale_for_defaults_to_the_dependency_setting(registry, clock):
    answers = iter(["v1", Boom()])

    @registry.guard("cached")
    def page() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert page() == "v1"
    clock.advance(299)
    assert page() == "v1"


def test_stale_for_on_a_function_with_arguments_needs_a_key(registry):
    with pytest.raises(ConfigurationError, match="needs key="):

        @registry.guard("recs", stale_for=60)
        def recommendations(user_id: int) -> str:
            return str(user_id)

    with pytest.raises(ConfigurationError, match=r"stale_for=\.\.\.\): expected a duration"):
        registry.guard("recs", stale_for="soon")


def test_unknown_dependency_fails_at_decoration(registry):
    with pytest.raises(KeyError, match="declared: cached, recs"):
        registry.guard("recz")


def test_result_judged_a_failure_is_answered_and_never_stored(clock):
    registry = Registry.from_settings(
        {"dependencies": {"api": {"result_is_failure": lambda r: r == "error"}}}, clock=clock
    )
    answers = iter(["good", "error", "error"])
    seen: list[BaseException] = []

    def fallback(exc: BaseException) -> str:
        seen.append(exc)
        return "fallback"

    @registry.guard("api", stale_for=60)
    def fetch() -> str:
        return next(answers)

    assert fetch() == "good"
    assert fetch() == "good"  # the bad result is answered with the last good one

    @registry.guard("api", fallback=fallback)
    def fetch_fresh() -> str:
        return next(answers)

    assert fetch_fresh() == "fallback"
    assert isinstance(seen[0], FailedResultError)
    assert seen[0].result == "error"


async def test_async_guard(registry, clock):
    answers = iter(["v1", Boom(), Boom(), Boom()])

    @registry.guard("recs", stale_for=10, fallback="fb")
    async def recommendations() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await recommendations() == "v1"
    assert await recommendations() == "v1"
    assert await recommendations() == "v1"
    assert registry["recs"].is_open
    clock.advance(11)
    assert await recommendations() == "fb"
