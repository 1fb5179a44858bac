// The console's entry: a hash router (#/collections, #/install/<token> …) and the page frame.
// Pages are modules exporting `render(main, params)`; adding one is a line in ROUTES.

import {refresh, session, signOut} from "./api.js";
import {h, mount} from "./dom.js";
import * as login from "./pages/login.js";
import * as install from "./pages/install.js";
import * as collections from "./pages/collections.js";
import * as collectionForm from "./pages/collection_form.js";
import * as records from "./pages/records.js";
import * as recordForm from "./pages/record_form.js";
import * as playground from "./pages/playground.js";
import * as exportPage from "./pages/export.js";

// [pattern, page, needs a signed-in superuser]
const ROUTES = [
  [/^\/login$/, login, false],
  [/^\/install\/([^/]+)$/, install, false],
  [/^\/collections$/, collections, true],
  [/^\/collections\/new$/, collectionForm, true],
  [/^\/collections\/([^/]+)\/edit$/, collectionForm, true],
  [/^\/collections\/([^/]+)\/records$/, records, true],
  [/^\/collections\/([^/]+)\/records\/([^/]+)$/, recordForm, true],
  [/^\/collections\/([^/]+)\/playground$/, playground, true],
  [/^\/export$/, exportPage, true],
];

function header() {
  const top = document.getElementById("top");
  const s = session.get();
  mount(top, h("nav", {"aria-label": "Main"},
    h("a", {class: "brand", href: "#/collections"}, "baas"),
    s ? h("a", {href: "#/collections"}, "Collections") : null,
    s ? h("a", {href: "#/export", id: "nav-export"}, "Export schema") : null),
    s ? h("div", {class: "who"}, h("span", {id: "signed-in-as"}, s.record && s.record.email),
          h("button", {type: "button", id: "sign-out", onclick: () => { signOut(); location.hash = "#/login"; }},
            "Sign out")) : null);
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
