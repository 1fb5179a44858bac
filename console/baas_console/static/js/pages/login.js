// Sign-in for superusers: email + password, or a one-time code by email when the _superusers
// collection enables OTP; when it requires MFA (its `mfa` option, or a TOTP enrolment) the first
// method answers 401 {mfaId} and a second, different one completes the sign-in. On a fresh
// install: how to create the first superuser.

import {ApiError, api, authMethods, requestOtp, signIn, signInWithOtp, signInWithTotp} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

const TOTP_CODE = /^[0-9]{6}$/;

function firstRun(main) {
  mount(main, h("section", {class: "card", id: "first-run"},
    h("h1", {}, "Welcome to baas"),
    h("p", {}, "No superuser exists yet. Create one from a terminal on the server:"),
    h("pre", {}, h("code", {}, "baas superuser upsert EMAIL PASSWORD")),
    h("p", {}, "or open the one-time installer link that ", h("code", {}, "baas serve"),
      " printed when it started (it is valid for 30 minutes; restart the server for a new one).")));
}

/** Run a sign-in step from a form: field errors beside their controls, anything else in `message`. */
async function attempt(message, controls, step, onMfa, explain) {
  mount(message);
  for (const c of Object.values(controls)) setError(c, "");
  try {
    const out = await step();
    if (out && out.mfaId) onMfa(out.mfaId);
    else location.hash = "#/collections";
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    mount(message, (explain && explain(err)) || notice(err.message));
    for (const [name, e] of Object.entries(err.data)) if (controls[name]) setError(controls[name], e.message);
  }
}

/** A refused password sign-in (400, no field errors) in plain words, with the way back in. */
function wrongPassword(err) {
  if (err.status !== 400 || Object.keys(err.data).length) return null;
  return [notice("Wrong email or password."),
    h("p", {class: "hint", id: "reset-hint"}, "Forgot the password? On the server, ",
      h("code", {}, "baas superuser upsert EMAIL PASSWORD"), " sets a new one.")];
}

function submitting(form, handler) {
  form.addEventListener("submit", (ev) => { ev.preventDefault(); handler(); });
  return form;
}

/** Email + password (the first factor, or the second after an emailed code: `mfaId`). */
function passwordForm(main, methods, {email = "", mfaId = ""} = {}) {
  const identity = h("input", {type: "email", name: "identity", autocomplete: "username", required: true,
                               value: email, readonly: mfaId ? true : null});
  const password = h("input", {type: "password", name: "password", autocomplete: "current-password",
                               required: true});
  const message = h("div", {});
  const form = submitting(h("form", {class: "card", id: "login", "aria-labelledby": "login-title"},
    h("h1", {id: "login-title"}, mfaId ? "Second step: your password" : "Superuser sign-in"),
    labelled("Email", identity), labelled("Password", password), message,
    h("button", {type: "submit"}, "Sign in"),
    !mfaId && methods.otp.enabled
      ? h("p", {}, h("button", {type: "button", class: "link", onclick: () => otpForm(main, methods,
          {email: identity.value})}, "Sign in with a code sent by email"))
      : null),
  () => attempt(message, {identity, password}, () => signIn(identity.value, password.value, mfaId || undefined),
                (id) => secondFactor(main, methods, {first: "password", email: identity.value, mfaId: id}),
                wrongPassword));
  mount(main, form);
  (mfaId ? password : identity).focus();
}

/** A one-time code by email: ask for it, then type it (first factor, or second with `mfaId`). */
function otpForm(main, methods, {email = "", mfaId = ""} = {}) {
  const address = h("input", {type: "email", name: "email", autocomplete: "username", required: true,
                              value: email, readonly: mfaId ? true : null});
  const code = h("input", {type: "text", name: "password", autocomplete: "one-time-code", inputmode: "numeric",
                           required: true});
  const message = h("div", {});
  const codeRow = h("div", {hidden: true}, labelled("Code from the email", code),
                    h("button", {type: "submit"}, "Sign in"));
  let otpId = "";
  const send = h("button", {type: "button"}, "Send code");
  send.addEventListener("click", async () => {
    mount(message);
    setError(address, "");
    try {
      otpId = await requestOtp(address.value);
      codeRow.hidden = false;
      mount(message, notice(`If ${address.value} belongs to a superuser, a code is on its way.`, "info"));
      code.focus();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(message, notice(err.message));
      if (err.data.email) setError(address, err.data.email.message);
    }
  });
  const form = submitting(h("form", {class: "card", id: "otp-login", "aria-labelledby": "otp-title"},
    h("h1", {id: "otp-title"}, mfaId ? "Second step: a code by email" : "Sign in with a code"),
    labelled("Email", address), send, codeRow, message,
    mfaId ? null : h("p", {}, h("button", {type: "button", class: "link",
                                          onclick: () => passwordForm(main, methods)}, "Sign in with a password"))),
  () => {
    if (!otpId) { send.click(); return; } // Enter in the email field asks for the code
    attempt(message, {password: code, otpId: code}, () => signInWithOtp(otpId, code.value, mfaId || undefined),
            (id) => secondFactor(main, methods, {first: "otp", email: address.value, mfaId: id}));
  });
  mount(main, form);
  (mfaId ? send : address).focus();
}

/** MFA: the first method passed; offer every method that differs from it. */
function secondFactor(main, methods, {first, email, mfaId}) {
  const code = h("input", {type: "text", name: "code", autocomplete: "one-time-code", required: true});
  const message = h("div", {});
  const totp = submitting(h("form", {id: "totp-login", "aria-labelledby": "totp-title"},
    h("h2", {id: "totp-title"}, "Authenticator app"),
    labelled("Authenticator code", code, "The 6-digit code from your app, or one of your recovery codes."),
    message, h("button", {type: "submit"}, "Verify")),
  () => {
    const value = code.value.trim();
    const body = TOTP_CODE.test(value) ? {code: value} : {recoveryCode: value};
    attempt(message, {code, recoveryCode: code, mfaId: code}, () => signInWithTotp(mfaId, body),
            () => mount(message, notice("Another step is still required.")));
  });
  const other = first === "password"
    ? (methods.otp.enabled
      ? h("button", {type: "button", onclick: () => otpForm(main, methods, {email, mfaId})}, "Email me a code")
      : null)
    : h("button", {type: "button", onclick: () => passwordForm(main, methods, {email, mfaId})}, "Use my password");
  mount(main, h("section", {class: "card", id: "mfa", "aria-labelledby": "mfa-title"},
    h("h1", {id: "mfa-title"}, "A second step is required"),
    h("p", {}, `Signed in with ${first === "password" ? "your password" : "a code by email"} as ${email}. `
      + "This account needs a second, different method to finish signing in."),
    other ? h("p", {}, other) : null,
    totp,
    h("p", {}, h("button", {type: "button", class: "link", onclick: () => passwordForm(main, methods)},
                 "Start over"))));
  (other || code).focus();
}

export async function render(main) {
  const status = await api("GET", "/api/installer").catch(() => ({superuserExists: true}));
  if (!status.superuserExists) { firstRun(main); return; }
  const methods = await authMethods().catch(() => ({password: {enabled: true}, otp: {enabled: false}}));
  if (methods.password.enabled === false && methods.otp.enabled) otpForm(main, methods);
  else passwordForm(main, methods);
}
