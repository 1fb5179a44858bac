// Drives a baas server with the unmodified official PocketBase JS SDK and asserts every answer.
//
//   node sdk_flow.mjs URL EMAIL PASSWORD
//   (or BAAS_URL / BAAS_EMAIL / BAAS_PASSWORD in the environment)
//
// Exits 0 when every step passed; prints the failing step and exits 1 otherwise. Collection names
// carry a random suffix so the script can run twice against the same server.
import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';

const [url, email, password] = [
    process.argv[2] || process.env.BAAS_URL,
    process.argv[3] || process.env.BAAS_EMAIL,
    process.argv[4] || process.env.BAAS_PASSWORD,
];
if (!url || !email || !password) {
    console.error('usage: node sdk_flow.mjs URL EMAIL PASSWORD');
    process.exit(2);
}

const pb = new PocketBase(url);
pb.autoCancellation(false);
const suffix = Math.random().toString(36).slice(2, 8);
const AUTHORS = `authors_${suffix}`;
const POSTS = `posts_${suffix}`;
const ID_RE = /^[a-z0-9]{15}$/;

let current = '';
async function step(name, fn) {
    current = name;
    await fn();
    console.log(`ok   ${name}`);
}

/** Awaits `promise`, expecting a ClientResponseError with `status`; returns the error. */
async function rejects(promise, status) {
    try {
        await promise;
    } catch (err) {
        assert.ok(err instanceof ClientResponseError, `expected a ClientResponseError, got ${err}`);
        assert.equal(err.status, status, `status: ${JSON.stringify(err.response)}`);
        return err;
    }
    assert.fail(`expected a ${status} error, the request succeeded`);
}

const sorted = (xs) => [...xs].sort();

try {
    await step('superuser authWithPassword', async () => {
        const auth = await pb.collection('_superusers').authWithPassword(email, password);
        assert.equal(typeof auth.token, 'string');
        assert.equal(auth.record.email, email);
        assert.equal(auth.record.collectionName, '_superusers');
        assert.ok(pb.authStore.isValid);
        assert.ok(pb.authStore.isSuperuser);
    });

    await step('authRefresh', async () => {
        const before = pb.authStore.record.id;
        const auth = await pb.collection('_superusers').authRefresh();
        assert.equal(typeof auth.token, 'string');
        assert.equal(auth.record.id, before);
        assert.ok(pb.authStore.isSuperuser);
    });

    await step('settings: batch enabled', async () => {
        // PocketBase ships with batch off; turn it on where needed so the same script runs on both.
        const settings = await pb.settings.getAll();
        if (!settings.batch?.enabled) {
            const updated = await pb.settings.update({ batch: { enabled: true, maxRequests: 50 } });
            assert.equal(updated.batch.enabled, true);
        }
    });

    let authors, posts;
    await step('collections.create', async () => {
        authors = await pb.collections.create({
            name: AUTHORS,
            type: 'base',
            listRule: '',
            viewRule: '',
            fields: [{ name: 'name', type: 'text', required: true }],
        });
        assert.equal(authors.name, AUTHORS);
        assert.equal(authors.type, 'base');
        assert.equal(authors.listRule, '');
        assert.equal(authors.createRule, null);
        assert.ok(authors.fields.some((f) => f.name === 'id' && f.primaryKey));

        posts = await pb.collections.create({
            name: POSTS,
            type: 'base',
            listRule: '',
            viewRule: '',
            fields: [
                { name: 'title', type: 'text', required: true },
                { name: 'views', type: 'number' },
                { name: 'tags', type: 'select', maxSelect: 3, values: ['a', 'b', 'c', 'd'] },
                { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
                { name: 'editors', type: 'relation', collectionId: authors.id, maxSelect: 5 },
                { name: 'published', type: 'bool' },
                { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
                { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
            ],
        });
        assert.equal(posts.name, POSTS);
        const byName = Object.fromEntries(posts.fields.map((f) => [f.name, f]));
        assert.equal(byName.tags.type, 'select');
        assert.equal(byName.tags.maxSelect, 3);
        assert.deepEqual(byName.tags.values, ['a', 'b', 'c', 'd']);
        assert.equal(byName.author.collectionId, authors.id);
        assert.equal(byName.editors.maxSelect, 5);
        assert.equal(byName.created.type, 'autodate');

        // An invalid field option is reported under fields.<index>.<option> (id is field 0).
        const err = await rejects(pb.collections.create({
            name: `bad_${suffix}`,
            fields: [{ name: 'kind', type: 'select', maxSelect: 3, values: ['x', 'y'] }],
        }), 400);
        assert.equal(err.response.data.fields['1'].maxSelect.code, 'validation_max_less_equal_than_required');
        const badName = await rejects(pb.collections.create({ name: 'bad name' }), 400);
        assert.equal(badName.response.data.name.code, 'validation_match_invalid');
    });

    await step('collections.getOne / getFullList', async () => {
        const byName = await pb.collections.getOne(POSTS);
        assert.equal(byName.id, posts.id);
        const byId = await pb.collections.getOne(posts.id);
        assert.equal(byId.name, POSTS);
        const all = await pb.collections.getFullList();
        const names = all.map((c) => c.name);
        assert.ok(names.includes(AUTHORS) && names.includes(POSTS) && names.includes('_superusers'), names.join());
    });

    const a = {};
    await step('create authors', async () => {
        for (const name of ['Ann', 'Bob', 'Cid']) {
            const rec = await pb.collection(AUTHORS).create({ name });
            assert.match(rec.id, ID_RE);
            assert.equal(rec.name, name);
            assert.equal(rec.collectionName, AUTHORS);
            assert.equal(rec.collectionId, authors.id);
            a[name] = rec;
        }
    });

    const p = {};
    await step('create posts', async () => {
        const rows = [
            { title: 'hello world', views: 10, tags: ['a'], author: a.Ann.id, editors: [a.Bob.id], published: true },
            { title: 'hello again', views: 50, tags: ['a', 'b'], author: a.Bob.id, editors: [], published: false },
            { title: 'hello there', views: 3, tags: [], author: a.Ann.id, editors: [a.Ann.id, a.Cid.id] },
            { title: 'goodbye', views: 99, tags: ['c'], author: a.Cid.id },
            { title: 'hello, last', views: 20, tags: ['d'], author: a.Cid.id },
        ];
        for (const row of rows) {
            const rec = await pb.collection(POSTS).create(row);
            assert.match(rec.id, ID_RE);
            assert.equal(rec.title, row.title);
            assert.equal(rec.views, row.views);
            assert.deepEqual(rec.tags, row.tags);
            assert.equal(rec.author, row.author);
            assert.deepEqual(rec.editors, row.editors ?? []);
            assert.equal(rec.published, row.published ?? false);
            assert.match(rec.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
            assert.ok(rec.updated >= rec.created); // PocketBase stamps each autodate on its own
            p[row.title] = rec;
        }
    });

    await step('getOne with expand', async () => {
        const rec = await pb.collection(POSTS).getOne(p['hello there'].id, { expand: 'author,editors' });
        assert.equal(rec.expand.author.id, a.Ann.id);
        assert.equal(rec.expand.author.name, 'Ann');
        assert.deepEqual(rec.expand.editors.map((e) => e.name), ['Ann', 'Cid']);
    });

    await step('getList with filter, sort, expand, fields', async () => {
        const filter = pb.filter('title ~ {:q} && views > {:n}', { q: 'hello', n: 5 });
        const page = await pb.collection(POSTS).getList(1, 2, {
            filter,
            sort: '-views',
            expand: 'author',
            fields: 'id,title,expand.author.name',
        });
        assert.equal(page.page, 1);
        assert.equal(page.perPage, 2);
        assert.equal(page.totalItems, 3);
        assert.equal(page.totalPages, 2);
        assert.deepEqual(page.items.map((r) => r.title), ['hello again', 'hello, last']);
        assert.deepEqual(page.items[0], { id: p['hello again'].id, title: 'hello again', expand: { author: { name: 'Bob' } } });

        const page2 = await pb.collection(POSTS).getList(2, 2, { filter, sort: '-views', skipTotal: true });
        assert.equal(page2.totalItems, -1);
        assert.equal(page2.totalPages, -1);
        assert.deepEqual(page2.items.map((r) => r.title), ['hello world']);
        assert.equal(page2.items[0].views, 10);
    });

    await step('getFirstListItem', async () => {
        const rec = await pb.collection(POSTS).getFirstListItem(pb.filter('title = {:t}', { t: 'goodbye' }), {
            expand: 'author',
        });
        assert.equal(rec.id, p.goodbye.id);
        assert.equal(rec.expand.author.name, 'Cid');
        await rejects(pb.collection(POSTS).getFirstListItem('title = "nope"'), 404);
    });

    await step('getFullList with batching', async () => {
        const all = await pb.collection(POSTS).getFullList({ batch: 2, sort: 'views' });
        assert.deepEqual(all.map((r) => r.views), [3, 10, 20, 50, 99]);
        const none = await pb.collection(POSTS).getFullList({ batch: 2, filter: 'views > 1000' });
        assert.deepEqual(none, []);
    });

    await step('update with modifiers', async () => {
        const id = p['hello world'].id;
        let rec = await pb.collection(POSTS).update(id, { 'views+': 5, 'tags+': 'b', 'editors+': [a.Cid.id] });
        assert.equal(rec.views, 15);
        assert.deepEqual(rec.tags, ['a', 'b']);
        assert.deepEqual(rec.editors, [a.Bob.id, a.Cid.id]);
        assert.notEqual(rec.updated, undefined);
        assert.equal(rec.created, p['hello world'].created);

        rec = await pb.collection(POSTS).update(id, { 'tags-': 'a', '+tags': 'c', 'views-': 1 });
        assert.deepEqual(rec.tags, ['c', 'b']);
        assert.equal(rec.views, 14);

        rec = await pb.collection(POSTS).update(id, { title: 'hello world!', published: false });
        assert.equal(rec.title, 'hello world!');
        assert.equal(rec.published, false);
        assert.deepEqual(rec.tags, ['c', 'b']);
    });

    await step('delete, then getOne is 404', async () => {
        const id = p.goodbye.id;
        assert.equal(await pb.collection(POSTS).delete(id), true);
        const err = await rejects(pb.collection(POSTS).getOne(id), 404);
        assert.equal(err.response.status, 404);
        assert.equal(typeof err.response.message, 'string');
    });

    await step('batch: create, update, upsert, delete', async () => {
        const batch = pb.createBatch();
        batch.collection(AUTHORS).create({ name: 'Dee' });
        batch.collection(AUTHORS).create({ name: 'Eve' });
        batch.collection(POSTS).create({ title: 'batched', views: 1, author: a.Bob.id });
        batch.collection(POSTS).update(p['hello again'].id, { 'views+': 1 });
        batch.collection(AUTHORS).upsert({ id: a.Cid.id, name: 'Cid II' });
        batch.collection(AUTHORS).upsert({ id: 'upsertedauth001', name: 'Fay' });
        batch.collection(POSTS).delete(p['hello there'].id);
        const res = await batch.send();
        assert.equal(res.length, 7);
        assert.deepEqual(res.map((r) => r.status), [200, 200, 200, 200, 200, 200, 204]);
        assert.equal(res[0].body.name, 'Dee');
        assert.match(res[0].body.id, ID_RE);
        assert.equal(res[2].body.title, 'batched');
        assert.equal(res[3].body.views, 51);
        assert.equal(res[4].body.id, a.Cid.id);
        assert.equal(res[4].body.name, 'Cid II');
        assert.equal(res[5].body.id, 'upsertedauth001');

        assert.equal((await pb.collection(AUTHORS).getOne(a.Cid.id)).name, 'Cid II');
        assert.equal((await pb.collection(AUTHORS).getOne('upsertedauth001')).name, 'Fay');
        await rejects(pb.collection(POSTS).getOne(p['hello there'].id), 404);
    });

    await step('failing batch applies nothing', async () => {
        const before = await pb.collection(AUTHORS).getList(1, 1);
        const batch = pb.createBatch();
        batch.collection(AUTHORS).create({ name: 'Ghost' });
        batch.collection(POSTS).create({ views: 7 }); // no title: invalid
        batch.collection(AUTHORS).update(a.Ann.id, { name: 'Ann II' });
        const err = await rejects(batch.send(), 400);
        assert.equal(err.response.status, 400);
        assert.equal(typeof err.response.data.requests, 'object');
        assert.ok('1' in err.response.data.requests, JSON.stringify(err.response.data));

        const after = await pb.collection(AUTHORS).getList(1, 1);
        assert.equal(after.totalItems, before.totalItems);
        const ghosts = await pb.collection(AUTHORS).getFullList({ filter: 'name = "Ghost"' });
        assert.equal(ghosts.length, 0);
        assert.equal((await pb.collection(AUTHORS).getOne(a.Ann.id)).name, 'Ann');
    });

    await step('error shape: missing required field', async () => {
        const err = await rejects(pb.collection(POSTS).create({ views: 1 }), 400);
        assert.equal(err.response.status, 400);
        assert.equal(typeof err.response.message, 'string');
        assert.equal(err.response.data.title.code, 'validation_required');
        assert.equal(typeof err.response.data.title.message, 'string');
        // The SDK mirrors the body on `err.data` too.
        assert.equal(err.data.data.title.code, 'validation_required');
    });

    await step('cleanup: collections.delete', async () => {
        // A collection still referenced by a relation field cannot go.
        await rejects(pb.collections.delete(AUTHORS), 400);
        assert.equal(await pb.collections.delete(POSTS), true);
        assert.equal(await pb.collections.delete(AUTHORS), true);
        await rejects(pb.collections.getOne(POSTS), 404);
    });
} catch (err) {
    console.error(`FAIL ${current}`);
    console.error(err instanceof ClientResponseError
        ? `${err.message}\nurl: ${err.url}\nresponse: ${JSON.stringify(err.response, null, 2)}`
        : (err?.stack ?? err));
    process.exit(1);
}
console.log('all SDK steps passed');
