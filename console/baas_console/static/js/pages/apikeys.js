// API keys (GET / POST / DELETE /api/apikeys, docs/auth.md "API keys"): the list with scopes, owner and
// use; a new key with a scopes picker and an expiry, shown once with a copy button; revoke after a
// second click in the page. The server stores only a hash: a key lost here is gone for good.

import {allCollections, api, ApiError} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

const ACTIONS = ["list", "view", "create", "update", "delete"];

async function allKeys() {
  const items = [];
  for (let page = 1; ; page++) {
    const out = await api("GET", "/api/apikeys", {query: {page, perPage: 200}});
    items.push(...out.items);
    if (page >= out.totalPages || !out.items.length) return items;
  }
}

/** Superuser id -> email, for the "created by" column (ids of deleted superusers stay ids). */
async function owners() {
  const out = await api("GET", "/api/collections/_superusers/records", {query: {perPage: 500, fields: "id,email"}});
  return new Map(out.items.map((r) => [r.id, r.email]));
}

function scopesText(scopes) {
  return (scopes || []).map((s) => `${s.collection === "*" ? "any collection" : s.collection}: ${s.actions.join(", ")}`)
    .join("; ");
}

function state(key) {
  if (key.revoked) return "revoked";
  if (key.expires && new Date(key.expires.replace(" ", "T")) <= new Date()) return "expired";
  return "active";
}

export async function render(main) {
  const [keys, names, collections] = await Promise.all([allKeys(), owners(), allCollections()]);
  const status = h("div", {id: "apikeys-status", "aria-live": "polite"});

  // -- the list -------------------------------------------------------------------------------------
  const rows = keys.map((key) => {
    const confirmCell = h("td", {class: "actions-cell"});
    const revoke = h("button", {type: "button", class: "danger", disabled: key.revoked,
      "aria-label": `Revoke key ${key.name}`, onclick: () => {
        mount(confirmCell, h("span", {}, `Revoke "${key.name}"? Requests with it will be refused. `),
          h("button", {type: "button", class: "danger", "aria-label": `Yes, revoke key ${key.name}`, onclick: async () => {
            try {
              await api("DELETE", `/api/apikeys/${encodeURIComponent(key.id)}`);
              await render(main);
              mount(document.getElementById("apikeys-status"), notice(`Key "${key.name}" revoked.`, "ok"));
            } catch (err) {
              if (!(err instanceof ApiError)) throw err;
              mount(status, notice(err.message));
            }
          }}, "Yes, revoke"),
          h("button", {type: "button", class: "secondary", onclick: () => mount(confirmCell, revoke)}, "Cancel"));
        confirmCell.querySelector("button").focus();
      }}, "Revoke");
    mount(confirmCell, revoke);
    return h("tr", {"data-key-id": key.id},
      h("td", {class: "key-name"}, key.name), h("td", {}, names.get(key.createdBy) || key.createdBy || ""),
      h("td", {class: "wrap"}, scopesText(key.scopes)), h("td", {}, key.created), h("td", {}, key.lastUsed || "never"),
      h("td", {}, key.expires || "never"), h("td", {}, state(key)), confirmCell);
  });
  const table = keys.length
    ? h("div", {class: "scroll"}, h("table", {id: "apikey-list"},
        h("caption", {}, `${keys.length} key(s); only a hash of each is stored`),
        h("thead", {}, h("tr", {}, ["Name", "Created by", "Scopes", "Created", "Last used", "Expires", "State", ""]
          .map((t) => h("th", {}, t)))),
        h("tbody", {}, rows)))
    : h("p", {id: "apikey-list", class: "hint"}, "No API keys yet.");

  // -- a new key --------------------------------------------------------------------------------------
  const name = h("input", {type: "text", id: "apikey-name", maxlength: "100", required: true});
  const expires = h("input", {type: "datetime-local", id: "apikey-expires"});
  const scopes = [{collection: collections.find((c) => !c.system)?.name || "*", actions: ["list", "view"]}];
  const scopeList = h("div", {id: "apikey-scopes"});
  const scopesError = h("p", {class: "error", id: "apikey-scopes-error", role: "alert"});
  const drawScopes = () => mount(scopeList, scopes.map((scope, i) => {
    const n = i + 1;
    const coll = h("select", {"aria-label": `Scope ${n} collection`, onchange: () => { scope.collection = coll.value; }},
      h("option", {value: "*", selected: scope.collection === "*"}, "any collection (*)"),
      collections.map((c) => h("option", {value: c.name, selected: c.name === scope.collection}, c.name)));
    const boxes = ACTIONS.map((a) => {
      const box = h("input", {type: "checkbox", checked: scope.actions.includes(a), "aria-label": `Scope ${n} ${a}`,
        onchange: () => {
          scope.actions = ACTIONS.filter((x) => (x === a ? box.checked : scope.actions.includes(x)));
        }});
      return h("label", {class: "inline"}, box, " ", a);
    });
    return h("fieldset", {class: "scope"}, h("legend", {}, `Scope ${n}`), coll, boxes,
      h("button", {type: "button", class: "secondary", "aria-label": `Remove scope ${n}`,
        onclick: () => { scopes.splice(i, 1); drawScopes(); }}, "Remove"));
  }));
  drawScopes();
  const shown = h("div", {id: "apikey-form-result", "aria-live": "polite"});
  const controls = {name, expires};
  const form = h("form", {id: "apikey-form", class: "panel", novalidate: true},
    h("h2", {}, "New API key"),
    h("div", {class: "grid"}, labelled("Key name", name),
      labelled("Expires (empty: never; your local time)", expires)),
    h("p", {class: "hint"}, "Scopes: the collections and actions the key may use. Collection rules still apply, " +
      "with the key as @request.auth."),
    scopeList, scopesError,
    h("div", {class: "actions"},
      h("button", {type: "button", class: "secondary", id: "add-scope",
        onclick: () => { scopes.push({collection: "*", actions: ["list"]}); drawScopes(); }}, "Add scope"),
      h("button", {type: "submit", id: "create-apikey"}, "Create key")),
    shown);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    mount(shown);
    setError(name, "");
    setError(expires, "");
    scopesError.textContent = "";
    let when = "";
    if (expires.value) {
      const d = new Date(expires.value);
      if (Number.isNaN(d.getTime())) { setError(expires, "Not a date."); return; }
      when = d.toISOString();
    }
    try {
      const made = await api("POST", "/api/apikeys", {body: {name: name.value, scopes, expires: when}});
      await render(main);
      showKey(made);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(shown, notice(err.message));
      for (const [k, e] of Object.entries(err.data)) {
        if (controls[k]) setError(controls[k], e.message);
        else if (k.startsWith("scopes")) scopesError.textContent = `${k.replace(/^scopes\.(\d+)/, (_, i) => `Scope ${+i + 1}`)}: ${e.message}`;
      }
    }
  });

  mount(main, h("section", {},
    h("div", {class: "bar"}, h("h1", {}, "API keys")),
    h("p", {class: "hint"}, "Long-lived credentials for servers and scripts: send one as the Authorization header. " +
      "A key is never a superuser."),
    status, h("div", {id: "new-apikey"}), table, form));
  name.focus();
}

/** The new key, once: a read-only field and a copy button (the API never shows it again). */
function showKey(made) {
  const box = document.getElementById("new-apikey");
  const value = h("input", {type: "text", readonly: true, id: "new-apikey-value", value: made.key, size: "60"});
  const copied = h("span", {id: "copy-status", "aria-live": "polite"});
  const copy = h("button", {type: "button", id: "copy-apikey", onclick: async () => {
    value.select();
    try {
      await navigator.clipboard.writeText(made.key);
      copied.textContent = "Copied.";
    } catch {
      copied.textContent = "Copy it by hand: the text is selected.";
    }
  }}, "Copy key");
  mount(box, notice(`Key "${made.name}" created. Copy it now: it is not shown again.`, "warning"),
    h("div", {class: "actions"}, labelled("The new key", value), copy, copied));
  value.focus();
  value.select();
}
