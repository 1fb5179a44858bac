// The field editor: one row per field, with the options of its type. Rows edit plain field
// objects in the API's shape ({name, type, required, …options}); the collection form sends them.

import {h, labelled, nextId, setError} from "./dom.js";

export const TYPES = ["text", "number", "bool", "select", "date", "autodate", "email", "url", "editor", "json",
                      "relation", "file", "password"];

// type -> [option, kind, label]; kind: int | num | str | list | bool | collection
const DOMAINS = [["onlyDomains", "list", "Only these domains (comma-separated)"],
                 ["exceptDomains", "list", "Except these domains (comma-separated)"]];
export const OPTIONS = {
  text: [["min", "int", "Min length"], ["max", "int", "Max length"], ["pattern", "str", "Pattern (regular expression)"],
         ["autogeneratePattern", "str", "Autogenerate pattern (e.g. [a-z0-9]{8})"]],
  number: [["min", "num", "Min"], ["max", "num", "Max"], ["onlyInt", "bool", "Integers only"]],
  bool: [],
  select: [["values", "list", "Values (comma-separated)"], ["maxSelect", "int", "Max selected"]],
  date: [["min", "str", "Earliest (2024-01-31 00:00:00.000Z)"], ["max", "str", "Latest"]],
  autodate: [["onCreate", "bool", "Set on create"], ["onUpdate", "bool", "Set on update"]],
  email: DOMAINS,
  url: DOMAINS,
  editor: [["maxSize", "int", "Max size (bytes)"], ["convertURLs", "bool", "Convert URLs to relative ones"]],
  json: [["maxSize", "int", "Max size (bytes)"]],
  relation: [["collectionId", "collection", "Related collection"], ["maxSelect", "int", "Max selected"],
             ["minSelect", "int", "Min selected"], ["cascadeDelete", "bool", "Delete with the related record"]],
  file: [["maxSelect", "int", "Max files"], ["maxSize", "int", "Max size per file (bytes)"],
         ["mimeTypes", "list", "MIME types (comma-separated; empty: any)"], ["thumbs", "list", "Thumb sizes (e.g. 100x100)"],
         ["protected", "bool", "Protected (downloads need a file token)"]],
  password: [["min", "int", "Min length"], ["max", "int", "Max length"], ["pattern", "str", "Pattern (regular expression)"],
             ["cost", "int", "bcrypt cost (0: default)"]],
};
// New fields start with the server's defaults where they are not "off" (autodate: set on create).
export const DEFAULTS = {autodate: {onCreate: true}, password: {min: 8}};

// Integer options where 0 means "none" or "the server's default" (docs/schema.md, baas/schema/fields/):
// shown empty with what 0 means as the placeholder, and sent as 0 when left empty.
const ZERO_MEANS = {
  text: {min: "no limit", max: "no limit (default 5000)"},
  password: {max: "no limit (default 71)"},
  editor: {maxSize: "no limit (default 5 MB)"},
  json: {maxSize: "no limit (default 1 MB)"},
  file: {maxSize: "no limit (default 5 MB)"},
};

function optionControl(field, [key, kind, label], collections, changed) {
  if (kind === "bool") {
    const box = h("input", {type: "checkbox", id: nextId("opt"), checked: Boolean(field[key]),
                            onchange: (e) => { field[key] = e.target.checked; changed(); }});
    return h("div", {class: "row check"}, box, h("label", {for: box.id}, label));
  }
  if (kind === "collection") {
    const select = h("select", {name: key},
      h("option", {value: ""}, "— choose —"),
      collections.map((c) => h("option", {value: c.id, selected: c.id === field[key]}, c.name)));
    select.addEventListener("change", () => { field[key] = select.value; changed(); });
    return labelled(label, select);
  }
  // 0 means "no limit" for these, and the API takes 0 (docs/schema.md): shown empty, sent as 0.
  const unlimited = kind === "int" ? (ZERO_MEANS[field.type] || {})[key] : undefined;
  const shown = kind === "list" ? (field[key] || []).join(", ") : unlimited && !field[key] ? "" : field[key] ?? "";
  const input = h("input", {type: kind === "int" || kind === "num" ? "number" : "text", name: key, value: String(shown),
                            placeholder: unlimited || (key === "mimeTypes" ? "image/png, image/jpeg" : null)});
  if (kind === "num") input.step = "any";
  input.addEventListener("input", () => {
    const v = input.value.trim();
    field[key] = kind === "int" ? (v === "" ? 0 : parseInt(v, 10))
      : kind === "num" ? (v === "" ? null : Number(v))
      : kind === "list" ? v.split(",").map((s) => s.trim()).filter(Boolean)
      : input.value;
    changed();
  });
  return labelled(label, input);
}

// The index of the row being dragged (HTML5 drag and drop; the ↑/↓ buttons do the same by keyboard).
let dragging = null;

/** Make ``row`` (field ``index``) a drop target that calls ``onDrop(from)``, with ``handle`` to drag it by. */
function dragAndDrop(row, handle, index, onDrop) {
  handle.addEventListener("dragstart", (ev) => {
    dragging = index;
    ev.dataTransfer.effectAllowed = "move";
    ev.dataTransfer.setData("text/plain", String(index)); // Firefox starts no drag without data
    ev.dataTransfer.setDragImage(row, 10, 10);
    row.classList.add("dragging");
  });
  handle.addEventListener("dragend", () => { dragging = null; row.classList.remove("dragging"); });
  row.addEventListener("dragover", (ev) => {
    if (dragging === null || dragging === index) return;
    ev.preventDefault(); // allows the drop
    ev.dataTransfer.dropEffect = "move";
    row.classList.add("drop-target");
  });
  row.addEventListener("dragleave", () => row.classList.remove("drop-target"));
  row.addEventListener("drop", (ev) => {
    ev.preventDefault();
    row.classList.remove("drop-target");
    const from = dragging;
    dragging = null;
    if (from !== null && from !== index) onDrop(from);
  });
}

/** One field's row. ``onMove(delta)``/``onRemove()`` reorder and delete, ``onDrop(from)`` moves
 * field ``from`` to this row's place; ``changed()`` after any edit. */
export function fieldRow(field, index, count, {collections, changed, onMove, onRemove, onType, onDrop}) {
  const row = h("fieldset", {class: "field", "data-field-index": String(index), "data-field-name": field.name});
  const handle = h("span", {class: "drag-handle", draggable: "true", title: "Drag to reorder",
                            "data-drag-handle": String(index), "aria-hidden": "true"}, "⠿");
  if (onDrop) dragAndDrop(row, handle, index, onDrop);
  if (field.system) {
    // A system field keeps its name and type; its options (the id's pattern, the email's
    // domains, the password's length …) may change, as in PocketBase's dashboard.
    row.append(h("legend", {}, handle, `${field.name} (${field.type}, system)`));
    const options = OPTIONS[field.type] || [];
    if (options.length) {
      row.append(h("details", {class: "system-options"}, h("summary", {}, `Options of ${field.name}`),
        h("div", {class: "grid options"}, options.map((o) => optionControl(field, o, collections, changed)))));
    }
    return row;
  }
  row.append(h("legend", {}, handle, `Field ${index + 1}: ${field.name || "(new)"}`));
  const name = h("input", {type: "text", name: "name", value: field.name, required: true, autocomplete: "off"});
  name.addEventListener("input", () => { field.name = name.value; changed(); });
  const type = h("select", {name: "type"}, TYPES.map((t) => h("option", {value: t, selected: t === field.type}, t)));
  if (!TYPES.includes(field.type)) type.append(h("option", {value: field.type, selected: true}, field.type));
  type.addEventListener("change", () => onType(type.value));
  const FLAGS = {required: "Required", hidden: "Hidden", presentable: "Presentable (names the record in relations)"};
  const flags = Object.entries(FLAGS).map(([flag, label]) => {
    const box = h("input", {type: "checkbox", id: nextId("flag"), checked: Boolean(field[flag]),
                            onchange: (e) => { field[flag] = e.target.checked; changed(); }});
    return h("div", {class: "row check"}, box, h("label", {for: box.id}, label));
  });
  row.append(
    h("div", {class: "grid"}, labelled("Field name", name), labelled("Type", type)),
    h("div", {class: "grid"}, flags),
    h("div", {class: "grid options"}, (OPTIONS[field.type] || []).map((o) => optionControl(field, o, collections, changed))),
    h("div", {class: "actions"},
      h("button", {type: "button", disabled: index === 0 || undefined, onclick: () => onMove(-1),
                   "aria-label": `Move field ${field.name} up`}, "↑"),
      h("button", {type: "button", disabled: index === count - 1 || undefined, onclick: () => onMove(1),
                   "aria-label": `Move field ${field.name} down`}, "↓"),
      h("button", {type: "button", class: "danger", onclick: onRemove, "aria-label": `Remove field ${field.name}`},
        "Remove")));
  return row;
}

/** Show the server's per-field errors (data.fields.N.option) inside the rows. */
export function showFieldErrors(container, errors) {
  for (const [index, fieldErrors] of Object.entries(errors || {})) {
    const row = container.querySelector(`[data-field-index="${CSS.escape(index)}"]`);
    if (!row || typeof fieldErrors !== "object") continue;
    for (const [key, e] of Object.entries(fieldErrors)) {
      const control = row.querySelector(`[name="${CSS.escape(key)}"]`);
      const message = e && e.message ? e.message : String(e);
      if (control) setError(control, message);
      else row.append(h("p", {class: "error", role: "alert"}, `${key}: ${message}`));
    }
  }
}
