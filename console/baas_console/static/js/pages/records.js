// A collection's records: a paged table driven by the API's own filter and sort syntax (the
// server's error is shown as is when a filter or sort is wrong), a search box over the text
// fields, a column picker remembered per collection, and bulk delete. Only one page is ever
// loaded, without a count (skipTotal); the count is asked for once per filter.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, nextId, notice} from "../dom.js";
import {htmlText} from "../widgets.js";
import {summaryPanel} from "./summary.js";

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

/** The thumb to ask for a table cell: the smallest WxH the field declares (the app asks for those too,
 * so they are made once and shared), else 100x100, the size the server always makes for consoles. */
export function thumbFor(field) {
  const sizes = ((field && field.thumbs) || []).map((t) => [t, /^(\d+)x(\d+)$/.exec(t)])
    .filter(([, m]) => m && +m[1] > 0 && +m[2] > 0).sort(([, a], [, b]) => a[1] * a[2] - b[1] * b[2]);
  return sizes.length ? sizes[0][0] : "100x100";
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

const TEXTUAL = new Set(["text", "email", "url", "editor"]);
const MAX_CELL = 120;

/** A related record's name: its collection's presentable fields, else its first text value. */
export function relatedLabel(target, rec) {
  if (target) {
    const present = target.fields.filter((f) => f.presentable).map((f) => rec[f.name]).filter((v) => v !== "" && v != null);
    if (present.length) return present.map((v) => (Array.isArray(v) ? v.join(", ") : String(v))).join(" · ");
    const first = target.fields.find((f) => TEXTUAL.has(f.type) && !f.hidden && f.name !== "id" && rec[f.name]);
    if (first) return first.type === "editor" ? htmlText(rec[first.name]) : String(rec[first.name]);
  }
  return recordLabel(rec);
}

/** A filter matching ``term`` in any of ``names`` (double-quoted literal: JSON escapes as the lexer reads). */
export function searchFilter(names, term) {
  const lit = JSON.stringify(term);
  return names.map((n) => `${n} ~ ${lit}`).join(" || ");
}

/** The user's filter and the search, both required. */
export function combine(filter, search) {
  if (filter && search) return `(${filter}) && (${search})`;
  return filter || search || "";
}

const clip = (text) => (text.length > MAX_CELL ? text.slice(0, MAX_CELL - 1) + "…" : text);

/** What a cell shows: text, related records by label (expanded), images as thumbnails. */
function cell(coll, field, rec, fileToken, targets) {
  const value = rec[field ? field.name : "id"];
  if (field && field.type === "relation" && rec.expand && rec.expand[field.name]) {
    const related = [rec.expand[field.name]].flat();
    return h("td", {}, related.map((r) => relatedLabel(targets[field.name], r)).join(", "));
  }
  if (field && field.type === "file" && value && value.length) {
    const names = [value].flat();
    return h("td", {}, names.map((n) => IMAGE.test(n)
      ? h("img", {class: "thumb", src: fileUrl(coll, rec, n, field.protected ? fileToken : "", thumbFor(field)), alt: n, loading: "lazy"})
      : h("span", {class: "filename"}, n)));
  }
  // Editor HTML too is shown as its source text here (the record form renders it, sanitized).
  const text = cellText(value);
  return h("td", text.length > MAX_CELL ? {title: text} : {}, clip(text));
}

const FLASH = "baas_console_flash";

/** A notice for the records page of ``collection`` to show once (after a create, save or delete). */
export function flash(collection, text) {
  sessionStorage.setItem(FLASH, JSON.stringify({collection, text}));
}

/** The pending notice for ``collection``, taken (shown once). */
function takeFlash(collection) {
  let got = null;
  try { got = JSON.parse(sessionStorage.getItem(FLASH) || "null"); } catch { /* a broken value is dropped */ }
  sessionStorage.removeItem(FLASH);
  return got && got.collection === collection ? String(got.text) : "";
}

function errorText(err) {
  const details = Object.entries(err.data || {}).map(([k, e]) => `${k}: ${e && e.message ? e.message : cellText(e)}`);
  return [err.message, ...details].join(" ");
}

const columnsKey = (coll) => `baas_console_columns:${coll.id}`;

/** The columns hidden in the picker for ``coll`` (localStorage; new fields show by default). */
export function hiddenColumns(coll) {
  try { return new Set(JSON.parse(localStorage.getItem(columnsKey(coll)) || "{}").hidden || []); } catch { return new Set(); }
}

function saveHidden(coll, hidden) {
  localStorage.setItem(columnsKey(coll), JSON.stringify({hidden: [...hidden]}));
}

/** Delete records by id: through /api/batch (one transaction per chunk) when it is on, else one
 * DELETE each. A failed batch names its failing request: that record is reported and the rest
 * of the chunk is sent again, so every record ends deleted or with its own error. */
export async function deleteRecords(name, ids) {
  const url = (id) => `/api/collections/${encodeURIComponent(name)}/records/${encodeURIComponent(id)}`;
  const failures = [];
  let deleted = 0;
  const settings = await api("GET", "/api/settings").catch(() => null);
  const batch = settings && settings.batch && settings.batch.enabled ? settings.batch : null;
  if (!batch) {
    for (const id of ids) {
      try { await api("DELETE", url(id)); deleted += 1; } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        failures.push({id, message: errorText(err)});
      }
    }
    return {deleted, failures, batch: false};
  }
  const size = Math.max(1, Math.min(batch.maxRequests || 50, 1000));
  for (let i = 0; i < ids.length; i += size) {
    let chunk = ids.slice(i, i + size);
    while (chunk.length) {
      try {
        await api("POST", "/api/batch", {body: {requests: chunk.map((id) => ({method: "DELETE", url: url(id)}))}});
        deleted += chunk.length;
        break;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        const failed = err.data && err.data.requests && typeof err.data.requests === "object" ? err.data.requests : {};
        const index = Object.keys(failed).map(Number).find((n) => Number.isInteger(n) && n >= 0 && n < chunk.length);
        if (index === undefined) { // the batch as a whole was refused: every record of the chunk keeps its error
          chunk.forEach((id) => failures.push({id, message: errorText(err)}));
          break;
        }
        const resp = failed[index].response || {};
        failures.push({id: chunk[index], message: resp.message ? errorText(new ApiError(resp.status || 400, resp))
          : failed[index].message});
        chunk = chunk.filter((_, k) => k !== index);
      }
    }
  }
  return {deleted, failures, batch: true};
}

const SORTABLE = new Set(["text", "number", "date", "autodate", "email", "url", "bool", "select"]);

/** A sort example from the collection's own fields: newest first when it has ``created``. */
export function sortExample(coll) {
  const names = coll.fields.filter((f) => SORTABLE.has(f.type) && !f.hidden && f.name !== "id" && f.name !== "created")
    .map((f) => f.name);
  const hasCreated = coll.fields.some((f) => f.name === "created");
  const parts = hasCreated ? ["-created", ...names.slice(0, 1)] : names.length ? [`-${names[0]}`, ...names.slice(1, 2)]
    : ["-id"];
  return parts.join(",");
}

/** A filter example from the collection's own fields (a text match and a comparison where it has them). */
export function filterExample(coll) {
  const visible = coll.fields.filter((f) => !f.hidden && f.name !== "id");
  const parts = [];
  const text = visible.find((f) => TEXTUAL.has(f.type));
  if (text) parts.push(`${text.name} ~ 'abc'`);
  const num = visible.find((f) => f.type === "number");
  if (num) parts.push(`${num.name} > 10`);
  const flag = visible.find((f) => f.type === "bool");
  if (flag && parts.length < 2) parts.push(`${flag.name} = true`);
  return parts.length ? parts.join(" && ") : "id != ''";
}

export async function render(main, [name]) {
  const coll = await api("GET", `/api/collections/${encodeURIComponent(name)}`);
  const shown = coll.fields.filter((f) => !f.hidden && f.name !== "id");
  const all = ["id", ...shown.map((f) => f.name)];
  const byName = Object.fromEntries(coll.fields.map((f) => [f.name, f]));
  const hidden = hiddenColumns(coll);
  const visible = () => all.filter((c) => c === "id" || !hidden.has(c));
  const relations = shown.filter((f) => f.type === "relation");
  // Related records come in the same request (expand), so a relation shows a name, not an id;
  // their collections say which fields name a record (presentable).
  const targets = {};
  await Promise.all(relations.map(async (f) => {
    targets[f.name] = await api("GET", `/api/collections/${encodeURIComponent(f.collectionId)}`).catch(() => null);
  }));
  const textual = ["id", ...coll.fields.filter((f) => TEXTUAL.has(f.type) && !f.hidden && f.name !== "id").map((f) => f.name)];
  // A collection with full-text search (docs/search.md) is searched through it, by words; others
  // by a substring of each text field.
  const fullText = coll.search && coll.search.fields && coll.search.fields.length ? coll.search.fields : null;
  const usable = coll.fields.filter((f) => f.type !== "password").map((f) => f.name);
  const needsToken = shown.some((f) => f.type === "file" && f.protected);
  const state = {page: 1, filter: "", search: "", sort: "-created", total: null};
  if (!coll.fields.some((f) => f.name === "created")) state.sort = "";
  const selected = new Set();

  const filter = h("input", {type: "text", name: "filter", placeholder: filterExample(coll),
                             spellcheck: "false", autocomplete: "off"});
  const search = h("input", {type: "search", name: "search", placeholder: fullText
                             ? `Search the words of ${fullText.join(", ")}` : `Search ${textual.join(", ")}`,
                             autocomplete: "off"});
  const sort = h("input", {type: "text", name: "sort", value: state.sort, placeholder: sortExample(coll),
                           spellcheck: "false", autocomplete: "off"});
  const message = h("div", {id: "records-message"});
  const empty = h("div", {id: "records-empty"});
  const done = takeFlash(name);
  const flashBox = h("div", {id: "records-flash", "aria-live": "polite"}, done ? notice(done, "success") : null);
  const bulkMessage = h("div", {id: "bulk-message", "aria-live": "polite"});
  const table = h("table", {id: "records"});
  const pager = h("nav", {class: "pager", "aria-label": "Pages"});
  const count = h("span", {id: "records-count", role: "status"});
  const bulkBar = h("div", {class: "bar bulk", id: "bulk-bar"});
  const confirmBox = h("div", {id: "confirm-bulk-delete"});
  const searchTerm = (term) => (fullText ? `@search ~ ${JSON.stringify(term)}` : searchFilter(textual, term));
  const query = () => combine(state.filter, state.search ? searchTerm(state.search) : "");
  const expand = () => relations.filter((f) => visible().includes(f.name)).map((f) => f.name).join(",");

  const drawBulk = () => {
    mount(bulkBar, h("span", {id: "selected-count"}, `${selected.size} selected`),
      h("button", {type: "button", class: "danger", id: "delete-selected", disabled: !selected.size || undefined,
                   onclick: askDelete}, "Delete selected"),
      selected.size ? h("button", {type: "button", class: "secondary", id: "clear-selection",
                                   onclick: () => { selected.clear(); drawBulk(); syncChecks(); }}, "Clear selection") : null);
  };
  const syncChecks = () => {
    table.querySelectorAll("input[data-select]").forEach((b) => { b.checked = selected.has(b.dataset.select); });
    const boxes = [...table.querySelectorAll("input[data-select]")];
    const allBox = table.querySelector("#select-page");
    if (allBox) allBox.checked = boxes.length > 0 && boxes.every((b) => b.checked);
  };
  const askDelete = () => {
    const ids = [...selected];
    const cancel = h("button", {type: "button", class: "secondary", onclick: () => mount(confirmBox)}, "Cancel");
    const yes = h("button", {type: "button", class: "danger", id: "confirm-bulk-delete-yes", onclick: async () => {
      mount(confirmBox);
      mount(bulkMessage, notice(`Deleting ${ids.length} record${ids.length === 1 ? "" : "s"}…`, "info"));
      const out = await deleteRecords(name, ids);
      for (const id of ids) if (!out.failures.some((f) => f.id === id)) selected.delete(id);
      drawBulk();
      mount(bulkMessage,
        notice(`Deleted ${out.deleted} of ${ids.length} record${ids.length === 1 ? "" : "s"}` +
               `${out.batch ? " (batch API)" : ""}.`, out.failures.length ? "warning" : "success"),
        out.failures.length ? h("ul", {id: "bulk-failures", "aria-label": "Records not deleted"},
          out.failures.map((f) => h("li", {"data-id": f.id}, `${f.id}: ${f.message}`))) : null);
      state.total = null;
      await load();
    }}, `Yes, delete ${ids.length}`);
    mount(confirmBox, notice(`Delete ${ids.length} record${ids.length === 1 ? "" : "s"}? This cannot be undone.`,
                             "warning"), yes, " ", cancel);
    yes.focus();
  };

  const counting = async () => {
    const q = query();
    try {
      const out = await api("GET", `/api/collections/${encodeURIComponent(name)}/records`,
                            {query: {page: 1, perPage: 1, filter: q, fields: "id"}});
      if (q !== query()) return; // the filter changed meanwhile
      state.total = out.totalItems;
      count.textContent = `${out.totalItems} record${out.totalItems === 1 ? "" : "s"}`;
      drawPager(null);
    } catch { count.textContent = ""; }
  };

  let last = null;
  const drawPager = (out) => {
    if (out) last = out;
    if (!last) return;
    const pages = state.total === null ? null : Math.max(1, Math.ceil(state.total / PER_PAGE));
    const more = last.items.length === PER_PAGE && (pages === null || state.page < pages);
    mount(pager,
      h("button", {type: "button", id: "prev-page", disabled: state.page <= 1 || undefined,
                   onclick: () => { state.page -= 1; load(); }}, "Previous page"),
      h("span", {id: "page-info"}, pages === null ? `Page ${state.page}` : `Page ${state.page} of ${pages}`),
      h("button", {type: "button", id: "next-page", disabled: !more || undefined,
                   onclick: () => { state.page += 1; load(); }}, "Next page"));
  };

  const load = async () => {
    mount(message);
    let out;
    try {
      out = await api("GET", `/api/collections/${encodeURIComponent(name)}/records`,
                      {query: {page: state.page, perPage: PER_PAGE, skipTotal: 1, filter: query(), sort: state.sort,
                               expand: expand()}});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // Nothing of the old result stays on screen: it would look like the answer to this query.
      mount(table); mount(pager); mount(empty);
      last = null;
      count.textContent = "";
      state.total = null;
      mount(message, notice(errorText(err)),
        h("p", {class: "hint", id: "usable-fields"}, `Fields you can filter and sort by: ${usable.join(", ")}.`));
      return;
    }
    mount(empty, out.items.length ? null : state.page === 1 && !query()
      ? h("p", {class: "empty"}, "No records yet. ",
          // Not named "New record": that is the button above, and one name should mean one control.
          h("a", {href: `#/collections/${encodeURIComponent(name)}/records/new`, id: "empty-new-record"},
            "Create the first record"))
      : h("p", {class: "empty"}, "No records match."));
    if (state.total === null) counting();
    const fileToken = needsToken && out.items.length
      ? (await api("POST", "/api/files/token").catch(() => ({token: ""}))).token : "";
    const cols = visible();
    const pageBox = h("input", {type: "checkbox", id: "select-page", "aria-label": "Select all records on this page",
      onchange: (ev) => {
        out.items.forEach((r) => (ev.target.checked ? selected.add(r.id) : selected.delete(r.id)));
        syncChecks(); drawBulk();
      }});
    mount(table,
      h("caption", {}, `Records in ${coll.name}, page ${state.page}`),
      h("thead", {}, h("tr", {}, h("th", {scope: "col"}, pageBox), cols.map(header), h("th", {scope: "col"}, "Actions"))),
      h("tbody", {}, out.items.map((rec) => h("tr", {"data-id": rec.id},
        h("td", {}, h("input", {type: "checkbox", "data-select": rec.id, "aria-label": `Select record ${rec.id}`,
          checked: selected.has(rec.id), onchange: (ev) => {
            if (ev.target.checked) selected.add(rec.id); else selected.delete(rec.id);
            syncChecks(); drawBulk();
          }})),
        cols.map((c) => cell(coll, byName[c], rec, fileToken, targets)),
        h("td", {}, h("a", {href: `#/collections/${encodeURIComponent(name)}/records/${encodeURIComponent(rec.id)}`,
                           "aria-label": `Edit record ${rec.id}`}, "Edit"))))));
    syncChecks();
    drawPager(out);
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

  // The column picker: one checkbox per column (id always shows), remembered per collection.
  const picker = h("details", {id: "column-picker"}, h("summary", {}, "Columns"),
    h("fieldset", {}, h("legend", {}, "Columns shown"), all.filter((c) => c !== "id").map((c) => {
      const box = h("input", {type: "checkbox", id: nextId("col"), "data-column": c, checked: !hidden.has(c),
        onchange: () => {
          if (box.checked) hidden.delete(c); else hidden.add(c);
          saveHidden(coll, hidden);
          load();
        }});
      return h("div", {class: "check"}, box, h("label", {for: box.id}, c));
    })));

  const form = h("form", {id: "records-query", role: "search"},
    h("div", {class: "grid"}, labelled("Search", search), labelled("Filter", filter), labelled("Sort", sort)),
    h("button", {type: "submit"}, "Search"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const changed = filter.value.trim() !== state.filter || search.value.trim() !== state.search;
    Object.assign(state, {page: 1, filter: filter.value.trim(), search: search.value.trim(), sort: sort.value.trim()});
    if (changed) { state.total = null; count.textContent = ""; }
    load();
  });
  const enc = encodeURIComponent(name);
  drawBulk();
  mount(main, h("section", {},
    h("div", {class: "bar"}, h("h1", {}, coll.name), count,
      h("a", {class: "button", id: "new-record", href: `#/collections/${enc}/records/new`}, "New record"),
      h("a", {class: "button secondary", href: `#/collections/${enc}/edit`}, "Edit collection"),
      h("a", {class: "button secondary", id: "api-preview-link", href: `#/collections/${enc}/api`}, "API preview")),
    flashBox, form, picker, summaryPanel(name, coll, query, errorText), message, bulkBar, confirmBox, bulkMessage, h("div", {class: "scroll"}, table), empty, pager));
  await load();
}
