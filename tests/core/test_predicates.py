"""``record`` and ``ignore`` take predicates on the exception, and dotted paths to them."""

from __future__ import annotations

import logging

import pytest

from breaker_core import CircuitBreaker, ConfigurationError, Registry, State


class HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def is_server_error(exc: Exception) -> bool:
    """Referenced by dotted path below."""
    return isinstance(exc, HTTPError) and exc.status >= 500


def is_not_found(exc: Exception) -> bool:
    return isinstance(exc, HTTPError) and exc.status == 404


def raise_status(status: int) -> None:
    raise HTTPError(status)


def outcome_counts(breaker: CircuitBreaker) -> tuple[int, int]:
    snap = breaker.snapshot()
    return snap["successes"], snap["failures"]


def test_a_record_predicate_decides_which_exceptions_are_failures(clock):
    breaker = CircuitBreaker(
        "api",
        failure_threshold=2,
        record=lambda exc: isinstance(exc, HTTPError) and exc.status >= 500,
        clock=clock,
    )
    for status in (400, 404, 503):
        with pytest.raises(HTTPError):
            breaker.call(raise_status, status)
    assert outcome_counts(breaker) == (2, 1)  # a 4xx is the caller's error: a success
    with pytest.raises(ValueError, match="invalid literal"):
        breaker.call(int, "x")  # matched by no class and no predicate: a success
    with pytest.raises(HTTPError):
        breaker.call(raise_status, 500)
    assert breaker.state is State.OPEN


def test_classes_and_predicates_mix_and_dotted_paths_resolve(clock):
    here = __name__
    breaker = CircuitBreaker(
        "api",
        failure_threshold=10,
        record=["builtins.TimeoutError", f"{here}.is_server_error"],
        ignore=f"{here}.is_not_found",
        clock=clock,
    )
    assert breaker.config.record == (TimeoutError, is_server_error)
    assert breaker.config.ignore == (is_not_found,)
    for status in (404, 502, 409):
        with pytest.raises(HTTPError):
            breaker.call(raise_status, status)

    def timeout() -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        breaker.call(timeout)
    assert outcome_counts(breaker) == (1, 2)  # 409 success; 502 and timeout failures; 404 ignored


def test_ignore_predicates_are_asked_before_record(clock):
    events: list[str] = []
    breaker = CircuitBreaker(
        "api", ignore=lambda exc: "retry later" in str(exc), failure_threshold=1, clock=clock
    )
    breaker.add_listener(lambda e: events.append(e.kind))

    def busy() -> None:
        raise RuntimeError("busy, retry later")

    with pytest.raises(RuntimeError):
        breaker.call(busy)
    assert events == ["ignored"]
    assert breaker.state is State.CLOSED


def test_a_predicate_that_raises_is_logged_and_taken_as_not_matching(clock, caplog):
    def broken(exc: Exception) -> bool:
        return exc.status >= 500  # type: ignore[attr-defined]  # not every exception has one

    breaker = CircuitBreaker("api", record=[broken], ignore=[broken], clock=clock)
    with pytest.raises(KeyError):
        breaker.call(lambda: {}["x"])
    assert outcome_counts(breaker) == (1, 0)
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert ["ignore predicate" in r.getMessage() for r in logged] == [True, False]
    assert "record predicate" in logged[1].getMessage()


def test_guard_degrades_on_failures_a_predicate_records(clock):
    registry = Registry.from_settings(
        {"dependencies": {"api": {"record": [f"{__name__}.is_server_error"]}}}, clock=clock
    )

    @registry.guard("api", fallback="fallback")
    def fetch(status: int) -> str:
        raise_status(status)
        return "never"

    assert fetch(503) == "fallback"
    with pytest.raises(HTTPError):
        fetch(404)  # not a failure: the caller's error reaches the caller


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("builtins.KeyboardInterrupt", "BaseException but not an Exception"),
        ("math.pi", None),
        ([is_server_error, 3], None),
        ("tests.core.test_predicates.no_such_check", "no_such_check"),
    ],
)
def test_invalid_matchers_are_reported_with_their_path(value, detail):
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings({"dependencies": {"api": {"ignore": value}}})
    (problem,) = info.value.problems
    assert problem.startswith(
        'BREAKERS["dependencies"]["api"]["ignore"]: expected an exception class or a callable '
        "taking the exception"
    )
    if detail:
        assert detail in problem
