import { multipart } from "./client.js";
import { invalid } from "./errors.js";
function checkBody(body) {
    if (body === undefined || body === null)
        return {};
    if (typeof body !== "object" || Array.isArray(body))
        throw invalid("A batch body must be an object.");
    return body;
}
/** Queues writes of one collection in a `Batch`. */
export class BatchCollection {
    #queue;
    #base;
    constructor(queue, name) {
        this.#queue = queue;
        this.#base = `/api/collections/${encodeURIComponent(name)}/records`;
    }
    create(body, opts = {}) {
        this.#queue.push({ method: "POST", url: this.#base, body: checkBody(body), files: opts.files });
        return this;
    }
    /** Creates, or updates when `body.id` exists. */
    upsert(body, opts = {}) {
        if (!body || typeof body.id !== "string" || !body.id)
            throw invalid("An upsert needs body.id.", "id");
        this.#queue.push({ method: "PUT", url: this.#base, body: checkBody(body), files: opts.files });
        return this;
    }
    update(id, body, opts = {}) {
        if (typeof id !== "string" || !id)
            throw invalid("The record id must be a non-empty string.", "id");
        this.#queue.push({ method: "PATCH", url: `${this.#base}/${encodeURIComponent(id)}`, body: checkBody(body), files: opts.files });
        return this;
    }
    delete(id) {
        if (typeof id !== "string" || !id)
            throw invalid("The record id must be a non-empty string.", "id");
        this.#queue.push({ method: "DELETE", url: `${this.#base}/${encodeURIComponent(id)}` });
        return this;
    }
}
/**
 * Several writes in one transaction (`POST /api/batch`): all happen, or none.
 *
 *     const batch = client.batch();
 *     batch.collection("posts").create({ title: "a" }).create({ title: "b" });
 *     const results = await batch.send();
 */
export class Batch {
    #client;
    #queue = [];
    constructor(client) {
        this.#client = client;
    }
    collection(name) {
        if (typeof name !== "string" || !name)
            throw invalid("A collection name must be a non-empty string.");
        return new BatchCollection(this.#queue, name);
    }
    /** Sends the queued requests; a refused one fails the whole batch (a `ClientError` naming it in `data`). */
    async send(opts = {}) {
        if (!this.#queue.length)
            throw invalid("The batch is empty.");
        const requests = [];
        const form = new FormData();
        let hasFiles = false;
        this.#queue.forEach((q, i) => {
            const parts = q.body || q.files ? multipart(q.body ?? {}, q.files, `requests.${i}.`) : null;
            if (parts) {
                hasFiles = true;
                const plain = {};
                for (const [k, v] of parts.entries()) {
                    if (k === "@jsonPayload")
                        Object.assign(plain, JSON.parse(v));
                    else
                        form.append(k, v);
                }
                requests.push({ method: q.method, url: q.url, body: plain });
            }
            else {
                requests.push({ method: q.method, url: q.url, ...(q.body ? { body: q.body } : {}) });
            }
        });
        this.#queue.length = 0;
        if (hasFiles) {
            form.append("@jsonPayload", JSON.stringify({ requests })); // after the files, as the server reads it
            return this.#client.send("/api/batch", { ...opts, method: "POST", body: form });
        }
        return this.#client.send("/api/batch", { ...opts, method: "POST", body: { requests } });
    }
}
