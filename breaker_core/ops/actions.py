"""State changes an operator may ask for, and the audit line of each.

Used by ``manage.py breakers``, ``flask breakers``, ``python -m breaker_core``
and the dashboards' POST endpoints, so every one of them accepts the same
actions and refuses the same way. Imports the engine only (``breaker_core``'s
top-level modules), never the web layer or an integration.

Layer: ops. Imports the engine only.
"""

from __future__ import annotations

import logging
import urllib.parse

from breaker_core.errors import BreakerError
from breaker_core.registry import Registry

__all__ = [
    "ACTIONS",
    "ACTION_HELP",
    "ActionError",
    "apply_action",
    "audit",
    "prepare_listing",
]

ACTIONS: dict[str, tuple[str, str]] = {
    "open": ("force_open", "forced open: every call is rejected until it is reset"),
    "close": ("reset", "closed, with an empty window"),
    "reset": ("reset", "reset: closed, with an empty window"),
    "disable": ("disable", "disabled: every call passes and nothing is recorded"),
    "metrics-only": ("metrics_only", "in metrics-only mode: recorded, never rejected"),
}
"""Action name -> (breaker method, what the breaker is afterwards)."""

ACTION_HELP: dict[str, str] = {
    "open": "force breaker NAME open: every call is rejected until it is reset",
    "close": "close breaker NAME, with an empty window",
    "reset": "reset breaker NAME: closed, with an empty window (the same as close)",
    "disable": "disable breaker NAME: every call passes and nothing is recorded",
    "metrics-only": "put breaker NAME in metrics-only mode (shadow mode): recorded, never rejected",
}
"""What each action does, in the help of every command (lowercase, no final stop)."""

UNREACHABLE = (
    "the shared storage ({url}) does not answer, so the state other processes see cannot "
    "be changed from here; {what}"
)

NOT_SHARED = (
    "breaker state is kept in memory inside each server process (storage {url!r}), "
    "so a command run from another process cannot change it; nothing was changed. "
    "Use the dashboard of the running app (it changes the process that serves it), "
    "or configure shared storage."
)


AUDIT_LOGGER = logging.getLogger("breakerpanel.audit")
"""Where every dashboard's state changes are logged, one line each."""


def audit(outcome: str, *, user: object, client: str | None) -> None:
    """Log one line for a state change made from a dashboard (every framework alike).

    ``outcome`` is what :func:`apply_action` returned; ``user`` who asked (or None
    when the framework does not know); ``client`` the address the request came
    from. Names are written with ``repr`` of the text, so a user name cannot forge
    another log line.
    """
    who = "unknown user" if user is None else repr(str(user))
    AUDIT_LOGGER.warning(
        "breakerpanel dashboard: %s (by %s from %s)", outcome, who, client or "unknown client"
    )


class ActionError(BreakerError):
    """An action was refused: unknown action or dependency, or state not shared."""


def apply_action(registry: Registry, action: str, name: str, *, out_of_process: bool) -> str:
    """Apply ``action`` to breaker ``name`` and return a sentence saying what happened.

    ``out_of_process`` is True for commands run from a shell: with
    ``memory://`` storage they would only change their own copy, so they are
    refused without changing anything.

    Raises:
        ActionError: the action or the dependency is unknown, or the storage is
            not shared and the caller is another process.
    """
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r}; use one of: {', '.join(ACTIONS)}")
    if name not in registry:
        declared = ", ".join(registry.names) or "none"
        raise ActionError(f"no dependency named {name!r} (declared: {declared})")
    storage = registry.storage
    if out_of_process and not storage.shared:
        raise ActionError(NOT_SHARED.format(url=_safe(storage.url)))
    if out_of_process and not storage.sync_now():
        raise ActionError(UNREACHABLE.format(url=_safe(storage.url), what="nothing was changed"))
    method, outcome = ACTIONS[action]
    getattr(registry[name], method)()
    if out_of_process and storage.degraded:
        raise ActionError(
            UNREACHABLE.format(url=_safe(storage.url), what="the change may not have reached it")
        )
    return f"{name}: {outcome}"


LISTING_NOTE = (
    "note: storage is {url}: each server process keeps its own breakers, so this is this "
    "command's fresh copy, not your servers' state; see the app's dashboard for theirs, or "
    "configure shared storage (redis://...)."
)


def prepare_listing(registry: Registry) -> str | None:
    """Get a command's registry ready to list; return the note to print, if any.

    A fresh process learns shared state only at its storage's first sync, which
    requests never wait for: a command syncs first and never shows a guess. With
    memory storage the listing is the command's own breakers, which the note says.

    Raises:
        ActionError: shared storage does not answer.
    """
    storage = registry.storage
    if not storage.sync_now():
        raise ActionError(
            UNREACHABLE.format(url=_safe(storage.url), what="cannot show the shared state")
        )
    return None if storage.shared else LISTING_NOTE.format(url=_safe(storage.url))


def _safe(url: str) -> str:
    """A storage URL without credentials or query."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path if parts.scheme == 'unix' else ''}"
