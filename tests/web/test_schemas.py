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
