// Index advice: the indexes that would serve the slow record lists of the request log
// (/api/schema/advise, docs/indexes.md), the most time-consuming first, each with its CREATE INDEX
// statement and the line for the collection's `indexes` in baas.yaml. The window and the threshold
// live in the address (#/advice?since=24h&minMs=100), so the dashboard can link to a view.
// Example URLs are the clients' own text: shown as text nodes, never parsed.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

const WINDOWS = [["1h", "Last hour"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["31d", "Last 31 days"]];
const ms = (v) => (v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`);
const shown = (columns) => columns.map((c) => (c.startsWith("-") ? `${c.slice(1)} DESC` : c)).join(", ");
/** A string in the filter language (its escapes: backslash-quote, backslash-backslash). */
const quote = (text) => `"${String(text).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

function summary(out) {
  const s = out.skipped;
  return `${out.slowRequests} slow record list${out.slowRequests === 1 ? "" : "s"} (${out.minMs} ms or more) `
    + `from ${out.from} to ${out.to} (UTC): ${s.indexed} served by an index already, ${s.unindexable} no index `
    + `would serve (a relation path, ~, !=, an OR of fields …), ${s.unknown} of collections or fields no longer there.`;
}

function item(a, n, out) {
  const path = a.example.split("?")[0];
  // Logs, filtered on the slow requests of this collection's list (with a query) in the window.
  const filter = `data.url ~ ${quote(path + "?")} && data.execTime >= ${out.minMs} `
    + `&& created >= ${quote(out.from)} && created < ${quote(out.to)}`;
  return h("section", {class: "advice-item", "data-advice": n, "aria-label": `Index ${n} on ${a.collection}`},
    h("h3", {}, `${n}. ${a.collection} (${shown(a.columns)})`),
    h("p", {class: "hint"}, `${a.requests} slow request${a.requests === 1 ? "" : "s"}, ${ms(a.totalMs)} in all `
      + `(p99 ${ms(a.p99Ms)}, longest ${ms(a.maxMs)}). `,
      h("a", {href: `#/logs?filter=${encodeURIComponent(filter)}`}, "Slow requests of this list")),
    h("dl", {class: "log-fields"},
      h("dt", {}, "Example"), h("dd", {class: "advice-example"}, h("code", {}, `GET ${a.example}`)),
      h("dt", {}, "baas.yaml"), h("dd", {},
        h("pre", {class: "advice-yaml"}, a.yaml),
        h("span", {class: "hint"}, `under ${a.collection}: indexes: (then baas schema apply)`)),
      h("dt", {}, "SQL"), h("dd", {}, h("pre", {class: "advice-sql"}, a.sql))),
    a.note ? notice(a.note, "warning") : null);
}

function draw(box, out) {
  const rows = out.items.map((a, i) => h("tr", {"data-advice": i + 1},
    h("td", {}, a.collection), h("td", {}, h("code", {}, shown(a.columns))), h("td", {}, String(a.requests)),
    h("td", {}, ms(a.totalMs)), h("td", {}, ms(a.p99Ms)), h("td", {}, ms(a.maxMs))));
  mount(box,
    h("p", {id: "advice-summary", class: "hint"}, summary(out)),
    out.items.length
      ? [h("table", {id: "advice-table", "aria-label": "Advised indexes"},
          h("thead", {}, h("tr", {}, ["collection", "index", "slow requests", "total", "p99", "longest"]
            .map((c) => h("th", {scope: "col"}, c)))),
          h("tbody", {}, rows)),
         out.items.map((a, i) => item(a, i + 1, out))]
      : h("p", {class: "hint", id: "no-advice"}, "No index to advise."));
}

export async function render(main) {
  const at = location.hash.indexOf("?");
  const q = new URLSearchParams(at < 0 ? "" : location.hash.slice(at + 1));
  const since = h("select", {id: "advice-since"}, WINDOWS.map(([k, label]) => h("option", {value: k}, label)));
  since.value = WINDOWS.some(([k]) => k === q.get("since")) ? q.get("since") : "24h";
  const minMs = h("input", {id: "advice-min-ms", type: "number", min: 0, step: "any", value: q.get("minMs") || "100"});
  const status = h("div", {"aria-live": "polite"});
  const box = h("div", {id: "advice-body"});

  async function load() {
    setError(minMs, "");
    // Kept in the address without a second render: replaceState does not fire hashchange.
    history.replaceState(null, "", `#/advice?${new URLSearchParams({since: since.value, minMs: minMs.value})}`);
    mount(status, h("p", {class: "hint"}, "Reading the request log…"));
    try {
      draw(box, await api("GET", "/api/schema/advise", {query: {since: since.value, minMs: minMs.value}}));
      mount(status);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.data.minMs) setError(minMs, err.data.minMs.message);
      mount(status, notice(err.message));
      mount(box);
    }
  }

  since.addEventListener("change", load);
  mount(main, h("h1", {}, "Index advice"),
    h("p", {class: "hint"}, "The record lists of the request log that took long with a filter or a sort, and the "
      + "index that would serve each: its equality-compared fields first, then the sort's fields (or one "
      + "range-compared field). Ranked by the time those requests took. Indexes the collection already has are "
      + "not advised. See docs/indexes.md."),
    h("form", {id: "advice-form", class: "toolbar", onsubmit: (ev) => { ev.preventDefault(); load(); }},
      labelled("Window", since), labelled("Slow from (ms)", minMs),
      h("button", {type: "submit", id: "advice-refresh"}, "Refresh")),
    status, box);
  await load();
}
