"""A django-debug-toolbar panel: the breakers this request called, how each call went.

::

    DEBUG_TOOLBAR_PANELS = [..., "breaker_django.debug_panel.BreakersPanel"]

For every guarded call made while the request was handled (in its thread or
task): the dependency, the outcome (``success``, ``failure``, ``slow``,
``ignored``, ``rejected``), why, how long it took and the breaker's state;
then every dependency's state when the response left. The panel listens only
while it is enabled and a request is being handled (the toolbar is a
development tool: the listener takes the breakers off their fast path then).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from debug_toolbar.panels import Panel
from django.utils.html import format_html, format_html_join  # type: ignore[import-untyped]

from breaker_core import ConfigurationError, Event, Registry
from breaker_django import conf

__all__ = ["BreakersPanel"]

_request_calls: ContextVar[list[dict[str, Any]] | None] = ContextVar(
    "breaker_django.debug_panel", default=None
)
_OUTCOMES = ("success", "failure", "ignored", "rejected")


def _recorder(calls: list[dict[str, Any]]) -> Callable[[Event], None]:
    def record(event: Event) -> None:
        if event.kind not in _OUTCOMES or _request_calls.get() is not calls:
            return  # another request's call (or a state change)
        outcome = "slow" if event.reason == "slow" else event.kind
        calls.append(
            {
                "dependency": event.name,
                "outcome": outcome,
                "reason": event.reason or "",
                "ms": None if event.duration is None else round(event.duration * 1000, 2),
                "state": event.new_state.value if event.new_state is not None else "",
                "short_circuited": event.kind == "rejected",
            }
        )

    return record


class BreakersPanel(Panel):
    """Guarded calls of this request and the breakers' states."""

    title = "Breakers"
    is_async = True

    @property
    def nav_subtitle(self) -> str:
        calls = self.get_stats().get("calls", [])  # type: ignore[no-untyped-call]
        refused = sum(1 for c in calls if c["short_circuited"])
        text = f"{len(calls)} call{'s' if len(calls) != 1 else ''}"
        return f"{text}, {refused} refused" if refused else text

    def process_request(self, request: Any) -> Any:
        """Record this request's guarded calls while the view runs."""
        calls: list[dict[str, Any]] = []
        self._calls = calls
        try:
            registry: Registry | None = conf.get_registry()
        except ConfigurationError:
            registry = None  # invalid settings: the system checks say why
        listener = _recorder(calls)
        token = _request_calls.set(calls)
        if registry is not None:
            registry.add_listener(listener)

        def done() -> None:
            if registry is not None:
                try:
                    registry.remove_listener(listener)
                except ValueError:
                    pass  # the registry was rebuilt meanwhile
            _request_calls.reset(token)

        try:
            response = super().process_request(request)  # type: ignore[no-untyped-call]
        except BaseException:
            done()
            raise
        if inspect.isawaitable(response):

            async def finish() -> Any:
                try:
                    return await response
                finally:
                    done()

            return finish()
        done()
        return response

    def generate_stats(self, request: Any, response: Any) -> None:
        """Keep the calls and every dependency's state for the panel."""
        registry = conf.built_registry()
        states = (
            [{"dependency": b.name, **_state(b.snapshot())} for b in registry.breakers()]
            if registry is not None
            else []
        )
        stats = {"calls": list(getattr(self, "_calls", [])), "states": states}
        self.record_stats(stats)  # type: ignore[no-untyped-call]

    @property
    def content(self) -> str:
        """The panel's HTML (escaped; no template to install)."""
        stats = self.get_stats()  # type: ignore[no-untyped-call]
        calls = stats.get("calls", [])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    c["dependency"],
                    c["outcome"],
                    c["reason"],
                    "" if c["ms"] is None else f"{c['ms']:.2f}",
                    c["state"],
                    "yes" if c["short_circuited"] else "no",
                )
                for c in calls
            ),
        )
        states = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (s["dependency"], s["state"], s["failures"], s["calls"])
                for s in stats.get("states", [])
            ),
        )
        return str(
            format_html(
                "<h4>Guarded calls of this request</h4>"
                "<table><thead><tr><th>Dependency</th><th>Outcome</th><th>Reason</th>"
                "<th>Time (ms)</th><th>State</th><th>Short-circuited</th></tr></thead>"
                "<tbody>{}</tbody></table>"
                "<h4>Breakers when the response left</h4>"
                "<table><thead><tr><th>Dependency</th><th>State</th>"
                "<th>Failures in window</th><th>Calls in window</th></tr></thead>"
                "<tbody>{}</tbody></table>",
                rows or format_html("<tr><td colspan='6'>No guarded call.</td></tr>"),
                states,
            )
        )


def _state(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: snapshot[k] for k in ("state", "failures", "calls")}
