// The public REST API, with the superuser's token. The console has no other way in: anything
// it does can be scripted with the same requests (docs/console.md).

const KEY = "baas_console_auth"; // localStorage, as PocketBase's dashboard keeps its token
const SUPERUSERS = "/api/collections/_superusers";

/** An API error in the API's shape: status, message, data (per-field errors). */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `Request failed (${status}).`);
    this.status = status;
    this.data = (body && typeof body.data === "object" && body.data) || {};
    this.body = body || {}; // the whole answer: a sign-in's 401 carries {mfaId} and no message
  }
}

export const session = {
  get() {
    try { return JSON.parse(localStorage.getItem(KEY) || "null"); } catch { return null; }
  },
  save(token, record) { localStorage.setItem(KEY, JSON.stringify({token, record})); scheduleRefresh(); },
  clear() { localStorage.removeItem(KEY); clearTimeout(refreshTimer); },
  token() { const s = this.get(); return s ? s.token : ""; },
};

/** Call the API; JSON bodies in and out, FormData passed as is. Throws ApiError. */
export async function api(method, path, {body, query} = {}) {
  const headers = {};
  const token = session.token();
  if (token) headers.Authorization = token;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const qs = query ? "?" + new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v != null)) : "";
  const resp = await fetch(path + qs, {method, headers, body: payload});
  const isJson = (resp.headers.get("content-type") || "").includes("json");
  const data = resp.status === 204 ? null : isJson ? await resp.json() : await resp.text();
  if (!resp.ok) {
    if (resp.status === 401 && token && !SIGN_IN.some((p) => path === SUPERUSERS + p)) {
      session.clear(); // the token expired or was revoked: back to sign-in
      location.hash = "#/login";
    }
    throw new ApiError(resp.status, isJson ? data : null);
  }
  return data;
}

// Sign-in requests: a 401 there is an answer (a wrong password, or MFA asking for a second factor),
// not an expired session.
const SIGN_IN = ["/auth-with-password", "/auth-with-otp", "/auth-with-totp", "/request-otp"];

/** The superusers' sign-in methods (public): {password, otp, mfa, oauth2}, each with `enabled`. */
export async function authMethods() {
  return api("GET", SUPERUSERS + "/auth-methods");
}

/** A sign-in step: {token, record} ends it (the session is saved), {mfaId} asks for a second factor. */
async function signInStep(path, body) {
  try {
    const out = await api("POST", SUPERUSERS + path, {body});
    session.save(out.token, out.record);
    return out;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && typeof err.body.mfaId === "string") {
      return {mfaId: err.body.mfaId};
    }
    throw err;
  }
}

/** Email and password; with `mfaId` when the password is the second factor (after an OTP). */
export async function signIn(identity, password, mfaId) {
  return signInStep("/auth-with-password", mfaId ? {identity, password, mfaId} : {identity, password});
}

/** Mail a one-time code to `email`; its otpId (answered for any address, known or not). */
export async function requestOtp(email) {
  return (await api("POST", SUPERUSERS + "/request-otp", {body: {email}})).otpId;
}

/** The mailed code for `otpId`; with `mfaId` when it is the second factor. */
export async function signInWithOtp(otpId, code, mfaId) {
  return signInStep("/auth-with-otp", mfaId ? {otpId, password: code, mfaId} : {otpId, password: code});
}

/** The second factor from an authenticator app: a current code, or one of the recovery codes. */
export async function signInWithTotp(mfaId, {code, recoveryCode}) {
  return signInStep("/auth-with-totp", code ? {mfaId, code} : {mfaId, recoveryCode});
}

/** A new token for the current one (POST auth-refresh); false when it is no longer valid. */
export async function refresh() {
  if (!session.token()) return false;
  try {
    const out = await api("POST", SUPERUSERS + "/auth-refresh");
    session.save(out.token, out.record);
    return true;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) { session.clear(); return false; }
    throw err;
  }
}

let refreshTimer = 0;
/** Refresh the token a while before it expires, so an open console stays signed in. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const token = session.token();
  let exp = 0;
  try { exp = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp || 0; } catch { return; }
  const wait = Math.max(30, exp - Date.now() / 1000 - 600) * 1000;
  refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, Math.min(wait, 2 ** 31 - 1));
}

export function signOut() {
  session.clear();
}

/** Every collection (the API pages them; the console wants them all). */
export async function allCollections() {
  const items = [];
  for (let page = 1; ; page++) {
    const out = await api("GET", "/api/collections", {query: {page, perPage: 200}});
    items.push(...out.items);
    if (page >= out.totalPages) return items;
  }
}
