// Backups through the unmodified official PocketBase JS SDK (`pb.backups`).
//
//   node backups.mjs URL EMAIL PASSWORD      (a superuser's credentials)
//
// getFullList, create, getDownloadURL with a file token, upload, delete; restore is refused with
// 400 (a baas backup restores into an empty install: docs/backups.md). Exits 0 when every step passed.
import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';

const [url, email, password] = process.argv.slice(2);
if (!url || !email || !password) {
    console.error('usage: node backups.mjs URL EMAIL PASSWORD');
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

await step('a guest can list no backups', async () => {
    await rejects(pb.backups.getFullList(), 401);
});

await pb.collection('_superusers').authWithPassword(email, password);

let zip;
await step('create, then list', async () => {
    await pb.backups.create('sdk_backup.zip');
    const list = await pb.backups.getFullList();
    const found = list.find((b) => b.key === 'sdk_backup.zip');
    assert.ok(found, JSON.stringify(list));
    assert.ok(found.size > 0 && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/.test(found.modified), JSON.stringify(found));
});

await step('download with a file token', async () => {
    const token = await pb.files.getToken();
    const res = await fetch(pb.backups.getDownloadURL(token, 'sdk_backup.zip'));
    assert.equal(res.status, 200);
    zip = new Uint8Array(await res.arrayBuffer());
    assert.equal(zip[0], 0x50); // "PK"
    assert.equal(zip[1], 0x4b);
    const bad = await fetch(pb.backups.getDownloadURL('not-a-token', 'sdk_backup.zip'));
    assert.equal(bad.status, 403);
});

await step('upload it under another name', async () => {
    await pb.backups.upload({ file: new File([zip], 'uploaded.zip', { type: 'application/zip' }) });
    const keys = (await pb.backups.getFullList()).map((b) => b.key).sort();
    assert.deepEqual(keys, ['sdk_backup.zip', 'uploaded.zip']);
});

await step('a file that is not a backup is refused', async () => {
    const err = await rejects(pb.backups.upload({ file: new File(['nope'], 'junk.zip') }), 400);
    assert.ok(err.response.data.file, JSON.stringify(err.response));
    const keys = (await pb.backups.getFullList()).map((b) => b.key).sort();
    assert.deepEqual(keys, ['sdk_backup.zip', 'uploaded.zip']);
});

await step('restore is refused over the API, saying how', async () => {
    const err = await rejects(pb.backups.restore('uploaded.zip'), 400);
    assert.match(err.response.message, /baas backup restore/);
});

await step('delete', async () => {
    await pb.backups.delete('uploaded.zip');
    await pb.backups.delete('sdk_backup.zip');
    assert.deepEqual(await pb.backups.getFullList(), []);
    await rejects(pb.backups.delete('sdk_backup.zip'), 404);
});
