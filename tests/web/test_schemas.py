"""The status and health documents validate against their published JSON Schemas."""

from __future__ import annotations

import pytest

from breaker_core import Registry
from breaker_core.ops.health import health
from breaker_core.ops.schemas import HEALTH_SCHEMA_DOCUMENT, STATUS_SCHEMA_DOCUMENT
from breaker_core.ops.status import status_document

jsonschema = pytest.importorskip("jsonschema")


def test_status_document_validates_in_every_state(clock):
    registry = Registry.from_settings(
        {
            "dependencies": {
                "a": {"failure_threshold": 1, "max_concurrent": 2, "routes": ["/x/*"]},
                "b": {"failure_rate": 0.5},
                "c": {},
                "d": {},
            }
        },
        clock=clock,
    )
    validator = jsonschema.Draft202012Validator(STATUS_SCHEMA_DOCUMENT)
    validator.check_schema(STATUS_SCHEMA_DOCUMENT)
    with pytest.raises(ZeroDivisionError):
        registry["a"].call(lambda: 1 / 0)
    registry["b"].force_open()
    registry["c"].disable()
    registry["d"].metrics_only()
    validator.validate(status_document(registry))
    clock.advance(10)
    registry["a"].call(int)
    document = status_document(registry)
    validator.validate(document)
    assert {b["state"] for b in document["breakers"]} == {
        "closed",
        "forced_open",
        "disabled",
        "metrics_only",
    }
    broken = dict(document, schema="breakerpanel.status/2")
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_health_body_validates(clock):
    registry = Registry.from_settings({"dependencies": {"a": {"required": True}}}, clock=clock)
    validator = jsonschema.Draft202012Validator(HEALTH_SCHEMA_DOCUMENT)
    validator.validate(health(registry)[1])
    registry["a"].force_open()
    code, body = health(registry)
    validator.validate(body)
    assert code == 503


def test_status_document_carries_each_breakers_last_minutes_and_the_process(clock):
    import os

    registry = Registry.from_settings(
        {"dependencies": {"a": {"failure_threshold": 2, "slow_call_duration": "1s"}}},
        clock=clock,
    )
    validator = jsonschema.Draft202012Validator(STATUS_SCHEMA_DOCUMENT)
    breaker = registry["a"]
    for _ in range(4):
        breaker.call(int)
    clock.advance(60)  # the next minute
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            breaker.call(lambda: 1 / 0)
    with pytest.raises(Exception, match="open"):
        breaker.call(int)
    document = status_document(registry)
    validator.validate(document)
    assert document["process"] == {"pid": os.getpid()}
    history = document["breakers"][0]["history"]
    assert [(m["calls"], m["failures"], m["rejections"]) for m in history["minutes"][-2:]] == [
        (4, 0, 0),
        (2, 2, 1),
    ]
    assert history["total"]["timed"] == 6  # slow_call_duration times every call
    for bad in ({"interval": 0}, {"points": [{"ago": -1}]}, {"total": {"calls": "many"}}):
        broken = {**history, **bad}
        document["breakers"][0]["history"] = broken
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(document)
