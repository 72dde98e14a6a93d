"""``python -m example_apps.scenario.database --quick``: the shop's database hangs, for real.

PostgreSQL behind the FaultProxy, black-holed for a phase. Without the guard,
every worker thread hangs on its page until the database is back; with it, the
first pages cost about the timeout, then every page is served at once saying
the stock is unavailable, and the stock comes back after the outage.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from example_apps.scenario import database
from tests.databases import need_module, need_postgres

pytestmark = pytest.mark.slow


def test_a_hung_database_holds_every_page_without_the_guard_and_none_with_it(
    tmp_path: Path,
) -> None:
    need_postgres()
    need_module("psycopg")
    need_module("django")
    assert database.main(["--quick", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "database.json").read_text())
    unguarded = results["variants"]["unguarded"]["phases"]
    guarded = results["variants"]["guarded"]["phases"]
    outage = results["phases"]["outage"]

    assert unguarded["healthy"]["with_stock"] == unguarded["healthy"]["pages"] > 0
    # Every thread stuck on one page for the whole outage: at most one page each starts.
    assert unguarded["outage"]["pages"] <= database.THREADS
    assert unguarded["healthy"]["slowest_s"] >= outage * 0.5
    assert unguarded["recovered"]["last_with_stock"]

    # Guarded: the breaker opens, and the pages go on, fast, without the stock.
    assert guarded["outage"]["pages"] > 3 * database.THREADS
    assert guarded["outage"]["median_s"] < 1.0
    assert guarded["outage"]["with_stock"] <= database.THREADS
    assert guarded["recovered"]["with_stock"] > 0
    assert guarded["recovered"]["last_with_stock"]  # the probe passed: the stock is back
    assert "Database outage" in (tmp_path / "database.txt").read_text()
