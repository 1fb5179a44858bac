// The console's entry: a hash router (#/collections, #/install/<token> …) and the page frame.
// Pages are modules exporting `render(main, params)`; adding one is a line in ROUTES.

import {refresh, session, signOut} from "./api.js";
import {h, mount} from "./dom.js";
import * as login from "./pages/login.js";
import * as install from "./pages/install.js";
import * as authPublic from "./pages/auth_public.js";
import * as collections from "./pages/collections.js";
import * as collectionForm from "./pages/collection_form.js";
import * as records from "./pages/records.js";
import * as recordForm from "./pages/record_form.js";
import * as apiPreview from "./pages/api_preview.js";
import * as playground from "./pages/playground.js";
import * as exportPage from "./pages/export.js";
import * as importPage from "./pages/import.js";
import * as settingsPage from "./pages/settings.js";
import * as apikeysPage from "./pages/apikeys.js";
import * as superusersPage from "./pages/superusers.js";
import * as jobsPage from "./pages/jobs.js";
import * as functionsPage from "./pages/functions.js";
import * as webhooksPage from "./pages/webhooks.js";
import * as backupsPage from "./pages/backups.js";
import * as dashboardPage from "./pages/dashboard.js";
import * as logsPage from "./pages/logs.js";
import * as advicePage from "./pages/advice.js";
import * as pluginPage from "./pages/plugin.js";
import {pluginPages} from "./pages/plugin.js";

// [pattern, page, needs a signed-in superuser]
const ROUTES = [
  [/^\/login$/, login, false],
  [/^\/install\/([^/]+)$/, install, false],
  [/^\/auth\/(confirm-[a-z-]+)\/([^/]+)$/, authPublic, false], // the links in auth emails: no superuser
  [/^\/collections$/, collections, true],
  [/^\/collections\/new$/, collectionForm, true],
  [/^\/collections\/import$/, importPage, true], // a PocketBase export, after the plan
  [/^\/collections\/([^/]+)\/edit$/, collectionForm, true],
  [/^\/collections\/([^/]+)\/records$/, records, true],
  [/^\/collections\/([^/]+)\/records\/([^/]+)$/, recordForm, true],
  [/^\/collections\/([^/]+)\/api$/, apiPreview, true], // curl/JS/Python snippets and the rules in words
  [/^\/collections\/([^/]+)\/playground$/, playground, true],
  [/^\/export$/, exportPage, true],
  [/^\/settings$/, settingsPage, true], // application settings, test email, test S3
  [/^\/apikeys$/, apikeysPage, true],
  [/^\/superusers$/, superusersPage, true],
  [/^\/jobs$/, jobsPage, true], // scheduled jobs: next/last run, run now, history
  [/^\/functions$/, functionsPage, true], // callable functions and a try-it form
  [/^\/webhooks$/, webhooksPage, true], // outgoing webhooks, delivery log, replay, test
  [/^\/backups$/, backupsPage, true], // list, back up now, upload, download, delete, schedule
  [/^\/dashboard$/, dashboardPage, true], // requests/min, latency, success rate, errors, uptime
  [/^\/logs(?:\?.*)?$/, logsPage, true], // the request log: filter (?filter=… in the address), detail
  [/^\/advice(?:\?.*)?$/, advicePage, true], // the indexes slow record lists need (?since=…&minMs=…); linked from the dashboard
  [/^\/plugins\/([^/]+)\/?(.*)$/, pluginPage, true], // pages plugins add (docs/plugins.md)
];

function header() {
  const top = document.getElementById("top");
  const s = session.get();
  const nav = h("nav", {"aria-label": "Main"},
    h("a", {class: "brand", href: "#/collections"}, "baas"),
    s ? h("a", {href: "#/collections"}, "Collections") : null,
    s ? h("a", {href: "#/export", id: "nav-export"}, "Export schema") : null,
    s ? h("a", {href: "#/collections/import", id: "nav-import"}, "Import collections") : null,
    s ? h("a", {href: "#/settings", id: "nav-settings"}, "Settings") : null,
    s ? h("a", {href: "#/apikeys", id: "nav-apikeys"}, "API keys") : null,
    s ? h("a", {href: "#/superusers", id: "nav-superusers"}, "Superusers") : null,
    s ? h("a", {href: "#/jobs", id: "nav-jobs"}, "Jobs") : null,
    s ? h("a", {href: "#/functions", id: "nav-functions"}, "Functions") : null,
    s ? h("a", {href: "#/webhooks", id: "nav-webhooks"}, "Webhooks") : null,
    s ? h("a", {href: "#/backups", id: "nav-backups"}, "Backups") : null,
    s ? h("a", {href: "#/dashboard", id: "nav-dashboard"}, "Dashboard") : null,
    s ? h("a", {href: "#/logs", id: "nav-logs"}, "Logs") : null);
  mount(top, nav,
    s ? h("div", {class: "who"}, h("span", {id: "signed-in-as"}, s.record && s.record.email),
          h("button", {type: "button", id: "sign-out", onclick: () => { signOut(); location.hash = "#/login"; }},
            "Sign out")) : null);
  if (s) {
    pluginPages().then((pages) => {
      for (const p of pages) nav.append(h("a", {href: `#/plugins/${encodeURIComponent(p.name)}`, "data-plugin": p.name}, p.title));
    });
  }
}

async function route() {
  const main = document.getElementById("main");
  const path = location.hash.replace(/^#/, "") || "/collections";
  for (const [pattern, page, needsAuth] of ROUTES) {
    const m = pattern.exec(path);
    if (!m) continue;
    if (needsAuth && !session.token()) { location.hash = "#/login"; return; }
    header();
    try {
      await page.render(main, m.slice(1).map(decodeURIComponent));
    } catch (err) {
      mount(main, h("p", {class: "notice error", role: "alert"}, String(err.message || err)));
    }
    return;
  }
  location.hash = session.token() ? "#/collections" : "#/login";
}

async function start() {
  // A stored token is refreshed first: a stale one sends the console to sign-in, not to errors.
  if (session.token()) await refresh().catch(() => {});
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "1";
}

start();
