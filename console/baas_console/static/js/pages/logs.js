// Logs: the request log (/api/logs, docs/logs.md), newest first, filtered with the records'
// filter language over id, created, level, message and data.* (a bad filter shows the API's
// 400), paged, each entry's whole detail on a click. The filter lives in the address
// (#/logs?filter=…) so a view can be bookmarked and the dashboard can link to one.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice} from "../dom.js";

const PER_PAGE = 50;
const PRESETS = [
  ["All", ""],
  ["Errors", "level > 0"],
  ["Server errors", "level >= 8"],
  ["Slow (> 500 ms)", "data.execTime > 500"],
  ["Superusers", 'data.auth = "_superusers"'],
];
const LEVELS = {0: "info", 4: "warn", 8: "error"};

function detail(item) {
  const d = item.data || {};
  const rows = [
    ["id", item.id], ["created", item.created], ["level", `${item.level} (${LEVELS[item.level] || "?"})`],
    ["method", d.method], ["URL", d.url], ["status", d.status], ["time taken", d.execTime != null ? `${d.execTime} ms` : null],
    ["auth", d.auth], ["auth id", d.authId], ["user IP", d.userIP], ["remote IP", d.remoteIP],
    ["user agent", d.userAgent], ["referer", d.referer], ["error", d.error],
  ].filter(([, v]) => v !== undefined && v !== null && v !== "");
  return h("section", {id: "log-detail", "aria-label": `Log entry ${item.id}`},
    h("h2", {}, `Entry ${item.id}`),
    h("dl", {class: "log-fields"}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {"data-field": k}, String(v))])),
    h("details", {}, h("summary", {}, "As JSON"), h("pre", {class: "response"}, JSON.stringify(item, null, 2))));
}

export async function render(main) {
  // Read from the address itself: the router's parameters come percent-decoded, and a filter's "&&" would split.
  const at = location.hash.indexOf("?");
  const initial = at < 0 ? "" : new URLSearchParams(location.hash.slice(at + 1)).get("filter") || "";
  // A text area: a filter may hold a line break (an error message's), which a one-line input drops.
  const input = h("textarea", {id: "logs-filter", rows: 2, spellcheck: "false",
    placeholder: 'data.status >= 400 && data.url ~ "/api/collections/posts"',
    onkeydown: (ev) => { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); apply(input.value.trim()); } }});
  input.value = initial;
  const status = h("div", {"aria-live": "polite"});
  const list = h("div", {id: "logs-list"});
  const side = h("div", {id: "logs-side"});
  let page = 1;

  async function load(goTo = page) {
    let out;
    try {
      out = await api("GET", "/api/logs", {query: {page: goTo, perPage: PER_PAGE, filter: input.value.trim()}});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(status, notice(err.message));
      mount(list);
      return;
    }
    page = out.page;
    mount(status);
    mount(side);
    const rows = out.items.map((item) => {
      const d = item.data || {};
      return h("tr", {class: `log level-${item.level}`, "data-log": item.id, tabindex: 0,
        onclick: () => show(item.id), onkeydown: (ev) => { if (ev.key === "Enter") show(item.id); }},
        h("td", {}, item.created), h("td", {}, d.method || ""), h("td", {class: "log-url"}, d.url || item.message),
        h("td", {class: "log-status"}, String(d.status ?? "")), h("td", {}, d.execTime != null ? `${d.execTime} ms` : ""),
        h("td", {}, d.auth || ""), h("td", {}, d.userIP || ""));
    });
    mount(list,
      h("p", {id: "logs-count", class: "hint"}, "Times in UTC. ",
        `${out.totalItems} entr${out.totalItems === 1 ? "y" : "ies"}; page ${out.page} of ${Math.max(1, out.totalPages)}`),
      out.items.length
        ? h("table", {class: "logs", "aria-label": "Log entries"},
            h("thead", {}, h("tr", {}, ["created (UTC)", "method", "URL", "status", "time", "auth", "IP"]
              .map((c) => h("th", {scope: "col"}, c)))),
            h("tbody", {}, rows))
        : h("p", {class: "hint", id: "no-logs"}, "No entries match."),
      h("div", {class: "actions"},
        h("button", {type: "button", class: "secondary", id: "logs-newer", disabled: out.page <= 1,
          onclick: () => load(out.page - 1)}, "Newer"),
        h("button", {type: "button", class: "secondary", id: "logs-older", disabled: out.page >= out.totalPages,
          onclick: () => load(out.page + 1)}, "Older")));
  }

  async function show(id) {
    try {
      mount(side, detail(await api("GET", `/api/logs/${encodeURIComponent(id)}`)));
      side.scrollIntoView({block: "nearest"});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(side, notice(err.status === 404 ? "That entry is gone (retention or an erasure removed it)." : err.message));
    }
  }

  function apply(filter) {
    input.value = filter;
    // Kept in the address without a second render: replaceState does not fire hashchange.
    history.replaceState(null, "", filter ? `#/logs?filter=${encodeURIComponent(filter)}` : "#/logs");
    return load(1);
  }

  mount(main, h("h1", {}, "Logs"),
    h("p", {class: "hint"}, "Every API request, newest first. Filter with the records' language over ",
      h("code", {}, "id, created, level, message"), " and ", h("code", {}, "data.*"),
      " (method, url, status, execTime, auth, authId, userIP, userAgent, error)."),
    h("form", {id: "logs-form", onsubmit: (ev) => { ev.preventDefault(); apply(input.value.trim()); }},
      labelled("Filter", input),
      h("div", {class: "actions"},
        h("button", {type: "submit"}, "Apply"),
        PRESETS.map(([label, f]) => h("button", {type: "button", class: "secondary", "data-preset": label,
          onclick: () => apply(f)}, label)))),
    status, h("div", {class: "logs-layout"}, list, side));
  await load(1);
}
