// Outgoing webhooks (docs/webhooks.md): the list with each webhook's state, a form for webhooks
// made over the API (those of baas.yaml can only be enabled or disabled here), the delivery log
// with every attempt, replay of one delivery or of a time range, and "send test event" — all
// through /api/webhooks. Secrets are write-only: the API never answers them, and neither does
// this page (a generated secret is shown once, before it is saved).

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice} from "../dom.js";

const STATES = ["", "pending", "sending", "delivered", "dead"];
const DELIVERY_COLUMNS = ["created", "type", "state", "attempts", "last status", "last error", "next attempt", ""];

const path = (name, rest = "") => `/api/webhooks/${encodeURIComponent(name)}${rest}`;

/** A new `whsec_` secret: 32 random bytes, base64 (the Standard Webhooks form). */
function newSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "whsec_" + btoa(String.fromCharCode(...bytes));
}

/** "Name: value" lines -> {Name: value}; throws on a line without a colon. */
function parseHeaders(text) {
  const out = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf(":");
    if (at < 1) throw new Error(`Header line "${line}" needs "Name: value".`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

function attemptsList(d) {
  if (!d.log || !d.log.length) return h("p", {class: "hint"}, "No attempt yet.");
  return h("ol", {class: "attempts", "aria-label": `Attempts of delivery ${d.id}`},
    d.log.map((a) => h("li", {},
      `#${a.attempt} at ${a.at}: `, a.status ? `HTTP ${a.status}` : "no answer",
      a.latencyMs != null ? ` in ${Math.round(a.latencyMs)} ms` : "",
      a.error ? ` — ${a.error}` : "",
      a.response ? h("pre", {class: "response"}, a.response) : null)));
}

async function showDeliveries(hook, box, status, state = "") {
  const out = await api("GET", path(hook.name, "/deliveries"), {query: {perPage: 50, state}});
  const stateSelect = h("select", {id: "delivery-state"},
    STATES.map((s) => h("option", {value: s, selected: s === state}, s || "any state")));
  stateSelect.addEventListener("change", () => showDeliveries(hook, box, status, stateSelect.value)
    .catch((err) => mount(status, notice(err.message))));
  const from = h("input", {type: "text", id: "replay-from", placeholder: "2026-01-02 03:04:05Z"});
  const to = h("input", {type: "text", id: "replay-to", placeholder: "empty: now"});
  const rows = out.items.map((d) => {
    const detail = h("tr", {class: "delivery-detail", hidden: true}, h("td", {colspan: 8}, attemptsList(d)));
    return [h("tr", {"data-delivery": d.id, class: `delivery state-${d.state}`},
      h("td", {}, d.created), h("td", {}, d.type), h("td", {class: "delivery-state"}, d.state),
      h("td", {}, String(d.attempts)), h("td", {}, d.lastStatus ? String(d.lastStatus) : "—"),
      h("td", {class: "delivery-error"}, d.lastError || ""), h("td", {}, d.nextAttempt || "—"),
      h("td", {class: "row-actions"},
        h("button", {type: "button", class: "secondary", "aria-label": `Attempts of ${d.id}`,
          onclick: () => { detail.hidden = !detail.hidden; }}, "Attempts"),
        h("button", {type: "button", "aria-label": `Replay ${d.id}`, onclick: async () => {
          try {
            const r = await api("POST", path(hook.name, `/deliveries/${encodeURIComponent(d.id)}/replay`));
            mount(status, notice(`Queued again as ${r.id}.`, "ok"));
            await showDeliveries(hook, box, status, stateSelect.value);
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            mount(status, notice(err.message));
          }
        }}, "Replay"))), detail];
  });
  mount(box,
    h("h2", {}, `Deliveries of ${hook.name}`),
    labelled("Show deliveries in state", stateSelect),
    out.items.length
      ? h("table", {class: "deliveries", "aria-label": `Deliveries of ${hook.name}`},
          h("thead", {}, h("tr", {}, DELIVERY_COLUMNS.map((c) => h("th", {scope: "col"}, c)))),
          h("tbody", {}, rows))
      : h("p", {class: "hint", id: "no-deliveries"}, "No deliveries."),
    h("form", {id: "replay-range", onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const r = await api("POST", path(hook.name, "/replay"), {body: {from: from.value.trim(), to: to.value.trim()}});
        mount(status, notice(`${r.replayed} deliveries queued again.`, "ok"));
        await showDeliveries(hook, box, status, stateSelect.value);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        mount(status, notice(err.message));
      }
    }},
      h("h3", {}, "Replay a time range"),
      labelled("From (UTC)", from), labelled("To (UTC)", to, "Every delivery created in the range is sent again."),
      h("button", {type: "submit"}, "Replay range")),
    h("button", {type: "button", class: "secondary", onclick: () => mount(box)}, "Close deliveries"));
}

/** The form for a new webhook, or for editing one made over the API (``hook``). */
function hookForm(hook, done, status) {
  const editing = Boolean(hook);
  const v = hook || {events: [], headers: {}, enabled: true, timeout: 10, retryWindow: "24h", disableAfter: 20};
  const name = h("input", {type: "text", id: "wh-name", value: v.name || "", disabled: editing, required: true});
  const url = h("input", {type: "text", inputmode: "url", id: "wh-url", value: v.url || "", required: true});
  const events = h("input", {type: "text", id: "wh-events", value: (v.events || []).join(", ")});
  const filter = h("input", {type: "text", id: "wh-filter", value: v.filter || ""});
  const headers = h("textarea", {id: "wh-headers", rows: 3},
    Object.entries(v.headers || {}).map(([k, val]) => `${k}: ${val}`).join("\n"));
  const secret = h("input", {type: "text", id: "wh-secret", autocomplete: "off", spellcheck: "false"});
  const shown = h("p", {class: "hint", id: "wh-secret-shown", "aria-live": "polite"});
  const timeout = h("input", {type: "number", id: "wh-timeout", min: 1, max: 60, value: v.timeout});
  const retryWindow = h("input", {type: "text", id: "wh-retry", value: v.retryWindow});
  const disableAfter = h("input", {type: "number", id: "wh-disable", min: 1, value: v.disableAfter});
  const allowPrivate = h("input", {type: "checkbox", id: "wh-private", checked: Boolean(v.allowPrivate)});
  const enabled = h("input", {type: "checkbox", id: "wh-enabled", checked: v.enabled !== false});
  const errors = h("div", {"aria-live": "polite"});

  return h("form", {id: "webhook-form", onsubmit: async (ev) => {
    ev.preventDefault();
    let body;
    try {
      body = {
        url: url.value.trim(),
        events: events.value.split(",").map((s) => s.trim()).filter(Boolean),
        filter: filter.value.trim(),
        headers: parseHeaders(headers.value),
        timeout: Number(timeout.value), retryWindow: retryWindow.value.trim(), disableAfter: Number(disableAfter.value),
        allowPrivate: allowPrivate.checked, enabled: enabled.checked,
      };
    } catch (err) {
      mount(errors, notice(err.message));
      return;
    }
    if (!editing) body.name = name.value.trim();
    if (secret.value.trim()) body.secret = secret.value.trim(); // empty while editing: keep the stored one
    try {
      await api(editing ? "PATCH" : "POST", editing ? path(hook.name) : "/api/webhooks", {body});
      await done(true, `Webhook ${editing ? hook.name : body.name} saved.`); // the new page shows it
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(errors, notice(err.message));
    }
  }},
    h("h2", {}, editing ? `Edit ${hook.name}` : "New webhook"),
    labelled("Name", name, "Letters, digits, _ . -; the webhook's id in the API."),
    labelled("URL", url, "http:// or https://; loopback and private addresses are refused unless allowed below."),
    labelled("Events", events, "Comma-separated: posts.create, posts.*, auth.signin, job.failed …"),
    labelled("Filter (optional)", filter, "A rule on the record, e.g. status = \"paid\"."),
    labelled("Headers (optional)", headers, editing
      ? "One \"Name: value\" per line. Values are write-only: ****** keeps the stored value; type a new one to change it."
      : "One \"Name: value\" per line. Values are write-only: they are not shown again once saved."),
    labelled(editing ? "New secret (empty: keep the current one)" : "Secret", secret,
      "whsec_ + base64 of at least 24 bytes; write-only: it is never shown again once saved."),
    h("button", {type: "button", class: "secondary", onclick: () => {
      secret.value = newSecret();
      shown.textContent = "A new secret is in the field: copy it to the receiver before saving.";
    }}, "Generate a secret"),
    shown,
    labelled("Timeout (s)", timeout), labelled("Retry window", retryWindow, "30s, 10m, 24h, 2d (at most 30 days)."),
    labelled("Disable after failed attempts", disableAfter),
    h("div", {class: "row check"}, allowPrivate, h("label", {for: allowPrivate.id}, "Allow private and loopback targets")),
    h("div", {class: "row check"}, enabled, h("label", {for: enabled.id}, "Enabled")),
    errors,
    h("button", {type: "submit"}, editing ? "Save webhook" : "Create webhook"),
    h("button", {type: "button", class: "secondary", onclick: () => done(false)}, "Cancel"));
}

export async function render(main, params = [], message = "") {
  const out = await api("GET", "/api/webhooks");
  // ``message``: what the action that re-rendered the page did (the page, status line included, is new).
  const status = h("div", {id: "webhooks-status", "aria-live": "polite"}, message ? notice(message, "ok") : null);
  const panel = h("section", {id: "webhook-panel", "aria-live": "polite"});
  const reload = async (again = true, said = "") => { if (again) await render(main, params, said); else mount(panel); };
  const act = (fn) => async (ev) => {
    ev.target.disabled = true;
    try { await fn(); } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(status, notice(err.message));
    } finally { ev.target.disabled = false; }
  };

  const rows = out.items.map((w) => h("tr", {"data-webhook": w.name},
    h("th", {scope: "row"}, w.name),
    h("td", {class: "webhook-url"}, w.url),
    h("td", {}, w.events.join(", ")),
    h("td", {class: "webhook-state"}, w.enabled ? "enabled" : `disabled${w.disabledReason ? ": " + w.disabledReason : ""}`),
    h("td", {}, String(w.failures)),
    h("td", {}, w.source),
    h("td", {class: "row-actions"},
      h("button", {type: "button", "aria-label": `Deliveries of ${w.name}`,
        onclick: act(() => showDeliveries(w, panel, status))}, "Deliveries"),
      h("button", {type: "button", class: "secondary", "aria-label": `Send a test event to ${w.name}`,
        onclick: act(async () => {
          const r = await api("POST", path(w.name, "/test"));
          mount(status, notice(`Test event queued (${r.id}); see its delivery in the log.`, "ok"));
          await showDeliveries(w, panel, status);
        })}, "Send test"),
      h("button", {type: "button", class: "secondary", "aria-label": `${w.enabled ? "Disable" : "Enable"} ${w.name}`,
        onclick: act(async () => { await api("PATCH", path(w.name), {body: {enabled: !w.enabled}}); await reload(); })},
        w.enabled ? "Disable" : "Enable"),
      w.source === "yaml" ? null : h("button", {type: "button", class: "secondary", "aria-label": `Edit ${w.name}`,
        onclick: () => mount(panel, hookForm(w, reload, status))}, "Edit"),
      w.source === "yaml" ? null : h("button", {type: "button", class: "danger", "aria-label": `Delete ${w.name}`,
        onclick: () => mount(panel, h("div", {class: "confirm"},
          h("p", {}, `Delete webhook ${w.name} and its delivery log?`),
          h("button", {type: "button", class: "danger", onclick: act(async () => {
            await api("DELETE", path(w.name));
            await reload(true, `Webhook ${w.name} deleted.`);
          })}, `Yes, delete ${w.name}`),
          h("button", {type: "button", class: "secondary", onclick: () => mount(panel)}, "Keep it")))}, "Delete"))));

  mount(main,
    h("h1", {}, "Webhooks"),
    h("p", {class: "hint"},
      "Signed POSTs of record changes, auth events and job results (Standard Webhooks), retried with backoff. " +
      "Webhooks of baas.yaml are changed there; here they can be enabled or disabled."),
    status,
    out.items.length
      ? h("table", {id: "webhooks-table", "aria-label": "Webhooks"},
          h("thead", {}, h("tr", {},
            ["name", "URL", "events", "state", "failures", "source", "actions"].map((c) => h("th", {scope: "col"}, c)))),
          h("tbody", {}, rows))
      : h("p", {class: "hint", id: "no-webhooks"}, "No webhooks yet."),
    h("button", {type: "button", id: "new-webhook", onclick: () => mount(panel, hookForm(null, reload, status))},
      "New webhook"),
    panel);
}
