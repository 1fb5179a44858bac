import type { Client } from "./client.js";
import type { SchemaMap, SendOptions } from "./types.js";
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
