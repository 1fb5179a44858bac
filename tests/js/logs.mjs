// The request log through the unmodified official PocketBase JS SDK (`pb.logs`).
//
//   node logs.mjs URL EMAIL PASSWORD      (a superuser's credentials)
//
// getList with a filter and a sort, getOne, getStats; a guest is refused. Exits 0 when every step passed.
import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';

const [url, email, password] = process.argv.slice(2);
if (!url || !email || !password) {
    console.error('usage: node logs.mjs URL EMAIL PASSWORD');
    process.exit(2);
}

const pb = new PocketBase(url);
pb.autoCancellation(false);

async function step(name, fn) {
    await fn();
    console.log(`ok   ${name}`);
}

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

await step('a guest reads no log', async () => {
    await rejects(pb.logs.getList(1, 20), 401);
    await rejects(pb.logs.getStats(), 401);
});

await pb.collection('_superusers').authWithPassword(email, password);
await rejects(pb.collection('users').getOne('nosuchrecord000'), 404);

let found;
await step('getList with a filter and a sort', async () => {
    // The server writes its log about once a second: wait for the 404 above to be in it.
    for (let i = 0; i < 100; i++) {
        const page = await pb.logs.getList(1, 20, { filter: 'data.status = 404 && data.url ~ "nosuchrecord000"', sort: '-rowid' });
        if (page.items.length) {
            found = page.items[0];
            break;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(found, 'the 404 was logged');
    assert.equal(found.level, 4);
    assert.equal(found.data.method, 'GET');
    assert.equal(found.data.auth, '_superusers');
    assert.equal(found.message, 'GET /api/collections/users/records/nosuchrecord000');
});

await step('getOne', async () => {
    const one = await pb.logs.getOne(found.id);
    assert.deepEqual(one, found);
    await rejects(pb.logs.getOne('nosuchlog000000'), 404);
});

await step('getStats', async () => {
    const stats = await pb.logs.getStats({ filter: 'data.status = 404' });
    assert.ok(stats.length >= 1, JSON.stringify(stats));
    assert.ok(/^\d{4}-\d\d-\d\d \d\d:00:00\.000$/.test(stats[0].date), JSON.stringify(stats));
    assert.ok(stats.reduce((n, s) => n + s.total, 0) >= 1);
});

await step('a bad filter is a 400', async () => {
    await rejects(pb.logs.getList(1, 20, { filter: 'data.status >' }), 400);
});
