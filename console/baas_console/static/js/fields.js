// The field editor: one row per field, with the options of its type. Rows edit plain field
// objects in the API's shape ({name, type, required, …options}); the collection form sends them.

import {h, labelled, nextId, setError} from "./dom.js";

export const TYPES = ["text", "number", "bool", "select", "date", "email", "url", "editor", "json",
                      "relation", "file"];

// type -> [option, kind, label]; kind: int | num | str | list | bool | collection
const DOMAINS = [["onlyDomains", "list", "Only these domains (comma-separated)"],
                 ["exceptDomains", "list", "Except these domains (comma-separated)"]];
export const OPTIONS = {
  text: [["min", "int", "Min length"], ["max", "int", "Max length"], ["pattern", "str", "Pattern (regular expression)"]],
  number: [["min", "num", "Min"], ["max", "num", "Max"], ["onlyInt", "bool", "Integers only"]],
  bool: [],
  select: [["values", "list", "Values (comma-separated)"], ["maxSelect", "int", "Max selected"]],
  date: [["min", "str", "Earliest (2024-01-31 00:00:00.000Z)"], ["max", "str", "Latest"]],
  email: DOMAINS,
  url: DOMAINS,
  editor: [["maxSize", "int", "Max size (bytes)"]],
  json: [["maxSize", "int", "Max size (bytes)"]],
  relation: [["collectionId", "collection", "Related collection"], ["maxSelect", "int", "Max selected"],
             ["minSelect", "int", "Min selected"], ["cascadeDelete", "bool", "Delete with the related record"]],
  file: [["maxSelect", "int", "Max files"], ["maxSize", "int", "Max size per file (bytes)"],
         ["mimeTypes", "list", "MIME types (comma-separated)"], ["thumbs", "list", "Thumb sizes (e.g. 100x100)"],
         ["protected", "bool", "Protected (downloads need a file token)"]],
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
  const shown = kind === "list" ? (field[key] || []).join(", ") : field[key] ?? "";
  const input = h("input", {type: kind === "int" || kind === "num" ? "number" : "text", name: key, value: String(shown)});
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

/** One field's row. ``onMove(delta)``/``onRemove()`` reorder and delete; ``changed()`` after any edit. */
export function fieldRow(field, index, count, {collections, changed, onMove, onRemove, onType}) {
  const row = h("fieldset", {class: "field", "data-field-index": String(index), "data-field-name": field.name});
  if (field.system) {
    row.append(h("legend", {}, `${field.name} (${field.type}, system)`));
    return row;
  }
  row.append(h("legend", {}, `Field ${index + 1}: ${field.name || "(new)"}`));
  const name = h("input", {type: "text", name: "name", value: field.name, required: true, autocomplete: "off"});
  name.addEventListener("input", () => { field.name = name.value; changed(); });
  const type = h("select", {name: "type"}, TYPES.map((t) => h("option", {value: t, selected: t === field.type}, t)));
  if (!TYPES.includes(field.type)) type.append(h("option", {value: field.type, selected: true}, field.type));
  type.addEventListener("change", () => onType(type.value));
  const flags = ["required", "hidden"].map((flag) => {
    const box = h("input", {type: "checkbox", id: nextId("flag"), checked: Boolean(field[flag]),
                            onchange: (e) => { field[flag] = e.target.checked; changed(); }});
    return h("div", {class: "row check"}, box, h("label", {for: box.id}, flag === "required" ? "Required" : "Hidden"));
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
