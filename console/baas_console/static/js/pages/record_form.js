// Create, edit or delete one record: a widget per field type, the server's per-field
// validation errors beside each field. Files go as multipart with the other values in
// "@jsonPayload" (as PocketBase's SDK sends them); removals as "field-".

import {api, ApiError} from "../api.js";
import {h, labelled, mount, nextId, notice, setError} from "../dom.js";
import {cellText, fileUrl, flash, recordLabel, thumbFor} from "./records.js";
import {dateTime, jsonArea, richText} from "../widgets.js";
import {authActions} from "./auth_actions.js";

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

const SKIP = new Set(["id", "tokenKey"]); // never edited here (a new record's id is generated)

/** Search the related collection by id and its text fields (the API's own filter syntax). */
async function searchRelated(target, term) {
  const texts = target.fields.filter((f) => !f.hidden && ["text", "email", "url"].includes(f.type)).map((f) => f.name);
  // A double-quoted filter literal: the lexer reads \" and \\ as escapes, and JSON writes both so.
  const lit = JSON.stringify(term);
  const filter = term ? ["id", ...texts].map((n) => `${n} ~ ${lit}`).join(" || ") : "";
  const out = await api("GET", `/api/collections/${encodeURIComponent(target.id)}/records`,
                        {query: {perPage: 20, skipTotal: 1, filter}});
  return out.items;
}

/** A relation picker: the chosen records (each removable) and a search that adds one. */
async function relationPicker(field, value, expanded) {
  const multi = (field.maxSelect || 1) > 1;
  const target = await api("GET", `/api/collections/${encodeURIComponent(field.collectionId)}`);
  const known = new Map([expanded].flat().filter(Boolean).map((r) => [r.id, recordLabel(r)]));
  let chosen = [value].flat().filter(Boolean);
  const search = h("input", {type: "search", name: field.name, autocomplete: "off",
                             placeholder: `Search ${target.name}`, "aria-controls": `${field.name}-results`});
  const list = h("ul", {class: "picker chosen", "aria-label": `Chosen ${field.name}`});
  const results = h("ul", {class: "picker", id: `${field.name}-results`, "aria-label": `${target.name} found`});
  const draw = () => mount(list, chosen.map((id) => h("li", {"data-id": id}, known.get(id) || id,
    h("button", {type: "button", class: "secondary", "aria-label": `Remove ${known.get(id) || id}`,
                 onclick: () => { chosen = chosen.filter((x) => x !== id); draw(); search.focus(); }}, "Remove"))));
  let seq = 0;
  const find = async () => {
    const mine = ++seq;
    const items = await searchRelated(target, search.value.trim()).catch(() => []);
    if (mine !== seq) return; // an older answer after a newer question
    mount(results, items.map((r) => h("li", {}, h("button", {type: "button", class: "secondary",
      onclick: () => {
        known.set(r.id, recordLabel(r));
        chosen = multi ? [...new Set([...chosen, r.id])] : [r.id];
        draw(); search.focus();
      }}, `Choose ${recordLabel(r)}`))));
  };
  search.addEventListener("input", find);
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); results.querySelector("button")?.click(); }
  });
  draw();
  return {control: search, read: () => (multi ? chosen : chosen[0] || ""), extra: h("div", {}, list, results)};
}

/** A widget for ``field`` holding ``value``: {control, read(), files?} */
async function widget(field, value, isNew, expanded, fileUrlOf) {
  const multi = (field.maxSelect || 1) > 1;
  switch (field.type) {
    case "bool": {
      const c = h("input", {type: "checkbox", name: field.name, checked: Boolean(value)});
      return {control: c, read: () => c.checked, check: true};
    }
    case "number": {
      const c = h("input", {type: "number", step: "any", name: field.name, value: value === null || value === undefined ? "" : String(value)});
      return {control: c, read: () => (c.value === "" ? null : Number(c.value))};
    }
    case "relation":
      return relationPicker(field, value, expanded);
    case "select": {
      const options = field.values.map((v) => ({value: v, text: v}));
      const chosen = new Set(Array.isArray(value) ? value : value ? [value] : []);
      const c = h("select", {name: field.name, multiple: multi || undefined},
        multi ? null : h("option", {value: ""}, "—"),
        options.map((o) => h("option", {value: o.value, selected: chosen.has(o.value)}, o.text)));
      return {control: c, read: () => (multi ? [...c.selectedOptions].map((o) => o.value) : c.value)};
    }
    case "json":
      return jsonArea(field, value);
    case "editor":
      return richText(field, value);
    case "date":
      return dateTime(field, value);
    case "file": {
      const c = h("input", {type: "file", name: field.name, multiple: multi || undefined});
      const current = Array.isArray(value) ? value : value ? [value] : [];
      const removals = current.map((fname) => {
        const box = h("input", {type: "checkbox", id: nextId("rm"), value: fname});
        return {box, el: h("li", {}, IMAGE.test(fname) ? h("img", {class: "preview", src: fileUrlOf(field, fname), alt: fname})
          : null, h("span", {class: "filename"}, fname), " ", box, h("label", {for: box.id}, `Remove ${fname}`))};
      });
      // Chosen images previewed before upload, from blob: URLs (the CSP allows img-src blob:).
      const previews = h("ul", {class: "files previews", "aria-label": `${field.name} to upload`});
      c.addEventListener("change", () => {
        previews.querySelectorAll("img").forEach((img) => URL.revokeObjectURL(img.src));
        mount(previews, [...c.files].map((f) => h("li", {},
          f.type.startsWith("image/") ? h("img", {class: "preview", src: URL.createObjectURL(f), alt: f.name}) : null,
          h("span", {class: "filename"}, f.name))));
      });
      return {control: c, read: () => undefined, file: true,
              removed: () => removals.filter((r) => r.box.checked).map((r) => r.box.value),
              extra: h("div", {}, current.length ? h("ul", {class: "files"}, removals.map((r) => r.el)) : null, previews)};
    }
    case "password": {
      const c = h("input", {type: "password", name: field.name, autocomplete: "new-password", required: isNew || undefined});
      return {control: c, read: () => c.value, password: true};
    }
    case "autodate":
      return null;
    default: {
      const type = field.type === "email" ? "email" : field.type === "url" ? "url" : "text";
      const c = h("input", {type, name: field.name, value: value === null || value === undefined ? "" : String(value),
                            placeholder: field.type === "date" ? "2024-01-31 12:00:00.000Z" : null});
      return {control: c, read: () => c.value};
    }
  }
}

export async function render(main, [name, id]) {
  const coll = await api("GET", `/api/collections/${encodeURIComponent(name)}`);
  const isNew = id === "new";
  const expand = coll.fields.filter((f) => f.type === "relation").map((f) => f.name).join(",");
  const record = isNew ? {} : await api("GET", `/api/collections/${encodeURIComponent(name)}/records/${encodeURIComponent(id)}`,
                                        {query: {expand}});
  const fileToken = !isNew && coll.fields.some((f) => f.type === "file" && f.protected)
    ? (await api("POST", "/api/files/token").catch(() => ({token: ""}))).token : "";
  const fileUrlOf = (field, fname) => fileUrl(coll, record, fname, field.protected ? fileToken : "", thumbFor(field));
  const base = `/api/collections/${encodeURIComponent(name)}/records`;
  const widgets = {};
  const rows = [];
  for (const field of coll.fields) {
    if (SKIP.has(field.name)) continue;
    const w = await widget(field, record[field.name], isNew, (record.expand || {})[field.name], fileUrlOf);
    if (!w) continue;
    widgets[field.name] = w;
    const label = `${field.name}${field.required ? " (required)" : ""}`;
    if (w.check) {
      w.control.id = nextId();
      const error = h("p", {class: "error", id: w.control.id + "-error", role: "alert"});
      w.control.setAttribute("aria-describedby", error.id);
      rows.push(h("div", {class: "row check", "data-field": field.name}, w.control, h("label", {for: w.control.id}, label), error));
    } else {
      const row = labelled(label, w.control);
      row.dataset.field = field.name;
      if (w.before) w.control.before(w.before);
      if (w.extra) row.append(w.extra);
      rows.push(row);
    }
    if (w.password) {
      const confirm = h("input", {type: "password", name: "passwordConfirm", autocomplete: "new-password"});
      widgets.passwordConfirm = {control: confirm, read: () => confirm.value, password: true};
      rows.push(labelled("passwordConfirm", confirm));
    }
  }
  const message = h("div", {id: "form-message"});
  // A field's error goes as soon as the field is edited; the banner with the last one.
  for (const w of Object.values(widgets)) {
    if (w.validate) continue; // checks itself as it is typed (JSON): its own message is the current one
    const clear = () => {
      if (w.control.getAttribute("aria-invalid") !== "true") return;
      setError(w.control, "");
      if (!main.querySelector("[aria-invalid=true]")) mount(message);
    };
    w.control.addEventListener("input", clear);
    w.control.addEventListener("change", clear);
  }

  const submit = async (ev) => {
    ev.preventDefault();
    mount(message);
    for (const w of Object.values(widgets)) setError(w.control, "");
    const data = {};
    const files = [];
    let bad = false;
    for (const [key, w] of Object.entries(widgets)) {
      if (w.file) {
        for (const f of w.control.files) files.push([key, f]);
        const removed = w.removed();
        if (removed.length) data[`${key}-`] = removed;
        continue;
      }
      if (w.password && !w.control.value) continue; // unchanged password
      if (w.validate && !w.validate()) { bad = true; continue; }
      try { data[key] = w.read(); } catch { setError(w.control, "Invalid JSON."); bad = true; }
    }
    if (bad) { main.querySelector("[aria-invalid=true]")?.focus(); return; }
    let body = data;
    if (files.length) {
      body = new FormData();
      body.append("@jsonPayload", JSON.stringify(data));
      for (const [key, f] of files) body.append(key, f, f.name);
    }
    try {
      const out = isNew ? await api("POST", base, {body})
        : await api("PATCH", `${base}/${encodeURIComponent(id)}`, {body});
      flash(name, `Record ${out.id} ${isNew ? "created" : "saved"}.`);
      location.hash = `#/collections/${encodeURIComponent(name)}/records`;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(message, notice(err.message));
      for (const [key, e] of Object.entries(err.data)) {
        const w = widgets[key.replace(/[+-]$/, "")];
        const text = e && e.message ? e.message : cellText(e);
        if (w) setError(w.control, text);
        else message.append(notice(`${key}: ${text}`));
      }
      main.querySelector("[aria-invalid=true]")?.focus();
    }
  };
  // Two steps instead of window.confirm: keyboard and screen readers stay in the page.
  const confirmBox = h("div", {id: "confirm-delete"});
  const remove = () => mount(confirmBox, notice(`Delete record ${id}? This cannot be undone.`, "warning"),
    h("button", {type: "button", class: "danger", id: "confirm-delete-record", onclick: reallyRemove}, "Yes, delete"));
  const reallyRemove = async () => {
    try {
      await api("DELETE", `${base}/${encodeURIComponent(id)}`);
      flash(name, `Record ${id} deleted.`);
      location.hash = `#/collections/${encodeURIComponent(name)}/records`;
    } catch (err) {
      mount(message, notice(err.message));
    }
  };
  mount(main, h("form", {id: "record-form", onsubmit: submit},
    h("h1", {}, isNew ? `New ${coll.name} record` : `${coll.name} record ${id}`),
    rows, message,
    h("div", {class: "actions"},
      h("button", {type: "submit", id: "save-record"}, isNew ? "Create" : "Save"),
      isNew ? null : h("button", {type: "button", class: "danger", id: "delete-record", onclick: remove}, "Delete"),
      h("a", {href: `#/collections/${encodeURIComponent(name)}/records`}, "Back to records")), confirmBox),
    !isNew && coll.type === "auth" ? await authActions(coll, record) : null);
  main.querySelector("input, select, textarea")?.focus();
}
