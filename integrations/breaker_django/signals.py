"""Django signals for breaker events: ``state_changed`` and ``call_rejected``.

Both are sent with ``sender=CircuitBreaker`` (the class, as model signals send
the model class) and the keyword arguments ``breaker`` (the breaker), ``name``,
``event`` (the engine's :class:`~breaker_core.Event`) and ``reason``;
``state_changed`` adds ``old_state`` and ``new_state``, ``call_rejected`` adds
``error`` (the :class:`~breaker_core.CircuitOpenError`)::

    from breaker_django.signals import state_changed

    @receiver(state_changed)
    def page_on_call(sender, name, old_state, new_state, **kwargs):
        ...

Receivers run synchronously, in the thread (or event loop) of the call that
caused the event, and should be quick; connect sync functions only. A receiver
that raises is logged and does not affect the call.

The bridge from the engine to these signals is installed on the registry only
once a receiver is connected: until then breakers keep their fast path.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from django.dispatch import Signal  # type: ignore[import-untyped]

from breaker_core import CircuitBreaker, Event, Registry
from breaker_django import conf

__all__ = ["call_rejected", "state_changed"]

logger = logging.getLogger("breaker_django")

_bridged: weakref.WeakSet[Registry] = weakref.WeakSet()


class _BridgedSignal(Signal):  # type: ignore[misc]  # Django is untyped
    """A signal that installs the engine bridge when its first receiver connects."""

    def connect(
        self,
        receiver: Any,
        sender: Any = None,
        weak: bool = True,
        dispatch_uid: Any = None,
    ) -> None:
        super().connect(receiver, sender=sender, weak=weak, dispatch_uid=dispatch_uid)
        registry = conf.built_registry()
        if registry is not None:
            bridge(registry)


state_changed = _BridgedSignal()
"""Sent when a breaker changes state (``old_state``, ``new_state``, ``reason``)."""

call_rejected = _BridgedSignal()
"""Sent when a breaker rejects a call (``reason``: open, forced_open, half_open_full...)."""


def _has_receivers() -> bool:
    return bool(state_changed.receivers or call_rejected.receivers)


def bridge(registry: Registry) -> None:
    """Send the signals for ``registry``'s events, once a receiver is connected."""
    if registry in _bridged or not _has_receivers():
        return
    _bridged.add(registry)
    registry.add_listener(_Forwarder(registry))


conf.on_build(bridge)


class _Forwarder:
    """The registry listener that turns engine events into Django signals."""

    def __init__(self, registry: Registry) -> None:
        self._registry = weakref.ref(registry)

    def __call__(self, event: Event) -> None:
        extra: dict[str, object]
        if event.kind == "state_change":
            signal = state_changed
            extra = {"old_state": event.old_state, "new_state": event.new_state}
        elif event.kind == "rejected":
            signal = call_rejected
            extra = {"error": event.exception}
        else:
            return
        registry = self._registry()
        breaker = registry.get(event.name) if registry is not None else None
        results = signal.send_robust(
            sender=CircuitBreaker,
            breaker=breaker,
            name=event.name,
            event=event,
            reason=event.reason,
            **extra,
        )
        for receiver, result in results:
            if isinstance(result, Exception):
                logger.error(
                    "breakerpanel: receiver %r of %s raised; ignored",
                    receiver,
                    event.kind,
                    exc_info=result,
                )
