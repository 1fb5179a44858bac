// Impersonation and API keys through the unmodified official PocketBase JS SDK.
//
//   node impersonate_apikeys.mjs URL EMAIL PASSWORD      (a superuser's credentials)
//
// Impersonation is PocketBase's own API (`pb.collection(c).impersonate(id, duration)`); API keys
// are a baas addition, used here the way an app would: the key saved in the SDK's auth store,
// which sends it as the Authorization header. Exits 0 when every step passed.
import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';

const [url, email, password] = process.argv.slice(2);
if (!url || !email || !password) {
    console.error('usage: node impersonate_apikeys.mjs URL EMAIL PASSWORD');
    process.exit(2);
}

const pb = new PocketBase(url);
pb.autoCancellation(false);
const suffix = Math.random().toString(36).slice(2, 8);
const FEEDS = `feeds_${suffix}`;

let current = '';
async function step(name, fn) {
    current = name;
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

function claims(token) {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

try {
    let user;
    let imp;
    await step('superuser signs in and creates a user', async () => {
        await pb.collection('_superusers').authWithPassword(email, password);
        user = await pb.collection('users').create({
            email: `imp_${suffix}@example.com`, password: 'password-123', passwordConfirm: 'password-123', name: 'Imp',
        });
    });

    await step('impersonate returns a client signed in as the user', async () => {
        const before = Math.floor(Date.now() / 1000);
        imp = await pb.collection('users').impersonate(user.id, 120);
        assert.ok(imp instanceof PocketBase);
        assert.ok(imp.authStore.isValid);
        assert.equal(imp.authStore.record.id, user.id);
        assert.equal(imp.authStore.record.email, user.email);
        const c = claims(imp.authStore.token);
        assert.equal(c.id, user.id);
        assert.equal(c.type, 'auth');
        assert.equal(c.collectionId, user.collectionId);
        assert.equal(c.refreshable, false);
        assert.ok(c.exp >= before + 110 && c.exp <= before + 130, `exp ${c.exp} vs ${before}`);
        // The superuser's own client is untouched.
        assert.equal(pb.authStore.record.collectionName, '_superusers');
    });

    await step('the impersonated client acts as the user', async () => {
        const me = await imp.collection('users').getOne(user.id);
        assert.equal(me.id, user.id);
        const list = await imp.collection('users').getFullList();
        assert.deepEqual(list.map((r) => r.id), [user.id]); // the users list rule: only yourself
        await rejects(imp.collections.getFullList(), 403);
        await rejects(imp.collection('users').impersonate(user.id, 60), 403);
    });

    await step('authRefresh does not extend an impersonation token', async () => {
        const token = imp.authStore.token;
        const res = await imp.collection('users').authRefresh();
        assert.equal(res.token, token);
        assert.equal(claims(imp.authStore.token).refreshable, false);
    });

    await step('impersonate refuses guests and bad input', async () => {
        const guest = new PocketBase(url);
        await rejects(guest.collection('users').impersonate(user.id, 60), 401);
        const bad = await rejects(pb.collection('users').impersonate(user.id, -1), 400);
        assert.equal(bad.response.data.duration.code, 'validation_min_greater_equal_than_required');
        await rejects(pb.collection('users').impersonate('missing0000000', 60), 404);
        const dflt = await pb.collection('users').impersonate(user.id, 0);
        assert.ok(claims(dflt.authStore.token).exp > Math.floor(Date.now() / 1000) + 3600);
    });

    let key;
    let keyId;
    await step('a superuser creates a scoped API key', async () => {
        await pb.collections.create({
            name: FEEDS,
            type: 'base',
            listRule: '@request.auth.collectionName = "_apikeys"',
            viewRule: '@request.auth.collectionName = "_apikeys"',
            createRule: '@request.auth.collectionName = "_apikeys" && owner = @request.auth.id',
            deleteRule: '@request.auth.collectionName = "_apikeys"',
            fields: [{ name: 'title', type: 'text' }, { name: 'owner', type: 'text' }],
        });
        const made = await pb.send('/api/apikeys', {
            method: 'POST',
            body: { name: 'importer', scopes: [{ collection: FEEDS, actions: ['list', 'view', 'create'] }] },
        });
        assert.ok(made.key.startsWith('baas_'));
        key = made.key;
        keyId = made.id;
        const listed = await pb.send('/api/apikeys', { method: 'GET' });
        assert.ok(listed.items.some((k) => k.id === keyId && !('key' in k)));
    });

    await step('the SDK sends the key like a token', async () => {
        const app = new PocketBase(url);
        app.autoCancellation(false);
        app.authStore.save(key, null);
        const rec = await app.collection(FEEDS).create({ title: 'from a key', owner: keyId });
        assert.equal(rec.owner, keyId);
        const page = await app.collection(FEEDS).getList(1, 10);
        assert.equal(page.totalItems, 1);
        assert.equal((await app.collection(FEEDS).getOne(rec.id)).title, 'from a key');
        const noScope = await rejects(app.collection(FEEDS).delete(rec.id), 403);
        assert.match(noScope.response.message, /scope/);
        await rejects(app.collection('users').getList(1, 10), 403); // no scope for users
        await rejects(app.collections.getFullList(), 403); // never a superuser
        // Users and guests do not pass the rules written for keys.
        assert.equal((await imp.collection(FEEDS).getList(1, 10)).totalItems, 0);
    });

    await step('a revoked key is refused', async () => {
        await pb.send(`/api/apikeys/${keyId}`, { method: 'DELETE' });
        const app = new PocketBase(url);
        app.authStore.save(key, null);
        await rejects(app.collection(FEEDS).getList(1, 10), 401);
    });
} catch (err) {
    console.error(`FAIL ${current}`);
    console.error(err);
    process.exit(1);
}
