import type { Client } from "./client.js";
import { ClientError, invalid } from "./errors.js";
import type { SchemaMap, SubscribeOptions } from "./types.js";

type Listener = (data: unknown) => void;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a failure nobody waits for is not an unhandled rejection
  return { promise, resolve, reject };
}

/** The subscription key the server names messages by: the topic plus its options, as PocketBase's SDK writes it. */
export function subscriptionKey(topic: string, opts: SubscribeOptions = {}): string {
  const query: Record<string, string> = { ...(opts.query ?? {}) };
  if (opts.filter) query["filter"] = opts.filter;
  if (opts.fields) query["fields"] = opts.fields;
  if (opts.expand) query["expand"] = opts.expand;
  const options: Record<string, unknown> = {};
  if (Object.keys(query).length) options["query"] = query;
  if (opts.headers && Object.keys(opts.headers).length) options["headers"] = opts.headers;
  if (!Object.keys(options).length) return topic;
  return topic + (topic.includes("?") ? "&" : "?") + "options=" + encodeURIComponent(JSON.stringify(options));
}

/** One SSE message. */
interface SseEvent {
  event: string;
  data: string;
  id: string;
}

/** Reads `text/event-stream` from a fetch body (Node 20 has no EventSource; this needs none). */
async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (data.length || event) yield { event: event || "message", data: data.join("\n"), id };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // a comment (keep-alive)
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * The realtime connection: one SSE stream (`GET /api/realtime`) read over `fetch`, opened on the
 * first subscription and closed after the last. When it drops (server restart, network), it
 * reconnects with growing delays and subscribes the new connection to everything again — no
 * user code needed. Events written while it was down are not replayed: use `onConnect` to
 * reload what you show.
 */
export class RealtimeService {
  /** The current connection's id ("" when not connected). */
  clientId = "";
  readonly #client: Client<SchemaMap>;
  readonly #delays: number[];
  readonly #subs = new Map<string, Set<Listener>>();
  readonly #connectListeners = new Set<(clientId: string) => void>();
  #running = false;
  #abort: AbortController | null = null;
  #ready: Deferred = deferred();
  #isReady = false;
  #submitted = new Set<string>();
  #authKey: string;

  constructor(client: Client<SchemaMap>, delays: number[]) {
    this.#client = client;
    this.#delays = delays.length ? delays : [1000];
    this.#authKey = this.#identity();
    client.authStore.onChange(() => {
      // The server ties a connection to the auth it first subscribed with: another user needs a new one.
      const key = this.#identity();
      if (key !== this.#authKey) {
        this.#authKey = key;
        this.#abort?.abort();
      }
    });
  }

  #identity(): string {
    const store = this.#client.authStore;
    return store.record ? `${store.record.collectionId}/${store.record.id}` : store.token ? `key:${store.token}` : "";
  }

  /** True while a connection is open and subscribed. */
  get isConnected(): boolean {
    return this.#isReady;
  }

  /** Calls `cb(clientId)` on every (re)connection, after the subscriptions are sent again. */
  onConnect(cb: (clientId: string) => void): () => void {
    this.#connectListeners.add(cb);
    return () => this.#connectListeners.delete(cb);
  }

  /**
   * Subscribes `callback` to a raw topic (`"posts/*"`, `"posts/RECORD_ID"`); resolves when the
   * server has it, with a function that ends this one subscription.
   */
  async subscribe(topic: string, callback: Listener, opts: SubscribeOptions = {}): Promise<() => Promise<void>> {
    if (typeof topic !== "string" || !topic) throw invalid("The topic must be a non-empty string.", "topic");
    const key = subscriptionKey(topic, opts);
    if (key.length > 2500) throw invalid("The subscription (topic and options) is longer than 2500 characters.", "topic");
    let set = this.#subs.get(key);
    if (!set) this.#subs.set(key, (set = new Set()));
    set.add(callback);
    try {
      if (!this.#running) this.#start();
      await this.#ready.promise;
      if (!this.#submitted.has(key)) await this.#submit();
    } catch (err) {
      this.#remove(key, callback);
      throw err;
    }
    return () => this.#removeAndSubmit(key, callback);
  }

  /** Ends every subscription whose topic is `topic` (with any options). */
  async unsubscribe(topic: string): Promise<void> {
    return this.#drop((key) => key === topic || key.startsWith(topic + "?"));
  }

  /** Ends every subscription whose topic starts with `prefix`. */
  async unsubscribeByPrefix(prefix: string): Promise<void> {
    return this.#drop((key) => key.startsWith(prefix));
  }

  /** Ends every subscription and closes the connection. */
  async disconnect(): Promise<void> {
    return this.#drop(() => true);
  }

  async #drop(match: (key: string) => boolean): Promise<void> {
    let changed = false;
    for (const key of [...this.#subs.keys()]) {
      if (match(key)) {
        this.#subs.delete(key);
        changed = true;
      }
    }
    if (changed) await this.#afterRemove();
  }

  #remove(key: string, cb: Listener): void {
    const set = this.#subs.get(key);
    set?.delete(cb);
    if (set && !set.size) this.#subs.delete(key);
  }

  async #removeAndSubmit(key: string, cb: Listener): Promise<void> {
    this.#remove(key, cb);
    if (!this.#subs.has(key)) await this.#afterRemove();
  }

  async #afterRemove(): Promise<void> {
    if (!this.#subs.size) {
      this.#abort?.abort(); // the loop sees no subscriptions and stops
      return;
    }
    if (this.#isReady) await this.#submit();
  }

  /** Sends the whole current set (the server replaces the client's subscriptions with it). */
  async #submit(): Promise<void> {
    const clientId = this.clientId;
    if (!clientId) return;
    const keys = [...this.#subs.keys()];
    try {
      await this.#client.send(`/api/realtime`, { method: "POST", body: { clientId, subscriptions: keys } });
    } catch (err) {
      if (err instanceof ClientError && err.status === 404) this.#abort?.abort(); // the server forgot us: reconnect
      throw err;
    }
    if (this.clientId === clientId) this.#submitted = new Set(keys);
  }

  #start(): void {
    this.#running = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (this.#subs.size) {
      const abort = new AbortController();
      this.#abort = abort;
      let connected = false;
      let stopped = false; // aborted from outside: auth change, a 404 on submit, the last unsubscribe
      try {
        const res = await this.#client.fetchRaw("/api/realtime", {
          headers: { Accept: "text/event-stream" },
          signal: abort.signal,
          timeout: 0,
          auth: false, // the stream carries no auth; the subscriptions' POST does
        });
        if (!res.ok || !res.body) {
          throw new ClientError(res.status, `The realtime stream answered ${res.status}.`, { url: res.url });
        }
        for await (const msg of readSse(res.body)) {
          if (msg.event === "PB_CONNECT") {
            const info = JSON.parse(msg.data || "{}") as { clientId?: string };
            this.clientId = info.clientId || msg.id;
            this.#submitted = new Set();
            await this.#submit();
            connected = true;
            failures = 0;
            this.#isReady = true;
            this.#ready.resolve();
            for (const cb of [...this.#connectListeners]) cb(this.clientId);
            continue;
          }
          const listeners = this.#subs.get(msg.event);
          if (!listeners) continue;
          let data: unknown;
          try {
            data = JSON.parse(msg.data);
          } catch {
            continue; // not a record message
          }
          for (const cb of [...listeners]) cb(data);
        }
      } catch (err) {
        if (!connected && !abort.signal.aborted) {
          // nobody is subscribed yet on this connection: fail the waiting subscribe() calls
          this.#ready.reject(err);
          this.#ready = deferred();
        }
      } finally {
        stopped = abort.signal.aborted;
        abort.abort(); // ends the response body when the stream failed some other way
        this.clientId = "";
        this.#submitted = new Set();
        if (this.#isReady) {
          this.#isReady = false;
          this.#ready = deferred();
        }
      }
      if (!this.#subs.size) break;
      if (!connected) failures++;
      if (stopped && connected) continue; // an auth change or a 404: reconnect at once
      const delay = this.#delays[Math.min(failures, this.#delays.length - 1)] ?? 1000;
      await new Promise((r) => setTimeout(r, delay));
    }
    this.#running = false;
    this.#abort = null;
  }
}
