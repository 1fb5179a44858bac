// An auth collection's options in the collection editor: password sign-in, OTP, MFA, OAuth2
// providers, token durations and the email templates, in the JSON shapes the collections API
// stores (PocketBase's). Client secrets are write-only: the API never answers them, the page
// shows "set"/"not set" (GET …/oauth2-secrets) and an empty secret keeps the stored one.
// The email preview is rendered by the server with sample values and shown in a sandboxed
// iframe (no scripts, no same origin) and as plain text — never as the console's own markup.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, nextId, notice, setError} from "../dom.js";

export const AUTH_OPTION_KEYS = ["passwordAuth", "oauth2", "otp", "mfa", "authAlert", "authToken", "verificationToken",
  "passwordResetToken", "emailChangeToken", "fileToken", "verificationTemplate", "resetPasswordTemplate",
  "confirmEmailChangeTemplate"];
const PROVIDERS = ["google", "github", "gitlab", "microsoft", "discord", "apple", "oidc", "oidc2", "oidc3"];
const TOKENS = [["authToken", "Auth token", 604800], ["verificationToken", "Verification token", 86400],
  ["passwordResetToken", "Password reset token", 1800], ["emailChangeToken", "Email change token", 1800],
  ["fileToken", "File token", 180]];
// [kind for the preview, label, where the template is stored: option or option.key]
const TEMPLATES = [["verification", "Verification", "verificationTemplate"],
  ["passwordReset", "Password reset", "resetPasswordTemplate"],
  ["emailChange", "Email change", "confirmEmailChangeTemplate"],
  ["otp", "One-time password", "otp.emailTemplate"],
  ["authAlert", "Login alert", "authAlert.emailTemplate"]];

const obj = (coll, key) => {
  if (!coll[key] || typeof coll[key] !== "object" || Array.isArray(coll[key])) coll[key] = {};
  return coll[key];
};

function check(label, value, onchange) {
  const box = h("input", {type: "checkbox", id: nextId("ao"), checked: Boolean(value),
                          onchange: (e) => onchange(e.target.checked)});
  return h("div", {class: "row check"}, box, h("label", {for: box.id}, label));
}

/** A number input for ``opt[key]`` (seconds, digits…); empty removes the key, so the default applies. */
function numberInput(label, opt, key, placeholder, changed, controls, path) {
  const input = h("input", {type: "number", name: path, min: "0", step: "1", placeholder: String(placeholder),
                            value: opt[key] === undefined || opt[key] === null ? "" : String(opt[key])});
  input.addEventListener("input", () => {
    const v = input.value.trim();
    if (v === "") delete opt[key];
    else opt[key] = Number(v);
    changed();
  });
  controls[path] = input;
  return labelled(label, input);
}

function textInput(label, opt, key, changed, controls, path, attrs = {}) {
  const input = h("input", {type: "text", name: path, value: opt[key] ?? "", autocomplete: "off", ...attrs});
  input.addEventListener("input", () => { opt[key] = input.value; changed(); });
  controls[path] = input;
  return labelled(label, input);
}

/**
 * The auth options section for ``coll`` (edited in place). ``changed()`` after every edit;
 * ``saved`` is the applied collection's name (the preview and the secret status need it).
 * Returns {element, showErrors(data) -> the keys it showed}.
 */
export function authOptions(coll, {changed, saved}) {
  const controls = {};

  // Password sign-in
  const pw = obj(coll, "passwordAuth");
  // email is every auth collection's (the server adds it to a new one); text fields may serve too.
  const idFields = [{name: "email"}, ...(coll.fields || []).filter((f) => f.name && f.type === "text" && !f.hidden
    && !f.system)];
  const identity = () => (Array.isArray(pw.identityFields) ? pw.identityFields : ["email"]);
  const password = h("fieldset", {id: "auth-password"}, h("legend", {}, "Password sign-in"),
    check("Password sign-in on", pw.enabled !== false, (v) => { pw.enabled = v; changed(); }),
    h("fieldset", {class: "inline"}, h("legend", {}, "Identity fields (sign in by)"),
      idFields.map((f) => check(`Identity: ${f.name}`, identity().includes(f.name), (v) => {
        const now = identity().filter((n) => n !== f.name);
        pw.identityFields = v ? [...now, f.name] : now;
        changed();
      }))));

  // OTP and MFA
  const otp = obj(coll, "otp");
  const otpBox = h("fieldset", {id: "auth-otp"}, h("legend", {}, "One-time password (OTP) by email"),
    check("OTP on", otp.enabled, (v) => { otp.enabled = v; changed(); }),
    h("div", {class: "grid"},
      numberInput("OTP duration (seconds)", otp, "duration", 180, changed, controls, "otp.duration"),
      numberInput("OTP length (digits)", otp, "length", 8, changed, controls, "otp.length")));
  const mfa = obj(coll, "mfa");
  const mfaBox = h("fieldset", {id: "auth-mfa"}, h("legend", {}, "Multi-factor authentication (MFA)"),
    check("MFA on", mfa.enabled, (v) => { mfa.enabled = v; changed(); }),
    h("div", {class: "grid"},
      numberInput("MFA duration (seconds)", mfa, "duration", 600, changed, controls, "mfa.duration"),
      textInput("MFA rule (empty: every record)", mfa, "rule", changed, controls, "mfa.rule",
                {spellcheck: "false", placeholder: "verified = true"})));

  // OAuth2
  const oauth2 = obj(coll, "oauth2");
  if (!Array.isArray(oauth2.providers)) oauth2.providers = [];
  const providerList = h("div", {id: "oauth2-providers"});
  let secretStatus = {};
  const drawProviders = () => mount(providerList, oauth2.providers.map((p, i) => providerRow(p, i)));
  const providerRow = (p, i) => {
    const base = `oauth2.providers.${i}`;
    const name = h("select", {name: `${base}.name`},
      PROVIDERS.map((n) => h("option", {value: n, selected: n === p.name}, n)));
    if (p.name && !PROVIDERS.includes(p.name)) name.append(h("option", {value: p.name, selected: true}, p.name));
    name.addEventListener("change", () => { p.name = name.value; changed(); drawProviders(); });
    controls[`${base}.name`] = name;
    const secret = h("input", {type: "password", name: `${base}.clientSecret`, autocomplete: "new-password",
                               placeholder: secretStatus[p.name] ? "set — leave empty to keep it" : "not set"});
    secret.addEventListener("input", () => {
      if (secret.value) p.clientSecret = secret.value; else delete p.clientSecret; // empty keeps the stored one
      changed();
    });
    controls[`${base}.clientSecret`] = secret;
    const oidc = String(p.name || "").startsWith("oidc");
    return h("fieldset", {class: "provider", "data-provider": p.name || ""},
      h("legend", {}, `Provider ${i + 1}: ${p.name || "(choose)"}`),
      h("div", {class: "grid"},
        labelled(`Provider ${i + 1}`, name),
        textInput(`Display name of provider ${i + 1}`, p, "displayName", changed, controls, `${base}.displayName`),
        textInput(`Client ID of provider ${i + 1}`, p, "clientId", changed, controls, `${base}.clientId`),
        labelled(`Client secret of provider ${i + 1}`, secret,
          `Client secret: ${secretStatus[p.name] ? "set" : "not set"}. Write-only; \${NAME} reads an environment variable.`)),
      h("div", {class: "grid"},
        textInput(`Auth URL of provider ${i + 1}${oidc ? " (required)" : ""}`, p, "authURL", changed, controls,
                  `${base}.authURL`),
        textInput(`Token URL of provider ${i + 1}${oidc ? " (required)" : ""}`, p, "tokenURL", changed, controls,
                  `${base}.tokenURL`),
        textInput(`User info URL of provider ${i + 1}`, p, "userInfoURL", changed, controls, `${base}.userInfoURL`),
        pkceSelect(p, i, changed),
        oidc ? textInput(`JWKS URL of provider ${i + 1} (verifies the id_token)`, extraOf(p), "jwksURL", changed,
                         controls, `${base}.extra.jwksURL`) : null),
      h("button", {type: "button", class: "danger", "aria-label": `Remove provider ${i + 1}`,
                   onclick: () => { oauth2.providers.splice(i, 1); changed(); drawProviders(); }}, "Remove provider"));
  };
  // Record fields filled from the provider's account when OAuth2 creates a record.
  const mapped = oauth2.mappedFields && typeof oauth2.mappedFields === "object" ? oauth2.mappedFields : {};
  oauth2.mappedFields = mapped;
  const mappedBox = h("fieldset", {class: "inline"}, h("legend", {}, "Fields filled from the provider's account"),
    h("div", {class: "grid"}, [["name", "Name"], ["username", "Username"], ["avatarURL", "Avatar URL"]].map(([k, l]) =>
      textInput(`${l} into field`, mapped, k, changed, controls, `oauth2.mappedFields.${k}`))));
  const newProvider = h("select", {name: "newProvider"}, PROVIDERS.map((n) => h("option", {value: n}, n)));
  const oauthBox = h("fieldset", {id: "auth-oauth2"}, h("legend", {}, "OAuth2"),
    check("OAuth2 on", oauth2.enabled, (v) => { oauth2.enabled = v; changed(); }),
    mappedBox, providerList,
    h("div", {class: "grid"}, labelled("New provider", newProvider),
      h("div", {class: "row"}, h("button", {type: "button", id: "add-provider", onclick: () => {
        oauth2.providers.push({name: newProvider.value, clientId: ""});
        changed(); drawProviders();
        providerList.querySelector(`[name="oauth2.providers.${oauth2.providers.length - 1}.clientId"]`)?.focus();
      }}, "Add provider"))));
  drawProviders();
  if (saved && coll.type === "auth") { // only auth collections have OAuth2 secrets (others answer 404)
    api("GET", `/api/collections/${encodeURIComponent(saved)}/oauth2-secrets`)
      .then((out) => { secretStatus = out.providers || {}; drawProviders(); })
      .catch(() => {}); // the editor works without it: the status then reads "not set"
  }

  // Token durations
  const tokens = h("fieldset", {id: "auth-tokens"}, h("legend", {}, "Token durations (seconds)"),
    h("div", {class: "grid"}, TOKENS.map(([key, label, def]) =>
      numberInput(`${label} duration`, obj(coll, key), "duration", def, changed, controls, `${key}.duration`))));

  // Email templates, each with a preview
  const alert = obj(coll, "authAlert");
  const templates = h("fieldset", {id: "auth-templates"}, h("legend", {}, "Email templates"),
    check("Login alert on (stored as PocketBase stores it; baas does not send login alerts yet)", alert.enabled,
          (v) => { alert.enabled = v; changed(); }),
    h("p", {class: "hint"}, "Empty: the default. Placeholders: {APP_NAME} {APP_URL} {TOKEN} {OTP} {OTP_ID} " +
      "{ALERT_INFO} {RECORD:field}. Values are HTML-escaped into the body."),
    TEMPLATES.map(([kind, label, where]) => templateEditor(coll, kind, label, where, changed, controls, saved)));

  const element = h("section", {id: "auth-options"}, h("h2", {}, "Auth options"),
    password, otpBox, mfaBox, oauthBox, tokens, templates);

  /** Put each error of the server's ``data`` beside its control; answers the keys it placed. */
  const showErrors = (data) => {
    const shown = new Set();
    const walk = (prefix, tree) => {
      if (!tree || typeof tree !== "object") return;
      if (typeof tree.message === "string" && typeof tree.code === "string") {
        const control = controls[prefix];
        if (control) { setError(control, tree.message); shown.add(prefix.split(".")[0]); }
        return;
      }
      for (const [k, v] of Object.entries(tree)) walk(prefix ? `${prefix}.${k}` : k, v);
    };
    for (const key of AUTH_OPTION_KEYS) if (data && data[key]) walk(key, data[key]);
    return shown;
  };
  return {element, showErrors};
}

function extraOf(p) {
  if (!p.extra || typeof p.extra !== "object") p.extra = {};
  return p.extra;
}

/** PKCE: the provider's default (null), on or off. */
function pkceSelect(p, i, changed) {
  const current = p.pkce === true ? "on" : p.pkce === false ? "off" : "";
  const select = h("select", {name: `oauth2.providers.${i}.pkce`},
    [["", "provider's default"], ["on", "on"], ["off", "off"]].map(([v, l]) =>
      h("option", {value: v, selected: v === current}, l)));
  select.addEventListener("change", () => {
    p.pkce = select.value === "on" ? true : select.value === "off" ? false : null;
    changed();
  });
  return labelled(`PKCE of provider ${i + 1}`, select);
}

function templateEditor(coll, kind, label, where, changed, controls, saved) {
  const [option, inner] = where.split(".");
  const tpl = () => {
    const holder = obj(coll, option);
    if (!inner) return holder;
    if (!holder[inner] || typeof holder[inner] !== "object") holder[inner] = {};
    return holder[inner];
  };
  const current = tpl();
  const subject = h("input", {type: "text", name: `${where}.subject`, value: current.subject || "",
                              placeholder: "(default)"});
  const body = h("textarea", {name: `${where}.body`, rows: "5", spellcheck: "false", placeholder: "(default)"});
  body.value = current.body || "";
  subject.addEventListener("input", () => { tpl().subject = subject.value; changed(); });
  body.addEventListener("input", () => { tpl().body = body.value; changed(); });
  controls[`${where}.subject`] = subject;
  controls[`${where}.body`] = body;
  const out = h("div", {class: "preview", "data-preview": kind, "aria-live": "polite"});
  const preview = async () => {
    if (!saved) { mount(out, notice("Save the collection first to preview its emails.", "info")); return; }
    try {
      const got = await api("POST", `/api/collections/${encodeURIComponent(saved)}/email-preview`,
        {body: {kind, subject: subject.value, body: body.value}});
      // sandbox="" : no scripts, no forms, a unique origin; the console's CSP also applies inside.
      const frame = h("iframe", {sandbox: "", title: `${label} email preview`, class: "email-preview",
                                 referrerpolicy: "no-referrer"});
      frame.srcdoc = got.html;
      mount(out, h("p", {class: "preview-subject"}, "Subject: ", h("strong", {}, got.subject)), frame,
        h("details", {}, h("summary", {}, "Plain-text part"), h("pre", {class: "preview-text"}, got.text)));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(out, notice(err.message));
    }
  };
  return h("fieldset", {class: "template", "data-template": kind}, h("legend", {}, `${label} email`),
    labelled(`${label} email subject`, subject), labelled(`${label} email body (HTML)`, body),
    h("button", {type: "button", "aria-label": `Preview the ${label} email`, onclick: preview}, "Preview"), out);
}
