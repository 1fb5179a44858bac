/** A webhook request that failed verification: do not act on it (answer 400/401). */
export declare class WebhookVerificationError extends Error {
    constructor(message: string);
}
export interface VerifyWebhookOptions {
    /** Seconds a `webhook-timestamp` may differ from now (default 300: Standard Webhooks' value). */
    tolerance?: number;
    /** "Now" in seconds since the epoch (tests; default the clock). */
    now?: number;
}
type HeaderSource = Headers | Record<string, string | string[] | undefined>;
/**
 * Verifies a Standard Webhooks request as baas sends it (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several signatures while
 * a secret is rotated). `secret` is the endpoint's `whsec_…` secret — or a list, to accept a
 * previous one too. `body` must be the raw bytes received (not re-serialized JSON).
 * Resolves with the parsed JSON payload; throws `WebhookVerificationError` otherwise.
 * Uses WebCrypto only (Node 20+, browsers, Deno, workers).
 */
export declare function verifyWebhook(secret: string | Uint8Array | Array<string | Uint8Array>, headers: HeaderSource, body: string | Uint8Array | ArrayBuffer, opts?: VerifyWebhookOptions): Promise<unknown>;
export {};
