/** A webhook request that failed verification: do not act on it (answer 400/401). */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

export interface VerifyWebhookOptions {
  /** Seconds a `webhook-timestamp` may differ from now (default 300: Standard Webhooks' value). */
  tolerance?: number;
  /** "Now" in seconds since the epoch (tests; default the clock). */
  now?: number;
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string {
  if (typeof Headers !== "undefined" && headers instanceof Headers) return headers.get(name) ?? "";
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(" ") : typeof v === "string" ? v : "";
  }
  return "";
}

function decodeBase64(text: string): Uint8Array | null {
  try {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function secretKey(secret: string | Uint8Array): Uint8Array {
  if (secret instanceof Uint8Array) {
    if (!secret.length) throw new TypeError("The webhook secret is empty.");
    return secret;
  }
  if (typeof secret !== "string" || !secret.startsWith("whsec_")) {
    throw new TypeError('A webhook secret is "whsec_" followed by base64 (or the key bytes as a Uint8Array).');
  }
  const key = decodeBase64(secret.slice("whsec_".length));
  if (!key || !key.length) throw new TypeError("The webhook secret's base64 is invalid.");
  return key;
}

/**
 * Verifies a Standard Webhooks request as baas sends it (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several signatures while
 * a secret is rotated). `secret` is the endpoint's `whsec_…` secret — or a list, to accept a
 * previous one too. `body` must be the raw bytes received (not re-serialized JSON).
 * Resolves with the parsed JSON payload; throws `WebhookVerificationError` otherwise.
 * Uses WebCrypto only (Node 20+, browsers, Deno, workers).
 */
export async function verifyWebhook(
  secret: string | Uint8Array | Array<string | Uint8Array>,
  headers: HeaderSource,
  body: string | Uint8Array | ArrayBuffer,
  opts: VerifyWebhookOptions = {},
): Promise<unknown> {
  const secrets = (Array.isArray(secret) ? secret : [secret]).map(secretKey);
  if (!secrets.length) throw new TypeError("No webhook secret given.");
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature header.");
  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError("Invalid webhook-timestamp.");
  const tolerance = opts.tolerance ?? 300;
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) throw new WebhookVerificationError("The webhook timestamp is too old or in the future.");

  const bodyBytes = typeof body === "string" ? new TextEncoder().encode(body) : body instanceof Uint8Array ? body : new Uint8Array(body);
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + bodyBytes.length);
  signed.set(prefix);
  signed.set(bodyBytes, prefix.length);

  const candidates: Uint8Array[] = [];
  for (const part of signatures.split(" ")) {
    const [version, value] = part.split(",", 2);
    if (version !== "v1" || !value) continue;
    const mac = decodeBase64(value);
    if (mac && mac.length === 32) candidates.push(mac);
  }
  if (!candidates.length) throw new WebhookVerificationError("No v1 signature in webhook-signature.");

  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new TypeError("WebCrypto (crypto.subtle) is not available here.");
  for (const raw of secrets) {
    const key = await subtle.importKey("raw", raw as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    for (const mac of candidates) {
      // subtle.verify compares in constant time
      if (await subtle.verify("HMAC", key, mac as BufferSource, signed as BufferSource)) {
        const text = new TextDecoder().decode(bodyBytes);
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return text;
        }
      }
    }
  }
  throw new WebhookVerificationError("No webhook signature matches.");
}
