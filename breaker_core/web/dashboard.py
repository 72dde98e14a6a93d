"""The dashboard page, written once and served by every integration.

:func:`render_dashboard` returns a complete HTML page (inline CSS and a little
JavaScript, no CDN, no build step) listing every breaker with its state and
figures. It refreshes itself by polling the JSON status endpoint. When the
viewer may change state, each breaker gets buttons that POST
``name`` and ``action`` (plus the framework's CSRF field) to ``action_url``,
each asking for confirmation first.
"""

from __future__ import annotations

import html
import json
from typing import Any

from breaker_core.web.actions import ACTIONS

__all__ = ["render_dashboard"]

_BUTTONS = (
    ("open", "Force open"),
    ("disable", "Disable"),
    ("metrics-only", "Metrics only"),
    ("reset", "Reset"),
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Breakers</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #ddd; }}
th {{ font-size: .8rem; text-transform: uppercase; color: #666; }}
.state {{ font-weight: 600; padding: .15rem .5rem; border-radius: .6rem; }}
.closed {{ background: #d9f2e3; color: #11643a; }}
.open, .forced_open {{ background: #fbd9d7; color: #9b1c14; }}
.half_open {{ background: #fdf0c8; color: #7a5a00; }}
.disabled, .metrics_only {{ background: #e5e5ea; color: #3a3a3c; }}
form {{ display: inline; }} button {{ margin-right: .25rem; }}
.note {{ color: #666; font-size: .9rem; }}
</style></head>
<body>
<h1>Breakers</h1>
<p class="note">Updated <span id="updated">{generated_at}</span>. {note}</p>
<table>
<thead><tr><th>Dependency</th><th>State</th><th>Failures / calls</th><th>Failure rate</th>
<th>Slow calls</th><th>In flight</th><th>Since change</th><th>Retry in</th>{action_head}
</tr></thead>
<tbody>
{rows}
</tbody></table>
<script type="application/json" id="breakerbox-config">{config}</script>
<script>
(function () {{
  var config = JSON.parse(document.getElementById("breakerbox-config").textContent);
  function fmt(seconds) {{ return seconds ? seconds.toFixed(1) + "s" : "-"; }}
  function pct(x) {{ return Math.round(x * 100) + "%"; }}
  function refresh() {{
    var options = {{headers: {{"Accept": "application/json"}}, credentials: "same-origin"}};
    fetch(config.status_url, options)
      .then(function (r) {{ return r.ok ? r.json() : null; }})
      .then(function (doc) {{
        if (!doc) return;
        document.getElementById("updated").textContent = doc.generated_at;
        doc.breakers.forEach(function (b) {{
          var row = document.querySelector('tr[data-name="' + CSS.escape(b.name) + '"]');
          if (!row) return;
          var state = row.querySelector(".state");
          state.className = "state " + b.state;
          state.textContent = b.state.replace("_", " ");
          row.querySelector(".failures").textContent = b.failures + " / " + b.calls;
          row.querySelector(".rate").textContent = pct(b.failure_rate);
          row.querySelector(".slow").textContent = pct(b.slow_call_rate);
          row.querySelector(".inflight").textContent =
            b.in_flight === null ? "-" : b.in_flight + " / " + b.max_concurrent;
          row.querySelector(".since").textContent = fmt(b.since_change);
          row.querySelector(".retry").textContent = fmt(b.retry_after);
        }});
      }})
      .catch(function () {{}});
  }}
  setInterval(refresh, config.interval_ms);
}})();
</script>
</body></html>
"""


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value else "-"


def _row(entry: dict[str, Any], actions: str) -> str:
    state = str(entry["state"])
    in_flight = (
        "-" if entry["in_flight"] is None else f"{entry['in_flight']} / {entry['max_concurrent']}"
    )
    cells = [
        f"<td>{html.escape(str(entry['name']))}</td>",
        f'<td><span class="state {html.escape(state)}">{html.escape(state.replace("_", " "))}'
        "</span></td>",
        f'<td class="failures">{entry["failures"]} / {entry["calls"]}</td>',
        f'<td class="rate">{entry["failure_rate"]:.0%}</td>',
        f'<td class="slow">{entry["slow_call_rate"]:.0%}</td>',
        f'<td class="inflight">{in_flight}</td>',
        f'<td class="since">{_seconds(entry["since_change"])}</td>',
        f'<td class="retry">{_seconds(entry["retry_after"])}</td>',
    ]
    if actions:
        cells.append(f"<td>{actions}</td>")
    name = html.escape(str(entry["name"]), quote=True)
    return f'<tr data-name="{name}">' + "".join(cells) + "</tr>"


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
            f"onsubmit='return confirm({html.escape(json.dumps(question), quote=True)})'>"
            f'{hidden}<input type="hidden" name="name" value="{html.escape(name, quote=True)}">'
            f'<input type="hidden" name="action" value="{action}">'
            f'<button type="submit">{label}</button></form>'
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
    """Render the dashboard for a status ``document`` (see :mod:`breaker_core.web.status`).

    ``action_url`` (None: read-only) receives the state-changing POSTs, with
    the ``csrf`` field ``(name, token)`` the framework checks.
    """
    storage = document["storage"]
    note = (
        "State is shared by every process."
        if storage["shared"]
        else "State is kept in memory by each server process: this page shows, and its "
        "buttons change, only the process that serves it."
    )
    rows = "\n".join(
        _row(entry, _forms(str(entry["name"]), action_url, csrf) if action_url else "")
        for entry in document["breakers"]
    )
    config = json.dumps({"status_url": status_url, "interval_ms": int(interval * 1000)})
    return _PAGE.format(
        generated_at=html.escape(str(document["generated_at"])),
        note=html.escape(note),
        action_head="<th>Actions</th>" if action_url else "",
        rows=rows or '<tr><td colspan="8">No dependencies are declared.</td></tr>',
        config=config.replace("<", "\\u003c"),
    )
