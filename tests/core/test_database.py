"""breaker_core.database: the failure rule, the statement-timeout SQL and the watchdog."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError
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


def test_run_watched_judges_as_run_and_the_watchdog_cuts_it_at_its_delay(clock):
    breaker = CircuitBreaker("db", failure_threshold=2, clock=clock)
    integrity = _named("IntegrityError")
    operational = _named("OperationalError")

    def raise_(kind: type[Exception]) -> None:
        raise kind("boom")

    with pytest.raises(integrity):
        db.run_watched(breaker, raise_, (integrity,), None, 0.0)
    assert (breaker.snapshot()["successes"], breaker.snapshot()["failures"]) == (1, 0)
    a, b = socket.socketpair()
    try:
        started = time.monotonic()
        assert db.run_watched(breaker, a.recv, (10,), a, 0.1) == b""  # blocked: cut
        assert time.monotonic() - started < 5
    finally:
        a.close()
        b.close()
    for _ in range(2):
        with pytest.raises(operational):
            db.run_watched(breaker, raise_, (operational,), None, 0.0)
    called: list[int] = []
    with pytest.raises(CircuitOpenError):
        db.run_watched(breaker, called.append, (1,), None, 0.0)
    assert called == []


def test_socket_fd_looks_through_a_sqlalchemy_connection_only_when_asked():
    a, b = socket.socketpair()

    class Connection:
        """Like SQLAlchemy's Connection: its pooled connection behind a property."""

        looked = 0

        def __init__(self, pooled: object) -> None:
            self._pooled = pooled

        def exec_driver_sql(self, sql: str) -> None:
            raise NotImplementedError

        @property
        def connection(self) -> object:
            Connection.looked += 1
            if self._pooled is None:
                raise RuntimeError("This Connection is closed")
            return self._pooled

    try:
        assert db.socket_fd(Connection(a)) == a.fileno()
        assert db.socket_fd(Connection(None)) is None  # closed: nothing to cut
        assert Connection.looked == 2
    finally:
        a.close()
        b.close()


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


def test_the_watchdog_finds_the_socket_of_a_connection_only_when_it_cuts():
    watchdog = db.Watchdog()
    a, b = socket.socketpair()

    class PoolProxy:
        """Like SQLAlchemy's pooled connection: the driver's connection behind it."""

        def __init__(self, driver: object) -> None:
            self.driver_connection = driver

    class NoSocket:
        """Like SQLite's connection: nothing to cut."""

    try:
        assert db.socket_fd(PoolProxy(a)) == a.fileno()
        assert db.socket_fd(NoSocket()) is None
        watchdog.arm(NoSocket(), 0.01)
        watchdog.arm(PoolProxy(a), 0.1)
        started = time.monotonic()
        assert a.recv(10) == b""  # cut through the proxy, found at the deadline
        assert time.monotonic() - started < 5
        # The earlier deadline passed first: its connection had no socket, so no cut counted.
        assert watchdog.cuts == 1
    finally:
        a.close()
        b.close()


def test_watch_cuts_the_call_it_runs_and_spares_its_socket_once_it_returned():
    watchdog = db.Watchdog()
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        d.sendall(b"ok")
        assert watchdog.watch(c.recv, (10,), c, 0.05) == b"ok"  # returned in time
        assert watchdog.watch(a.recv, (10,), a, 0.1) == b""  # blocked: cut at its deadline
        assert watchdog.cuts == 1
        d.sendall(b"still")
        assert c.recv(10) == b"still"  # past its deadline, the returned call's socket works
    finally:
        for sock in (a, b, c, d):
            sock.close()


def test_a_socket_check_learns_once_whether_connections_have_a_socket():
    class NoSocket:
        pass

    with_socket = db.SocketCheck()
    assert with_socket.watched(7) == 7  # an int is taken as the descriptor itself
    assert with_socket.watched(NoSocket()) is not None  # learned at the first: not looked up again

    without = db.SocketCheck()
    assert without.watched(NoSocket()) is None
    assert without.watched(7) is None  # the driver's connections have none: nothing to watch
