"""Span marking: the recording gate asked per call, and the events added to a recording span.

:func:`recording_gate` is the one thing a guarded call asks while no span
records (the breaker reads it inline: one ``ContextVar.get`` for an empty
context, and a context whose span does not record is judged once and then
remembered). :func:`mark` is the gated listener's body: it runs only for
calls made while a span records, and adds a ``breakerpanel.call`` (or
``breakerpanel.state_change``) event to it.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and, for Django, breaker_django.conf.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from breaker_core import CircuitOpenError, Event
from breaker_core.extension import ContextGate, split_key_name
from breaker_opentelemetry import names

__all__ = ["RAN", "mark", "recording_gate"]

RAN = frozenset(("success", "failure", "ignored"))
"""The kinds of event of a call that ran (an outcome and a duration)."""


def _public_recording() -> bool:
    return trace.get_current_span().is_recording()


def recording_gate() -> ContextGate:
    """A cheap test of "a span is recording in this context", asked once per guarded call.

    The API's ``trace.get_current_span().is_recording()`` costs about a third
    of a closed call (three calls deep). With the API's default runtime
    context (context variables) the breaker reads the context variable
    itself (one ``ContextVar.get``, no Python call): an empty context is
    shut at once, and a context whose span does not record (sampled out,
    ended: it never records again) is judged once and then remembered while
    it stays current. The gate remembers one context: calls whose contexts
    take turns (tasks, threads) judge theirs again, and the API's own
    non-recording span (every sampled-out request's) is refused there without
    asking it. Any other runtime context gets the public call.
    """
    from opentelemetry import context as otel_context
    from opentelemetry.trace import propagation

    variable = getattr(getattr(otel_context, "_RUNTIME_CONTEXT", None), "_current_context", None)
    key = getattr(propagation, "_SPAN_KEY", None)
    if not isinstance(variable, contextvars.ContextVar) or not isinstance(key, str):
        return ContextGate(_public_recording)

    return _SpanGate(variable.get, key)


class _SpanGate(ContextGate):
    """OpenTelemetry's context variable, read inline by the breaker; :meth:`opens` is the test.

    A plain ``ContextGate`` calls its test from ``opens``: two Python calls
    for a context new to the gate. Here ``opens`` judges the span itself
    (one call), which calls whose contexts take turns (tasks, threads) pay
    on every call.
    """

    __slots__ = ("key", "span_types")

    def __init__(self, read: Callable[[], object], key: str) -> None:
        super().__init__(read)  # test unused: opens (asked by the breaker and by __call__) judges
        self.key = key
        # The types seen to be spans: isinstance against the API's abstract Span runs
        # ABCMeta.__instancecheck__ (a Python call); a set lookup does not.
        self.span_types: set[type] = set()

    def opens(self, seen: Any) -> bool:
        """Whether the span in the context ``seen`` records; a refusal is remembered."""
        span = seen.get(self.key)
        kind = type(span)
        if kind is not _NEVER_RECORDS:  # the API's (sampled out, invalid): never asked
            if kind not in self.span_types and isinstance(span, trace.Span):
                self.span_types.add(kind)
            if kind in self.span_types and span.is_recording():
                return True
        self.quiet = seen
        return False

    def __repr__(self) -> str:
        return f"<recording gate {self.read!r} key {self.key!r}>"


_NEVER_RECORDS = trace.NonRecordingSpan
"""The API's span that never records: a sampled-out span, the invalid span."""


def mark(event: Event) -> None:
    """Add ``event`` to the active span when it is recording (the gated listener's body)."""
    kind = event.kind
    if kind in RAN:
        outcome = "slow" if event.reason == "slow" else kind
    elif kind == "rejected":
        outcome = "rejected"
    elif kind != "state_change":
        return
    span = trace.get_current_span()
    if not span.is_recording():
        return
    if kind == "state_change":
        span.add_event(names.STATE_CHANGE_EVENT, _change_attributes(event))
    else:
        span.add_event(names.CALL_EVENT, _call_attributes(event, outcome))


def _call_attributes(event: Event, outcome: str) -> dict[str, AttributeValue]:
    rejected = outcome == "rejected"
    attributes = _named(event.name)
    attributes[names.OUTCOME] = outcome
    attributes[names.SHORT_CIRCUITED] = rejected
    if event.new_state is not None:
        attributes[names.STATE] = event.new_state.value
    if event.reason is not None:
        attributes[names.REASON] = event.reason
    exc = event.exception
    if rejected and isinstance(exc, CircuitOpenError):
        attributes[names.RETRY_AFTER] = exc.retry_after
    elif exc is not None:
        attributes[names.ERROR_TYPE] = _error_type(exc)
    if event.duration is not None:
        attributes["breakerpanel.duration"] = event.duration
    return attributes


def _change_attributes(event: Event) -> dict[str, AttributeValue]:
    attributes = _named(event.name)
    if event.old_state is not None:
        attributes[names.STATE_OLD] = event.old_state.value
    if event.new_state is not None:
        attributes[names.STATE] = event.new_state.value
    if event.reason is not None:
        attributes[names.REASON] = event.reason
    return attributes


def _named(name: str) -> dict[str, AttributeValue]:
    """A span event's dependency attributes: a breaker per key carries its exact key."""
    dependency, key = split_key_name(name)
    attributes: dict[str, AttributeValue] = {names.DEPENDENCY: dependency}
    if key is not None:
        attributes[names.KEY] = key
    return attributes


def _error_type(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
