import { AuthStore, tokenClaims } from "./authstore.js";
import { Batch } from "./batch.js";
import { ClientError, invalid } from "./errors.js";
import { ApiKeyService, FileService, FunctionService } from "./files.js";
import { filter as bindFilter, formatDate } from "./filter.js";
import { PushService } from "./push.js";
import { RealtimeService } from "./realtime.js";
import { RecordService } from "./records.js";
function isBlob(v) {
    return typeof Blob !== "undefined" && v instanceof Blob;
}
/** JSON with dates as the API writes them. */
function toJson(body) {
    return JSON.stringify(body, function (key, value) {
        const raw = key === "" ? value : this[key];
        return raw instanceof Date ? formatDate(raw) : value;
    });
}
/** A body with Blobs (in it or in `files`) as PocketBase's multipart: file parts plus `@jsonPayload`. */
export function multipart(body, files, prefix = "") {
    const plain = {};
    const blobs = [];
    if (body !== undefined && body !== null) {
        if (typeof body !== "object" || Array.isArray(body)) {
            if (files && Object.keys(files).length)
                throw invalid("A body sent with files must be an object.");
            return null;
        }
        for (const [k, v] of Object.entries(body)) {
            if (isBlob(v))
                blobs.push([k, v]);
            else if (Array.isArray(v) && v.length > 0 && v.every(isBlob))
                for (const b of v)
                    blobs.push([k, b]);
            else
                plain[k] = v;
        }
    }
    for (const [k, v] of Object.entries(files ?? {})) {
        const list = Array.isArray(v) ? v : [v];
        for (const b of list) {
            if (!isBlob(b))
                throw invalid(`files.${k} must be a Blob/File or a list of them.`, k);
            blobs.push([k, b]);
        }
    }
    if (!blobs.length)
        return null;
    const form = new FormData();
    for (const [k, b] of blobs)
        form.append(prefix + k, b, b.name || "blob");
    form.append("@jsonPayload", toJson(plain));
    return form;
}
function appendQuery(params, query) {
    for (const [k, v] of Object.entries(query ?? {})) {
        if (v === undefined || v === null)
            continue;
        if (Array.isArray(v))
            for (const item of v)
                params.append(k, String(item));
        else
            params.append(k, String(v));
    }
}
/**
 * The baas client. One per server and set of credentials:
 *
 *     const client = new Client<Collections>("http://127.0.0.1:8090");
 *     await client.collection("users").authWithPassword("ann@example.com", "secret-pass");
 *     const posts = await client.collection("posts").getList(1, 20, { sort: "-created" });
 */
export class Client {
    /** The server's address, without a trailing slash. */
    baseUrl;
    authStore;
    files;
    functions;
    /** baas: API keys (superusers). */
    apiKeys;
    /** baas: push notifications (devices, preferences; sending and the log for superusers). */
    push;
    realtime;
    lang;
    timeout;
    autoRefreshThreshold;
    #fetch;
    #refreshing = null;
    #services = new Map();
    constructor(baseUrl, opts = {}) {
        if (typeof baseUrl !== "string" || !/^https?:\/\//i.test(baseUrl)) {
            throw invalid(`The base URL must start with http:// or https://, got ${JSON.stringify(baseUrl)}.`);
        }
        this.baseUrl = baseUrl.replace(/\/+$/, "");
        this.authStore = opts.authStore ?? new AuthStore();
        this.lang = opts.lang ?? "en-US";
        this.timeout = opts.timeout ?? 30_000;
        this.autoRefreshThreshold = opts.autoRefreshThreshold ?? 300;
        const f = opts.fetch ?? globalThis.fetch;
        if (typeof f !== "function")
            throw invalid("No fetch: pass one as the `fetch` option.");
        this.#fetch = f;
        this.files = new FileService(this);
        this.functions = new FunctionService(this);
        this.apiKeys = new ApiKeyService(this);
        this.push = new PushService(this);
        this.realtime = new RealtimeService(this, opts.reconnectDelays ?? [200, 500, 1000, 2000, 5000]);
    }
    /** The records (and auth) API of one collection, typed by the client's schema map. */
    collection(name) {
        if (typeof name !== "string" || !name)
            throw invalid("A collection name must be a non-empty string.");
        let svc = this.#services.get(name);
        if (!svc) {
            svc = new RecordService(this, name);
            this.#services.set(name, svc);
        }
        return svc;
    }
    /** Binds values into `{:name}` placeholders of a filter expression (see `filter`). */
    filter(expr, params = {}) {
        return bindFilter(expr, params);
    }
    /** Sends an API key (`baas_…`) as the credential of every request (never refreshed). */
    useApiKey(key) {
        if (typeof key !== "string" || !key.trim())
            throw invalid("The API key must be a non-empty string.", "key");
        this.authStore.save(key.trim());
    }
    /** A new batch: queue writes on `batch.collection(name)`, then `await batch.send()`. */
    batch() {
        return new Batch(this);
    }
    /** `baseUrl` + `path` (+ query). */
    buildUrl(path, query) {
        const url = this.baseUrl + (path.startsWith("/") ? path : "/" + path);
        const params = new URLSearchParams();
        appendQuery(params, query);
        const qs = params.toString();
        return qs ? url + (url.includes("?") ? "&" : "?") + qs : url;
    }
    /** Refreshes a record token that is about to expire (once, however many requests wait for it). */
    async #autoRefresh() {
        const token = this.authStore.token;
        if (!token || this.autoRefreshThreshold <= 0)
            return;
        const claims = tokenClaims(token);
        if (!claims || claims.type !== "auth" || claims.refreshable === false || typeof claims.exp !== "number" || !claims.collectionId)
            return;
        const left = claims.exp - Date.now() / 1000;
        if (left <= 0 || left > this.autoRefreshThreshold)
            return; // expired tokens cannot be refreshed
        if (!this.#refreshing) {
            const collection = this.authStore.record?.collectionName || claims.collectionId;
            this.#refreshing = this.send(`/api/collections/${encodeURIComponent(collection)}/auth-refresh`, {
                method: "POST",
                auth: false,
                headers: { Authorization: token },
            })
                .then((res) => {
                if (this.authStore.token === token)
                    this.authStore.save(res.token, res.record);
            })
                .finally(() => {
                this.#refreshing = null;
            });
        }
        try {
            await this.#refreshing;
        }
        catch (err) {
            // A refused refresh (revoked, authRule) signs out: the request goes on as a guest.
            if (err instanceof ClientError && (err.status === 401 || err.status === 403)) {
                if (this.authStore.token === token)
                    this.authStore.clear();
                return;
            }
            throw err;
        }
    }
    /** The headers of a request: language, the auth store's token, the caller's own. */
    async headersFor(opts = {}) {
        const headers = { "Accept-Language": this.lang };
        const own = Object.keys(opts.headers ?? {}).some((k) => k.toLowerCase() === "authorization");
        if (opts.auth !== false && !own) {
            await this.#autoRefresh();
            if (this.authStore.token)
                headers["Authorization"] = this.authStore.token;
        }
        return { ...headers, ...(opts.headers ?? {}) };
    }
    /** Raw `fetch` with the client's headers and timeout; the answer is not checked (the realtime stream uses it). */
    async fetchRaw(path, opts) {
        const url = this.buildUrl(path, opts.query);
        const headers = await this.headersFor(opts);
        const timeout = opts.timeout ?? this.timeout;
        const signals = [opts.signal, timeout > 0 ? AbortSignal.timeout(timeout) : undefined].filter(Boolean);
        const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
        let body = opts.bodyInit;
        if (body === undefined && opts.body !== undefined) {
            if (typeof FormData !== "undefined" && opts.body instanceof FormData)
                body = opts.body;
            else {
                const form = multipart(opts.body, opts.files);
                if (form)
                    body = form;
                else {
                    body = toJson(opts.body);
                    headers["Content-Type"] ??= "application/json";
                }
            }
        }
        else if (body === undefined && opts.files && Object.keys(opts.files).length) {
            body = multipart({}, opts.files) ?? undefined;
        }
        try {
            return await this.#fetch(url, { method: opts.method ?? "GET", headers, body, signal });
        }
        catch (err) {
            const abort = err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError");
            throw new ClientError(0, abort ? `The request to ${url} was aborted.` : `The request to ${url} failed: ${String(err?.message ?? err)}`, {
                url,
                isAbort: abort,
                cause: err,
            });
        }
    }
    /** One API call: JSON (or `undefined` for 204) on success, a `ClientError` otherwise. */
    async send(path, opts = {}) {
        const res = await this.fetchRaw(path, opts);
        const url = res.url || this.buildUrl(path, opts.query);
        let payload = undefined;
        if (res.status !== 204) {
            const text = await res.text();
            if (text) {
                try {
                    payload = JSON.parse(text);
                }
                catch {
                    payload = text;
                }
            }
        }
        if (!res.ok) {
            const obj = payload && typeof payload === "object" && !Array.isArray(payload) ? payload : {};
            const message = typeof obj["message"] === "string" ? obj["message"] : typeof payload === "string" && payload ? payload.slice(0, 500) : `The server answered ${res.status}.`;
            const data = obj["data"] && typeof obj["data"] === "object" ? obj["data"] : {};
            throw new ClientError(res.status, message, { url, data, response: obj });
        }
        return payload;
    }
    toJSON() {
        return { baseUrl: this.baseUrl, authStore: this.authStore.toJSON() };
    }
    [Symbol.for("nodejs.util.inspect.custom")]() {
        return `Client { baseUrl: ${JSON.stringify(this.baseUrl)}, signedIn: ${Boolean(this.authStore.token)} }`;
    }
}
