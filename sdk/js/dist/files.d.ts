import type { Client } from "./client.js";
import type { ListResult, SchemaMap, SendOptions } from "./types.js";
export interface FileUrlOptions {
    /** A thumbnail size the field lists (`"100x100"`, `"0x300"`, `"100x100t"`, …). */
    thumb?: string;
    /** A file token from `getToken()`, for protected files. */
    token?: string;
    /** Ask the browser to download rather than show it. */
    download?: boolean;
}
/** File URLs and file tokens. */
export declare class FileService {
    #private;
    constructor(client: Client<SchemaMap>);
    /**
     * The URL of `filename` of `record` (any object with `id` and `collectionId` or
     * `collectionName`); "" when `filename` is empty, so an unset file field gives no URL.
     */
    getURL(record: {
        id: string;
        collectionId?: string;
        collectionName?: string;
    }, filename: string, opts?: FileUrlOptions): string;
    /** A short-lived token for protected files of the signed-in record (or superuser). */
    getToken(opts?: SendOptions): Promise<string>;
}
/** Callable functions (`POST /api/functions/{name}`), with the client's auth. */
export declare class FunctionService {
    #private;
    constructor(client: Client<SchemaMap>);
    /** Calls function `name` with a JSON object; resolves with its JSON answer. */
    call<T = unknown>(name: string, body?: Record<string, unknown>, opts?: SendOptions): Promise<T>;
}
/** An API key scope: the actions (`list`, `view`, `create`, `update`, `delete`) allowed on one collection. */
export interface ApiKeyScope {
    collection: string;
    actions: string[];
}
/** An API key as the server shows it; `key` (the secret, `baas_…`) only in `create`'s answer. */
export interface ApiKey {
    id: string;
    name: string;
    scopes: ApiKeyScope[];
    expires: string;
    key?: string;
    [field: string]: unknown;
}
/** baas: API keys (`/api/apikeys`), for superusers. A key is a credential for servers and scripts. */
export declare class ApiKeyService {
    #private;
    constructor(client: Client<SchemaMap>);
    /** A new key; its `key` is the secret, answered this once (use it with `client.useApiKey`). */
    create(name: string, scopes: ApiKeyScope[], opts?: SendOptions & {
        expires?: string;
    }): Promise<ApiKey>;
    /** One page of keys (never their secrets). */
    getList(page?: number, perPage?: number, opts?: SendOptions): Promise<ListResult<ApiKey>>;
    getOne(id: string, opts?: SendOptions): Promise<ApiKey>;
    /** Revokes a key: it is refused (401) from then on. */
    delete(id: string, opts?: SendOptions): Promise<void>;
}
