import { invalid } from "./errors.js";
const THUMB = /^\d+x\d+[tbf]?$/;
/** File URLs and file tokens. */
export class FileService {
    #client;
    constructor(client) {
        this.#client = client;
    }
    /**
     * The URL of `filename` of `record` (any object with `id` and `collectionId` or
     * `collectionName`); "" when `filename` is empty, so an unset file field gives no URL.
     */
    getURL(record, filename, opts = {}) {
        if (!filename)
            return "";
        const collection = record?.collectionId || record?.collectionName;
        if (!record?.id || !collection)
            throw invalid("The record needs an id and a collectionId or collectionName.", "record");
        if (opts.thumb !== undefined && !THUMB.test(opts.thumb)) {
            throw invalid(`thumb must look like 100x100, 0x300 or 100x100t, got ${JSON.stringify(opts.thumb)}.`, "thumb");
        }
        return this.#client.buildUrl(`/api/files/${encodeURIComponent(collection)}/${encodeURIComponent(record.id)}/${encodeURIComponent(filename)}`, { thumb: opts.thumb || undefined, token: opts.token || undefined, download: opts.download ? 1 : undefined });
    }
    /** A short-lived token for protected files of the signed-in record (or superuser). */
    async getToken(opts = {}) {
        const res = await this.#client.send("/api/files/token", { ...opts, method: "POST" });
        return res.token;
    }
}
/** Callable functions (`POST /api/functions/{name}`), with the client's auth. */
export class FunctionService {
    #client;
    constructor(client) {
        this.#client = client;
    }
    /** Calls function `name` with a JSON object; resolves with its JSON answer. */
    async call(name, body = {}, opts = {}) {
        if (typeof name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(name)) {
            throw invalid(`A function name is letters, digits, _ . - only, got ${JSON.stringify(name)}.`, "name");
        }
        if (!body || typeof body !== "object" || Array.isArray(body))
            throw invalid("A function's body must be a JSON object.", "body");
        return this.#client.send(`/api/functions/${encodeURIComponent(name)}`, { ...opts, method: "POST", body });
    }
}
/** baas: API keys (`/api/apikeys`), for superusers. A key is a credential for servers and scripts. */
export class ApiKeyService {
    #client;
    constructor(client) {
        this.#client = client;
    }
    /** A new key; its `key` is the secret, answered this once (use it with `client.useApiKey`). */
    async create(name, scopes, opts = {}) {
        if (typeof name !== "string" || !name.trim())
            throw invalid("An API key needs a non-empty name.", "name");
        if (!Array.isArray(scopes))
            throw invalid("scopes must be a list of {collection, actions} objects.", "scopes");
        const { expires, ...rest } = opts;
        const body = { name, scopes };
        if (expires !== undefined)
            body.expires = expires;
        return this.#client.send("/api/apikeys", { ...rest, method: "POST", body });
    }
    /** One page of keys (never their secrets). */
    async getList(page = 1, perPage = 30, opts = {}) {
        return this.#client.send("/api/apikeys", { ...opts, query: { page, perPage, ...(opts.query ?? {}) } });
    }
    async getOne(id, opts = {}) {
        return this.#client.send(`/api/apikeys/${encodeURIComponent(checkKeyId(id))}`, opts);
    }
    /** Revokes a key: it is refused (401) from then on. */
    async delete(id, opts = {}) {
        await this.#client.send(`/api/apikeys/${encodeURIComponent(checkKeyId(id))}`, { ...opts, method: "DELETE" });
    }
}
function checkKeyId(id) {
    if (typeof id !== "string" || !id)
        throw invalid("An API key id must be a non-empty string.", "id");
    return id;
}
