"""How a breaker with shared storage admits probes, adopts remote state and obeys operators.

Called from :class:`~breaker_core.machine.Machine` only when its link to Redis
is healthy; on a Redis failure each hook says so (``LOCAL``/False) and the
breaker decides locally, as with memory storage.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from breaker_core.events import Event
from breaker_core.state import State

if TYPE_CHECKING:
    from breaker_core.machine import Machine, Ticket
    from breaker_core.shared.link import Link
    from breaker_core.shared.remote import RemoteState

__all__ = ["admit_probe", "adopt", "manual"]


def admit_probe(machine: Machine, link: Link, now: float) -> tuple[bool, Ticket]:
    """Take a probe slot on the server, or reject.

    Returns ``(True, ticket)`` when Redis decided, ``(False, None)`` when it did
    not answer (the breaker then decides locally).
    """
    from breaker_core.machine import _Probe
    from breaker_core.shared.storage import StorageUnavailable

    if now < link.busy_until:
        machine._reject(link.busy_until - now, "half_open_full", now)
    key = uuid.uuid4().hex
    try:
        remote = link.acquire(now, key)
    except StorageUnavailable:
        return False, None
    adopt(machine, remote)
    if remote.verdict == "probe":
        ticket = _Probe(remote.gen, now + machine._config.probe_timeout, key)
        with machine._lock:
            machine._probes.add(ticket)
        return True, ticket
    if remote.verdict == "reject":
        retry = float(remote.extra)
        if remote.state is State.HALF_OPEN:
            # Every slot is taken somewhere: answer locally for a moment.
            link.busy_until = now + min(retry, link.storage.refresh or retry)
            machine._reject(retry, "half_open_full", now)
        reason = "forced_open" if remote.state is State.FORCED_OPEN else "open"
        machine._reject(retry, reason, now)
    if remote.state is State.DISABLED:
        return True, None
    return True, remote.gen


def adopt(machine: Machine, remote: RemoteState) -> None:
    """Make the breaker's local phase the shared one (events on a change of state)."""
    from breaker_core.machine import _Phase

    change: Event | None = None
    with machine._lock:
        phase = machine._phase
        if remote.gen != phase.gen or remote.state is not phase.state:
            machine._phase = _Phase(remote.state, remote.gen, remote.open_until)
            machine._window.reset()
            machine._probes = {p for p in machine._probes if p.gen == remote.gen}
            if machine._link is not None:
                machine._link.pending = {}
                machine._link.busy_until = 0.0
            machine._failed_probes = remote.failed
            machine._opened_at = remote.opened_at
            if remote.changed_at is not None:
                machine._changed_at = remote.changed_at
            if remote.state is not phase.state:
                change = Event(
                    "state_change",
                    machine.name,
                    old_state=phase.state,
                    new_state=remote.state,
                    reason=remote.reason or "shared",
                    time=machine._clock(),
                )
        else:
            machine._failed_probes = remote.failed
    if change is not None:
        machine._announce(change)


def manual(machine: Machine, link: Link, state: State, now: float) -> bool:
    """Set ``state`` for every process; False if Redis did not answer (decide locally)."""
    from breaker_core.shared.storage import StorageUnavailable

    try:
        remote = link.set_state(state.value, now)
    except StorageUnavailable:
        return False
    adopt(machine, remote)
    return True
