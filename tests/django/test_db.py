"""A dependency with ``"database": alias`` guards every query on that alias, for real.

PostgreSQL and MariaDB behind a :class:`FaultProxy` that the tests switch to
black-hole or reset mode, ``pg_sleep`` past the statement timeout,
``pg_terminate_backend``; SQLite for the fallback path. The breaker counts
connection and timeout errors, never the caller's errors, and while open a
query raises ``CircuitOpenError`` before any byte is sent.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("django")

from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.db import connections
from django.db.utils import IntegrityError, OperationalError, ProgrammingError
from django.test import Client

from breaker_core import CircuitOpenError, ConfigurationError
from breaker_django import breakers, conf, db
from tests.databases import (
    MARIADB_HOST,
    MARIADB_PORT,
    PG_HOST,
    PG_PORT,
    FaultProxy,
    need_mariadb,
    need_module,
    need_mysqldb,
    need_postgres,
    record_delays,
)

TIMEOUT = 0.5


def _engine(vendor: str, proxy: FaultProxy) -> dict[str, Any]:
    if vendor == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "test",
            "USER": "postgres",
            "HOST": proxy.host,
            "PORT": str(proxy.port),
        }
    return {
        "ENGINE": "django.db.backends.mysql",
        "NAME": "test",
        "USER": "root",
        "PASSWORD": "",
        "HOST": proxy.host,
        "PORT": str(proxy.port),
    }


@pytest.fixture(params=["postgresql", "mysql"])
def vendor(request) -> str:
    if request.param == "postgresql":
        need_postgres()
        need_module("psycopg")
    else:
        need_mariadb()
        need_mysqldb()
    return str(request.param)


@pytest.fixture
def proxy(vendor: str) -> Iterator[FaultProxy]:
    host, port = (PG_HOST, PG_PORT) if vendor == "postgresql" else (MARIADB_HOST, MARIADB_PORT)
    server = FaultProxy(host, port)
    yield server
    server.close()


def _add_alias(alias: str, options: dict[str, Any]) -> None:
    """Declare ``alias`` in DATABASES and Django's connection handler, in place (no test DB).

    ``override_settings(DATABASES=...)`` is not supported by Django (it warns).
    """
    configured = connections.configure_settings(
        {"default": connections.settings["default"], alias: dict(options)}
    )[alias]
    connections.settings[alias] = configured
    django_settings.DATABASES[alias] = configured


def _drop_alias(alias: str) -> None:
    django_settings.DATABASES.pop(alias, None)
    try:
        connections[alias].close()
    except Exception:
        pass
    try:
        delattr(connections._connections, alias)
    except AttributeError:
        pass
    connections.settings.pop(alias, None)


@pytest.fixture
def guarded(settings, vendor, proxy, django_db_blocker) -> Iterator[Any]:
    """The alias ``shopdb`` through the proxy, guarded by dependency ``shopdb``."""
    alias = "shopdb"
    _add_alias(alias, _engine(vendor, proxy))
    settings.BREAKERS = {
        **settings.BREAKERS,
        "dependencies": {
            **settings.BREAKERS["dependencies"],
            "shopdb": {"database": alias, "timeout": TIMEOUT, "failure_threshold": 2},
        },
    }
    django_db_blocker.unblock()
    db.guard_thread()  # as a request does when it starts
    try:
        yield connections[alias]
    finally:
        _drop_alias(alias)
        django_db_blocker.restore()


def query(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def sleep_sql(connection: Any, seconds: float) -> str:
    if connection.vendor == "postgresql":
        return f"SELECT pg_sleep({seconds})"
    return f"SELECT SLEEP({seconds})"


def counts() -> tuple[int, int]:
    snap = breakers["shopdb"].snapshot()
    return snap["successes"], snap["failures"]


# -- what counts ------------------------------------------------------------------------------


def test_healthy_queries_are_successes(guarded):
    assert query(guarded, "SELECT 1") == [(1,)]
    successes, _ = counts()
    assert successes >= 2  # the connect, the backend's set-up queries, this query
    assert query(guarded, "SELECT 2") == [(2,)]
    assert query(guarded, "SELECT 3") == [(3,)]
    assert counts() == (successes + 2, 0)


def test_integrity_and_programming_errors_never_trip(guarded):
    table = f"bp_{uuid.uuid4().hex[:8]}"
    query(guarded, f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    try:
        query(guarded, f"INSERT INTO {table} VALUES (1)")
        for _ in range(5):
            with pytest.raises(IntegrityError):
                query(guarded, f"INSERT INTO {table} VALUES (1)")
        for _ in range(5):
            with pytest.raises(ProgrammingError):
                query(guarded, "SELEKT nonsense")
    finally:
        query(guarded, f"DROP TABLE {table}")
    assert breakers["shopdb"].state.value == "closed"
    assert counts()[1] == 0


def test_a_query_past_the_timeout_is_cut_by_the_server_and_counts(guarded):
    query(guarded, "SELECT 1")  # connected: the statement timeout is set
    cuts = db.database.watchdog.cuts  # one per process: other tests' cuts count too
    started = time.monotonic()
    with pytest.raises(OperationalError):
        query(guarded, sleep_sql(guarded, 5))
    assert time.monotonic() - started < 3  # cut at 0.5 s, not after 5 s
    assert counts()[1] == 1
    assert db.database.watchdog.cuts == cuts or guarded.vendor != "postgresql"


def test_a_killed_connection_counts(guarded):
    if guarded.vendor == "postgresql":
        pid = query(guarded, "SELECT pg_backend_pid()")[0][0]
        psycopg = need_module("psycopg")
        with psycopg.connect(
            host=PG_HOST, port=int(PG_PORT), user="postgres", dbname="test", autocommit=True
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    else:
        pid = query(guarded, "SELECT CONNECTION_ID()")[0][0]
        mysqldb = need_mysqldb()
        admin = mysqldb.connect(host=MARIADB_HOST, port=int(MARIADB_PORT), user="root")
        try:
            admin.cursor().execute(f"KILL {int(pid)}")
        finally:
            admin.close()
    before = counts()[1]
    with pytest.raises((OperationalError, db_interface_error())):
        query(guarded, "SELECT 1")
    assert counts()[1] == before + 1


def db_interface_error() -> type[Exception]:
    from django.db.utils import InterfaceError

    return InterfaceError


# -- faults and the open breaker ----------------------------------------------------------------


def test_a_black_holed_database_costs_the_timeout_then_nothing(guarded, proxy):
    query(guarded, "SELECT 1")
    proxy.mode = "blackhole"
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(OperationalError):
            query(guarded, "SELECT 1")
        elapsed = time.monotonic() - started
        assert elapsed < 3, elapsed  # the watchdog cut it a little after 0.5 s
        guarded.close()  # as Django does at the end of a request with a broken connection
    assert breakers["shopdb"].is_open
    accepted = proxy.accepted
    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(CircuitOpenError):
            query(guarded, "SELECT 1")
    assert time.monotonic() - started < 1
    assert proxy.accepted == accepted  # no connection was even attempted


def test_a_hung_connect_costs_the_connect_timeout_and_counts(guarded, proxy):
    proxy.mode = "blackhole"
    started = time.monotonic()
    with pytest.raises(OperationalError):
        query(guarded, "SELECT 1")
    assert time.monotonic() - started < 6  # libpq's 2 s floor, MariaDB 1 s
    assert counts()[1] == 1


def test_reset_connections_count_and_open_the_breaker(guarded, proxy):
    query(guarded, "SELECT 1")
    proxy.mode = "reset"
    for _ in range(2):
        with pytest.raises(OperationalError):
            query(guarded, "SELECT 1")
        guarded.close()
    assert breakers["shopdb"].is_open
    with pytest.raises(CircuitOpenError):
        query(guarded, "SELECT 1")


def test_the_breaker_closes_again_when_the_database_is_back(guarded, proxy, clock):
    query(guarded, "SELECT 1")
    proxy.mode = "reset"
    for _ in range(2):
        with pytest.raises(OperationalError):
            query(guarded, "SELECT 1")
        guarded.close()
    proxy.mode = "pass"
    with pytest.raises(CircuitOpenError):
        query(guarded, "SELECT 1")
    clock.advance(10)
    assert query(guarded, "SELECT 1") == [(1,)]  # the probe connects and passes
    assert breakers["shopdb"].state.value == "closed"


def test_guard_is_installed_on_every_thread_that_connects(guarded, proxy):
    proxy.mode = "reset"
    errors: list[BaseException] = []

    def worker() -> None:
        connection = connections["shopdb"]
        try:
            query(connection, "SELECT 1")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    for _ in range(4):  # one thread after the other, each with its own connection object
        thread = threading.Thread(target=lambda: (db.guard_thread(), worker()))
        thread.start()
        thread.join()
    kinds = [type(exc).__name__ for exc in errors]
    # Two failures open the breaker; the next threads are rejected without connecting.
    assert kinds == ["OperationalError"] * 2 + ["CircuitOpenError"] * 2


@pytest.fixture
def delays(monkeypatch) -> list[float | None]:
    """The watchdog delay of each statement of a guard (None: not watched or unguarded).

    Ask for it before ``guarded``: the guard's wrapper is ``Statements.run``
    bound when the guard is installed on the connection object.
    """
    return record_delays(monkeypatch)


def _shopdb(settings: Any, **options: Any) -> dict[str, Any]:
    """``settings.BREAKERS`` with the dependency ``shopdb`` given ``options`` (none: removed)."""
    dependencies = {k: v for k, v in settings.BREAKERS["dependencies"].items() if k != "shopdb"}
    if options:
        dependencies["shopdb"] = {"database": "shopdb", **options}
    return {**settings.BREAKERS, "dependencies": dependencies}


def test_the_guard_follows_a_new_timeout_and_a_removed_dependency(delays, guarded, settings):
    query(guarded, "SELECT 1")
    assert delays[-1] == db.database.watchdog_delay(TIMEOUT)
    settings.BREAKERS = _shopdb(settings, timeout=2.0, failure_threshold=2)
    query(guarded, "SELECT 1")  # the live registry was reconfigured: same breaker, new timeout
    assert delays[-1] == db.database.watchdog_delay(2.0)
    breaker = breakers["shopdb"]
    successes = breaker.snapshot()["successes"]
    settings.BREAKERS = _shopdb(settings)
    assert query(guarded, "SELECT 1") == [(1,)]  # no dependency guards the alias now
    assert delays[-1] is None
    assert breaker.snapshot()["successes"] == successes  # the removed breaker counts nothing


def test_an_alias_guarded_again_is_guarded_on_a_connected_connection(delays, guarded, settings):
    query(guarded, "SELECT 1")
    removed = breakers["shopdb"]
    settings.BREAKERS = _shopdb(settings)
    query(guarded, "SELECT 1")  # unguarded
    settings.BREAKERS = _shopdb(settings, timeout=3.0)  # the same connection object, still open
    assert query(guarded, "SELECT 1") == [(1,)]
    added = breakers["shopdb"]
    assert added is not removed
    assert added.snapshot()["calls"] == 1
    assert delays[-1] == db.database.watchdog_delay(3.0)


def test_a_direct_reconfigure_of_the_built_registry_is_followed(delays, guarded, settings):
    """User code that calls ``reconfigure`` on the registry (no settings change) is followed."""
    query(guarded, "SELECT 1")
    registry = conf.get_registry()
    registry.reconfigure(_shopdb(settings, timeout=2.5, failure_threshold=2))
    query(guarded, "SELECT 1")
    assert delays[-1] == db.database.watchdog_delay(2.5)
    breaker = registry["shopdb"]
    calls = breaker.snapshot()["calls"]
    registry.reconfigure(_shopdb(settings))
    query(guarded, "SELECT 1")
    assert delays[-1] is None
    assert breaker.snapshot()["calls"] == calls


def test_queries_run_unguarded_while_the_settings_are_invalid(delays, guarded, settings):
    query(guarded, "SELECT 1")
    old = breakers["shopdb"]
    calls = old.snapshot()["calls"]
    settings.BREAKERS = _shopdb(settings, timeout=TIMEOUT, failure_threshold=0)  # invalid
    for _ in range(2):
        assert query(guarded, "SELECT 1") == [(1,)]  # runs, unguarded
        assert delays[-1] is None
    assert conf.built.registry is None  # it cannot be built
    assert old.snapshot()["calls"] == calls
    settings.BREAKERS = _shopdb(settings, timeout=2.0, failure_threshold=2)  # valid again
    assert query(guarded, "SELECT 1") == [(1,)]
    assert delays[-1] == db.database.watchdog_delay(2.0)
    assert breakers["shopdb"] is not old
    assert breakers["shopdb"].snapshot()["calls"] == 1


def test_the_guard_follows_a_rebuilt_registry(guarded):
    query(guarded, "SELECT 1")
    old = conf.built.registry["shopdb"]
    calls = old.snapshot()["calls"]
    conf.reload()  # as a change of BREAKERS_CLOCK does: the registry is built again
    assert conf.built.registry is None
    assert query(guarded, "SELECT 1") == [(1,)]  # the guard builds it, then follows it
    assert conf.built.registry is conf.built_registry() is not None
    new = conf.built.registry["shopdb"]
    assert new is not old
    assert old.snapshot()["calls"] == calls  # the forgotten breaker counts nothing more
    assert new.snapshot()["calls"] == 1


def test_a_reconfigure_while_a_statement_resolves_is_not_lost(guarded, settings, monkeypatch):
    """The thread that reconfigures tells a guard whose statement is resolving its breaker
    (held on an Event here) on another thread: that thread's next statement follows."""
    entered, release = threading.Event(), threading.Event()
    resolve = db._resolve

    def held(alias: str, statements: Any) -> Any:
        breaker = resolve(alias, statements)  # read before the reconfigure below
        if not entered.is_set():
            entered.set()
            release.wait(5)
        return breaker

    query(guarded, "SELECT 1")
    old = breakers["shopdb"]
    monkeypatch.setattr(db, "_resolve", held)  # for the guards installed from now on
    seen: list[Any] = []

    def worker() -> None:
        db.guard_thread()
        connection = connections["shopdb"]
        try:
            query(connection, "SELECT 1")  # resolves: held
            seen.append(old.snapshot()["calls"])
            query(connection, "SELECT 1")  # after the reconfigure: resolves again, unguarded
            seen.append(old.snapshot()["calls"])
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert entered.wait(5)
        settings.BREAKERS = _shopdb(settings)  # the alias unguarded: every guard told
    finally:
        release.set()
        thread.join(10)
    assert len(seen) == 2
    assert seen[0] == seen[1]  # the second statement was not counted by the removed breaker


# -- pages ----------------------------------------------------------------------------------------


def test_an_open_database_breaker_answers_the_page_with_503(guarded, proxy, settings):
    settings.ROOT_URLCONF = "tests.django.db_views"
    client = Client(raise_request_exception=False)
    assert client.get("/stock/").status_code == 200
    proxy.mode = "reset"
    for _ in range(2):
        assert client.get("/stock/").status_code == 500  # the query failed: Django's 500
        # What request_finished does under a server (the test client turns it off).
        guarded.close_if_unusable_or_obsolete()
    response = client.get("/stock/")
    assert response.status_code == 503
    assert "Retry-After" in response


def test_a_breaker_block_hides_the_feature_while_the_database_is_open(guarded, proxy, settings):
    settings.ROOT_URLCONF = "tests.django.db_views"
    client = Client()
    assert b"stock: 1" in client.get("/stock/widget/").content
    proxy.mode = "reset"
    for _ in range(3):
        response = client.get("/stock/widget/")
        assert response.status_code == 200
        assert b"stock: 1" not in response.content
        assert b"stock unavailable" in response.content


# -- SQLite and validation ------------------------------------------------------------------------


def test_sqlite_queries_are_guarded_without_a_statement_timeout(settings, django_db_blocker):
    settings.BREAKERS = {
        **settings.BREAKERS,
        "dependencies": {"local": {"database": "default", "timeout": "1s"}},
    }
    django_db_blocker.unblock()
    try:
        db.guard_thread()  # as a request does when it starts
        connection = connections["default"]
        assert query(connection, "SELECT 1") == [(1,)]
        with pytest.raises(OperationalError):
            query(connection, "SELECT * FROM no_such_table_at_all")  # sqlite says Operational
        assert breakers["local"].snapshot()["failures"] == 1
    finally:
        connections["default"].close()
        django_db_blocker.restore()


def test_an_unknown_alias_is_reported_with_its_path(settings):
    settings.BREAKERS = {"dependencies": {"shopdb": {"database": "shop"}}}
    messages = [m for m in run_checks() if m.id == "breaker.E020"]
    assert len(messages) == 1
    assert 'BREAKERS["dependencies"]["shopdb"]["database"]' in messages[0].msg
    assert '"shop"' in messages[0].msg
    assert '"default"' in messages[0].msg
    with pytest.raises(ConfigurationError, match="shopdb"):
        db.install()


def test_an_alias_guarded_twice_is_reported(settings):
    settings.BREAKERS = {
        "dependencies": {"a": {"database": "default"}, "b": {"database": "default"}}
    }
    problems = db.database_problems(settings.BREAKERS)
    assert len(problems) == 1
    assert '["b"]["database"]' in problems[0]


@pytest.mark.parametrize("value", ["", 3, " default"])
def test_a_bad_database_value_is_a_settings_error(settings, value):
    settings.BREAKERS = {"dependencies": {"shopdb": {"database": value}}}
    messages = [m for m in run_checks() if m.id == "breaker.E001"]
    assert any('["shopdb"]["database"]: expected a database alias' in m.msg for m in messages)
