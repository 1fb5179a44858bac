import type { Client } from "./client.js";
import { invalid } from "./errors.js";
import type { SchemaMap, SendOptions } from "./types.js";

export interface FileUrlOptions {
  /** A thumbnail size the field lists (`"100x100"`, `"0x300"`, `"100x100t"`, …). */
  thumb?: string;
  /** A file token from `getToken()`, for protected files. */
  token?: string;
  /** Ask the browser to download rather than show it. */
  download?: boolean;
}

const THUMB = /^\d+x\d+[tbf]?$/;

/** File URLs and file tokens. */
export class FileService {
  readonly #client: Client<SchemaMap>;

  constructor(client: Client<SchemaMap>) {
    this.#client = client;
  }

  /**
   * The URL of `filename` of `record` (any object with `id` and `collectionId` or
   * `collectionName`); "" when `filename` is empty, so an unset file field gives no URL.
   */
  getURL(record: { id: string; collectionId?: string; collectionName?: string }, filename: string, opts: FileUrlOptions = {}): string {
    if (!filename) return "";
    const collection = record?.collectionId || record?.collectionName;
    if (!record?.id || !collection) throw invalid("The record needs an id and a collectionId or collectionName.", "record");
    if (opts.thumb !== undefined && !THUMB.test(opts.thumb)) {
      throw invalid(`thumb must look like 100x100, 0x300 or 100x100t, got ${JSON.stringify(opts.thumb)}.`, "thumb");
    }
    return this.#client.buildUrl(
      `/api/files/${encodeURIComponent(collection)}/${encodeURIComponent(record.id)}/${encodeURIComponent(filename)}`,
      { thumb: opts.thumb || undefined, token: opts.token || undefined, download: opts.download ? 1 : undefined },
    );
  }

  /** A short-lived token for protected files of the signed-in record (or superuser). */
  async getToken(opts: SendOptions = {}): Promise<string> {
    const res = await this.#client.send<{ token: string }>("/api/files/token", { ...opts, method: "POST" });
    return res.token;
  }
}

/** Callable functions (`POST /api/functions/{name}`), with the client's auth. */
export class FunctionService {
  readonly #client: Client<SchemaMap>;

  constructor(client: Client<SchemaMap>) {
    this.#client = client;
  }

  /** Calls function `name` with a JSON object; resolves with its JSON answer. */
  async call<T = unknown>(name: string, body: Record<string, unknown> = {}, opts: SendOptions = {}): Promise<T> {
    if (typeof name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw invalid(`A function name is letters, digits, _ . - only, got ${JSON.stringify(name)}.`, "name");
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) throw invalid("A function's body must be a JSON object.", "body");
    return this.#client.send<T>(`/api/functions/${encodeURIComponent(name)}`, { ...opts, method: "POST", body });
  }
}
