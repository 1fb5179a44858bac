// A collection's records: a paged table driven by the API's own filter and sort syntax; the
// server's error is shown as is when a filter or sort is wrong. Only one page is ever loaded.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice} from "../dom.js";

const PER_PAGE = 30;

export function cellText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export async function render(main, [name]) {
  const coll = await api("GET", `/api/collections/${encodeURIComponent(name)}`);
  const columns = ["id", ...coll.fields.filter((f) => !f.hidden && f.name !== "id").map((f) => f.name)];
  const state = {page: 1, filter: "", sort: "-created"};
  if (!coll.fields.some((f) => f.name === "created")) state.sort = "";

  const filter = h("input", {type: "text", name: "filter", placeholder: "title ~ 'hello' && views > 10",
                             spellcheck: "false", autocomplete: "off"});
  const sort = h("input", {type: "text", name: "sort", value: state.sort, placeholder: "-created,title",
                           spellcheck: "false", autocomplete: "off"});
  const message = h("div", {id: "records-message"});
  const table = h("table", {id: "records"});
  const pager = h("nav", {class: "pager", "aria-label": "Pages"});

  const load = async () => {
    mount(message);
    let out;
    try {
      out = await api("GET", `/api/collections/${encodeURIComponent(name)}/records`,
                      {query: {page: state.page, perPage: PER_PAGE, filter: state.filter, sort: state.sort}});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const details = Object.entries(err.data).map(([k, e]) => `${k}: ${e && e.message ? e.message : cellText(e)}`);
      mount(message, notice([err.message, ...details].join(" ")));
      return;
    }
    mount(table,
      h("caption", {}, `${out.totalItems} record${out.totalItems === 1 ? "" : "s"} in ${coll.name}`),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {scope: "col"}, c)), h("th", {scope: "col"}, "Actions"))),
      h("tbody", {}, out.items.map((rec) => h("tr", {"data-id": rec.id},
        columns.map((c) => h("td", {}, cellText(rec[c]))),
        h("td", {}, h("a", {href: `#/collections/${encodeURIComponent(name)}/records/${encodeURIComponent(rec.id)}`,
                           "aria-label": `Edit record ${rec.id}`}, "Edit"))))));
    const pages = Math.max(1, out.totalPages);
    mount(pager,
      h("button", {type: "button", id: "prev-page", disabled: state.page <= 1 || undefined,
                   onclick: () => { state.page -= 1; load(); }}, "Previous page"),
      h("span", {id: "page-info"}, `Page ${out.page} of ${pages}`),
      h("button", {type: "button", id: "next-page", disabled: state.page >= pages || undefined,
                   onclick: () => { state.page += 1; load(); }}, "Next page"));
  };

  const form = h("form", {id: "records-query", role: "search"},
    h("div", {class: "grid"}, labelled("Filter", filter), labelled("Sort", sort)),
    h("button", {type: "submit"}, "Search"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    Object.assign(state, {page: 1, filter: filter.value.trim(), sort: sort.value.trim()});
    load();
  });
  mount(main, h("section", {},
    h("div", {class: "bar"}, h("h1", {}, coll.name),
      h("a", {class: "button", id: "new-record",
              href: `#/collections/${encodeURIComponent(name)}/records/new`}, "New record"),
      h("a", {class: "button secondary", href: `#/collections/${encodeURIComponent(name)}/edit`}, "Edit collection")),
    form, message, h("div", {class: "scroll"}, table), pager));
  await load();
}
