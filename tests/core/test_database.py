"""breaker_core.database: the failure rule, the statement-timeout SQL and the watchdog."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from breaker_core import BulkheadFullError, CircuitBreaker, CircuitOpenError
from breaker_core import database as db


def _named(name: str, base: type[Exception] = Exception) -> type[Exception]:
    """A class named like a PEP 249 error, as every driver and framework defines one."""
    return type(name, (base,), {})


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (_named("OperationalError")(), True),
        (_named("QueryCanceled", _named("OperationalError"))(), True),
        (_named("InterfaceError")(), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (_named("IntegrityError")(), False),
        (_named("ProgrammingError")(), False),
        (_named("DataError")(), False),
        (ValueError(), False),
    ],
)
def test_only_connection_and_timeout_errors_are_failures(exc, failure):
    assert db.is_failure(exc) is failure


def _with_sqlstate(sqlstate: str) -> Exception:
    error = _named("Error")("from a driver that uses no PEP 249 subclass")
    error.sqlstate = sqlstate  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("sqlstate", "failure"),
    [
        ("57014", True),  # query_canceled: the statement timeout
        ("57P01", True),  # admin_shutdown
        ("08006", True),  # connection_failure
        ("53300", True),  # too_many_connections
        ("58030", True),  # io_error
        ("23505", False),  # unique_violation
        ("42601", False),  # syntax_error
        ("22012", False),  # division_by_zero
    ],
)
def test_an_error_of_no_pep249_class_is_judged_by_its_sqlstate(sqlstate, failure):
    assert db.is_failure(_with_sqlstate(sqlstate)) is failure


def test_connect_options_per_driver():
    assert db.connect_options("postgresql", 0.5) == {"connect_timeout": 2}
    assert db.connect_options("postgresql", 3.2) == {"connect_timeout": 4}
    assert db.connect_options("postgresql", 0.5, driver="asyncpg") == {"timeout": 0.5}
    assert db.connect_options("mysql", 0.5, driver="pymysql") == {
        "connect_timeout": 1,
        "read_timeout": 1,
    }
    assert db.connect_options("mysql", 0.5, driver="aiomysql") == {"connect_timeout": 0.5}
    assert db.connect_options("sqlite", 0.5) == {}


def test_refuse_if_open_takes_nothing_from_a_closed_breaker(clock):
    breaker = CircuitBreaker("db", clock=clock)
    db.refuse_if_open(breaker)
    assert breaker.snapshot()["calls"] == 0
    breaker.force_open()
    with pytest.raises(CircuitOpenError) as caught:
        db.refuse_if_open(breaker)
    assert caught.value.reason == "forced_open"


def test_run_counts_the_callers_errors_as_successes(clock):
    breaker = CircuitBreaker("db", failure_threshold=2, clock=clock)
    integrity = _named("IntegrityError")
    operational = _named("OperationalError")

    def raise_(kind: type[Exception]) -> None:
        raise kind("boom")

    for _ in range(5):
        with pytest.raises(integrity):
            db.run(breaker, raise_, integrity)
    assert breaker.snapshot()["failures"] == 0
    assert breaker.snapshot()["successes"] == 5
    for _ in range(2):
        with pytest.raises(operational):
            db.run(breaker, raise_, operational)
    called = []
    with pytest.raises(CircuitOpenError):
        db.run(breaker, called.append, 1)
    assert called == []


def _recv(sock: socket.socket) -> bytes:
    return sock.recv(10)


def _fileno(args: tuple[socket.socket]) -> int:
    return args[0].fileno()


def test_statements_judge_as_run_and_the_watchdog_cuts_one_at_its_delay(clock):
    breaker = CircuitBreaker("db", failure_threshold=2, timeout=0.05, clock=clock)
    statements = db.Statements(breaker, _fileno)
    integrity = _named("IntegrityError")
    operational = _named("OperationalError")

    def raise_(kind: type[Exception]) -> None:
        raise kind("boom")

    a, b = socket.socketpair()
    try:
        started = time.monotonic()
        assert statements.run(_recv, a) == b""  # blocked: cut at its delay
        assert time.monotonic() - started < 5
        assert statements.delay == db.watchdog_delay(0.05)
        with pytest.raises(integrity):
            statements.run(raise_, integrity)
        assert (breaker.snapshot()["successes"], breaker.snapshot()["failures"]) == (2, 0)
        for _ in range(2):
            with pytest.raises(operational):
                statements.run(raise_, operational)
        called: list[int] = []
        with pytest.raises(CircuitOpenError):
            statements.run(called.append, 1)
        assert called == []
        assert breaker.snapshot()["calls"] == 4  # every statement counted, the rejection not
    finally:
        a.close()
        b.close()


_COUNTED = ("state", "calls", "successes", "failures", "transitions")


@pytest.mark.parametrize("form", ["run", "handle"])
@pytest.mark.parametrize("watched", [False, True], ids=["unwatched", "watched"])
@pytest.mark.parametrize("listening", [False, True], ids=["plain", "with-a-listener"])
def test_statements_count_every_outcome_as_breaker_call_does(
    clock, monkeypatch, watched, listening, form
):
    """Statements' own closed paths count like ``breaker.call`` (through ``database.run``).

    The same script of statements (successes, the caller's errors, failures, a
    cancellation, the clock moving across the window's buckets until the breaker
    trips) on two breakers: one through ``Statements.run`` (or ``Statements.handle``,
    SQLAlchemy's listener form, its ``fn`` calling the step), one through ``run``.
    """
    options = {"failure_threshold": 3, "window": 4, "timeout": 5.0, "clock": clock}
    ours, reference = CircuitBreaker("ours", **options), CircuitBreaker("reference", **options)
    heard: dict[str, list[str]] = {"ours": [], "reference": []}
    if listening:
        for breaker in (ours, reference):
            breaker.add_listener(lambda event, name=breaker.name: heard[name].append(event.kind))
    a, b = socket.socketpair()
    results: list[object] = []

    def call(fn: Any, *args: object) -> None:  # handle's fn: the step, its result kept
        results.append(fn(*args))

    statements = db.Statements(ours, lambda args: a.fileno() if watched else None, call)
    general: list[object] = []
    general_run = db.Statements._run

    def spy(self: db.Statements, fn: object, args: tuple[object, ...]) -> object:
        general.append(fn)
        return general_run(self, fn, args)  # type: ignore[arg-type]

    monkeypatch.setattr(db.Statements, "_run", spy)
    integrity, operational = _named("IntegrityError"), _named("OperationalError")

    def raise_(kind: type[BaseException]) -> None:
        raise kind("boom")

    script: list[tuple[object, ...]] = [
        ("ok",), ("ok",), ("error", integrity), ("advance", 1.5), ("ok",),
        ("error", operational), ("error", KeyboardInterrupt), ("advance", 1.0),
        ("error", integrity), ("error", operational), ("advance", 3.5), ("ok",),
        ("error", operational), ("error", operational), ("ok",), ("error", operational),
        ("ok",),
    ]  # fmt: skip
    rejected = 0
    try:
        for step in script:
            if step[0] == "advance":
                clock.advance(step[1])
                continue
            for breaker in (ours, reference):
                fn, args = (lambda: 7, ()) if step[0] == "ok" else (raise_, (step[1],))
                try:
                    if breaker is ours and form == "run":
                        outcome: object = statements.run(fn, *args)
                    elif breaker is ours:
                        assert statements.handle(fn, *args) is True
                        outcome = results.pop()
                    else:
                        outcome = db.run(breaker, fn, *args)
                except BaseException as error:  # compared between the two
                    outcome = type(error)
                if breaker is ours:
                    ours_outcome = outcome
            assert ours_outcome == outcome, step
            rejected += outcome is CircuitOpenError
            mine, theirs = ours.snapshot(), reference.snapshot()
            assert [mine[key] for key in _COUNTED] == [theirs[key] for key in _COUNTED], step
    finally:
        a.close()
        b.close()
    assert reference.snapshot()["state"] == "open"
    assert (reference.snapshot()["successes"], reference.snapshot()["failures"]) != (0, 0)
    assert statements.delay == (db.watchdog_delay(5.0) if watched else None)
    # Plain and closed: the first statement (delay unknown) and the rejections went the
    # general way, the rest took the Statements' own path; with a listener, all went general.
    expected = len([s for s in script if s[0] != "advance"]) if listening else 1 + rejected
    assert rejected >= 2
    assert len(general) == expected
    assert heard["ours"] == heard["reference"]
    assert ("failure" in heard["ours"]) is listening


@pytest.mark.parametrize("form", ["run", "handle"])
def test_statements_of_a_breaker_with_a_bulkhead_take_its_slots(form):
    """With ``max_concurrent``, every statement goes through ``breaker.call``'s bulkhead.

    One slot: a statement run inside another (each watched, so known to the
    Statements after the first) finds it taken and is refused, every time.
    """
    breaker = CircuitBreaker("db", timeout=5.0, max_concurrent=1)
    a, b = socket.socketpair()
    refused: list[type[BaseException]] = []

    def call(fn: Any, *args: object) -> object:  # handle's fn
        return fn(*args)

    statements = db.Statements(breaker, lambda args: a.fileno(), call)

    def statement(fn: Any) -> None:
        if form == "run":
            statements.run(fn)
        else:
            assert statements.handle(fn) is True

    def outer() -> None:
        try:
            statement(lambda: "inner")
        except BulkheadFullError as error:
            refused.append(type(error))

    try:
        for _ in range(4):
            statement(outer)
    finally:
        a.close()
        b.close()
    assert statements.delay == db.watchdog_delay(5.0)
    assert refused == [BulkheadFullError] * 4
    assert breaker.snapshot()["calls"] == 4


def test_statements_ask_for_a_socket_once_then_only_to_cut():
    asked: list[int] = []

    def socket_of(args: tuple[socket.socket]) -> int:
        asked.append(1)
        return args[0].fileno()

    breaker = CircuitBreaker("db", timeout=0.05)
    statements = db.Statements(breaker, socket_of)
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        for _ in range(20):
            d.sendall(b"ok")
            assert statements.run(_recv, c) == b"ok"  # returned in time: never cut
        assert len(asked) == 1  # the first statement: do the connections have a socket?
        assert statements.run(_recv, a) == b""  # blocked: cut
        assert len(asked) == 2  # looked up to cut it
        d.sendall(b"still")
        assert c.recv(10) == b"still"  # the sockets of returned statements still work
    finally:
        for sock in (a, b, c, d):
            sock.close()


def test_statements_without_a_timeout_or_a_socket_are_not_watched():
    a, b = socket.socketpair()
    try:
        b.sendall(b"ok")
        untimed = db.Statements(CircuitBreaker("db"), _fileno)
        assert untimed.run(_recv, a) == b"ok"
        assert untimed.delay is None
        asked: list[int] = []

        def no_socket(args: object) -> None:
            asked.append(1)

        socketless = db.Statements(CircuitBreaker("db", timeout=0.05), no_socket)  # like SQLite
        b.sendall(b"ok")
        assert socketless.run(_recv, a) == b"ok"
        assert socketless.delay is None
        assert len(asked) == 1  # learned at the first statement, never asked again
    finally:
        a.close()
        b.close()


def test_statements_on_many_threads_at_once_cut_the_hung_and_spare_the_others():
    breaker = CircuitBreaker("db", timeout=0.1)
    statements = db.Statements(breaker, _fileno)
    for trial in range(5):
        pairs = [socket.socketpair() for _ in range(16)]
        results: dict[int, bytes] = {}
        try:
            for i, (_, b) in enumerate(pairs):
                if i % 2 == 0:
                    b.sendall(b"ok")  # answers at once; the odd ones never answer

            def run(i: int, sock: socket.socket, results: dict[int, bytes] = results) -> None:
                results[i] = statements.run(_recv, sock)

            threads = [threading.Thread(target=run, args=(i, a)) for i, (a, _) in enumerate(pairs)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert time.monotonic() - started < 5, trial
            assert results == {i: b"ok" if i % 2 == 0 else b"" for i in range(16)}, trial
            for i, (a, b) in enumerate(pairs):
                if i % 2 == 0:
                    b.sendall(b"again")
                    assert a.recv(10) == b"again"  # spared: still connected
        finally:
            for a, b in pairs:
                a.close()
                b.close()
    assert breaker.snapshot()["calls"] == 5 * 16


def test_cancellation_is_neither_success_nor_failure(clock):
    breaker = CircuitBreaker("db", clock=clock)

    def cancel() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        db.run(breaker, cancel)
    assert breaker.snapshot()["calls"] == 0


def test_statement_timeout_sql_per_backend():
    assert db.statement_timeout_sql("postgresql", 2) == "SET statement_timeout = 2000"
    assert db.statement_timeout_sql("mysql", 0.25, mariadb=True) == (
        "SET SESSION max_statement_time = 0.250"
    )
    assert db.statement_timeout_sql("mysql", 1.5) == "SET SESSION max_execution_time = 1500"
    assert db.statement_timeout_sql("sqlite", 1) is None


def test_the_watchdog_cuts_a_blocked_read_and_spares_a_disarmed_one():
    watchdog = db.Watchdog()
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        spared = watchdog.arm(c.fileno(), 0.05)
        watchdog.disarm(spared)
        watchdog.arm(a.fileno(), 0.1)
        started = time.monotonic()
        assert a.recv(10) == b""  # the watchdog shut the socket down: the read returns
        assert time.monotonic() - started < 5
        assert watchdog.cuts == 1
        d.sendall(b"ok")
        assert c.recv(10) == b"ok"  # the disarmed socket still works
    finally:
        for sock in (a, b, c, d):
            sock.close()


def test_the_watchdog_keeps_its_deadlines_apart_under_many_threads():
    watchdog = db.Watchdog()
    pairs = [socket.socketpair() for _ in range(40)]
    try:
        tokens: list[int] = []
        lock = threading.Lock()

        def arm(sock: socket.socket, delay: float) -> None:
            token = watchdog.arm(sock.fileno(), delay)
            with lock:
                tokens.append(token)

        threads = [
            threading.Thread(target=arm, args=(a, 0.05 if i % 2 else 60.0))
            for i, (a, _) in enumerate(pairs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for i, (a, _) in enumerate(pairs):
            if i % 2:
                assert a.recv(10) == b""  # cut
        assert watchdog.cuts == 20
        for i, (a, b) in enumerate(pairs):
            if not i % 2:
                b.sendall(b"x")
                assert a.recv(10) == b"x"  # not cut: its deadline is a minute away
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_socket_fd_of_a_descriptor_a_socket_and_a_driver_without_one():
    a, b = socket.socketpair()

    class PyMySQLLike:
        def __init__(self, sock: socket.socket) -> None:
            self._sock = sock

    class NoSocket:
        """Like SQLite's connection: nothing to cut."""

    try:
        assert db.socket_fd(a.fileno()) == a.fileno()
        assert db.socket_fd(a) == a.fileno()  # fileno(), as psycopg and mysqlclient
        assert db.socket_fd(PyMySQLLike(a)) == a.fileno()
        assert db.socket_fd(NoSocket()) is None
    finally:
        a.close()
        b.close()


class _CountingClock:
    """``time.monotonic``, its readings counted."""

    def __init__(self) -> None:
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        return time.monotonic()


@pytest.mark.parametrize("form", ["run", "handle"])
def test_a_watched_statement_reads_the_watchdogs_clock_once_when_it_is_the_breakers(
    monkeypatch, form
):
    """The deadline's reading, before the statement, is the one its success is counted at.

    The breaker's clock is the watchdog's (one clock, patched in for both); with a
    clock of its own, a breaker's is read again after the statement (the comparison
    with ``breaker.call`` above, on a fake clock, needs that).
    """
    from breaker_core import db_statement

    clock = _CountingClock()
    monkeypatch.setattr(db_statement, "_clock", clock)
    breaker = CircuitBreaker("db", timeout=5.0, clock=clock)
    a, b = socket.socketpair()

    def call(fn: Any, *args: object) -> object:  # handle's fn
        return fn(*args)

    statements = db.Statements(breaker, lambda args: a.fileno(), call)
    try:
        statements.run(int)  # the first: the delay worked out, through breaker.call
        assert statements.delay == db.watchdog_delay(5.0)
        before = clock.readings
        for _ in range(10):
            if form == "run":
                assert statements.run(int) == 0
            else:
                assert statements.handle(int) is True
        assert clock.readings - before == 10
    finally:
        a.close()
        b.close()
    assert breaker.snapshot()["successes"] == 11


def test_closed_with_is_true_only_while_closed_with_the_same_config(clock):
    """A checkout's one check: closed, and not reconfigured since the config was read."""
    from breaker_core import Registry

    def settings(timeout: float) -> dict[str, Any]:
        return {"dependencies": {"db": {"database": True, "timeout": timeout}}}

    registry = Registry.from_settings(settings(1.0), clock=clock)
    breaker = registry["db"]
    config = breaker.config
    assert db.closed_with(breaker, config)
    registry.reconfigure(settings(2.0))
    assert not db.closed_with(breaker, config)  # reconfigured: read it again
    config = breaker.config
    assert db.closed_with(breaker, config)
    breaker.force_open()
    assert not db.closed_with(breaker, config)
    breaker.reset()
    assert db.closed_with(breaker, config)
    for _ in range(10):
        with pytest.raises(CircuitOpenError if breaker.is_open else OSError):
            db.run(breaker, _refused)
    assert breaker.is_open
    assert not db.closed_with(breaker, config)


def _refused() -> None:
    raise ConnectionRefusedError


# -- a breaker resolved by the guard (Django's alias) ---------------------------------------------


def test_statements_resolve_their_breaker_at_the_first_statement_and_after_follow():
    """``resolve`` names the breaker (or none: unguarded) at the first statement and after
    each ``follow()``, never in between: a guard tells its statements, they do not poll."""
    first, second = CircuitBreaker("first"), CircuitBreaker("second")
    current: list[CircuitBreaker | None] = [None]
    asked: list[int] = []

    def resolve(statements: db.Statements) -> CircuitBreaker | None:
        asked.append(1)
        return current[0]

    statements = db.Statements(None, lambda args: None, resolve=resolve)
    calls = lambda breaker: breaker.snapshot()["calls"]  # noqa: E731
    assert statements.run(int, "7") == 7  # no breaker: run unguarded
    current[0] = first
    assert statements.run(int, "8") == 8  # not told: still unguarded, not asked again
    assert (len(asked), calls(first)) == (1, 0)
    statements.follow()
    for _ in range(3):
        statements.run(int)
    assert (len(asked), calls(first), statements.breaker) == (2, 3, first)
    current[0] = second
    statements.follow()
    statements.run(int)
    assert (len(asked), calls(first), calls(second)) == (3, 3, 1)
    current[0] = None
    statements.follow()
    statements.run(int)
    assert (len(asked), calls(second), statements.breaker) == (4, 1, None)


def test_a_resolve_that_cannot_tell_yet_is_asked_again_at_the_next_statement():
    breaker = CircuitBreaker("db")
    answers: list[CircuitBreaker | None] = [None, breaker]

    def resolve(statements: db.Statements) -> CircuitBreaker | None:
        answer = answers.pop(0)
        if answer is None:
            statements.follow()  # not known yet: ask again
        return answer

    statements = db.Statements(None, lambda args: None, resolve=resolve)
    statements.run(int)  # unguarded
    statements.run(int)  # asked again: guarded
    statements.run(int)
    assert breaker.snapshot()["calls"] == 2
    assert answers == []


def test_a_follow_while_a_statement_resolves_is_not_lost():
    """A ``follow()`` from another thread while a statement is resolving (the slow path,
    held here on an Event) leaves the statements to resolve again at the next one.

    The resolve reads the breaker first and returns it after the follow(), like a
    look-up racing a reconfigure: the statement in flight may use what it read, the
    next one must not.
    """
    for trial in range(200):
        _follow_while_resolving(resolved_before=trial % 2 == 1, trial=trial)


def _follow_while_resolving(*, resolved_before: bool, trial: int) -> None:
    old, new = CircuitBreaker("old"), CircuitBreaker("new")
    current = [old]
    entered, release = threading.Event(), threading.Event()
    held = [True]

    def resolve(statements: db.Statements) -> CircuitBreaker | None:
        breaker = current[0]
        if held[0]:
            held[0] = False
            entered.set()
            release.wait(5)
        return breaker

    statements = db.Statements(None, lambda args: None, resolve=resolve)
    if resolved_before:  # also when the statements were resolved before
        held[0] = False
        statements.run(int)
        held[0] = True
        statements.follow()
    worker = threading.Thread(target=statements.run, args=(int,))
    worker.start()
    assert entered.wait(5)
    current[0] = new  # what a reconfigure does, then tells the guard
    statements.follow()
    release.set()
    worker.join(5)
    statements.run(int)
    assert new.snapshot()["calls"] == 1, trial
    assert statements.breaker is new
