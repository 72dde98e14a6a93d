"""The dashboard's view of the last five minutes: a chart per card and a table per minute.

The status document carries each breaker's history, kept on the server
(:meth:`CircuitBreaker.history`), so the page shows the past minutes as soon
as it loads, whoever opened it when. The page embeds the histories it was
rendered with and :data:`HISTORY_SCRIPT` draws them at once, then again from
every polled document. Only numbers reach the chart's markup; the table is
filled with ``textContent``.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HISTORY_FIGURE", "HISTORY_SCRIPT", "HISTORY_STYLE", "initial_histories"]

HISTORY_FIGURE = (
    '<figure class="history"><figcaption>Last 5 minutes <small>(10-second bars: '
    '<span class="key ok">ran</span> <span class="key failed">failed</span> '
    '<span class="key rejected">rejected</span>)</small></figcaption>'
    '<svg class="chart" viewBox="0 0 300 60" preserveAspectRatio="none" role="img" '
    'aria-label="calls, failures and rejections over the last five minutes"></svg>'
    '<table class="minutes"><thead><tr><th></th><th>calls</th><th>failed</th><th>slow</th>'
    "<th>rejected</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th></tr></thead><tbody></tbody>"
    "</table></figure>"
)
"""The empty chart and table of a card, filled by :data:`HISTORY_SCRIPT`."""

HISTORY_STYLE = """
.history { margin: .6rem 0; } .history figcaption { font-size: .8rem; color: #555; }
.chart { width: 100%; height: 60px; background: #fafafa; display: block; }
.chart .ok, .key.ok { fill: #9db8e0; background: #9db8e0; }
.chart .failed, .key.failed { fill: #d9534f; background: #d9534f; }
.chart .rejected, .key.rejected { fill: #a0a0a8; background: #a0a0a8; }
.key { padding: 0 .3rem; color: #fff; border-radius: .2rem; }
.minutes { width: 100%; border-collapse: collapse; font-size: .75rem; margin-top: .3rem; }
.minutes th, .minutes td { text-align: right; padding: .05rem .25rem; }
.minutes tbody th { text-align: left; font-weight: 400; color: #555; white-space: nowrap; }
.minutes tr.total { border-top: 1px solid #ccc; font-weight: 600; }
"""

HISTORY_SCRIPT = """
  function ms(x) {
    if (x === null || x === undefined) return "-";
    var v = x * 1000;
    return v < 10 ? v.toFixed(1) : String(Math.round(v));
  }
  function bar(cls, x, y, w, h, label) {
    return '<rect class="' + cls + '" x="' + x.toFixed(2) + '" y="' + y.toFixed(2) +
      '" width="' + w.toFixed(2) + '" height="' + h.toFixed(2) + '"><title>' + label +
      "</title></rect>";
  }
  function row(body, label, m, cls) {
    var tr = document.createElement("tr");
    if (cls) tr.className = cls;
    var cells = [label, m.calls, m.calls ? Math.round(100 * m.failures / m.calls) + "%" : "-",
                 m.slow_calls, m.rejections, ms(m.p50), ms(m.p90), ms(m.p99)];
    cells.forEach(function (value, i) {
      var cell = document.createElement(i ? "td" : "th");
      cell.textContent = String(value);
      tr.appendChild(cell);
    });
    body.appendChild(tr);
  }
  function drawHistory(card, h) {
    var svg = card.querySelector(".chart"), body = card.querySelector(".minutes tbody");
    if (!svg || !body || !h) return;
    var n = h.points.length, w = 300 / Math.max(n, 1), out = "";
    var max = Math.max.apply(null, h.points.map(function (p) {
      return p.calls + p.rejections;
    }).concat([1]));
    h.points.forEach(function (p, i) {
      var x = i * w, y = 60, label = Math.round(p.ago) + " s ago: " + p.calls + " calls, " +
        p.failures + " failed, " + p.rejections + " rejected";
      [["ok", p.calls - p.failures], ["failed", p.failures], ["rejected", p.rejections]]
        .forEach(function (part) {
          var height = 58 * part[1] / max;
          if (height > 0) {
            y -= height;
            out += bar(part[0], x, y, Math.max(w - 1, 0.5), height, label);
          }
        });
    });
    svg.innerHTML = out;
    body.innerHTML = "";
    var count = h.minutes.length;
    h.minutes.forEach(function (m, i) {
      var back = count - i;
      row(body, back === 1 ? "last minute" : (back - 1) + "\\u2013" + back + " min ago", m, "");
    });
    row(body, "5 minutes", h.total, "total");
  }
"""
"""Functions of the dashboard's script (it calls ``drawHistory(card, history)``)."""


def initial_histories(document: dict[str, Any]) -> dict[str, Any]:
    """``{name: history}`` of the document's breakers, embedded for the first drawing."""
    return {
        str(entry["name"]): entry["history"] for entry in document["breakers"] if "history" in entry
    }
