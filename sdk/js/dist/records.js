import { ClientError, invalid } from "./errors.js";
function checkPage(name, v, max) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || (max !== undefined && v > max)) {
        throw invalid(`${name} must be an integer from 1${max ? ` to ${max}` : ""}, got ${String(v)}.`, name);
    }
    return v;
}
function checkId(id, what = "id") {
    if (typeof id !== "string" || !id)
        throw invalid(`The record ${what} must be a non-empty string.`, what);
    return id;
}
function checkBody(body) {
    if (body === undefined || body === null)
        return;
    if (typeof FormData !== "undefined" && body instanceof FormData)
        return;
    if (typeof body !== "object" || Array.isArray(body))
        throw invalid("A record body must be an object (or FormData).");
}
function recordQuery(opts) {
    return { expand: opts.expand || undefined, fields: opts.fields || undefined };
}
/**
 * One collection's records API (and its auth API, for auth collections). `R` is the record type
 * returned, `C` the body of a create, `U` the body of an update — `baas gen types --lang ts`
 * fills them per collection; plain objects otherwise.
 */
export class RecordService {
    client;
    name;
    constructor(client, name) {
        this.client = client;
        this.name = name;
    }
    get #base() {
        return `/api/collections/${encodeURIComponent(this.name)}`;
    }
    /** One page: `getList(1, 20, { filter, sort, expand, fields, skipTotal })`. */
    async getList(page = 1, perPage = 30, opts = {}) {
        checkPage("page", page);
        checkPage("perPage", perPage, 1000);
        return this.client.send(`${this.#base}/records`, {
            ...opts,
            query: {
                page,
                perPage,
                filter: opts.filter || undefined,
                sort: opts.sort || undefined,
                search: opts.search || undefined,
                skipTotal: opts.skipTotal ? 1 : undefined,
                ...recordQuery(opts),
                ...(opts.query ?? {}),
            },
        });
    }
    /**
     * Every record, `batch` per request, as an async iterator. It goes by cursor (docs/api.md,
     * "Cursor paging"): records written meanwhile are neither repeated nor skipped (unless their
     * sort values change meanwhile). A `@random` sort, and a server without cursor paging
     * (PocketBase), are read page by page instead.
     */
    async *iterate(opts = {}) {
        const { batch = 500, ...rest } = opts;
        checkPage("batch", batch, 1000);
        // By page for a @random sort and for a search in relevance order (neither has a position).
        let cursor = rest.sort?.includes("@random") || (rest.search && !rest.sort) ? null : "";
        for (let page = 1;; page++) {
            const res = await this.client.send(`${this.#base}/records`, {
                ...rest,
                query: {
                    perPage: batch,
                    ...(cursor === null ? { page } : { cursor }),
                    filter: rest.filter || undefined,
                    sort: rest.sort || undefined,
                    search: rest.search || undefined,
                    skipTotal: 1,
                    ...recordQuery(rest),
                    ...(rest.query ?? {}),
                },
            });
            yield* res.items;
            if (cursor !== null && "nextCursor" in res) {
                if (!res.nextCursor)
                    return;
                cursor = res.nextCursor;
                continue;
            }
            cursor = null; // the answer was a plain page: on by page numbers
            if (res.items.length < batch)
                return;
        }
    }
    /** Every record (all pages) in one array. */
    async getFullList(opts = {}) {
        const out = [];
        for await (const item of this.iterate(opts))
            out.push(item);
        return out;
    }
    /**
     * Groups of the records you may list (docs/aggregates.md):
     * `aggregate({ groupBy: "status", sum: ["views"], having: "count > 2", sort: "-count" })`
     * answers a page of `{ group: { status }, count, sum: { views } }`.
     */
    async aggregate(opts = {}) {
        const { page = 1, perPage = 30 } = opts;
        checkPage("page", page);
        checkPage("perPage", perPage, 1000);
        const names = (name, value) => {
            if (value === undefined)
                return undefined;
            const list = typeof value === "string" ? [value] : value;
            if (!Array.isArray(list) || !list.every((v) => typeof v === "string")) {
                throw invalid(`${name} must be a field name or an array of them.`, name);
            }
            return list.length ? list.join(",") : undefined;
        };
        return this.client.send(`${this.#base}/aggregate`, {
            ...opts,
            query: {
                page,
                perPage,
                groupBy: names("groupBy", opts.groupBy),
                sum: names("sum", opts.sum),
                avg: names("avg", opts.avg),
                min: names("min", opts.min),
                max: names("max", opts.max),
                distinct: names("distinct", opts.distinct),
                filter: opts.filter || undefined,
                search: opts.search || undefined,
                having: opts.having || undefined,
                sort: opts.sort || undefined,
                skipTotal: opts.skipTotal ? 1 : undefined,
                ...(opts.query ?? {}),
            },
        });
    }
    /** The first record matching `filter`; a 404 `ClientError` when none does. */
    async getFirstListItem(filter, opts = {}) {
        if (typeof filter !== "string")
            throw invalid("The filter must be a string.", "filter");
        const res = await this.getList(1, 1, { ...opts, filter, skipTotal: true });
        const first = res.items[0];
        if (first === undefined) {
            throw new ClientError(404, "The requested resource wasn't found.", { url: this.client.buildUrl(`${this.#base}/records`) });
        }
        return first;
    }
    /** One record by id. */
    async getOne(id, opts = {}) {
        checkId(id);
        return this.client.send(`${this.#base}/records/${encodeURIComponent(id)}`, {
            ...opts,
            query: { ...recordQuery(opts), ...(opts.query ?? {}) },
        });
    }
    /**
     * Creates a record. Blobs/Files in `body` or in `opts.files` go as multipart file parts;
     * everything else as JSON. Modifier keys (`"tags+"`, `"views+"`) pass through.
     */
    async create(body, opts = {}) {
        checkBody(body);
        return this.client.send(`${this.#base}/records`, {
            ...opts,
            method: "POST",
            body: body ?? {},
            query: { ...recordQuery(opts), ...(opts.query ?? {}) },
        });
    }
    /**
     * Updates a record: only the keys given change. Modifiers: `{"views+": 1}`, `{"tags-": "a"}`,
     * `{"files-": ["name.png"]}`; new files with `opts.files` (`{"files+": blob}` appends).
     */
    async update(id, body, opts = {}) {
        checkId(id);
        checkBody(body);
        const res = await this.client.send(`${this.#base}/records/${encodeURIComponent(id)}`, {
            ...opts,
            method: "PATCH",
            body: body ?? {},
            query: { ...recordQuery(opts), ...(opts.query ?? {}) },
        });
        // keep the signed-in record current when it is the one updated
        const current = this.client.authStore.record;
        const updated = res;
        if (current && current.id === updated?.id && current.collectionName === updated.collectionName) {
            this.client.authStore.save(this.client.authStore.token, { ...current, ...updated });
        }
        return res;
    }
    /** Deletes a record. */
    async delete(id, opts = {}) {
        checkId(id);
        await this.client.send(`${this.#base}/records/${encodeURIComponent(id)}`, { ...opts, method: "DELETE" });
        const current = this.client.authStore.record;
        if (current && current.id === id && current.collectionName === this.name)
            this.client.authStore.clear();
    }
    // -- realtime -----------------------------------------------------------------------------------
    /**
     * Calls `callback` for each create/update/delete of the collection (`topic` "*") or of one
     * record (`topic` = its id) that the signed-in user may see. Resolves once subscribed, with a
     * function that ends this subscription. The connection comes back by itself after a drop.
     */
    async subscribe(topic, callback, opts = {}) {
        if (typeof topic !== "string" || !topic)
            throw invalid('The topic must be "*" or a record id.', "topic");
        if (typeof callback !== "function")
            throw invalid("The callback must be a function.", "callback");
        return this.client.realtime.subscribe(`${this.name}/${topic}`, (data) => callback(data), opts);
    }
    /** Ends this collection's subscriptions to `topic` ("*" or a record id), or all of them. */
    async unsubscribe(topic) {
        if (topic === undefined)
            return this.client.realtime.unsubscribeByPrefix(`${this.name}/`);
        return this.client.realtime.unsubscribe(`${this.name}/${topic}`);
    }
    // -- auth collections ---------------------------------------------------------------------------
    #saveAuth(res) {
        this.client.authStore.save(res.token, res.record);
        return res;
    }
    async #auth(path, body, opts) {
        const res = await this.client.send(`${this.#base}/${path}`, {
            ...opts,
            method: "POST",
            body,
            query: { ...recordQuery(opts), ...(opts.query ?? {}) },
        });
        return this.#saveAuth(res);
    }
    /** The collection's sign-in options (password, OAuth2 providers with PKCE values, OTP, MFA). */
    async listAuthMethods(opts = {}) {
        return this.client.send(`${this.#base}/auth-methods`, opts);
    }
    /**
     * Signs in with identity (email or another identity field) and password; saves the token.
     * With MFA on it throws a 401 `ClientError` whose `mfaId` goes with the second factor.
     */
    async authWithPassword(identity, password, opts = {}) {
        if (typeof identity !== "string" || !identity)
            throw invalid("identity must be a non-empty string.", "identity", "validation_required");
        if (typeof password !== "string" || !password)
            throw invalid("password must be a non-empty string.", "password", "validation_required");
        return this.#auth("auth-with-password", { identity, password, ...(opts.mfaId ? { mfaId: opts.mfaId } : {}) }, opts);
    }
    /** A new token for the signed-in record (and its current data). */
    async authRefresh(opts = {}) {
        return this.#auth("auth-refresh", {}, opts);
    }
    /** Mails a one-time code; the answer's `otpId` goes to `authWithOTP`. */
    async requestOTP(email, opts = {}) {
        if (typeof email !== "string" || !email)
            throw invalid("email must be a non-empty string.", "email", "validation_required");
        return this.client.send(`${this.#base}/request-otp`, { ...opts, method: "POST", body: { email } });
    }
    /** Signs in with a mailed code (`mfaId` when it is the second factor). */
    async authWithOTP(otpId, password, opts = {}) {
        if (typeof otpId !== "string" || !otpId)
            throw invalid("otpId must be a non-empty string.", "otpId", "validation_required");
        if (typeof password !== "string" || !password)
            throw invalid("The code must be a non-empty string.", "password", "validation_required");
        return this.#auth("auth-with-otp", { otpId, password, ...(opts.mfaId ? { mfaId: opts.mfaId } : {}) }, opts);
    }
    /**
     * Finishes an OAuth2 code flow: `codeVerifier` is the provider's from `listAuthMethods()`,
     * `redirectURL` the one the user came back to (check the `state` yourself first).
     */
    async authWithOAuth2Code(provider, code, codeVerifier, redirectURL, createData = {}, opts = {}) {
        for (const [k, v] of Object.entries({ provider, code, redirectURL })) {
            if (typeof v !== "string" || !v)
                throw invalid(`${k} must be a non-empty string.`, k, "validation_required");
        }
        if (!createData || typeof createData !== "object" || Array.isArray(createData))
            throw invalid("createData must be an object.", "createData");
        return this.#auth("auth-with-oauth2", { provider, code, codeVerifier, redirectURL, createData, ...(opts.mfaId ? { mfaId: opts.mfaId } : {}) }, opts);
    }
    /** Second factor: a current authenticator code for the `mfaId` of the first. */
    async authWithTOTP(mfaId, code, opts = {}) {
        if (typeof mfaId !== "string" || !mfaId)
            throw invalid("mfaId must be a non-empty string.", "mfaId", "validation_required");
        if (typeof code !== "string" || !/^\d{6}$/.test(code))
            throw invalid("A TOTP code is 6 digits.", "code", "validation_invalid_totp");
        return this.#auth("auth-with-totp", { mfaId, code }, opts);
    }
    /** Second factor: one of the recovery codes shown when TOTP was confirmed. */
    async authWithRecoveryCode(mfaId, recoveryCode, opts = {}) {
        if (typeof mfaId !== "string" || !mfaId)
            throw invalid("mfaId must be a non-empty string.", "mfaId", "validation_required");
        if (typeof recoveryCode !== "string" || !recoveryCode)
            throw invalid("recoveryCode must be a non-empty string.", "recoveryCode", "validation_required");
        return this.#auth("auth-with-totp", { mfaId, recoveryCode }, opts);
    }
    /** Starts TOTP enrolment for the signed-in record: `{secret, uri}` (an `otpauth://` URI for a QR code). */
    async enrollTOTP(opts = {}) {
        return this.client.send(`${this.#base}/totp/enroll`, { ...opts, method: "POST", body: {} });
    }
    /** Confirms enrolment with a current code; answers the one-time recovery codes. */
    async confirmTOTP(code, opts = {}) {
        if (typeof code !== "string" || !/^\d{6}$/.test(code))
            throw invalid("A TOTP code is 6 digits.", "code", "validation_invalid_totp");
        return this.client.send(`${this.#base}/totp/confirm`, { ...opts, method: "POST", body: { code } });
    }
    /** The signed-in record's TOTP state. */
    async getTOTP(opts = {}) {
        return this.client.send(`${this.#base}/totp`, opts);
    }
    /** Turns TOTP off, proven with a current code or the account password. */
    async disableTOTP(proof, opts = {}) {
        if (!proof || typeof proof !== "object")
            throw invalid("Give {code} or {password}.");
        await this.client.send(`${this.#base}/totp`, { ...opts, method: "DELETE", body: proof });
    }
    async #post(path, body, opts) {
        for (const [k, v] of Object.entries(body)) {
            if (typeof v !== "string" || !v)
                throw invalid(`${k} must be a non-empty string.`, k, "validation_required");
        }
        await this.client.send(`${this.#base}/${path}`, { ...opts, method: "POST", body });
    }
    async requestVerification(email, opts = {}) {
        return this.#post("request-verification", { email }, opts);
    }
    async confirmVerification(token, opts = {}) {
        return this.#post("confirm-verification", { token }, opts);
    }
    async requestPasswordReset(email, opts = {}) {
        return this.#post("request-password-reset", { email }, opts);
    }
    async confirmPasswordReset(token, password, passwordConfirm, opts = {}) {
        return this.#post("confirm-password-reset", { token, password, passwordConfirm }, opts);
    }
    async requestEmailChange(newEmail, opts = {}) {
        return this.#post("request-email-change", { newEmail }, opts);
    }
    async confirmEmailChange(token, password, opts = {}) {
        return this.#post("confirm-email-change", { token, password }, opts);
    }
    /**
     * Superusers: a token for record `id` (not refreshable past `duration` seconds), returned as
     * a new `Client` signed in as that record; this client's auth is unchanged.
     */
    async impersonate(id, duration = 0, opts = {}) {
        checkId(id);
        const res = await this.client.send(`${this.#base}/impersonate/${encodeURIComponent(id)}`, {
            ...opts,
            method: "POST",
            body: duration ? { duration } : {},
            query: { ...recordQuery(opts), ...(opts.query ?? {}) },
        });
        const ClientClass = this.client.constructor;
        const other = new ClientClass(this.client.baseUrl, { lang: this.client.lang, timeout: this.client.timeout });
        other.authStore.save(res.token, res.record);
        return other;
    }
}
