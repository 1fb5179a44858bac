// The rule playground: a collection's rule (saved, or edited here and not saved) run for a
// guest, a record of an auth collection or an API key — allow/deny, the records that requester
// would get, and which top-level part of the rule let nothing through
// (POST /api/collections/rules/playground; nothing is written).

import {allCollections, api, ApiError} from "../api.js";
import {h, labelled, mount, nextId, notice, setError} from "../dom.js";
import {ruleInput} from "../rules.js";
import {cellText} from "./records.js";

const ACTIONS = ["list", "view", "create", "update", "delete"];
const SHOWN_COLUMNS = 4;

function filterString(term) {
  // A double-quoted filter literal: the lexer reads \" and \\ as escapes, JSON writes both so.
  return JSON.stringify(term);
}

export async function render(main, [name]) {
  const collections = await allCollections();
  const coll = await api("GET", `/api/collections/${encodeURIComponent(name)}`);
  const authColls = collections.filter((c) => c.type === "auth" && c.name !== "_superusers");

  const action = h("select", {name: "action"}, ACTIONS.map((a) => h("option", {value: a}, a)));
  const rule = h("textarea", {name: "rule", rows: "2", spellcheck: "false"});
  const locked = h("input", {type: "checkbox", id: nextId("lock")});
  const loadRule = () => {
    const saved = coll[`${action.value}Rule`];
    locked.checked = saved === null;
    rule.disabled = saved === null;
    rule.value = saved ?? "";
    rule.dispatchEvent(new Event("blur"));
  };
  action.addEventListener("change", () => { loadRule(); bodyRow.hidden = action.value !== "create"; });
  locked.addEventListener("change", () => { rule.disabled = locked.checked; rule.dispatchEvent(new Event("blur")); });
  const suggestions = ruleInput(rule, () => coll, collections);

  const kind = h("select", {name: "requesterType"},
    h("option", {value: "guest"}, "Guest (not signed in)"),
    authColls.length ? h("option", {value: "record"}, "A user (record of an auth collection)") : null,
    h("option", {value: "apikey"}, "An API key"));
  const authColl = h("select", {name: "requesterCollection"}, authColls.map((c) => h("option", {value: c.name}, c.name)));
  const search = h("input", {type: "search", name: "requesterSearch", placeholder: "email or id", autocomplete: "off"});
  const who = h("select", {name: "requesterId"});
  const keys = h("select", {name: "apikeyId"});
  const userRows = h("div", {class: "grid", hidden: true}, labelled("Auth collection", authColl),
    labelled("Find a user", search), labelled("User", who));
  const keyRows = h("div", {class: "grid", hidden: true}, labelled("API key", keys));
  const submitted = h("textarea", {name: "body", rows: "3", spellcheck: "false"});
  submitted.value = "{}";
  const bodyRow = labelled("Submitted body (JSON, for create)", submitted);
  bodyRow.hidden = true;

  let searches = 0;  // only the newest search fills the list: answers can arrive out of order
  const findUsers = async () => {
    const mine = ++searches;
    const term = search.value.trim();
    const filter = term ? `email ~ ${filterString(term)} || id ~ ${filterString(term)}` : "";
    const out = await api("GET", `/api/collections/${encodeURIComponent(authColl.value)}/records`,
                          {query: {perPage: 50, skipTotal: 1, filter, sort: "email"}}).catch(() => ({items: []}));
    if (mine !== searches) return;  // a later search (typed since, or another collection) is on its way
    mount(who, out.items.map((r) => h("option", {value: r.id}, r.email ? `${r.email} (${r.id})` : r.id)));
  };
  search.addEventListener("input", findUsers);
  authColl.addEventListener("change", findUsers);
  kind.addEventListener("change", async () => {
    userRows.hidden = kind.value !== "record";
    keyRows.hidden = kind.value !== "apikey";
    if (kind.value === "record") await findUsers();
    if (kind.value === "apikey") {
      const out = await api("GET", "/api/apikeys", {query: {perPage: 200}});
      mount(keys, out.items.map((k) => h("option", {value: k.id}, `${k.name} (${k.id})`)));
    }
  });

  const result = h("section", {id: "playground-result", "aria-live": "polite"});
  const message = h("div", {id: "playground-message"});
  const run = async (ev) => {
    ev.preventDefault();
    mount(message);
    setError(rule, "");
    let sent;
    try { sent = JSON.parse(submitted.value || "{}"); } catch { setError(submitted, "Invalid JSON."); return; }
    const requester = kind.value === "guest" ? {type: "guest"}
      : kind.value === "record" ? {type: "record", collection: authColl.value, id: who.value}
        : {type: "apikey", id: keys.value};
    let out;
    try {
      out = await api("POST", "/api/collections/rules/playground", {body: {
        collection: coll.name, action: action.value, requester, rule: locked.checked ? null : rule.value, body: sent}});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(result);
      mount(message, notice(err.message));
      for (const [key, e] of Object.entries(err.data)) {
        const text = e && e.message ? e.message : cellText(e);
        if (key === "rule") setError(rule, text); else message.append(notice(`${key}: ${text}`));
      }
      return;
    }
    const verdict = out.allowed === true ? "Allowed" : out.allowed === false ? "Denied" : "Depends on the record";
    const columns = ["id", ...coll.fields.filter((f) => !f.hidden && f.name !== "id" && f.type !== "autodate")
      .slice(0, SHOWN_COLUMNS).map((f) => f.name)];
    mount(result,
      h("h2", {id: "verdict", class: out.allowed === true ? "allowed" : "denied"}, verdict),
      h("p", {id: "reason"}, out.reason),
      out.clauses.length > 1 || (out.clauses[0] && !out.allowed) ? [h("h3", {}, "Each part of the rule on its own"),
        h("ul", {id: "clauses", class: "plan"}, out.clauses.map((c) => h("li", {
          class: c.holds === false || c.matches === 0 ? "destructive" : ""},
        c.text, " — ", c.holds === true ? "holds" : c.holds === false ? "does not hold"
          : c.matches === undefined ? "reads the submitted record" : `${c.matches} record(s) pass`)))] : null,
      action.value === "create" ? null : h("div", {class: "scroll"}, h("table", {id: "playground-records"},
        h("caption", {}, `${out.totalItems} record(s) this requester would get` +
          (out.records.length < out.totalItems ? ` (first ${out.records.length} shown)` : "")),
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", {scope: "col"}, c)))),
        h("tbody", {}, out.records.map((r) => h("tr", {"data-id": r.id}, columns.map((c) => h("td", {}, cellText(r[c])))))))));
  };

  mount(main, h("form", {id: "playground", onsubmit: run},
    h("div", {class: "bar"}, h("h1", {}, `Rule playground: ${coll.name}`),
      h("a", {class: "button secondary", href: `#/collections/${encodeURIComponent(coll.name)}/edit`}, "Edit collection")),
    h("p", {class: "hint"}, "Try the saved rule, or edit it here first: nothing is saved or written."),
    h("div", {class: "grid"}, labelled("Action", action), labelled("Requester", kind)),
    userRows, keyRows,
    labelled("Rule", rule), suggestions,
    h("div", {class: "row check"}, locked, h("label", {for: locked.id}, "Superusers only (locked)")),
    bodyRow, message,
    h("div", {class: "actions"}, h("button", {type: "submit", id: "run-playground"}, "Run")),
    result));
  loadRule();
  action.focus();
}
