"""The names breakerpanel uses in OpenTelemetry: instruments, span events, attributes.

They follow the OpenTelemetry naming guidelines: lowercase, dot-separated,
namespaced under ``breakerpanel``; units in UCUM (``s``, ``{call}``); no
``_total`` suffix (exporters add their own).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and, for Django, breaker_django.conf.
"""

from __future__ import annotations

__all__ = [
    "CALLS",
    "CALL_DURATION",
    "CALL_EVENT",
    "DEPENDENCY",
    "DURATION_BUCKETS",
    "ERROR_TYPE",
    "KEY",
    "KEYS_GAUGE",
    "METER_NAME",
    "OUTCOME",
    "REASON",
    "REJECTIONS",
    "RETRY_AFTER",
    "SHORT_CIRCUITED",
    "STATE",
    "STATE_CHANGE_EVENT",
    "STATE_GAUGE",
    "STATE_OLD",
    "TRANSITIONS",
]

METER_NAME = "breakerpanel"
"""The instrumentation scope of every instrument."""

CALLS = "breakerpanel.calls"
"""Counter, ``{call}``: guarded calls that ran, by dependency and outcome
(``success``, ``failure``, ``slow``, ``ignored``)."""
REJECTIONS = "breakerpanel.rejections"
"""Counter, ``{call}``: calls refused without running, by dependency and reason
(``open``, ``half_open_full``, ``forced_open``, ``bulkhead_full``)."""
STATE_GAUGE = "breakerpanel.state"
"""Observable gauge, ``1``: 1 for each dependency's current state, 0 for the others."""
TRANSITIONS = "breakerpanel.transitions"
"""Counter, ``{transition}``: state changes, by dependency, old and new state."""
CALL_DURATION = "breakerpanel.call.duration"
"""Histogram, ``s``: how long guarded calls that ran took, by dependency and outcome."""

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""Bucket boundaries advised for the duration histogram (those of the HTTP conventions)."""

CALL_EVENT = "breakerpanel.call"
"""Span event added to the active span for every guarded call (run or refused)."""
STATE_CHANGE_EVENT = "breakerpanel.state_change"
"""Span event added to the active span when a call there changed a breaker's state."""

KEYS_GAUGE = "breakerpanel.keys"
"""Observable gauge, ``{breaker}``: breakers per key a dependency keeps, by state."""

DEPENDENCY = "breakerpanel.dependency"
KEY = "breakerpanel.key"
"""The key of a breaker per key (``registry.for_key``). On metrics, the first keys of a
dependency (``key_labels``, default 20) are named and the rest are ``(other)``; span
events carry the key itself."""
OUTCOME = "breakerpanel.outcome"
"""``success``, ``failure``, ``slow``, ``ignored`` or ``rejected``."""
STATE = "breakerpanel.state"
"""The breaker's state (``closed``, ``open``...): on a state change, the new one."""
STATE_OLD = "breakerpanel.state.old"
SHORT_CIRCUITED = "breakerpanel.short_circuited"
"""True when the breaker refused the call: the dependency was never asked."""
REASON = "breakerpanel.reason"
"""Why: a rejection's (``open``...), a failure's (``exception``, ``slow``,
``result``) or a state change's (``failure_threshold``...)."""
RETRY_AFTER = "breakerpanel.retry_after"
"""On a rejection: seconds until a probe may pass."""
ERROR_TYPE = "error.type"
"""The exception's fully qualified class name (the general semantic convention)."""
