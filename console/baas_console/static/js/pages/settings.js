// Application settings (GET / PATCH /api/settings): a control for every stored key, the server's
// field errors beside their controls, write-only secrets shown as "set" / "not set" (the API never
// sends them back), plus "Send test email" (POST /api/settings/test/email, with the saved settings)
// and "Test connection" (POST /api/settings/test/s3, with the values in the form, saved or not).

import {allCollections, api, ApiError, session} from "../api.js";
import {h, labelled, mount, nextId, notice, setError} from "../dom.js";

// [key, label, kind, options]; kind: text | email | url | int | number | bool | secret | select | list | lines
const SECTIONS = [
  {key: "meta", title: "Application", fields: [
    ["appName", "Application name", "text"],
    ["appURL", "Application URL", "url", {hint: "Links in auth emails start with it."}],
    ["senderName", "Sender name", "text"],
    ["senderAddress", "Sender address", "email"],
    ["hideControls", "Hide collection controls (kept for PocketBase compatibility; not used)", "bool"],
  ]},
  {key: "smtp", title: "Mail (SMTP)", hint: "While SMTP is off, mails go to the dev mailbox under the data dir.",
   fields: [
    ["enabled", "Send mail through an SMTP server", "bool"],
    ["host", "SMTP host", "text"],
    ["port", "SMTP port", "int"],
    ["username", "SMTP username", "text", {autocomplete: "off"}],
    ["password", "SMTP password", "secret"],
    ["tls", "Implicit TLS (port 465); otherwise STARTTLS when offered", "bool"],
    ["authMethod", "SMTP auth method", "select", {values: ["PLAIN", "LOGIN"]}],
    ["localName", "EHLO name (empty: this machine's name)", "text"],
  ]},
  {key: "s3", title: "File storage (S3)", hint: "While S3 is off, files are kept on local disk under the data dir.",
   fields: [
    ["enabled", "Store files in an S3 bucket", "bool"],
    ["endpoint", "S3 endpoint", "url"],
    ["bucket", "S3 bucket", "text"],
    ["region", "S3 region", "text"],
    ["accessKey", "S3 access key", "text", {autocomplete: "off"}],
    ["secret", "S3 secret key", "secret"],
    ["forcePathStyle", "Force path-style URLs (MinIO, R2)", "bool"],
  ]},
  {key: "rateLimits", title: "Rate limits", fields: [
    ["enabled", "Enable rate limits", "bool"],
    ["excludedIPs", "Excluded IPs or CIDR subnets (one per line)", "lines"],
  ]},
  {key: "trustedProxy", title: "Trusted proxy", hint: "Where the client IP comes from behind a reverse proxy.",
   fields: [
    ["headers", "Client IP headers (comma-separated, e.g. X-Forwarded-For)", "list"],
    ["useLeftmostIP", "Use the leftmost IP of the header", "bool"],
  ]},
  {key: "batch", title: "Batch requests", fields: [
    ["enabled", "Enable batch requests", "bool"],
    ["maxRequests", "Max requests per batch", "int"],
    ["timeout", "Batch timeout in seconds (kept for PocketBase compatibility)", "int"],
    ["maxBodySize", "Max batch body size in bytes (0: 128 MiB)", "int"],
  ]},
  {key: "events", title: "Event stream retention", fields: [
    ["retentionDays", "Keep events for days (0: forever)", "int"],
    ["staleConsumerDays", "Stale consumer after days (0: never)", "int"],
  ]},
  {key: "logs", title: "Request log", hint: "Every API request, kept for maxDays (0: no log). See docs/logs.md.", fields: [
    ["maxDays", "Keep entries for days (0: no log)", "int"],
    ["minLevel", "Min level (0 all, 4 errors, 8 server errors)", "number"],
    ["logIP", "Log client IPs", "bool"],
    ["logAuthId", "Log auth ids", "bool"],
    ["sampling", "Share of successful requests kept (0–1)", "number"],
  ]},
  {key: "backups", title: "Backups", hint: "Scheduled backups, and where every backup is kept (the Backups page " +
    "lists them). While S3 is off, backups are kept in the data dir's backups/ folder. See docs/backups.md.", fields: [
    ["cron", "Schedule (cron, 5 fields or @daily …; empty: none)", "text"],
    ["cronMaxKeep", "Scheduled backups to keep", "int"],
    ["s3.enabled", "Keep backups in an S3 bucket instead", "bool"],
    ["s3.endpoint", "Endpoint of the backups bucket", "url"],
    ["s3.bucket", "Backups bucket", "text"],
    ["s3.region", "Region of the backups bucket", "text"],
    ["s3.accessKey", "Access key for backups", "text", {autocomplete: "off"}],
    ["s3.secret", "Secret key for backups", "secret"],
    ["s3.forcePathStyle", "Path-style URLs for the backups bucket (MinIO, R2)", "bool"],
  ]},
];

// Keys of SECTIONS may be paths ("s3.bucket" of the backups section): read and write by path.
const pathGet = (obj, key) => key.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
function pathSet(obj, key, value) {
  const parts = key.split(".");
  const last = parts.pop();
  for (const k of parts) obj = (obj[k] ||= {});
  obj[last] = value;
}
const AUDIENCES = [["", "everyone"], ["@guest", "guests"], ["@auth", "signed-in"]];
// The rules PocketBase's dashboard suggests (docs/auth.md, "Rate limits"); also the label suggestions.
const SUGGESTED_RULES = [
  {label: "*:auth", maxRequests: 2, duration: 3, audience: ""},
  {label: "*:create", maxRequests: 20, duration: 5, audience: ""},
  {label: "/api/batch", maxRequests: 3, duration: 1, audience: ""},
  {label: "/api/", maxRequests: 300, duration: 10, audience: ""},
];
const LABELS = ["*:auth", "*:create", "*:list", "*:view", "*:update", "*:delete", "/api/", "/api/batch",
  "/api/realtime", "users:auth", "POST /api/files"];
const TEMPLATES = [["verification", "Verification"], ["password-reset", "Password reset"],
  ["email-change", "Email change"], ["otp", "One-time password"], ["login-alert", "Login alert"]];

function control(kind, value, opts = {}) {
  if (kind === "bool") return h("input", {type: "checkbox", checked: !!value});
  if (kind === "select") {
    const values = opts.values.includes(value) ? opts.values : [...opts.values, value];
    return h("select", {}, values.map((v) => h("option", {value: v, selected: v === value}, v)));
  }
  if (kind === "lines") return h("textarea", {rows: 3, value: (value || []).join("\n")});
  if (kind === "list") return h("input", {type: "text", value: (value || []).join(", ")});
  if (kind === "secret") return h("input", {type: "password", autocomplete: "new-password", value: ""});
  if (kind === "int" || kind === "number") {
    return h("input", {type: "number", min: "0", step: kind === "int" ? "1" : "any", value: String(value ?? "")});
  }
  return h("input", {type: kind, value: value ?? "", autocomplete: opts.autocomplete});
}

function read(kind, el) {
  if (kind === "bool") return el.checked;
  if (kind === "lines") return el.value.split("\n").map((s) => s.trim()).filter(Boolean);
  if (kind === "list") return el.value.split(",").map((s) => s.trim()).filter(Boolean);
  if (kind === "int" || kind === "number") return el.value.trim() === "" ? null : Number(el.value);
  return el.value;
}

export async function render(main) {
  const [settings, collections] = await Promise.all([api("GET", "/api/settings"), allCollections()]);
  const controls = new Map(); // "smtp.host" -> element (errors are placed by path)
  const readers = []; // [section, key, () => value | undefined]
  const status = h("div", {id: "settings-status", "aria-live": "polite"});
  let dirty = false;
  const secretsSet = settings.secretsSet || {};

  const sectionEl = (sec) => {
    const values = settings[sec.key] || {};
    const rows = sec.fields.map(([key, label, kind, opts = {}]) => {
      const el = control(kind, pathGet(values, key), opts);
      el.id = `settings-${sec.key}-${key.replaceAll(".", "-")}`;
      el.name = `${sec.key}.${key}`;
      controls.set(`${sec.key}.${key}`, el);
      if (kind === "secret") {
        const set = !!secretsSet[`${sec.key}.${key}`];
        el.placeholder = set ? "unchanged" : "";
        readers.push([sec.key, key, () => el.value === "" ? undefined : el.value]);
        const row = labelled(label, el, set ? "Stored; type a new one to replace it." : "Not stored yet.");
        row.querySelector("label").after(h("span", {class: "badge secret-status", id: `${el.id}-status`},
          set ? "set" : "not set"));
        return row;
      }
      readers.push([sec.key, key, () => read(kind, el)]);
      if (kind === "bool") {
        const row = labelled(label, el, opts.hint);
        row.classList.add("check");
        return row;
      }
      return labelled(label, el, opts.hint);
    });
    return h("fieldset", {class: "settings", id: `settings-${sec.key}`},
      h("legend", {}, sec.title), sec.hint ? h("p", {class: "hint"}, sec.hint) : null, h("div", {class: "grid"}, rows),
      sec.key === "rateLimits" ? rulesEditor() : null,
      sec.key === "smtp" ? testEmail() : null,
      sec.key === "s3" ? testS3("s3", "storage", "test-s3") : null,
      sec.key === "backups" ? testS3("backups", "backups", "test-backups-s3") : null);
  };

  // -- rate limit rules: an editable table ------------------------------------------------------
  function rulesEditor() {
    const rules = ((settings.rateLimits || {}).rules || []).map((r) => ({...r}));
    const body = h("tbody", {});
    const draw = () => {
      for (const key of [...controls.keys()]) if (key.startsWith("rateLimits.rules.")) controls.delete(key);
      mount(body, rules.map((rule, i) => {
        const n = i + 1;
        const label = h("input", {type: "text", value: rule.label || "", "aria-label": `Rule ${n} label`,
          list: "rate-limit-labels",
          placeholder: "/api/ or users:create", oninput: () => { rule.label = label.value; }});
        const max = h("input", {type: "number", min: "0", step: "1", value: String(rule.maxRequests ?? ""),
          "aria-label": `Rule ${n} max requests`, oninput: () => { rule.maxRequests = read("int", max); }});
        const duration = h("input", {type: "number", min: "0", step: "1", value: String(rule.duration ?? ""),
          "aria-label": `Rule ${n} duration in seconds`, oninput: () => { rule.duration = read("int", duration); }});
        const audience = h("select", {"aria-label": `Rule ${n} audience`,
          onchange: () => { rule.audience = audience.value; }},
          AUDIENCES.map(([v, text]) => h("option", {value: v, selected: (rule.audience || "") === v}, text)));
        const cells = {label, maxRequests: max, duration, audience};
        const tds = Object.entries(cells).map(([k, el]) => {
          el.id = nextId("rule");
          controls.set(`rateLimits.rules.${i}.${k}`, el);
          const err = h("p", {class: "error", id: el.id + "-error", role: "alert"});
          el.setAttribute("aria-describedby", err.id);
          return h("td", {}, el, err);
        });
        return h("tr", {}, tds, h("td", {}, h("button", {type: "button", class: "secondary",
          "aria-label": `Remove rule ${n}`, onclick: () => { rules.splice(i, 1); dirty = true; draw(); }}, "Remove")));
      }));
    };
    draw();
    readers.push(["rateLimits", "rules", () => rules.map((r) => ({label: r.label || "", maxRequests: r.maxRequests,
      duration: r.duration, audience: r.audience || ""}))]);
    return h("div", {class: "rules"},
      h("table", {id: "rate-limit-rules"}, h("caption", {}, "Rules: at most max requests per duration, per client"),
        h("thead", {}, h("tr", {}, ["Label", "Max requests", "Duration (s)", "Audience", ""].map((t) => h("th", {}, t)))),
        body),
      h("datalist", {id: "rate-limit-labels"}, LABELS.map((l) => h("option", {value: l}))),
      h("div", {class: "actions"},
        h("button", {type: "button", class: "secondary", id: "add-rate-limit-rule", onclick: () => {
          rules.push({label: "", maxRequests: 300, duration: 10, audience: ""});
          dirty = true;
          draw();
          body.lastElementChild.querySelector("input").focus();
        }}, "Add rule"),
        h("button", {type: "button", class: "secondary", id: "add-suggested-rules", onclick: () => {
          const have = new Set(rules.map((r) => `${r.label}@@${r.audience || ""}`));
          for (const r of SUGGESTED_RULES) if (!have.has(`${r.label}@@${r.audience}`)) rules.push({...r});
          dirty = true;
          draw();
        }}, "Add the suggested rules")));
  }

  // -- test email ---------------------------------------------------------------------------------
  function testEmail() {
    const me = (session.get() || {}).record || {};
    const to = h("input", {type: "email", id: "test-email-to", value: me.email || ""});
    const template = h("select", {id: "test-email-template"},
      TEMPLATES.map(([v, text]) => h("option", {value: v}, text)));
    const auth = collections.filter((c) => c.type === "auth");
    const coll = h("select", {id: "test-email-collection"},
      auth.map((c) => h("option", {value: c.name, selected: c.name === "_superusers"}, c.name)));
    const out = h("div", {id: "test-email-result", "aria-live": "polite"});
    const fields = {email: to, template, collection: coll};
    const send = h("button", {type: "button", class: "secondary", id: "send-test-email", onclick: async () => {
      mount(out);
      for (const el of Object.values(fields)) setError(el, "");
      if (dirty) { mount(out, notice("Save your changes first: the test email uses the saved settings.", "warning")); return; }
      send.disabled = true;
      try {
        await api("POST", "/api/settings/test/email",
                  {body: {email: to.value, template: template.value, collection: coll.value}});
        mount(out, notice(`Test email sent to ${to.value}.`, "ok"));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        mount(out, notice(err.message));
        for (const [k, e] of Object.entries(err.data)) if (fields[k]) setError(fields[k], e.message);
      } finally {
        send.disabled = false;
      }
    }}, "Send test email");
    return h("div", {class: "probe", id: "test-email"}, h("h3", {}, "Send a test email"),
      h("p", {class: "hint"}, "Uses the saved settings; without SMTP it lands in the dev mailbox."),
      h("div", {class: "grid"}, labelled("Test email address", to), labelled("Email template", template),
        labelled("Auth collection of the template", coll)),
      h("div", {class: "actions"}, send), out);
  }

  // -- test S3 ------------------------------------------------------------------------------------
  // The S3 fields of section ``section`` (files: "s3"; backups: "backups", keys "s3.*") tested as typed.
  function testS3(section, filesystem, id) {
    const prefix = section === "s3" ? "" : "s3.";
    const out = h("div", {id: `${id}-result`, "aria-live": "polite"});
    const run = h("button", {type: "button", class: "secondary", id, onclick: async () => {
      mount(out);
      const s3 = {};
      for (const [sec, key, get] of readers) {
        if (sec !== section || !key.startsWith(prefix)) continue;
        const v = get();
        if (v !== undefined) s3[key.slice(prefix.length)] = v;
      }
      for (const [key, el] of controls) if (key.startsWith(`${section}.`)) setError(el, "");
      run.disabled = true;
      try {
        await api("POST", "/api/settings/test/s3", {body: {filesystem, s3}});
        mount(out, notice("The connection works: a probe object was written, read back and deleted.", "ok"));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        mount(out, notice(err.message));
        const errs = err.data.s3 ? (prefix ? {[section]: {s3: err.data.s3}} : {s3: err.data.s3}) : {};
        placeErrors(errs);
      } finally {
        run.disabled = false;
      }
    }}, section === "s3" ? "Test connection" : "Test the backups bucket");
    return h("div", {class: "probe"},
      h("p", {class: "hint"}, "Tests the values in this form (saved or not): writes, reads and deletes a small " +
        "object in the bucket."),
      h("div", {class: "actions"}, run), out);
  }

  // Field errors by path ({smtp: {host: {code, message}}, rateLimits: {rules: {0: {label: …}}}}): each beside
  // the nearest control on its path; the rest listed in the status line.
  function placeErrors(data, path = [], missed = []) {
    for (const [k, v] of Object.entries(data || {})) {
      const at = [...path, k];
      if (v && typeof v === "object" && typeof v.message === "string" && typeof v.code === "string") {
        let placed = false;
        for (let n = at.length; n > 0 && !placed; n--) {
          const el = controls.get(at.slice(0, n).join("."));
          if (el) { setError(el, (n < at.length ? `${at.slice(n).join(".")}: ` : "") + v.message); placed = true; }
        }
        if (!placed) missed.push(`${at.join(".")}: ${v.message}`);
      } else if (v && typeof v === "object") {
        placeErrors(v, at, missed);
      }
    }
    return missed;
  }

  const save = h("button", {type: "submit", id: "save-settings"}, "Save settings");
  const form = h("form", {id: "settings", novalidate: true}, h("div", {class: "bar"}, h("h1", {}, "Settings"), save), status,
    SECTIONS.map(sectionEl));
  form.addEventListener("input", (ev) => { if (!ev.target.closest(".probe")) dirty = true; });
  form.addEventListener("change", (ev) => { if (!ev.target.closest(".probe")) dirty = true; });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    mount(status);
    for (const el of controls.values()) setError(el, "");
    const body = {};
    for (const [sec, key, get] of readers) {
      const v = get();
      if (v !== undefined) pathSet((body[sec] ||= {}), key, v);
    }
    save.disabled = true;
    try {
      await api("PATCH", "/api/settings", {body});
      await render(main); // fresh values from the server; secrets now show "set"
      mount(document.getElementById("settings-status"), notice("Settings saved.", "ok"));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const missed = placeErrors(err.data);
      mount(status, notice(err.message), missed.map((m) => notice(m)));
      const first = [...controls.values()].find((el) => el.getAttribute("aria-invalid") === "true");
      if (first) first.focus();
    } finally {
      save.disabled = false;
    }
  });
  mount(main, form);
  controls.get("meta.appName").focus();
}
