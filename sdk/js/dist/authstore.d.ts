import type { RecordModel } from "./types.js";
/** Where an `AuthStore` keeps its state between runs: `localStorage` fits, or any object like it. */
export interface AuthStorage {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
}
/** The claims of a baas/PocketBase token that the client reads (never verified here: the server does). */
export interface TokenClaims {
    id?: string;
    collectionId?: string;
    type?: string;
    exp?: number;
    refreshable?: boolean;
    [key: string]: unknown;
}
type Listener = (token: string, record: RecordModel | null) => void;
/** Decodes a JWT's payload; `null` for anything that is not one (an API key `baas_…`, garbage). */
export declare function tokenClaims(token: string): TokenClaims | null;
/**
 * The client's credentials: a record/superuser token and its record, or an API key (`baas_…`,
 * saved with `save(key)`). In memory by default; give a `storage` (e.g. `localStorage`) to keep it.
 * The token is never part of what `console.log`/`JSON.stringify` show of the store or the client.
 */
export declare class AuthStore {
    #private;
    constructor(opts?: {
        storage?: AuthStorage;
        key?: string;
    });
    /** The token (or API key) sent as `Authorization`; "" when signed out. */
    get token(): string;
    /** The signed-in record (or superuser); `null` for an API key or when signed out. */
    get record(): RecordModel | null;
    /** True for an API key, or a token that has not expired yet. */
    get isValid(): boolean;
    /** True when the token belongs to a superuser. */
    get isSuperuser(): boolean;
    /** Replaces the credentials (an API key: `save("baas_…")`). */
    save(token: string, record?: RecordModel | null): void;
    /** Signs out (locally). */
    clear(): void;
    /** Calls `cb` on every change; returns a function that stops it. */
    onChange(cb: Listener): () => void;
    toJSON(): {
        record: RecordModel | null;
        isValid: boolean;
    };
}
export {};
