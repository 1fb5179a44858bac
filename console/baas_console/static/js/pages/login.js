// Sign-in for superusers; on a fresh install, how to create the first one.

import {api, ApiError, signIn} from "../api.js";
import {h, labelled, mount, notice} from "../dom.js";

export async function render(main) {
  const status = await api("GET", "/api/installer").catch(() => ({superuserExists: true}));
  if (!status.superuserExists) {
    mount(main, h("section", {class: "card", id: "first-run"},
      h("h1", {}, "Welcome to baas"),
      h("p", {}, "No superuser exists yet. Create one from a terminal on the server:"),
      h("pre", {}, h("code", {}, "baas superuser upsert EMAIL PASSWORD")),
      h("p", {}, "or open the one-time installer link that ", h("code", {}, "baas serve"),
        " printed when it started (it is valid for 30 minutes; restart the server for a new one).")));
    return;
  }
  const email = h("input", {type: "email", name: "identity", autocomplete: "username", required: true});
  const password = h("input", {type: "password", name: "password", autocomplete: "current-password",
                                required: true});
  const message = h("div", {});
  const form = h("form", {class: "card", id: "login", "aria-labelledby": "login-title"},
    h("h1", {id: "login-title"}, "Superuser sign-in"),
    labelled("Email", email), labelled("Password", password), message,
    h("button", {type: "submit"}, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    mount(message);
    try {
      await signIn(email.value, password.value);
      location.hash = "#/collections";
    } catch (err) {
      mount(message, notice(err instanceof ApiError ? err.message : String(err)));
    }
  });
  mount(main, form);
  email.focus();
}
