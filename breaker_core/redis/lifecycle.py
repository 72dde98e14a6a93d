"""Every live Redis storage across forks and at exit: no sync is half done when the
process forks, a forked child starts its own connection and worker, and the
interpreter's exit flushes the counts.

The hooks are registered once, when this module is first imported (by
:mod:`breaker_core.redis.storage`).

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Protocol

__all__ = ["Tracked", "track"]


class Tracked(Protocol):
    """What a storage does around a fork and at exit (``RedisStorage``)."""

    def hold_syncs(self) -> None: ...

    def release_syncs(self) -> None: ...

    def forked(self) -> None: ...

    def close(self) -> None: ...


# By identity: storages compare equal by URL (``Registry.reconfigure`` relies on it),
# yet two registries on one URL each have their own storage, worker and connection.
# A set would keep only the first of them and leave the others unhooked: no worker
# in a forked child (never rejoining), the parent's socket, no flush at exit.
_STORAGES: weakref.WeakValueDictionary[int, Tracked] = weakref.WeakValueDictionary()
_held: list[Tracked] = []


def track(storage: Tracked) -> None:
    """Hold ``storage`` safe across forks and flush it at exit, while it lives
    (every storage, however it compares with another)."""
    _STORAGES[id(storage)] = storage


def _before_fork() -> None:
    # No sync is half done when the process forks (the worker holds the machines'
    # locks for a moment while it swaps out their counts).
    _held[:] = list(_STORAGES.values())
    for storage in _held:
        storage.hold_syncs()


def _after_fork_in_parent() -> None:
    for storage in _held:
        storage.release_syncs()
    _held.clear()


def _after_fork_in_child() -> None:
    _held.clear()
    for storage in list(_STORAGES.values()):
        storage.forked()


def _close_all() -> None:
    for storage in list(_STORAGES.values()):
        storage.close()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)
atexit.register(_close_all)
