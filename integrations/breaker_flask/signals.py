"""blinker signals for breaker state changes and rejected calls.

::

    from breaker_flask.signals import call_rejected, state_changed

    @state_changed.connect_via(app)
    def page_the_on_call(app, name, old_state, new_state, reason, event):
        ...

The sender is the Flask app whose registry the breaker belongs to. Receivers
get keyword arguments: ``name`` (the dependency), ``event`` (the engine's
:class:`~breaker_core.Event`) and, for ``state_changed``, ``old_state``,
``new_state`` (:class:`~breaker_core.State`) and ``reason`` (for example
``"failure_threshold"`` or ``"manual"``); for ``call_rejected``, ``reason``
(``"open"``, ``"half_open_full"``, ``"forced_open"`` or ``"bulkhead_full"``)
and ``error`` (the :class:`~breaker_core.CircuitOpenError`).

Signals are sent from the thread (or task) that made the call, possibly
outside any request. A receiver that raises is logged and ignored: it never
breaks the call.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import weakref

from blinker import Namespace
from flask import Flask

from breaker_core import Event, Registry

__all__ = ["call_rejected", "connect", "state_changed"]

_signals = Namespace()

state_changed = _signals.signal(
    "breaker-state-changed", doc="A breaker changed state (closed, open, half_open, ...)."
)
call_rejected = _signals.signal(
    "breaker-call-rejected", doc="A breaker rejected a call without running it."
)


class _Relay:
    """A registry listener sending the signals for one app (held weakly)."""

    __slots__ = ("app",)

    def __init__(self, app: Flask) -> None:
        self.app = weakref.ref(app)

    def __call__(self, event: Event) -> None:
        app = self.app()
        if app is None:
            return
        if event.kind == "state_change":
            if state_changed.receivers:
                state_changed.send(
                    app,
                    name=event.name,
                    old_state=event.old_state,
                    new_state=event.new_state,
                    reason=event.reason,
                    event=event,
                )
        elif event.kind == "rejected" and call_rejected.receivers:
            call_rejected.send(
                app, name=event.name, reason=event.reason, error=event.exception, event=event
            )


# A registry listener takes every call off the engine's fast path (each call then
# builds an event), so the relay is only attached once someone listens.
_apps: weakref.WeakKeyDictionary[Flask, Registry] = weakref.WeakKeyDictionary()
_relayed: weakref.WeakSet[Registry] = weakref.WeakSet()


def _attach(app: Flask, registry: Registry) -> None:
    if registry not in _relayed:
        _relayed.add(registry)
        registry.add_listener(_Relay(app))


def _someone_listens(signal: object, **kwargs: object) -> None:
    # blinker passes the connect() arguments (receiver=, sender=, weak=) as keywords.
    for app, registry in list(_apps.items()):
        _attach(app, registry)


state_changed.receiver_connected.connect(_someone_listens)
call_rejected.receiver_connected.connect(_someone_listens)


def connect(app: Flask, registry: Registry) -> None:
    """Send ``app``'s signals for the events of ``registry`` (called by ``init_app``).

    The listener is attached now if either signal has a receiver, else as
    soon as one connects.
    """
    _apps[app] = registry
    if state_changed.receivers or call_rejected.receivers:
        _attach(app, registry)
