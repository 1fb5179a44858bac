// What a superuser can do for an auth record, below its form: send the verification or
// password-reset email, impersonate it (the token shown once), see and reset its TOTP, list and
// unlink its OAuth2 accounts, and list and revoke the API keys it created. Every action is one
// public API request (docs/console.md#account-actions).

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice} from "../dom.js";
import {copyButton} from "../widgets.js";

/** A two-step confirmation in ``box``: the question, "Yes" running ``action``, and Cancel. */
function confirmIn(box, question, yes, action) {
  const cancel = h("button", {type: "button", class: "secondary", onclick: () => mount(box)}, "Cancel");
  const ok = h("button", {type: "button", class: "danger", onclick: async () => { mount(box); await action(); }}, yes);
  mount(box, notice(question, "warning"), ok, " ", cancel);
  ok.focus();
}

function errorText(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  const details = Object.entries(err.data).map(([k, e]) => `${k}: ${e && e.message ? e.message : JSON.stringify(e)}`);
  return [err.message, ...details].join(" ");
}

/** The API keys whose ``createdBy`` is ``recordId`` (keys are few: all pages are read). */
async function keysOf(recordId) {
  const out = [];
  for (let page = 1; ; page++) {
    const list = await api("GET", "/api/apikeys", {query: {page, perPage: 200}});
    out.push(...list.items.filter((k) => k.createdBy === recordId));
    if (page >= list.totalPages) return out;
  }
}

export async function authActions(coll, record) {
  const c = encodeURIComponent(coll.name);
  const rid = encodeURIComponent(record.id);
  const message = h("div", {id: "auth-message", "aria-live": "polite"});
  const say = (text, kind = "success") => mount(message, notice(text, kind === "error" ? "error" : "success"));
  const run = async (fn) => {
    try { await fn(); } catch (err) {
      if (err instanceof ApiError || err instanceof Error) say(errorText(err), "error"); else throw err;
    }
  };

  // -- emails
  const sendVerification = h("button", {type: "button", id: "send-verification", onclick: () => run(async () => {
    await api("POST", `/api/collections/${c}/request-verification`, {body: {email: record.email}});
    say(`Verification email sent to ${record.email}.`);
  })}, "Send verification email");
  const sendReset = h("button", {type: "button", id: "send-password-reset", onclick: () => run(async () => {
    await api("POST", `/api/collections/${c}/request-password-reset`, {body: {email: record.email}});
    say(`Password-reset email sent to ${record.email}.`);
  })}, "Send password-reset email");
  const emails = h("div", {class: "actions"}, sendVerification, sendReset,
    record.verified ? h("span", {class: "hint"}, "Already verified: no verification email is sent.") : null);

  // -- impersonate
  const duration = h("input", {type: "number", min: "0", step: "1", value: "3600", name: "impersonate-duration"});
  const tokenOut = h("div", {id: "impersonation"});
  const impersonate = h("button", {type: "button", id: "impersonate", onclick: () => run(async () => {
    const seconds = duration.value === "" ? 0 : Number(duration.value);
    const out = await api("POST", `/api/collections/${c}/impersonate/${rid}`, {body: {duration: seconds}});
    const field = h("input", {type: "text", readonly: true, id: "impersonation-token", class: "mono", value: out.token,
                              "aria-label": "Impersonation token"});
    let exp = "";
    try { exp = new Date(JSON.parse(atob(out.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp * 1000)
      .toISOString(); } catch { exp = ""; }
    mount(tokenOut, notice("Shown once: copy it now. It is not refreshable and is not kept by the console.", "warning"),
      field, copyButton(field, "Copy token"), exp ? h("p", {class: "hint"}, `Expires ${exp}`) : null);
    field.select();
  })}, "Impersonate");

  // -- TOTP
  const totpBox = h("div", {id: "totp-status"});
  const totpConfirm = h("div", {});
  const loadTotp = () => run(async () => {
    const st = await api("GET", `/api/collections/${c}/totp/${rid}`);
    const text = st.enabled ? `TOTP enabled (${st.recoveryCodesLeft} recovery codes left).`
      : st.pending ? "TOTP enrolment started, not confirmed." : "No TOTP.";
    mount(totpBox, h("p", {}, text), st.enabled || st.pending
      ? h("button", {type: "button", class: "danger", id: "reset-totp", onclick: () => confirmIn(totpConfirm,
        "Remove this account's TOTP? It signs in without it until it enrols again.", "Yes, remove TOTP",
        () => run(async () => {
          await api("DELETE", `/api/collections/${c}/totp/${rid}`);
          say("TOTP removed.");
          await loadTotp();
        }))}, "Remove TOTP") : null, totpConfirm);
  });
  const mfa = coll.mfa || {};

  // -- OAuth2 links
  const linksBox = h("div", {id: "oauth2-links"});
  const linksConfirm = h("div", {});
  const loadLinks = () => run(async () => {
    const links = await api("GET", `/api/collections/${c}/records/${rid}/external-auths`);
    mount(linksBox, links.length ? h("ul", {class: "plain"}, links.map((l) => h("li", {"data-provider": l.provider},
      h("strong", {}, l.provider), " ", h("span", {class: "mono"}, l.providerId), ` linked ${l.created} `,
      h("button", {type: "button", class: "secondary", "aria-label": `Unlink ${l.provider}`,
                   onclick: () => confirmIn(linksConfirm, `Unlink the ${l.provider} account?`, `Yes, unlink ${l.provider}`,
                     () => run(async () => {
                       await api("DELETE", `/api/collections/${c}/records/${rid}/external-auths/${encodeURIComponent(l.provider)}`);
                       say(`${l.provider} unlinked.`);
                       await loadLinks();
                     }))}, "Unlink")))) : h("p", {}, "No linked OAuth2 accounts."), linksConfirm);
  });

  // -- API keys
  const keysBox = h("div", {id: "api-keys"});
  const keysConfirm = h("div", {});
  const loadKeys = () => run(async () => {
    const keys = await keysOf(record.id);
    const scopes = (k) => (k.scopes || []).map((s) => `${s.collection}: ${(s.actions || []).join("/")}`).join("; ");
    mount(keysBox, keys.length ? h("table", {class: "keys"},
      h("thead", {}, h("tr", {}, ["Name", "Scopes", "Expires", "Last used", "State", "Actions"]
        .map((t) => h("th", {scope: "col"}, t)))),
      h("tbody", {}, keys.map((k) => h("tr", {"data-id": k.id},
        h("td", {}, k.name), h("td", {}, scopes(k)), h("td", {}, k.expires || "never"), h("td", {}, k.lastUsed || "never"),
        h("td", {}, k.revoked ? "revoked" : "active"),
        h("td", {}, k.revoked ? null : h("button", {type: "button", class: "danger", "aria-label": `Revoke key ${k.name}`,
          onclick: () => confirmIn(keysConfirm, `Revoke the key "${k.name}"? Requests with it are refused from now on.`,
            "Yes, revoke", () => run(async () => {
              await api("DELETE", `/api/apikeys/${encodeURIComponent(k.id)}`);
              say(`Key ${k.name} revoked.`);
              await loadKeys();
            }))}, "Revoke"))))))
      : h("p", {}, "No API keys created by this account."), keysConfirm);
  });

  const section = h("section", {id: "auth-actions", "aria-labelledby": "auth-actions-title"},
    h("h2", {id: "auth-actions-title"}, "Account actions"), message,
    h("h3", {}, "Emails"), emails,
    h("h3", {}, "Impersonate"),
    h("div", {class: "grid"}, labelled("Token duration (seconds; 0 = the collection's auth token duration)", duration)),
    impersonate, tokenOut,
    h("h3", {}, "Multi-factor authentication"),
    h("p", {}, mfa.enabled ? "MFA is on for this collection (a second method is required after the first)."
      : "MFA is off for this collection (set it in the collection's options)."),
    totpBox,
    h("h3", {}, "OAuth2 accounts"), linksBox,
    h("h3", {}, "API keys"), h("p", {class: "hint"}, "API keys are made by superusers; listed here: the keys this account created."),
    keysBox);
  await Promise.all([loadTotp(), loadLinks(), loadKeys()]);
  return section;
}
