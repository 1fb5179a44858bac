// The SDK against a live server: the calls PocketBase also has, so this file runs against
// `baas serve` (SQLite and PostgreSQL) and against the PocketBase binary.
import assert from "node:assert/strict";
import { before, test } from "node:test";

import { Client, ClientError } from "../dist/index.js";
import { IS_BAAS, KIND, URL_, eventually, makeCollection, newUser, png, pngSize, superuser, unique } from "./kit.mjs";

let su;
let POSTS;
let SECRETS;
let author; // { client, record, email, password }

before(async () => {
  assert.ok(URL_, "BAAS_URL is set");
  su = await superuser();
  // PocketBase needs batch requests turned on; baas takes the same setting.
  await su.send("/api/settings", { method: "PATCH", body: { batch: { enabled: true, maxRequests: 50, timeout: 10, maxBodySize: 0 } } });
  POSTS = unique("posts");
  await makeCollection(
    su,
    POSTS,
    [
      { name: "title", type: "text", required: true, max: 100 },
      { name: "views", type: "number", onlyInt: true },
      { name: "tags", type: "select", values: ["a", "b", "c"], maxSelect: 3 },
      { name: "published", type: "bool" },
      { name: "due", type: "date" },
      { name: "author", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
      { name: "image", type: "file", maxSelect: 1, maxSize: 1048576, mimeTypes: ["image/png"], thumbs: ["20x20"] },
    ],
    { createRule: "@request.auth.id != ''", updateRule: "author = @request.auth.id", deleteRule: "author = @request.auth.id" },
  );
  SECRETS = unique("secrets");
  await makeCollection(su, SECRETS, [{ name: "doc", type: "file", maxSelect: 1, maxSize: 1048576, protected: true }], {
    listRule: "@request.auth.id != ''",
    viewRule: "@request.auth.id != ''",
  });
  author = await newUser();
});

test(`[${KIND}] create, getOne, update, delete with typed errors`, async () => {
  const posts = author.client.collection(POSTS);
  const rec = await posts.create({ title: "first", views: 1, author: author.record.id, due: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) });
  assert.equal(rec.collectionName, POSTS);
  assert.equal(rec.due, "2030-01-02 03:04:05.000Z");
  assert.deepEqual(await posts.getOne(rec.id), rec);
  const upd = await posts.update(rec.id, { title: "second" });
  assert.equal(upd.title, "second");
  assert.equal(upd.views, 1, "keys left out keep their value");

  const err = await posts.create({ title: "x".repeat(101), author: author.record.id }).catch((e) => e);
  assert.ok(err instanceof ClientError, String(err));
  assert.equal(err.status, 400);
  assert.equal(typeof err.data.title.code, "string");
  assert.ok(err.url.endsWith(`/api/collections/${POSTS}/records`), err.url);

  const guest = new Client(URL_);
  const denied = await guest.collection(POSTS).update(rec.id, { title: "mine" }).catch((e) => e);
  assert.ok(denied instanceof ClientError && denied.status === 404, `guest update: ${denied}`);

  await posts.delete(rec.id);
  const gone = await posts.getOne(rec.id).catch((e) => e);
  assert.ok(gone instanceof ClientError && gone.status === 404);
});

test(`[${KIND}] lists: pages, skipTotal, full list, iterator, first item`, async () => {
  const posts = author.client.collection(POSTS);
  const tag = unique("list");
  for (let i = 0; i < 7; i++) await posts.create({ title: `${tag}-${i}`, views: i, author: author.record.id });
  const f = author.client.filter("title ~ {:tag}", { tag });
  const page = await posts.getList(2, 3, { filter: f, sort: "views" });
  assert.equal(page.page, 2);
  assert.equal(page.perPage, 3);
  assert.equal(page.totalItems, 7);
  assert.equal(page.totalPages, 3);
  assert.deepEqual(page.items.map((r) => r.views), [3, 4, 5]);
  const skipped = await posts.getList(1, 3, { filter: f, skipTotal: true });
  assert.equal(skipped.totalItems, -1);
  const all = await posts.getFullList({ filter: f, sort: "-views", batch: 3 });
  assert.deepEqual(all.map((r) => r.views), [6, 5, 4, 3, 2, 1, 0]);
  const seen = [];
  for await (const r of posts.iterate({ filter: f, sort: "views", batch: 2 })) seen.push(r.views);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
  const first = await posts.getFirstListItem(author.client.filter("title = {:t}", { t: `${tag}-4` }));
  assert.equal(first.views, 4);
  const none = await posts.getFirstListItem(author.client.filter("title = {:t}", { t: "nothing" })).catch((e) => e);
  assert.ok(none instanceof ClientError && none.status === 404);
  const bad = await posts.getList(1, 10, { filter: "title ~~ 'x" }).catch((e) => e);
  assert.ok(bad instanceof ClientError && bad.status === 400, `invalid filter: ${bad}`);
});

test(`[${KIND}] filter params are bound safely: quotes cannot inject`, async () => {
  const c = author.client;
  const posts = c.collection(POSTS);
  const tricky = `He said "hi" and it's ok`;
  const rec = await posts.create({ title: tricky, views: 42, published: true, author: author.record.id });
  const found = await posts.getFirstListItem(c.filter("title = {:t} && views = {:v} && published = {:p}", { t: tricky, v: 42, p: true }));
  assert.equal(found.id, rec.id);
  // without binding this would read: title = "" || id != "" — every record
  const injected = await posts.getList(1, 50, { filter: c.filter("title = {:t}", { t: '" || id != "' }) });
  assert.equal(injected.totalItems, 0);
  const injected2 = await posts.getList(1, 50, { filter: c.filter("title = {:t}", { t: "' || id != '" }) });
  assert.equal(injected2.totalItems, 0);
  const due = new Date(Date.UTC(2031, 5, 7, 8, 9, 10, 11));
  await posts.update(rec.id, { due });
  const dated = await posts.getList(1, 50, { filter: c.filter("id = {:id} && due = {:due} && due > {:before}", { id: rec.id, due, before: new Date(due.getTime() - 1) }) });
  assert.equal(dated.totalItems, 1);
});

test(`[${KIND}] expand and fields`, async () => {
  const posts = author.client.collection(POSTS);
  const rec = await posts.create({ title: "expand me", author: author.record.id });
  const withAuthor = await posts.getOne(rec.id, { expand: "author" });
  assert.equal(withAuthor.expand.author.id, author.record.id);
  const slim = await posts.getOne(rec.id, { fields: "id,title" });
  assert.deepEqual(Object.keys(slim).sort(), ["id", "title"]);
  const listed = await posts.getList(1, 1, { filter: author.client.filter("id = {:id}", { id: rec.id }), expand: "author", fields: "id,expand.author.id" });
  assert.deepEqual(listed.items[0], { id: rec.id, expand: { author: { id: author.record.id } } });
});

test(`[${KIND}] update modifiers: number +/-, select +/-`, async () => {
  const posts = author.client.collection(POSTS);
  const rec = await posts.create({ title: "mods", views: 10, tags: ["a", "b"], author: author.record.id });
  let upd = await posts.update(rec.id, { "views+": 5, "tags+": "c" });
  assert.equal(upd.views, 15);
  assert.deepEqual(upd.tags, ["a", "b", "c"]);
  upd = await posts.update(rec.id, { "views-": 3, "tags-": ["a"] });
  assert.equal(upd.views, 12);
  assert.deepEqual(upd.tags, ["b", "c"]);
});

test(`[${KIND}] files: upload, URL, thumbnail, replace, protected file token`, async () => {
  const c = author.client;
  const posts = c.collection(POSTS);
  const image = new File([png(40, 30)], "photo.png", { type: "image/png" });
  const rec = await posts.create({ title: "with image", author: author.record.id }, { files: { image } });
  assert.match(rec.image, /^photo.*\.png$/);
  const url = c.files.getURL(rec, rec.image);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.deepEqual(pngSize(await res.arrayBuffer()), [40, 30]);
  const thumb = await fetch(c.files.getURL(rec, rec.image, { thumb: "20x20" }));
  assert.equal(thumb.status, 200);
  assert.deepEqual(pngSize(await thumb.arrayBuffer()), [20, 20]);
  // a File in the body works too, with the other values in @jsonPayload
  const upd = await posts.update(rec.id, { title: "new image", image: new File([png(10, 10)], "other.png", { type: "image/png" }) });
  assert.equal(upd.title, "new image");
  assert.match(upd.image, /^other.*\.png$/);
  const wrongType = await posts.update(rec.id, {}, { files: { image: new File(["text"], "a.txt", { type: "text/plain" }) } }).catch((e) => e);
  assert.ok(wrongType instanceof ClientError && wrongType.status === 400 && wrongType.data.image, `wrong mime: ${wrongType}`);

  const secret = await su.collection(SECRETS).create({}, { files: { doc: new File(["top secret"], "doc.txt", { type: "text/plain" }) } });
  const plain = await fetch(c.files.getURL(secret, secret.doc));
  assert.ok(!plain.ok, `a protected file without a token: ${plain.status}`);
  const token = await c.files.getToken();
  const withToken = await fetch(c.files.getURL(secret, secret.doc, { token }));
  assert.equal(withToken.status, 200);
  assert.equal(await withToken.text(), "top secret");
});

test(`[${KIND}] auth: password, refresh, wrong password, auto-refresh before expiry`, async () => {
  const { email, password, record } = author;
  const c = new Client(URL_);
  const users = c.collection("users");
  const res = await users.authWithPassword(email, password);
  assert.equal(res.record.id, record.id);
  assert.equal(c.authStore.token, res.token);
  assert.equal(c.authStore.record.email, email);
  assert.equal(c.authStore.isValid, true);
  const refreshed = await users.authRefresh();
  assert.equal(refreshed.record.id, record.id);
  const methods = await users.listAuthMethods();
  assert.equal(methods.password.enabled, true);

  const wrong = await new Client(URL_).collection("users").authWithPassword(email, "wrong-password").catch((e) => e);
  assert.ok(wrong instanceof ClientError && wrong.status === 400, String(wrong));

  // A token closer to expiry than the threshold is refreshed once before the next requests.
  const calls = [];
  const eager = new Client(URL_, {
    autoRefreshThreshold: 10 ** 9,
    fetch: (url, init) => {
      calls.push(String(url));
      return fetch(url, init);
    },
  });
  await eager.collection("users").authWithPassword(email, password);
  await Promise.all([eager.collection(POSTS).getList(1, 1), eager.collection(POSTS).getList(1, 1), eager.collection("users").getOne(record.id)]);
  assert.equal(calls.filter((u) => u.includes("/auth-refresh")).length, 1, calls.join("\n"));
  assert.ok(calls.findIndex((u) => u.includes("/auth-refresh")) < calls.findIndex((u) => u.includes("/records")));

  c.authStore.clear();
  assert.equal(c.authStore.isValid, false);
});

test(`[${KIND}] superuser impersonation gives a client signed in as the user`, async () => {
  const as = await su.collection("users").impersonate(author.record.id, 600);
  assert.equal(as.authStore.record.id, author.record.id);
  const me = await as.collection("users").getOne(author.record.id);
  assert.equal(me.email, author.email);
  assert.equal(su.authStore.record.collectionName, "_superusers", "the superuser client keeps its auth");
});

test(`[${KIND}] batch: writes in one transaction, all or nothing`, async () => {
  const c = author.client;
  const tag = unique("batch");
  const victim = await c.collection(POSTS).create({ title: `${tag}-victim`, author: author.record.id });
  const batch = c.batch();
  batch.collection(POSTS).create({ title: `${tag}-1`, author: author.record.id }).create({ title: `${tag}-2`, author: author.record.id });
  batch.collection(POSTS).update(victim.id, { "views+": 3 });
  batch.collection(POSTS).delete(victim.id);
  const results = await batch.send();
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 204]);
  assert.equal(results[0].body.title, `${tag}-1`);
  assert.equal(results[2].body.views, 3);

  const failing = c.batch();
  failing.collection(POSTS).create({ title: `${tag}-3`, author: author.record.id }).create({ title: "x".repeat(101), author: author.record.id });
  const err = await failing.send().catch((e) => e);
  assert.ok(err instanceof ClientError && err.status === 400, String(err));
  const left = await c.collection(POSTS).getFullList({ filter: c.filter("title ~ {:t}", { t: tag }) });
  assert.deepEqual(left.map((r) => r.title).sort(), [`${tag}-1`, `${tag}-2`]);

  const withFile = c.batch();
  withFile.collection(POSTS).create({ title: `${tag}-f`, author: author.record.id }, { files: { image: new File([png(8, 8)], "b.png", { type: "image/png" }) } });
  const [made] = await withFile.send();
  assert.equal(made.status, 200);
  assert.match(made.body.image, /^b.*\.png$/);
});

test(`[${KIND}] realtime: subscribe with options, record topics, unsubscribe`, async (t) => {
  const c = author.client;
  t.after(() => c.realtime.disconnect()); // even when an assertion fails: no connection left open
  const posts = c.collection(POSTS);
  const tag = unique("rt");
  const all = [];
  const filtered = [];
  const one = [];
  // Only this test's records: baas may deliver an earlier test's last write to a new subscriber
  // (its realtime reads writes from the event stream, after the commit).
  const ours = (e) => String(e.record.title).startsWith(tag);
  const unsubAll = await posts.subscribe("*", (e) => ours(e) && all.push(e));
  await posts.subscribe("*", (e) => filtered.push(e), { filter: c.filter("title = {:t}", { t: `${tag}-keep` }), fields: "id,title" });
  assert.ok(c.realtime.isConnected);
  assert.ok(c.realtime.clientId.length > 10);
  const kept = await posts.create({ title: `${tag}-keep`, author: author.record.id });
  await posts.create({ title: `${tag}-other`, author: author.record.id });
  await eventually(() => all.length >= 2, "both creates on posts/*");
  assert.deepEqual(all.map((e) => [e.action, e.record.title]), [["create", `${tag}-keep`], ["create", `${tag}-other`]]);
  await eventually(() => filtered.length >= 1, "the filtered subscription's event");
  assert.deepEqual(filtered.map((e) => e.record), [{ id: kept.id, title: `${tag}-keep` }]);

  await posts.subscribe(kept.id, (e) => e.action !== "create" && one.push(e));
  await posts.update(kept.id, { views: 7 });
  await eventually(() => one.length >= 1, "the record topic's update");
  assert.equal(one[0].action, "update");
  assert.equal(one[0].record.views, 7);

  await eventually(() => all.length >= 3, "the update on posts/*");
  await unsubAll();
  await posts.unsubscribe(kept.id);
  const sentinel = [];
  await posts.subscribe("*", (e) => sentinel.push(e), { filter: c.filter("title = {:t}", { t: `${tag}-sentinel` }) });
  await posts.update(kept.id, { views: 8 });
  await posts.create({ title: `${tag}-sentinel`, author: author.record.id });
  await eventually(() => sentinel.length >= 1, "the sentinel's event");
  assert.equal(all.length, 3, "no event after unsubscribe");
  assert.equal(one.length, 1, "no event after unsubscribing the record topic");

  const del = [];
  await posts.subscribe(kept.id, (e) => e.action === "delete" && del.push(e));
  await posts.delete(kept.id);
  await eventually(() => del.length >= 1, "the delete event");
  assert.equal(del[0].action, "delete");

  await posts.unsubscribe();
  await eventually(() => !c.realtime.isConnected, "the connection to close after the last unsubscribe");
});

test(`[${KIND}] realtime follows the auth: another user gets a new connection`, async (t) => {
  const other = await newUser();
  const c = new Client(URL_);
  t.after(() => c.realtime.disconnect());
  await c.collection("users").authWithPassword(author.email, author.password);
  const mine = [];
  await c.collection("users").subscribe(author.record.id, (e) => mine.push(e));
  const first = c.realtime.clientId;
  const seenConnect = [];
  c.realtime.onConnect((id) => seenConnect.push(id));
  await c.collection("users").authWithPassword(other.email, other.password);
  await eventually(() => seenConnect.length >= 1, "a reconnection after the auth changed");
  assert.notEqual(c.realtime.clientId, first);
  await c.realtime.disconnect();
});
