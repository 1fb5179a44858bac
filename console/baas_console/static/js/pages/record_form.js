// Create, edit or delete one record: a widget per field type, the server's per-field
// validation errors beside each field. Files go as multipart with the other values in
// "@jsonPayload" (as PocketBase's SDK sends them); removals as "field-".

import {api, ApiError} from "../api.js";
import {h, labelled, mount, nextId, notice, setError} from "../dom.js";
import {cellText} from "./records.js";

const SKIP = new Set(["id", "tokenKey"]); // never edited here (a new record's id is generated)

async function relationOptions(field) {
  const out = await api("GET", `/api/collections/${encodeURIComponent(field.collectionId)}/records`,
                        {query: {perPage: 200, skipTotal: 1}}).catch(() => ({items: []}));
  return out.items.map((r) => {
    const label = Object.entries(r).find(([k, v]) => !["id", "collectionId", "collectionName", "created",
      "updated"].includes(k) && typeof v === "string" && v)?.[1];
    return {value: r.id, text: label ? `${label} (${r.id})` : r.id};
  });
}

/** A widget for ``field`` holding ``value``: {control, read(), files?} */
async function widget(field, value, isNew) {
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
    case "select":
    case "relation": {
      const options = field.type === "select" ? field.values.map((v) => ({value: v, text: v})) : await relationOptions(field);
      const chosen = new Set(Array.isArray(value) ? value : value ? [value] : []);
      const c = h("select", {name: field.name, multiple: multi || undefined},
        multi ? null : h("option", {value: ""}, "—"),
        options.map((o) => h("option", {value: o.value, selected: chosen.has(o.value)}, o.text)));
      return {control: c, read: () => (multi ? [...c.selectedOptions].map((o) => o.value) : c.value)};
    }
    case "json": {
      const c = h("textarea", {name: field.name, rows: "4", spellcheck: "false"});
      c.value = value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
      return {control: c, read: () => { if (c.value.trim() === "") return null; return JSON.parse(c.value); }, json: true};
    }
    case "editor": {
      const c = h("textarea", {name: field.name, rows: "6"});
      c.value = value || "";
      return {control: c, read: () => c.value};
    }
    case "file": {
      const c = h("input", {type: "file", name: field.name, multiple: multi || undefined});
      const current = Array.isArray(value) ? value : value ? [value] : [];
      const removals = current.map((fname) => {
        const box = h("input", {type: "checkbox", id: nextId("rm"), value: fname});
        return {box, el: h("li", {}, h("span", {class: "filename"}, fname), " ",
                               box, h("label", {for: box.id}, `Remove ${fname}`))};
      });
      return {control: c, read: () => undefined, file: true,
              removed: () => removals.filter((r) => r.box.checked).map((r) => r.box.value),
              extra: current.length ? h("ul", {class: "files"}, removals.map((r) => r.el)) : null};
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
  const record = isNew ? {} : await api("GET", `/api/collections/${encodeURIComponent(name)}/records/${encodeURIComponent(id)}`);
  const base = `/api/collections/${encodeURIComponent(name)}/records`;
  const widgets = {};
  const rows = [];
  for (const field of coll.fields) {
    if (SKIP.has(field.name)) continue;
    const w = await widget(field, record[field.name], isNew);
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
      try { data[key] = w.read(); } catch { setError(w.control, "Invalid JSON."); bad = true; }
    }
    if (bad) return;
    let body = data;
    if (files.length) {
      body = new FormData();
      body.append("@jsonPayload", JSON.stringify(data));
      for (const [key, f] of files) body.append(key, f, f.name);
    }
    try {
      if (isNew) await api("POST", base, {body});
      else await api("PATCH", `${base}/${encodeURIComponent(id)}`, {body});
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
      h("a", {href: `#/collections/${encodeURIComponent(name)}/records`}, "Back to records")), confirmBox));
  main.querySelector("input, select, textarea")?.focus();
}
