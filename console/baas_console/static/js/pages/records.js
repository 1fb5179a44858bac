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

const SYSTEM_KEYS = new Set(["id", "collectionId", "collectionName", "created", "updated", "expand"]);
const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

/** A record's name for people: its first non-empty text value, else its id. */
export function recordLabel(rec) {
  const text = Object.entries(rec || {}).find(([k, v]) => !SYSTEM_KEYS.has(k) && typeof v === "string" && v)?.[1];
  return text ? `${text} (${rec.id})` : String(rec && rec.id);
}

/** The URL of a stored file (a small thumbnail for images); ``token`` for protected files. */
export function fileUrl(coll, rec, fname, token = "", thumb = "100x100") {
  const q = new URLSearchParams();
  if (thumb && IMAGE.test(fname)) q.set("thumb", thumb);
  if (token) q.set("token", token);
  const qs = q.toString();
  return `/api/files/${encodeURIComponent(coll.id)}/${encodeURIComponent(rec.id)}/${encodeURIComponent(fname)}` +
    (qs ? `?${qs}` : "");
}

/** What a cell shows: text, related records by label (expanded), images as thumbnails. */
function cell(coll, field, rec, fileToken) {
  const value = rec[field ? field.name : "id"];
  if (field && field.type === "relation" && rec.expand && rec.expand[field.name]) {
    const related = [rec.expand[field.name]].flat();
    return h("td", {}, related.map(recordLabel).join(", "));
  }
  if (field && field.type === "file" && value && value.length) {
    const names = [value].flat();
    return h("td", {}, names.map((n) => IMAGE.test(n)
      ? h("img", {class: "thumb", src: fileUrl(coll, rec, n, field.protected ? fileToken : ""), alt: n, loading: "lazy"})
      : h("span", {class: "filename"}, n)));
  }
  return h("td", {}, cellText(value));
}

export async function render(main, [name]) {
  const coll = await api("GET", `/api/collections/${encodeURIComponent(name)}`);
  const shown = coll.fields.filter((f) => !f.hidden && f.name !== "id");
  const columns = ["id", ...shown.map((f) => f.name)];
  const byName = Object.fromEntries(coll.fields.map((f) => [f.name, f]));
  // Related records come in the same request (expand), so a relation shows a name, not an id.
  const expand = shown.filter((f) => f.type === "relation").map((f) => f.name).join(",");
  const needsToken = shown.some((f) => f.type === "file" && f.protected);
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
                      {query: {page: state.page, perPage: PER_PAGE, filter: state.filter, sort: state.sort, expand}});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const details = Object.entries(err.data).map(([k, e]) => `${k}: ${e && e.message ? e.message : cellText(e)}`);
      mount(message, notice([err.message, ...details].join(" ")));
      return;
    }
    const fileToken = needsToken && out.items.length
      ? (await api("POST", "/api/files/token").catch(() => ({token: ""}))).token : "";
    mount(table,
      h("caption", {}, `${out.totalItems} record${out.totalItems === 1 ? "" : "s"} in ${coll.name}`),
      h("thead", {}, h("tr", {}, columns.map(header), h("th", {scope: "col"}, "Actions"))),
      h("tbody", {}, out.items.map((rec) => h("tr", {"data-id": rec.id},
        columns.map((c) => cell(coll, byName[c], rec, fileToken)),
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

  // A column header is a button: ascending, then descending, then back to the typed sort.
  const header = (c) => {
    const dir = state.sort === c ? "ascending" : state.sort === `-${c}` ? "descending" : null;
    return h("th", {scope: "col", "aria-sort": dir},
      h("button", {type: "button", class: "sort", "data-column": c, onclick: () => {
        state.sort = dir === "ascending" ? `-${c}` : c;
        sort.value = state.sort;
        state.page = 1;
        load().then(() => table.querySelector(`button[data-column="${CSS.escape(c)}"]`)?.focus());
      }}, c, dir === "ascending" ? " ▲" : dir === "descending" ? " ▼" : ""));
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
