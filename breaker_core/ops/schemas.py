"""JSON Schemas of the documents the integrations serve (for clients and tests).

Layer: ops. Imports the engine only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HEALTH_SCHEMA_DOCUMENT", "STATUS_SCHEMA_DOCUMENT"]

_STATES = ["closed", "open", "half_open", "forced_open", "disabled", "metrics_only"]
_NUMBER = {"type": "number", "minimum": 0}
_COUNT = {"type": "integer", "minimum": 0}
_ISO = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}
_SECONDS = {"type": ["number", "null"], "minimum": 0}
_FIGURES = {
    "calls": _COUNT,
    "failures": _COUNT,
    "slow_calls": _COUNT,
    "rejections": _COUNT,
    "timed": _COUNT,
    "p50": _SECONDS,
    "p90": _SECONDS,
    "p99": _SECONDS,
}
_TOTAL = {"type": "object", "required": list(_FIGURES), "properties": _FIGURES}
_ROW = {
    "type": "object",
    "required": ["ago", *_FIGURES],
    "properties": {"ago": _NUMBER, **_FIGURES},
}
_HISTORY = {
    "type": "object",
    "required": ["interval", "points", "minutes", "total"],
    "properties": {
        "interval": {"type": "number", "exclusiveMinimum": 0},
        "points": {"type": "array", "items": _ROW},
        "minutes": {"type": "array", "items": _ROW},
        "total": _TOTAL,
    },
}
"""A breaker's last five minutes (:meth:`CircuitBreaker.history`): kept by the answering process."""

STATUS_SCHEMA_DOCUMENT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "breakerpanel.status/1",
    "type": "object",
    "required": ["schema", "generated_at", "storage", "breakers"],
    "properties": {
        "schema": {"const": "breakerpanel.status/1"},
        "generated_at": _ISO,
        "process": {
            "type": "object",
            "required": ["pid"],
            "properties": {"pid": {"type": "integer", "minimum": 1}},
        },
        "storage": {
            "type": "object",
            "required": ["scheme", "shared"],
            "properties": {"scheme": {"type": "string"}, "shared": {"type": "boolean"}},
        },
        "breakers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "name",
                    "state",
                    "calls",
                    "successes",
                    "failures",
                    "slow_calls",
                    "failure_rate",
                    "slow_call_rate",
                    "opened_at",
                    "since_change",
                    "changed_at",
                    "retry_after",
                    "failed_probes",
                    "probes_in_flight",
                    "in_flight",
                    "max_concurrent",
                    "shared",
                    "transitions",
                    "thresholds",
                    "routes",
                ],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "state": {"enum": _STATES},
                    "calls": _COUNT,
                    "successes": _COUNT,
                    "failures": _COUNT,
                    "slow_calls": _COUNT,
                    "failure_rate": {"type": "number", "minimum": 0, "maximum": 1},
                    "slow_call_rate": {"type": "number", "minimum": 0, "maximum": 1},
                    "opened_at": {"anyOf": [_ISO, {"type": "null"}]},
                    "since_change": _NUMBER,
                    "changed_at": _ISO,
                    "retry_after": _NUMBER,
                    "failed_probes": _COUNT,
                    "probes_in_flight": _COUNT,
                    "in_flight": {"type": ["integer", "null"], "minimum": 0},
                    "concurrency_limit": {"type": ["integer", "null"], "minimum": 1},
                    "max_concurrent": {
                        "oneOf": [
                            {"type": ["integer", "null"], "minimum": 1},
                            {"const": "auto"},
                        ]
                    },
                    "shared": {
                        "type": ["object", "null"],
                        "required": ["healthy", "synced_ago"],
                        "properties": {
                            "healthy": {"type": "boolean"},
                            "synced_ago": {"type": ["number", "null"]},
                        },
                    },
                    "transitions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["from", "to", "reason", "ago", "at"],
                            "properties": {
                                "from": {"enum": _STATES},
                                "to": {"enum": _STATES},
                                "reason": {"type": "string"},
                                "ago": _NUMBER,
                                "at": _ISO,
                            },
                        },
                    },
                    "thresholds": {"type": "object"},
                    "routes": {"type": "array", "items": {"type": "string"}},
                    "history": _HISTORY,
                    "dependency": {"type": "string"},
                    "key": {"type": "string", "minLength": 1},
                },
            },
        },
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "dependency",
                    "kept",
                    "max_keys",
                    "evictions",
                    "states",
                    "breakers",
                    "hidden",
                ],
                "properties": {
                    "dependency": {"type": "string", "minLength": 1},
                    "kept": _COUNT,
                    "max_keys": {"type": "integer", "minimum": 1},
                    "evictions": _COUNT,
                    "states": {
                        "type": "object",
                        "propertyNames": {"enum": _STATES},
                        "additionalProperties": _COUNT,
                    },
                    "breakers": {"$ref": "#/properties/breakers"},
                    "hidden": _COUNT,
                },
            },
        },
    },
}
"""JSON Schema (draft 2020-12) of :func:`breaker_core.ops.status.status_document`."""

HEALTH_SCHEMA_DOCUMENT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "breakerpanel.health/1",
    "type": "object",
    "required": ["schema", "status", "open", "required_open"],
    "properties": {
        "schema": {"const": "breakerpanel.health/1"},
        "status": {"enum": ["ok", "degraded", "unavailable"]},
        "open": {"type": "array", "items": {"type": "string"}},
        "required_open": {"type": "array", "items": {"type": "string"}},
    },
}
"""JSON Schema (draft 2020-12) of :func:`breaker_core.ops.health.health`'s body."""
