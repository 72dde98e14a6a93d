"""The dashboard's constant style and script, and the security headers that allow exactly them.

:data:`STYLE` and :data:`SCRIPT` are the page's only CSS and JavaScript (the
history chart's own parts come from :mod:`breaker_core.web.history_view`);
:data:`CONTENT_SECURITY_POLICY` names them by hash, so nothing else inline runs.
:data:`SECURITY_HEADERS` go on every dashboard response in all three frameworks.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import base64
import hashlib

from breaker_core.web.history_view import HISTORY_SCRIPT, HISTORY_STYLE

__all__ = ["CONTENT_SECURITY_POLICY", "SCRIPT", "SECURITY_HEADERS", "STYLE"]

STYLE = (
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

SCRIPT = (
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
    f"default-src 'none'; script-src {_sha256(SCRIPT)}; style-src {_sha256(STYLE)}; "
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
