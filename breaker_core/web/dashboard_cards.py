"""The dashboard's cards: one per breaker, its action buttons, and the breakers per key.

:func:`card` renders one entry of the status document (see
:mod:`breaker_core.ops.status`) as the page first shows it (its script updates
the figures afterwards); :func:`forms` its state-changing buttons, each a POST
asking for confirmation; :func:`keyed_sections` a summary and cards per
dependency of breakers per key.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import html
from typing import Any

from breaker_core.ops.actions import ACTIONS
from breaker_core.web.history_view import HISTORY_FIGURE

__all__ = ["card", "forms", "keyed_sections"]

_BUTTONS = (
    ("open", "Force open"),
    ("disable", "Disable"),
    ("metrics-only", "Metrics only"),
    ("reset", "Reset"),
)


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value else "-"


def _limits(entry: dict[str, Any]) -> tuple[str, str]:
    limits = entry.get("thresholds") or {}
    trips = []
    if limits.get("failure_threshold") is not None:
        trips.append(f"{limits['failure_threshold']} failures")
    if limits.get("failure_rate") is not None:
        trips.append(f"{limits['failure_rate']:.0%} of {limits['minimum_calls']}+ calls")
    window = f" in {limits['window']:g}s" if limits.get("window") else ""
    rate = f"trips at {' or '.join(trips)}{window}" if trips else ""
    slow = limits.get("slow_call_duration")
    return rate, (f"slower than {slow:g}s" if slow else "no slow-call limit")


def card(entry: dict[str, Any], actions: str) -> str:
    """One breaker's card: state, window figures, limits, last transitions, then ``actions``."""
    name = html.escape(str(entry["name"]), quote=True)
    state = html.escape(str(entry["state"]))
    in_flight = (
        "-" if entry["in_flight"] is None else f"{entry['in_flight']} / {entry['max_concurrent']}"
    )
    rate_limit, slow_limit = _limits(entry)
    transitions = "".join(
        f"<li>{html.escape(t['from'].replace('_', ' '))} &rarr; "
        f"{html.escape(t['to'].replace('_', ' '))} ({html.escape(t['reason'])})"
        f"{' at ' + html.escape(t['at'][11:19]) if 'at' in t else ''}</li>"
        for t in entry.get("transitions", [])[:5]
    )
    shared = entry.get("shared")
    hidden = "" if shared and shared.get("healthy") is False else " hidden"
    return (
        f'<section class="card" data-name="{name}">'
        f'<header><h2>{name}</h2><span class="state {state}">{state.replace("_", " ")}'
        "</span></header>"
        f'<p class="warn shared"{hidden}>Redis is unreachable: this process runs on its own.</p>'
        "<dl>"
        f'<div><dt>Failures / calls</dt><dd class="failures">{entry["failures"]} / '
        f"{entry['calls']}</dd></div>"
        f'<div><dt>Failure rate</dt><dd><span class="rate">{entry["failure_rate"]:.0%}</span> '
        f"<small>{html.escape(rate_limit)}</small></dd></div>"
        f'<div><dt>Slow calls</dt><dd><span class="slow">{entry["slow_call_rate"]:.0%}</span> '
        f"<small>{html.escape(slow_limit)}</small></dd></div>"
        f'<div><dt>In flight</dt><dd class="inflight">{in_flight}</dd></div>'
        f'<div><dt>Since last change</dt><dd class="since">{_seconds(entry["since_change"])}'
        "</dd></div>"
        f'<div><dt>Next probe in</dt><dd class="retry">{_seconds(entry["retry_after"])}</dd>'
        "</div></dl>"
        f"{HISTORY_FIGURE if 'history' in entry else ''}"
        f'<ol class="transitions">{transitions}</ol>'
        f'<div class="actions">{actions}</div>'
        "</section>"
    )


def _summary(keys: dict[str, Any]) -> str:
    states = ", ".join(
        f"{count} {state.replace('_', ' ')}" for state, count in sorted(keys["states"].items())
    )
    return (
        f"{keys['kept']} kept (at most {keys['max_keys']}): {states or 'none'}; "
        f"{keys['evictions']} evicted; {keys['hidden']} not shown"
    )


def keyed_sections(document: dict[str, Any]) -> str:
    """Breakers per key: a summary per dependency and cards for those worth showing."""
    sections = []
    for keys in document.get("keys", []):
        dependency = html.escape(str(keys["dependency"]), quote=True)
        cards = "\n".join(card(entry, "") for entry in keys["breakers"])
        sections.append(
            f'<section class="keyed" data-keys="{dependency}"><h2>{dependency}: breakers per '
            f'key</h2><p class="note summary">{html.escape(_summary(keys))}</p>'
            f'<div class="cards">{cards}</div></section>'
        )
    return "".join(sections)


def forms(name: str, action_url: str, csrf: tuple[str, str] | None) -> str:
    """The buttons of breaker ``name``: a POST form each to ``action_url``, with the CSRF field."""
    hidden = ""
    if csrf is not None:
        hidden = (
            f'<input type="hidden" name="{html.escape(csrf[0], quote=True)}" '
            f'value="{html.escape(csrf[1], quote=True)}">'
        )
    buttons = []
    for action, label in _BUTTONS:
        question = f"{label} {name}? The dependency will be {ACTIONS[action][1]}."
        buttons.append(
            f'<form method="post" action="{html.escape(action_url, quote=True)}" '
            f'data-confirm="{html.escape(question, quote=True)}">'
            f'{hidden}<input type="hidden" name="name" value="{html.escape(name, quote=True)}">'
            f'<input type="hidden" name="action" value="{action}">'
            f'<button type="submit" data-action="{action}">{label}</button></form>'
        )
    return "".join(buttons)
