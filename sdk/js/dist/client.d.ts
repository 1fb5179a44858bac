import { AuthStore } from "./authstore.js";
import { Batch } from "./batch.js";
import { ApiKeyService, FileService, FunctionService } from "./files.js";
import { PushService } from "./push.js";
import { RealtimeService } from "./realtime.js";
import { RecordService } from "./records.js";
import type { AnySchema, FileMap, FilterParam, QueryValue, SchemaMap, SendOptions } from "./types.js";
export interface ClientOptions {
    /** Credentials; a new in-memory `AuthStore` by default. */
    authStore?: AuthStore;
    /** `Accept-Language` of every request (the language of server messages). */
    lang?: string;
    /** Milliseconds before a request is aborted (default 30000; 0 for none). Not for the realtime stream. */
    timeout?: number;
    /**
     * Seconds: a refreshable record token that expires sooner than this is refreshed
     * (`auth-refresh`) before the next request goes out (default 300; 0 turns it off).
     */
    autoRefreshThreshold?: number;
    /** The `fetch` to use (default: the global one). */
    fetch?: typeof fetch;
    /** Realtime reconnect delays in milliseconds, the last one repeating (default 200, 500, 1000, 2000, 5000). */
    reconnectDelays?: number[];
}
/** What `Client.send` takes. */
export interface RequestOptions extends SendOptions {
    method?: string;
    /** A JSON value, or a `FormData` sent as it is. */
    body?: unknown;
    /** Blobs to send as multipart parts with the body (the body's own values go in `@jsonPayload`). */
    files?: FileMap;
    /** false: send no `Authorization` from the auth store, and skip the auto-refresh. */
    auth?: boolean;
    /** Milliseconds; overrides the client's timeout (0 for none). */
    timeout?: number;
}
/** A body with Blobs (in it or in `files`) as PocketBase's multipart: file parts plus `@jsonPayload`. */
export declare function multipart(body: unknown, files: FileMap | undefined, prefix?: string): FormData | null;
/**
 * The baas client. One per server and set of credentials:
 *
 *     const client = new Client<Collections>("http://127.0.0.1:8090");
 *     await client.collection("users").authWithPassword("ann@example.com", "secret-pass");
 *     const posts = await client.collection("posts").getList(1, 20, { sort: "-created" });
 */
export declare class Client<S extends SchemaMap = AnySchema> {
    #private;
    /** The server's address, without a trailing slash. */
    readonly baseUrl: string;
    readonly authStore: AuthStore;
    readonly files: FileService;
    readonly functions: FunctionService;
    /** baas: API keys (superusers). */
    readonly apiKeys: ApiKeyService;
    /** baas: push notifications (devices, preferences; sending and the log for superusers). */
    readonly push: PushService;
    readonly realtime: RealtimeService;
    lang: string;
    timeout: number;
    autoRefreshThreshold: number;
    constructor(baseUrl: string, opts?: ClientOptions);
    /** The records (and auth) API of one collection, typed by the client's schema map. */
    collection<K extends keyof S & string>(name: K): RecordService<S[K]["record"], S[K]["create"], S[K]["update"]>;
    /** Binds values into `{:name}` placeholders of a filter expression (see `filter`). */
    filter(expr: string, params?: Record<string, FilterParam>): string;
    /** Sends an API key (`baas_…`) as the credential of every request (never refreshed). */
    useApiKey(key: string): void;
    /** A new batch: queue writes on `batch.collection(name)`, then `await batch.send()`. */
    batch(): Batch;
    /** `baseUrl` + `path` (+ query). */
    buildUrl(path: string, query?: Record<string, QueryValue>): string;
    /** The headers of a request: language, the auth store's token, the caller's own. */
    headersFor(opts?: {
        auth?: boolean;
        headers?: Record<string, string>;
    }): Promise<Record<string, string>>;
    /** Raw `fetch` with the client's headers and timeout; the answer is not checked (the realtime stream uses it). */
    fetchRaw(path: string, opts: RequestOptions & {
        bodyInit?: BodyInit;
    }): Promise<Response>;
    /** One API call: JSON (or `undefined` for 204) on success, a `ClientError` otherwise. */
    send<T = unknown>(path: string, opts?: RequestOptions): Promise<T>;
    toJSON(): {
        baseUrl: string;
        authStore: unknown;
    };
}
