import type { Client } from "./client.js";
import { invalid } from "./errors.js";
import type { ListResult, SchemaMap, SendOptions } from "./types.js";

/** A registered device as the server shows it (never its keys). */
export interface PushSubscriptionRecord {
  id: string;
  collectionId: string;
  collectionName: string;
  recordId: string;
  provider: string;
  endpoint: string;
  label: string;
  expirationTime: number | null;
  lastSent: string;
  created: string;
  updated: string;
}

/** A user's push preferences: `enabled: false` opts out of every push; muted topics are skipped. */
export interface PushPreferences {
  enabled: boolean;
  mutedTopics: string[];
}

/** What `send` takes (superusers): `to` records or `[collection, id]` pairs, or an auth collection with `filter`. */
export interface PushMessage {
  to: unknown;
  payload: unknown;
  filter?: string;
  topic?: string;
  ttl?: number;
  urgency?: "very-low" | "low" | "normal" | "high";
  collapse?: string;
}

/** What `send` answers: the message id and how many deliveries were queued, and who got none. */
export interface PushQueued {
  message: string;
  queued: number;
  optedOut: number;
  noDevice: number;
}

/** baas: push notifications (`/api/push`, docs/push.md). */
export class PushService {
  readonly #client: Client<SchemaMap>;

  constructor(client: Client<SchemaMap>) {
    this.#client = client;
  }

  /** The VAPID key to subscribe with: `pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey })`. */
  async key(opts: SendOptions = {}): Promise<{ publicKey: string }> {
    return this.#client.send<{ publicKey: string }>("/api/push/key", opts);
  }

  /** Registers the signed-in user's device: pass `subscription.toJSON()` (and a `label` if you like). */
  async subscribe(
    subscription: { endpoint?: string; keys?: Record<string, string>; expirationTime?: number | null; [k: string]: unknown },
    opts: SendOptions & { label?: string } = {},
  ): Promise<PushSubscriptionRecord> {
    if (!subscription || typeof subscription !== "object" || Array.isArray(subscription)) {
      throw invalid("Pass the browser's PushSubscription.toJSON().", "subscription");
    }
    const { label, ...rest } = opts;
    const body: Record<string, unknown> = { ...subscription };
    if (label !== undefined) body.label = label;
    return this.#client.send<PushSubscriptionRecord>("/api/push/subscriptions", { ...rest, method: "POST", body });
  }

  /** The signed-in user's devices (a superuser's: everybody's), newest first. */
  async subscriptions(page = 1, perPage = 30, opts: SendOptions = {}): Promise<ListResult<PushSubscriptionRecord>> {
    return this.#client.send<ListResult<PushSubscriptionRecord>>("/api/push/subscriptions", {
      ...opts,
      query: { page, perPage, ...(opts.query ?? {}) },
    });
  }

  async unsubscribe(id: string, opts: SendOptions = {}): Promise<void> {
    if (typeof id !== "string" || !id) throw invalid("A subscription id is a non-empty string.", "id");
    await this.#client.send(`/api/push/subscriptions/${encodeURIComponent(id)}`, { ...opts, method: "DELETE" });
  }

  async preferences(opts: SendOptions = {}): Promise<PushPreferences> {
    return this.#client.send<PushPreferences>("/api/push/preferences", opts);
  }

  /** Changes `enabled` and/or replaces `mutedTopics`. */
  async setPreferences(prefs: Partial<PushPreferences>, opts: SendOptions = {}): Promise<PushPreferences> {
    return this.#client.send<PushPreferences>("/api/push/preferences", { ...opts, method: "PATCH", body: { ...prefs } });
  }

  /** Superusers: queues a message for users' devices. */
  async send(message: PushMessage, opts: SendOptions = {}): Promise<PushQueued> {
    return this.#client.send<PushQueued>("/api/push/send", { ...opts, method: "POST", body: { ...message } });
  }

  /** Superusers: one page of the delivery log, newest first (`message`, `state` narrow it). */
  async deliveries(
    filter: { message?: string; state?: string; page?: number; perPage?: number } = {},
    opts: SendOptions = {},
  ): Promise<ListResult<Record<string, unknown>>> {
    const query: Record<string, string | number> = { page: filter.page ?? 1, perPage: filter.perPage ?? 30 };
    if (filter.message) query.message = filter.message;
    if (filter.state) query.state = filter.state;
    return this.#client.send<ListResult<Record<string, unknown>>>("/api/push/deliveries", {
      ...opts,
      query: { ...query, ...(opts.query ?? {}) },
    });
  }
}
