/** A record as the API returns it (system fields plus the collection's own). */
export interface RecordModel {
    id: string;
    collectionId: string;
    collectionName: string;
    [key: string]: unknown;
}
/** One collection's types: the record returned, the body of a create, the body of an update. */
export interface CollectionTypes {
    record: object;
    create: object;
    update: object;
}
/** What `Client<S>` is parametrized by: `baas gen types --lang ts` emits one as `Collections`. */
export type SchemaMap = Record<string, {
    record: object;
    create: object;
    update: object;
}>;
/** The default: any collection name, records as `RecordModel`, bodies as plain objects. */
export type AnySchema = Record<string, {
    record: RecordModel;
    create: Record<string, unknown>;
    update: Record<string, unknown>;
}>;
/** One page of a list. */
export interface ListResult<R> {
    page: number;
    perPage: number;
    totalItems: number;
    totalPages: number;
    items: R[];
    /** With `cursor` paging: the next page's cursor, `null` after the last page. */
    nextCursor?: string | null;
}
/** Field names for an aggregate: `"views,price"` or `["views", "price"]`. */
export type FieldNames = string | string[];
/** `aggregate()`'s options (docs/aggregates.md). */
export interface AggregateOptions extends SendOptions {
    groupBy?: FieldNames;
    sum?: FieldNames;
    avg?: FieldNames;
    min?: FieldNames;
    max?: FieldNames;
    distinct?: FieldNames;
    filter?: string;
    /** Full-text search, as on lists. */
    search?: string;
    /** A filter over the groups: `count > 2 && sum.views >= 100`. */
    having?: string;
    /** `-count`, `sum.views`, `group.status`, … */
    sort?: string;
    page?: number;
    perPage?: number;
    skipTotal?: boolean;
}
/** One group of an aggregate: its key values, its record count and each asked function's results. */
export interface AggregateGroup {
    group: Record<string, unknown>;
    count: number;
    sum?: Record<string, number>;
    avg?: Record<string, number | null>;
    min?: Record<string, unknown>;
    max?: Record<string, unknown>;
    distinct?: Record<string, number>;
}
/** A value `Client.filter` binds into an expression. */
export type FilterParam = string | number | boolean | null | Date;
/** Query values: `undefined`/`null` are left out; an array repeats the key. */
export type QueryValue = string | number | boolean | null | undefined | Array<string | number | boolean>;
/** Options every call takes. */
export interface SendOptions {
    /** Extra query parameters. */
    query?: Record<string, QueryValue>;
    /** Extra headers (an `Authorization` here replaces the auth store's). */
    headers?: Record<string, string>;
    /** Cancels the request. */
    signal?: AbortSignal;
}
/** `expand` and `fields` of a record answer. */
export interface RecordOptions extends SendOptions {
    expand?: string;
    fields?: string;
}
export interface ListOptions extends RecordOptions {
    filter?: string;
    sort?: string;
    /** Full-text search (collections with search options, docs/search.md): words, "phrases", prefix*. */
    search?: string;
    /** Leave out the total count (faster; `totalItems`/`totalPages` are then -1). */
    skipTotal?: boolean;
}
export interface FullListOptions extends Omit<ListOptions, "skipTotal"> {
    /** Records fetched per request (1–1000, default 500). */
    batch?: number;
}
/** Files to send with a create or update: `{field: Blob | Blob[]}`; keys may carry the `+` modifier. */
export type FileMap = Record<string, Blob | Blob[]>;
export interface WriteOptions extends RecordOptions {
    files?: FileMap;
}
/** A successful sign-in. */
export interface AuthResponse<R = RecordModel> {
    token: string;
    record: R;
    meta?: Record<string, unknown>;
}
/** A realtime message. */
export interface RecordEvent<R = RecordModel> {
    action: "create" | "update" | "delete" | string;
    record: R;
}
export interface SubscribeOptions {
    filter?: string;
    fields?: string;
    expand?: string;
    /** Extra `@request.query.*` values for the collection's rules. */
    query?: Record<string, string>;
    /** Extra `@request.headers.*` values for the collection's rules. */
    headers?: Record<string, string>;
}
/** The collection's sign-in options (`GET …/auth-methods`). */
export interface AuthMethods {
    password: {
        enabled: boolean;
        identityFields: string[];
    };
    oauth2: {
        enabled: boolean;
        providers: Array<{
            name: string;
            displayName: string;
            state: string;
            authURL: string;
            codeVerifier: string;
            codeChallenge: string;
            codeChallengeMethod: string;
        }>;
    };
    mfa: {
        enabled: boolean;
        duration: number;
    };
    otp: {
        enabled: boolean;
        duration: number;
    };
    [key: string]: unknown;
}
