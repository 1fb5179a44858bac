// baas's additions to PocketBase's API through the SDK: OTP and MFA read from the dev mailbox,
// TOTP, API keys as credentials, callable functions, and webhook verification of a real delivery.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { before, test } from "node:test";

import { Client, ClientError, verifyWebhook, WebhookVerificationError } from "../dist/index.js";
import { URL_, mail, makeCollection, newUser, superuser, totp, unique } from "./kit.mjs";

let su;

before(async () => {
  su = await superuser();
});

/** A new auth collection with OTP (and MFA when asked) on, and one member; returns a guest client. */
async function authCollection(mfa) {
  const name = unique("members");
  await su.send("/api/collections", {
    method: "POST",
    body: {
      name,
      type: "auth",
      listRule: "id = @request.auth.id",
      viewRule: "id = @request.auth.id",
      createRule: "",
      otp: { enabled: true, duration: 180, length: 8 },
      mfa: { enabled: mfa, duration: 600, rule: "" },
    },
  });
  const email = `${unique("m")}@example.com`;
  const password = "member-password-1";
  const c = new Client(URL_);
  const rec = await c.collection(name).create({ email, password, passwordConfirm: password });
  return { c, name, email, password, rec };
}

function otpCode(msg) {
  const m = /\b(\d{8})\b/.exec(msg.text);
  assert.ok(m, `a code in: ${msg.text}`);
  return m[1];
}

test("[baas] OTP sign-in with the mailed code", async () => {
  const { c, name, email, rec } = await authCollection(false);
  const { otpId } = await c.collection(name).requestOTP(email);
  const res = await c.collection(name).authWithOTP(otpId, otpCode(await mail(email, "otp")));
  assert.equal(res.record.id, rec.id);
  assert.equal(c.authStore.record.id, rec.id);
  const wrong = await c.collection(name).authWithOTP(otpId, "00000000").catch((e) => e);
  assert.ok(wrong instanceof ClientError && wrong.status === 400, String(wrong));
});

test("[baas] MFA: password answers 401 with mfaId, OTP completes the sign-in", async () => {
  const { c, name, email, password, rec } = await authCollection(true);
  const first = await c.collection(name).authWithPassword(email, password).catch((e) => e);
  assert.ok(first instanceof ClientError && first.status === 401, String(first));
  assert.ok(first.mfaId, "the error carries the mfaId");
  assert.equal(c.authStore.token, "", "not signed in after one factor");
  const { otpId } = await c.collection(name).requestOTP(email);
  const res = await c.collection(name).authWithOTP(otpId, otpCode(await mail(email, "otp")), { mfaId: first.mfaId });
  assert.equal(res.record.id, rec.id);
  assert.ok(c.authStore.isValid);
});

test("[baas] TOTP: enroll, confirm, second factor with a code and with a recovery code", async () => {
  const { client, email, password, record } = await newUser();
  const users = client.collection("users");
  const { secret, uri } = await users.enrollTOTP();
  assert.match(uri, /^otpauth:\/\/totp\//);
  const step = Math.floor(Date.now() / 30_000);
  const { recoveryCodes } = await users.confirmTOTP(await totp(secret, step));
  assert.equal(recoveryCodes.length, 10);
  assert.deepEqual(await users.getTOTP(), { enabled: true, pending: false, recoveryCodesLeft: 10 });

  const guest = new Client(URL_);
  const first = await guest.collection("users").authWithPassword(email, password).catch((e) => e);
  assert.ok(first instanceof ClientError && first.status === 401 && first.mfaId, String(first));
  const reused = await guest.collection("users").authWithTOTP(first.mfaId, await totp(secret, step)).catch((e) => e);
  assert.ok(reused instanceof ClientError && reused.status === 400 && reused.data.code, `a used code: ${reused}`);
  // the next step's code is accepted (clock drift of one step) and was never used
  const res = await guest.collection("users").authWithTOTP(first.mfaId, await totp(secret, step + 1));
  assert.equal(res.record.id, record.id);

  const again = await new Client(URL_).collection("users").authWithPassword(email, password).catch((e) => e);
  const viaRecovery = new Client(URL_);
  await viaRecovery.collection("users").authWithRecoveryCode(again.mfaId, recoveryCodes[0]);
  assert.equal(viaRecovery.authStore.record.id, record.id);
  await users.disableTOTP({ password });
  assert.equal((await users.getTOTP()).enabled, false);
});

test("[baas] API keys are credentials: scoped, never refreshed", async () => {
  const name = unique("keyed");
  await makeCollection(su, name, [{ name: "title", type: "text" }], { listRule: '@request.auth.collectionName = "_apikeys"' });
  await su.collection(name).create({ title: "for keys" });
  const key = await su.apiKeys.create(unique("k"), [{ collection: name, actions: ["list"] }]);
  assert.ok(key.key.startsWith("baas_"));
  const listed = await su.apiKeys.getList(1, 500);
  assert.ok(listed.items.some((k) => k.id === key.id) && listed.items.every((k) => !("key" in k)), "the secret is shown once");
  assert.equal((await su.apiKeys.getOne(key.id)).name, key.name);
  const wrong = await su.apiKeys.create("x", [{ collection: "nope", actions: ["list"] }]).catch((e) => e);
  assert.ok(wrong instanceof ClientError && wrong.status === 400, String(wrong));
  await assert.rejects(su.apiKeys.create(" ", []), /name/); // refused before sending
  const calls = [];
  const c = new Client(URL_, { autoRefreshThreshold: 10 ** 9, fetch: (u, i) => (calls.push(String(u)), fetch(u, i)) });
  c.useApiKey(key.key);
  const page = await c.collection(name).getList();
  assert.deepEqual(page.items.map((r) => r.title), ["for keys"]);
  const outside = await c.collection(name).create({ title: "no" }).catch((e) => e);
  assert.ok(outside instanceof ClientError && outside.status === 403, String(outside));
  assert.ok(!calls.some((u) => u.includes("auth-refresh")), "an API key is not a token to refresh");
  assert.equal((await new Client(URL_).collection(name).getList()).totalItems, 0, "guests see nothing");
  await su.apiKeys.delete(key.id);
  const revoked = await c.collection(name).getList().catch((e) => e);
  assert.ok(revoked instanceof ClientError && revoked.status === 401, String(revoked));
});

test("[baas] functions are called with the client's auth", async () => {
  const guest = new Client(URL_);
  const refused = await guest.functions.call("whoami", { n: 1 }).catch((e) => e);
  assert.ok(refused instanceof ClientError && refused.status === 400, String(refused)); // a refused call rule, as a refused createRule
  const { client, record } = await newUser();
  assert.deepEqual(await client.functions.call("whoami", { n: 2 }), { caller: record.id, n: 2 });
  const missing = await client.functions.call("nope", {}).catch((e) => e);
  assert.ok(missing instanceof ClientError && missing.status === 404, String(missing));
});

test("[baas] verifyWebhook accepts a real delivery (rotated secrets) and refuses tampering", async () => {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  try {
    const coll = unique("hooked");
    await makeCollection(su, coll, [{ name: "title", type: "text" }]);
    const secret = `whsec_${Buffer.alloc(32, 3).toString("base64")}`;
    const previous = `whsec_${Buffer.alloc(32, 4).toString("base64")}`;
    await su.send("/api/webhooks", {
      method: "POST",
      body: {
        name: unique("hook"),
        url: `http://127.0.0.1:${server.address().port}/hook`,
        events: [`${coll}.create`],
        secret,
        previousSecret: previous,
        previousSecretUntil: new Date(Date.now() + 86_400_000).toISOString().replace("T", " "),
        allowPrivate: true,
      },
    });
    const rec = await su.collection(coll).create({ title: "signed" });
    const end = Date.now() + 30_000;
    while (!received.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(received.length >= 1, true, "a delivery arrived");
    const { headers, body } = received[0];
    assert.equal(headers["webhook-signature"].split(" ").length, 2, "signed with both secrets during the rotation");
    const payload = await verifyWebhook(secret, headers, body);
    assert.equal(payload.record.id, rec.id);
    assert.ok(await verifyWebhook(previous, headers, body), "the previous secret verifies too");
    const tampered = Buffer.from(body.toString().replace("signed", "forged"));
    await assert.rejects(verifyWebhook(secret, headers, tampered), WebhookVerificationError);
    await assert.rejects(verifyWebhook(`whsec_${Buffer.alloc(32, 5).toString("base64")}`, headers, body), WebhookVerificationError);
  } finally {
    server.close();
  }
});

test("[baas] aggregate: groups under the list rule, having, sort, paging and a 400 for a bad field", async () => {
  const name = unique("sales");
  await makeCollection(
    su,
    name,
    [
      { name: "region", type: "text" },
      { name: "amount", type: "number" },
      { name: "public", type: "bool" },
    ],
    { listRule: "public = true" },
  );
  const rows = [["north", 10, true], ["north", 5, true], ["south", 7, true], ["south", 100, false], ["east", 1, true]];
  for (const [region, amount, pub] of rows) await su.collection(name).create({ region, amount, public: pub });
  const guest = new Client(URL_).collection(name);
  const page = await guest.aggregate({ groupBy: "region", sum: ["amount"], max: "amount", sort: "-sum.amount" });
  assert.deepEqual(
    page.items.map((g) => [g.group.region, g.count, g.sum.amount, g.max.amount]),
    [["north", 2, 15, 10], ["south", 1, 7, 7], ["east", 1, 1, 1]], // south's 100 is not public
  );
  const all = await su.collection(name).aggregate({ groupBy: ["region"], having: "sum.amount > 10", sort: "region", perPage: 1, page: 2 });
  assert.deepEqual([all.totalItems, all.totalPages, all.items[0].group.region], [2, 2, "south"]);
  const err = await guest.aggregate({ sum: "region" }).catch((e) => e);
  assert.ok(err instanceof ClientError && err.status === 400 && err.data.sum, String(err));
  await assert.rejects(guest.aggregate({ sum: [1] }), /sum/);
});

test("[baas] search: getList, iterate by page in relevance order and by cursor when sorted, aggregate", async () => {
  const name = unique("notes");
  await su.send("/api/collections", {
    method: "POST",
    body: { name, type: "base", listRule: "", fields: [{ name: "text", type: "text" }, { name: "n", type: "number" }], search: { fields: ["text"] } },
  });
  for (let i = 0; i < 7; i++) await su.collection(name).create({ text: `note ${i} ${i % 2 ? "kestrel" : "heron"}`, n: i });
  const guest = new Client(URL_).collection(name);
  const page = await guest.getList(1, 2, { search: "kestrel" });
  assert.equal(page.totalItems, 3);
  const all = [];
  for await (const r of guest.iterate({ batch: 2, search: "kestrel" })) all.push(r.n);
  assert.deepEqual(all.sort(), [1, 3, 5]);
  assert.deepEqual((await guest.getFullList({ batch: 2, search: "heron", sort: "-n" })).map((r) => r.n), [6, 4, 2, 0]);
  assert.deepEqual((await guest.aggregate({ search: "heron", sum: "n" })).items[0].sum, { n: 12 });
});

test("[baas] push: a device, preferences, a superuser's send and the delivery log", async () => {
  const { client: user, record } = await newUser(unique("pushjs") + "@example.com");
  const { publicKey } = await user.push.key();
  assert.equal(publicKey.length, 87);
  // a device's keys as a browser makes them: a P-256 point and 16 random bytes, base64url
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const b64u = (buf) => Buffer.from(buf).toString("base64url");
  const keys = { p256dh: b64u(await crypto.subtle.exportKey("raw", pair.publicKey)), auth: b64u(crypto.getRandomValues(new Uint8Array(16))) };
  const sub = await user.push.subscribe({ endpoint: "https://push.example.com/wpush/js-1", expirationTime: null, keys }, { label: "node" });
  assert.equal(sub.label, "node");
  assert.deepEqual((await user.push.subscriptions()).items.map((s) => s.id), [sub.id]);
  assert.deepEqual(await user.push.setPreferences({ mutedTopics: ["promo"] }), { enabled: true, mutedTopics: ["promo"] });
  const muted = await su.push.send({ to: [["users", record.id]], payload: { t: 1 }, topic: "promo" });
  assert.deepEqual([muted.queued, muted.optedOut], [0, 1]);
  const sent = await su.push.send({ to: "users", filter: `id = '${record.id}'`, payload: "hi", urgency: "low" });
  assert.equal(sent.queued, 1);
  const log = await su.push.deliveries({ message: sent.message });
  assert.deepEqual(log.items.map((d) => [d.subscription, d.urgency]), [[sub.id, "low"]]);
  const err = await user.push.send({ to: [["users", record.id]], payload: "x" }).catch((e) => e);
  assert.ok(err instanceof ClientError && err.status === 403, String(err));
  const bad = await user.push.subscribe({ endpoint: "https://push.example.com/x", keys: { p256dh: "AAAA", auth: "x" } }).catch((e) => e);
  assert.ok(bad instanceof ClientError && bad.status === 400 && bad.data.keys, String(bad));
  await user.push.unsubscribe(sub.id);
  assert.deepEqual((await user.push.subscriptions()).items, []);
});
