/**
 * baas-client: the TypeScript/JavaScript client of baas (PocketBase-compatible REST API).
 * Zero runtime dependencies; needs `fetch`, `FormData`, `Blob` and WebCrypto (Node 20+, browsers).
 */
export { Client } from "./client.js";
export type { ClientOptions, RequestOptions } from "./client.js";
export { AuthStore, tokenClaims } from "./authstore.js";
export type { AuthStorage, TokenClaims } from "./authstore.js";
export { ClientError } from "./errors.js";
export type { FieldError } from "./errors.js";
export { RecordService } from "./records.js";
export { RealtimeService, subscriptionKey } from "./realtime.js";
export { ApiKeyService, FileService, FunctionService } from "./files.js";
export type { ApiKey, ApiKeyScope, FileUrlOptions } from "./files.js";
export { Batch, BatchCollection } from "./batch.js";
export type { BatchResult } from "./batch.js";
export { filter, quote } from "./filter.js";
export { PushService } from "./push.js";
export type { PushMessage, PushPreferences, PushQueued, PushSubscriptionRecord } from "./push.js";
export { verifyWebhook, WebhookVerificationError } from "./webhooks.js";
export type { VerifyWebhookOptions } from "./webhooks.js";
export type { AggregateGroup, AggregateOptions, AnySchema, AuthMethods, AuthResponse, CollectionTypes, FileMap, FieldNames, FilterParam, FullListOptions, ListOptions, ListResult, QueryValue, RecordEvent, RecordModel, RecordOptions, SchemaMap, SendOptions, SubscribeOptions, WriteOptions, } from "./types.js";
