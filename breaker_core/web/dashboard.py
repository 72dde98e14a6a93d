"""The dashboard page, written once and served by every integration.

:func:`render_dashboard` returns a complete HTML page (inline CSS and a little
JavaScript, no CDN, no build step): a card per dependency with its state in
colour and words, failures and calls in the window, the failure and slow-call
rates against their thresholds, time since the last transition and until the
next probe, the last five minutes kept on the server (a chart of 10-second
bars and a table per minute: calls, failures, slow calls, rejections, latency
percentiles; see :mod:`breaker_core.web.history_view`), and the last
transitions with their reason. The page names the process that answered.
Breakers per key follow, per dependency: how many are kept and in which
states, and cards for the few the status document lists (those not closed
first; no buttons). It updates itself by polling the JSON status endpoint.
When the viewer may change state, each card has buttons that POST ``name``
and ``action`` (plus the framework's CSRF field) to ``action_url``, each
asking for confirmation first.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import html
import json
from typing import Any

from breaker_core.web.dashboard_assets import (
    CONTENT_SECURITY_POLICY,
    SCRIPT,
    SECURITY_HEADERS,
    STYLE,
)
from breaker_core.web.dashboard_cards import card, forms, keyed_sections
from breaker_core.web.history_view import initial_histories

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "render_dashboard"]


def render_dashboard(
    document: dict[str, Any],
    *,
    status_url: str,
    action_url: str | None = None,
    csrf: tuple[str, str] | None = None,
    interval: float = 2.0,
) -> str:
    """Render the dashboard for a status ``document`` (see :mod:`breaker_core.ops.status`).

    ``action_url`` (None: read-only) receives the state-changing POSTs, with
    the ``csrf`` field ``(name, token)`` the framework checks.
    """
    storage = document["storage"]
    note = (
        "State is shared by every process; the last minutes count this process's calls only."
        if storage["shared"]
        else "State is kept in memory by each server process: this page shows, and its "
        "buttons change, only the process that serves it; another process may show "
        "different figures."
    )
    pid = html.escape(str(document.get("process", {}).get("pid", "?")))
    cards = "\n".join(
        card(entry, forms(str(entry["name"]), action_url, csrf) if action_url else "")
        for entry in document["breakers"]
    )
    config = json.dumps(
        {
            "status_url": status_url,
            "interval_ms": int(interval * 1000),
            "histories": initial_histories(document),
        }
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Breakers</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>"
        f'<h1>Breakers</h1><p class="note">Updated <span id="updated">'
        f"{html.escape(str(document['generated_at']))}</span> by process "
        f'<span id="pid">{pid}</span>. {html.escape(note)}</p>'
        f'<main class="cards">{cards or "<p>No dependencies are declared.</p>"}</main>'
        f"{keyed_sections(document)}"
        '<script type="application/json" id="breakerpanel-config">'
        f"{config.replace('<', chr(92) + 'u003c')}</script>"
        f"<script>{SCRIPT}</script></body></html>"
    )
