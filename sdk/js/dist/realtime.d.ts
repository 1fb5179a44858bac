import type { Client } from "./client.js";
import type { SchemaMap, SubscribeOptions } from "./types.js";
type Listener = (data: unknown) => void;
/** The subscription key the server names messages by: the topic plus its options, as PocketBase's SDK writes it. */
export declare function subscriptionKey(topic: string, opts?: SubscribeOptions): string;
/**
 * The realtime connection: one SSE stream (`GET /api/realtime`) read over `fetch`, opened on the
 * first subscription and closed after the last. When it drops (server restart, network), it
 * reconnects with growing delays and subscribes the new connection to everything again — no
 * user code needed. Events written while it was down are not replayed: use `onConnect` to
 * reload what you show.
 */
export declare class RealtimeService {
    #private;
    /** The current connection's id ("" when not connected). */
    clientId: string;
    constructor(client: Client<SchemaMap>, delays: number[]);
    /** True while a connection is open and subscribed. */
    get isConnected(): boolean;
    /** Calls `cb(clientId)` on every (re)connection, after the subscriptions are sent again. */
    onConnect(cb: (clientId: string) => void): () => void;
    /**
     * Subscribes `callback` to a raw topic (`"posts/*"`, `"posts/RECORD_ID"`); resolves when the
     * server has it, with a function that ends this one subscription.
     */
    subscribe(topic: string, callback: Listener, opts?: SubscribeOptions): Promise<() => Promise<void>>;
    /** Ends every subscription whose topic is `topic` (with any options). */
    unsubscribe(topic: string): Promise<void>;
    /** Ends every subscription whose topic starts with `prefix`. */
    unsubscribeByPrefix(prefix: string): Promise<void>;
    /** Ends every subscription and closes the connection. */
    disconnect(): Promise<void>;
}
export {};
