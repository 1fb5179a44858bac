/** Decodes a JWT's payload; `null` for anything that is not one (an API key `baas_…`, garbage). */
export function tokenClaims(token) {
    const parts = token.split(".");
    if (parts.length !== 3 || !parts[1])
        return null;
    try {
        const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
        const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
        const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
        const claims = JSON.parse(new TextDecoder().decode(bytes));
        return claims && typeof claims === "object" ? claims : null;
    }
    catch {
        return null;
    }
}
/**
 * The client's credentials: a record/superuser token and its record, or an API key (`baas_…`,
 * saved with `save(key)`). In memory by default; give a `storage` (e.g. `localStorage`) to keep it.
 * The token is never part of what `console.log`/`JSON.stringify` show of the store or the client.
 */
export class AuthStore {
    #token = "";
    #record = null;
    #listeners = new Set();
    #storage;
    #key;
    constructor(opts = {}) {
        this.#storage = opts.storage;
        this.#key = opts.key ?? "baas_auth";
        const saved = this.#storage?.getItem(this.#key);
        if (saved) {
            try {
                const parsed = JSON.parse(saved);
                if (typeof parsed.token === "string") {
                    this.#token = parsed.token;
                    this.#record = parsed.record && typeof parsed.record === "object" ? parsed.record : null;
                }
            }
            catch {
                this.#storage?.removeItem(this.#key); // unreadable: start signed out
            }
        }
    }
    /** The token (or API key) sent as `Authorization`; "" when signed out. */
    get token() {
        return this.#token;
    }
    /** The signed-in record (or superuser); `null` for an API key or when signed out. */
    get record() {
        return this.#record;
    }
    /** True for an API key, or a token that has not expired yet. */
    get isValid() {
        if (!this.#token)
            return false;
        const claims = tokenClaims(this.#token);
        if (!claims)
            return true; // an API key: only the server knows
        return typeof claims.exp !== "number" || claims.exp * 1000 > Date.now();
    }
    /** True when the token belongs to a superuser. */
    get isSuperuser() {
        return Boolean(this.#token) && this.#record?.collectionName === "_superusers";
    }
    /** Replaces the credentials (an API key: `save("baas_…")`). */
    save(token, record = null) {
        this.#token = token;
        this.#record = record;
        if (this.#storage) {
            if (token)
                this.#storage.setItem(this.#key, JSON.stringify({ token, record }));
            else
                this.#storage.removeItem(this.#key);
        }
        for (const cb of [...this.#listeners])
            cb(token, record);
    }
    /** Signs out (locally). */
    clear() {
        this.save("", null);
    }
    /** Calls `cb` on every change; returns a function that stops it. */
    onChange(cb) {
        this.#listeners.add(cb);
        return () => this.#listeners.delete(cb);
    }
    toJSON() {
        return { record: this.#record, isValid: this.isValid };
    }
    [Symbol.for("nodejs.util.inspect.custom")]() {
        return `AuthStore { signedIn: ${Boolean(this.#token)}, record: ${this.#record ? JSON.stringify(this.#record.id) : "null"} }`;
    }
}
