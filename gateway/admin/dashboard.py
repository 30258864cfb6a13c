"""`/dashboard`: the live status page for people, beside Kannel's `status.html` for scripts.

Kannel's status page answers "is it up?"; an operator at 3 a.m. needs "is it keeping up?":
link states, queue depth and the age of the oldest message per lane, rates, the spool's use
against its cap, DLR store size, callback retries, CPU and memory, and their trend.

One static HTML page, no build step and no external asset (the admin port is often reachable
only from a bastion without internet): a little JavaScript fetches `status.json` (the same
snapshot `/metrics` reads, gateway/status.py) every 2 s, fills the page, and keeps the last
five minutes of a few figures in the browser for small inline SVG charts. The server keeps
nothing for it. Every key is optional: a section whose keys are missing shows `—`, and
top-level keys the page does not know are listed as they are, so a newer status.json never
breaks an older page. The keys it reads are listed in docs/admin.md.

The page passes its own query string on to status.json, so `/dashboard?password=…` works
when status-password is set (the admin resource checks it before serving this page).
"""

from __future__ import annotations

from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request

#: What the page reads, with every key it knows (all optional): the shape documented in
#: docs/admin.md, and what the screenshot and the browser test serve.
EXAMPLE_STATUS: dict[str, Any] = {
    "time": 1795248319.0,
    "version": "0.1.0",
    "encoder": "c",
    "state": "running",
    "uptime_seconds": 93784,
    "queue": {
        "kind": "spool",
        "durable": True,
        "queued": 1834,
        "in_flight": 32,
        "bytes_used": 412_316_860,
        "max_bytes": 1024**3,
        "lanes": {
            "0": {"depth": 1650, "oldest_age_seconds": 41.2},
            "1": {"depth": 120, "oldest_age_seconds": 3.5},
            "2": {"depth": 60, "oldest_age_seconds": 0.8},
            "3": {"depth": 4, "oldest_age_seconds": 0.1},
        },
    },
    "smsc": [
        {"smsc_id": "operator-a", "status": "online 86400s", "online": True, "window": 10,
         "waiting": 3, "sent": 1_204_332, "failed": 87, "queued": 3},
        {"smsc_id": "operator-b", "status": "online 3600s", "online": True, "window": 10,
         "waiting": 0, "sent": 310_877, "failed": 12, "queued": 0},
        {"smsc_id": "backup", "status": "re-connecting", "online": False, "window": 0,
         "waiting": 0, "sent": 0, "failed": 0, "queued": 0},
    ],
    "rates": {
        "windows": ["1 min", "5 min", "15 min"],
        "sms_in": [412.5, 398.1, 350.7],
        "sms_out": [405.9, 396.4, 349.2],
        "dlr_in": [380.2, 371.0, 322.8],
        "dlr_out": [379.8, 370.5, 322.1],
    },
    "dlr": {"kind": "internal", "stored": 51_207, "max_entries": 1_000_000},
    "callbacks": {"pending": 14, "retrying": 3, "dead_letter": 0},
    "process": {"pid": 4242, "rss_bytes": 157_286_400, "cpu_seconds": 1234.5},
}

#: How often the page refreshes, in milliseconds.
REFRESH_MS = 2000
#: Points kept per chart in the browser (5 minutes at 2 s).
HISTORY_POINTS = 150

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Passerelle — live status</title>
<style>
:root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --fg: #1f2328; --muted: #656d76;
        --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
       margin: 0; background: var(--bg); }
header { background: #24292f; color: #fff; padding: 10px 20px; display: flex; gap: 24px;
         align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header .meta { color: #d0d7de; }
main { padding: 16px 20px; display: grid; gap: 16px;
       grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px;
          padding: 12px 14px; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
     margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line);
         font-variant-numeric: tabular-nums; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; }
.big { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kv { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; }
.kv span:nth-child(odd) { color: var(--muted); }
.bar { height: 8px; background: var(--line); border-radius: 4px; overflow: hidden;
       margin: 4px 0 8px; }
.bar > div { height: 100%; background: var(--ok); width: 0; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%;
       background: var(--muted); margin-right: 6px; }
.dot.ok { background: var(--ok); } .dot.bad { background: var(--bad); }
.dot.warn { background: var(--warn); }
#conn.bad { color: #ff8182; }
svg.chart { width: 100%; height: 60px; display: block; }
svg.chart polyline { fill: none; stroke: #0969da; stroke-width: 1.5; }
svg.chart .b polyline { stroke: #8250df; }
.legend { color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>Passerelle</h1>
  <span class="meta">state <b data-key="state">—</b></span>
  <span class="meta">uptime <b data-key="uptime_seconds" data-format="duration">—</b></span>
  <span class="meta">version <b data-key="version">—</b></span>
  <span class="meta">updated <b id="updated">—</b></span>
  <span class="meta" id="conn">connecting…</span>
</header>
<noscript><p>This page needs JavaScript; <a href="status.html">status.html</a> does not.</p>
</noscript>
<main>
  <section>
    <h2>Queue</h2>
    <div class="big" data-key="queue.queued">—</div>
    <div class="kv">
      <span>in flight</span><span data-key="queue.in_flight">—</span>
      <span>kind</span><span data-key="queue.kind">—</span>
    </div>
    <div id="spool">
      <h2 style="margin-top:10px">Spool</h2>
      <div class="kv">
        <span>used</span><span data-key="queue.bytes_used" data-format="bytes">—</span>
        <span>cap</span><span data-key="queue.max_bytes" data-format="bytes">—</span>
        <span>cap (messages)</span><span data-key="queue.max_messages">—</span>
      </div>
      <div class="bar"><div id="spool-bar"></div></div>
    </div>
    <svg class="chart" id="chart-queue" viewBox="0 0 300 60" preserveAspectRatio="none">
      <polyline points=""/></svg>
    <div class="legend">messages queued, up to the last 5 minutes (kept in this browser)</div>
  </section>
  <section>
    <h2>Rates (msg/s)</h2>
    <table id="rates"><thead><tr><th></th></tr></thead><tbody></tbody></table>
    <svg class="chart" id="chart-rates" viewBox="0 0 300 60" preserveAspectRatio="none">
      <polyline points=""/><g class="b"><polyline points=""/></g></svg>
    <div class="legend">SMS in (blue) and out (purple), first window, last 5 minutes</div>
  </section>
  <section>
    <h2>Delivery reports</h2>
    <div class="big" data-key="dlr.stored">—</div>
    <div class="kv">
      <span>store</span><span data-key="dlr.kind">—</span>
      <span>cap</span><span data-key="dlr.max_entries">—</span>
    </div>
    <h2 style="margin-top:10px">Callbacks</h2>
    <div class="kv">
      <span>pending</span><span data-key="callbacks.pending">—</span>
      <span>retrying</span><span data-key="callbacks.retrying">—</span>
      <span>dead letters</span><span data-key="callbacks.dead_letter">—</span>
    </div>
  </section>
  <section>
    <h2>Process</h2>
    <div class="kv">
      <span>CPU</span><span id="cpu">—</span>
      <span>RSS</span><span data-key="process.rss_bytes" data-format="bytes">—</span>
      <span>CPU seconds</span><span data-key="process.cpu_seconds">—</span>
      <span>pid</span><span data-key="process.pid">—</span>
      <span>encoder</span><span data-key="encoder">—</span>
    </div>
    <svg class="chart" id="chart-cpu" viewBox="0 0 300 60" preserveAspectRatio="none">
      <polyline points=""/></svg>
    <div class="legend">CPU %, last 5 minutes</div>
  </section>
  <section class="wide">
    <h2>Binds</h2>
    <table id="binds"><thead><tr><th>SMSC</th><th>status</th><th class="num">window</th>
      <th class="num">waiting</th><th class="num">sent</th><th class="num">failed</th>
      <th class="num">queued</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Lanes</h2>
    <table id="lanes"><thead><tr><th>lane</th><th class="num">depth</th>
      <th class="num">oldest message age (s)</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide" id="other-section" hidden>
    <h2>Other</h2>
    <div class="kv" id="other"></div>
  </section>
</main>
<script>
"use strict";
const REFRESH_MS = __REFRESH__, POINTS = __POINTS__;
const KNOWN = ["time", "state", "uptime_seconds", "version", "queue", "smsc", "rates",
               "dlr", "callbacks", "process", "encoder"];
const history = {queue: [], sms_in: [], sms_out: [], cpu: []};
let last = null;

function get(obj, path) {
  let cur = obj;
  for (const part of path.split(".")) {
    if (cur === null || cur === undefined || typeof cur !== "object") return undefined;
    cur = cur[part];
  }
  return cur;
}
function show(value, format) {
  if (value === undefined || value === null) return "—";
  if (format === "bytes" && typeof value === "number") {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = value, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + " " + units[i];
  }
  if (format === "duration" && typeof value === "number") {
    let t = Math.floor(value);
    const d = Math.floor(t / 86400), h = Math.floor(t / 3600) % 24,
          m = Math.floor(t / 60) % 60, s = t % 60;
    return d + "d " + h + "h " + m + "m " + s + "s";
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
function cell(row, text, key, numeric) {
  const td = document.createElement("td");
  td.textContent = text;
  if (key) td.dataset.key = key;
  if (numeric) td.className = "num";
  row.appendChild(td);
  return td;
}
function push(series, value) {
  if (typeof value !== "number" || !isFinite(value)) return;
  series.push(value);
  if (series.length > POINTS) series.shift();
}
function draw(polyline, series, range) {
  if (!polyline || series.length === 0) return;
  const low = range ? range[0] : Math.min(...series);
  let high = range ? range[1] : Math.max(...series);
  if (high <= low) high = low + 1;
  const step = series.length > 1 ? 300 / (series.length - 1) : 0;
  polyline.setAttribute("points", series.map(
    (v, i) => (i * step).toFixed(1) + "," + (56 - 52 * (v - low) / (high - low)).toFixed(1)
  ).join(" "));
}
function render(data) {
  for (const el of document.querySelectorAll("[data-key]")) {
    if (el.closest("tbody")) continue;
    const value = get(data, el.dataset.key);
    el.textContent = show(value, el.dataset.format);
    if (value !== undefined) el.dataset.value = String(value);
  }
  const used = get(data, "queue.bytes_used"), cap = get(data, "queue.max_bytes");
  const bar = document.getElementById("spool-bar");
  if (typeof used === "number" && typeof cap === "number" && cap > 0) {
    const share = Math.min(1, used / cap);
    bar.style.width = (100 * share).toFixed(1) + "%";
    bar.style.background = share > 0.9 ? "var(--bad)" : share > 0.7 ? "var(--warn)" : "";
  }
  const lanes = document.querySelector("#lanes tbody");
  lanes.replaceChildren();
  const laneData = get(data, "queue.lanes") || {};
  for (const lane of Object.keys(laneData).sort()) {
    const row = document.createElement("tr");
    cell(row, lane);
    cell(row, show(laneData[lane].depth), "queue.lanes." + lane + ".depth", true);
    cell(row, show(laneData[lane].oldest_age_seconds),
         "queue.lanes." + lane + ".oldest_age_seconds", true);
    lanes.appendChild(row);
  }
  const binds = document.querySelector("#binds tbody");
  binds.replaceChildren();
  (Array.isArray(data.smsc) ? data.smsc : []).forEach((link, i) => {
    const row = document.createElement("tr");
    const name = cell(row, "", "smsc." + i + ".smsc_id");
    const dot = document.createElement("span");
    const status = String(link.status || "");
    dot.className = "dot " + (link.online ? "ok" : status === "dead" ? "bad" : "warn");
    name.append(dot, show(link.smsc_id));
    cell(row, show(link.status), "smsc." + i + ".status");
    for (const key of ["window", "waiting", "sent", "failed", "queued"]) {
      cell(row, show(link[key]), "smsc." + i + "." + key, true);
    }
    binds.appendChild(row);
  });
  const rates = document.getElementById("rates");
  const windows = get(data, "rates.windows") || ["1 min", "5 min", "15 min"];
  const head = rates.querySelector("thead tr");
  head.replaceChildren();
  head.appendChild(document.createElement("th"));
  for (const w of windows) {
    const th = document.createElement("th");
    th.className = "num"; th.textContent = w; head.appendChild(th);
  }
  const rbody = rates.querySelector("tbody");
  rbody.replaceChildren();
  for (const [name, label] of [["sms_in", "SMS in"], ["sms_out", "SMS out"],
                                ["dlr_in", "DLR in"], ["dlr_out", "DLR out"]]) {
    const values = get(data, "rates." + name);
    const row = document.createElement("tr");
    cell(row, label);
    windows.forEach((_, i) => cell(row, Array.isArray(values) && typeof values[i] === "number"
      ? values[i].toFixed(2) : "—", "rates." + name + "." + i, true));
    rbody.appendChild(row);
  }
  const other = document.getElementById("other");
  other.replaceChildren();
  const extra = Object.keys(data).filter(k => !KNOWN.includes(k)).sort();
  document.getElementById("other-section").hidden = extra.length === 0;
  for (const key of extra) {
    const k = document.createElement("span"), v = document.createElement("span");
    k.textContent = key; v.textContent = show(data[key]); v.dataset.key = key;
    other.append(k, v);
  }
  push(history.queue, get(data, "queue.queued"));
  const smsIn = get(data, "rates.sms_in"), smsOut = get(data, "rates.sms_out");
  push(history.sms_in, Array.isArray(smsIn) ? smsIn[0] : undefined);
  push(history.sms_out, Array.isArray(smsOut) ? smsOut[0] : undefined);
  const cpuNow = get(data, "process.cpu_seconds"), t = get(data, "time");
  const cpuEl = document.getElementById("cpu");
  if (last && typeof cpuNow === "number" && typeof t === "number" && t > last.time) {
    const pct = 100 * (cpuNow - last.cpu) / (t - last.time);
    cpuEl.textContent = pct.toFixed(1) + " %";
    push(history.cpu, pct);
  }
  if (typeof cpuNow === "number" && typeof t === "number") last = {cpu: cpuNow, time: t};
  draw(document.querySelector("#chart-queue polyline"), history.queue);
  const both = history.sms_in.concat(history.sms_out);
  const range = [Math.min(...both), Math.max(...both)];
  draw(document.querySelector("#chart-rates > polyline"), history.sms_in, range);
  draw(document.querySelector("#chart-rates .b polyline"), history.sms_out, range);
  draw(document.querySelector("#chart-cpu polyline"), history.cpu, [0, 100]);
  document.getElementById("updated").textContent =
    typeof t === "number" ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19)
                          : new Date().toISOString().slice(11, 19);
}
async function refresh() {
  const conn = document.getElementById("conn");
  try {
    const response = await fetch("status.json" + location.search, {cache: "no-store"});
    const text = await response.text();
    const data = JSON.parse(text);
    render(data);
    conn.textContent = "live"; conn.className = "";
    document.body.dataset.loaded = "1";
  } catch (error) {
    conn.textContent = "no answer from status.json"; conn.className = "bad";
  }
}
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
"""


def page_html() -> bytes:
    """The page, with its refresh period and history length filled in."""
    return (
        PAGE.replace("__REFRESH__", str(REFRESH_MS))
        .replace("__POINTS__", str(HISTORY_POINTS))
        .encode("utf-8")
    )


class DashboardPage(Resource):
    """Serves the page (static: all data comes from status.json)."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.body = page_html()

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 - twisted.web's name
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-cache")
        request.setHeader(
            b"Content-Security-Policy",
            b"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            b"connect-src 'self'; img-src 'self'",
        )
        return self.body
