// Create or edit a collection: fields, rules, indexes; a view's query; an auth collection's
// options (pages/auth_options.js). Nothing is applied before the planner's
// diff (POST /api/collections/plan) has been shown, and a change that loses data needs an
// explicit tick ("acceptDataLoss"). Any edit after planning hides the plan again.

import {allCollections, api, ApiError} from "../api.js";
import {h, labelled, mount, nextId, notice, setError} from "../dom.js";
import {DEFAULTS, fieldRow, OPTIONS, showFieldErrors} from "../fields.js";
import {ruleInput} from "../rules.js";
import {AUTH_OPTION_KEYS, authOptions} from "./auth_options.js";

const RULES = [["listRule", "List rule"], ["viewRule", "View rule"], ["createRule", "Create rule"],
               ["updateRule", "Update rule"], ["deleteRule", "Delete rule"]];
// Auth collections only: who may manage other users' email/password, and who may sign in.
const AUTH_RULES = [["manageRule", "Manage rule"], ["authRule", "Auth rule"]];

// One line per collection type, shown under the type choice.
const TYPE_HINTS = {
  base: "base: a table of records you define (posts, products, …).",
  auth: "auth: records that can sign in (users): adds email, password and the sign-in options.",
  view: "view: read-only records computed by a SELECT query over other collections.",
};

/** A plan line's field count as the user sees it: the server counts its own system fields too. */
export function planText(text, coll) {
  const mine = (coll.fields || []).filter((f) => !f.system && f.name !== "id").length;
  return text.replace(/\((\w+), (\d+) fields\)/, (all, type, n) => {
    const extra = Number(n) - mine;
    if (coll.type === "view" || extra < 1) return all;
    return `(${type}, ${mine} field${mine === 1 ? "" : "s"} + ${extra === 1 ? "id" : `${extra} system fields`})`;
  });
}

function blankField(type, name = "") {
  const f = {name, type, required: false, hidden: false};
  for (const [key, kind] of OPTIONS[type] || []) {
    f[key] = kind === "bool" ? false : kind === "int" ? 0 : kind === "num" ? null : kind === "list" ? [] : "";
  }
  if (type === "select" || type === "relation" || type === "file") f.maxSelect = 1;
  return {...f, ...(DEFAULTS[type] || {})};
}

export async function render(main, [name]) {
  const collections = await allCollections();
  const editing = name !== undefined;
  const coll = editing ? structuredClone(await api("GET", `/api/collections/${encodeURIComponent(name)}`))
    : {name: "", type: "base", fields: [], indexes: [], listRule: null, viewRule: null, createRule: null,
       updateRule: null, deleteRule: null, manageRule: null, authRule: "", viewQuery: ""};

  const message = h("div", {id: "form-message"});
  const planBox = h("section", {id: "plan", "aria-live": "polite"});
  const fieldsBox = h("div", {id: "fields"});
  const clearPlan = () => mount(planBox);

  const nameInput = h("input", {type: "text", name: "name", value: coll.name, required: true, autocomplete: "off"});
  nameInput.addEventListener("input", () => { coll.name = nameInput.value; clearPlan(); });
  const typeSelect = h("select", {name: "type", disabled: editing || undefined},
    ["base", "auth", "view"].map((t) => h("option", {value: t, selected: t === coll.type}, t)));
  const typeHint = h("p", {class: "hint", id: "type-hint"});
  const drawTypeHint = () => { typeHint.textContent = TYPE_HINTS[coll.type] || ""; };
  drawTypeHint();
  typeSelect.addEventListener("change", () => {
    coll.type = typeSelect.value;
    drawTypeHint();
    showType();
    clearPlan();
  });
  // A view: its SELECT, the fields the server derives from it (read-only), list/view rules only.
  const viewQuery = h("textarea", {name: "viewQuery", rows: "4", spellcheck: "false",
                                   placeholder: "SELECT id, title FROM posts WHERE published = TRUE"});
  viewQuery.value = coll.viewQuery || "";
  viewQuery.addEventListener("input", () => { coll.viewQuery = viewQuery.value; clearPlan(); });
  const viewFields = h("ul", {id: "view-fields", class: "view-fields"});
  const drawViewFields = (fields, note) => mount(viewFields,
    fields && fields.length ? fields.map((f) => h("li", {"data-view-field": f.name}, h("code", {}, f.name), " ",
      h("span", {class: "badge"}, f.type))) : h("li", {class: "hint"}, note));
  drawViewFields(editing ? coll.fields : [], "Derived from the query: Review changes shows them.");
  const viewBox = h("section", {id: "view-options"}, h("h2", {}, "View query"),
    labelled("View query (one SELECT; it must select an id column)", viewQuery),
    h("h3", {}, "Fields (derived by the server from the query, read-only)"), viewFields);

  const drawFields = () => {
    mount(fieldsBox, coll.fields.map((f, i) => fieldRow(f, i, coll.fields.length, {
      collections,
      changed: clearPlan,
      onDrop: (from) => {
        const [moved] = coll.fields.splice(from, 1);
        coll.fields.splice(i, 0, moved);
        clearPlan(); drawFields();
      },
      onMove: (delta) => {
        const [moved] = coll.fields.splice(i, 1);
        coll.fields.splice(i + delta, 0, moved);
        clearPlan(); drawFields();
        fieldsBox.querySelector(`[data-field-index="${i + delta}"] input[name=name]`)?.focus();
      },
      onRemove: () => { coll.fields.splice(i, 1); clearPlan(); drawFields(); },
      onType: (type) => {
        coll.fields[i] = {...blankField(type, f.name), id: f.id, required: f.required, hidden: f.hidden};
        clearPlan(); drawFields();
        fieldsBox.querySelector(`[data-field-index="${i}"] select[name=type]`)?.focus();
      },
    })));
  };
  drawFields();
  const newType = h("select", {name: "newFieldType"}, Object.keys(OPTIONS).map((t) => h("option", {value: t}, t)));
  const addField = h("button", {type: "button", id: "add-field", onclick: () => {
    coll.fields.push(blankField(newType.value));
    clearPlan(); drawFields();
    fieldsBox.querySelector(`[data-field-index="${coll.fields.length - 1}"] input[name=name]`)?.focus();
  }}, "Add field");

  const ruleControls = {};
  const ruleRow = ([key, label]) => {
    const text = h("textarea", {name: key, rows: "2", spellcheck: "false", disabled: coll[key] === null || undefined});
    text.value = coll[key] ?? "";
    const locked = h("input", {type: "checkbox", id: nextId("lock"), checked: coll[key] === null});
    text.addEventListener("input", () => { coll[key] = text.value; clearPlan(); });
    locked.addEventListener("change", () => {
      text.disabled = locked.checked;
      coll[key] = locked.checked ? null : text.value;
      clearPlan();
    });
    ruleControls[key] = text;
    // Checked against the server as you type, with the draft as it is now (unsaved fields count).
    const suggestions = ruleInput(text, () => ({...body(), id: coll.id}), collections);
    locked.addEventListener("change", () => text.dispatchEvent(new Event("blur")));
    return h("div", {class: "rule"}, labelled(label, text), suggestions,
      h("div", {class: "row check"}, locked, h("label", {for: locked.id}, `${label}: superusers only`)));
  };
  const rules = RULES.map(ruleRow);
  // Views answer list and view only: their create/update/delete rules are always null.
  const writeRules = rules.slice(2);
  const authRules = h("div", {id: "auth-rules", hidden: coll.type !== "auth" || undefined},
    h("h3", {}, "Auth rules"), AUTH_RULES.map(ruleRow));
  const indexes = h("textarea", {name: "indexes", rows: "3", spellcheck: "false"});
  indexes.value = (coll.indexes || []).join("\n");
  indexes.addEventListener("input", () => {
    coll.indexes = indexes.value.split("\n").map((s) => s.trim()).filter(Boolean);
    clearPlan();
  });

  const rulesOf = (list) => Object.fromEntries(list.map(([k]) => [k, coll[k] === undefined ? null : coll[k]]));
  // A view sends no fields: the server derives them from the query (keeping their ids).
  const body = () => (coll.type === "view"
    ? {name: coll.name, type: "view", viewQuery: coll.viewQuery || "", ...rulesOf(RULES.slice(0, 2))}
    : {name: coll.name, type: coll.type, fields: coll.fields, indexes: coll.indexes || [],
       ...rulesOf([...RULES, ...(coll.type === "auth" ? AUTH_RULES : [])]),
       ...(coll.type === "auth" ? Object.fromEntries(AUTH_OPTION_KEYS.map((k) => [k, coll[k] || {}])) : {})});
  const auth = authOptions(coll, {changed: clearPlan, saved: editing ? coll.name : ""});
  const authBox = auth.element;
  const tableParts = [];
  const showType = () => {
    const view = coll.type === "view";
    authRules.hidden = coll.type !== "auth";
    authBox.hidden = coll.type !== "auth";
    viewBox.hidden = !view;
    for (const el of [...tableParts, ...writeRules]) el.hidden = view;
  };

  const showErrors = (err) => {
    mount(message, notice(err.message));
    const top = {name: nameInput, indexes, viewQuery, ...ruleControls};
    const placed = auth.showErrors(err.data || {});
    for (const [key, e] of Object.entries(err.data || {})) {
      if (placed.has(key)) continue;
      if (key === "fields") showFieldErrors(fieldsBox, e);
      else if (top[key] && !top[key].closest("[hidden]")) setError(top[key], e.message);
      else message.append(notice(`${key}: ${e && e.message ? e.message : JSON.stringify(e)}`));
    }
  };
  const resetErrors = () => {
    mount(message);
    main.querySelectorAll("p.error").forEach((p) => { p.textContent = ""; });
    main.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
  };

  // Plan, show the diff, and only then offer the button that applies it.
  const review = async (action, apply, applyLabel) => {
    resetErrors();
    clearPlan();
    let plan;
    try {
      plan = await api("POST", "/api/collections/plan", {body: {action, target: coll.id, collection: body()}});
    } catch (err) {
      if (err instanceof ApiError) { showErrors(err); return; }
      throw err;
    }
    const consent = h("input", {type: "checkbox", id: "accept-data-loss"});
    const go = h("button", {type: "button", id: "apply", disabled: plan.destructive || undefined}, applyLabel);
    consent.addEventListener("change", () => { go.disabled = !consent.checked; });
    go.addEventListener("click", async () => {
      go.disabled = true;
      try {
        await apply(plan.destructive && consent.checked);
      } catch (err) {
        go.disabled = false;
        if (err instanceof ApiError) { showErrors(err); return; }
        throw err;
      }
    });
    const derived = plan.changes.find((c) => c.fields);
    if (coll.type === "view" && derived) drawViewFields(derived.fields, "");
    mount(planBox, h("h2", {}, "Planned changes"),
      plan.changes.length ? h("ul", {class: "plan"}, plan.changes.map((c) =>
        h("li", {class: c.destructive ? "destructive" : ""}, planText(c.text, coll)))) : h("p", {}, "No changes."),
      plan.destructive ? [notice("This change deletes data that cannot be recovered."),
        h("div", {class: "row check"}, consent, h("label", {for: consent.id}, "I accept the data loss"))] : null,
      go);
    go.disabled ? consent.focus() : go.focus();
  };

  const save = (accept) => (editing
    ? api("PATCH", `/api/collections/${encodeURIComponent(coll.id)}`, {body: {...body(), acceptDataLoss: accept}})
    : api("POST", "/api/collections", {body: {...body(), acceptDataLoss: accept}}))
    .then((out) => { location.hash = `#/collections/${encodeURIComponent(out.name)}/records`; });
  const remove = () => api("DELETE", `/api/collections/${encodeURIComponent(coll.id)}`)
    .then(() => { location.hash = "#/collections"; });

  tableParts.push(h("h2", {}, "Fields"), fieldsBox,
    h("div", {class: "grid"}, labelled("New field type", newType), h("div", {class: "row"}, addField)));
  const indexPart = h("div", {}, h("h2", {}, "Indexes"),
    labelled("Indexes (one CREATE INDEX statement per line)", indexes));
  tableParts.push(indexPart);
  showType();
  mount(main, h("form", {id: "collection-form", onsubmit: (e) => { e.preventDefault(); review(editing ? "update" : "create", save, "Apply changes"); }},
    h("h1", {}, editing ? `Edit collection ${coll.name}` : "New collection"),
    h("div", {class: "grid"}, labelled("Collection name", nameInput), labelled("Collection type", typeSelect)),
    typeHint,
    tableParts.slice(0, 3), viewBox,
    h("h2", {}, "API rules"),
    h("p", {class: "hint"}, "Empty: anyone. Superusers only: locked. Otherwise a filter each record must match, " +
      "e.g. @request.auth.id != \"\"."),
    rules, authRules, indexPart, authBox,
    message,
    // Sticky at the bottom of the window (style.css): the form is long, Review stays in reach.
    h("div", {class: "actions sticky-actions"},
      h("button", {type: "submit", id: "review"}, "Review changes"),
      editing ? h("a", {class: "button secondary", id: "open-playground",
        href: `#/collections/${encodeURIComponent(coll.name)}/playground`}, "Rule playground") : null,
      editing && !coll.system ? h("button", {type: "button", class: "danger", id: "delete-collection",
        onclick: () => review("delete", remove, "Delete collection")}, "Delete collection…") : null),
    planBox));
  nameInput.focus();
}
