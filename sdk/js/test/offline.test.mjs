// What the SDK does without a server: filter binding, input refused before sending, webhook
// signature checks against known vectors, and that no token ever shows in logs.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { inspect } from "node:util";

import { AuthStore, Client, ClientError, filter, verifyWebhook, WebhookVerificationError } from "../dist/index.js";

/** A client whose fetch records every request instead of sending it. */
function recording() {
  const sent = [];
  const client = new Client("http://127.0.0.1:9", {
    fetch: async (url, init) => {
      sent.push([url, init]);
      return new Response("{}", { status: 200, headers: { "content-type": "application/json" } });
    },
  });
  return { client, sent };
}

async function refused(promiseOrFn, field) {
  let err;
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ClientError, `expected a ClientError, got ${err}`);
  assert.equal(err.status, 0);
  assert.ok(err.message.length > 10, err.message);
  if (field) assert.ok(field in err.data, `data names ${field}: ${JSON.stringify(err.data)}`);
  return err;
}

test("filter binds values as literals (PocketBase's filter() semantics)", () => {
  assert.equal(filter("a = {:a} && b = {:b}", { a: "x", b: 2 }), 'a = "x" && b = 2');
  assert.equal(filter("t = {:t}", { t: 'say "hi" \\ ok' }), 't = "say \\"hi\\" \\\\ ok"');
  assert.equal(filter("x = {:x} || y = {:y}", { x: true, y: null }), "x = true || y = null");
  assert.equal(filter("d > {:d}", { d: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) }), 'd > "2024-01-02 03:04:05.006Z"');
  assert.equal(filter("n = {:n} && m = {:n}", { n: -1.5 }), "n = -1.5 && m = -1.5");
  assert.equal(filter("no params"), "no params");
  // an injection attempt stays one string literal
  assert.equal(filter("title = {:t}", { t: '" || id != "' }), 'title = "\\" || id != \\""');
  // a value that looks like a placeholder is not expanded again
  assert.equal(filter("a = {:a} && b = {:b}", { a: "{:b}", b: "x" }), 'a = "{:b}" && b = "x"');
});

test("filter refuses unsupported parameter types before anything is sent", async () => {
  const { client, sent } = recording();
  for (const bad of [{ a: 1 }, [1, 2], undefined, NaN, Infinity, 10n, () => 1, Symbol("s"), new Date("nope")]) {
    const err = await refused(() => client.filter("x = {:v}", { v: bad }));
    assert.match(err.message, /\{:v\}|Date/);
  }
  await refused(() => client.filter("x = {:missing}", {}), "missing");
  await refused(() => client.filter("x = 1", { "bad name": 1 }));
  assert.equal(sent.length, 0);
});

test("bad input is refused before sending, with a clear ClientError", async () => {
  const { client, sent } = recording();
  const posts = client.collection("posts");
  await refused(posts.getList(0), "page");
  await refused(posts.getList(1, 1001), "perPage");
  await refused(posts.getList(1.5), "page");
  await refused(posts.getFullList({ batch: 0 }), "batch");
  await refused(posts.getOne(""), "id");
  await refused(posts.getOne(undefined), "id");
  await refused(posts.update("", {}), "id");
  await refused(posts.delete(""), "id");
  await refused(posts.create([1, 2]));
  await refused(posts.create("title=x"));
  await refused(posts.create({ title: "x" }, { files: { image: "not a blob" } }), "image");
  await refused(posts.getFirstListItem(42), "filter");
  await refused(posts.subscribe("", () => {}), "topic");
  await refused(posts.subscribe("*", "not a function"), "callback");
  await refused(posts.authWithPassword("", "x"), "identity");
  await refused(posts.authWithPassword("a@example.com", ""), "password");
  await refused(posts.authWithTOTP("mfa", "12345"), "code");
  await refused(posts.authWithOTP("", "123"), "otpId");
  await refused(posts.authWithOAuth2Code("github", "", "v", "http://x/cb"), "code");
  await refused(posts.requestOTP(""), "email");
  await refused(client.functions.call("no/slash", {}), "name");
  await refused(client.functions.call("ok", [1]), "body");
  await refused(() => client.files.getURL({ id: "r1", collectionId: "c1" }, "a.png", { thumb: "huge" }), "thumb");
  await refused(() => client.files.getURL({ id: "r1" }, "a.png"), "record");
  await refused(() => client.collection(""));
  await refused(() => new Client("127.0.0.1:8090"));
  await refused(client.batch().send());
  await refused(() => client.batch().collection("posts").update("", {}), "id");
  await refused(() => client.batch().collection("posts").upsert({}), "id");
  assert.equal(sent.length, 0, "nothing went out");
  assert.equal(client.files.getURL({ id: "r1", collectionId: "c1" }, ""), "", "no file, no URL");
});

test("requests carry JSON, dates in the API's format, multipart with @jsonPayload for files", async () => {
  const { client, sent } = recording();
  await client.collection("posts").create({ title: "t", due: new Date(Date.UTC(2030, 4, 6, 7, 8, 9)) });
  const [url, init] = sent[0];
  assert.equal(url, "http://127.0.0.1:9/api/collections/posts/records");
  assert.equal(init.method, "POST");
  assert.equal(init.headers["Content-Type"], "application/json");
  assert.deepEqual(JSON.parse(init.body), { title: "t", due: "2030-05-06 07:08:09.000Z" });

  await client.collection("posts").update("r 1", { "views+": 2 }, { files: { "image+": new Blob(["x"], { type: "image/png" }) } });
  const [url2, init2] = sent[1];
  assert.equal(url2, "http://127.0.0.1:9/api/collections/posts/records/r%201");
  assert.ok(init2.body instanceof FormData);
  assert.deepEqual(JSON.parse(init2.body.get("@jsonPayload")), { "views+": 2 });
  assert.ok(init2.body.get("image+") instanceof Blob);
  assert.equal(init2.headers["Content-Type"], undefined, "fetch sets the multipart boundary");
});

test("no token is ever logged: inspect, JSON and errors of a signed-in client hide it", async () => {
  const token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTksImlkIjoiYWJjIiwidHlwZSI6ImF1dGgiLCJjb2xsZWN0aW9uSWQiOiJ1c2VycyJ9.c2lnbmF0dXJlLXNlY3JldC1ieXRlcw";
  let seenAuth = "";
  const client = new Client("http://127.0.0.1:9", {
    fetch: async (_url, init) => {
      seenAuth = init.headers.Authorization;
      return new Response(JSON.stringify({ status: 403, message: "Only superusers can perform this action.", data: {} }), { status: 403 });
    },
  });
  client.authStore.save(token, { id: "abc", collectionId: "users", collectionName: "users" });
  let err;
  try {
    await client.collection("posts").getList();
  } catch (e) {
    err = e;
  }
  assert.equal(seenAuth, token, "the token is sent");
  assert.ok(err instanceof ClientError && err.status === 403);
  for (const shown of [inspect(client, { depth: 10 }), inspect(client.authStore), JSON.stringify(client), JSON.stringify(client.authStore), inspect(err), JSON.stringify(err), String(err), err.url]) {
    assert.ok(!shown.includes(token) && !shown.includes("c2lnbmF0dXJl"), `token shown in: ${shown}`);
  }
  // the SDK itself never writes to the console
  const dist = new URL("../dist/", import.meta.url);
  for (const name of readdirSync(dist).filter((n) => n.endsWith(".js"))) {
    assert.doesNotMatch(readFileSync(new URL(name, dist), "utf8"), /\bconsole\.[a-z]+\(/, name);
  }
});

test("AuthStore: storage adapter, isValid from exp, API keys, change listeners", () => {
  const mem = new Map();
  const storage = { getItem: (k) => mem.get(k) ?? null, setItem: (k, v) => mem.set(k, v), removeItem: (k) => mem.delete(k) };
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const expired = `${b64({ alg: "HS256" })}.${b64({ exp: 1000, type: "auth" })}.sig`;
  const store = new AuthStore({ storage });
  const changes = [];
  store.onChange((t) => changes.push(t));
  store.save(expired, { id: "u1", collectionId: "c", collectionName: "users" });
  assert.equal(store.isValid, false);
  assert.equal(new AuthStore({ storage }).record.id, "u1", "kept in storage");
  store.save("baas_0123456789abcdef");
  assert.equal(store.isValid, true, "an API key is valid until the server says otherwise");
  assert.equal(store.record, null);
  store.clear();
  assert.equal(store.token, "");
  assert.equal(mem.size, 0);
  assert.deepEqual(changes, [expired, "baas_0123456789abcdef", ""]);
});

// Standard Webhooks vectors: computed independently here with node:crypto.
import { createHmac } from "node:crypto";

function sign(keyB64, id, ts, body) {
  return "v1," + createHmac("sha256", Buffer.from(keyB64, "base64")).update(`${id}.${ts}.${body}`).digest("base64");
}

test("verifyWebhook: good, rotated, tampered, stale and malformed requests", async () => {
  const k1 = Buffer.alloc(32, 7).toString("base64");
  const k0 = Buffer.alloc(32, 9).toString("base64");
  const body = '{"id":"evt_1","type":"posts.create","record":{"id":"r1"}}';
  const ts = 1764547200;
  const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": `${sign(k1, "msg_1", ts, body)} ${sign(k0, "msg_1", ts, body)}` };
  const payload = await verifyWebhook(`whsec_${k1}`, headers, body, { now: ts + 10 });
  assert.equal(payload.type, "posts.create");
  assert.ok(await verifyWebhook(`whsec_${k0}`, new Headers(headers), Buffer.from(body), { now: ts }), "the previous secret still verifies");
  assert.ok(await verifyWebhook([`whsec_${Buffer.alloc(32, 1).toString("base64")}`, `whsec_${k1}`], headers, body, { now: ts }));
  const rejects = async (h, b, opts, re) => {
    await assert.rejects(verifyWebhook(`whsec_${k1}`, h, b, { now: ts, ...opts }), (e) => e instanceof WebhookVerificationError && re.test(e.message));
  };
  await rejects(headers, body.replace("r1", "r2"), {}, /matches/);
  await rejects(headers, body, { now: ts + 301 }, /too old/);
  await rejects(headers, body, { now: ts - 301 }, /future/);
  await rejects({ ...headers, "webhook-id": "msg_2" }, body, {}, /matches/);
  await rejects({ ...headers, "webhook-signature": "v2,abc" }, body, {}, /No v1/);
  await rejects({ "webhook-id": "msg_1", "webhook-timestamp": String(ts) }, body, {}, /Missing/);
  await rejects({ ...headers, "webhook-timestamp": "12x" }, body, {}, /timestamp/);
  await assert.rejects(verifyWebhook("not-a-secret", headers, body), TypeError);
  await assert.rejects(verifyWebhook("whsec_%%%", headers, body), TypeError);
});
