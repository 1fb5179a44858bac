// Realtime with the unmodified official PocketBase JS SDK: subscribe / unsubscribe for a
// collection and for one record, filter + fields options, create/update/delete messages, and the
// rules: a subscriber never receives a record its auth may not see — also after its auth changes
// (guest -> user, user -> other user refused, password change rotating the token key).
//
//   node realtime.mjs URL EMAIL PASSWORD
//
// "Never receives" is checked without sleeping: messages arrive in write order, so once a later
// public "sentinel" record has arrived, a hidden record written before it can no longer come.
// Exits 0 when every step passed, 1 otherwise.
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import PocketBase, { ClientResponseError } from 'pocketbase';

globalThis.EventSource = EventSource; // Node 20 has none; the SDK expects the browser's

const [url, email, password] = process.argv.slice(2);
if (!url || !email || !password) {
    console.error('usage: node realtime.mjs URL EMAIL PASSWORD');
    process.exit(2);
}

const suffix = Math.random().toString(36).slice(2, 8);
const POSTS = `rt_posts_${suffix}`;
let current = '';
async function step(name, fn) {
    current = name;
    await fn();
    console.log(`ok   ${name}`);
}

/** Resolves once `list` has an item matching `pred` (polling), else fails after `ms`. */
async function waitFor(list, pred, what, ms = 5000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        const found = list.find(pred);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(list)}`);
}

function titles(list) {
    return list.map((e) => `${e.action}:${e.record.title}`);
}

const admin = new PocketBase(url);
admin.autoCancellation(false);

async function newUser(name) {
    const mail = `${name}_${suffix}@example.com`;
    const rec = await admin.collection('users').create({
        email: mail, password: 'password-123', passwordConfirm: 'password-123', name,
    });
    const pb = new PocketBase(url);
    pb.autoCancellation(false);
    await pb.collection('users').authWithPassword(mail, 'password-123');
    return { id: rec.id, email: mail, pb, token: pb.authStore.token };
}

/** Writes a public record and waits until `inbox` has it: everything written before has arrived. */
async function sentinel(inbox, label) {
    const rec = await admin.collection(POSTS).create({ title: `sentinel-${label}`, published: true });
    await waitFor(inbox, (e) => e.record.id === rec.id, `sentinel ${label}`);
}

try {
    let alice, bob;
    await step('setup: superuser, collection with rules, two users', async () => {
        await admin.collection('_superusers').authWithPassword(email, password);
        await admin.collections.create({
            name: POSTS,
            type: 'base',
            listRule: 'published = true || owner = @request.auth.id',
            viewRule: 'published = true || owner = @request.auth.id',
            fields: [
                { name: 'title', type: 'text' },
                { name: 'published', type: 'bool' },
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'secret', type: 'text', hidden: true },
            ],
        });
        alice = await newUser('alice');
        bob = await newUser('bob');
    });

    const guest = new PocketBase(url);
    guest.autoCancellation(false);
    const all = [];
    const filtered = [];
    const one = [];
    let rec;

    await step('guest subscribes to the collection, with filter+fields options, and to one record', async () => {
        rec = await admin.collection(POSTS).create({ title: 'first', published: true, secret: 's3cret' });
        await guest.collection(POSTS).subscribe('*', (e) => all.push(e));
        await guest.collection(POSTS).subscribe('*', (e) => filtered.push(e), {
            filter: 'title ~ "keep"', fields: 'id,title',
        });
        await guest.collection(POSTS).subscribe(rec.id, (e) => one.push(e));
        assert.ok(guest.realtime.isConnected);
        assert.equal(guest.realtime.clientId.length, 40);
    });

    await step('create / update / delete messages, in order', async () => {
        const kept = await admin.collection(POSTS).create({ title: 'keep me', published: true });
        await admin.collection(POSTS).update(rec.id, { title: 'first (edited)' });
        await admin.collection(POSTS).delete(kept.id);
        await waitFor(all, (e) => e.action === 'delete' && e.record.id === kept.id, 'the delete');
        assert.deepEqual(titles(all), ['create:keep me', 'update:first (edited)', 'delete:keep me']);
        const created = all[0].record;
        assert.equal(created.collectionName, POSTS);
        assert.equal(created.published, true);
        assert.ok(!('secret' in created), 'hidden fields are never sent to guests');
        assert.equal(created.id.length, 15);
    });

    await step('the filter option picks records, the fields option picks keys', async () => {
        await waitFor(filtered, (e) => e.action === 'delete', 'the filtered delete');
        assert.deepEqual(filtered.map((e) => e.action), ['create', 'delete']);
        assert.deepEqual(Object.keys(filtered[0].record).sort(), ['id', 'title']);
    });

    await step('a record topic gets only that record', async () => {
        assert.deepEqual(titles(one), ['update:first (edited)']);
    });

    await step('the list rule hides unpublished records of others from guests', async () => {
        await admin.collection(POSTS).create({ title: 'alice private', published: false, owner: alice.id });
        await sentinel(all, 'guest');
        assert.ok(!titles(all).includes('create:alice private'), titles(all).join(', '));
    });

    await step('unsubscribe from one record: its updates stop there, the collection topic goes on', async () => {
        await guest.collection(POSTS).unsubscribe(rec.id);
        await admin.collection(POSTS).update(rec.id, { title: 'first (again)' });
        await waitFor(all, (e) => e.record.title === 'first (again)', 'the collection update');
        assert.equal(one.length, 1);
    });

    const mine = [];
    await step('a user receives her own private records, not another user\'s', async () => {
        await alice.pb.collection(POSTS).subscribe('*', (e) => mine.push(e));
        await admin.collection(POSTS).create({ title: 'alice secret 2', published: false, owner: alice.id });
        await admin.collection(POSTS).create({ title: 'bob secret', published: false, owner: bob.id });
        await sentinel(mine, 'alice-1');
        const got = titles(mine);
        assert.ok(got.includes('create:alice secret 2'), got.join(', '));
        assert.ok(!got.includes('create:bob secret'), got.join(', '));
    });

    await step('guest -> user: a guest that signs in and resubscribes sees its private records', async () => {
        const pb = new PocketBase(url);
        pb.autoCancellation(false);
        const inbox = [];
        await pb.collection(POSTS).subscribe('*', (e) => inbox.push(e));
        await pb.collection('users').authWithPassword(bob.email, 'password-123');
        await pb.collection(POSTS).subscribe('*', () => {}, { filter: 'published = false' }); // re-POSTs, with bob's token
        await admin.collection(POSTS).create({ title: 'bob secret 2', published: false, owner: bob.id });
        await admin.collection(POSTS).create({ title: 'alice secret 3', published: false, owner: alice.id });
        await sentinel(inbox, 'upgrade');
        const got = titles(inbox);
        assert.ok(got.includes('create:bob secret 2'), got.join(', '));
        assert.ok(!got.includes('create:alice secret 3'), got.join(', '));
        pb.realtime.unsubscribe();
    });

    await step('user -> other user is refused (403); the client keeps its first auth', async () => {
        alice.pb.authStore.save(bob.token, null);
        try {
            await alice.pb.collection(POSTS).subscribe(bob.id, () => {});
            assert.fail('switching the auth of a realtime client must be refused');
        } catch (err) {
            assert.ok(err instanceof ClientResponseError, String(err));
            assert.equal(err.status, 403);
        }
        await admin.collection(POSTS).create({ title: 'bob secret 3', published: false, owner: bob.id });
        await sentinel(mine, 'alice-2');
        assert.ok(!titles(mine).includes('create:bob secret 3'), titles(mine).join(', '));
    });

    await step('a password change rotates the token key: the old subscriber is a guest from then on', async () => {
        await admin.collection('users').update(alice.id, { password: 'password-456', passwordConfirm: 'password-456' });
        await admin.collection(POSTS).create({ title: 'alice secret 4', published: false, owner: alice.id });
        await sentinel(mine, 'alice-3');
        assert.ok(!titles(mine).includes('create:alice secret 4'), titles(mine).join(', '));
    });

    await step('unsubscribe from everything closes the connection', async () => {
        await guest.collection(POSTS).unsubscribe();
        assert.equal(guest.realtime.isConnected, false);
        alice.pb.realtime.unsubscribe();
    });

    console.log('realtime: all steps passed');
    process.exit(0);
} catch (err) {
    console.error(`FAIL ${current}: ${err?.stack || err}`);
    if (err?.response) console.error(JSON.stringify(err.response));
    process.exit(1);
}
