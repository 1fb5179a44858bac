import type { Client } from "./client.js";
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
export declare class PushService {
    #private;
    constructor(client: Client<SchemaMap>);
    /** The VAPID key to subscribe with: `pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey })`. */
    key(opts?: SendOptions): Promise<{
        publicKey: string;
    }>;
    /** Registers the signed-in user's device: pass `subscription.toJSON()` (and a `label` if you like). */
    subscribe(subscription: {
        endpoint?: string;
        keys?: Record<string, string>;
        expirationTime?: number | null;
        [k: string]: unknown;
    }, opts?: SendOptions & {
        label?: string;
    }): Promise<PushSubscriptionRecord>;
    /** The signed-in user's devices (a superuser's: everybody's), newest first. */
    subscriptions(page?: number, perPage?: number, opts?: SendOptions): Promise<ListResult<PushSubscriptionRecord>>;
    unsubscribe(id: string, opts?: SendOptions): Promise<void>;
    preferences(opts?: SendOptions): Promise<PushPreferences>;
    /** Changes `enabled` and/or replaces `mutedTopics`. */
    setPreferences(prefs: Partial<PushPreferences>, opts?: SendOptions): Promise<PushPreferences>;
    /** Superusers: queues a message for users' devices. */
    send(message: PushMessage, opts?: SendOptions): Promise<PushQueued>;
    /** Superusers: one page of the delivery log, newest first (`message`, `state` narrow it). */
    deliveries(filter?: {
        message?: string;
        state?: string;
        page?: number;
        perPage?: number;
    }, opts?: SendOptions): Promise<ListResult<Record<string, unknown>>>;
}
