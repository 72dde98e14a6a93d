"""The JSON status document served by every integration (schema ``breakerpanel.status/1``).

```json
{"schema": "breakerpanel.status/1",
 "generated_at": "2026-11-26T19:20:00Z",
 "storage": {"scheme": "memory", "shared": false},
 "breakers": [{"name": "inventory", "state": "closed", "calls": 12, "...": "..."}]}
```

Each breaker entry is its :meth:`~breaker_core.CircuitBreaker.snapshot` plus
``changed_at`` (wall-clock ISO time of the last transition, also added as
``at`` to each of the recent ``transitions``), ``thresholds`` and ``routes``;
``opened_at`` is given as a wall-clock ISO time too (the snapshot's is a reading
of the breaker's clock, which means nothing outside the process).
Declared breakers also carry ``history``: their last five minutes in
10-second points, per minute and in total (:meth:`CircuitBreaker.history`).
``process`` says which process answered (``pid``): the history counts that
process's calls only, and with memory storage its breakers are its own, so
another process of the same server may answer differently.
``keys`` lists the dependencies that have breakers per key
(``registry.for_key``): how many are kept (``kept``, ``max_keys``,
``evictions``), how many are in each state (``states``), and at most
``key_entries`` of them in ``breakers`` (same entries, plus ``dependency`` and
``key``; those not closed first), ``hidden`` counting the rest, so the
document stays small however many keys there are.
Storage URLs are reduced to their scheme: credentials and host names are never
shown. New keys may be added within a schema version; a key is never removed or
changed in meaning without a new version.

Layer: ops. Imports the engine only.
"""

from __future__ import annotations

import datetime
import os
import time
import urllib.parse
from typing import Any

from breaker_core.breaker import CircuitBreaker
from breaker_core.keyed import split_key_name
from breaker_core.registry import Registry

__all__ = ["KEY_ENTRIES", "SCHEMA", "status_document"]

KEY_ENTRIES = 20
"""Breakers per key listed per dependency in the status document by default."""

SCHEMA = "breakerpanel.status/1"
"""The schema identifier of :func:`status_document`."""


def _iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _entry(breaker: CircuitBreaker, registry: Registry, now: float) -> dict[str, Any]:
    entry = breaker.snapshot()
    config = breaker.config
    entry["changed_at"] = _iso(now - entry["since_change"])
    if entry["opened_at"] is not None:
        entry["opened_at"] = _iso(now - max(0.0, registry.clock() - entry["opened_at"]))
    for transition in entry["transitions"]:
        transition["at"] = _iso(now - transition["ago"])
    entry["thresholds"] = {
        "failure_threshold": config.failure_threshold,
        "failure_rate": config.failure_rate,
        "minimum_calls": config.minimum_calls,
        "window": config.window,
        "slow_call_duration": config.slow_call_duration,
        "reset_timeout": config.reset_timeout,
    }
    entry["routes"] = list(config.routes)
    return entry


def _declared(breaker: CircuitBreaker, registry: Registry, now: float) -> dict[str, Any]:
    entry = _entry(breaker, registry, now)
    entry["history"] = breaker.history()
    return entry


def _keys(registry: Registry, now: float, limit: int) -> list[dict[str, Any]]:
    found = []
    for name in registry.names:
        keyed = registry.keyed(name)
        if keyed is None:
            continue
        shown, hidden = keyed.shown(limit)
        entries = []
        for breaker in shown:
            entry = _entry(breaker, registry, now)
            entry["dependency"], entry["key"] = split_key_name(breaker.name)
            entries.append(entry)
        found.append(
            {
                "dependency": name,
                "kept": len(keyed),
                "max_keys": keyed.limit,
                "evictions": keyed.evictions,
                "states": keyed.state_counts(),
                "breakers": entries,
                "hidden": hidden,
            }
        )
    return found


def status_document(
    registry: Registry, *, wall_clock: float | None = None, key_entries: int = KEY_ENTRIES
) -> dict[str, Any]:
    """Return the status of every breaker of ``registry`` as a JSON-ready dict.

    ``key_entries``: breakers per key listed per dependency (the rest are counted).
    """
    now = time.time() if wall_clock is None else wall_clock
    return {
        "schema": SCHEMA,
        "generated_at": _iso(now),
        "process": {"pid": os.getpid()},
        "storage": {
            "scheme": urllib.parse.urlsplit(registry.storage.url).scheme,
            "shared": registry.storage.shared,
        },
        "breakers": [_declared(breaker, registry, now) for breaker in registry.breakers()],
        "keys": _keys(registry, now, key_entries),
    }
