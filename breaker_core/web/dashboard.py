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

import base64
import hashlib
import html
import json
from typing import Any

from breaker_core.ops.actions import ACTIONS
from breaker_core.web.history_view import (
    HISTORY_FIGURE,
    HISTORY_SCRIPT,
    HISTORY_STYLE,
    initial_histories,
)

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "render_dashboard"]

_BUTTONS = (
    ("open", "Force open"),
    ("disable", "Disable"),
    ("metrics-only", "Metrics only"),
    ("reset", "Reset"),
)

_STYLE = (
    """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; background: #f5f5f7; }
h1 { margin: 0 0 .3rem; } .note { color: #555; font-size: .9rem; margin: 0 0 1rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(21rem, 1fr)); gap: 1rem; }
.card { background: #fff; border-radius: .8rem; padding: 1rem 1.1rem; box-shadow: 0 1px 3px #0002; }
.card header { display: flex; justify-content: space-between; align-items: center; }
.card h2 { font-size: 1.15rem; margin: 0; word-break: break-all; }
.state { font-weight: 700; padding: .2rem .65rem; border-radius: 1rem; white-space: nowrap; }
.closed { background: #d9f2e3; color: #11643a; }
.open, .forced_open { background: #fbd9d7; color: #9b1c14; }
.half_open { background: #fdf0c8; color: #7a5a00; }
.disabled, .metrics_only { background: #e5e5ea; color: #3a3a3c; }
dl { display: grid; grid-template-columns: 1fr 1fr; gap: .35rem .8rem; margin: .8rem 0; }
dt { font-size: .72rem; text-transform: uppercase; color: #777; } dd { margin: 0; }
small { color: #777; }
.transitions { margin: .6rem 0; padding-left: 1.1rem; font-size: .85rem; color: #333; }
.actions form { display: inline; } .actions button { margin: .15rem .2rem .15rem 0; }
.warn { background: #fdf0c8; padding: .4rem .6rem; border-radius: .4rem; font-size: .85rem; }
.keyed { margin-top: 1.5rem; } .keyed h2 { font-size: 1.2rem; margin: 0 0 .2rem; }
"""
    + HISTORY_STYLE
)

_SCRIPT = (
    """
(function () {
  var config = JSON.parse(document.getElementById("breakerpanel-config").textContent);
  function secs(x) { return x ? x.toFixed(1) + "s" : "-"; }
  function pct(x) { return Math.round(x * 100) + "%"; }
  function text(card, cls, value) {
    var el = card.querySelector("." + cls);
    if (el) el.textContent = value;
  }
  function cardOf(name) {
    return document.querySelector('[data-name="' + CSS.escape(name) + '"]');
  }
"""
    + HISTORY_SCRIPT
    + """  function show(b) {
    var card = cardOf(b.name);
    if (!card) return;
    var state = card.querySelector(".state");
    state.className = "state " + b.state;
    state.textContent = b.state.replace("_", " ");
    text(card, "failures", b.failures + " / " + b.calls);
    text(card, "rate", pct(b.failure_rate));
    text(card, "slow", pct(b.slow_call_rate));
    text(card, "inflight", b.in_flight === null ? "-" : b.in_flight + " / " + b.max_concurrent);
    text(card, "since", secs(b.since_change));
    text(card, "retry", secs(b.retry_after));
    var list = card.querySelector(".transitions");
    if (list) {
      list.innerHTML = "";
      b.transitions.slice(0, 5).forEach(function (t) {
        var li = document.createElement("li");
        li.textContent = t.from.replace("_", " ") + " \\u2192 " + t.to.replace("_", " ") +
          " (" + t.reason + ") at " + t.at.slice(11, 19);
        list.appendChild(li);
      });
    }
    var warn = card.querySelector(".shared");
    if (warn) warn.hidden = !(b.shared && b.shared.healthy === false);
    if (b.history) drawHistory(card, b.history);
  }
  function summary(k) {
    var states = Object.keys(k.states).sort().map(function (s) {
      return k.states[s] + " " + s.replace("_", " ");
    });
    return k.kept + " kept (at most " + k.max_keys + "): " + (states.join(", ") || "none") +
      "; " + k.evictions + " evicted; " + k.hidden + " not shown";
  }
  function update(doc) {
    document.getElementById("updated").textContent = doc.generated_at;
    if (doc.process) document.getElementById("pid").textContent = String(doc.process.pid);
    doc.breakers.forEach(show);
    (doc.keys || []).forEach(function (k) {
      k.breakers.forEach(show);
      var box = document.querySelector('[data-keys="' + CSS.escape(k.dependency) + '"] .summary');
      if (box) box.textContent = summary(k);
    });
  }
  function refresh() {
    var options = {headers: {"Accept": "application/json"}, credentials: "same-origin"};
    fetch(config.status_url, options)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) { if (doc) update(doc); })
      .catch(function () {});
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  Object.keys(config.histories).forEach(function (name) {
    var card = cardOf(name);
    if (card) drawHistory(card, config.histories[name]);  // the past minutes, at once
  });
  refresh();
  setInterval(refresh, config.interval_ms);
})();
"""
)


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src {_sha256(_SCRIPT)}; style-src {_sha256(_STYLE)}; "
    "connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
"""The dashboard's own strict policy: its constant script and style by hash, nothing inline else."""

SECURITY_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store, private",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The same policy, report-only: a site-wide report-only policy added by middleware that
    # leaves existing headers alone (Django 6's) does not report the dashboard's script.
    "Content-Security-Policy-Report-Only": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
"""The headers of every dashboard response (page, JSON status, actions, refusals), in all three
frameworks. They replace the site's own values for these names."""


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


def _card(entry: dict[str, Any], actions: str) -> str:
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


def _keyed_sections(document: dict[str, Any]) -> str:
    """Breakers per key: a summary per dependency and cards for those worth showing."""
    sections = []
    for keys in document.get("keys", []):
        dependency = html.escape(str(keys["dependency"]), quote=True)
        cards = "\n".join(_card(entry, "") for entry in keys["breakers"])
        sections.append(
            f'<section class="keyed" data-keys="{dependency}"><h2>{dependency}: breakers per '
            f'key</h2><p class="note summary">{html.escape(_summary(keys))}</p>'
            f'<div class="cards">{cards}</div></section>'
        )
    return "".join(sections)


def _forms(name: str, action_url: str, csrf: tuple[str, str] | None) -> str:
    hidden = ""
    if csrf is not None:
        hidden = (
            f'<input type="hidden" name="{html.escape(csrf[0], quote=True)}" '
            f'value="{html.escape(csrf[1], quote=True)}">'
        )
    forms = []
    for action, label in _BUTTONS:
        question = f"{label} {name}? The dependency will be {ACTIONS[action][1]}."
        forms.append(
            f'<form method="post" action="{html.escape(action_url, quote=True)}" '
            f'data-confirm="{html.escape(question, quote=True)}">'
            f'{hidden}<input type="hidden" name="name" value="{html.escape(name, quote=True)}">'
            f'<input type="hidden" name="action" value="{action}">'
            f'<button type="submit" data-action="{action}">{label}</button></form>'
        )
    return "".join(forms)


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
        _card(entry, _forms(str(entry["name"]), action_url, csrf) if action_url else "")
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
        f"<style>{_STYLE}</style></head><body>"
        f'<h1>Breakers</h1><p class="note">Updated <span id="updated">'
        f"{html.escape(str(document['generated_at']))}</span> by process "
        f'<span id="pid">{pid}</span>. {html.escape(note)}</p>'
        f'<main class="cards">{cards or "<p>No dependencies are declared.</p>"}</main>'
        f"{_keyed_sections(document)}"
        '<script type="application/json" id="breakerpanel-config">'
        f"{config.replace('<', chr(92) + 'u003c')}</script>"
        f"<script>{_SCRIPT}</script></body></html>"
    )
