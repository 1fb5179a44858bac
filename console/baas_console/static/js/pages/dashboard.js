// The dashboard: what the request log says of the last hour, day or week (/api/logs/summary):
// requests per minute, p50/p99 latency, success rate, client and server errors over time, the
// most frequent errors (each a link to those entries in Logs), and the server's uptime and
// readiness (/api/health's superuser view). Refreshed every 30 s while shown. Links to Logs and
// to Index advice (the indexes the slow record lists need).

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice} from "../dom.js";
import {chart} from "../charts.js";

// [key, label, span, step]: each window starts on a whole step (UTC) and ends now, so its last
// step is the one under way (its rate is scaled by its real length).
const WINDOWS = [["1h", "Last hour", 3600e3, 60e3], ["24h", "Last 24 hours", 86400e3, 1800e3],
  ["7d", "Last 7 days", 7 * 86400e3, 3 * 3600e3]];
const REFRESH_MS = 30_000;
let timer = null;

const ms = (v) => (v == null ? "—" : v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`);
const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(v === 1 ? 0 : 2)} %`);

/** 93784 -> "1 d 2 h 3 min". */
export function duration(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600), min = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${hr} h ${min} min`;
  if (hr) return `${hr} h ${min} min`;
  return min ? `${min} min ${s % 60} s` : `${s % 60} s`;
}

function tile(id, label, value, hint) {
  return h("div", {class: "tile", id}, h("span", {class: "tile-label"}, label), h("strong", {}, value),
    hint ? h("span", {class: "hint"}, hint) : null);
}

function utc(msSinceEpoch) {
  return new Date(msSinceEpoch).toISOString().replace("T", " ");
}

/** A string in the filter language (its escapes: backslash-quote, backslash-backslash). */
const quote = (text) => `"${String(text).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** The filter of Logs for one of the top errors in the window: its status and message (a missing
 * message compares as ""), and the window's time range. */
function errorFilter(e, sum) {
  return `data.status = ${e.status} && data.error = ${quote(e.error || "")} `
    + `&& created >= ${quote(sum.from)} && created < ${quote(sum.to)}`;
}

let drawn = 0; // the newest refresh: an older answer arriving late is not shown over it

async function draw(box, windowKey) {
  const seq = ++drawn;
  const [, , span, step] = WINDOWS.find(([k]) => k === windowKey);
  const from = Math.floor((Date.now() - span) / step) * step;
  const [sum, health] = await Promise.all([
    // No "to": up to the server's now, so the requests of the last moments are in.
    api("GET", "/api/logs/summary", {query: {from: utc(from), step: step / 1000}}),
    api("GET", "/api/health").catch((err) => (err instanceof ApiError ? err.body : {message: String(err)})),
  ]);
  if (seq !== drawn) return;
  const dates = sum.series.map((p) => p.date);
  const end = Date.parse(sum.to.replace(" ", "T"));
  // Minutes each step covers: the step, or less for the last one (still under way).
  const minutesOf = dates.map((d) => Math.max(1e-3, Math.min(sum.step * 1000, end - Date.parse(d.replace(" ", "T"))) / 60e3));
  const t = sum.total;
  const minutes = (Date.parse(sum.to.replace(" ", "T")) - from) / 60e3;
  const checks = (health && health.data && health.data.checks) || {};
  const down = Object.entries(checks).filter(([, v]) => v !== "ok");
  mount(box,
    h("div", {class: "tiles"},
      tile("t-requests", "Requests", String(t.requests), `${(t.requests / minutes).toFixed(1)} per minute`),
      tile("t-success", "Success rate", pct(t.successRate), "answers without a server error"),
      tile("t-p50", "p50 latency", ms(t.p50)),
      tile("t-p99", "p99 latency", ms(t.p99)),
      tile("t-client-errors", "Client errors (4xx)", String(t.clientErrors)),
      tile("t-server-errors", "Server errors (5xx)", String(t.serverErrors)),
      tile("t-uptime", "Uptime", duration(sum.uptime), `since ${sum.startedAt}`),
      tile("t-ready", "Readiness", down.length ? `${down.length} check(s) failing` : "ready",
        down.length ? down.map(([k, v]) => `${k}: ${v}`).join("; ") : Object.keys(checks).join(", "))),
    h("div", {class: "charts"},
      chart({id: "chart-requests", title: "Requests per minute", dates,
        series: [{name: "requests/min", cls: "s-requests", values: sum.series.map((p, i) => p.requests / minutesOf[i])}],
        format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1))}),
      chart({id: "chart-latency", title: "Latency (ms)", dates, kind: "lines", format: (v) => ms(v),
        series: [{name: "p50", cls: "s-p50", values: sum.series.map((p) => p.p50)},
                 {name: "p99", cls: "s-p99", values: sum.series.map((p) => p.p99)}]}),
      chart({id: "chart-success", title: "Success rate", dates, kind: "lines", max: 1, format: pct,
        series: [{name: "success rate", cls: "s-success", values: sum.series.map((p) => p.successRate)}]}),
      chart({id: "chart-errors", title: "Errors", dates,
        series: [{name: "client errors", cls: "s-client", values: sum.series.map((p) => p.clientErrors)},
                 {name: "server errors", cls: "s-server", values: sum.series.map((p) => p.serverErrors)}]})),
    h("h2", {}, "Most frequent errors"),
    sum.topErrors.length
      ? h("table", {id: "top-errors", "aria-label": "Most frequent errors"},
          h("thead", {}, h("tr", {}, ["status", "error", "count", ""].map((c) => h("th", {scope: "col"}, c)))),
          h("tbody", {}, sum.topErrors.map((e) => h("tr", {},
            h("td", {}, String(e.status)), h("td", {}, e.error || "—"), h("td", {}, String(e.count)),
            h("td", {}, h("a", {href: `#/logs?filter=${encodeURIComponent(errorFilter(e, sum))}`}, "Show entries"))))))
      : h("p", {class: "hint", id: "no-errors"}, "No errors in this window."),
    h("p", {class: "hint"}, `${sum.from} to ${sum.to} (UTC), in steps of ${sum.step / 60} min; uptime and `
      + "readiness are those of the server process that answered. Realtime streams count as requests but not in "
      + "the latencies (their time is a connection's life). Latencies are exact to within 5 %."),
    sum.sampling < 1 || sum.minLevel > 0 || sum.dropped > 0
      ? notice(`The log does not hold every request (sampling ${sum.sampling}, minLevel ${sum.minLevel}, `
          + `${sum.dropped} dropped by this process): the counts and rates above are of the entries it kept.`, "warning")
      : null);
}

export async function render(main) {
  clearInterval(timer);
  const box = h("div", {id: "dashboard-body"});
  const status = h("div", {"aria-live": "polite"});
  const pick = h("select", {id: "dashboard-window"}, WINDOWS.map(([k, label]) => h("option", {value: k}, label)));
  const refresh = async () => {
    try {
      await draw(box, pick.value);
      mount(status);
    } catch (err) { // the figures on screen stay, marked as not refreshed
      mount(status, notice(`Not refreshed: ${err instanceof ApiError ? err.message : String(err.message || err)}`));
    }
  };
  pick.addEventListener("change", refresh);
  mount(main, h("h1", {}, "Dashboard"),
    h("div", {class: "toolbar"}, labelled("Window", pick),
      h("button", {type: "button", id: "dashboard-refresh", class: "secondary", onclick: refresh}, "Refresh"),
      h("a", {href: "#/logs"}, "All log entries"),
      h("a", {href: "#/advice", id: "dashboard-advice"}, "Index advice")),
    status, box);
  await refresh();
  const here = location.hash;
  timer = setInterval(() => {
    if (location.hash !== here || !document.getElementById("dashboard-body")) { clearInterval(timer); return; }
    if (!document.hidden) refresh();
  }, REFRESH_MS);
}
