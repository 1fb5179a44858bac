/**
 * baas-client: the TypeScript/JavaScript client of baas (PocketBase-compatible REST API).
 * Zero runtime dependencies; needs `fetch`, `FormData`, `Blob` and WebCrypto (Node 20+, browsers).
 */
export { Client } from "./client.js";
export { AuthStore, tokenClaims } from "./authstore.js";
export { ClientError } from "./errors.js";
export { RecordService } from "./records.js";
export { RealtimeService, subscriptionKey } from "./realtime.js";
export { ApiKeyService, FileService, FunctionService } from "./files.js";
export { Batch, BatchCollection } from "./batch.js";
export { filter, quote } from "./filter.js";
export { PushService } from "./push.js";
export { verifyWebhook, WebhookVerificationError } from "./webhooks.js";
