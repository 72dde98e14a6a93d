"""The status document gives wall-clock ISO times, never a monotonic clock reading."""

from __future__ import annotations

import datetime

import jsonschema

from breaker_core import Registry
from breaker_core.clock import FakeClock
from breaker_core.ops.schemas import STATUS_SCHEMA_DOCUMENT
from breaker_core.ops.status import status_document

WALL = datetime.datetime(2026, 11, 26, 19, 20, tzinfo=datetime.UTC).timestamp()


def test_opened_at_is_the_wall_clock_time_of_the_opening():
    clock = FakeClock()  # starts at 1000.0: a reading that is no time of day
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"failure_threshold": 1}}}, clock=clock
    )
    closed = status_document(registry, wall_clock=WALL)
    jsonschema.validate(closed, STATUS_SCHEMA_DOCUMENT)
    assert closed["breakers"][0]["opened_at"] is None
    try:
        registry["inventory"].call(lambda: 1 / 0)
    except ZeroDivisionError:
        pass
    clock.advance(4)
    document = status_document(registry, wall_clock=WALL)
    jsonschema.validate(document, STATUS_SCHEMA_DOCUMENT)
    [entry] = document["breakers"]
    assert entry["state"] == "open"
    assert entry["opened_at"] == "2026-11-26T19:19:56Z"  # 4 s before the document
    assert entry["opened_at"] == entry["changed_at"]
    registry.close()
