// The pages the auth emails link to (baas/auth/emails.py): #/auth/confirm-verification/<token>,
// #/auth/confirm-password-reset/<token>, #/auth/confirm-email-change/<token>. They are for the
// app's users, not superusers: no sign-in, and the console's own token is never sent. The token
// names its collection (`collectionId`, read here without checking: the server checks it).

import {ApiError} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

const INVALID = "This link is invalid, has expired or was already used. Ask for a new email.";

/** The token's claims, unchecked (null when it is not a JWT): only to pick the collection and show the address. */
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const out = JSON.parse(atob(part));
    return out && typeof out.collectionId === "string" ? out : null;
  } catch {
    return null;
  }
}

/** POST to a public confirm endpoint, without the console's Authorization header. */
async function confirm(collectionId, action, body) {
  const resp = await fetch(`/api/collections/${encodeURIComponent(collectionId)}/${action}`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  if (resp.ok) return;
  const isJson = (resp.headers.get("content-type") || "").includes("json");
  throw new ApiError(resp.status, isJson ? await resp.json() : null);
}

function card(id, title, ...children) {
  return h("section", {class: "card", id, "aria-labelledby": id + "-title"}, h("h1", {id: id + "-title"}, title),
           ...children);
}

/** A token error means a bad link; other errors name their fields (or come as a message). */
function showError(message, err, controls) {
  if (!(err instanceof ApiError)) throw err;
  let fieldErrors = 0;
  for (const [name, e] of Object.entries(err.data)) {
    if (controls[name]) { setError(controls[name], e.message); fieldErrors += 1; }
  }
  if (err.data.token || err.status === 404) mount(message, notice(INVALID), notice(err.data.token ?
    err.data.token.message : err.message, "info"));
  else if (!fieldErrors) mount(message, notice(err.message));
}

async function verification(main, token, c) {
  const message = h("div", {"aria-live": "polite"}, h("p", {}, "Verifying your email…"));
  mount(main, card("confirm-verification", "Email verification", message));
  try {
    await confirm(c.collectionId, "confirm-verification", {token});
    mount(message, notice(`Your email ${c.email || ""} is verified. You can close this page.`, "success"));
  } catch (err) {
    showError(message, err, {});
  }
}

function passwordReset(main, token, c) {
  const password = h("input", {type: "password", name: "password", autocomplete: "new-password", required: true});
  const again = h("input", {type: "password", name: "passwordConfirm", autocomplete: "new-password",
                            required: true});
  const controls = {password, passwordConfirm: again};
  const message = h("div", {"aria-live": "polite"});
  const submit = h("button", {type: "submit"}, "Set new password");
  const form = h("form", {}, labelled("New password", password), labelled("New password again", again),
                 message, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    mount(message);
    for (const ctl of Object.values(controls)) setError(ctl, "");
    if (password.value !== again.value) { setError(again, "The passwords don't match."); return; }
    try {
      await confirm(c.collectionId, "confirm-password-reset",
                    {token, password: password.value, passwordConfirm: again.value});
      mount(form, notice("Your password has been changed. Sign in with the new one.", "success"));
    } catch (err) {
      showError(message, err, controls);
    }
  });
  mount(main, card("confirm-password-reset", "Reset your password",
    c.email ? h("p", {}, "For ", h("strong", {}, c.email)) : null, form));
  password.focus();
}

function emailChange(main, token, c) {
  const password = h("input", {type: "password", name: "password", autocomplete: "current-password",
                               required: true});
  const message = h("div", {"aria-live": "polite"});
  const form = h("form", {}, labelled("Your password", password, "The password of the account, to confirm."),
                 message, h("button", {type: "submit"}, "Confirm new email"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    mount(message);
    setError(password, "");
    try {
      await confirm(c.collectionId, "confirm-email-change", {token, password: password.value});
      mount(form, notice(`Your email is now ${c.newEmail || "changed"}. Sign in with it.`, "success"));
    } catch (err) {
      showError(message, err, {password});
    }
  });
  mount(main, card("confirm-email-change", "Confirm your new email",
    h("p", {}, "Change ", h("strong", {}, c.email || "your email"), " to ", h("strong", {}, c.newEmail || "?")),
    form));
  password.focus();
}

const PAGES = {"confirm-verification": verification, "confirm-password-reset": passwordReset,
               "confirm-email-change": emailChange};

export async function render(main, [action, token]) {
  const page = PAGES[action];
  const c = claims(token);
  if (!page || !c) { mount(main, card("auth-link", "Invalid link", notice(INVALID))); return; }
  await page(main, token, c);
}
