// The installer link printed by `baas serve` on a fresh install: create the first superuser.

import {api, ApiError, signIn} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

// The _superusers password field's minimum (baas/schema/defaults.py); the server's own error
// still shows under the field if it differs.
const MIN_PASSWORD = 8;

export async function render(main, [token]) {
  const status = await api("GET", "/api/installer");
  if (status.superuserExists) {
    mount(main, h("section", {class: "card"}, h("h1", {}, "Already installed"),
      h("p", {}, "A superuser exists, so this installer link no longer works."),
      h("p", {}, h("a", {href: "#/login"}, "Sign in"))));
    return;
  }
  const email = h("input", {type: "email", name: "email", autocomplete: "username", required: true});
  const password = h("input", {type: "password", name: "password", autocomplete: "new-password", required: true});
  const confirm = h("input", {type: "password", name: "passwordConfirm", autocomplete: "new-password",
                               required: true});
  const controls = {email, password, passwordConfirm: confirm};
  const message = h("div", {});
  const form = h("form", {class: "card", id: "install"},
    h("h1", {}, "Create the first superuser"),
    labelled("Email", email), labelled("Password", password, `At least ${MIN_PASSWORD} characters.`), labelled("Password again", confirm), message,
    h("button", {type: "submit"}, "Create superuser and sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    mount(message);
    for (const c of Object.values(controls)) setError(c, "");
    try {
      await api("POST", "/api/installer", {body: {token, email: email.value, password: password.value,
                                                  passwordConfirm: confirm.value}});
      await signIn(email.value, password.value);
      location.hash = "#/collections";
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // The API's message ("Failed to create record.") speaks of records; say what failed, with its reasons.
      const reasons = Object.entries(err.data).map(([name, e]) => `${name}: ${e && e.message ? e.message : e}`);
      mount(message, notice(reasons.length ? `Could not create the superuser: ${reasons.join(" ")}`
        : `Could not create the superuser: ${err.message}`));
      for (const [name, e] of Object.entries(err.data)) if (controls[name]) setError(controls[name], e.message);
      message.closest("form").querySelector("[aria-invalid=true]")?.focus();
    }
  });
  mount(main, form);
  email.focus();
}
