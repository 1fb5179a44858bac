import type { Client } from "./client.js";
import type { AggregateGroup, AggregateOptions, AuthMethods, AuthResponse, FullListOptions, ListOptions, ListResult, RecordEvent, RecordModel, RecordOptions, SchemaMap, SendOptions, SubscribeOptions, WriteOptions } from "./types.js";
/**
 * One collection's records API (and its auth API, for auth collections). `R` is the record type
 * returned, `C` the body of a create, `U` the body of an update — `baas gen types --lang ts`
 * fills them per collection; plain objects otherwise.
 */
export declare class RecordService<R = RecordModel, C = Record<string, unknown>, U = Record<string, unknown>> {
    #private;
    readonly client: Client<SchemaMap>;
    readonly name: string;
    constructor(client: Client<SchemaMap>, name: string);
    /** One page: `getList(1, 20, { filter, sort, expand, fields, skipTotal })`. */
    getList(page?: number, perPage?: number, opts?: ListOptions): Promise<ListResult<R>>;
    /**
     * Every record, `batch` per request, as an async iterator. It goes by cursor (docs/api.md,
     * "Cursor paging"): records written meanwhile are neither repeated nor skipped (unless their
     * sort values change meanwhile). A `@random` sort, and a server without cursor paging
     * (PocketBase), are read page by page instead.
     */
    iterate(opts?: FullListOptions): AsyncGenerator<R, void, undefined>;
    /** Every record (all pages) in one array. */
    getFullList(opts?: FullListOptions): Promise<R[]>;
    /**
     * Groups of the records you may list (docs/aggregates.md):
     * `aggregate({ groupBy: "status", sum: ["views"], having: "count > 2", sort: "-count" })`
     * answers a page of `{ group: { status }, count, sum: { views } }`.
     */
    aggregate(opts?: AggregateOptions): Promise<ListResult<AggregateGroup>>;
    /** The first record matching `filter`; a 404 `ClientError` when none does. */
    getFirstListItem(filter: string, opts?: Omit<ListOptions, "filter" | "skipTotal">): Promise<R>;
    /** One record by id. */
    getOne(id: string, opts?: RecordOptions): Promise<R>;
    /**
     * Creates a record. Blobs/Files in `body` or in `opts.files` go as multipart file parts;
     * everything else as JSON. Modifier keys (`"tags+"`, `"views+"`) pass through.
     */
    create(body: C | FormData, opts?: WriteOptions): Promise<R>;
    /**
     * Updates a record: only the keys given change. Modifiers: `{"views+": 1}`, `{"tags-": "a"}`,
     * `{"files-": ["name.png"]}`; new files with `opts.files` (`{"files+": blob}` appends).
     */
    update(id: string, body: U | FormData, opts?: WriteOptions): Promise<R>;
    /** Deletes a record. */
    delete(id: string, opts?: SendOptions): Promise<void>;
    /**
     * Calls `callback` for each create/update/delete of the collection (`topic` "*") or of one
     * record (`topic` = its id) that the signed-in user may see. Resolves once subscribed, with a
     * function that ends this subscription. The connection comes back by itself after a drop.
     */
    subscribe(topic: string, callback: (e: RecordEvent<R>) => void, opts?: SubscribeOptions): Promise<() => Promise<void>>;
    /** Ends this collection's subscriptions to `topic` ("*" or a record id), or all of them. */
    unsubscribe(topic?: string): Promise<void>;
    /** The collection's sign-in options (password, OAuth2 providers with PKCE values, OTP, MFA). */
    listAuthMethods(opts?: SendOptions): Promise<AuthMethods>;
    /**
     * Signs in with identity (email or another identity field) and password; saves the token.
     * With MFA on it throws a 401 `ClientError` whose `mfaId` goes with the second factor.
     */
    authWithPassword(identity: string, password: string, opts?: RecordOptions & {
        mfaId?: string;
    }): Promise<AuthResponse<R>>;
    /** A new token for the signed-in record (and its current data). */
    authRefresh(opts?: RecordOptions): Promise<AuthResponse<R>>;
    /** Mails a one-time code; the answer's `otpId` goes to `authWithOTP`. */
    requestOTP(email: string, opts?: SendOptions): Promise<{
        otpId: string;
    }>;
    /** Signs in with a mailed code (`mfaId` when it is the second factor). */
    authWithOTP(otpId: string, password: string, opts?: RecordOptions & {
        mfaId?: string;
    }): Promise<AuthResponse<R>>;
    /**
     * Finishes an OAuth2 code flow: `codeVerifier` is the provider's from `listAuthMethods()`,
     * `redirectURL` the one the user came back to (check the `state` yourself first).
     */
    authWithOAuth2Code(provider: string, code: string, codeVerifier: string, redirectURL: string, createData?: Record<string, unknown>, opts?: RecordOptions & {
        mfaId?: string;
    }): Promise<AuthResponse<R>>;
    /** Second factor: a current authenticator code for the `mfaId` of the first. */
    authWithTOTP(mfaId: string, code: string, opts?: RecordOptions): Promise<AuthResponse<R>>;
    /** Second factor: one of the recovery codes shown when TOTP was confirmed. */
    authWithRecoveryCode(mfaId: string, recoveryCode: string, opts?: RecordOptions): Promise<AuthResponse<R>>;
    /** Starts TOTP enrolment for the signed-in record: `{secret, uri}` (an `otpauth://` URI for a QR code). */
    enrollTOTP(opts?: SendOptions): Promise<{
        secret: string;
        uri: string;
    }>;
    /** Confirms enrolment with a current code; answers the one-time recovery codes. */
    confirmTOTP(code: string, opts?: SendOptions): Promise<{
        recoveryCodes: string[];
    }>;
    /** The signed-in record's TOTP state. */
    getTOTP(opts?: SendOptions): Promise<{
        enabled: boolean;
        pending: boolean;
        recoveryCodesLeft: number;
    }>;
    /** Turns TOTP off, proven with a current code or the account password. */
    disableTOTP(proof: {
        code: string;
    } | {
        password: string;
    }, opts?: SendOptions): Promise<void>;
    requestVerification(email: string, opts?: SendOptions): Promise<void>;
    confirmVerification(token: string, opts?: SendOptions): Promise<void>;
    requestPasswordReset(email: string, opts?: SendOptions): Promise<void>;
    confirmPasswordReset(token: string, password: string, passwordConfirm: string, opts?: SendOptions): Promise<void>;
    requestEmailChange(newEmail: string, opts?: SendOptions): Promise<void>;
    confirmEmailChange(token: string, password: string, opts?: SendOptions): Promise<void>;
    /**
     * Superusers: a token for record `id` (not refreshable past `duration` seconds), returned as
     * a new `Client` signed in as that record; this client's auth is unchanged.
     */
    impersonate(id: string, duration?: number, opts?: RecordOptions): Promise<Client<SchemaMap>>;
}
