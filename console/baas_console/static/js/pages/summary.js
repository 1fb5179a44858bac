// A collection's summary: records grouped by one field (through the aggregate API, under the
// same filter and search as the table), with the count and, for a number field, its sum,
// average, minimum and maximum per group. The server's 400 is shown as is.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice} from "../dom.js";

const GROUPABLE = new Set(["text", "email", "url", "select", "bool", "relation", "date", "autodate", "number"]);
const MAX_GROUPS = 100;

/** Fields a summary can group by (one value per record) and fields it can add up. */
export function summaryFields(coll) {
  const visible = coll.fields.filter((f) => !f.hidden && f.type !== "password");
  const single = (f) => !((f.type === "select" || f.type === "relation") && (f.maxSelect || 1) > 1);
  return {
    keys: visible.filter((f) => GROUPABLE.has(f.type) && single(f)).map((f) => f.name),
    numbers: visible.filter((f) => f.type === "number").map((f) => f.name),
  };
}

const shownValue = (v) => (v === null || v === undefined ? "(none)" : v === "" ? "(empty)" : String(v));
const shownNumber = (v) => (v === null || v === undefined ? "" : Number.isInteger(v) ? String(v)
  : v.toFixed(Math.abs(v) < 1 ? 4 : 2));

/** The panel (null when no field can be grouped by); ``currentFilter()`` gives the table's filter
 * and search combined, so the summary is of the records the table lists. */
export function summaryPanel(name, coll, currentFilter, errorText) {
  const {keys, numbers} = summaryFields(coll);
  if (!keys.length) return null;
  const by = h("select", {name: "summary-by"}, keys.map((k) => h("option", {value: k}, k)));
  const of = h("select", {name: "summary-of"}, h("option", {value: ""}, "(count only)"),
    numbers.map((k) => h("option", {value: k}, k)));
  const out = h("div", {id: "summary-result", "aria-live": "polite"});
  const run = async () => {
    const field = of.value;
    const query = {groupBy: by.value, filter: currentFilter(), sort: "-count", perPage: MAX_GROUPS};
    if (field) Object.assign(query, {sum: field, avg: field, min: field, max: field});
    let res;
    try {
      res = await api("GET", `/api/collections/${encodeURIComponent(name)}/aggregate`, {query});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(out, notice(errorText(err)));
      return;
    }
    const head = ["Records", ...(field ? [`Sum of ${field}`, "Average", "Min", "Max"] : [])];
    mount(out,
      h("table", {id: "summary"},
        h("caption", {}, `${coll.name} by ${by.value}${field ? `, ${field}` : ""}`),
        h("thead", {}, h("tr", {}, h("th", {scope: "col"}, by.value), head.map((t) => h("th", {scope: "col"}, t)))),
        h("tbody", {}, res.items.map((g) => h("tr", {},
          h("th", {scope: "row"}, shownValue(g.group[by.value])),
          h("td", {}, String(g.count)),
          field ? [g.sum[field], g.avg[field], g.min[field], g.max[field]].map((v) => h("td", {}, shownNumber(v))) : null)))),
      res.totalItems > res.items.length
        ? h("p", {class: "hint", id: "summary-more"}, `The ${res.items.length} largest of ${res.totalItems} groups.`)
        : null);
  };
  return h("details", {id: "summary-panel"}, h("summary", {}, "Summary"),
    h("form", {id: "summary-form", onsubmit: (ev) => { ev.preventDefault(); run(); }},
      h("div", {class: "grid"}, labelled("Group by", by), labelled("Add up", of)),
      h("button", {type: "submit"}, "Summarize")),
    out);
}
