import { invalid } from "./errors.js";
/** baas: push notifications (`/api/push`, docs/push.md). */
export class PushService {
    #client;
    constructor(client) {
        this.#client = client;
    }
    /** The VAPID key to subscribe with: `pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey })`. */
    async key(opts = {}) {
        return this.#client.send("/api/push/key", opts);
    }
    /** Registers the signed-in user's device: pass `subscription.toJSON()` (and a `label` if you like). */
    async subscribe(subscription, opts = {}) {
        if (!subscription || typeof subscription !== "object" || Array.isArray(subscription)) {
            throw invalid("Pass the browser's PushSubscription.toJSON().", "subscription");
        }
        const { label, ...rest } = opts;
        const body = { ...subscription };
        if (label !== undefined)
            body.label = label;
        return this.#client.send("/api/push/subscriptions", { ...rest, method: "POST", body });
    }
    /** The signed-in user's devices (a superuser's: everybody's), newest first. */
    async subscriptions(page = 1, perPage = 30, opts = {}) {
        return this.#client.send("/api/push/subscriptions", {
            ...opts,
            query: { page, perPage, ...(opts.query ?? {}) },
        });
    }
    async unsubscribe(id, opts = {}) {
        if (typeof id !== "string" || !id)
            throw invalid("A subscription id is a non-empty string.", "id");
        await this.#client.send(`/api/push/subscriptions/${encodeURIComponent(id)}`, { ...opts, method: "DELETE" });
    }
    async preferences(opts = {}) {
        return this.#client.send("/api/push/preferences", opts);
    }
    /** Changes `enabled` and/or replaces `mutedTopics`. */
    async setPreferences(prefs, opts = {}) {
        return this.#client.send("/api/push/preferences", { ...opts, method: "PATCH", body: { ...prefs } });
    }
    /** Superusers: queues a message for users' devices. */
    async send(message, opts = {}) {
        return this.#client.send("/api/push/send", { ...opts, method: "POST", body: { ...message } });
    }
    /** Superusers: one page of the delivery log, newest first (`message`, `state` narrow it). */
    async deliveries(filter = {}, opts = {}) {
        const query = { page: filter.page ?? 1, perPage: filter.perPage ?? 30 };
        if (filter.message)
            query.message = filter.message;
        if (filter.state)
            query.state = filter.state;
        return this.#client.send("/api/push/deliveries", {
            ...opts,
            query: { ...query, ...(opts.query ?? {}) },
        });
    }
}
