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
Storage URLs are reduced to their scheme: credentials and host names are never
shown. New keys may be added within a schema version; a key is never removed or
changed in meaning without a new version.
"""

from __future__ import annotations

import datetime
import time
import urllib.parse
from typing import Any

from breaker_core.registry import Registry

__all__ = ["SCHEMA", "status_document"]

SCHEMA = "breakerpanel.status/1"
"""The schema identifier of :func:`status_document`."""


def _iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def status_document(registry: Registry, *, wall_clock: float | None = None) -> dict[str, Any]:
    """Return the status of every breaker of ``registry`` as a JSON-ready dict."""
    now = time.time() if wall_clock is None else wall_clock
    breakers = []
    for breaker in registry.breakers():
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
        breakers.append(entry)
    return {
        "schema": SCHEMA,
        "generated_at": _iso(now),
        "storage": {
            "scheme": urllib.parse.urlsplit(registry.storage.url).scheme,
            "shared": registry.storage.shared,
        },
        "breakers": breakers,
    }
