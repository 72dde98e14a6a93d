"""The warm-up before each measured schedule: load until every server process ran a full
collection under it (past its start-up collections), or the plan's limit."""

from __future__ import annotations

import gc

import pytest

from example_apps.scenario import probes
from example_apps.scenario.plan import FULL, QUICK
from example_apps.scenario.run import warm_up_load


class Server:
    """A fake server: each chunk of load takes ``chunk`` seconds of the clock and may
    bring a full collection in some processes."""

    def __init__(self, clock, collections: dict[int, int], chunk: float = 2.0) -> None:
        self.clock, self.counts, self.chunk = clock, dict(collections), chunk
        self.chunks = 0
        self.collect_at: dict[int, int] = {}  # pid -> chunk after which it collects

    def send(self) -> int:
        self.chunks += 1
        self.clock.advance(self.chunk)
        for pid, at in self.collect_at.items():
            if self.chunks == at:
                self.counts[pid] += 1
        return 34

    def collections(self) -> dict[int, int]:
        return dict(self.counts)


def test_the_load_goes_on_until_every_process_ran_a_full_collection_under_it(clock):
    # Both had start-up collections before the load: those do not count.
    server = Server(clock, {101: 1, 102: 2})
    server.collect_at = {101: 3, 102: 7}
    warm = warm_up_load(server.send, server.collections, limit=60, clock=clock)
    assert server.chunks == 7  # the last process's collection, not the first's
    assert warm.requests == 7 * 34
    assert warm.seconds == pytest.approx(14.0)
    assert warm.full_collections == {101: 1, 102: 1}
    assert warm.past_start_up


def test_the_limit_ends_the_load_when_a_process_never_collects(clock):
    server = Server(clock, {101: 0, 102: 0})
    server.collect_at = {101: 2}
    warm = warm_up_load(server.send, server.collections, limit=10, clock=clock)
    assert server.chunks == 5
    assert warm.seconds == pytest.approx(10.0)
    assert warm.full_collections == {101: 1, 102: 0}
    assert not warm.past_start_up
    assert warm.describe()["past_start_up"] is False


def test_at_least_one_chunk_is_sent(clock):
    server = Server(clock, {101: 0})
    warm = warm_up_load(server.send, server.collections, limit=0, clock=clock)
    assert server.chunks == 1
    assert warm.requests == 34
    assert not warm.past_start_up


def test_no_process_counted_is_not_past_start_up(clock):
    server = Server(clock, {})
    warm = warm_up_load(server.send, server.collections, limit=4, clock=clock)
    assert server.chunks == 2
    assert not warm.past_start_up


def test_every_plan_warms_up_and_the_full_one_long_enough_for_every_shop():
    # Measured at the full plan's load: the first full collection under load came at most
    # 124 s into it (Flask's workers); the limit leaves room for a busy machine.
    assert FULL.warm_up >= 200
    assert 0 < QUICK.warm_up <= 5


def test_full_collections_are_counted_per_process_and_only_full_ones(tmp_path):
    enabled = gc.isenabled()
    gc.disable()  # only the explicit collections below (they run all the same)
    counter = probes.FullCollections(tmp_path)
    try:
        gc.collect(0)
        gc.collect(1)
        assert list(probes.read_full_collections(tmp_path).values()) == [0]
        gc.collect()
        gc.collect(2)
        (count,) = probes.read_full_collections(tmp_path).values()
        assert count == 2
    finally:
        counter.close()
        if enabled:
            gc.enable()
    gc.collect()
    assert list(probes.read_full_collections(tmp_path).values()) == [2]  # no longer counting
    (tmp_path / "collections-7.bin").write_bytes((5).to_bytes(8, "little"))
    (tmp_path / "collections-8.bin").write_bytes(b"\x00")  # being created: skipped
    assert probes.read_full_collections(tmp_path)[7] == 5
    assert 8 not in probes.read_full_collections(tmp_path)
